"""Sales funnel: how many deals created in the period reached each stage.

A deal reached a stage if it is at that stage or a later one now, or a stage change
ever took it there or later — so a deal moved from lead straight to proposal counts as
having passed qualified, and a lost deal counts up to the furthest stage it reached
before being lost. That furthest stage is kept on the deal (`deals.reached_rank`, raised
by every move in crm/services/deals.py, backfilled from `deal_stage_changes` by
migration 0011), so the report is one GROUP BY over a covering index of the deals
created in the period; only one row per stage comes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, select

from crm.access import Actor
from crm.analytics.scope import reach
from crm.errors import InvalidInput
from crm.models import Deal, enums
from crm.models.enums import DealStage
from crm.uow import UnitOfWork

FUNNEL_STAGES = tuple(stage.value for stage in enums.FUNNEL_STAGES)


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


def stage_rank(column: Any) -> ColumnElement[int]:
    """enums.funnel_rank in SQL: 0 lead … 4 won; lost (and anything unknown) 0."""
    return case(
        *((column == stage, literal(i)) for i, stage in enumerate(FUNNEL_STAGES) if i),
        else_=literal(0),
    )


def furthest_rank() -> ColumnElement[int]:
    """The furthest stage a deal reached: its `reached_rank`, or its current stage where
    that is further (a deal written without its history, e.g. by an import)."""
    current = stage_rank(Deal.stage)
    return case((current > Deal.reached_rank, current), else_=Deal.reached_rank)


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
    is_lost = case((Deal.stage == DealStage.LOST.value, 1), else_=0)
    rank = furthest_rank()
    async with uow.read_only():
        rows = list(
            await uow.session.execute(
                select(rank, func.count(), func.sum(is_lost)).where(*where).group_by(rank)
            )
        )
    lost = sum(int(n or 0) for _rank, _count, n in rows)
    reached = reached_counts((rank, count) for rank, count, _lost in rows)
    steps = []
    for i, stage in enumerate(FUNNEL_STAGES):
        before = reached[i - 1] if i else 0
        steps.append(FunnelStep(stage, reached[i], reached[i] / before if i and before else None))
    return Funnel(start=start, end=end, created=reached[0], lost=lost, steps=steps)
