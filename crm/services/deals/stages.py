"""The stage rules: which moves a card offers, who reopens and to which stage;
moving a deal, and the sale written on Won (deleted on reopen)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from crm import validation
from crm.access import Actor
from crm.errors import AccessDenied, Conflict
from crm.models import Deal, DealStageChange, Sale, utcnow
from crm.models.enums import (
    DEFAULT_PROBABILITY,
    OPEN_STAGES,
    CompanyStage,
    DealStage,
    Role,
    funnel_rank,
)
from crm.money import cents
from crm.services import deal_access, payments
from crm.services.deals.common import _lines_sum
from crm.services.deals.inputs import BLOCKING_APPROVALS
from crm.uow import UnitOfWork
from crm.when import to_local


async def _win(uow: UnitOfWork, actor: Actor, deal: Deal) -> None:
    blocked = [line.id for line in deal.lines if line.approval in BLOCKING_APPROVALS]
    if blocked:
        raise Conflict("discount_not_approved", line_ids=blocked)
    costs = [line.product.unit_cost for line in deal.lines]
    cost = (
        cents(
            sum(
                (line.quantity * line.product.unit_cost for line in deal.lines),  # type: ignore[operator]
                Decimal(0),
            )
        )
        if costs and None not in costs
        else None
    )
    company = deal.company
    sold_before = await uow.session.scalar(
        select(Sale.id).where(Sale.company_id == company.id).limit(1)
    )
    sale = Sale(
        company_id=company.id,
        deal_id=deal.id,
        manager_id=deal.curator_id,
        sold_on=to_local(utcnow(), actor.timezone).date(),  # the day it is where it was won
        amount=_lines_sum(deal.lines) if deal.lines else deal.amount,
        cost=cost,
        source="deal",
    )
    await payments.on_win(uow, deal, sale)
    uow.session.add(sale)
    await uow.flush()
    uow.audit_created(actor.id, sale)
    stage = CompanyStage.REGULAR if sold_before is not None else CompanyStage.ONE_TIME
    uow.apply(actor.id, company, stage=stage.value)


async def _unwin(uow: UnitOfWork, actor: Actor, deal: Deal) -> None:
    sale = await uow.session.scalar(select(Sale).where(Sale.deal_id == deal.id))
    if sale is not None:
        uow.audit(actor.id, sale, "delete", {k: [v, None] for k, v in sale.as_dict().items()})
        await uow.session.delete(sale)


REOPEN_ROLES = (Role.HEAD, Role.DIRECTOR)
REOPEN_FALLBACK = DealStage.NEGOTIATION  # a closed deal whose history does not say


@dataclass(frozen=True)
class StageMoves:
    """The stage buttons a deal card may offer this actor (None/False: no such button)."""

    back: DealStage | None = None  # the previous open stage
    forward: DealStage | None = None  # the next open stage
    close: bool = False  # Won and Lost
    reopen: DealStage | None = None  # a closed deal: where Reopen takes it


def may_reopen(actor: Actor) -> bool:
    """Won and lost are final for managers: a head or a director reopens a closed deal."""
    return actor.role in REOPEN_ROLES


def reopen_stage(stage: str | DealStage, history: Sequence[DealStageChange]) -> DealStage:
    """The open stage a closed deal returns to: the stage it was closed from (the newest
    change into its closed stage; `history` newest first), else negotiation."""
    current = DealStage(stage)
    for change in history:
        if change.to_stage == current.value and change.from_stage:
            before = DealStage(change.from_stage)
            if not before.is_closed:
                return before
    return REOPEN_FALLBACK


def allowed_moves(actor: Actor, deal: Deal, history: Sequence[DealStageChange] = ()) -> StageMoves:
    """What the stage buttons of a deal card offer: an open deal moves one stage either
    way, is won or lost; a closed deal is reopened (heads, directors) to `reopen_stage`
    of its `history` (newest first), or nothing."""
    current = DealStage(deal.stage)
    if current.is_closed:
        if not may_reopen(actor):
            return StageMoves()
        return StageMoves(reopen=reopen_stage(current, history))
    index = OPEN_STAGES.index(current)
    return StageMoves(
        back=OPEN_STAGES[index - 1] if index > 0 else None,
        forward=OPEN_STAGES[index + 1] if index + 1 < len(OPEN_STAGES) else None,
        close=True,
    )


def move_target(
    stage: str | DealStage, lost_reason: str | None = None
) -> tuple[DealStage, str | None]:
    """The validated target stage, and the reason a lost deal needs."""
    target = validation.choice("stage", stage, DealStage)
    reason = None
    if target is DealStage.LOST:
        reason = validation.text("lost_reason", lost_reason, max_len=validation.TEXT_MAX)
    return target, reason


async def load_for_move(
    uow: UnitOfWork, actor: Actor, deal_id: int, target: DealStage, *, lines: bool = False
) -> Deal:
    """The visible deal, locked; its lines loaded when winning needs them (or `lines`)."""
    return await deal_access.load(
        uow, actor, deal_id, lock=True, lines=lines or target is DealStage.WON
    )


async def apply_move(
    uow: UnitOfWork, actor: Actor, deal: Deal, target: DealStage, reason: str | None
) -> bool:
    """Move a loaded deal inside an open unit of work; False if it is already there."""
    current = DealStage(deal.stage)
    if target is current:
        return False
    if current.is_closed:
        if target.is_closed:
            raise Conflict("deal_closed", stage=current.value)
        if not may_reopen(actor):
            raise AccessDenied("deal")
    if current is DealStage.WON:
        await _unwin(uow, actor, deal)
    if target is DealStage.WON:
        await _win(uow, actor, deal)
    uow.apply(
        actor.id,
        deal,
        stage=target.value,
        probability=DEFAULT_PROBABILITY[target],
        closed_at=utcnow() if target.is_closed else None,
        lost_reason=reason,
    )
    # derived from the stage history (the funnel reads it), so not audited on its own
    deal.reached_rank = max(deal.reached_rank or 0, funnel_rank(target.value))
    uow.session.add(
        DealStageChange(
            deal_id=deal.id,
            from_stage=current.value,
            to_stage=target.value,
            manager_id=actor.id,
        )
    )
    return True


async def move(
    uow: UnitOfWork,
    actor: Actor,
    deal_id: int,
    stage: str | DealStage,
    lost_reason: str | None = None,
) -> Deal:
    """Move a deal to `stage`; the deal returned has its lines loaded only when it was won."""
    target, reason = move_target(stage, lost_reason)
    async with uow:
        # the lines matter only to winning; a move between open stages spares their query
        deal = await load_for_move(uow, actor, deal_id, target)
        if await apply_move(uow, actor, deal, target, reason):
            await uow.commit()
    return deal
