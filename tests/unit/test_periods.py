"""The report periods of crm/analytics/scope.py: last full months, the current month."""

from __future__ import annotations

from datetime import date

import pytest

from crm.analytics.scope import Period, current_month, last_full_months
from crm.errors import InvalidInput

QUARTER = Period(date(2026, 1, 1), date(2026, 4, 1))


def test_periods() -> None:
    assert last_full_months(date(2026, 4, 15), 3) == QUARTER
    assert last_full_months(date(2026, 1, 31)) == Period(date(2025, 1, 1), date(2026, 1, 1))
    assert current_month(date(2026, 12, 7)) == Period(date(2026, 12, 1), date(2027, 1, 1))
    assert QUARTER.months == 3
    with pytest.raises(InvalidInput):
        Period(date(2026, 2, 1), date(2026, 2, 1))
