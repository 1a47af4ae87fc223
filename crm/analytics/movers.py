"""Movers: the clients whose ABC or XYZ class changed since the previous period.

The previous period is the same number of whole months ending one month earlier: what
the same report said a month ago ("A → B: Romashka, −32 %"). A grouped query over the
monthly rollups of both periods at once (they share all but a month at each end) gives
each company in reach its stage and, per period, its value and its T and Q
(crm/analytics/abc_xyz.py); the two ABC rankings and XYZ classes are then made here
(`classify_abc`, `xyz_class`), and the names read for the movers shown only.
A client with sales in only one of the periods moves from or to no class (None). XYZ
classes are compared for regular clients only: the others have their stage in both.
The largest clients come first (by the larger of the two values).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select

from crm.access import Actor
from crm.analytics.abc_xyz import (
    ABC_THRESHOLDS,
    XYZ_CLASSES,
    XYZ_THRESHOLDS,
    AbcMetric,
    Months,
    amount,
    check_period,
    classify_abc,
    months_in_reach,
    row_value,
    sum_of_squares,
    xyz_class,
)
from crm.analytics.scope import Period
from crm.errors import InvalidInput
from crm.models import Company
from crm.uow import UnitOfWork


@dataclass(frozen=True)
class Mover:
    company_id: int
    name: str
    abc_before: str | None  # None: no sales in that period
    abc_after: str | None
    xyz_before: str | None  # X, Y or Z of a regular client; None for the others
    xyz_after: str | None
    before: Decimal  # the metric over the previous period
    after: Decimal

    @property
    def change(self) -> float | None:
        """after / before − 1; None when there was nothing before."""
        return float(self.after / self.before) - 1 if self.before > 0 else None

    @property
    def abc_changed(self) -> bool:
        return self.abc_before != self.abc_after

    @property
    def xyz_changed(self) -> bool:
        return self.xyz_before != self.xyz_after


@dataclass(frozen=True)
class MoversReport:
    period: Period
    previous: Period
    metric: AbcMetric
    count: int  # all movers; `movers` holds the first `top`
    movers: list[Mover]

    @property
    def empty(self) -> bool:
        return self.count == 0


def _shift(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def previous_period(period: Period) -> Period:
    return Period(_shift(period.start, -1), _shift(period.end, -1))


async def movers_report(
    uow: UnitOfWork,
    actor: Actor,
    period: Period,
    metric: AbcMetric = AbcMetric.REVENUE,
    *,
    top: int = 10,
    abc_thresholds: tuple[int, int, int] = ABC_THRESHOLDS,
    xyz_thresholds: tuple[int, int] = XYZ_THRESHOLDS,
) -> MoversReport:
    check_period(period)
    if not 1 <= top <= 100:
        raise InvalidInput("top", "out_of_range", min=1, max=100)
    previous = previous_period(period)
    rows = await _both_periods(uow, actor, previous, period, metric)
    found: list[dict[int, tuple[int, int, int]]] = [{}, {}]  # company -> (value, T, Q)
    stages: dict[int, str] = {}
    for cid, stage, *figures in rows:
        stages[cid] = stage
        for side in (0, 1):
            n, v, t, q = figures[side * 4 : side * 4 + 4]
            if n:  # some rollup row of that period: the company had sales in it
                found[side][cid] = (int(v), int(t), int(q))
    ids = sorted(found[0].keys() | found[1].keys())
    abc = [classify_abc({c: f[0] for c, f in side.items()}, abc_thresholds) for side in found]
    xyz = [{c: f[1:] for c, f in side.items()} for side in found]
    months = (previous.months, period.months)
    movers = []
    for cid in ids:  # a few thousand: only the movers become objects
        stage = stages[cid]
        v0, abc0 = abc[0].get(cid, (0, None))
        v1, abc1 = abc[1].get(cid, (0, None))
        x0, x1 = (
            cls if cls in XYZ_CLASSES else None
            for cls in (
                xyz_class(stage, months[side], *xyz[side].get(cid, (0, 0)), xyz_thresholds)
                for side in (0, 1)
            )
        )
        if abc0 != abc1 or x0 != x1:
            movers.append(
                Mover(cid, "", abc0, abc1, x0, x1, amount(metric, v0), amount(metric, v1))
            )
    movers.sort(key=lambda m: (-max(m.before, m.after), m.company_id))
    shown = movers[:top]
    if shown:
        async with uow.read_only():
            names = dict(
                (
                    await uow.session.execute(
                        select(Company.id, Company.name).where(
                            Company.id.in_([m.company_id for m in shown])
                        )
                    )
                ).all()
            )
        shown = [replace(m, name=names[m.company_id]) for m in shown]
    return MoversReport(period, previous, metric, len(movers), shown)


async def _both_periods(
    uow: UnitOfWork, actor: Actor, previous: Period, period: Period, metric: AbcMetric
) -> list[Any]:
    """One grouped pass over the rollup rows of both periods, which share all but a month
    at each end: per company in reach and part (0: the previous period only, 1: both,
    2: this period only), its rollup rows, value, T and Q, with one CASE per rollup row;
    then per company its stage and (rows, value, T, Q) of the previous period (parts 0 and
    1) and of this one (parts 1 and 2): one row per company comes back."""
    revenue = Months.revenue_cents
    part = case((Months.month < period.start, 0), (Months.month >= previous.end, 2), else_=1).label(
        "part"
    )
    async with uow.read_only():
        dialect = uow.session.get_bind().dialect.name
        per_part = (
            months_in_reach(
                actor,
                Period(previous.start, period.end),
                Months.company_id.label("company_id"),
                part,
                func.count().label("n"),
                func.sum(row_value(metric)).label("v"),
                func.sum(revenue).label("t"),
                sum_of_squares(dialect).label("q"),
            )
            .group_by(Months.company_id, part)
            .subquery()
        )
        sides = []
        for parts in ((0, 1), (1, 2)):  # the previous period; this one
            mine = per_part.c.part.in_(parts)
            sides += [
                func.sum(case((mine, per_part.c[figure]), else_=0))
                for figure in ("n", "v", "t", "q")
            ]
        return list(
            await uow.session.execute(
                select(per_part.c.company_id, Company.stage, *sides)
                .join(Company, Company.id == per_part.c.company_id)
                .group_by(per_part.c.company_id, Company.stage)
            )
        )
