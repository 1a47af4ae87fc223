"""Sales funnel: how many deals created in the period reached each stage.

A deal reached a stage if it is at that stage or a later one now, or a stage change
ever took it there or later — so a deal moved from lead straight to proposal counts as
having passed qualified, and a lost deal counts up to the furthest stage it reached
before being lost. That furthest stage is kept on the deal (`deals.reached_rank`, raised
by every move in crm/services/deals/stages.py, backfilled from `deal_stage_changes` by
migration 0011), and the deals per curator, day (month) of creation, furthest stage and
lost or not are rolled up by triggers (crm/analytics/deal_rollups.py, migration 0014):
the report sums a few thousand rollup rows and the deals of the hours at the edges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm.access import Actor
from crm.analytics.deal_rollups import funnel_rows, furthest_rank, stage_rank
from crm.errors import InvalidInput
from crm.models import enums
from crm.uow import UnitOfWork

__all__ = ["FUNNEL_STAGES", "Funnel", "FunnelStep", "funnel_report", "furthest_rank", "stage_rank"]

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
    async with uow.read_only():
        rows = list(await uow.session.execute(funnel_rows(actor, start, end)))
    lost = sum(int(n or 0) for _rank, _count, n in rows)
    reached = reached_counts((rank, count) for rank, count, _lost in rows)
    steps = []
    for i, stage in enumerate(FUNNEL_STAGES):
        before = reached[i - 1] if i else 0
        steps.append(FunnelStep(stage, reached[i], reached[i] / before if i and before else None))
    return Funnel(start=start, end=end, created=reached[0], lost=lost, steps=steps)
