"""Claims: who hears of a new claim, and escalation past the SLA."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, func, literal, or_, select, update

from crm.errors import InvalidInput
from crm.models import Claim, Manager
from crm.models.enums import Role
from crm.services.claims.common import OPEN_STATUSES, URGENT, EscalationDue
from crm.uow import UnitOfWork


async def _heads_of(uow: UnitOfWork, manager_id: int) -> list[int]:
    department = select(Manager.department_id).where(Manager.id == manager_id).scalar_subquery()
    rows = await uow.session.scalars(
        select(Manager.id)
        .where(
            Manager.role == Role.HEAD.value,
            Manager.active.is_(True),
            Manager.department_id.is_not(None),
            Manager.department_id == department,
        )
        .order_by(Manager.id)
    )
    return list(rows)


async def _directors(uow: UnitOfWork) -> list[int]:
    rows = await uow.session.scalars(
        select(Manager.id)
        .where(Manager.role == Role.DIRECTOR.value, Manager.active.is_(True))
        .order_by(Manager.id)
    )
    return list(rows)


def _unique(ids: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(ids))


async def notify_targets_on_file(uow: UnitOfWork, claim: Claim) -> list[int]:
    """Who hears of a new claim at once: for high and critical ones, the responsible
    manager and the heads of their department; nobody for the others."""
    if claim.priority not in URGENT:
        return []
    async with uow.read_only():
        return _unique([claim.responsible_id, *await _heads_of(uow, claim.responsible_id)])


async def recipients(uow: UnitOfWork, manager_ids: Sequence[int]) -> list[Manager]:
    """Who of `manager_ids` can be told (active, not blocking the bot), in the order given."""
    if not manager_ids:
        return []
    async with uow.read_only():
        rows = await uow.session.scalars(
            select(Manager).where(
                Manager.id.in_(list(manager_ids)),
                Manager.active.is_(True),
                Manager.bot_blocked.is_(False),
            )
        )
        found = {m.id: m for m in rows}
    return [found[i] for i in _unique(manager_ids) if i in found]


def _epoch_ms(dialect: str, column: Any) -> ColumnElement[float]:
    """Milliseconds since 1970, rounded so that equal instants compare equal on SQLite too
    (julianday() is a float with millisecond resolution)."""
    if dialect == "sqlite":
        return func.round((func.julianday(column) - 2440587.5) * 86_400_000.0)
    return func.round(func.extract("epoch", column) * 1000)


async def claims_to_escalate(uow: UnitOfWork, now: datetime) -> list[EscalationDue]:
    """Open claims whose escalation level must rise at `now` (level 1 at due, 2 at twice)."""
    async with uow.read_only():
        dialect = uow.session.get_bind().dialect.name
        twice_due = _epoch_ms(dialect, Claim.due_at) * 2 - _epoch_ms(dialect, Claim.created_at)
        second = twice_due <= literal(round(now.timestamp() * 1000), BigInteger())
        rows = await uow.session.execute(
            select(Claim.id, Claim.escalation_level, Claim.responsible_id, second)
            .where(
                Claim.status.in_(OPEN_STATUSES),
                Claim.due_at <= now,
                Claim.escalation_level < 2,
                or_(Claim.escalation_level == 0, second),
            )
            .order_by(Claim.due_at, Claim.id)
        )
        return [
            EscalationDue(
                claim_id=cid, level=2 if late else 1, current_level=lvl, responsible_id=rid
            )
            for cid, lvl, rid, late in rows
        ]


async def mark_escalated(uow: UnitOfWork, claim_id: int, level: int) -> list[int]:
    """Raise a claim to `level` once; returns the managers to notify ([] if already done).

    Jumping from 0 straight to 2 (the scheduler was down) notifies the heads too.
    """
    if level not in (1, 2):
        raise InvalidInput("level", "out_of_range", min=1, max=2)
    async with uow:
        before = await uow.session.scalar(
            select(Claim.escalation_level).where(Claim.id == claim_id)
        )
        if before is None or before >= level:
            return []
        result = await uow.session.execute(  # compare-and-set: only one caller wins
            update(Claim)
            .where(
                Claim.id == claim_id,
                Claim.escalation_level == before,
                Claim.status.in_(OPEN_STATUSES),
            )
            .values(escalation_level=level)
            .returning(Claim.responsible_id)
        )
        responsible_id = result.scalar_one_or_none()
        if responsible_id is None:
            return []
        previous = int(before)
        uow.audit(None, ("claims", claim_id), "escalate", {"escalation_level": [previous, level]})
        targets: list[int] = []
        if previous < 1:
            targets += await _heads_of(uow, responsible_id)
        if level == 2 or not targets:
            targets += await _directors(uow)
        await uow.commit()
    return _unique(targets)
