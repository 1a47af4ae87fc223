"""Which claim notices are due: the selection only; sending them is the notifier's job.

A scheduler job calls `due_escalations(uow, now)` every few minutes and sends each notice
to its managers; a handler that filed a claim calls `on_filed(uow, claim)`. The timing
rules and the once-only marking live in `crm.services.claims`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from crm.models import Claim
from crm.services import claims
from crm.uow import UnitOfWork

FILED = 0  # the level of a notice about a new urgent claim
RAISED = 3  # the level of a notice about a claim whose priority was raised to urgent


@dataclass(frozen=True)
class ClaimNotice:
    claim_id: int
    # 0 filed (high/critical), 1 SLA breached (heads), 2 as long again (directors),
    # 3 (RAISED) its priority raised to high/critical after filing
    level: int
    manager_ids: list[int]


async def due_escalations(uow: UnitOfWork, now: datetime) -> list[ClaimNotice]:
    """Escalate every claim whose level must rise at `now`, each in its own transaction.

    A claim another scheduler escalated first yields no notice, so nothing is sent twice.
    """
    notices = []
    for due in await claims.claims_to_escalate(uow, now):
        targets = await claims.mark_escalated(uow, due.claim_id, due.level)
        if targets:
            notices.append(ClaimNotice(due.claim_id, due.level, targets))
    return notices


async def on_filed(uow: UnitOfWork, claim: Claim) -> ClaimNotice | None:
    targets = await claims.notify_targets_on_file(uow, claim)
    return ClaimNotice(claim.id, FILED, targets) if targets else None


async def on_raised(uow: UnitOfWork, claim: Claim, before: str) -> ClaimNotice | None:
    targets = await claims.notify_targets_on_raise(uow, claim, before)
    return ClaimNotice(claim.id, RAISED, targets) if targets else None
