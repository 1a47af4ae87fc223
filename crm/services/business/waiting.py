"""Waiting clients: a client's message the manager has not answered within REPLY_SLA
working minutes.

A linked chat's `waiting_since` is its first client message since the manager last wrote
in it (crm.services.business.chats keeps it). Its deadline is `reply_sla` minutes of the
company's working hours later, counted in the manager's timezone (`deadline`, a pure
rule). Past it, the job claims the chat once (a conditional UPDATE of
`waiting_reminded_at`) and the manager gets one reminder; the manager's answer clears the
wait, and the next unanswered message starts another. /today lists the actor's waiting
clients (a head's: their department's, a director's: everyone's), the digest counts them.
A disconnected account's chats wait for nobody: the bot no longer sees the manager's
answers there, so neither the job nor /today nor the digest counts them.

Company settings (`app_settings`): `reply_sla` (minutes, default 120) and `working_hours`
("09:00-18:00" on Monday to Friday by default).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select, update

from crm import when
from crm.access import Actor, require_role, visible_owner
from crm.db import rowcount
from crm.errors import InvalidInput
from crm.models import AppSetting, BusinessChat, BusinessConnection, Contact, Manager, utcnow
from crm.models.enums import ChatStatus, Role
from crm.uow import UnitOfWork

SLA_SETTING = "reply_sla"
HOURS_SETTING = "working_hours"
DEFAULT_SLA = 120
SLA_MIN, SLA_MAX = 5, 24 * 60
DEFAULT_HOURS = (time(9, 0), time(18, 0))
WORKDAYS = frozenset(range(5))  # Monday to Friday
LISTED = 20
_HOURS = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*[-–—]\s*(\d{1,2})[:.](\d{2})\s*$")


@dataclass(frozen=True)
class Rules:
    sla_minutes: int = DEFAULT_SLA
    start: time = DEFAULT_HOURS[0]
    end: time = DEFAULT_HOURS[1]


def deadline(since: datetime, rules: Rules, tz: str) -> datetime:
    """The moment `rules.sla_minutes` working minutes have passed since `since` (aware UTC):
    only the time between `start` and `end`, Monday to Friday, in `tz` counts."""
    zone = when.zone_of(tz)
    local = since.astimezone(zone)
    left = timedelta(minutes=rules.sla_minutes)
    day = local.date()
    cursor = local
    for _ in range(3700):  # at most ten years of days: a safety net, never reached
        if day.weekday() in WORKDAYS:
            opens = datetime.combine(day, rules.start, zone)
            closes = datetime.combine(day, rules.end, zone)
            begin = max(cursor, opens)
            if begin < closes:
                if begin + left <= closes:
                    return (begin + left).astimezone(UTC)
                left -= closes - begin
        day += timedelta(days=1)
        cursor = datetime.combine(day, time(0), zone)
    raise ValueError("no working time")  # pragma: no cover


def parse_hours(text: str) -> tuple[time, time]:
    """'9:00-18:00' -> (09:00, 18:00); InvalidInput("working_hours", ...) otherwise."""
    match = _HOURS.match(text or "")
    if not match:
        raise InvalidInput("working_hours", "invalid")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise InvalidInput("working_hours", "invalid")
    start, end = time(h1, m1), time(23, 59) if h2 == 24 else time(h2, m2)
    if end <= start:
        raise InvalidInput("working_hours", "invalid")
    return start, end


async def read_rules(uow: UnitOfWork) -> Rules:
    """The company's settings inside an open transaction; defaults for what is unset."""
    rows = {
        r.key: r.value
        for r in await uow.session.scalars(
            select(AppSetting).where(AppSetting.key.in_((SLA_SETTING, HOURS_SETTING)))
        )
    }
    sla = rows.get(SLA_SETTING)
    minutes = sla if isinstance(sla, int) and SLA_MIN <= sla <= SLA_MAX else DEFAULT_SLA
    try:
        start, end = parse_hours(str(rows[HOURS_SETTING]))
    except (KeyError, InvalidInput):
        start, end = DEFAULT_HOURS
    return Rules(minutes, start, end)


async def rules(uow: UnitOfWork) -> Rules:
    async with uow.read_only():
        return await read_rules(uow)


async def set_rules(
    uow: UnitOfWork, actor: Actor, *, sla: object = None, hours: str | None = None
) -> Rules:
    """A director sets the reply time (minutes) and/or the working hours; audited."""
    require_role(actor, Role.DIRECTOR, entity="settings")
    values: dict[str, object] = {}
    if sla is not None:
        text = str(sla).strip()
        if not text.isdigit():
            raise InvalidInput("reply_sla", "not_a_number")
        if not SLA_MIN <= int(text) <= SLA_MAX:
            raise InvalidInput("reply_sla", "out_of_range", min=SLA_MIN, max=SLA_MAX)
        values[SLA_SETTING] = int(text)
    if hours is not None:
        start, end = parse_hours(hours)
        values[HOURS_SETTING] = f"{start:%H:%M}-{end:%H:%M}"
    async with uow:
        for key, value in values.items():
            setting = await uow.session.get(AppSetting, key)
            old = setting.value if setting is not None else None
            if setting is None:
                uow.session.add(AppSetting(key=key, value=value))
            else:
                setting.value = value
            if old != value:
                uow.audit(actor.id, ("app_settings", 0), "update", {key: [old, value]})
        await uow.flush()
        result = await read_rules(uow)
        await uow.commit()
    return result


@dataclass(frozen=True)
class Waiting:
    """A client waiting for an answer: who, since when, whose chat."""

    chat_ref: int
    contact_id: int
    name: str
    since: datetime
    manager_id: int
    manager_name: str
    overdue: bool


async def _waiting_rows(uow: UnitOfWork, *where: object):  # type: ignore[no-untyped-def]
    return (
        await uow.session.execute(
            select(BusinessChat, Contact.name, Manager)
            .join(Contact, Contact.id == BusinessChat.contact_id)
            .join(Manager, Manager.id == BusinessChat.manager_id)
            .join(BusinessConnection, BusinessConnection.manager_id == BusinessChat.manager_id)
            .where(
                BusinessConnection.enabled.is_(True),
                BusinessChat.status == ChatStatus.LINKED.value,
                BusinessChat.waiting_since.is_not(None),
                *where,  # type: ignore[arg-type]
            )
            .order_by(BusinessChat.waiting_since, BusinessChat.id)
        )
    ).all()


async def waiting_for(
    uow: UnitOfWork, actor: Actor, now: datetime | None = None, overdue_only: bool = False
) -> list[Waiting]:
    """The clients waiting for an answer from the managers the actor may see (themself; a
    head's department; everyone for a director), the longest waiting first."""
    now = now or utcnow()
    async with uow.read_only():
        found = await read_rules(uow)
        rows = await _waiting_rows(uow, visible_owner(actor, BusinessChat.manager_id))
    result = []
    for chat, name, manager in rows:
        overdue = deadline(chat.waiting_since, found, manager.timezone) <= now
        if overdue or not overdue_only:
            result.append(
                Waiting(
                    chat.id,
                    chat.contact_id,
                    name,
                    chat.waiting_since,
                    manager.id,
                    manager.name,
                    overdue,
                )
            )
    return result


@dataclass(frozen=True)
class Due:
    """One reminder the job has claimed and must send."""

    waiting: Waiting
    chat_id: int  # the manager's chat with the bot
    language: str
    timezone: str


async def claim_due(uow: UnitOfWork, now: datetime | None = None) -> list[Due]:
    """Every waiting client past the deadline and not yet reminded of, claimed: each is
    returned to exactly one caller (however many processes run the job)."""
    now = now or utcnow()
    async with uow:
        found = await read_rules(uow)
        # a wait shorter than the SLA in wall time cannot be past it in working time
        rows = await _waiting_rows(
            uow,
            BusinessChat.waiting_reminded_at.is_(None),
            BusinessChat.waiting_since <= now - timedelta(minutes=found.sla_minutes),
            Manager.active.is_(True),
            Manager.bot_blocked.is_(False),
        )
        due: list[Due] = []
        for chat, name, manager in rows:
            if deadline(chat.waiting_since, found, manager.timezone) > now:
                continue
            claimed = await uow.session.execute(
                update(BusinessChat)
                .where(
                    BusinessChat.id == chat.id,
                    BusinessChat.waiting_since == chat.waiting_since,
                    BusinessChat.waiting_reminded_at.is_(None),
                )
                .values(waiting_reminded_at=now)
                .execution_options(synchronize_session=False)
            )
            if rowcount(claimed) == 1:
                waiting = Waiting(
                    chat.id,
                    chat.contact_id,
                    name,
                    chat.waiting_since,
                    manager.id,
                    manager.name,
                    True,
                )
                due.append(Due(waiting, manager.tg_id, manager.language, manager.timezone))
        await uow.commit()
    return due


def count_overdue(items: Sequence[Waiting]) -> int:
    return sum(1 for w in items if w.overdue)
