"""The client's answers by token: the RSVP page, yes or no, unsubscribe."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import Contact, Event, EventInvitee, Manager, utcnow
from crm.services.events.inputs import ANSWERS, ATTENDANCE
from crm.uow import UnitOfWork


@dataclass(frozen=True)
class RsvpView:
    """What the RSVP and unsubscribe pages show (the client's side, no access check)."""

    event: Event
    invitee: EventInvitee
    contact_name: str
    language: str
    timezone: str
    opted_out: bool

    @property
    def cancelled(self) -> bool:
        return self.event.cancelled_at is not None


async def _by_token(uow: UnitOfWork, token: str, *, lock: bool = False) -> EventInvitee:
    if not isinstance(token, str) or not 16 <= len(token) <= 64:
        raise AccessDenied("invitation")
    stmt = select(EventInvitee).where(EventInvitee.token == token)
    if lock:
        stmt = stmt.with_for_update()
    invitee = (await uow.session.scalars(stmt)).first()
    if invitee is None:
        raise AccessDenied("invitation")
    return invitee


async def _rsvp_view(uow: UnitOfWork, invitee: EventInvitee) -> RsvpView:
    event = await uow.session.get(Event, invitee.event_id)
    contact = await uow.session.get(Contact, invitee.contact_id)
    assert event is not None and contact is not None
    inviter = await uow.session.get(Manager, event.responsible_id)
    assert inviter is not None
    return RsvpView(
        event=event,
        invitee=invitee,
        contact_name=contact.name,
        language=inviter.language,
        timezone=inviter.timezone,
        opted_out=contact.email_opt_out,
    )


async def invitation(uow: UnitOfWork, token: str) -> RsvpView:
    """The invitation a token opens, read only; AccessDenied for an unknown token."""
    async with uow.read_only():
        return await _rsvp_view(uow, await _by_token(uow, token))


async def respond(
    uow: UnitOfWork, token: str, answer: str, *, now: datetime | None = None
) -> RsvpView:
    """The client's one-click answer: "yes" → accepted, "no" → declined.

    The same answer again changes nothing; another answer replaces it until the event
    starts; afterwards, and for an unknown token, the answer is refused.
    """
    status = ANSWERS.get(str(answer).lower())
    if status is None:
        raise InvalidInput("answer", "unknown_value", allowed=list(ANSWERS))
    moment = now or utcnow()
    async with uow:
        invitee = await _by_token(uow, token, lock=True)
        event = await uow.session.get(Event, invitee.event_id)
        assert event is not None
        if event.cancelled_at is not None:
            raise Conflict("event_cancelled")
        if event.starts_at <= moment or invitee.status in ATTENDANCE:
            raise Conflict("event_started")
        if invitee.status != status:
            uow.apply(None, invitee, status=status, responded_at=moment)
        view = await _rsvp_view(uow, invitee)
        await uow.commit()
    return view


async def unsubscribe(uow: UnitOfWork, token: str) -> RsvpView:
    """The contact of this invitation gets no more emails (email_opt_out); idempotent."""
    async with uow:
        invitee = await _by_token(uow, token)
        contact = await uow.session.get(Contact, invitee.contact_id)
        assert contact is not None
        uow.apply(None, contact, email_opt_out=True)
        view = await _rsvp_view(uow, invitee)
        await uow.commit()
    return view
