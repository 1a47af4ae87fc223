"""Weighted forecast of the open deals, per expected close month.

Two figures per month:
- weighted: Σ amount × probability / 100, the deal's own probability or, where it has
  none, the default of its stage;
- historical: Σ amount × the share of closed deals that reached the deal's stage and were
  then won (all closed deals in the actor's reach, whenever they closed). A stage no
  closed deal ever reached contributes nothing.
Open deals without an expected close date are gathered under month None.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select

from crm.access import Actor
from crm.analytics.funnel import FUNNEL_STAGES, reached_counts
from crm.analytics.scope import Period, reach
from crm.models import Deal
from crm.models.enums import DEFAULT_PROBABILITY, OPEN_STAGES, DealStage
from crm.money import cents
from crm.uow import UnitOfWork

CENT = Decimal("0.01")


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
    mine = reach(actor, Deal.curator_id)
    won = int(
        await uow.session.scalar(
            select(func.count(Deal.id)).where(Deal.stage == DealStage.WON.value, mine)
        )
        or 0
    )
    rows = await uow.session.execute(
        select(Deal.reached_rank, func.count())
        .where(Deal.stage == DealStage.LOST.value, mine)
        .group_by(Deal.reached_rank)
    )
    reached = reached_counts([*rows, (FUNNEL_STAGES.index(DealStage.WON.value), won)])
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
    is_open = Deal.stage.in_([s.value for s in OPEN_STAGES])
    where = [is_open, reach(actor, Deal.curator_id)]
    if closing_in is not None:
        where += [
            Deal.expected_close >= closing_in.start,
            Deal.expected_close < closing_in.end,
        ]
    async with uow.read_only():
        # by day, in the order of the covering index ix_deals_open_forecast; months below
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
    per_month: dict[str | None, list[Decimal]] = {}
    counts: dict[str | None, int] = {}
    for stage, close, n, amount, weighted in rows:
        key = close.strftime("%Y-%m") if close is not None else None
        sums = per_month.setdefault(key, [Decimal(0)] * 3)
        amount = Decimal(str(amount))
        sums[0] += amount
        sums[1] += Decimal(str(weighted)) / 100
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
