"""ABC and XYZ analysis of clients and the ABC×XYZ matrix, computed in SQL.

ABC ranks the companies by a value over the period (revenue, margin = amount − cost,
or the number of sales) in descending order; a window SUM gives each company's
cumulative value. A company is in A while the cumulative share *before* it is below
the A threshold (80 % by default), so the company that crosses the line is still A;
in B while it is below A + B (95 %); else C.

XYZ: a client that is not regular gets its relationship stage (potential, one_time,
lost). A regular client is X, Y or Z by the coefficient of variation of its monthly
purchases over the N months of the period, months without purchases counting as zero.
With T = Σ monthly sums and Q = Σ squares of the monthly sums (zero months add nothing
to either), mean = T/N and population variance = Q/N − (T/N)², so
CV² = (N·Q − T²) / T². The class is decided in SQL by comparing N·Q − T² with
(t/100)²·T² — no square root, which SQLite lacks. X: CV ≤ 10 %, Y: ≤ 25 %, else Z;
a regular client with no purchases in the period is Z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, Subquery, case, func, literal, select

from crm.access import Actor
from crm.analytics.scope import Period, month_key, reach
from crm.errors import InvalidInput
from crm.models import Company, Sale
from crm.models.enums import CompanyStage
from crm.uow import UnitOfWork

ABC_CLASSES = ("A", "B", "C")
XYZ_CLASSES = ("X", "Y", "Z")
STAGE_COLUMNS = (
    CompanyStage.ONE_TIME.value,
    CompanyStage.POTENTIAL.value,
    CompanyStage.LOST.value,
)
XYZ_COLUMNS = XYZ_CLASSES + STAGE_COLUMNS


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


def _check_thresholds(thresholds: tuple[int, int, int]) -> tuple[int, int]:
    a, b, c = thresholds
    if min(a, b, c) < 0 or a + b + c != 100 or a == 0:
        raise InvalidInput("thresholds", "invalid")
    return a, a + b


def _check_period(period: Period) -> None:
    if period.start.day != 1 or period.end.day != 1:
        raise InvalidInput("period", "not_whole_months")


def _value(metric: AbcMetric) -> ColumnElement[Any]:
    if metric is AbcMetric.REVENUE:
        return func.coalesce(func.sum(Sale.amount), 0)
    if metric is AbcMetric.MARGIN:
        return func.coalesce(func.sum(Sale.amount - func.coalesce(Sale.cost, 0)), 0)
    return func.count(Sale.id)


def _sales(actor: Actor, period: Period, *columns: Any) -> Select[Any]:
    query = select(*columns).select_from(Sale).join(Company, Company.id == Sale.company_id)
    return query.where(
        Sale.sold_on >= period.start, Sale.sold_on < period.end, reach(actor, Company.curator_id)
    )


def _abc_classified(
    actor: Actor, period: Period, metric: AbcMetric, thresholds: tuple[int, int, int]
) -> Subquery:
    """company_id, value, cumulative, total, abc — one row per company with sales."""
    a_edge, b_edge = _check_thresholds(thresholds)
    values = (
        _sales(actor, period, Sale.company_id.label("company_id"), _value(metric).label("value"))
        .group_by(Sale.company_id)
        .subquery()
    )
    ranked = select(
        values.c.company_id,
        values.c.value,
        func.sum(values.c.value)
        .over(order_by=(values.c.value.desc(), values.c.company_id), rows=(None, 0))
        .label("cumulative"),
        func.sum(values.c.value).over().label("total"),
    ).subquery()
    before = ranked.c.cumulative - ranked.c.value
    return select(
        ranked.c.company_id,
        ranked.c.value,
        ranked.c.cumulative,
        ranked.c.total,
        case(
            (ranked.c.total <= 0, literal("C")),
            (before * 100 < ranked.c.total * a_edge, literal("A")),
            (before * 100 < ranked.c.total * b_edge, literal("B")),
            else_=literal("C"),
        ).label("abc"),
    ).subquery()


def _xyz_classified(
    actor: Actor, period: Period, dialect: str, thresholds: tuple[int, int]
) -> Subquery:
    """company_id, total, squares, xyz — one row per company in reach."""
    x, y = thresholds
    if not 0 < x <= y:
        raise InvalidInput("thresholds", "invalid")
    n = period.months
    month = month_key(dialect, Sale.sold_on).label("month")
    monthly = (
        _sales(
            actor,
            period,
            Sale.company_id.label("company_id"),
            month,
            func.sum(Sale.amount).label("s"),
        )
        .where(Company.stage == CompanyStage.REGULAR.value)
        .group_by(Sale.company_id, month)
        .subquery()
    )
    stats = (
        select(
            monthly.c.company_id,
            func.sum(monthly.c.s).label("t"),
            func.sum(monthly.c.s * monthly.c.s).label("q"),
        )
        .group_by(monthly.c.company_id)
        .subquery()
    )
    t = func.coalesce(stats.c.t, 0)
    spread = stats.c.q * n - stats.c.t * stats.c.t  # N·Q − T² = N²·variance
    xyz = case(
        (Company.stage != CompanyStage.REGULAR.value, Company.stage),
        (t <= 0, literal("Z")),
        (spread * 10000 <= stats.c.t * stats.c.t * (x * x), literal("X")),
        (spread * 10000 <= stats.c.t * stats.c.t * (y * y), literal("Y")),
        else_=literal("Z"),
    )
    return (
        select(
            Company.id.label("company_id"),
            t.label("total"),
            func.coalesce(stats.c.q, 0).label("squares"),
            xyz.label("xyz"),
        )
        .outerjoin(stats, stats.c.company_id == Company.id)
        .where(reach(actor, Company.curator_id))
        .subquery()
    )


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _amount(metric: AbcMetric, value: Any) -> Decimal:
    return Decimal(int(value or 0)) if metric is AbcMetric.COUNT else _money(value)


async def abc_report(
    uow: UnitOfWork,
    actor: Actor,
    period: Period,
    metric: AbcMetric = AbcMetric.REVENUE,
    *,
    thresholds: tuple[int, int, int] = (80, 15, 5),
    top: int = 10,
) -> AbcReport:
    if not 1 <= top <= 100:
        raise InvalidInput("top", "out_of_range", min=1, max=100)
    classified = _abc_classified(actor, period, metric, thresholds)
    async with uow.read_only():
        grouped = await uow.session.execute(
            select(
                classified.c.abc, func.count(), func.coalesce(func.sum(classified.c.value), 0)
            ).group_by(classified.c.abc)
        )
        per_class = {abc: (int(n), _amount(metric, v)) for abc, n, v in grouped}
        rows = await uow.session.execute(
            select(
                classified.c.company_id,
                Company.name,
                classified.c.value,
                classified.c.cumulative,
                classified.c.total,
                classified.c.abc,
            )
            .join(Company, Company.id == classified.c.company_id)
            .order_by(classified.c.value.desc(), classified.c.company_id)
            .limit(top)
        )
        top_rows = list(rows)
    total = sum((v for _, v in per_class.values()), Decimal(0))

    def share(value: Any) -> float:
        return float(value) / float(total) if total > 0 else 0.0

    return AbcReport(
        period=period,
        metric=metric,
        total=total,
        companies=sum(n for n, _ in per_class.values()),
        classes=[
            AbcClass(
                abc, *per_class.get(abc, (0, Decimal(0))), share(per_class.get(abc, (0, 0))[1])
            )
            for abc in ABC_CLASSES
        ],
        top=[
            AbcCompany(cid, name, _amount(metric, value), share(value), share(cum), abc)
            for cid, name, value, cum, _total, abc in top_rows
        ],
    )


async def xyz_report(
    uow: UnitOfWork,
    actor: Actor,
    period: Period,
    *,
    thresholds: tuple[int, int] = (10, 25),
    top: int = 10,
) -> XyzReport:
    _check_period(period)
    if not 1 <= top <= 100:
        raise InvalidInput("top", "out_of_range", min=1, max=100)
    n = period.months
    async with uow.read_only():
        dialect = uow.session.get_bind().dialect.name
        classified = _xyz_classified(actor, period, dialect, thresholds)
        counts = dict.fromkeys(XYZ_COLUMNS, 0)
        for xyz, count in await uow.session.execute(
            select(classified.c.xyz, func.count()).group_by(classified.c.xyz)
        ):
            counts[xyz] = counts.get(xyz, 0) + int(count)
        rows = await uow.session.execute(
            select(
                classified.c.company_id,
                Company.name,
                classified.c.total,
                classified.c.squares,
                classified.c.xyz,
            )
            .join(Company, Company.id == classified.c.company_id)
            .where(classified.c.xyz.in_(XYZ_CLASSES))
            .order_by(classified.c.xyz, classified.c.total.desc(), classified.c.company_id)
            .limit(top)
        )
        regular = []
        for cid, name, total, squares, xyz in rows:
            t, q = float(total or 0), float(squares or 0)
            cv = math.sqrt(max(n * q - t * t, 0.0)) / t if t > 0 else None
            regular.append(XyzCompany(cid, name, _money(total), _money(t / n), cv, xyz))
    return XyzReport(period=period, months=n, counts=counts, regular=regular)


async def abc_xyz_matrix(
    uow: UnitOfWork,
    actor: Actor,
    period: Period,
    metric: AbcMetric = AbcMetric.REVENUE,
    *,
    abc_thresholds: tuple[int, int, int] = (80, 15, 5),
    xyz_thresholds: tuple[int, int] = (10, 25),
) -> AbcXyzMatrix:
    """Companies per ABC×XYZ cell: those with sales in the period (they have an ABC class)."""
    _check_period(period)
    abc = _abc_classified(actor, period, metric, abc_thresholds)
    async with uow.read_only():
        dialect = uow.session.get_bind().dialect.name
        xyz = _xyz_classified(actor, period, dialect, xyz_thresholds)
        rows = await uow.session.execute(
            select(abc.c.abc, xyz.c.xyz, func.count())
            .join(xyz, xyz.c.company_id == abc.c.company_id)
            .group_by(abc.c.abc, xyz.c.xyz)
        )
        cells = {(a, x): 0 for a in ABC_CLASSES for x in XYZ_COLUMNS}
        for a, x, count in rows:
            cells[(a, x)] = cells.get((a, x), 0) + int(count)
    return AbcXyzMatrix(period=period, metric=metric, cells=cells)
