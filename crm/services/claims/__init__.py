"""Claims (client complaints): filing, the investigation plan, the status machine, escalation.

A claim is visible to whoever may see its responsible manager OR the curator of its
company, so a head sees the claims of the clients of their team even when a claim was
handed to someone else, and the curator keeps seeing the claims of their client.

SLA: `due_at = created_at + N days` of elapsed time, computed in UTC; a user's
timezone only changes how it is shown (across a DST change the wall-clock hour moves).

Escalation: an open claim past `due_at` rises to level 1 (the heads of the responsible
manager's department; the directors if that department has no head), and once as long
again has passed (`due_at + (due_at - created_at)`) to level 2 (the directors). Each
level is recorded with a conditional UPDATE, so it happens once however many schedulers
race for it.

The package, by part: common (constants, inputs, views), checks (typed input), causes
(the causes and the SLA setting), loading (access, the card, lists), filing, plan (the
investigation plan), status (the status machine), escalation (who hears of what). Import
from `crm.services.claims`: every public name is here.
"""

from __future__ import annotations

from crm.services.claims.causes import (
    add_cause,
    claims_with_cause,
    ensure_default_causes,
    list_causes,
    remove_cause,
    rename_cause,
    set_sla_days,
    sla_days,
)
from crm.services.claims.checks import clean, clean_attachment
from crm.services.claims.common import (
    ATTACHMENT_KINDS,
    CLOSED_STATUSES,
    DEFAULT_CAUSES,
    DEFAULT_PLAN,
    DEFAULT_SLA_DAYS,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENTS,
    OPEN_STATUSES,
    PAST_TOLERANCE,
    PLAN_KIND,
    PLAN_TITLE_MAX,
    REOPEN_ROLES,
    SLA_MAX_DAYS,
    SLA_SETTING,
    TRANSITIONS,
    URGENT,
    AttachmentInput,
    ClaimInput,
    ClaimRow,
    ClaimView,
    EscalationDue,
    PlanTaskInput,
)
from crm.services.claims.edit import (
    EDIT_FIELDS,
    PRIORITY_ORDER,
    allowed_priorities,
    earned_level,
    edit,
    editable_fields,
    notify_targets_on_raise,
)
from crm.services.claims.escalation import (
    claims_to_escalate,
    mark_escalated,
    notify_targets_on_file,
    recipients,
)
from crm.services.claims.filing import add_attachment, file
from crm.services.claims.guess import CAUSE_WORDS, guess_cause, guessed_cause
from crm.services.claims.loading import get, list_claims, open_count, open_for_company
from crm.services.claims.plan import complete_step, edit_plan
from crm.services.claims.status import allowed_transitions, change_status

__all__ = [
    "ATTACHMENT_KINDS",
    "CAUSE_WORDS",
    "CLOSED_STATUSES",
    "DEFAULT_CAUSES",
    "DEFAULT_PLAN",
    "DEFAULT_SLA_DAYS",
    "EDIT_FIELDS",
    "MAX_ATTACHMENTS",
    "MAX_ATTACHMENT_BYTES",
    "OPEN_STATUSES",
    "PAST_TOLERANCE",
    "PLAN_KIND",
    "PLAN_TITLE_MAX",
    "PRIORITY_ORDER",
    "REOPEN_ROLES",
    "SLA_MAX_DAYS",
    "SLA_SETTING",
    "TRANSITIONS",
    "URGENT",
    "AttachmentInput",
    "ClaimInput",
    "ClaimRow",
    "ClaimView",
    "EscalationDue",
    "PlanTaskInput",
    "add_attachment",
    "add_cause",
    "allowed_priorities",
    "allowed_transitions",
    "change_status",
    "claims_to_escalate",
    "claims_with_cause",
    "clean",
    "clean_attachment",
    "complete_step",
    "earned_level",
    "edit",
    "edit_plan",
    "editable_fields",
    "ensure_default_causes",
    "file",
    "get",
    "guess_cause",
    "guessed_cause",
    "list_causes",
    "list_claims",
    "mark_escalated",
    "notify_targets_on_file",
    "notify_targets_on_raise",
    "open_count",
    "open_for_company",
    "recipients",
    "remove_cause",
    "rename_cause",
    "set_sla_days",
    "sla_days",
]
