"""Weighted forecast of the open deals, per expected close month.

Two figures per month:
- weighted: Σ amount × probability / 100, the deal's own probability or, where it has
  none, the default of its stage;
- historical: Σ amount × the share of closed deals that reached the deal's stage and were
  then won (all closed deals in the actor's reach, whenever they closed). A stage no
  closed deal ever reached contributes nothing.
Open deals without an expected close date are gathered under month None.
Both are summed from `deal_pipeline` (deals per curator, stage, reached rank and close
month, kept by triggers: crm/analytics/deal_rollups.py), a few hundred rows; only a
closing period that is not whole months reads the deals.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from crm.access import Actor
from crm.analytics.deal_rollups import close_month_of
from crm.analytics.funnel import FUNNEL_STAGES, reached_counts
from crm.analytics.scope import Period, reach
from crm.models import Deal
from crm.models import DealPipeline as Pipeline
from crm.models.enums import DEFAULT_PROBABILITY, OPEN_STAGES, DealStage
from crm.money import cents
from crm.uow import UnitOfWork

CENT = Decimal("0.01")
OPEN = [stage.value for stage in OPEN_STAGES]


@dataclass(frozen=True)
class ForecastMonth:
    month: str | None  # "2026-05"; None: no expected close date
    deals: int
    amount: Decimal
    weighted: Decimal
    historical: Decimal


@dataclass(frozen=True)
class Forecast:
    months: list[ForecastMonth]  # in order, no-date last
    stage_conversion: dict[str, float | None]  # open stage -> historical share won
    amount: Decimal
    weighted: Decimal
    historical: Decimal

    @property
    def empty(self) -> bool:
        return not self.months

    def month(self, key: str) -> ForecastMonth | None:
        return next((m for m in self.months if m.month == key), None)


def _probability() -> object:
    default = case(
        *((Deal.stage == stage.value, DEFAULT_PROBABILITY[stage]) for stage in OPEN_STAGES),
        else_=0,
    )
    return func.coalesce(Deal.probability, default)


async def stage_conversion(uow: UnitOfWork, actor: Actor) -> dict[str, float | None]:
    """Open stage -> share of the closed deals that reached it and were won.

    A won deal reached every stage; a lost deal reached its `reached_rank` (the furthest
    stage it was moved to before being lost)."""
    mine = reach(actor, Pipeline.curator_id)
    won = 0
    lost: list[tuple[int, int]] = []
    for stage, rank, n in await uow.session.execute(
        select(Pipeline.stage, Pipeline.reached_rank, func.sum(Pipeline.deals))
        .where(Pipeline.stage.in_([DealStage.WON.value, DealStage.LOST.value]), mine)
        .group_by(Pipeline.stage, Pipeline.reached_rank)
    ):
        if stage == DealStage.WON.value:
            won += int(n)
        else:
            lost.append((int(rank), int(n)))
    reached = reached_counts([*lost, (FUNNEL_STAGES.index(DealStage.WON.value), won)])
    won = reached[FUNNEL_STAGES.index(DealStage.WON.value)]  # as before: ever reached won
    conversion: dict[str, float | None] = {}
    for stage in OPEN_STAGES:
        reached_stage = reached[FUNNEL_STAGES.index(stage.value)]
        conversion[stage.value] = won / reached_stage if reached_stage else None
    return conversion


async def forecast_report(
    uow: UnitOfWork, actor: Actor, *, closing_in: Period | None = None
) -> Forecast:
    """`closing_in`: only the deals expected to close in that period (the digest's month)."""
    if closing_in is not None and not _whole_months(closing_in):
        return await _forecast_from_deals(uow, actor, closing_in)
    where = [Pipeline.stage.in_(OPEN), reach(actor, Pipeline.curator_id)]
    if closing_in is not None:
        where += [
            Pipeline.close_month >= closing_in.start,
            Pipeline.close_month < closing_in.end,
        ]
    async with uow.read_only():
        rows = [
            (
                stage,
                close_month_of(month),
                n,
                Decimal(int(amount)) / 100,
                Decimal(int(weighted)) / 10000,  # Σ cents × percent
            )
            for stage, month, n, amount, weighted in await uow.session.execute(
                select(
                    Pipeline.stage,
                    Pipeline.close_month,
                    func.sum(Pipeline.deals),
                    func.sum(Pipeline.amount_cents),
                    func.sum(Pipeline.weighted),
                )
                .where(*where)
                .group_by(Pipeline.stage, Pipeline.close_month)
            )
        ]
        conversion = await stage_conversion(uow, actor) if rows else {}
    return _forecast(rows, conversion)


def _whole_months(period: Period) -> bool:
    return period.start.day == 1 and period.end.day == 1


async def _forecast_from_deals(uow: UnitOfWork, actor: Actor, closing_in: Period) -> Forecast:
    """The forecast of deals closing in a period that is not whole months, from the deals
    (a few days of them) through the covering index ix_deals_open_forecast."""
    where = [
        Deal.stage.in_(OPEN),
        reach(actor, Deal.curator_id),
        Deal.expected_close >= closing_in.start,
        Deal.expected_close < closing_in.end,
    ]
    async with uow.read_only():
        rows = list(
            await uow.session.execute(
                select(
                    Deal.stage,
                    Deal.expected_close,
                    func.count(Deal.id),
                    func.coalesce(func.sum(Deal.amount), 0),
                    func.coalesce(func.sum(Deal.amount * _probability()), 0),
                )
                .where(*where)
                .group_by(Deal.stage, Deal.expected_close)
            )
        )
        conversion = await stage_conversion(uow, actor) if rows else {}
    return _forecast(
        [
            (stage, close, n, amount, Decimal(str(weighted)) / 100)
            for stage, close, n, amount, weighted in rows
        ],
        conversion,
    )


def _forecast(rows: list[Any], conversion: dict[str, float | None]) -> Forecast:
    """From (stage, close date or None, deals, amount, weighted amount) rows."""
    per_month: dict[str | None, list[Decimal]] = {}
    counts: dict[str | None, int] = {}
    for stage, close, n, amount, weighted in rows:
        key = close.strftime("%Y-%m") if close is not None else None
        sums = per_month.setdefault(key, [Decimal(0)] * 3)
        amount = Decimal(str(amount))
        sums[0] += amount
        sums[1] += Decimal(str(weighted))
        sums[2] += amount * Decimal(str(conversion.get(stage) or 0))
        counts[key] = counts.get(key, 0) + int(n)
    months = [
        ForecastMonth(
            key,
            counts[key],
            *(cents(value) for value in per_month[key]),
        )
        for key in sorted(per_month, key=lambda k: (k is None, k or ""))
    ]
    return Forecast(
        months=months,
        stage_conversion=conversion,
        amount=sum((m.amount for m in months), Decimal(0)),
        weighted=sum((m.weighted for m in months), Decimal(0)),
        historical=sum((m.historical for m in months), Decimal(0)),
    )
