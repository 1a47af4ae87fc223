"""The claims report: where claims come from and how fast they are resolved.

Everything is aggregated in SQL; only the grouped rows come back to Python. The period
selects claims by `created_at` (start inclusive, end exclusive, aware datetimes: the
caller turns the user's "this month" into UTC bounds). Months of the trend are UTC
months. Time to resolve is `resolved_at - created_at` of the claims resolved (not
rejected); "within SLA" means `resolved_at <= due_at`, as a share of the resolved ones.

Percentiles are interpolated like PostgreSQL's `percentile_cont`: PostgreSQL computes
them itself; SQLite, which has no such aggregate, numbers the ordered durations with a
window query (ROW_NUMBER; the COUNT comes from the totals query) and returns only the
at most two rows around each percentile, which are interpolated here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, or_, select

from crm.access import Actor, visible_owner
from crm.errors import InvalidInput
from crm.models import Claim, ClaimCause, Company, utcnow
from crm.models.enums import ClaimPriority, ClaimStatus
from crm.uow import UnitOfWork

PRIORITY_ORDER = (
    ClaimPriority.CRITICAL.value,
    ClaimPriority.HIGH.value,
    ClaimPriority.NORMAL.value,
    ClaimPriority.LOW.value,
)
# (numerator, denominator) of the percentiles, so that positions stay integer arithmetic.
MEDIAN = (1, 2)
P90 = (9, 10)


@dataclass(frozen=True)
class CauseCount:
    code: str
    title: str
    count: int


@dataclass(frozen=True)
class CompanyCount:
    company_id: int
    name: str
    count: int


@dataclass(frozen=True)
class ClaimsReport:
    start: datetime
    end: datetime
    total: int
    open: int
    resolved: int
    rejected: int
    overdue_open: int  # open and past due at the time of the report
    resolved_within_sla: int
    share_within_sla: float | None  # resolved_within_sla / resolved; None if none resolved
    median_hours: float | None
    p90_hours: float | None
    by_cause: list[CauseCount]  # most frequent first
    by_priority: dict[str, int]  # every priority, critical first, zeros included
    top_companies: list[CompanyCount]  # most claims first
    by_month: list[tuple[str, int]]  # ("2026-03", count), months with claims, in order


def _hours(dialect: str, start: Any, end: Any) -> ColumnElement[float | Decimal]:
    """Hours between two times: a float on SQLite, a numeric (Decimal) on PostgreSQL."""
    if dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 24.0
    return func.extract("epoch", end - start) / 3600.0


def _month(dialect: str, column: Any) -> ColumnElement[str]:
    if dialect == "sqlite":  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
        return func.substr(column, 1, 7)
    return func.to_char(func.timezone("UTC", column), "YYYY-MM")


class _Scope:
    """The claims of the period the actor may see, as a reusable FROM + WHERE."""

    def __init__(self, actor: Actor, start: datetime, end: datetime) -> None:
        self.needs_company = not actor.is_director
        self.where: list[ColumnElement[bool]] = [Claim.created_at >= start, Claim.created_at < end]
        if self.needs_company:
            self.where.append(
                or_(
                    visible_owner(actor, Claim.responsible_id),
                    visible_owner(actor, Company.curator_id),
                )
            )

    def select(self, *columns: Any, company: bool = False) -> Select[Any]:
        query = select(*columns).select_from(Claim)
        if company or self.needs_company:
            query = query.join(Company, Company.id == Claim.company_id)
        return query.where(*self.where)


def _interpolate(values: dict[int, float], n: int, fraction: tuple[int, int]) -> float | None:
    """percentile_cont from the 0-based positions around p*(n-1)."""
    if n == 0:
        return None
    num, den = fraction
    low = num * (n - 1) // den
    rest = num * (n - 1) % den
    if rest == 0:
        return values[low]
    return values[low] + (values[low + 1] - values[low]) * rest / den


def _positions(n: int) -> set[int]:
    """0-based positions of the ordered durations that the percentiles interpolate between."""
    wanted = set()
    for num, den in (MEDIAN, P90):
        low = num * (n - 1) // den
        wanted.update({low, min(low + 1, n - 1)})
    return wanted


async def percentiles_window(
    uow: UnitOfWork, scope: _Scope, hours: ColumnElement[float | Decimal], n: int
) -> tuple[float | None, float | None]:
    """Median and p90 with a window query; works on SQLite and PostgreSQL alike.

    `n` is the number of resolved claims in scope (the COUNT of the totals query), so
    the window only numbers the ordered durations and at most four rows come back.
    """
    if n == 0:
        return None, None
    durations = (
        scope.select(hours.label("d")).where(Claim.status == ClaimStatus.RESOLVED.value).subquery()
    )
    ranked = select(
        durations.c.d, func.row_number().over(order_by=durations.c.d).label("rn")
    ).subquery()
    rows = await uow.session.execute(
        select(ranked.c.rn, ranked.c.d).where(ranked.c.rn.in_([p + 1 for p in _positions(n)]))
    )
    values = {int(rn) - 1: float(d) for rn, d in rows}
    return _interpolate(values, n, MEDIAN), _interpolate(values, n, P90)


async def _percentiles_postgres(
    uow: UnitOfWork, scope: _Scope, hours: ColumnElement[float | Decimal]
) -> tuple[float | None, float | None]:
    row = (
        await uow.session.execute(
            scope.select(
                func.percentile_cont(MEDIAN[0] / MEDIAN[1]).within_group(hours),
                func.percentile_cont(P90[0] / P90[1]).within_group(hours),
            ).where(Claim.status == ClaimStatus.RESOLVED.value)
        )
    ).one()
    return (
        float(row[0]) if row[0] is not None else None,
        float(row[1]) if row[1] is not None else None,
    )


async def claims_report(
    uow: UnitOfWork,
    actor: Actor,
    start: datetime,
    end: datetime,
    *,
    top: int = 5,
    now: datetime | None = None,
) -> ClaimsReport:
    """The claims report of the period, within the actor's reach (director: all; head:
    the department's; manager: their own clients' and those they are responsible for)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("period", "naive_datetime")
    if end <= start:
        raise InvalidInput("period", "empty")
    if not 1 <= top <= 100:
        raise InvalidInput("top", "out_of_range", min=1, max=100)
    moment = now or utcnow()
    scope = _Scope(actor, start, end)
    is_open = Claim.status.in_((ClaimStatus.NEW.value, ClaimStatus.INVESTIGATING.value))
    is_resolved = Claim.status == ClaimStatus.RESOLVED.value

    def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    async with uow.read_only():
        dialect = uow.session.get_bind().dialect.name
        hours = _hours(dialect, Claim.created_at, Claim.resolved_at)
        # One scan: counts per (cause, priority, month) with the status flags summed in
        # each group; at most causes x priorities x months rows come back and are added up.
        month = _month(dialect, Claim.created_at).label("month")
        groups = await uow.session.execute(
            scope.select(
                Claim.cause,
                Claim.priority,
                month,
                func.count(Claim.id),
                flag(is_open),
                flag(is_resolved),
                flag(Claim.status == ClaimStatus.REJECTED.value),
                flag(is_open & (Claim.due_at < moment)),
                flag(is_resolved & (Claim.resolved_at <= Claim.due_at)),
            ).group_by(Claim.cause, Claim.priority, month)
        )
        sums = [0] * 6
        by_cause: dict[str, int] = {}
        by_priority = dict.fromkeys(PRIORITY_ORDER, 0)
        by_month: dict[str, int] = {}
        for cause, priority, month_key, *counts in groups:
            counts = [int(c or 0) for c in counts]
            sums = [a + b for a, b in zip(sums, counts, strict=True)]
            by_cause[cause] = by_cause.get(cause, 0) + counts[0]
            by_priority[priority] = by_priority.get(priority, 0) + counts[0]
            by_month[str(month_key)] = by_month.get(str(month_key), 0) + counts[0]
        total, open_, resolved, rejected, overdue, on_time = sums
        titles = dict(
            (
                await uow.session.execute(
                    select(ClaimCause.code, ClaimCause.title).where(ClaimCause.code.in_(by_cause))
                )
            ).all()
        )
        n = func.count(Claim.id).label("n")
        per_company = scope.select(Claim.company_id, n).group_by(Claim.company_id).subquery()
        companies = await uow.session.execute(
            select(Company.id, Company.name, per_company.c.n)
            .join(per_company, per_company.c.company_id == Company.id)
            .order_by(per_company.c.n.desc(), Company.name, Company.id)
            .limit(top)
        )
        if dialect == "postgresql":
            median, p90 = await _percentiles_postgres(uow, scope, hours)
        else:
            median, p90 = await percentiles_window(uow, scope, hours, resolved)

    return ClaimsReport(
        start=start,
        end=end,
        total=total,
        open=open_,
        resolved=resolved,
        rejected=rejected,
        overdue_open=overdue,
        resolved_within_sla=on_time,
        share_within_sla=on_time / resolved if resolved else None,
        median_hours=median,
        p90_hours=p90,
        by_cause=[
            CauseCount(code, titles.get(code, code), count)
            for code, count in sorted(by_cause.items(), key=lambda item: (-item[1], item[0]))
        ],
        by_priority=by_priority,
        top_companies=[CompanyCount(cid, name, int(count)) for cid, name, count in companies],
        by_month=sorted(by_month.items()),
    )
