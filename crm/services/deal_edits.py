"""✏ Edit on a deal card: which fields may change, the expected close date, the contacts.

The write itself is `deals.update` (one transaction, old and new values audited). Rules
decided here (the issue leaves them open):
- An open deal is edited by whoever may see it (its curator, their head, a director). A
  closed deal is not edited: its sale and its reports stand on it; a head or a director
  reopens it first (`deals.update` refuses with Conflict "deal_closed").
- The amount is typed only while the deal has no lines (the amount follows the lines).
- The contact is one of the deal company's contacts whose name the actor may read, or none.
- The expected close date is read as /remind reads a time (crm.when), in the actor's
  timezone, and kept as that local day; a moment already past is refused. The quick
  choices are the last day of this month and of the next.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime

from sqlalchemy import select

from crm import when
from crm.access import Actor, contact_visible
from crm.errors import InvalidInput
from crm.models import Contact, Deal, utcnow
from crm.models.enums import DealStage
from crm.services import deals
from crm.uow import UnitOfWork

FIELDS = ("title", "amount", "expected_close", "contact_id", "source", "next_step")
CONTACT_CHOICES = 20


def editable_fields(deal: Deal, has_lines: bool) -> list[str]:
    """The fields the deal card's ✏ Edit offers (none for a closed deal)."""
    if DealStage(deal.stage).is_closed:
        return []
    return [name for name in FIELDS if not (name == "amount" and has_lines)]


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def close_choices(tz: str, now: datetime | None = None) -> list[date]:
    """The quick answers: the end of this month and the end of the next, local days."""
    today = when.to_local(now or utcnow(), tz).date()
    following = (today.year + today.month // 12, today.month % 12 + 1)
    return [_month_end(today.year, today.month), _month_end(*following)]


def parse_close(text: str, tz: str, now: datetime | None = None) -> date:
    """The local day a typed expected close names ("25.12", "next friday", "через 2 недели").

    InvalidInput("expected_close", reason) where crm.when cannot take it ("unparsed",
    "past", "ambiguous" with its options, ...).
    """
    try:
        moment = when.parse_when(text, tz, now)
    except InvalidInput as err:
        params = {k: v for k, v in err.params.items() if k not in ("field", "reason")}
        raise InvalidInput("expected_close", err.reason, **params) from err
    return when.to_local(moment, tz).date()


def read_close(value: date | str | None) -> date | None:
    """A close date kept as ISO text (a dialog's data, a button) back as a date."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise InvalidInput("expected_close", "not_a_date") from exc


async def contact_choices(uow: UnitOfWork, actor: Actor, deal_id: int) -> list[tuple[int, str]]:
    """The contacts a deal may be given: its company's, whose names the actor may read."""
    async with uow.read_only():
        deal = await deals.get(uow, actor, deal_id, lines=False)
        rows = await uow.session.execute(
            select(Contact.id, Contact.name)
            .where(Contact.company_id == deal.company_id, contact_visible(actor, Contact))
            .order_by(Contact.name, Contact.id)
            .limit(CONTACT_CHOICES)
        )
        return [(contact_id, name) for contact_id, name in rows]
