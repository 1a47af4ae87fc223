"""Who sees an event, loading one, what its card shows (counts, plan, emails),
the upcoming and recent lists, the guard that an event is still ahead."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select

from crm.access import Actor, can_see_owner, visible_owner
from crm.analytics.events import Outcome
from crm.analytics.events import outcome as event_outcome
from crm.errors import AccessDenied, Conflict
from crm.models import Event, EventInvitee, Manager, OutboundEmail, Task, utcnow
from crm.models.enums import EmailStatus, InviteeStatus
from crm.uow import UnitOfWork


@dataclass
class EventView:
    event: Event
    responsible: Manager
    counts: dict[str, int]
    plan: list[Task] = field(default_factory=list)
    # the invitees by the state of their latest email: queued | sent | failed
    emails: dict[str, int] = field(default_factory=dict)
    outcome: Outcome | None = None  # once the event has started

    @property
    def invited(self) -> int:
        return sum(self.counts.values())

    @property
    def answered(self) -> int:
        """Invitees who answered (accepted or declined; attendance marks come later)."""
        return self.counts.get(InviteeStatus.ACCEPTED, 0) + self.counts.get(
            InviteeStatus.DECLINED, 0
        )

    @property
    def cancelled(self) -> bool:
        return self.event.cancelled_at is not None

    @property
    def participation_rate(self) -> float | None:
        """attended / invited, None while nobody is invited."""
        return self.counts.get(InviteeStatus.ATTENDED, 0) / self.invited if self.invited else None


def scope(actor: Actor) -> ColumnElement[bool]:
    return visible_owner(actor, Event.responsible_id)


async def _load(uow: UnitOfWork, actor: Actor, event_id: int, *, lock: bool = False) -> Event:
    event = await uow.session.get(Event, event_id, with_for_update=lock or None)
    if event is None:
        raise AccessDenied("event")
    responsible = await uow.session.get(Manager, event.responsible_id)
    if responsible is None or not can_see_owner(actor, responsible):
        raise AccessDenied("event")
    return event


async def _counts(uow: UnitOfWork, event_id: int) -> dict[str, int]:
    rows = await uow.session.execute(
        select(EventInvitee.status, func.count(EventInvitee.id))
        .where(EventInvitee.event_id == event_id)
        .group_by(EventInvitee.status)
    )
    return {status: int(n) for status, n in rows}


async def _plan(uow: UnitOfWork, event_id: int) -> list[Task]:
    rows = await uow.session.scalars(
        select(Task).where(Task.event_id == event_id).order_by(Task.due_at, Task.id)
    )
    return list(rows)


QUEUED = (EmailStatus.PENDING.value, EmailStatus.SENDING.value)
# an email's status as the user is told it: waiting in the outbox, sent, or failed
EMAIL_STATE = {
    EmailStatus.PENDING.value: "queued",
    EmailStatus.SENDING.value: "queued",
    EmailStatus.SENT.value: "sent",
    EmailStatus.FAILED.value: "failed",
}


async def email_counts(uow: UnitOfWork, event_id: int) -> dict[str, int]:
    """The invitees of an event by the state of their latest email: queued, sent, failed
    (emails superseded by a newer version of the event are not counted)."""
    latest = (
        select(func.max(OutboundEmail.id).label("id"))
        .where(
            OutboundEmail.event_id == event_id,
            OutboundEmail.invitee_id.is_not(None),
            OutboundEmail.status != EmailStatus.CANCELLED.value,
        )
        .group_by(OutboundEmail.invitee_id)
        .subquery()
    )
    rows = await uow.session.execute(
        select(OutboundEmail.status, func.count(OutboundEmail.id))
        .join(latest, latest.c.id == OutboundEmail.id)
        .group_by(OutboundEmail.status)
    )
    result = {"queued": 0, "sent": 0, "failed": 0}
    for status, n in rows:
        key = "queued" if status in QUEUED else status
        if key in result:
            result[key] += int(n)
    return result


async def _view(uow: UnitOfWork, event: Event) -> EventView:
    responsible = await uow.session.get(Manager, event.responsible_id)
    assert responsible is not None
    return EventView(
        event=event,
        responsible=responsible,
        counts=await _counts(uow, event.id),
        plan=await _plan(uow, event.id),
        emails=await email_counts(uow, event.id),
        outcome=await event_outcome(uow, event) if event.starts_at <= utcnow() else None,
    )


async def get(uow: UnitOfWork, actor: Actor, event_id: int) -> EventView:
    """The event card; AccessDenied alike if it is absent or out of the actor's reach."""
    async with uow.read_only():
        return await _view(uow, await _load(uow, actor, event_id))


async def list_upcoming(
    uow: UnitOfWork,
    actor: Actor,
    *,
    now: datetime | None = None,
    offset: int = 0,
    limit: int = 10,
) -> tuple[list[Event], int]:
    """A page of the events the actor sees that have not ended yet, soonest first."""
    moment = now or utcnow()
    conditions = [scope(actor), func.coalesce(Event.ends_at, Event.starts_at) > moment]
    async with uow.read_only():
        total = await uow.session.scalar(select(func.count(Event.id)).where(*conditions))
        rows = await uow.session.scalars(
            select(Event)
            .where(*conditions)
            .order_by(Event.starts_at, Event.id)
            .offset(max(offset, 0))
            .limit(max(min(limit, 100), 1))
        )
        return list(rows), int(total or 0)


RECENT_DAYS = 14


async def list_recent(
    uow: UnitOfWork,
    actor: Actor,
    *,
    now: datetime | None = None,
    days: int = RECENT_DAYS,
    limit: int = 5,
) -> list[Event]:
    """The events the actor sees that ended in the last `days` days, latest first: they
    drop out of `list_upcoming` but still need their attendance marked."""
    moment = now or utcnow()
    ended = func.coalesce(Event.ends_at, Event.starts_at)
    async with uow.read_only():
        rows = await uow.session.scalars(
            select(Event)
            .where(scope(actor), ended <= moment, ended > moment - timedelta(days=days))
            .order_by(Event.starts_at.desc(), Event.id.desc())
            .limit(max(min(limit, 100), 1))
        )
        return list(rows)


def _still_open(event: Event, moment: datetime) -> None:
    if event.cancelled_at is not None:
        raise Conflict("event_cancelled")
    if event.starts_at <= moment:
        raise Conflict("event_started")
