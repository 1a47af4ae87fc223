"""Claims: the investigation plan of an open claim."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from crm.access import Actor
from crm.errors import Conflict, InvalidInput
from crm.models import Manager, utcnow
from crm.models.enums import TaskStatus
from crm.services.claims.checks import _offset, _plan_title, _step_due
from crm.services.claims.common import CLOSED_STATUSES, ClaimView, PlanTaskInput
from crm.services.claims.filing import _plan_tasks
from crm.services.claims.loading import _load, _plan, _view
from crm.uow import UnitOfWork


async def edit_plan(
    uow: UnitOfWork,
    actor: Actor,
    claim_id: int,
    add: Sequence[PlanTaskInput] = (),
    remove: Sequence[int] = (),
    *,
    now: datetime | None = None,
) -> ClaimView:
    """Add plan tasks (due like playbook steps, counted from now, or at their own `due_at`)
    and cancel open ones. Whoever sees the claim may edit its plan while it is open."""
    start = now or utcnow()
    steps = [(_plan_title(step.title), _offset(step.offset_days)) for step in add]
    dues = [_step_due(step.due_at, start) for step in add]
    async with uow:
        claim = await _load(uow, actor, claim_id, lock=True)
        if claim.status in CLOSED_STATUSES:
            raise Conflict("claim_closed", status=claim.status)
        plan = {t.id: t for t in await _plan(uow, claim.id)}
        for task_id in remove:
            task = plan.get(task_id)
            if task is None:
                raise InvalidInput("task", "not_in_plan", id=task_id)
            if task.status != TaskStatus.OPEN:
                raise Conflict("task_not_open", id=task_id)
        for task_id in remove:
            uow.apply(actor.id, plan[task_id], status=TaskStatus.CANCELLED.value)
        responsible = await uow.session.get(Manager, claim.responsible_id)
        assert responsible is not None
        tasks = _plan_tasks(claim, actor, responsible, steps, start, cap=False)
        for task, due in zip(tasks, dues, strict=True):
            if due is not None:
                task.due_at = due
        uow.session.add_all(tasks)
        await uow.flush()
        for task in tasks:
            uow.audit_created(actor.id, task)
        view = await _view(uow, claim)
        await uow.commit()
    return view


async def complete_step(
    uow: UnitOfWork, actor: Actor, claim_id: int, task_id: int, *, now: datetime | None = None
) -> ClaimView:
    """Mark a plan task done; pressing it twice is harmless, a cancelled one is refused."""
    moment = now or utcnow()
    async with uow:
        claim = await _load(uow, actor, claim_id, lock=True)
        if claim.status in CLOSED_STATUSES:
            raise Conflict("claim_closed", status=claim.status)
        task = {t.id: t for t in await _plan(uow, claim.id)}.get(task_id)
        if task is None:
            raise InvalidInput("task", "not_in_plan", id=task_id)
        if task.status == TaskStatus.CANCELLED:
            raise Conflict("task_not_open", id=task_id)
        if task.status == TaskStatus.OPEN:
            uow.apply(actor.id, task, status=TaskStatus.DONE.value, done_at=moment)
        view = await _view(uow, claim)
        await uow.commit()
    return view
