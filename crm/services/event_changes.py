"""Events that change: edit the title, time, place or budget; cancel.

A change the invitees see (title, time, place) raises the event's SEQUENCE and queues,
for every invitee whose email already left (sent, or in flight), an update with the same
UID, the new SEQUENCE and the list of what changed (iTIP REQUEST). An invitation still
waiting in the outbox is superseded (status "cancelled") and queued again as an
invitation of the new version, so nobody receives the old time. The budget is internal:
it is audited, nobody is mailed. Cancelling sets `cancelled_at`, raises SEQUENCE, queues
a METHOD:CANCEL to everyone already mailed, drops what was still waiting, and cancels
the open preparation tasks. Both refuse an event that has started or is cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from crm import validation, when
from crm.access import Actor
from crm.errors import InvalidInput
from crm.models import Contact, Event, EventInvitee, OutboundEmail, Task, utcnow
from crm.models.enums import EmailStatus, TaskStatus
from crm.services import company_settings
from crm.services.events import PLACE_MAX, TITLE_MAX, EventView
from crm.services.events.invitations import _Mailer, _queue_event_email
from crm.services.events.reading import _load, _still_open, _view
from crm.services.mail import Change, event_span
from crm.uow import UnitOfWork

MAILED_KINDS = ("invitation", "update")
SUPERSEDED = "superseded by a newer version of the event"
EVENT_CANCELLED = "the event was cancelled"


@dataclass
class EventChanges:
    """What to change; None leaves a field as it is. `place` or `budget` "" removes it.
    The time: `when` in natural language (the actor's timezone) or `starts_at`; the
    duration is kept."""

    title: str | None = None
    when: str | None = None
    starts_at: datetime | None = None
    place: str | None = None
    budget: Decimal | str | None = None


@dataclass(frozen=True)
class ChangeResult:
    view: EventView
    changed: tuple[str, ...]  # the fields that changed (title, starts_at, place, budget)
    updates: int  # update emails queued (to invitees already mailed)
    invitations: int  # invitations queued again (the old one had not left yet)


@dataclass(frozen=True)
class CancelResult:
    view: EventView
    notices: int  # cancellations queued
    dropped: int  # emails that had not left yet and never will


def can_change(event: Event, now: datetime | None = None) -> bool:
    """Whether the event may still be edited, cancelled or get invitees: neither
    cancelled nor started (the card shows its buttons by this)."""
    return event.cancelled_at is None and event.starts_at > (now or utcnow())


async def to_tell(uow: UnitOfWork, actor: Actor, event_id: int) -> int:
    """How many invitees would be mailed an update or a cancellation now (those whose
    invitation has left, with an email and not unsubscribed)."""
    async with uow.read_only():
        await _load(uow, actor, event_id)
        return sum(
            1
            for _invitee, contact in await _mailed(uow, event_id)
            if contact.email and not contact.email_opt_out
        )


def _new_values(event: Event, data: EventChanges, actor: Actor, now: datetime) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if data.title is not None:
        values["title"] = validation.text("title", data.title, max_len=TITLE_MAX)
    if data.starts_at is not None or data.when is not None:
        if data.starts_at is not None:
            if data.starts_at.tzinfo is None:
                raise InvalidInput("when", "unparsed")
            if data.starts_at <= now:
                raise InvalidInput("when", "past")
            starts_at = data.starts_at
        else:
            starts_at = when.parse_when(data.when or "", actor.timezone, now)
        duration = (event.ends_at - event.starts_at) if event.ends_at else None
        values["starts_at"] = starts_at
        values["ends_at"] = starts_at + duration if duration is not None else None
    if data.place is not None:
        values["place"] = validation.optional_text("place", data.place, max_len=PLACE_MAX)
    if data.budget is not None:
        budget = data.budget.strip() if isinstance(data.budget, str) else data.budget
        values["budget"] = (
            None if budget == "" else validation.money("budget", budget, allow_none=True)
        )
    if not values:
        raise InvalidInput("changes", "empty")
    return values


def _changes(event: Event, old: dict[str, Any], tz: str) -> tuple[Change, ...]:
    """What an invitee is told changed (in the email's timezone)."""
    items: list[Change] = []
    if "title" in old:
        items.append(Change("title", old["title"], event.title))
    if "starts_at" in old or "ends_at" in old:
        before = event_span(
            old.get("starts_at", event.starts_at), old.get("ends_at", event.ends_at), tz
        )
        items.append(Change("when", before, event_span(event.starts_at, event.ends_at, tz)))
    if "place" in old:
        items.append(Change("place", old["place"] or "", event.place or ""))
    return tuple(items)


async def _mailed(uow: UnitOfWork, event_id: int) -> list[tuple[EventInvitee, Contact]]:
    """Invitees whose invitation or update has left (sent, or being sent now)."""
    left = select(OutboundEmail.invitee_id).where(
        OutboundEmail.event_id == event_id,
        OutboundEmail.kind.in_(MAILED_KINDS),
        OutboundEmail.status.in_((EmailStatus.SENT.value, EmailStatus.SENDING.value)),
    )
    rows = await uow.session.execute(
        select(EventInvitee, Contact)
        .join(Contact, Contact.id == EventInvitee.contact_id)
        .where(EventInvitee.event_id == event_id, EventInvitee.id.in_(left))
        .order_by(EventInvitee.id)
    )
    return [(i, c) for i, c in rows]


async def _drop_waiting(uow: UnitOfWork, event_id: int, reason: str) -> list[int]:
    """Invitations and updates of this event still waiting in the outbox will not be
    sent; returns their invitees."""
    result = await uow.session.execute(
        update(OutboundEmail)
        .where(
            OutboundEmail.event_id == event_id,
            OutboundEmail.kind.in_(MAILED_KINDS),
            OutboundEmail.status == EmailStatus.PENDING.value,
        )
        .values(status=EmailStatus.CANCELLED.value, last_error=reason, next_attempt_at=None)
        .returning(OutboundEmail.invitee_id)
        .execution_options(synchronize_session=False)
    )
    return [i for i in result.scalars() if i is not None]


async def change(
    uow: UnitOfWork,
    actor: Actor,
    event_id: int,
    data: EventChanges,
    *,
    base_url: str,
    sender: str,
    now: datetime | None = None,
) -> ChangeResult:
    """Edit an event that has not started; invitees already mailed get an update."""
    moment = now or utcnow()
    async with uow:
        event = await _load(uow, actor, event_id, lock=True)
        _still_open(event, moment)
        values = _new_values(event, data, actor, moment)
        before = {k: getattr(event, k) for k in values}
        changed = uow.apply(actor.id, event, **values)
        visible = [k for k in changed if k in ("title", "starts_at", "ends_at", "place")]
        updates = invitations = 0
        if visible:
            old_sequence = event.sequence
            uow.apply(actor.id, event, sequence=old_sequence + 1)
            mailer = _Mailer(
                actor, await company_settings.read_mail_identity(uow), base_url, sender, moment
            )
            waiting = set(await _drop_waiting(uow, event.id, SUPERSEDED))
            what = _changes(event, {k: before[k] for k in visible}, actor.timezone)
            mailed = await _mailed(uow, event.id)
            mailed_ids = {i.id for i, _c in mailed}
            for invitee, contact in mailed:
                if contact.email and not contact.email_opt_out:
                    updates += await _queue_event_email(
                        uow, mailer, event, invitee, contact, "update", what
                    )
            again = waiting - mailed_ids
            if again:
                rows = await uow.session.execute(
                    select(EventInvitee, Contact)
                    .join(Contact, Contact.id == EventInvitee.contact_id)
                    .where(EventInvitee.id.in_(again))
                    .order_by(EventInvitee.id)
                )
                for invitee, contact in rows:
                    if contact.email and not contact.email_opt_out:
                        invitations += await _queue_event_email(
                            uow, mailer, event, invitee, contact, "invitation"
                        )
            uow.audit(
                actor.id,
                event,
                "notify",
                {"updates": [None, updates], "invitations": [None, invitations]},
            )
        view = await _view(uow, event)
        await uow.commit()
    return ChangeResult(
        view=view,
        changed=tuple(k for k in changed if k != "ends_at"),
        updates=updates,
        invitations=invitations,
    )


async def cancel(
    uow: UnitOfWork,
    actor: Actor,
    event_id: int,
    *,
    base_url: str,
    sender: str,
    now: datetime | None = None,
) -> CancelResult:
    """Cancel an event that has not started: METHOD:CANCEL to everyone already mailed."""
    moment = now or utcnow()
    async with uow:
        event = await _load(uow, actor, event_id, lock=True)
        _still_open(event, moment)
        uow.apply(actor.id, event, cancelled_at=moment, sequence=event.sequence + 1)
        dropped = len(await _drop_waiting(uow, event.id, EVENT_CANCELLED))
        mailer = _Mailer(
            actor, await company_settings.read_mail_identity(uow), base_url, sender, moment
        )
        notices = 0
        for invitee, contact in await _mailed(uow, event.id):
            if contact.email and not contact.email_opt_out:
                notices += await _queue_event_email(uow, mailer, event, invitee, contact, "cancel")
        plan = await uow.session.scalars(
            select(Task).where(Task.event_id == event.id, Task.status == TaskStatus.OPEN.value)
        )
        for task in plan:
            uow.apply(actor.id, task, status=TaskStatus.CANCELLED.value)
        uow.audit(actor.id, event, "notify", {"cancellations": [None, notices]})
        view = await _view(uow, event)
        await uow.commit()
    return CancelResult(view=view, notices=notices, dropped=dropped)
