"""ABC and XYZ analysis of clients and the ABC×XYZ matrix, from the monthly sales rollups.

Every figure comes from `sales_company_months` (crm/analytics/rollups.py), joined to the
companies in the actor's reach: a year of a million sales is a few tens of thousands of
rollup rows. Periods are whole calendar months. Money is summed in whole cents.

ABC ranks the companies by a value over the period (revenue, margin = revenue − cost,
or the number of sales), summed per company in SQL, in descending order (ties: lower
company id first); the reports rank and class in SQL too (window sums,
crm/analytics/classes.py) and read back only the rows they show, while `classify_abc`
does the same in Python for the holdings (crm/analytics/holdings.py). A company is in
A while the cumulative share *before* it is below
the A threshold (80 % by default), so the company that crosses the line is still A;
in B while it is below A + B (95 %); else C.

XYZ: a client that is not regular gets its relationship stage (potential, one_time,
lost). A regular client is X, Y or Z by the coefficient of variation of its monthly
purchases over the N months of the period, months without purchases counting as zero.
With T = Σ monthly sums and Q = Σ squares of the monthly sums (zero months add nothing
to either), mean = T/N and population variance = Q/N − (T/N)², so
CV² = (N·Q − T²) / T². SQL sums T and Q per company and the reports class in SQL
(crm/analytics/classes.py: N·Q·10⁴ ≤ T²·(10⁴ + t²), no division, no square root, in
double precision); `xyz_class` compares 10000·(N·Q − T²) with t²·T² in Python for the
holdings. X: CV ≤ 10 %, Y: ≤ 25 %, else Z; a regular client with no purchases in the
period is Z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    SQLColumnExpression,
    Subquery,
    and_,
    cast,
    func,
    or_,
    select,
)

from crm.access import Actor
from crm.analytics import classes
from crm.analytics.scope import Period, reach
from crm.analytics.scope import from_cents as money
from crm.errors import InvalidInput
from crm.models import Company, CompanySalesMonth
from crm.models.enums import CompanyStage
from crm.money import cents as to_cents
from crm.uow import UnitOfWork

ABC_CLASSES = ("A", "B", "C")
XYZ_CLASSES = ("X", "Y", "Z")
STAGE_COLUMNS = (
    CompanyStage.ONE_TIME.value,
    CompanyStage.POTENTIAL.value,
    CompanyStage.LOST.value,
)
XYZ_COLUMNS = XYZ_CLASSES + STAGE_COLUMNS
ABC_THRESHOLDS = (80, 15, 5)
XYZ_THRESHOLDS = (10, 25)
Months = CompanySalesMonth


class AbcMetric(StrEnum):
    REVENUE = "revenue"
    MARGIN = "margin"
    COUNT = "count"


@dataclass(frozen=True)
class AbcCompany:
    company_id: int
    name: str
    value: Decimal
    share: float  # of the total, 0..1
    cumulative: float  # cumulative share including this company, 0..1
    abc: str


@dataclass(frozen=True)
class AbcClass:
    abc: str
    companies: int
    value: Decimal
    share: float


@dataclass(frozen=True)
class AbcReport:
    period: Period
    metric: AbcMetric
    total: Decimal
    companies: int
    classes: list[AbcClass]  # A, B, C, zeros included
    top: list[AbcCompany]  # highest value first

    @property
    def empty(self) -> bool:
        return self.companies == 0


@dataclass(frozen=True)
class XyzCompany:
    company_id: int
    name: str
    total: Decimal
    mean: Decimal
    cv: float | None  # None when nothing was bought in the period
    xyz: str


@dataclass(frozen=True)
class XyzReport:
    period: Period
    months: int
    counts: dict[str, int]  # X, Y, Z, one_time, potential, lost: zeros included
    regular: list[XyzCompany]  # regular clients, most stable first

    @property
    def empty(self) -> bool:
        return sum(self.counts.values()) == 0


@dataclass(frozen=True)
class AbcXyzMatrix:
    period: Period
    metric: AbcMetric
    cells: dict[tuple[str, str], int]  # (A..C, X..Z or a stage) -> companies; zeros included

    @property
    def empty(self) -> bool:
        return sum(self.cells.values()) == 0


def check_thresholds(thresholds: tuple[int, int, int]) -> tuple[int, int]:
    a, b, c = thresholds
    if min(a, b, c) < 0 or a + b + c != 100 or a == 0:
        raise InvalidInput("thresholds", "invalid")
    return a, a + b


def check_xyz_thresholds(thresholds: tuple[int, int]) -> tuple[int, int]:
    x, y = thresholds
    if not 0 < x <= y:
        raise InvalidInput("thresholds", "invalid")
    return x, y


def check_period(period: Period) -> None:
    """The rollups are monthly: a report's period is whole calendar months."""
    if period.start.day != 1 or period.end.day != 1:
        raise InvalidInput("period", "not_whole_months")


def row_value(metric: AbcMetric) -> SQLColumnExpression[Any]:
    """The metric of one rollup row (cents, or a number of sales)."""
    if metric is AbcMetric.REVENUE:
        return Months.revenue_cents
    if metric is AbcMetric.MARGIN:
        return Months.revenue_cents - Months.cost_cents
    return Months.sales


def value_of(metric: AbcMetric) -> ColumnElement[Any]:
    return func.sum(row_value(metric))


def months_in_reach(
    actor: Actor, period: Period, *columns: Any, companies: bool = False
) -> Select[Any]:
    """Rollup rows of the period for the companies the actor sees. A director sees all:
    the companies are joined for them only when `companies` says a column needs them."""
    query = (
        select(*columns)
        .select_from(Months)
        .where(Months.month >= period.start, Months.month < period.end)
    )
    if actor.is_director and not companies:
        return query
    return query.join(Company, Company.id == Months.company_id).where(
        reach(actor, Company.curator_id)
    )


def sum_of_squares(dialect: str, column: ColumnElement[Any] | None = None) -> ColumnElement[Any]:
    """Σ revenue_cents² over rollup rows, as a float (double precision) on both databases.

    Integer squares would stop with an error past 2⁶³ (a month of 30 million), and
    PostgreSQL's NUMERIC, exact, made the reports that read Q two to three times slower
    (movers 240 → 100 ms at a million sales). The float is exact up to 2⁵³ (monthly
    purchases up to about 270,000.00 over a year) and off by a few parts in 10¹⁶ beyond,
    which only matters on an exact tie with a threshold (crm/analytics/classes.py).
    `column`: another expression of revenue cents instead of `revenue_cents`.
    """
    value: Any = Months.revenue_cents if column is None else column
    if dialect == "sqlite":
        return func.total(value * value)
    return func.sum(cast(value, Float) * value)


def xyz_stats(actor: Actor, period: Period, dialect: str) -> Subquery:
    """company_id, t, q: Σ monthly revenue and Σ its squares (cents) per company with sales."""
    return (
        months_in_reach(
            actor,
            period,
            Months.company_id.label("company_id"),
            func.sum(Months.revenue_cents).label("t"),
            sum_of_squares(dialect).label("q"),
        )
        .group_by(Months.company_id)
        .subquery()
    )


def cv_of(months: int, t: int, q: int) -> float | None:
    return math.sqrt(max(months * q - t * t, 0)) / t if t > 0 else None


def mean_of(cents: int, months: int) -> Decimal:
    return to_cents(Decimal(cents) / months / 100)


def amount(metric: AbcMetric, value: Any) -> Decimal:
    return Decimal(int(value or 0)) if metric is AbcMetric.COUNT else money(value)


async def abc_report(
    uow: UnitOfWork,
    actor: Actor,
    period: Period,
    metric: AbcMetric = AbcMetric.REVENUE,
    *,
    thresholds: tuple[int, int, int] = ABC_THRESHOLDS,
    top: int = 10,
) -> AbcReport:
    """Ranked and classed in SQL (crm/analytics/classes.py): back come the first `top`
    companies with their names and, for each class, its first company with the class's
    count and sum: a dozen rows whatever the number of companies."""
    check_period(period)
    edges = check_thresholds(thresholds)
    if not 1 <= top <= 100:
        raise InvalidInput("top", "out_of_range", min=1, max=100)
    values = (
        months_in_reach(
            actor, period, Months.company_id.label("company_id"), value_of(metric).label("v")
        )
        .group_by(Months.company_id)
        .subquery("v")
    )
    r = select(
        values.c.company_id, values.c.v, *classes.ranked(values, "v", "company_id", rank=True)
    ).subquery("r")
    c = select(r, classes.abc_of(r.c.v, r.c.cum, r.c.total, edges).label("abc")).subquery("c")
    whole_class: dict[str, Any] = {  # one window, one sort: the class's rows in rank order
        "partition_by": c.c.abc,
        "order_by": c.c.rank,
        "rows": (None, None),
    }
    per_class = select(
        c,
        func.count().over(**whole_class).label("n"),
        func.sum(c.c.v).over(**whole_class).label("class_v"),
        func.row_number().over(**whole_class).label("first"),
    ).subquery("k")
    query = (
        select(per_class, Company.name)
        .join(Company, Company.id == per_class.c.company_id)
        .where(or_(per_class.c.rank <= top, per_class.c.first == 1))
        .order_by(per_class.c.rank)
    )
    async with uow.read_only():
        rows = list(await uow.session.execute(query))
    total = int(rows[0].total) if rows else 0

    def share(value: Any) -> float:
        return int(value) / total if total > 0 else 0.0

    counts = {abc: (0, 0) for abc in ABC_CLASSES}
    for row in rows:
        counts[row.abc] = (int(row.n), int(row.class_v))
    return AbcReport(
        period=period,
        metric=metric,
        total=amount(metric, total),
        companies=sum(n for n, _ in counts.values()),
        classes=[AbcClass(abc, n, amount(metric, v), share(v)) for abc, (n, v) in counts.items()],
        top=[
            AbcCompany(
                row.company_id,
                row.name,
                amount(metric, row.v),
                share(row.v),
                share(row.cum),
                row.abc,
            )
            for row in rows
            if row.rank <= top
        ],
    )


async def xyz_report(
    uow: UnitOfWork,
    actor: Actor,
    period: Period,
    *,
    thresholds: tuple[int, int] = XYZ_THRESHOLDS,
    top: int = 10,
) -> XyzReport:
    """Classed in SQL (crm/analytics/classes.py): back come the first `top` regular clients
    (most stable first, then the largest) and, for each column, its first company with
    the column's count."""
    check_period(period)
    thresholds = check_xyz_thresholds(thresholds)
    if not 1 <= top <= 100:
        raise InvalidInput("top", "out_of_range", min=1, max=100)
    n = period.months
    counts = dict.fromkeys(XYZ_COLUMNS, 0)
    async with uow.read_only():
        stats = xyz_stats(actor, period, uow.session.get_bind().dialect.name)
        xyz = classes.xyz_of(Company.stage, n, stats.c.t, stats.c.q, thresholds)
        t, q = func.coalesce(stats.c.t, 0), func.coalesce(stats.c.q, 0)
        c = (
            select(
                Company.id.label("company_id"),
                Company.name,
                t.label("revenue"),
                q.label("squares"),
                xyz.label("xyz"),
            )
            .outerjoin(stats, stats.c.company_id == Company.id)
            .where(reach(actor, Company.curator_id))
            .subquery("c")
        )
        order = (classes.xyz_rank(c.c.xyz), c.c.revenue.desc(), c.c.company_id)
        column: dict[str, Any] = {"partition_by": c.c.xyz, "order_by": order, "rows": (None, None)}
        ranked = select(
            c,
            func.count().over(**column).label("n"),
            func.row_number().over(order_by=order).label("rank"),
            func.row_number().over(**column).label("first"),
        ).subquery("k")
        rows = list(
            await uow.session.execute(
                select(ranked)
                .where(
                    or_(
                        and_(ranked.c.rank <= top, ranked.c.xyz.in_(XYZ_CLASSES)),
                        ranked.c.first == 1,
                    )
                )
                .order_by(ranked.c.rank)
            )
        )
    regular = []
    for row in rows:
        counts[row.xyz] = int(row.n)
        if row.rank <= top and row.xyz in XYZ_CLASSES:
            total, squares = int(row.revenue), int(row.squares)
            regular.append(
                XyzCompany(
                    row.company_id,
                    row.name,
                    money(total),
                    mean_of(total, n),
                    cv_of(n, total, squares),
                    row.xyz,
                )
            )
    return XyzReport(period=period, months=n, counts=counts, regular=regular)


async def abc_xyz_matrix(
    uow: UnitOfWork,
    actor: Actor,
    period: Period,
    metric: AbcMetric = AbcMetric.REVENUE,
    *,
    abc_thresholds: tuple[int, int, int] = ABC_THRESHOLDS,
    xyz_thresholds: tuple[int, int] = XYZ_THRESHOLDS,
) -> AbcXyzMatrix:
    """Companies per ABC×XYZ cell: those with sales in the period (they have an ABC class).
    Grouped per company, then joined to the companies (one lookup per company, not per
    rollup row), ranked and classed in SQL: the cells' counts come back."""
    check_period(period)
    edges = check_thresholds(abc_thresholds)
    xyz_thresholds = check_xyz_thresholds(xyz_thresholds)
    cells = {(a, x): 0 for a in ABC_CLASSES for x in XYZ_COLUMNS}
    async with uow.read_only():
        dialect = uow.session.get_bind().dialect.name
        per_company = (
            months_in_reach(
                actor,
                period,
                Months.company_id.label("company_id"),
                value_of(metric).label("v"),
                func.sum(Months.revenue_cents).label("t"),
                sum_of_squares(dialect).label("q"),
            )
            .group_by(Months.company_id)
            .subquery("v")
        )
        r = (
            select(per_company, Company.stage, *classes.ranked(per_company, "v", "company_id"))
            .join(Company, Company.id == per_company.c.company_id)
            .subquery("r")
        )
        c = select(
            classes.abc_of(r.c.v, r.c.cum, r.c.total, edges).label("abc"),
            classes.xyz_of(r.c.stage, period.months, r.c.t, r.c.q, xyz_thresholds).label("xyz"),
        ).subquery("c")
        for abc, xyz, count in await uow.session.execute(
            select(c.c.abc, c.c.xyz, func.count()).group_by(c.c.abc, c.c.xyz)
        ):
            cells[(abc, xyz)] = int(count)
    return AbcXyzMatrix(period=period, metric=metric, cells=cells)
