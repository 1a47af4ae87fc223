"""What an event and a segment are made of, and the checks of what a caller gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from crm import validation, when
from crm.access import Actor
from crm.errors import InvalidInput
from crm.models.enums import CompanyStage, InviteeStatus, PlaybookKind
from crm.services import playbooks

TITLE_MAX = 200
PLACE_MAX = 300
TOPIC_MAX = 4000
DEFAULT_DURATION = timedelta(hours=2)
MAX_DURATION = timedelta(days=31)
PLAN_KIND = playbooks.TASK_KIND[PlaybookKind.EVENT.value]
TOKEN_BYTES = 24  # 32 characters of urlsafe base64, 192 random bits

# Used when a director has set no default event playbook: (title en, title ru, days before).
DEFAULT_PLAN: tuple[tuple[str, str, int], ...] = (
    ("Book the venue", "Забронировать площадку", 14),
    ("Send the invitations", "Разослать приглашения", 10),
    ("Call the invitees who have not answered", "Обзвонить не ответивших приглашённых", 2),
    ("Prepare the materials and the room", "Подготовить материалы и зал", 1),
)

ANSWERS = {"yes": InviteeStatus.ACCEPTED.value, "no": InviteeStatus.DECLINED.value}
ATTENDANCE = (InviteeStatus.ATTENDED.value, InviteeStatus.NO_SHOW.value)
SEGMENT_KINDS = ("all", "stage", "industry", "territory", "company")
SEGMENT_STAGES = (
    CompanyStage.POTENTIAL.value,
    CompanyStage.ONE_TIME.value,
    CompanyStage.REGULAR.value,
)


@dataclass
class EventInput:
    title: str
    when: str | None = None  # natural language in the actor's timezone, or
    starts_at: datetime | None = None  # an aware moment (a button's choice)
    place: str | None = None
    ends_at: datetime | None = None
    topic: str | None = None
    budget: Decimal | str | None = None


@dataclass(frozen=True)
class Segment:
    """Whom to invite: all / stage (potential|one_time|regular) / industry / territory /
    company (value: the company id)."""

    kind: str = "all"
    value: str | int | None = None


def _when(data: EventInput, actor: Actor, now: datetime) -> datetime:
    if data.starts_at is not None:
        if data.starts_at.tzinfo is None:
            raise InvalidInput("when", "unparsed")
        if data.starts_at <= now:
            raise InvalidInput("when", "past")
        return data.starts_at
    return when.parse_when(data.when or "", actor.timezone, now)


def clean(data: EventInput, actor: Actor, now: datetime) -> dict[str, Any]:
    """Validated values of a new event; raises InvalidInput before anything is written."""
    title = validation.text("title", data.title, max_len=TITLE_MAX)
    starts_at = _when(data, actor, now)
    ends_at = data.ends_at or starts_at + DEFAULT_DURATION
    if ends_at.tzinfo is None:
        raise InvalidInput("ends_at", "invalid")
    if not starts_at < ends_at <= starts_at + MAX_DURATION:
        raise InvalidInput("ends_at", "invalid")
    return {
        "title": title,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "place": validation.optional_text("place", data.place, max_len=PLACE_MAX),
        "topic": validation.optional_text("topic", data.topic, max_len=TOPIC_MAX),
        "budget": validation.money("budget", data.budget, allow_none=True),
    }


def clean_segment(segment: Segment) -> Segment:
    kind = str(segment.kind or "").strip().lower()
    if kind not in SEGMENT_KINDS:
        raise InvalidInput("segment", "unknown_value", allowed=list(SEGMENT_KINDS))
    value = segment.value
    if kind == "all":
        return Segment("all")
    if kind == "stage":
        value = str(value or "").strip().lower()
        if value not in SEGMENT_STAGES:
            raise InvalidInput("stage", "unknown_value", allowed=list(SEGMENT_STAGES))
        return Segment(kind, value)
    if kind == "company":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput("company", "empty")
        return Segment(kind, value)
    return Segment(kind, validation.text(kind, str(value or ""), max_len=validation.SHORT_MAX))
