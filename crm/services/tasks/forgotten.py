"""Tasks for forgotten clients: a company nobody has talked to for `days` gets one."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, insert, literal, or_, select

from crm.errors import InvalidInput
from crm.models import AuditEntry, Company, Manager, Task
from crm.models.enums import TaskStatus
from crm.services.tasks.inputs import KIND_FORGOTTEN
from crm.uow import UnitOfWork


async def create_forgotten_client_tasks(uow: UnitOfWork, now: datetime, days: int = 30) -> int:
    """One task for the curator of each client with no interaction for `days` days.

    Silence is counted from `Company.last_interaction_at`, or `created_at` for a client
    never contacted; lost clients are left alone. A client gets no new task while one is
    open or one was created in the last `days` days, so it is once, not every day.
    One INSERT ... SELECT; audited in the same transaction. Returns how many were made.
    """
    if not 1 <= days <= 3650:
        raise InvalidInput("days", "out_of_range", min=1, max=3650)
    cutoff = now - timedelta(days=days)
    recent_or_open = exists().where(
        Task.company_id == Company.id,
        Task.kind == KIND_FORGOTTEN,
        or_(Task.status == TaskStatus.OPEN.value, Task.created_at > cutoff),
    )
    source = (
        select(
            Company.name,
            literal(now, Task.due_at.type),
            Company.curator_id,
            literal(TaskStatus.OPEN.value),
            literal(KIND_FORGOTTEN),
            Company.id,
            literal(False),
            literal(0),
            literal(now, Task.created_at.type),
        )
        .join(Manager, Manager.id == Company.curator_id)
        .where(
            func.coalesce(Company.last_interaction_at, Company.created_at) < cutoff,
            Company.stage != "lost",
            Manager.active.is_(True),
            ~recent_or_open,
        )
    )
    async with uow:
        created = list(
            await uow.session.execute(
                insert(Task)
                .from_select(
                    [
                        "title",
                        "due_at",
                        "assignee_id",
                        "status",
                        "kind",
                        "company_id",
                        "reminded_late",
                        "snooze_count",
                        "created_at",
                    ],
                    source,
                )
                .returning(Task.id, Task.company_id, Task.assignee_id)
            )
        )
        if created:
            await uow.session.execute(
                insert(AuditEntry),
                [
                    {
                        "actor_id": None,
                        "entity": Task.__tablename__,
                        "entity_id": task_id,
                        "action": "create",
                        "changes": {
                            "kind": [None, KIND_FORGOTTEN],
                            "company_id": [None, company_id],
                            "assignee_id": [None, assignee_id],
                            "due_at": [None, now.isoformat()],
                        },
                        "at": now,
                    }
                    for task_id, company_id, assignee_id in created
                ],
            )
        await uow.commit()
    return len(created)
