"""Reads: one deal, the open deals by stage (the pipeline), a company's
deals, a deal's stage history."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select

from crm.access import Actor
from crm.models import Deal, DealStageChange
from crm.models.enums import OPEN_STAGES, DealStage
from crm.money import cents
from crm.services import companies, deal_access
from crm.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class StageTotal:
    stage: DealStage
    count: int
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Pipeline:
    stages: list[StageTotal]  # every open stage, in pipeline order, zeros included
    deals: list[Deal]  # one page of open deals, by stage then expected close
    total: int  # open deals in all stages


async def get(uow: UnitOfWork, actor: Actor, deal_id: int, *, lines: bool = True) -> Deal:
    """The deal with its company and lines (and their products), inside an open unit of work.

    AccessDenied alike whether the deal is absent or out of the actor's reach.
    """
    return await deal_access.load(uow, actor, deal_id, lines=lines)


_STAGE_ORDER = case({s.value: i for i, s in enumerate(OPEN_STAGES)}, value=Deal.stage, else_=99)


async def open_by_stage(
    uow: UnitOfWork, actor: Actor, offset: int = 0, limit: int = 10
) -> Pipeline:
    scope = (Deal.stage.in_([s.value for s in OPEN_STAGES]), deal_access.visible(actor))
    async with uow.read_only():
        rows = await uow.session.execute(
            select(Deal.stage, func.count(), func.coalesce(func.sum(Deal.amount), 0))
            .where(*scope)
            .group_by(Deal.stage)
        )
        totals = {stage: (int(n), Decimal(str(s))) for stage, n, s in rows}
        page = await uow.session.scalars(
            select(Deal)
            .where(*scope)
            .order_by(_STAGE_ORDER, Deal.expected_close.is_(None), Deal.expected_close, Deal.id)
            .offset(offset)
            .limit(limit)
        )
        deals = list(page)
    stages = [
        StageTotal(
            s,
            totals.get(s.value, (0, Decimal(0)))[0],
            cents(totals.get(s.value, (0, Decimal(0)))[1]),
        )
        for s in OPEN_STAGES
    ]
    return Pipeline(stages=stages, deals=deals, total=sum(t.count for t in stages))


async def for_company(
    uow: UnitOfWork, actor: Actor, company_id: int, open_only: bool = True
) -> list[Deal]:
    async with uow.read_only():
        await companies.get(uow, actor, company_id)
        stmt = select(Deal).where(Deal.company_id == company_id)
        if open_only:
            stmt = stmt.where(Deal.stage.in_([s.value for s in OPEN_STAGES]))
        rows = await uow.session.scalars(stmt.order_by(Deal.created_at.desc(), Deal.id.desc()))
        return list(rows)


async def stage_history(uow: UnitOfWork, actor: Actor, deal_id: int) -> list[DealStageChange]:
    async with uow.read_only():
        await deal_access.load(uow, actor, deal_id)
        rows = await uow.session.scalars(
            select(DealStageChange)
            .where(DealStageChange.deal_id == deal_id)
            .order_by(DealStageChange.changed_at, DealStageChange.id)
        )
        return list(rows)
