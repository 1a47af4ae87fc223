"""The pure rules of ✏ Edit on a deal (crm/services/deal_edits.py): fields, close dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from crm.errors import InvalidInput
from crm.models import Deal
from crm.services import deal_edits

NOW = datetime(2026, 12, 31, 21, 30, tzinfo=UTC)  # already 1 January 2027 in Moscow


def test_fields_offered_follow_the_stage_and_the_lines() -> None:
    assert deal_edits.editable_fields(Deal(stage="lead"), has_lines=False) == [
        "title", "amount", "expected_close", "contact_id", "source", "next_step",
    ]  # fmt: skip
    assert "amount" not in deal_edits.editable_fields(Deal(stage="proposal"), has_lines=True)
    assert deal_edits.editable_fields(Deal(stage="won"), has_lines=False) == []
    assert deal_edits.editable_fields(Deal(stage="lost"), has_lines=True) == []


def test_quick_close_dates_are_month_ends_in_the_readers_timezone() -> None:
    assert deal_edits.close_choices("Europe/Moscow", NOW) == [date(2027, 1, 31), date(2027, 2, 28)]
    assert deal_edits.close_choices("UTC", NOW) == [date(2026, 12, 31), date(2027, 1, 31)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25.12.2027", date(2027, 12, 25)),
        ("через 2 недели", date(2027, 1, 15)),
        ("1 марта", date(2027, 3, 1)),
    ],
)
def test_a_typed_close_date(text: str, expected: date) -> None:
    assert deal_edits.parse_close(text, "Europe/Moscow", NOW) == expected


@pytest.mark.parametrize(("text", "reason"), [("01.01.2020", "past"), ("someday", "unparsed")])
def test_a_close_date_that_cannot_be_taken(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as err:
        deal_edits.parse_close(text, "Europe/Moscow", NOW)
    assert (err.value.field, err.value.reason) == ("expected_close", reason)


def test_a_crafted_close_value_is_refused() -> None:
    assert deal_edits.read_close("2027-01-31") == date(2027, 1, 31)
    assert deal_edits.read_close("") is None
    with pytest.raises(InvalidInput):
        deal_edits.read_close("tomorrow")
