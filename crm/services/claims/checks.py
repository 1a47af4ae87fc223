"""Claims: checks of typed input, before anything is written."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from crm import validation
from crm.errors import InvalidInput
from crm.models.enums import ClaimPriority
from crm.services.claims.common import (
    ATTACHMENT_KINDS,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    PAST_TOLERANCE,
    PLAN_TITLE_MAX,
    SLA_MAX_DAYS,
    AttachmentInput,
    ClaimInput,
)


def clean_attachment(data: AttachmentInput) -> dict[str, Any]:
    file_id = validation.text("attachment", data.file_id, max_len=256)
    kind = str(data.kind or "").strip().lower()
    if kind not in ATTACHMENT_KINDS:
        raise InvalidInput("attachment", "unknown_value", allowed=list(ATTACHMENT_KINDS))
    size = data.file_size
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidInput("attachment", "invalid")
        if size > MAX_ATTACHMENT_BYTES:
            raise InvalidInput("attachment", "too_large", max_mb=MAX_ATTACHMENT_BYTES // 2**20)
    return {"file_id": file_id, "kind": kind, "file_size": size}


def clean(data: ClaimInput) -> dict[str, Any]:
    """Validated values of a new claim; raises InvalidInput before anything is written."""
    if not isinstance(data.company_id, int) or isinstance(data.company_id, bool):
        raise InvalidInput("company", "empty")
    if len(data.attachments) > MAX_ATTACHMENTS:
        raise InvalidInput("attachment", "too_many", max=MAX_ATTACHMENTS)
    return {
        "company_id": data.company_id,
        "text": validation.text("text", data.text, max_len=validation.TEXT_MAX),
        "contact_id": data.contact_id,
        "deal_id": data.deal_id,
        "cause": validation.text("cause", data.cause or "other", max_len=32).lower(),
        "priority": validation.choice("priority", data.priority, ClaimPriority).value,
        "compensation": validation.money("compensation", data.compensation, allow_none=True),
        "attachments": [clean_attachment(a) for a in data.attachments],
    }


def _plan_title(value: str) -> str:
    return validation.text("title", value, max_len=PLAN_TITLE_MAX)


def _offset(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SLA_MAX_DAYS:
        raise InvalidInput("offset_days", "out_of_range", min=0, max=SLA_MAX_DAYS)
    return value


def _step_due(value: datetime | None, now: datetime) -> datetime | None:
    """An explicit due time of a step: aware, not in the past, within the SLA horizon."""
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput("due_at", "invalid")
    if value < now - PAST_TOLERANCE:
        raise InvalidInput("due_at", "past")
    if value > now + timedelta(days=SLA_MAX_DAYS):
        raise InvalidInput("due_at", "out_of_range", min=0, max=SLA_MAX_DAYS)
    return value
