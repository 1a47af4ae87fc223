"""Sales funnel: how many deals created in the period reached each stage.

A deal reached a stage if it is at that stage or a later one now, or a stage change
(`deal_stage_changes`) ever took it there or later — so a deal moved from lead straight
to proposal counts as having passed qualified, and a lost deal counts up to the furthest
stage it reached before being lost. The furthest stage of each deal is a MAX over a
UNION ALL of its current stage and its changes, aggregated in SQL; only one row per stage
comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, select, union_all

from crm.access import Actor
from crm.analytics.scope import reach
from crm.errors import InvalidInput
from crm.models import Deal, DealStageChange
from crm.models.enums import DealStage
from crm.uow import UnitOfWork

FUNNEL_STAGES = (
    DealStage.LEAD.value,
    DealStage.QUALIFIED.value,
    DealStage.PROPOSAL.value,
    DealStage.NEGOTIATION.value,
    DealStage.WON.value,
)


def stage_rank(column: Any) -> ColumnElement[int]:
    """0 lead … 4 won; lost (and anything unknown) ranks as lead: reached nothing more."""
    return case(
        *((column == stage, literal(i)) for i, stage in enumerate(FUNNEL_STAGES) if i),
        else_=literal(0),
    )


@dataclass(frozen=True)
class FunnelStep:
    stage: str
    reached: int
    conversion: float | None  # from the previous stage; None for the first or when 0 before


@dataclass(frozen=True)
class Funnel:
    start: datetime
    end: datetime
    created: int
    lost: int
    steps: list[FunnelStep]

    @property
    def empty(self) -> bool:
        return self.created == 0


def furthest_stage(*where: ColumnElement[bool]) -> Any:
    """A subquery (deal_id, rank): the furthest funnel stage of each deal matching `where`."""
    current = select(Deal.id.label("deal_id"), stage_rank(Deal.stage).label("rank")).where(*where)
    changed = (
        select(DealStageChange.deal_id.label("deal_id"), stage_rank(DealStageChange.to_stage))
        .join(Deal, Deal.id == DealStageChange.deal_id)
        .where(*where)
    )
    both = union_all(current, changed).subquery()
    return (
        select(both.c.deal_id, func.max(both.c.rank).label("rank"))
        .group_by(both.c.deal_id)
        .subquery()
    )


def reached_counts(rows: Any) -> list[int]:
    """From (rank, deals) rows: deals that reached each stage (rank ≥ stage)."""
    at = [0] * len(FUNNEL_STAGES)
    for rank, count in rows:
        at[int(rank)] += int(count)
    return [sum(at[i:]) for i in range(len(at))]


async def funnel_report(uow: UnitOfWork, actor: Actor, start: datetime, end: datetime) -> Funnel:
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("period", "naive_datetime")
    if end <= start:
        raise InvalidInput("period", "empty")
    where = (Deal.created_at >= start, Deal.created_at < end, reach(actor, Deal.curator_id))
    furthest = furthest_stage(*where)
    async with uow.read_only():
        rows = list(
            await uow.session.execute(
                select(furthest.c.rank, func.count()).group_by(furthest.c.rank)
            )
        )
        lost = await uow.session.scalar(
            select(func.count(Deal.id)).where(*where, Deal.stage == DealStage.LOST.value)
        )
    reached = reached_counts(rows)
    steps = []
    for i, stage in enumerate(FUNNEL_STAGES):
        before = reached[i - 1] if i else 0
        steps.append(FunnelStep(stage, reached[i], reached[i] / before if i and before else None))
    return Funnel(start=start, end=end, created=reached[0], lost=int(lost or 0), steps=steps)
