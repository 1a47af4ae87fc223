"""The time typed into /log (crm.services.interactions.resolve_when): ahead plans, gone by logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm.errors import InvalidInput
from crm.services import interactions

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)  # Wednesday 13:00 in Moscow
MSK = "Europe/Moscow"


def test_resolve_when_reads_the_future_and_the_past() -> None:
    def at(text: str) -> datetime:
        return interactions.resolve_when(text, MSK, NOW)

    assert at("завтра в 15:00") == datetime(2025, 3, 13, 12, 0, tzinfo=UTC)
    assert at("in 2 hours") == NOW + timedelta(hours=2)
    assert at("25.12 10:00") == datetime(2025, 12, 25, 7, 0, tzinfo=UTC)
    assert at("вчера в 15:00") == datetime(2025, 3, 11, 12, 0, tzinfo=UTC)
    assert at("yesterday 3pm") == datetime(2025, 3, 11, 12, 0, tzinfo=UTC)
    assert at("10:00") == datetime(2025, 3, 12, 7, 0, tzinfo=UTC)  # this morning
    # a day and month gone by this year is this year's, not next year's
    assert at("10.03 11:30") == datetime(2025, 3, 10, 8, 30, tzinfo=UTC)
    for text, reason in (("абракадабра", "unparsed"), ("32.13", "unparsed"), ("", "unparsed")):
        with pytest.raises(InvalidInput) as err:
            at(text)
        assert (err.value.field, err.value.reason) == ("when", reason)
    with pytest.raises(InvalidInput) as err:
        at("05/06")
    assert err.value.reason == "ambiguous" and len(err.value.params["options"]) == 2
    with pytest.raises(InvalidInput) as err:  # 01:00 or 13:00 — both gone by at 13:00
        interactions.resolve_when("at 1", MSK, NOW + timedelta(minutes=30))
    assert err.value.reason == "ambiguous"
