"""Invitations that could not be delivered: the list for the card, and the notice that
tells the responsible manager once per event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update

from crm.access import Actor
from crm.models import Contact, Event, Manager, OutboundEmail, utcnow
from crm.models.enums import EmailStatus
from crm.services import outbox
from crm.services.events.reading import _load
from crm.uow import UnitOfWork

LISTED = 50


@dataclass(frozen=True)
class FailedEmail:
    contact_name: str | None
    address: str
    reason: str
    code: int | None
    kind: str


@dataclass(frozen=True)
class FailureNotice:
    event_id: int
    title: str
    failed: int
    tg_id: int
    language: str
    timezone: str
    manager_id: int


def _failed(event_id: int) -> list[ColumnElement[bool]]:
    return [
        OutboundEmail.event_id == event_id,
        OutboundEmail.status == EmailStatus.FAILED.value,
        OutboundEmail.last_error.is_distinct_from(outbox.OPTED_OUT),
    ]


async def failures(
    uow: UnitOfWork, actor: Actor, event_id: int, *, limit: int = LISTED
) -> tuple[list[FailedEmail], int]:
    """The emails of this event that failed for good (not those of recipients who
    opted out), latest first, with the server's reason; and how many there are."""
    async with uow.read_only():
        await _load(uow, actor, event_id)
        total = await uow.session.scalar(
            select(func.count(OutboundEmail.id)).where(*_failed(event_id))
        )
        rows = await uow.session.execute(
            select(
                Contact.name,
                OutboundEmail.to_addr,
                OutboundEmail.last_error,
                OutboundEmail.error_code,
                OutboundEmail.kind,
            )
            .outerjoin(Contact, Contact.id == OutboundEmail.contact_id)
            .where(*_failed(event_id))
            .order_by(OutboundEmail.id.desc())
            .limit(max(min(limit, 100), 1))
        )
        items = [
            FailedEmail(name, address, reason or "", code, kind)
            for name, address, reason, code, kind in rows
        ]
    return items, int(total or 0)


async def claim_notices(uow: UnitOfWork, *, now: datetime | None = None) -> list[FailureNotice]:
    """Events with emails failed for good whose responsible manager has not been told:
    marked told in the same transaction (a crash loses a notice rather than repeating it).
    """
    moment = now or utcnow()
    async with uow:
        failing = (
            select(OutboundEmail.event_id)
            .where(
                OutboundEmail.status == EmailStatus.FAILED.value,
                OutboundEmail.event_id.is_not(None),
                OutboundEmail.last_error.is_distinct_from(outbox.OPTED_OUT),
            )
            .distinct()
        )
        result = await uow.session.execute(
            update(Event)
            .where(Event.failures_notified_at.is_(None), Event.id.in_(failing))
            .values(failures_notified_at=moment)
            .returning(Event.id)
            .execution_options(synchronize_session=False)
        )
        ids = list(result.scalars())
        notices: list[FailureNotice] = []
        if ids:
            counts = dict(
                (
                    await uow.session.execute(
                        select(OutboundEmail.event_id, func.count(OutboundEmail.id))
                        .where(
                            OutboundEmail.event_id.in_(ids),
                            OutboundEmail.status == EmailStatus.FAILED.value,
                            OutboundEmail.last_error.is_distinct_from(outbox.OPTED_OUT),
                        )
                        .group_by(OutboundEmail.event_id)
                    )
                ).all()
            )
            rows = await uow.session.execute(
                select(Event.id, Event.title, Manager)
                .join(Manager, Manager.id == Event.responsible_id)
                .where(Event.id.in_(ids))
                .order_by(Event.id)
            )
            for event_id, title, manager in rows:
                notices.append(
                    FailureNotice(
                        event_id=event_id,
                        title=title,
                        failed=int(counts.get(event_id, 0)),
                        tg_id=manager.tg_id,
                        language=manager.language,
                        timezone=manager.timezone,
                        manager_id=manager.id,
                    )
                )
        await uow.commit()
    return notices
