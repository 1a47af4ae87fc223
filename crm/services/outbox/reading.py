"""What the operator sees of the outbox: counts by state, what is due, what is stuck."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from crm.models import OutboundEmail, utcnow
from crm.models.enums import EmailStatus
from crm.services.outbox.claiming import due, expired
from crm.services.outbox.common import LEASE
from crm.uow import UnitOfWork


@dataclass(frozen=True)
class Health:
    """What the operator needs to see of the outbox: counts by state, what is due and
    waiting, and rows stuck in "sending" past their lease (a killed worker)."""

    counts: dict[str, int]
    due: int
    stuck: int
    oldest_due_at: datetime | None

    @property
    def backlog(self) -> int:
        return self.counts.get(EmailStatus.PENDING.value, 0) + self.counts.get(
            EmailStatus.SENDING.value, 0
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "backlog": self.backlog,
            "due": self.due,
            "stuck": self.stuck,
            "oldest_due_at": self.oldest_due_at.isoformat() if self.oldest_due_at else None,
        }


async def health(
    uow: UnitOfWork, *, now: datetime | None = None, lease: timedelta = LEASE
) -> Health:
    moment = now or utcnow()
    async with uow.read_only():
        by_status = {
            status: int(n)
            for status, n in await uow.session.execute(
                select(OutboundEmail.status, func.count(OutboundEmail.id)).group_by(
                    OutboundEmail.status
                )
            )
        }
        count, oldest = (
            await uow.session.execute(
                select(func.count(OutboundEmail.id), func.min(OutboundEmail.created_at)).where(
                    due(moment)
                )
            )
        ).one()
        stuck = await uow.session.scalar(
            select(func.count(OutboundEmail.id)).where(expired(moment, lease))
        )
    return Health(by_status, int(count or 0), int(stuck or 0), oldest)
