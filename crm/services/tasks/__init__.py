"""Tasks and reminders: create, reschedule, snooze, complete, reassign; the /today agenda;
the delivery claims the scheduler makes; tasks for forgotten clients.

Access: a task is visible to whoever may see its assignee (self, a head's team, a
director: everyone) or any record it is linked to. Acting on a task needs visibility;
reassigning it needs a head or director.

Delivery is claimed, then sent: `claim_due` / `mark_delivered` set `reminded_at` with a
conditional UPDATE (`reminded_at IS NULL AND status = 'open' AND due_at <= at`), so two
schedulers or two loops never both deliver one reminder. A reminder whose send fails
for good is handed back with `release_delivery`, and the next sweep tries again.
Rescheduling or snoozing clears `reminded_at`, so the new time is reminded again.

The package: inputs.py (what a task is made of, the checks), access.py (who sees a task,
its links and assignee), writes.py, reads.py (the /today agenda, lists), delivery.py (the
scheduler's claims), forgotten.py (tasks for forgotten clients).
"""

from __future__ import annotations

from crm.services.tasks.access import get, visible
from crm.services.tasks.delivery import (
    Delivery,
    DeliveryStats,
    claim,
    claim_due,
    delivery_stats,
    due_for_delivery,
    last_reminded_at,
    mark_delivered,
    release_delivery,
    upcoming,
)
from crm.services.tasks.forgotten import create_forgotten_client_tasks
from crm.services.tasks.inputs import (
    AGENDA_LIMIT,
    KIND_FORGOTTEN,
    KIND_MANUAL,
    LATE_AFTER,
    LINKS,
    PAST_TOLERANCE,
    SNOOZE_MAX_MINUTES,
    TITLE_MAX,
    TaskInput,
    clean,
)
from crm.services.tasks.reads import Agenda, InteractionLine, TaskLine, agenda, get_line, list_open
from crm.services.tasks.writes import (
    cancel,
    complete,
    create,
    mark_done,
    reassign,
    remind,
    reschedule,
    snooze,
    snooze_until_tomorrow,
)

__all__ = [
    "AGENDA_LIMIT",
    "KIND_FORGOTTEN",
    "KIND_MANUAL",
    "LATE_AFTER",
    "LINKS",
    "PAST_TOLERANCE",
    "SNOOZE_MAX_MINUTES",
    "TITLE_MAX",
    "Agenda",
    "Delivery",
    "DeliveryStats",
    "InteractionLine",
    "TaskInput",
    "TaskLine",
    "agenda",
    "cancel",
    "claim",
    "claim_due",
    "clean",
    "complete",
    "create",
    "create_forgotten_client_tasks",
    "delivery_stats",
    "due_for_delivery",
    "get",
    "get_line",
    "last_reminded_at",
    "list_open",
    "mark_delivered",
    "mark_done",
    "reassign",
    "release_delivery",
    "remind",
    "reschedule",
    "snooze",
    "snooze_until_tomorrow",
    "upcoming",
    "visible",
]
