"""Staff: departments, invites, registration from the bot, and each person's own settings."""

from __future__ import annotations

import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from crm import timezones, validation
from crm.access import Actor, require_role
from crm.db import rowcount
from crm.errors import AccessDenied, InvalidInput, InviteInvalid, NotRegistered
from crm.models import Department, Invite, Manager, utcnow
from crm.models.enums import Role
from crm.uow import UnitOfWork

LANGUAGES = ("ru", "en")
INVITE_DAYS_MAX = 90
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.]([0-5]\d)$")


def language_of(code: str | None) -> str:
    """Telegram's language_code to one of ours: ru* -> ru, anything else -> en."""
    return "ru" if (code or "").lower().startswith("ru") else "en"


def clean_language(value: str) -> str:
    lang = (value or "").strip().lower()
    if lang not in LANGUAGES:
        raise InvalidInput("language", "unknown_value", allowed=list(LANGUAGES))
    return lang


def clean_timezone(value: str) -> str:
    """The IANA name of a timezone written in any case or as a city (crm/timezones.py)."""
    name = timezones.resolve(value)
    if name is None:
        raise InvalidInput("timezone", "unknown_timezone")
    return name


def clean_time(value: str | time) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    match = _TIME.match((value or "").strip())
    if not match:
        raise InvalidInput("digest_time", "invalid_time")
    return time(int(match.group(1)), int(match.group(2)))


# --- departments -------------------------------------------------------------------------


async def create_department(uow: UnitOfWork, actor: Actor, name: str) -> Department:
    require_role(actor, Role.DIRECTOR, entity="department")
    cleaned = validation.text("department", name)
    async with uow:
        exists = await uow.session.scalar(select(Department.id).where(Department.name == cleaned))
        if exists is not None:
            raise InvalidInput("department", "duplicate")
        department = Department(name=cleaned)
        uow.session.add(department)
        await uow.flush()
        uow.audit_created(actor.id, department)
        await uow.commit()
    return department


async def list_departments(uow: UnitOfWork, actor: Actor) -> list[Department]:
    require_role(actor, Role.DIRECTOR, entity="department")
    async with uow.read_only():
        rows = await uow.session.scalars(select(Department).order_by(Department.name))
        return list(rows)


# --- invites -----------------------------------------------------------------------------


def _new_code() -> str:
    """22 characters of [A-Za-z0-9_-]: fits a deep link (`?start=`, at most 64)."""
    return secrets.token_urlsafe(16)


async def _add_invite(
    uow: UnitOfWork,
    actor_id: int | None,
    role: Role,
    department_id: int | None,
    days: int,
) -> Invite:
    if department_id is not None and await uow.session.get(Department, department_id) is None:
        raise InvalidInput("department", "not_found")
    invite = Invite(
        code=_new_code(),
        role=role.value,
        department_id=department_id,
        created_by_id=actor_id,
        expires_at=utcnow() + timedelta(days=days),
    )
    uow.session.add(invite)
    await uow.flush()
    # the code is a credential: the audit log keeps what it grants, not the code itself
    uow.audit(
        actor_id,
        invite,
        "create",
        {
            "role": [None, invite.role],
            "department_id": [None, invite.department_id],
            "expires_at": [None, invite.expires_at],
        },
    )
    return invite


def _invite_days(days: int) -> int:
    if not 1 <= days <= INVITE_DAYS_MAX:
        raise InvalidInput("days", "out_of_range", min=1, max=INVITE_DAYS_MAX)
    return days


async def create_invite(
    uow: UnitOfWork,
    actor: Actor,
    role: Role | str,
    department_id: int | None = None,
    days: int = 7,
) -> Invite:
    """Heads invite managers into their own department; directors invite anyone anywhere."""
    wanted = validation.choice("role", role, Role)
    days = _invite_days(days)
    if actor.is_head:
        if wanted is not Role.MANAGER:
            raise AccessDenied("invite")
        if department_id not in (None, actor.department_id):
            raise AccessDenied("department")
        department_id = actor.department_id
    elif not actor.is_director:
        raise AccessDenied("invite")
    async with uow:
        invite = await _add_invite(uow, actor.id, wanted, department_id, days)
        await uow.commit()
    return invite


async def operator_invite(
    uow: UnitOfWork, role: Role | str, department_id: int | None = None, days: int = 7
) -> Invite:
    """An invite made by the operator from the command line (no member of staff acts)."""
    wanted = validation.choice("role", role, Role)
    days = _invite_days(days)
    async with uow:
        invite = await _add_invite(uow, None, wanted, department_id, days)
        await uow.commit()
    return invite


# --- registration ------------------------------------------------------------------------


async def _manager_by_tg(uow: UnitOfWork, tg_id: int) -> Manager | None:
    rows = await uow.session.scalars(select(Manager).where(Manager.tg_id == tg_id))
    return rows.first()


def _display_name(name: str | None, username: str | None, tg_id: int) -> str:
    cleaned = " ".join((name or "").split())[: validation.NAME_MAX]
    cleaned = "".join(ch for ch in cleaned if ord(ch) >= 32)
    return cleaned or (username or "") or str(tg_id)


async def register(
    uow: UnitOfWork,
    tg_id: int,
    name: str | None,
    username: str | None,
    language: str | None,
    code: str | None,
    admin_ids: Collection[int],
    default_timezone: str,
    digest_time: time,
) -> Manager:
    """The manager for this Telegram user, registering them if an invite or ADMIN_IDS allows.

    An already registered active user gets their record back and the code stays unused.
    The invite is marked used by a conditional UPDATE in the same transaction that
    creates the manager, so two people racing for one code cannot both get in.
    """
    code = (code or "").strip() or None
    try:
        return await _register(
            uow, tg_id, name, username, language, code, admin_ids, default_timezone, digest_time
        )
    except IntegrityError:
        # the same person pressed /start twice at once: the other call registered them
        async with uow.read_only():
            existing = await _manager_by_tg(uow, tg_id)
        if existing is None or not existing.active:
            raise
        return existing


async def _register(
    uow: UnitOfWork,
    tg_id: int,
    name: str | None,
    username: str | None,
    language: str | None,
    code: str | None,
    admin_ids: Collection[int],
    default_timezone: str,
    digest_time: time,
) -> Manager:
    async with uow:
        existing = await _manager_by_tg(uow, tg_id)
        if existing is not None and existing.active:
            return existing
        if code is None:
            if existing is None and tg_id in admin_ids:
                return await _create(
                    uow,
                    tg_id,
                    name,
                    username,
                    language,
                    Role.DIRECTOR,
                    None,
                    default_timezone,
                    digest_time,
                )
            raise NotRegistered()
        invite = (await uow.session.scalars(select(Invite).where(Invite.code == code))).first()
        if invite is None:
            raise InviteInvalid("unknown")
        if invite.used_at is not None:
            raise InviteInvalid("used")
        if invite.expires_at <= utcnow():
            raise InviteInvalid("expired")
        role = Role(invite.role)
        if existing is not None:
            # a former member of staff invited back: reactivated with the invite's role
            uow.apply(
                existing.id,
                existing,
                active=True,
                role=role.value,
                department_id=invite.department_id,
            )
            manager = existing
        else:
            manager = await _create(
                uow,
                tg_id,
                name,
                username,
                language,
                role,
                invite.department_id,
                default_timezone,
                digest_time,
                commit=False,
            )
        claimed = await uow.session.execute(
            update(Invite)
            .where(Invite.id == invite.id, Invite.used_at.is_(None))
            .values(used_at=utcnow(), used_by_id=manager.id)
            .execution_options(synchronize_session=False)
        )
        if rowcount(claimed) != 1:
            raise InviteInvalid("used")
        uow.audit(manager.id, invite, "use", {"used_by_id": [None, manager.id]})
        await uow.commit()
        await uow.session.refresh(manager, ["department"])
    return manager


async def _create(
    uow: UnitOfWork,
    tg_id: int,
    name: str | None,
    username: str | None,
    language: str | None,
    role: Role,
    department_id: int | None,
    default_timezone: str,
    digest_time: time,
    *,
    commit: bool = True,
) -> Manager:
    manager = Manager(
        tg_id=tg_id,
        name=_display_name(name, username, tg_id),
        username=(username or None) and username[:64],
        role=role.value,
        department_id=department_id,
        timezone=clean_timezone(default_timezone),
        language=language_of(language),
        digest_time=clean_time(digest_time),
        active=True,
    )
    uow.session.add(manager)
    await uow.flush()
    created = {
        k: [None, v]
        for k, v in manager.as_dict().items()
        if v is not None and k not in ("id", "created_at")
    }
    uow.audit(manager.id, manager, "create", _plain(created))
    if commit:
        await uow.commit()
        await uow.session.refresh(manager, ["department"])
    return manager


async def actor_for(uow: UnitOfWork, tg_id: int) -> Actor | None:
    """The acting member of staff for a Telegram user; None for strangers and the deactivated.

    Kept in the unit of work's ActorCache (strangers are not: they are looked up each time,
    so that one who registers is let in at once).
    """
    cached = uow.actors.get(tg_id)
    if cached is not None:
        return cached
    generation = uow.actors.generation
    async with uow.read_only():
        manager = (
            await uow.session.scalars(
                select(Manager).where(Manager.tg_id == tg_id, Manager.active.is_(True))
            )
        ).first()
    if manager is None:
        return None
    actor = Actor.of(manager)
    uow.actors.put(tg_id, actor, generation)
    return actor


async def mark_reachable(uow: UnitOfWork, actor: Actor) -> bool:
    """The user wrote to the bot (/start), so they no longer block it: reminders go to them
    again. True if they had been marked `bot_blocked`; a conditional UPDATE, audited."""
    async with uow:
        result = await uow.session.execute(
            update(Manager)
            .where(Manager.id == actor.id, Manager.bot_blocked.is_(True))
            .values(bot_blocked=False, bot_blocked_at=None)
            .execution_options(synchronize_session=False)
        )
        changed = rowcount(result) == 1
        if changed:
            uow.audit(actor.id, ("managers", actor.id), "update", {"bot_blocked": [True, False]})
        await uow.commit()
    return changed


@dataclass(frozen=True, slots=True)
class Unreachable:
    """A member of staff just found to block the bot, and the leaders to tell (once)."""

    manager_id: int
    name: str
    leaders: list[Manager]


async def mark_unreachable(
    uow: UnitOfWork, tg_id: int, now: datetime | None = None
) -> Unreachable | None:
    """Telegram refused to deliver to `tg_id` (403): the member of staff is unreachable.

    A conditional UPDATE, audited: of several processes (or attempts) one changes the row
    and gets the result; None if nobody with that id is on staff or they are marked
    already. The leaders are their department's heads and the directors, active and
    reachable, never themselves.
    """
    async with uow:
        changed = (
            await uow.session.execute(
                update(Manager)
                .where(Manager.tg_id == tg_id, Manager.bot_blocked.is_(False))
                .values(bot_blocked=True, bot_blocked_at=now or utcnow())
                .returning(Manager.id, Manager.name, Manager.department_id)
                .execution_options(synchronize_session=False)
            )
        ).first()
        if changed is None:
            return None
        manager_id, name, department_id = changed
        uow.audit(None, ("managers", manager_id), "update", {"bot_blocked": [False, True]})
        heads = (Manager.role == Role.HEAD.value) & (Manager.department_id == department_id)
        leaders = list(
            await uow.session.scalars(
                select(Manager)
                .where(
                    Manager.active.is_(True),
                    Manager.bot_blocked.is_(False),
                    Manager.id != manager_id,
                    or_(Manager.role == Role.DIRECTOR.value, heads)
                    if department_id is not None
                    else Manager.role == Role.DIRECTOR.value,
                )
                .order_by(Manager.id)
            )
        )
        await uow.commit()
    return Unreachable(manager_id, name, leaders)


# --- own settings ------------------------------------------------------------------------


async def profile(uow: UnitOfWork, actor: Actor) -> Manager:
    """The actor's own record, with their settings."""
    async with uow.read_only():
        manager = await uow.session.get(Manager, actor.id)
        if manager is None or not manager.active:
            raise AccessDenied("manager")
        return manager


async def update_settings(
    uow: UnitOfWork,
    actor: Actor,
    language: str | None = None,
    timezone: str | None = None,
    digest_time: str | time | None = None,
) -> Manager:
    """Change one's own language, timezone or digest time; only the values given."""
    values: dict[str, object] = {}
    if language is not None:
        values["language"] = clean_language(language)
    if timezone is not None:
        values["timezone"] = clean_timezone(timezone)
    if digest_time is not None:
        values["digest_time"] = clean_time(digest_time)
    async with uow:
        manager = await uow.session.get(Manager, actor.id)
        if manager is None or not manager.active:
            raise AccessDenied("manager")
        if _apply(uow, actor.id, manager, values):
            await uow.commit()
    return manager


def _plain(changes: dict[str, list[object]]) -> dict[str, list[object]]:
    # uow.jsonable does not know datetime.time; the digest time is audited as "HH:MM"
    return {
        k: [v.strftime("%H:%M") if isinstance(v, time) else v for v in pair]
        for k, pair in changes.items()
    }


def _apply(uow: UnitOfWork, actor_id: int, manager: Manager, values: dict[str, object]) -> bool:
    changes: dict[str, list[object]] = {}
    for field, new in values.items():
        old = getattr(manager, field)
        if old != new:
            changes[field] = [old, new]
            setattr(manager, field, new)
    if changes:
        uow.audit(actor_id, manager, "update", _plain(changes))
    return bool(changes)
