"""Reads: the /today agenda, the open tasks, one task's line."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select

from crm import when
from crm.access import Actor
from crm.errors import AccessDenied
from crm.models import Company, Contact, Deal, Event, Interaction, Task, utcnow
from crm.models.enums import OPEN_STAGES, InteractionStatus, TaskStatus
from crm.services.tasks.access import visible
from crm.services.tasks.inputs import AGENDA_LIMIT
from crm.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class TaskLine:
    """A task with the names a list or a reminder shows next to it."""

    task: Task
    company_name: str | None = None
    deal_title: str | None = None
    event_title: str | None = None


@dataclass(frozen=True, slots=True)
class InteractionLine:
    interaction: Interaction
    company_name: str | None = None
    contact_name: str | None = None


@dataclass(frozen=True, slots=True)
class Agenda:
    """What /today shows; each list holds at most `AGENDA_LIMIT`, the totals count all."""

    day: date  # the actor's local date
    due_today: list[TaskLine]
    overdue: list[TaskLine]
    planned: list[InteractionLine]
    stale_deals: list[Deal]  # open deals whose expected close date has passed
    totals: dict[str, int] = field(default_factory=dict)


def _lines_query() -> Any:
    return (
        select(Task, Company.name, Deal.title, Event.title)
        .outerjoin(Company, Company.id == Task.company_id)
        .outerjoin(Deal, Deal.id == Task.deal_id)
        .outerjoin(Event, Event.id == Task.event_id)
    )


def _day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, in UTC (23 or 25 hours long across DST)."""
    zone = when.zone_of(tz)
    start = datetime.combine(day, time(0), zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


async def agenda(
    uow: UnitOfWork, actor: Actor, now: datetime | None = None, limit: int = AGENDA_LIMIT
) -> Agenda:
    """/today for the actor: their open tasks due today (their timezone) and overdue,
    interactions they planned for today, their open deals whose expected close passed."""
    now = now or utcnow()
    day = when.to_local(now, actor.timezone).date()
    start, end = _day_bounds(day, actor.timezone)
    async with uow.read_only():
        s = uow.session
        mine_open = and_(
            Task.assignee_id == actor.id,
            Task.status == TaskStatus.OPEN.value,
            # the reminder of an interaction planned for today: its planned row stands for it
            ~and_(Task.interaction_id.is_not(None), Task.due_at >= start),
        )
        today_cond = and_(mine_open, Task.due_at >= now, Task.due_at < end)
        # "overdue" is everything due before now; what fell due earlier today counts too
        overdue_cond = and_(mine_open, Task.due_at < now)
        planned_cond = and_(
            Interaction.manager_id == actor.id,
            Interaction.status == InteractionStatus.PLANNED.value,
            Interaction.occurred_at >= start,
            Interaction.occurred_at < end,
        )
        stale_cond = and_(
            Deal.curator_id == actor.id,
            Deal.stage.in_([s_.value for s_ in OPEN_STAGES]),
            Deal.expected_close.is_not(None),
            Deal.expected_close < day,
        )
        due_today = [
            TaskLine(t, c, d, e)
            for t, c, d, e in await s.execute(
                _lines_query().where(today_cond).order_by(Task.due_at, Task.id).limit(limit)
            )
        ]
        overdue = [
            TaskLine(t, c, d, e)
            for t, c, d, e in await s.execute(
                _lines_query().where(overdue_cond).order_by(Task.due_at, Task.id).limit(limit)
            )
        ]
        planned = [
            InteractionLine(i, c, p)
            for i, c, p in await s.execute(
                select(Interaction, Company.name, Contact.name)
                .outerjoin(Company, Company.id == Interaction.company_id)
                .outerjoin(Contact, Contact.id == Interaction.contact_id)
                .where(planned_cond)
                .order_by(Interaction.occurred_at, Interaction.id)
                .limit(limit)
            )
        ]
        stale = list(
            await s.scalars(
                select(Deal).where(stale_cond).order_by(Deal.expected_close, Deal.id).limit(limit)
            )
        )
        totals = {
            "due_today": await _count(uow, select(Task.id).where(today_cond)),
            "overdue": await _count(uow, select(Task.id).where(overdue_cond)),
            "planned": await _count(uow, select(Interaction.id).where(planned_cond)),
            "stale_deals": await _count(uow, select(Deal.id).where(stale_cond)),
        }
    return Agenda(day, due_today, overdue, planned, stale, totals)


async def _count(uow: UnitOfWork, stmt: Any) -> int:
    return int(await uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


async def list_open(
    uow: UnitOfWork, actor: Actor, offset: int = 0, limit: int = 10
) -> tuple[list[TaskLine], int]:
    """A page of the open tasks the actor may see (their own first), by due time."""
    async with uow.read_only():
        scope = and_(Task.status == TaskStatus.OPEN.value, visible(actor))
        total = await _count(uow, select(Task.id).where(scope))
        rows = await uow.session.execute(
            _lines_query()
            .where(scope)
            .order_by(case((Task.assignee_id == actor.id, 0), else_=1), Task.due_at, Task.id)
            .offset(offset)
            .limit(limit)
        )
        return [TaskLine(t, c, d, e) for t, c, d, e in rows], total


async def get_line(uow: UnitOfWork, actor: Actor, task_id: int) -> TaskLine:
    async with uow.read_only():
        row = (
            await uow.session.execute(_lines_query().where(Task.id == task_id, visible(actor)))
        ).first()
    if row is None:
        raise AccessDenied("task")
    return TaskLine(row[0], row[1], row[2], row[3])
