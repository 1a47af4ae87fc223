"""Create, remind, reschedule, snooze, complete, cancel and reassign a task: one
transaction each, audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from crm import validation, when
from crm.access import Actor, require_role
from crm.errors import InvalidInput
from crm.models import Manager, Task, utcnow
from crm.models.enums import Role, TaskStatus
from crm.services.tasks.access import _assignee, _check_links, _require_open, get
from crm.services.tasks.inputs import SNOOZE_MAX_MINUTES, TITLE_MAX, TaskInput, _future, clean
from crm.uow import UnitOfWork


async def create(
    uow: UnitOfWork, actor: Actor, data: TaskInput, *, now: datetime | None = None
) -> Task:
    now = now or utcnow()
    values = clean(data, now)
    async with uow:
        assignee = await _assignee(uow, actor, data.assignee_id)
        await _check_links(uow, actor, values)
        task = Task(
            **values,
            assignee_id=assignee.id,
            created_by_id=actor.id,
            status=TaskStatus.OPEN.value,
            reminded_late=False,
            snooze_count=0,
            created_at=now,
        )
        uow.session.add(task)
        await uow.flush()
        uow.audit_created(actor.id, task)
        await uow.commit()
    return task


async def remind(
    uow: UnitOfWork,
    actor: Actor,
    when_text: str,
    title: str,
    *,
    now: datetime | None = None,
    company_id: int | None = None,
    contact_id: int | None = None,
    deal_id: int | None = None,
) -> Task:
    """`/remind when; text`: `when` in natural language in the actor's timezone, linked to
    the company, contact or deal given.

    Raises InvalidInput("when", "unparsed" | "past" | "ambiguous") to be asked back;
    an ambiguous one carries `params["options"]` (aware UTC) to offer as buttons.
    """
    now = now or utcnow()
    validation.text("title", title, max_len=TITLE_MAX)
    due_at = when.parse_when(when_text, actor.timezone, now)
    data = TaskInput(
        title=title, due_at=due_at, company_id=company_id, contact_id=contact_id, deal_id=deal_id
    )
    return await create(uow, actor, data, now=now)


async def reschedule(
    uow: UnitOfWork, actor: Actor, task_id: int, due_at: datetime, *, now: datetime | None = None
) -> Task:
    now = now or utcnow()
    _future("due_at", due_at, now)
    async with uow:
        task = await get(uow, actor, task_id, lock=True)
        _require_open(task)
        uow.apply(actor.id, task, due_at=due_at, reminded_at=None, reminded_late=False)
        await uow.commit()
    return task


async def snooze(
    uow: UnitOfWork, actor: Actor, task_id: int, minutes: int, *, now: datetime | None = None
) -> Task:
    """Remind again `minutes` from now (the Snooze 15 min / 1 h buttons)."""
    now = now or utcnow()
    if not isinstance(minutes, int) or not 1 <= minutes <= SNOOZE_MAX_MINUTES:
        raise InvalidInput("minutes", "out_of_range", min=1, max=SNOOZE_MAX_MINUTES)
    return await _snooze_to(uow, actor, task_id, lambda _tz: now + timedelta(minutes=minutes))


async def snooze_until_tomorrow(
    uow: UnitOfWork, actor: Actor, task_id: int, *, now: datetime | None = None
) -> Task:
    """Remind again tomorrow at 09:00 in the assignee's timezone (the Tomorrow button)."""
    now = now or utcnow()

    def tomorrow(tz: str) -> datetime:
        local = when.to_local(now, tz)
        at = datetime.combine(local.date() + timedelta(days=1), when.DEFAULT_TIME)
        try:
            return when.localise(at, when.zone_of(tz))
        except InvalidInput as err:  # 09:00 never falls in a DST gap in practice; be safe
            return err.params["options"][-1]

    return await _snooze_to(uow, actor, task_id, tomorrow)


async def _snooze_to(uow: UnitOfWork, actor: Actor, task_id: int, due: Any) -> Task:
    async with uow:
        task = await get(uow, actor, task_id, lock=True)
        _require_open(task)
        tz = await uow.session.scalar(
            select(Manager.timezone).where(Manager.id == task.assignee_id)
        )
        uow.apply(
            actor.id,
            task,
            due_at=due(tz or actor.timezone),
            reminded_at=None,
            reminded_late=False,
            snooze_count=task.snooze_count + 1,
        )
        await uow.commit()
    return task


async def complete(
    uow: UnitOfWork, actor: Actor, task_id: int, *, now: datetime | None = None
) -> Task:
    """Mark done; pressing Done twice is harmless (the second press changes nothing)."""
    now = now or utcnow()
    async with uow:
        task = await get(uow, actor, task_id, lock=True)
        if task.status == TaskStatus.DONE.value:
            return task
        _require_open(task)
        uow.apply(actor.id, task, status=TaskStatus.DONE.value, done_at=now)
        await uow.commit()
    return task


def mark_done(uow: UnitOfWork, actor: Actor, task: Task, now: datetime) -> None:
    """Within the caller's open transaction: an open task done, audited (another service
    closing a step its own action fulfilled, e.g. invitations sent for an event)."""
    _require_open(task)
    uow.apply(actor.id, task, status=TaskStatus.DONE.value, done_at=now)


async def cancel(uow: UnitOfWork, actor: Actor, task_id: int) -> Task:
    async with uow:
        task = await get(uow, actor, task_id, lock=True)
        _require_open(task)
        uow.apply(actor.id, task, status=TaskStatus.CANCELLED.value)
        await uow.commit()
    return task


async def reassign(uow: UnitOfWork, actor: Actor, task_id: int, assignee_id: int) -> Task:
    """Hand a task to another manager within a head's or director's reach.

    An open task that was already reminded is reminded again to its new assignee.
    """
    require_role(actor, Role.HEAD, Role.DIRECTOR, entity="task")
    async with uow:
        task = await get(uow, actor, task_id, lock=True)
        _require_open(task)
        assignee = await _assignee(uow, actor, assignee_id)
        if assignee.id != task.assignee_id:
            uow.apply(
                actor.id, task, assignee_id=assignee.id, reminded_at=None, reminded_late=False
            )
        await uow.commit()
    return task
