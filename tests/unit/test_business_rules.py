"""The pure rules of Telegram Business: the reply deadline in working minutes, the
working hours as typed, a message as the transcript keeps it."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from crm.errors import InvalidInput
from crm.services.business.conversations import message_text
from crm.services.business.waiting import Rules, deadline, parse_hours

MSK = "Europe/Moscow"  # UTC+3


def utc(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)  # 7 Dec 2026 is a Monday


@pytest.mark.parametrize(
    ("since", "due"),
    [
        (utc(7, 7, 14), utc(7, 9, 14)),  # Mon 10:14 MSK + 120 min = 12:14 MSK
        (utc(7, 14, 30), utc(8, 7, 30)),  # Mon 17:30: 30 min today, 90 on Tue from 09:00
        (utc(7, 3, 0), utc(7, 8, 0)),  # Mon 06:00, before hours: counts from 09:00
        (utc(11, 14, 0), utc(14, 7, 0)),  # Fri 17:00: 60 min Fri, 60 min Mon
        (utc(12, 9, 0), utc(14, 8, 0)),  # Saturday: Monday 09:00 + 120
    ],
)
def test_the_deadline_counts_working_minutes_only(since: datetime, due: datetime) -> None:
    assert deadline(since, Rules(120), MSK) == due


def test_the_deadline_follows_the_company_hours_and_reply_time() -> None:
    rules = Rules(30, time(10, 0), time(12, 0))
    assert deadline(utc(7, 8, 45), rules, MSK) == utc(8, 7, 15)  # 11:45: 15 + 15 next day


@pytest.mark.parametrize(
    ("typed", "hours"),
    [("09:00-18:00", (time(9), time(18))), (" 8.30 – 17.15 ", (time(8, 30), time(17, 15)))],
)
def test_working_hours_as_typed(typed: str, hours: tuple[time, time]) -> None:
    assert parse_hours(typed) == hours


@pytest.mark.parametrize("typed", ["18:00-09:00", "9-18", "25:00-26:00", "", "09:00-09:00"])
def test_working_hours_that_make_no_sense_are_refused(typed: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_hours(typed)
    assert err.value.field == "working_hours"


def test_media_are_noted_by_icon_and_name() -> None:
    assert message_text("hello") == "hello"
    assert message_text("signed", "document", "offer.pdf") == "📎 offer.pdf signed"
    assert message_text(None, "voice") == "🎤"
    assert message_text(None, "something_new") == "📎"
