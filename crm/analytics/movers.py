"""Movers: the clients whose ABC or XYZ class changed since the previous period.

The previous period is the same number of whole months ending one month earlier: what
the same report said a month ago ("A → B: Romashka, −32 %"). A grouped query over the
monthly rollups of both periods at once (they share all but a month at each end) gives
each company in reach its stage and, per period, its value and its T and Q
(crm/analytics/abc_xyz.py). The same statement ranks both periods (window sums; a
company with no sales in a period has a value of 0 there, and no class), classes them
(crm/analytics/classes.py), keeps the movers and returns the first `top` with their
names and the count of all: a handful of rows whatever the number of companies.
A client with sales in only one of the periods moves from or to no class (None). XYZ
classes are compared for regular clients only: the others have their stage in both.
The largest clients come first (by the larger of the two values).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Subquery, and_, case, func, or_, select

from crm.access import Actor
from crm.analytics import classes
from crm.analytics.abc_xyz import (
    ABC_THRESHOLDS,
    XYZ_THRESHOLDS,
    AbcMetric,
    Months,
    amount,
    check_period,
    check_thresholds,
    check_xyz_thresholds,
    months_in_reach,
    row_value,
    sum_of_squares,
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
    edges = check_thresholds(abc_thresholds)
    xyz_thresholds = check_xyz_thresholds(xyz_thresholds)
    if not 1 <= top <= 100:
        raise InvalidInput("top", "out_of_range", min=1, max=100)
    previous = previous_period(period)
    async with uow.read_only():
        sides = _both_periods(actor, previous, period, metric, uow.session.get_bind().dialect.name)
        ranked = (
            select(
                sides,
                Company.stage,
                *classes.ranked(sides, "v0", "company_id", prefix="p"),
                *classes.ranked(sides, "v1", "company_id", prefix="c"),
            )
            .join(Company, Company.id == sides.c.company_id)
            .subquery("r")
        )
        r = ranked.c
        classed = select(
            r.company_id,
            r.v0,
            r.v1,
            case((r.n0 > 0, classes.abc_of(r.v0, r.pcum, r.ptotal, edges))).label("abc0"),
            case((r.n1 > 0, classes.abc_of(r.v1, r.ccum, r.ctotal, edges))).label("abc1"),
            classes.regular_xyz(r.stage, previous.months, r.t0, r.q0, xyz_thresholds).label("x0"),
            classes.regular_xyz(r.stage, period.months, r.t1, r.q1, xyz_thresholds).label("x1"),
        ).subquery("c")
        c = classed.c
        larger = case((c.v0 > c.v1, c.v0), else_=c.v1)
        rows = list(
            await uow.session.execute(
                select(
                    c.company_id,
                    Company.name,
                    c.abc0,
                    c.abc1,
                    c.x0,
                    c.x1,
                    c.v0,
                    c.v1,
                    func.count().over().label("movers"),
                )
                .join(Company, Company.id == c.company_id)
                .where(or_(c.abc0.is_distinct_from(c.abc1), c.x0.is_distinct_from(c.x1)))
                .order_by(larger.desc(), c.company_id)
                .limit(top)
            )
        )
    shown = [
        Mover(cid, name, abc0, abc1, x0, x1, amount(metric, v0), amount(metric, v1))
        for cid, name, abc0, abc1, x0, x1, v0, v1, _ in rows
    ]
    return MoversReport(period, previous, metric, int(rows[0].movers) if rows else 0, shown)


def _both_periods(
    actor: Actor, previous: Period, period: Period, metric: AbcMetric, dialect: str
) -> Subquery:
    """One grouped pass over the rollup rows of both periods, which share all but a month
    at each end: per company in reach, its rollup rows, value, T and Q of the previous
    period (n0, v0, t0, q0) and of this one (n1, v1, t1, q1), each an aggregate with a
    FILTER on the month (0 where the company sold nothing). Grouping by company and part
    of the span first, then adding the parts up, took twice as long on both databases."""
    figures: list[Any] = []
    for side, (start, end) in enumerate(
        ((previous.start, previous.end), (period.start, period.end))
    ):
        mine = and_(Months.month >= start, Months.month < end)
        figures += [
            func.count().filter(mine).label(f"n{side}"),
            *(
                func.coalesce(aggregate.filter(mine), 0).label(f"{name}{side}")
                for name, aggregate in (
                    ("v", func.sum(row_value(metric))),
                    ("t", func.sum(Months.revenue_cents)),
                    ("q", sum_of_squares(dialect)),
                )
            ),
        ]
    return (
        months_in_reach(
            actor,
            Period(previous.start, period.end),
            Months.company_id.label("company_id"),
            *figures,
        )
        .group_by(Months.company_id)
        .subquery("sides")
    )
