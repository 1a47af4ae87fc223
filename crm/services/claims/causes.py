"""Claims: the causes (a director's list) and the SLA per priority."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from crm import validation
from crm.access import Actor, require_role
from crm.errors import Conflict, InvalidInput
from crm.models import AppSetting, Claim, ClaimCause
from crm.models.enums import ClaimPriority, Role
from crm.services.claims.common import (
    _CAUSE_CODE,
    DEFAULT_CAUSES,
    DEFAULT_SLA_DAYS,
    SLA_MAX_DAYS,
    SLA_SETTING,
)
from crm.uow import UnitOfWork


def _insert_ignoring_duplicates(uow: UnitOfWork, rows: list[dict[str, Any]]) -> Any:
    dialect = uow.session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(ClaimCause).values(rows).on_conflict_do_nothing(index_elements=["code"])


async def ensure_default_causes(uow: UnitOfWork) -> None:
    """Insert the default causes that are missing; safe to call any number of times.

    Runs inside the caller's open unit of work (it is part of the caller's transaction).
    """
    rows = [{"code": code, "title": title} for code, title in DEFAULT_CAUSES.items()]
    await uow.session.execute(_insert_ignoring_duplicates(uow, rows))


def _other_last(causes: list[ClaimCause]) -> list[ClaimCause]:
    """By code, with "other" (the catch-all) at the end of every list and picker."""
    return sorted(causes, key=lambda cause: (cause.code == "other", cause.code))


async def list_causes(uow: UnitOfWork) -> list[ClaimCause]:
    """Every cause, the defaults included (seeded on first use); "other" last."""
    async with uow.read_only():
        causes = list(await uow.session.scalars(select(ClaimCause).order_by(ClaimCause.code)))
    if set(DEFAULT_CAUSES) <= {c.code for c in causes}:
        return _other_last(causes)
    async with uow:
        await ensure_default_causes(uow)
        causes = list(await uow.session.scalars(select(ClaimCause).order_by(ClaimCause.code)))
        await uow.commit()
    return _other_last(causes)


async def add_cause(uow: UnitOfWork, actor: Actor, code: str, title: str) -> ClaimCause:
    require_role(actor, Role.DIRECTOR, entity="claim_causes")
    code = validation.text("code", code, max_len=32).lower()
    if not _CAUSE_CODE.match(code):
        raise InvalidInput("code", "invalid")
    title = validation.text("title", title, max_len=validation.SHORT_MAX)
    async with uow:
        await ensure_default_causes(uow)
        if await uow.session.get(ClaimCause, code) is not None:
            raise Conflict("duplicate", field="code", value=code)
        cause = ClaimCause(code=code, title=title)
        uow.session.add(cause)
        await uow.flush()
        uow.audit(
            actor.id, ("claim_causes", 0), "create", {"code": [None, code], "title": [None, title]}
        )
        await uow.commit()
    return cause


async def _cause(uow: UnitOfWork, code: str) -> ClaimCause:
    await ensure_default_causes(uow)
    cause = await uow.session.get(
        ClaimCause, str(code or "").strip().lower()[:32], with_for_update=True
    )
    if cause is None:
        raise InvalidInput("cause", "not_found")
    return cause


async def claims_with_cause(uow: UnitOfWork, actor: Actor, code: str) -> int:
    """How many claims (open or closed) carry this cause; for the directors."""
    require_role(actor, Role.DIRECTOR, entity="claim_causes")
    async with uow.read_only():
        count = await uow.session.scalar(select(func.count(Claim.id)).where(Claim.cause == code))
    return int(count or 0)


async def rename_cause(uow: UnitOfWork, actor: Actor, code: str, title: str) -> ClaimCause:
    """A director renames a cause; its code stays, so the claims keep pointing at it."""
    require_role(actor, Role.DIRECTOR, entity="claim_causes")
    title = validation.text("title", title, max_len=validation.SHORT_MAX)
    async with uow:
        cause = await _cause(uow, code)
        others = await uow.session.scalars(
            select(ClaimCause.title).where(ClaimCause.code != cause.code)
        )
        if title.casefold() in {t.casefold() for t in others}:
            raise InvalidInput("title", "duplicate")
        if cause.title != title:
            uow.audit(
                actor.id,
                ("claim_causes", 0),
                "update",
                {"code": [cause.code, cause.code], "title": [cause.title, title]},
            )
            cause.title = title
        await uow.commit()
    return cause


async def remove_cause(uow: UnitOfWork, actor: Actor, code: str) -> str:
    """A director removes a cause no claim uses; returns its title.

    A cause that claims use is refused (`Conflict("cause_in_use", count=N)`) rather than
    deleted, so old claims never lose it; the built-in ones come back on their own and are
    refused too (`Conflict("cause_builtin")`): rename them instead.
    """
    require_role(actor, Role.DIRECTOR, entity="claim_causes")
    async with uow:
        cause = await _cause(uow, code)
        if cause.code in DEFAULT_CAUSES:
            raise Conflict("cause_builtin", code=cause.code)
        used = await uow.session.scalar(
            select(func.count(Claim.id)).where(Claim.cause == cause.code)
        )
        if used:
            raise Conflict("cause_in_use", code=cause.code, count=int(used))
        title = cause.title
        uow.audit(
            actor.id,
            ("claim_causes", 0),
            "delete",
            {"code": [cause.code, None], "title": [title, None]},
        )
        await uow.session.delete(cause)
        await uow.commit()
    return title


async def _read_sla(uow: UnitOfWork) -> dict[str, int]:
    setting = await uow.session.get(AppSetting, SLA_SETTING)
    days = {str(k): v for k, v in DEFAULT_SLA_DAYS.items()}
    if setting is not None and isinstance(setting.value, dict):
        for key, value in setting.value.items():
            if key in days and isinstance(value, int) and 0 < value <= SLA_MAX_DAYS:
                days[key] = value
    return days


async def sla_days(uow: UnitOfWork) -> dict[str, int]:
    """The SLA in days per priority: the defaults overridden by the director's setting."""
    async with uow.read_only():
        return await _read_sla(uow)


async def set_sla_days(uow: UnitOfWork, actor: Actor, days: dict[str, int]) -> dict[str, int]:
    """A director changes the SLA of some priorities; claims filed later use it."""
    require_role(actor, Role.DIRECTOR, entity="settings")
    cleaned: dict[str, int] = {}
    for key, value in days.items():
        priority = validation.choice("priority", key, ClaimPriority).value
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= SLA_MAX_DAYS:
            raise InvalidInput("sla_days", "out_of_range", min=1, max=SLA_MAX_DAYS)
        cleaned[priority] = value
    async with uow:
        current = await _read_sla(uow)
        new = {**current, **cleaned}
        setting = await uow.session.get(AppSetting, SLA_SETTING)
        if setting is None:
            uow.session.add(AppSetting(key=SLA_SETTING, value=new))
        else:
            setting.value = new
        if new != current:
            uow.audit(actor.id, ("app_settings", 0), "update", {SLA_SETTING: [current, new]})
        await uow.commit()
    return new
