"""Natural-language due times: a fixed 'now', the expected UTC moment for each phrase."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crm import when
from crm.errors import InvalidInput
from crm.when import parse_when

MSK = "Europe/Moscow"
NY = "America/New_York"
# Wednesday 5 March 2025, 10:30 in Moscow (UTC+3, no DST)
WED = datetime(2025, 3, 5, 7, 30, tzinfo=UTC)
# Saturday 8 March 2025, 12:00 EST in New York; clocks go forward on Sunday 9 March 02:00
NY_SPRING = datetime(2025, 3, 8, 17, 0, tzinfo=UTC)
# Sunday 9 March 2025, 01:30 EST: half an hour before the clocks go forward
NY_GAP = datetime(2025, 3, 9, 6, 30, tzinfo=UTC)
# Saturday 1 November 2025, 12:00 EDT; clocks go back on Sunday 2 November 02:00
NY_FALL = datetime(2025, 11, 1, 16, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


RESOLVED = [
    # Russian, Moscow: expected UTC (local time in the comment)
    ("завтра в 15:00", MSK, WED, "2025-03-06 12:00"),  # Thu 15:00
    ("через 2 часа", MSK, WED, "2025-03-05 09:30"),  # Wed 12:30
    ("в пятницу", MSK, WED, "2025-03-07 06:00"),  # Fri 09:00 (default time)
    ("25.12 10:00", MSK, WED, "2025-12-25 07:00"),
    ("сегодня в 18", MSK, WED, "2025-03-05 15:00"),
    ("послезавтра", MSK, WED, "2025-03-07 06:00"),
    ("через неделю", MSK, WED, "2025-03-12 06:00"),
    ("в понедельник в 10", MSK, WED, "2025-03-10 07:00"),
    ("в следующий понедельник", MSK, WED, "2025-03-10 06:00"),
    ("через 30 минут", MSK, WED, "2025-03-05 08:00"),
    ("через полчаса", MSK, WED, "2025-03-05 08:00"),
    ("через час", MSK, WED, "2025-03-05 08:30"),
    ("через 15 мин", MSK, WED, "2025-03-05 07:45"),
    ("через 3 дня", MSK, WED, "2025-03-08 06:00"),
    ("через 3 дня в 10:00", MSK, WED, "2025-03-08 07:00"),
    ("завтра в 9 утра", MSK, WED, "2025-03-06 06:00"),
    ("в 3 часа дня", MSK, WED, "2025-03-05 12:00"),
    ("в 11 вечера", MSK, WED, "2025-03-05 20:00"),
    ("завтра в 10.30", MSK, WED, "2025-03-06 07:30"),  # same clock time as 'now'
    ("Завтра вечером", MSK, WED, "2025-03-06 15:00"),
    ("сегодня вечером", MSK, WED, "2025-03-05 15:00"),
    ("завтра утром", MSK, WED, "2025-03-06 06:00"),
    ("в пт в 10:00", MSK, WED, "2025-03-07 07:00"),
    ("во вторник", MSK, WED, "2025-03-11 06:00"),
    ("в эту пятницу", MSK, WED, "2025-03-07 06:00"),
    ("1.04", MSK, WED, "2025-04-01 06:00"),  # 1 April, not 01:04
    ("25 декабря", MSK, WED, "2025-12-25 06:00"),
    ("10 марта в 15:30", MSK, WED, "2025-03-10 12:30"),
    ("10.01.2026 9:00", MSK, WED, "2026-01-10 06:00"),
    ("в 18:00", MSK, WED, "2025-03-05 15:00"),
    ("18:00 завтра", MSK, WED, "2025-03-06 15:00"),
    ("через 2 недели", MSK, WED, "2025-03-19 06:00"),
    ("в субботу в 12:30", MSK, WED, "2025-03-08 09:30"),
    ("в полдень", MSK, WED, "2025-03-05 09:00"),
    ("в среду", MSK, WED, "2025-03-12 06:00"),  # said on a Wednesday: next week
    # English, Moscow
    ("tomorrow 9am", MSK, WED, "2025-03-06 06:00"),
    ("in 30 minutes", MSK, WED, "2025-03-05 08:00"),
    ("next monday", MSK, WED, "2025-03-10 06:00"),
    ("at 17:30", MSK, WED, "2025-03-05 14:30"),
    ("in an hour", MSK, WED, "2025-03-05 08:30"),
    ("in 2 hours", MSK, WED, "2025-03-05 09:30"),
    ("in half an hour", MSK, WED, "2025-03-05 08:00"),
    ("in 3 days", MSK, WED, "2025-03-08 06:00"),
    ("in 2 weeks", MSK, WED, "2025-03-19 06:00"),
    ("tomorrow at noon", MSK, WED, "2025-03-06 09:00"),
    ("tomorrow evening", MSK, WED, "2025-03-06 15:00"),
    ("friday", MSK, WED, "2025-03-07 06:00"),
    ("on friday at 3pm", MSK, WED, "2025-03-07 12:00"),
    ("next tuesday at 10:00", MSK, WED, "2025-03-11 07:00"),
    ("march 10 at 3pm", MSK, WED, "2025-03-10 12:00"),
    ("25 december 10am", MSK, WED, "2025-12-25 07:00"),
    ("dec 25", MSK, WED, "2025-12-25 06:00"),
    ("today 18:00", MSK, WED, "2025-03-05 15:00"),
    ("tonight", MSK, WED, "2025-03-05 17:00"),
    ("25/12", MSK, WED, "2025-12-25 06:00"),
    ("12/25 10:00", MSK, WED, "2025-12-25 07:00"),  # 25 cannot be a month
    ("2025-03-10 14:00", MSK, WED, "2025-03-10 11:00"),
    # New York across the spring DST change (EST UTC-5 -> EDT UTC-4)
    ("завтра в 15:00", NY, NY_SPRING, "2025-03-09 19:00"),  # Sun 15:00 EDT
    ("tomorrow 9am", NY, NY_SPRING, "2025-03-09 13:00"),  # Sun 09:00 EDT
    ("monday 10:00", NY, NY_SPRING, "2025-03-10 14:00"),
    ("через 2 часа", NY, NY_SPRING, "2025-03-08 19:00"),  # Sat 14:00 EST
    ("через 24 часа", NY, NY_SPRING, "2025-03-09 17:00"),  # a real day: 13:00 EDT
    ("через 2 часа", NY, NY_GAP, "2025-03-09 08:30"),  # 01:30 EST + 2 h = 04:30 EDT
    ("in 30 minutes", NY, NY_GAP, "2025-03-09 07:00"),  # 03:00 EDT
    ("tomorrow", NY, NY_SPRING, "2025-03-09 13:00"),  # default 09:00 EDT
    # New York across the autumn change (EDT -> EST)
    ("tomorrow 9am", NY, NY_FALL, "2025-11-02 14:00"),  # Sun 09:00 EST
    ("in 2 days", NY, NY_FALL, "2025-11-03 14:00"),
    ("через 24 часа", NY, NY_FALL, "2025-11-02 16:00"),  # 11:00 EST
]


@pytest.mark.parametrize(("text", "tz", "now", "expected"), RESOLVED)
def test_phrase_resolves(text: str, tz: str, now: datetime, expected: str) -> None:
    result = parse_when(text, tz, now)
    assert result == utc(expected)
    assert result.tzinfo is UTC


REFUSED = [
    ("вчера", "past"),
    ("yesterday", "past"),
    ("сегодня", "past"),  # 09:00 today has gone by at 10:30
    ("в 9:00", "past"),  # a bare time that has passed is asked back, not moved to tomorrow
    ("at 9am", "past"),
    ("4.03", "past"),  # yesterday's date: not silently next year
    ("1 марта", "past"),
    ("через 0 минут", "past"),
    ("asdf", "unparsed"),
    ("", "unparsed"),
    ("   ", "unparsed"),
    ("31.02", "unparsed"),
    ("завтра купить хлеб", "unparsed"),
    ("x" * 200, "unparsed"),
    ("в 5", "ambiguous"),  # 05:00 or 17:00?
    ("at 3:30", "ambiguous"),
    ("10/11", "ambiguous"),  # 10 November or 11 October?
    ("03/04", "ambiguous"),
]


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_phrase_is_asked_back(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_when(text, MSK, WED)
    assert (err.value.field, err.value.reason) == ("when", reason)


def test_ambiguous_lists_the_readings_still_ahead() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_when("10/11 14:00", MSK, WED)
    assert err.value.params["options"] == [utc("2025-10-11 11:00"), utc("2025-11-10 11:00")]
    with pytest.raises(InvalidInput) as hour:
        parse_when("завтра в 5", MSK, WED)
    assert hour.value.params["options"] == [utc("2025-03-06 02:00"), utc("2025-03-06 14:00")]


def test_local_time_skipped_or_doubled_by_dst_is_ambiguous() -> None:
    with pytest.raises(InvalidInput) as gap:
        parse_when("tomorrow 02:30", NY, NY_SPRING)  # 02:30 never happens on 9 March
    assert gap.value.reason == "ambiguous"
    assert gap.value.params["options"] == [utc("2025-03-09 06:30"), utc("2025-03-09 07:30")]
    with pytest.raises(InvalidInput) as fold:
        parse_when("tomorrow 01:30", NY, NY_FALL)  # 01:30 happens twice on 2 November
    assert fold.value.params["options"] == [utc("2025-11-02 05:30"), utc("2025-11-02 06:30")]


def test_date_without_year_rolls_to_next_year_only_when_far() -> None:
    dec = datetime(2025, 12, 20, 9, 0, tzinfo=UTC)
    assert parse_when("10.01", MSK, dec) == utc("2026-01-10 06:00")
    assert parse_when("10 января в 12:00", MSK, dec) == utc("2026-01-10 09:00")


@pytest.mark.parametrize(
    ("text", "written"),
    [
        ("tomorrow at 25:00", "25:00"),
        ("tomorrow at 10:75", "10:75"),
        ("завтра в 25:00", "25:00"),
        ("завтра в 10.75", "10.75"),
        ("в 25", "25:00"),
        ("at 24:00", "24:00"),
        ("25.12 10:60", "10:60"),
    ],
)
def test_a_time_no_clock_shows_is_refused_not_read_as_nine(text: str, written: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_when(text, MSK, WED)
    assert (err.value.reason, err.value.params["time"]) == ("bad_clock", written)


def test_a_day_gone_by_this_year_offers_the_same_day_next_year() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_when("4.03 11:00", MSK, WED)
    assert err.value.reason == "past"
    assert err.value.params["at"] == utc("2025-03-04 08:00")
    assert err.value.params["options"] == [utc("2026-03-04 08:00")]
    with pytest.raises(InvalidInput) as word:
        parse_when("1 марта", MSK, WED)
    assert word.value.params["options"] == [utc("2026-03-01 06:00")]


def test_unknown_timezone_and_naive_now_are_refused() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_when("завтра", "Mars/Olympus", WED)
    assert err.value.field == "timezone"
    with pytest.raises(ValueError):
        parse_when("завтра", MSK, datetime(2025, 3, 5, 10, 30))


PLAIN = [
    "08.12.2025 10:00",
    "8.12.25 в 11:00",
    "25.12",
    "25.12 18:30",
    "05.03.2025 10:45",
    "05.03.2025",
    "завтра",
    "завтра 10:00",
    "завтра в 15:30",
    "Завтра в 23:59",
    "tomorrow",
    "tomorrow at 9:30",
    "tomorrow 18:00",
    "17:45",
    "09:15",
    "в 10:00",
    "at 22:10",
    "2025-03-09 02:30",
    "09.03.2025 02:30",
    "02.11.2025 01:30",
    "09.03 в 08:00",
]


@pytest.mark.parametrize("text", PLAIN)
@pytest.mark.parametrize(("tz", "now"), [(MSK, WED), (NY, NY_SPRING), (NY, NY_GAP), (NY, NY_FALL)])
def test_common_forms_read_without_dateparser_as_dateparser_reads_them(
    text: str, tz: str, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path (`_plain`) takes these, and gives what dateparser alone gives:
    the same moment, or the same refusal with the same options."""

    def outcome() -> object:
        try:
            return parse_when(text, tz, now)
        except InvalidInput as err:
            return (err.reason, err.params)

    seen: list[object] = []
    real = when._plain

    def spy(s: str, local_now: datetime) -> object:
        result = real(s, local_now)
        seen.append(result)
        return result

    monkeypatch.setattr(when, "_plain", spy)
    fast = outcome()
    monkeypatch.setattr(when, "_plain", lambda s, local_now: None)
    slow = outcome()
    assert fast == slow
    # the form was read by the fast path (only a refusal may come before reading)
    assert all(r is not None for r in seen)
    assert seen or isinstance(fast, tuple)
