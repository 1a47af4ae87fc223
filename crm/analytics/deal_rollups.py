"""Deal rollups (crm/models/rollups.py, migration 0014): what the funnel, the forecast and
the digest read instead of the deals.

Triggers on `deals` keep them in the transaction of every write, so no service calls
anything. `verify` recomputes them from the deals and lists the differences; `rebuild`
writes them anew (`chatcrm analytics verify [--repair]`).

The funnel of a period [start, end) (UTC instants) is summed from three sources: whole
UTC months from `deal_created_months`, whole UTC days around them from
`deal_created_days`, and the deals themselves for the hours at each edge (a period in a
local timezone starts and ends off UTC midnight), read through `ix_deals_created_funnel`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    Table,
    case,
    cast,
    delete,
    func,
    literal,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from crm.access import Actor
from crm.analytics.scope import money_cents, reach
from crm.models import Deal, DealCreatedDay, DealCreatedMonth, DealPipeline
from crm.models.enums import FUNNEL_STAGES, DealStage
from crm.models.rollups import NO_CLOSE_DATE

PIPELINE: Table = DealPipeline.__table__  # type: ignore[assignment]
DAYS: Table = DealCreatedDay.__table__  # type: ignore[assignment]
MONTHS: Table = DealCreatedMonth.__table__  # type: ignore[assignment]


def stage_rank(column: Any) -> ColumnElement[int]:
    """enums.funnel_rank in SQL: 0 lead … 4 won; lost (and anything unknown) 0."""
    return case(
        *((column == stage.value, literal(i)) for i, stage in enumerate(FUNNEL_STAGES) if i),
        else_=literal(0),
    )


def furthest_rank() -> ColumnElement[int]:
    """The furthest stage a deal reached: its `reached_rank`, or its current stage where
    that is further (a deal written without its history, e.g. by an import)."""
    current = stage_rank(Deal.stage)
    return case((current > Deal.reached_rank, current), else_=Deal.reached_rank)


def is_lost() -> ColumnElement[int]:
    return case((Deal.stage == DealStage.LOST.value, 1), else_=0)


# --- the rows the deals say -----------------------------------------------------------------


def _created(dialect: str, grain: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        args = (Deal.created_at,) if grain == "day" else (Deal.created_at, "start of month")
        return type_coerce(func.date(*args), Date)
    utc = func.timezone("UTC", Deal.created_at)
    return cast(utc if grain == "day" else func.date_trunc("month", utc), Date)


def _close_month(dialect: str) -> ColumnElement[Any]:
    month: ColumnElement[Any]
    if dialect == "sqlite":
        month = type_coerce(func.date(Deal.expected_close, "start of month"), Date)
    else:
        month = cast(func.date_trunc("month", Deal.expected_close), Date)
    return func.coalesce(month, literal(NO_CLOSE_DATE, Date))


def expected(dialect: str, table: Table) -> Select[Any]:
    """The rows of one deal rollup table, worked out from the deals (its column order)."""
    if table is PIPELINE:
        keys = [Deal.curator_id, Deal.stage, Deal.reached_rank, _close_month(dialect)]
        figures = [
            func.count(),
            func.sum(money_cents(Deal.amount)),
            func.sum(money_cents(Deal.amount) * Deal.probability),
        ]
    else:
        grain = "day" if table is DAYS else "month"
        keys = [_created(dialect, grain), Deal.curator_id, furthest_rank(), is_lost()]
        figures = [func.count()]
    return select(*keys, *figures).group_by(*keys)


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple[Any, ...]
    stored: tuple[int, ...] | None  # the figures; None: no row
    expected: tuple[int, ...] | None


def _key(row: Any, n: int) -> tuple[Any, ...]:
    return tuple(
        date.fromisoformat(v) if isinstance(v, str) and len(v) == 10 and v[4] == "-" else v
        for v in row[:n]
    )


async def verify(session: AsyncSession) -> list[Difference]:
    dialect = session.get_bind().dialect.name
    found: list[Difference] = []
    for table in (PIPELINE, DAYS, MONTHS):
        n = len(table.primary_key.columns)
        columns = [c for c in table.c if c.primary_key] + [c for c in table.c if not c.primary_key]
        stored = {
            _key(row, n): tuple(int(v) for v in row[n:])
            for row in await session.execute(select(*columns))
        }
        should = {
            _key(row, n): tuple(int(v) for v in row[n:])
            for row in await session.execute(expected(dialect, table))
        }
        for k in sorted(stored.keys() | should.keys(), key=repr):
            if stored.get(k) != should.get(k):
                found.append(Difference(table.name, k, stored.get(k), should.get(k)))
    return found


async def rebuild(session: AsyncSession) -> None:
    dialect = session.get_bind().dialect.name
    for table in (PIPELINE, DAYS, MONTHS):
        columns = [c.name for c in table.c if c.primary_key] + [
            c.name for c in table.c if not c.primary_key
        ]
        await session.execute(delete(table))
        await session.execute(table.insert().from_select(columns, expected(dialect, table)))


# --- the funnel -----------------------------------------------------------------------------


def _next_midnight(moment: datetime) -> datetime:
    day = datetime.combine(moment.astimezone(UTC).date(), time(0), UTC)
    return day if day == moment else day + timedelta(days=1)


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(0), UTC)


def _month_up(day: date) -> date:
    if day.day == 1:
        return day
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def funnel_rows(actor: Actor, start: datetime, end: datetime) -> Select[Any]:
    """(furthest rank, deals, lost deals) of the deals created in [start, end) in reach,
    one row per rank, from the rollups and the deals at the edges."""
    parts: list[Select[Any]] = []

    def from_deals(lo: datetime, hi: datetime) -> None:
        if lo < hi:
            parts.append(
                select(  # type: ignore[arg-type]  # Select[int, int, int] is a Select[Any]
                    furthest_rank().label("rank"),
                    literal(1).label("deals"),
                    is_lost().label("lost"),
                ).where(Deal.created_at >= lo, Deal.created_at < hi, reach(actor, Deal.curator_id))
            )

    def from_table(table: Table, column: str, lo: date, hi: date) -> None:
        if lo < hi:
            parts.append(
                select(
                    table.c.rank,
                    table.c.deals,
                    (table.c.deals * table.c.lost).label("lost"),
                ).where(
                    table.c[column] >= lo, table.c[column] < hi, reach(actor, table.c.curator_id)
                )
            )

    first_day, last_day = _next_midnight(start), _midnight(end)
    if first_day >= last_day:
        from_deals(start, end)
    else:
        from_deals(start, first_day)
        from_deals(last_day, end)
        lo, hi = first_day.date(), last_day.date()
        first_month, last_month = _month_up(lo), hi.replace(day=1)
        if first_month >= last_month:
            from_table(DAYS, "day", lo, hi)
        else:
            from_table(DAYS, "day", lo, first_month)
            from_table(MONTHS, "month", first_month, last_month)
            from_table(DAYS, "day", last_month, hi)
    both = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    return select(both.c.rank, func.sum(both.c.deals), func.sum(both.c.lost)).group_by(both.c.rank)


# --- the pipeline ---------------------------------------------------------------------------


def close_month_of(value: date) -> date | None:
    return None if value == NO_CLOSE_DATE else value
