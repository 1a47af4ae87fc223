"""What a task is made of, and the checks of what a caller gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crm import validation
from crm.errors import InvalidInput

KIND_MANUAL = "manual"
KIND_FORGOTTEN = "forgotten_client"
TITLE_MAX = 500
SNOOZE_MAX_MINUTES = 60 * 24 * 30
LATE_AFTER = timedelta(minutes=2)  # a reminder sent later than this after due_at is "late"
PAST_TOLERANCE = timedelta(minutes=1)
AGENDA_LIMIT = 50
LINKS = ("company_id", "contact_id", "deal_id", "claim_id", "event_id")


@dataclass
class TaskInput:
    title: str
    due_at: datetime
    assignee_id: int | None = None  # None: the actor
    company_id: int | None = None
    contact_id: int | None = None
    deal_id: int | None = None
    claim_id: int | None = None
    event_id: int | None = None
    kind: str = KIND_MANUAL


def _aware(field_name: str, value: datetime) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(field_name, "invalid")
    return value


def _future(field_name: str, value: datetime, now: datetime) -> datetime:
    _aware(field_name, value)
    if value < now - PAST_TOLERANCE:
        raise InvalidInput(field_name, "past")
    return value


def clean(data: TaskInput, now: datetime) -> dict[str, Any]:
    """Validated column values; raises InvalidInput before anything is written."""
    kind = validation.text("kind", data.kind, max_len=32)
    return {
        "title": validation.text("title", data.title, max_len=TITLE_MAX),
        "due_at": _future("due_at", data.due_at, now),
        "kind": kind,
        **{name: getattr(data, name) for name in LINKS},
    }
