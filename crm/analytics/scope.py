"""What every report shares: the actor's reach, periods and SQL date helpers.

Reach: a director sees everything, a head the people of their department, a manager
their own (`crm.access.visible_owner` on the column that names the owner: the curator
of a company or deal, the manager of a sale, the assignee of a task). Periods are
half-open: start inclusive, end exclusive. Date periods are turned into UTC bounds at
local midnight of the actor's timezone where timestamps are compared.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Date, cast, func, type_coerce

from crm.access import visible_owner
from crm.errors import InvalidInput
from crm.money import cents as to_cents
from crm.when import zone_of

__all__ = [
    "Period",
    "current_month",
    "days_before",
    "from_cents",
    "last_full_months",
    "money_cents",
    "month_key",
    "month_starts",
    "months_between",
    "reach",
]

reach = visible_owner


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise InvalidInput("period", "empty")

    @property
    def months(self) -> int:
        """Whole calendar months the period spans (at least 1)."""
        return max(1, months_between(self.start, self.end))

    def utc_bounds(self, tz: str) -> tuple[datetime, datetime]:
        zone = zone_of(tz)
        return (
            datetime.combine(self.start, time(0), zone).astimezone(UTC),
            datetime.combine(self.end, time(0), zone).astimezone(UTC),
        )


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end: date) -> int:
    """Calendar months from the month of `start` to the month of `end`."""
    return (end.year - start.year) * 12 + end.month - start.month


def last_full_months(today: date, months: int = 12) -> Period:
    """The `months` full calendar months before the month of `today`."""
    if not 1 <= months <= 120:
        raise InvalidInput("months", "out_of_range", min=1, max=120)
    end = today.replace(day=1)
    return Period(_add_months(end, -months), end)


def current_month(today: date) -> Period:
    start = today.replace(day=1)
    return Period(start, _add_months(start, 1))


def month_starts(period: Period) -> list[date]:
    first = period.start.replace(day=1)
    return [_add_months(first, i) for i in range(months_between(first, period.end))]


def month_key(dialect: str, column: Any) -> ColumnElement[str]:
    """'YYYY-MM' of a DATE column."""
    if dialect == "sqlite":  # stored as 'YYYY-MM-DD'
        return func.substr(column, 1, 7)
    return func.to_char(column, "YYYY-MM")


def days_before(dialect: str, day: Any, days: int) -> ColumnElement[date]:
    """The DATE `days` days before the DATE `day` (a column or a bind)."""
    if dialect == "sqlite":  # stored as 'YYYY-MM-DD', which date() returns too
        return type_coerce(func.date(day, f"-{days} days"), Date)
    return type_coerce(day - days, Date)  # date - integer is a date


def money_cents(column: Any) -> ColumnElement[int]:
    """A money column in whole cents: SQLite keeps NUMERIC as a float, so its SUM of amounts
    can miss the cent; a SUM of these integers is exact on both databases."""
    return cast(func.round(column * 100), BigInteger)


def from_cents(cents: Any) -> Decimal:
    """Whole cents (as `money_cents` sums them) back to money."""
    return to_cents(Decimal(int(cents or 0)) / 100)
