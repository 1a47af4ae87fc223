"""Creating an event with its preparation plan (the default playbook's steps, or
DEFAULT_PLAN)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from crm import when
from crm.access import Actor
from crm.errors import InvalidInput
from crm.models import Event, Task, utcnow
from crm.models.enums import PlaybookKind, TaskStatus
from crm.services import playbooks
from crm.services.events.inputs import DEFAULT_PLAN, PLAN_KIND, EventInput, clean
from crm.services.events.reading import EventView, _view
from crm.uow import UnitOfWork


def plan_due(starts_at: datetime, days_before: int, tz: str, created: datetime) -> datetime:
    """09:00 local N days before the event's local day; never after the start. A step
    whose day has already gone by when the event is made falls due at the next working
    hour (never after the start): it is work to do now, not a task late from birth."""
    local_day = when.to_local(starts_at, tz).date() - timedelta(days=days_before)
    naive = datetime.combine(local_day, when.DEFAULT_TIME)
    try:
        due = when.localise(naive, when.zone_of(tz))
    except InvalidInput as err:  # 09:00 inside a DST change: take the later reading
        due = err.params["options"][-1]
    if due <= created:
        due = when.next_working_hour(created, tz)
    return min(due, starts_at)


def _default_steps(language: str) -> list[tuple[str, int]]:
    return [(ru if language == "ru" else en, days) for en, ru, days in DEFAULT_PLAN]


async def create(
    uow: UnitOfWork, actor: Actor, data: EventInput, *, now: datetime | None = None
) -> EventView:
    """Create an event (the actor is responsible) with its preparation tasks."""
    created = now or utcnow()
    values = clean(data, actor, created)
    async with uow:
        event = Event(
            **values,
            uid=f"{uuid.uuid4()}@chatcrm",
            sequence=0,
            responsible_id=actor.id,
            created_at=created,
        )
        uow.session.add(event)
        await uow.flush()
        uow.audit_created(actor.id, event)
        steps = await playbooks.plan_steps(uow, PlaybookKind.EVENT.value)
        if steps is None:  # no events playbook set up by a director: the built-in plan
            steps = _default_steps(actor.language)
        tasks = [
            Task(
                title=title,
                due_at=plan_due(event.starts_at, days, actor.timezone, created),
                assignee_id=actor.id,
                created_by_id=actor.id,
                status=TaskStatus.OPEN.value,
                kind=PLAN_KIND,
                event_id=event.id,
                reminded_late=False,
                snooze_count=0,
                created_at=created,
            )
            for title, days in steps
        ]
        uow.session.add_all(tasks)
        await uow.flush()
        for task in tasks:
            uow.audit_created(actor.id, task)
        view = await _view(uow, event)
        await uow.commit()
    return view
