"""Claims: the status machine (new → investigating → resolved / rejected)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from crm import validation
from crm.access import Actor, require_role
from crm.errors import Conflict, InvalidInput
from crm.models import utcnow
from crm.models.enums import ClaimStatus, TaskStatus
from crm.services.claims.common import CLOSED_STATUSES, REOPEN_ROLES, TRANSITIONS, ClaimView
from crm.services.claims.loading import _load, _plan, _view
from crm.uow import UnitOfWork


def allowed_transitions(actor: Actor, status: str) -> list[str]:
    """What the status buttons of a card may offer this actor."""
    targets = TRANSITIONS.get(ClaimStatus(status), frozenset())
    if status in CLOSED_STATUSES and actor.role not in REOPEN_ROLES:
        return []
    return sorted(targets)


async def change_status(
    uow: UnitOfWork,
    actor: Actor,
    claim_id: int,
    status: str,
    *,
    resolution: str | None = None,
    compensation: Decimal | str | None = None,
    override: bool = False,
    now: datetime | None = None,
) -> ClaimView:
    """Move a claim along new → investigating → resolved / rejected.

    Resolving and rejecting need a resolution text (what was done, or why the claim is
    unfounded). Resolving is refused while plan tasks are open unless a head or director
    passes `override=True`; the open tasks are then cancelled and the override audited.
    A closed claim can be reopened (to investigating) by a head or director only.
    """
    target = validation.choice("status", status, ClaimStatus).value
    closing = target in CLOSED_STATUSES
    text = (
        validation.text("resolution", resolution, max_len=validation.TEXT_MAX) if closing else None
    )
    amount = validation.money("compensation", compensation, allow_none=True)
    if amount is not None and target != ClaimStatus.RESOLVED:
        raise InvalidInput("compensation", "not_allowed")
    moment = now or utcnow()
    async with uow:
        claim = await _load(uow, actor, claim_id, lock=True)
        current = claim.status
        if target not in TRANSITIONS[ClaimStatus(current)] or (
            current in CLOSED_STATUSES and actor.role not in REOPEN_ROLES
        ):
            raise Conflict("transition", from_status=current, to_status=target)
        open_tasks = [t for t in await _plan(uow, claim.id) if t.status == TaskStatus.OPEN]
        overridden = False
        if target == ClaimStatus.RESOLVED and open_tasks:
            if not override:
                raise Conflict("open_tasks", count=len(open_tasks))
            require_role(actor, *REOPEN_ROLES, entity="override")
            overridden = True
        values: dict[str, Any] = {"status": target}
        if closing:
            values.update(resolution=text, resolved_at=moment)
            if amount is not None:
                values["compensation"] = amount
        else:
            values.update(resolved_at=None)
            if current in CLOSED_STATUSES:  # reopened: the escalation level stays as it was,
                values.update(resolution=None)  # so nobody is told twice of the same breach
        uow.apply(actor.id, claim, **values)
        if overridden:
            uow.audit(
                actor.id, claim, "override", {"open_tasks": [None, [t.id for t in open_tasks]]}
            )
        if closing:
            for task in open_tasks:
                uow.apply(actor.id, task, status=TaskStatus.CANCELLED.value)
        view = await _view(uow, claim)
        await uow.commit()
    return view
