"""Attendance marked after the event."""

from __future__ import annotations

from datetime import datetime

from crm.access import Actor
from crm.errors import AccessDenied, Conflict
from crm.models import EventInvitee, utcnow
from crm.models.enums import InviteeStatus
from crm.services.events.reading import _load
from crm.uow import UnitOfWork


async def mark_attendance(
    uow: UnitOfWork,
    actor: Actor,
    event_id: int,
    invitee_id: int,
    attended: bool,
    *,
    now: datetime | None = None,
) -> EventInvitee:
    """After the start, the responsible manager (or their head, a director) marks an
    invitee attended or no-show; marking again corrects it."""
    moment = now or utcnow()
    async with uow:
        event = await _load(uow, actor, event_id)
        if event.starts_at > moment:
            raise Conflict("event_not_started")
        invitee = await uow.session.get(EventInvitee, invitee_id, with_for_update=True)
        if invitee is None or invitee.event_id != event.id:
            raise AccessDenied("invitee")
        target = InviteeStatus.ATTENDED.value if attended else InviteeStatus.NO_SHOW.value
        uow.apply(actor.id, invitee, status=target)
        await uow.commit()
    return invitee
