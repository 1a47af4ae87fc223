"""The scheduler's side: which reminders are due, claimed with a conditional UPDATE
so that none is delivered twice, handed back when a send fails; delivery figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, false, func, select, true, update

from crm.db import rowcount
from crm.models import Company, Deal, Event, Manager, Task
from crm.models.enums import TaskStatus
from crm.services.tasks.inputs import LATE_AFTER
from crm.services.tasks.reads import _count
from crm.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Delivery:
    """One reminder the scheduler has claimed and must now send."""

    task_id: int
    title: str
    kind: str
    due_at: datetime
    late: bool
    assignee_id: int
    chat_id: int
    language: str
    timezone: str
    company_id: int | None = None
    company_name: str | None = None
    deal_id: int | None = None
    deal_title: str | None = None
    event_title: str | None = None


def _deliverable(now: datetime) -> ColumnElement[bool]:
    return and_(
        Task.status == TaskStatus.OPEN.value,
        Task.reminded_at.is_(None),
        Task.due_at <= now,
    )


def _delivery_query() -> Any:
    return (
        select(
            Task.id,
            Task.title,
            Task.kind,
            Task.due_at,
            Task.reminded_at,
            Task.reminded_late,
            Task.assignee_id,
            Manager.tg_id,
            Manager.language,
            Manager.timezone,
            Task.company_id,
            Company.name,
            Task.deal_id,
            Deal.title,
            Event.title,
        )
        .join(Manager, Manager.id == Task.assignee_id)
        .outerjoin(Company, Company.id == Task.company_id)
        .outerjoin(Deal, Deal.id == Task.deal_id)
        .outerjoin(Event, Event.id == Task.event_id)
    )


def _delivery(row: Any, late: bool | None = None) -> Delivery:
    return Delivery(
        task_id=row[0],
        title=row[1],
        kind=row[2],
        due_at=row[3],
        late=row[5] if late is None else late,
        assignee_id=row[6],
        chat_id=row[7],
        language=row[8],
        timezone=row[9],
        company_id=row[10],
        company_name=row[11],
        deal_id=row[12],
        deal_title=row[13],
        event_title=row[14],
    )


def _reachable() -> ColumnElement[bool]:
    return and_(Manager.active.is_(True), Manager.bot_blocked.is_(False))


async def due_for_delivery(uow: UnitOfWork, now: datetime, limit: int = 500) -> list[Delivery]:
    """Unclaimed reminders due by `now` of reachable managers, oldest first (no claim made)."""
    async with uow.read_only():
        rows = await uow.session.execute(
            _delivery_query()
            .where(_deliverable(now), _reachable())
            .order_by(Task.due_at, Task.id)
            .limit(limit)
        )
        return [_delivery(r, late=now - r[3] > LATE_AFTER) for r in rows]


async def mark_delivered(uow: UnitOfWork, task_id: int, at: datetime, late: bool) -> bool:
    """Claim one reminder for sending; True for exactly one caller, however many race."""
    async with uow:
        result = await uow.session.execute(
            update(Task)
            .where(Task.id == task_id, _deliverable(at))
            .values(reminded_at=at, reminded_late=late)
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
    return rowcount(result) == 1


async def claim(uow: UnitOfWork, task_id: int, at: datetime) -> Delivery | None:
    """Claim one reminder (late if `at` is past due by more than LATE_AFTER) and return
    what to send, or None if it is not due, already claimed, closed or unreachable."""
    async with uow:
        result = await uow.session.execute(
            update(Task)
            .where(
                Task.id == task_id,
                _deliverable(at),
                exists().where(Manager.id == Task.assignee_id, _reachable()),
            )
            .values(
                reminded_at=at,
                reminded_late=case((Task.due_at < at - LATE_AFTER, true()), else_=false()),
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) != 1:
            return None
        row = (await uow.session.execute(_delivery_query().where(Task.id == task_id))).one()
        await uow.commit()
    return _delivery(row)


async def claim_due(uow: UnitOfWork, now: datetime, limit: int = 500) -> list[Delivery]:
    """Claim up to `limit` due reminders at once (the sweep): one UPDATE ... RETURNING."""
    async with uow:
        candidates = (
            select(Task.id)
            .join(Manager, Manager.id == Task.assignee_id)
            .where(_deliverable(now), _reachable())
            .order_by(Task.due_at, Task.id)
            .limit(limit)
            # PostgreSQL: a concurrent sweep takes the next rows instead of waiting for
            # these and then finding them claimed (SQLite serialises writers anyway)
            .with_for_update(of=Task, skip_locked=True)
        )
        claimed = list(
            await uow.session.scalars(
                update(Task)
                .where(Task.id.in_(candidates.scalar_subquery()), _deliverable(now))
                .values(
                    reminded_at=now,
                    reminded_late=case((Task.due_at < now - LATE_AFTER, true()), else_=false()),
                )
                .returning(Task.id)
                .execution_options(synchronize_session=False)
            )
        )
        if not claimed:
            await uow.commit()
            return []
        rows = await uow.session.execute(
            _delivery_query().where(Task.id.in_(claimed)).order_by(Task.due_at, Task.id)
        )
        deliveries = [_delivery(r) for r in rows]
        await uow.commit()
    return deliveries


async def release_delivery(uow: UnitOfWork, task_id: int, claimed_at: datetime) -> bool:
    """Hand back a claimed reminder whose send failed, so that a later sweep retries it."""
    async with uow:
        result = await uow.session.execute(
            update(Task)
            .where(Task.id == task_id, Task.reminded_at == claimed_at)
            .values(reminded_at=None, reminded_late=False)
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
    return rowcount(result) == 1


async def upcoming(
    uow: UnitOfWork, now: datetime, until: datetime, limit: int = 10_000
) -> list[tuple[int, datetime]]:
    """(task id, due_at) of unclaimed open reminders due in (now, until], to schedule."""
    async with uow.read_only():
        rows = await uow.session.execute(
            select(Task.id, Task.due_at)
            .where(
                Task.status == TaskStatus.OPEN.value,
                Task.reminded_at.is_(None),
                Task.due_at > now,
                Task.due_at <= until,
            )
            .order_by(Task.due_at, Task.id)
            .limit(limit)
        )
        return [(r[0], r[1]) for r in rows]


@dataclass(frozen=True, slots=True)
class DeliveryStats:
    pending: int  # open, not yet reminded, due in the future
    overdue_undelivered: int  # open, not yet reminded, already due (to a reachable manager)


async def delivery_stats(uow: UnitOfWork, now: datetime) -> DeliveryStats:
    async with uow.read_only():
        undelivered = and_(Task.status == TaskStatus.OPEN.value, Task.reminded_at.is_(None))
        pending = await _count(uow, select(Task.id).where(undelivered, Task.due_at > now))
        overdue = await _count(
            uow,
            select(Task.id)
            .join(Manager, Manager.id == Task.assignee_id)
            .where(undelivered, Task.due_at <= now, _reachable()),
        )
    return DeliveryStats(pending=pending, overdue_undelivered=overdue)


async def last_reminded_at(uow: UnitOfWork) -> datetime | None:
    """When the newest reminder went out (None: never)."""
    async with uow.read_only():
        return await uow.session.scalar(select(func.max(Task.reminded_at)))
