"""Deals: open, line items with discount approval, stage moves, win and loss, reads.

The package: inputs.py (what a deal is made of, the checks), common.py (what the writes
share), writes.py (open, lines, fields), approvals.py (discounts above a limit),
stages.py (the stage rules, moves, win and loss), reads.py; who sees a deal and its
loading are in crm/services/deal_access.py, below this package and payments.

Rules decided here (the product brief leaves them open):
- A deal is visible to whoever may see its curator or its company's curator, so the
  history of a client stays with the client when open deals are reassigned.
- Once a deal has lines, its amount is their total after discounts, written in the same
  transaction as every line change (a typed amount is refused then, and the sale written
  on Won takes revenue and cost from the same lines). A deal without lines keeps its typed
  amount; removing the last line leaves the amount at the total the lines last had.
- Won and lost are final for managers: only a head (of the department) or a director
  reopens a closed deal, and only into an open stage; won -> lost goes through a reopen.
  Reopening a won deal deletes its Sale; a lost deal's reason is cleared.
- A line above the acting manager's discount limit raises ApprovalRequired unless
  approval is requested; a pending or rejected line blocks winning. A rejected line's
  discount is cut to the curator's limit and the price the client sees has changed, so
  the manager confirms it with `change_discount` (or removes the line) before winning.
- Nobody approves a discount on a deal they curate themselves.
- Moving a deal to the stage it is already in is a no-op (a double tap in the chat).
"""

from __future__ import annotations

from crm.services.deals.approvals import (
    DiscountDecision,
    PendingApproval,
    PendingPage,
    decide_discount,
    pending_approvals,
    pending_page,
)
from crm.services.deals.common import follows_lines, reindex
from crm.services.deals.inputs import (
    BLOCKING_APPROVALS,
    NEXT_STEP_MAX,
    QUANTITY_MAX,
    SOURCE_MAX,
    UPDATABLE,
    DealInput,
    DealOpenedHook,
    LineInput,
    clean,
    clean_line,
)
from crm.services.deals.reads import (
    Pipeline,
    StageTotal,
    for_company,
    get,
    open_by_stage,
    stage_history,
)
from crm.services.deals.stages import (
    REOPEN_FALLBACK,
    REOPEN_ROLES,
    StageMoves,
    allowed_moves,
    apply_move,
    load_for_move,
    may_reopen,
    move,
    move_target,
    reopen_stage,
)
from crm.services.deals.writes import (
    add_line,
    change_discount,
    change_quantity,
    open,
    remove_line,
    update,
)

__all__ = [
    "BLOCKING_APPROVALS",
    "NEXT_STEP_MAX",
    "QUANTITY_MAX",
    "REOPEN_FALLBACK",
    "REOPEN_ROLES",
    "SOURCE_MAX",
    "UPDATABLE",
    "DealInput",
    "DealOpenedHook",
    "DiscountDecision",
    "LineInput",
    "PendingApproval",
    "PendingPage",
    "Pipeline",
    "StageMoves",
    "StageTotal",
    "add_line",
    "allowed_moves",
    "apply_move",
    "change_discount",
    "change_quantity",
    "clean",
    "clean_line",
    "decide_discount",
    "follows_lines",
    "for_company",
    "get",
    "load_for_move",
    "may_reopen",
    "move",
    "move_target",
    "open",
    "open_by_stage",
    "pending_approvals",
    "pending_page",
    "reindex",
    "remove_line",
    "reopen_stage",
    "stage_history",
    "update",
]
