"""Event outcome: who came, what it cost per attendee, and the business that followed.

- attendance: invitees marked attended from the card; for an event where nobody has been
  marked yet, the clients' own answers stand in (accepted = expected to come) and
  `by_answers` says so;
- participation rate = attended / invited; cost per attendee = budget / attended;
- deals with the invitees' companies opened within FOLLOW_UP days after the start, and
  those won in that window, with their amounts.

Everything is aggregated in SQL: one query for the invitees, one for the deals, for one
event (the card) or for every event the actor sees in a period (/report events).
Cancelled events are left out of the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Interval, and_, case, func, literal, select

from crm.access import Actor, visible_owner
from crm.models import Contact, Deal, Event, EventInvitee
from crm.models.enums import DealStage, InviteeStatus
from crm.money import cents
from crm.uow import UnitOfWork

FOLLOW_UP = timedelta(days=30)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Outcome:
    event_id: int
    title: str
    starts_at: datetime
    budget: Decimal | None
    invited: int
    accepted: int
    declined: int
    attended_marked: int
    no_show: int
    deals_opened: int
    opened_amount: Decimal
    deals_won: int
    won_amount: Decimal

    @property
    def by_answers(self) -> bool:
        """Nobody marked yet: the answers stand in for attendance."""
        return self.attended_marked + self.no_show == 0

    @property
    def attended(self) -> int:
        return self.accepted if self.by_answers else self.attended_marked

    @property
    def participation_rate(self) -> float | None:
        return self.attended / self.invited if self.invited else None

    @property
    def cost_per_attendee(self) -> Decimal | None:
        if self.budget is None or not self.attended:
            return None
        return cents(self.budget / self.attended)


def _invitee_totals(event_ids: Any) -> Any:
    status = EventInvitee.status

    def count(value: str) -> Any:
        return func.coalesce(func.sum(case((status == value, 1), else_=0)), 0)

    return (
        select(
            EventInvitee.event_id.label("event_id"),
            func.count(EventInvitee.id).label("invited"),
            count(InviteeStatus.ACCEPTED.value).label("accepted"),
            count(InviteeStatus.DECLINED.value).label("declined"),
            count(InviteeStatus.ATTENDED.value).label("attended"),
            count(InviteeStatus.NO_SHOW.value).label("no_show"),
        )
        .where(EventInvitee.event_id.in_(event_ids))
        .group_by(EventInvitee.event_id)
    )


def _window_end(dialect: str) -> Any:
    if dialect == "sqlite":  # times are stored as text: SQLite's own date arithmetic
        return func.datetime(Event.starts_at, f"+{FOLLOW_UP.days} days")
    return Event.starts_at + literal(FOLLOW_UP, Interval())


def _deal_totals(event_ids: Any, dialect: str) -> Any:
    """Per event: deals of the invitees' companies opened / won in the follow-up window."""
    companies = (
        select(EventInvitee.event_id.label("event_id"), Contact.company_id.label("company_id"))
        .join(Contact, Contact.id == EventInvitee.contact_id)
        .where(EventInvitee.event_id.in_(event_ids), Contact.company_id.is_not(None))
        .distinct()
        .subquery("invited_companies")
    )
    window_end = _window_end(dialect)
    opened = and_(Deal.created_at >= Event.starts_at, Deal.created_at < window_end)
    won = and_(
        Deal.stage == DealStage.WON.value,
        Deal.closed_at >= Event.starts_at,
        Deal.closed_at < window_end,
    )
    return (
        select(
            companies.c.event_id,
            func.coalesce(func.sum(case((opened, 1), else_=0)), 0).label("opened"),
            func.coalesce(func.sum(case((opened, Deal.amount), else_=0)), 0).label("opened_amount"),
            func.coalesce(func.sum(case((won, 1), else_=0)), 0).label("won"),
            func.coalesce(func.sum(case((won, Deal.amount), else_=0)), 0).label("won_amount"),
        )
        .select_from(companies)
        .join(Event, Event.id == companies.c.event_id)
        .join(Deal, Deal.company_id == companies.c.company_id)
        .group_by(companies.c.event_id)
    )


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else ZERO


async def _outcomes(uow: UnitOfWork, events: list[Event]) -> list[Outcome]:
    ids = [e.id for e in events]
    if not ids:
        return []
    invitees = {r.event_id: r for r in await uow.session.execute(_invitee_totals(ids))}
    dialect = uow.session.get_bind().dialect.name
    deals = {r.event_id: r for r in await uow.session.execute(_deal_totals(ids, dialect))}
    result = []
    for event in events:
        i, d = invitees.get(event.id), deals.get(event.id)
        result.append(
            Outcome(
                event_id=event.id,
                title=event.title,
                starts_at=event.starts_at,
                budget=event.budget,
                invited=int(i.invited) if i else 0,
                accepted=int(i.accepted) if i else 0,
                declined=int(i.declined) if i else 0,
                attended_marked=int(i.attended) if i else 0,
                no_show=int(i.no_show) if i else 0,
                deals_opened=int(d.opened) if d else 0,
                opened_amount=_money(d.opened_amount) if d else ZERO,
                deals_won=int(d.won) if d else 0,
                won_amount=_money(d.won_amount) if d else ZERO,
            )
        )
    return result


async def outcome(uow: UnitOfWork, event: Event) -> Outcome:
    """The outcome of one event, inside a unit of work already open (access checked by
    the caller)."""
    return (await _outcomes(uow, [event]))[0]


async def report(
    uow: UnitOfWork, actor: Actor, start: datetime, end: datetime, *, limit: int = 50
) -> list[Outcome]:
    """The events the actor sees that started in [start, end) and were not cancelled,
    latest first."""
    async with uow.read_only():
        events = list(
            await uow.session.scalars(
                select(Event)
                .where(
                    visible_owner(actor, Event.responsible_id),
                    Event.starts_at >= start,
                    Event.starts_at < end,
                    Event.cancelled_at.is_(None),
                )
                .order_by(Event.starts_at.desc(), Event.id.desc())
                .limit(max(min(limit, 200), 1))
            )
        )
        return await _outcomes(uow, events)
