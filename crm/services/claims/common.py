"""Claims: the constants, the inputs and the views every part of the package shares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from crm.models import Claim, ClaimAttachment, Company, Contact, Manager, Task
from crm.models.enums import ClaimPriority, ClaimStatus, Role, TaskStatus

DEFAULT_CAUSES: dict[str, str] = {
    "quality": "Quality",
    "delivery": "Delivery",
    "billing": "Billing",
    "service": "Service",
    "other": "Other",
}
SLA_SETTING = "claim_sla_days"
DEFAULT_SLA_DAYS: dict[str, int] = {
    ClaimPriority.CRITICAL: 1,
    ClaimPriority.HIGH: 3,
    ClaimPriority.NORMAL: 7,
    ClaimPriority.LOW: 14,
}
SLA_MAX_DAYS = 365
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024  # what a bot may download through the Bot API
MAX_ATTACHMENTS = 30
ATTACHMENT_KINDS = ("photo", "document")
PLAN_KIND = "claim_plan"
PLAN_TITLE_MAX = 200
PAST_TOLERANCE = timedelta(minutes=1)  # a step due "now" typed a moment ago is not refused

# Used when a director has set no default claims playbook: (title en, title ru, day offset).
DEFAULT_PLAN: tuple[tuple[str, str, int], ...] = (
    ("Contact the client", "Связаться с клиентом", 0),
    ("Investigate the cause", "Выяснить причину", 1),
    ("Propose a resolution", "Предложить решение", 2),
)

OPEN_STATUSES = (ClaimStatus.NEW.value, ClaimStatus.INVESTIGATING.value)
CLOSED_STATUSES = (ClaimStatus.RESOLVED.value, ClaimStatus.REJECTED.value)
URGENT = (ClaimPriority.HIGH.value, ClaimPriority.CRITICAL.value)

# from -> allowed targets; reopening a closed claim is for heads and directors only.
TRANSITIONS: dict[str, frozenset[str]] = {
    ClaimStatus.NEW: frozenset({ClaimStatus.INVESTIGATING, ClaimStatus.REJECTED}),
    ClaimStatus.INVESTIGATING: frozenset({ClaimStatus.RESOLVED, ClaimStatus.REJECTED}),
    ClaimStatus.RESOLVED: frozenset({ClaimStatus.INVESTIGATING}),
    ClaimStatus.REJECTED: frozenset({ClaimStatus.INVESTIGATING}),
}
REOPEN_ROLES = (Role.HEAD, Role.DIRECTOR)

_CAUSE_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass
class AttachmentInput:
    file_id: str
    kind: str = "photo"
    file_size: int | None = None


@dataclass
class ClaimInput:
    company_id: int
    text: str
    contact_id: int | None = None
    deal_id: int | None = None
    cause: str = "other"
    priority: str = ClaimPriority.NORMAL.value
    responsible_id: int | None = None
    compensation: Decimal | str | None = None
    attachments: list[AttachmentInput] = field(default_factory=list)


@dataclass
class PlanTaskInput:
    """A step to add: due at 09:00 of the `offset_days`-th local day, or exactly at `due_at`
    (an aware moment, e.g. from crm.when.parse_when) when that is given."""

    title: str
    offset_days: int = 0
    due_at: datetime | None = None


@dataclass
class ClaimView:
    """A claim with what its card shows, all loaded."""

    claim: Claim
    company: Company
    responsible: Manager
    contact: Contact | None
    attachments: list[ClaimAttachment]
    plan: list[Task]
    cause_title: str | None = None  # the cause's title as the directors named it

    @property
    def open_plan_tasks(self) -> list[Task]:
        return [t for t in self.plan if t.status == TaskStatus.OPEN]


@dataclass(frozen=True)
class ClaimRow:
    """One line of a claims list."""

    claim: Claim
    company_name: str
    responsible_name: str


@dataclass(frozen=True)
class EscalationDue:
    claim_id: int
    level: int
    current_level: int
    responsible_id: int
