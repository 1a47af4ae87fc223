"""Natural-language due times in Russian and English, in the manager's timezone.

`parse_when("завтра в 15:00", "Europe/Moscow", now)` returns an aware UTC datetime or
raises `InvalidInput("when", reason)` with reason:

- ``unparsed``: not a date or time we understand;
- ``past``: it resolves to a moment not after `now` (also a day and month without a
  year that passed less than a month ago, e.g. "4.03" said on 5 March: rolling it a
  year ahead would be a silent guess; then ``params["at"]`` is this year's moment and
  ``params["options"]`` holds the same day next year, to offer as a button);
- ``bad_clock``: a clock time no clock shows ("25:00", "10:75"); ``params["time"]`` is
  the time as written. It is refused, never replaced by the default 09:00;
- ``ambiguous``: it could mean two moments; ``params["options"]`` then lists the
  candidates (aware UTC) that the caller may offer as buttons. Ambiguous are a bare
  hour 1-7 without am/pm or a part of day ("в 5", "at 3:30": 05:00 or 17:00?), a
  slashed date whose both parts could be the month ("03/04"), and a local time that
  a DST change makes happen twice or never.

Rules that are a choice rather than dateparser's:

- A day with no time of day ("завтра", "в пятницу", "25.12", "через неделю", "next
  monday") means 09:00 local time (`DEFAULT_TIME`).
- "через 2 часа" / "in 30 minutes" are real durations from `now`, so they stay right
  across a DST change; all wall-clock phrases are resolved in local time.
- Dotted numeric dates are day.month (Russian usage); a weekday means its next
  occurrence after today ("в среду" said on a Wednesday is a week later).
- 24-hour times are taken as written ("17:30", "в 18").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateparser.date import DateDataParser

from crm.errors import InvalidInput

DEFAULT_TIME = time(9, 0)
WORKDAY = (time(9, 0), time(18, 0))  # office hours, Monday to Friday, local time
MAX_LEN = 100
_YEAR_AHEAD_LIMIT = timedelta(days=335)

_PART_OF_DAY_RU = {"утра": "am", "дня": "pm", "вечера": "pm", "ночи": "night"}
_VAGUE_TIMES = {
    "утром": "09:00",
    "днем": "13:00",
    "вечером": "18:00",
    "в полдень": "в 12:00",
}
_MONTH_WORD = (
    r"(?:янв|фев|мар|апр|ма[йя]|июн|июл|авг|сен|окт|ноя|дек"
    r"|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)"
)

_NUM_WORDS = {"a": 1, "an": 1, "one": 1, "": 1}
_DURATION_RU = re.compile(
    r"через\s+(?:(?P<n>\d{1,4})\s*)?(?P<unit>минут[уы]?|мин|час(?:а|ов)?|ч)\.?"
)
_DURATION_EN = re.compile(r"in\s+(?P<n>\d{1,4}|an?|one)\s*(?P<unit>minutes?|mins?|m|hours?|hrs?|h)")
_HALF_HOUR = re.compile(r"через\s+полчаса|in\s+half\s+an\s+hour|in\s+30\s*min")

_PART_OF_DAY_RE = re.compile(
    r"(?<![\d:])(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*(?P<hours>час(?:а|ов)?\s*)?"
    r"(?P<part>утра|дня|вечера|ночи)"
)
_DOTTED_TIME_RE = re.compile(r"\b(?P<prep>в|at)\s+(?P<h>\d{1,2})\.(?P<m>\d{2})(?![\d.])")
_BARE_HOUR_RE = re.compile(
    r"\b(?P<prep>в|at)\s+(?P<h>\d{1,2})(?:\s*(?:часов|часа|час|ч|o'?clock))?(?![\d:.])"
    r"(?!\s*(?:am|pm|a\.m|p\.m))(?!\s+" + _MONTH_WORD + r")"
)
_NUMERIC_DATE_RE = re.compile(
    r"(?<![\d:./-])(?P<a>\d{1,2})(?P<sep>[./])(?P<b>\d{1,2})"
    r"(?:(?P=sep)(?P<y>\d{4}|\d{2}))?(?![\d:./])"
)
_CLOCK_RE = re.compile(r"(?<![\d:.\-])(?P<h>\d{1,2}):(?P<m>\d{2})(?!\d)(?!\s*(?:am|pm|a\.m|p\.m))")
_TIME_ONLY_WORDS = re.compile(
    r"\b(?:в|at|on|сегодня|today|noon|полдень)\b"
    r"|(?<![\d.])\d{1,2}(?::\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)?(?![\d.])"
)
_ANY_CLOCK_RE = re.compile(r"(?<![\d:])(?P<h>\d{1,2}):(?P<m>\d{2})(?![\d:])")
_TRAILING_TIME_RE = re.compile(r"(?P<day>.+?)\s+(?:в\s+|at\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})")
_NEXT_THIS_RU = re.compile(r"\b(?:следующ(?:ий|ую|ее|ая)|эт(?:у|от|о|а))\s+(?=[а-я])")


def zone_of(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput("timezone", "unknown_value") from exc


def to_local(moment: datetime, tz: str | ZoneInfo) -> datetime:
    """An aware UTC moment shown in a user's timezone."""
    return moment.astimezone(zone_of(tz))


def next_working_hour(moment: datetime, tz: str | ZoneInfo) -> datetime:
    """The first whole hour after `moment` inside office hours (`WORKDAY`, Monday to
    Friday) in `tz`, as aware UTC: 13:20 on a Wednesday gives 14:00, 17:30 gives 09:00 the
    next working day, Saturday gives Monday 09:00."""
    zone = zone_of(tz)
    local = moment.astimezone(zone).replace(tzinfo=None)
    start, end = WORKDAY
    candidate = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while True:
        if candidate.time() < start:
            candidate = datetime.combine(candidate.date(), start)
        if candidate.weekday() >= 5 or candidate.time() >= end:
            candidate = datetime.combine(candidate.date() + timedelta(days=1), start)
            continue
        try:
            return localise(candidate, zone)
        except InvalidInput as err:  # inside a DST change: the later reading
            return max(err.params["options"])


def localise(naive: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time in `zone` as aware UTC; a time DST makes double or missing is ambiguous."""
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        options = sorted({first.astimezone(UTC), second.astimezone(UTC)})
        raise InvalidInput("when", "ambiguous", options=options)
    return first.astimezone(UTC)


def _normalise(text: str) -> str:
    s = " ".join(text.lower().replace("ё", "е").replace("\u00a0", " ").split())
    s = s.strip(" .,!;")
    s = _NEXT_THIS_RU.sub("", s)
    for vague, exact in _VAGUE_TIMES.items():
        s = re.sub(rf"\b{vague}\b", exact, s)
    s = _PART_OF_DAY_RE.sub(_part_of_day, s)
    s = _DOTTED_TIME_RE.sub(_dotted_time, s)
    s = _BARE_HOUR_RE.sub(lambda m: f"{m['prep']} {m['h']}:00", s)
    return s


def _part_of_day(m: re.Match[str]) -> str:
    hour, minute, part = int(m["h"]), int(m["m"] or 0), _PART_OF_DAY_RU[m["part"]]
    said_hour = m["m"] or m["hours"] or m.string[: m.start()].endswith(("в ", "к "))
    if not said_hour and m["part"] == "дня":
        return m.group(0)  # "через 3 дня" is three days, not 15:00
    if not (1 <= hour <= 12 and minute < 60):
        return m.group(0)
    if part == "am":
        hour %= 12
    elif part == "pm":
        hour = hour % 12 + 12
    else:  # ночи: "в 2 ночи" is 02:00, "в 11 ночи" is 23:00, "в 12 ночи" is midnight
        hour = 0 if hour == 12 else hour if hour <= 5 else hour + 12
    return f"{hour:02d}:{minute:02d}"


def _dotted_time(m: re.Match[str]) -> str:
    hour, minute = int(m["h"]), int(m["m"])
    if hour < 24 and minute < 60:
        return f"{m['prep']} {m['h']}:{m['m']}"
    return m.group(0)


def _duration(s: str) -> timedelta | None:
    if _HALF_HOUR.fullmatch(s):
        return timedelta(minutes=30)
    for pattern in (_DURATION_RU, _DURATION_EN):
        m = pattern.fullmatch(s)
        if m:
            raw = m["n"] or ""
            n = int(raw) if raw.isdigit() else _NUM_WORDS[raw]
            unit = m["unit"]
            hours = unit.startswith(("ч", "h"))
            return timedelta(hours=n) if hours else timedelta(minutes=n)
    return None


class _Candidates(Exception):
    """Internal: the text has several readings, given as alternative texts."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts


def _rewrite_dates(s: str, today: date) -> tuple[str, bool]:
    """Numeric dates to ISO; returns the text and whether a date lacked its year."""
    yearless = False

    def replace(m: re.Match[str]) -> str:
        nonlocal yearless
        a, b, sep = int(m["a"]), int(m["b"]), m["sep"]
        if sep == ".":
            if not (1 <= b <= 12 and 1 <= a <= 31):
                if m["y"] is None and a < 24 and b < 60:
                    return f"{a}:{b:02d}"  # "10.30" alone is a time
                raise InvalidInput("when", "unparsed")
            day, month = a, b
        elif a > 12 and b <= 12:
            day, month = a, b
        elif b > 12 and a <= 12:
            day, month = b, a
        elif a == b:
            day = month = a
        elif a <= 12 and b <= 12:
            whole = m.group(0)
            readings = [f"{a}.{b}", f"{b}.{a}"]
            if m["y"]:
                readings = [f"{r}.{m['y']}" for r in readings]
            raise _Candidates([s.replace(whole, r, 1) for r in readings])
        else:
            raise InvalidInput("when", "unparsed")
        if m["y"] is None:
            yearless = True
            year = today.year
            try:
                if date(year, month, day) < today:
                    year += 1
            except ValueError as exc:
                raise InvalidInput("when", "unparsed") from exc
        else:
            year = int(m["y"]) + (2000 if len(m["y"]) == 2 else 0)
        try:
            return date(year, month, day).isoformat()
        except ValueError as exc:
            raise InvalidInput("when", "unparsed") from exc

    return _NUMERIC_DATE_RE.sub(replace, s), yearless


def _check_clock_hours(s: str) -> None:
    """A single-digit hour 1-7 with no am/pm or part of day: morning or evening?"""
    for m in _CLOCK_RE.finditer(s):
        if len(m["h"]) == 1 and 1 <= int(m["h"]) <= 7:
            morning = f"{int(m['h']):02d}:{m['m']}"
            evening = f"{int(m['h']) + 12}:{m['m']}"
            head, tail = s[: m.start()], s[m.end() :]
            raise _Candidates([head + morning + tail, head + evening + tail])


def _dateparser(s: str, local_now: datetime) -> tuple[datetime, str] | None:
    parser = DateDataParser(
        languages=["ru", "en"],
        settings={
            # dateparser reports a time of day as given only when it differs from the
            # base, so "завтра в 10:30" said at 10:30 would lose its time: an odd
            # microsecond makes every written time differ
            "RELATIVE_BASE": local_now.replace(tzinfo=None, microsecond=123457),
            "PREFER_DATES_FROM": "future",
            "DATE_ORDER": "DMY",
            "RETURN_TIME_AS_PERIOD": True,
        },
    )
    data = parser.get_date_data(s)
    if data.date_obj is None:
        return None
    return data.date_obj, data.period or "day"


_PLAIN_RE = re.compile(
    r"(?:(?P<iso>\d{4}-\d{2}-\d{2})|(?P<tomorrow>завтра|tomorrow))?"
    r"(?:(?(iso)\s+|(?(tomorrow)\s+|))(?:в\s+|at\s+)?(?P<h>\d{1,2}):(?P<m>\d{2}))?"
)


def _plain(s: str, local_now: datetime) -> tuple[datetime, str] | None:
    """The common forms read without dateparser (a few milliseconds of CPU a call): a
    date (as `_rewrite_dates` left it, ISO), "завтра"/"tomorrow", or neither, with or
    without a clock time after it ("2026-12-08 10:00", "завтра в 15:30", "17:45"). The
    same reading dateparser gives (tests/unit/test_when.py compares them); None for
    anything else."""
    m = _PLAIN_RE.fullmatch(s)
    if m is None or not (m["iso"] or m["tomorrow"] or m["h"]):
        return None
    if m["iso"]:
        try:
            day = date.fromisoformat(m["iso"])
        except ValueError:
            return None
    else:
        day = local_now.date() + timedelta(days=1 if m["tomorrow"] else 0)
    if m["h"] is None:
        return datetime.combine(day, time(0, 0)), "day"
    hour, minute = int(m["h"]), int(m["m"])
    if hour > 23 or minute > 59:
        return None
    return datetime.combine(day, time(hour, minute)), "time"


def _day_then_time(s: str, local_now: datetime) -> tuple[datetime, str] | None:
    """dateparser reads "in 3 days at 10:00" but not "через 3 дня в 10:00": split it."""
    m = _TRAILING_TIME_RE.fullmatch(s)
    if m is None:
        return None
    day = _dateparser(m["day"], local_now)
    if day is None or not (int(m["h"]) < 24 and int(m["m"]) < 60):
        return None
    return datetime.combine(day[0].date(), time(int(m["h"]), int(m["m"]))), "time"


def parse_when(text: str, tz: str | ZoneInfo, now: datetime | None = None) -> datetime:
    """The moment `text` names, as aware UTC; see the module docstring for the rules."""
    zone = zone_of(tz)
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now_utc = (now or datetime.now(UTC)).astimezone(UTC)
    if not text or not text.strip() or len(text) > MAX_LEN:
        raise InvalidInput("when", "unparsed")
    normalised = _normalise(text)
    _check_clock_exists(normalised)
    return _resolve(normalised, zone, now_utc, allow_choice=True)


def _check_clock_exists(s: str) -> None:
    """ "25:00" or "в 10.75" is no time of day: refused rather than read as a day alone."""
    for m in _ANY_CLOCK_RE.finditer(s):
        if int(m["h"]) > 23 or int(m["m"]) > 59:
            raise InvalidInput("when", "bad_clock", time=m.group(0))
    for m in _DOTTED_TIME_RE.finditer(s):  # left as written by _dotted_time when impossible
        raise InvalidInput("when", "bad_clock", time=f"{m['h']}.{m['m']}")


def _resolve(s: str, zone: ZoneInfo, now_utc: datetime, *, allow_choice: bool) -> datetime:
    try:
        return _resolve_one(s, zone, now_utc)
    except _Candidates as many:
        if not allow_choice:
            raise InvalidInput("when", "ambiguous") from None
        options = _options(many.texts, lambda t: _resolve(t, zone, now_utc, allow_choice=False))
        if not options:
            raise InvalidInput("when", "past") from None
        # asked back even when one reading is already past: "03/04" on 5 March may well
        # have meant the 4 March that just went by
        raise InvalidInput("when", "ambiguous", options=options) from None


def _options(texts: list[str], resolve: Callable[[str], datetime]) -> list[datetime]:
    found: list[datetime] = []
    for t in texts:
        try:
            found.append(resolve(t))
        except InvalidInput:
            continue
    return sorted(set(found))


def _resolve_one(s: str, zone: ZoneInfo, now_utc: datetime) -> datetime:
    span = _duration(s)
    if span is not None:
        if span <= timedelta(0):
            raise InvalidInput("when", "past")
        return now_utc + span

    local_now = now_utc.astimezone(zone)
    s, yearless = _rewrite_dates(s, local_now.date())
    _check_clock_hours(s)
    parsed = _plain(s, local_now) or _dateparser(s, local_now) or _day_then_time(s, local_now)
    if parsed is None:
        raise InvalidInput("when", "unparsed")
    moment, period = parsed
    if _TIME_ONLY_WORDS.sub("", s).strip() == "":
        # a bare time is today's: one that has passed is asked back, not moved to tomorrow
        moment = datetime.combine(local_now.date(), moment.time(), moment.tzinfo)
    if moment.tzinfo is not None:
        result = moment.astimezone(UTC)
    else:
        if period not in ("time", "part_of_day"):
            moment = datetime.combine(moment.date(), DEFAULT_TIME)
        result = localise(moment, zone)
    if result <= now_utc:
        raise InvalidInput("when", "past", at=result)
    has_month_word = re.search(r"(?<![а-яa-z])" + _MONTH_WORD, s) is not None
    explicit_year = re.search(r"\b\d{4}\b", s) is not None and not yearless
    if (yearless or (has_month_word and not explicit_year)) and (
        result - now_utc > _YEAR_AHEAD_LIMIT
    ):
        # the day went by this year: said so, with the same day next year to pick
        local = result.astimezone(zone)
        try:
            this_year = localise(local.replace(year=local.year - 1, tzinfo=None), zone)
        except (ValueError, InvalidInput):
            raise InvalidInput("when", "past", options=[result]) from None
        raise InvalidInput("when", "past", at=this_year, options=[result])
    return result
