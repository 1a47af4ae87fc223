"""Claims: correcting an open claim's cause and priority; the SLA follows the priority.

Who may edit: whoever sees an open claim (its responsible manager, the company's curator,
their heads, the directors) may change its cause and raise its priority. Lowering the
priority moves the due date later, so it is for heads and directors only: a manager
cannot give themselves more time on their own claim. A closed claim is not edited (a
head or a director reopens it first): its record is what was decided.

The due date follows the new priority the way Zendesk re-applies an SLA policy: the
target is counted again from the claim's creation under the new priority, not from
now, so raising the priority of an old claim can make it overdue at once (and the
escalation job then tells the heads), and a claim's age is never forgotten. The SLA
days are today's setting (`sla_days`). The escalation level drops to what the new due
date has earned, so a claim whose due date moved later is escalated again if it misses
the new one, and never twice for the same breach.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from crm import validation
from crm.access import Actor
from crm.errors import Conflict, InvalidInput
from crm.models import Claim, ClaimCause, utcnow
from crm.models.enums import ClaimPriority
from crm.services.claims.causes import _read_sla, ensure_default_causes
from crm.services.claims.common import CLOSED_STATUSES, REOPEN_ROLES, URGENT, ClaimView
from crm.services.claims.escalation import notify_targets_on_file
from crm.services.claims.loading import _load, _view
from crm.uow import UnitOfWork

PRIORITY_ORDER: tuple[str, ...] = tuple(p.value for p in ClaimPriority)  # low → critical
EDIT_FIELDS = ("cause", "priority")


def editable_fields(actor: Actor, claim: Claim) -> list[str]:
    """What the ✏ Edit of a claim card may offer this actor (who sees the claim)."""
    if claim.status in CLOSED_STATUSES:
        return []
    return list(EDIT_FIELDS)


def allowed_priorities(actor: Actor, claim: Claim) -> list[str]:
    """The priorities this actor may set, in order from low to critical: heads and
    directors any; a manager the current one and those above it."""
    if claim.status in CLOSED_STATUSES:
        return []
    if actor.role in REOPEN_ROLES:
        return list(PRIORITY_ORDER)
    return list(PRIORITY_ORDER[PRIORITY_ORDER.index(claim.priority) :])


def earned_level(claim: Claim, due_at: datetime, now: datetime) -> int:
    """The escalation level a claim has earned at `now` with this due date (as
    `claims_to_escalate` counts it: 1 at due, 2 once as long again has passed)."""
    if now < due_at:
        return 0
    return 2 if now >= due_at + (due_at - claim.created_at) else 1


async def edit(
    uow: UnitOfWork,
    actor: Actor,
    claim_id: int,
    *,
    cause: str | None = None,
    priority: str | None = None,
    now: datetime | None = None,
) -> ClaimView:
    """Change an open claim's cause and/or priority in one audited transaction (old and
    new values, the due date and escalation level that follow included)."""
    new_priority = (
        validation.choice("priority", priority, ClaimPriority).value
        if priority is not None
        else None
    )
    code = validation.text("cause", cause, max_len=32).lower() if cause is not None else None
    moment = now or utcnow()
    async with uow:
        claim = await _load(uow, actor, claim_id, lock=True)
        if claim.status in CLOSED_STATUSES:
            raise Conflict("claim_closed_edit", status=claim.status)
        values: dict[str, object] = {}
        if code is not None and code != claim.cause:
            # FOR SHARE, as at filing: a director removing this cause meanwhile waits
            found = await uow.session.get(ClaimCause, code, with_for_update={"read": True})
            if found is None:
                await ensure_default_causes(uow)
                if await uow.session.get(ClaimCause, code) is None:
                    raise InvalidInput("cause", "not_found")
            values["cause"] = code
        if new_priority is not None and new_priority != claim.priority:
            if new_priority not in allowed_priorities(actor, claim):
                raise Conflict("priority_lower", priority=claim.priority)
            sla = await _read_sla(uow)
            due = claim.created_at + timedelta(days=sla[new_priority])
            values.update(
                priority=new_priority,
                due_at=due,
                escalation_level=min(claim.escalation_level, earned_level(claim, due, moment)),
            )
        if values:
            uow.apply(actor.id, claim, **values)
        view = await _view(uow, claim)
        await uow.commit()
    return view


async def notify_targets_on_raise(uow: UnitOfWork, claim: Claim, before: str) -> list[int]:
    """Who hears at once that a claim became urgent (raised from low or normal to high or
    critical): whoever would have heard had it been filed so; nobody otherwise."""
    if before in URGENT or claim.priority not in URGENT:
        return []
    return await notify_targets_on_file(uow, claim)
