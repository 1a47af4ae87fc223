"""Company-wide settings a director changes from the bot, kept in `app_settings`.

`forgotten_days`: a client with no interaction for this many days is "forgotten": the
daily job gives its curator a task, and /report forgotten counts from it when no N is
given. Read on every use, so a change applies from the next run without a restart.

`company_name`, `sender_name`, `signature`: how the company's emails present it
(`MailIdentity`): the organiser of an invitation, the From display name, the signature.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from crm import validation
from crm.access import Actor, require_role
from crm.errors import InvalidInput
from crm.models import AppSetting
from crm.models.enums import Role
from crm.uow import UnitOfWork

FORGOTTEN_SETTING = "forgotten_days"
DEFAULT_FORGOTTEN_DAYS = 30
FORGOTTEN_MIN_DAYS = 1
FORGOTTEN_MAX_DAYS = 365


def _valid_days(value: object) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and FORGOTTEN_MIN_DAYS <= value <= FORGOTTEN_MAX_DAYS
    )


async def read_forgotten_days(uow: UnitOfWork) -> int:
    """The setting inside a transaction already open; the default when unset or unusable."""
    setting = await uow.session.get(AppSetting, FORGOTTEN_SETTING)
    if setting is not None and _valid_days(setting.value):
        return int(setting.value)
    return DEFAULT_FORGOTTEN_DAYS


async def forgotten_days(uow: UnitOfWork) -> int:
    """After how many days without an interaction a client counts as forgotten."""
    async with uow.read_only():
        return await read_forgotten_days(uow)


async def set_forgotten_days(uow: UnitOfWork, actor: Actor, days: object) -> int:
    """A director changes the forgotten-client threshold; audited, bad input writes nothing."""
    require_role(actor, Role.DIRECTOR, entity="settings")
    if isinstance(days, str):
        text = days.strip()
        if not text.isdigit():
            raise InvalidInput("days", "not_a_number")
        days = int(text)
    if not _valid_days(days):
        raise InvalidInput("days", "out_of_range", min=FORGOTTEN_MIN_DAYS, max=FORGOTTEN_MAX_DAYS)
    assert isinstance(days, int)
    async with uow:
        current = await read_forgotten_days(uow)
        setting = await uow.session.get(AppSetting, FORGOTTEN_SETTING)
        if setting is None:
            uow.session.add(AppSetting(key=FORGOTTEN_SETTING, value=days))
        else:
            setting.value = days
        if days != current:
            uow.audit(actor.id, ("app_settings", 0), "update", {FORGOTTEN_SETTING: [current, days]})
        await uow.commit()
    return days


# ------------------------------------------------------------------ how the company writes

COMPANY_NAME = "company_name"
SENDER_NAME = "sender_name"
SIGNATURE = "signature"
MAIL_SETTINGS = {COMPANY_NAME: 200, SENDER_NAME: 200, SIGNATURE: 1000}  # key -> max length


@dataclass(frozen=True)
class MailIdentity:
    """What the company's emails say of it: the organiser's company name (invitations),
    the From display name and the signature (invitations and mailings)."""

    company_name: str = ""
    sender_name: str = ""
    signature: str = ""


async def read_mail_identity(uow: UnitOfWork) -> MailIdentity:
    """Inside a transaction already open; empty strings for what is unset."""
    rows = await uow.session.scalars(
        select(AppSetting).where(AppSetting.key.in_(tuple(MAIL_SETTINGS)))
    )
    values = {r.key: r.value for r in rows if isinstance(r.value, str)}
    return MailIdentity(
        company_name=values.get(COMPANY_NAME, ""),
        sender_name=values.get(SENDER_NAME, ""),
        signature=values.get(SIGNATURE, ""),
    )


async def mail_identity(uow: UnitOfWork) -> MailIdentity:
    async with uow.read_only():
        return await read_mail_identity(uow)


async def set_mail_setting(uow: UnitOfWork, actor: Actor, key: str, value: str | None) -> str:
    """A director sets the company name, the sender name or the signature (empty: unset);
    audited, bad input writes nothing."""
    require_role(actor, Role.DIRECTOR, entity="settings")
    if key not in MAIL_SETTINGS:
        raise InvalidInput("setting", "unknown_value", allowed=list(MAIL_SETTINGS))
    text = validation.optional_text(key, value, max_len=MAIL_SETTINGS[key]) or ""
    if key != SIGNATURE and ("\n" in text or "\r" in text):
        raise InvalidInput(key, "invalid")
    async with uow:
        setting = await uow.session.get(AppSetting, key)
        current = setting.value if setting is not None and isinstance(setting.value, str) else ""
        if setting is None:
            uow.session.add(AppSetting(key=key, value=text))
        else:
            setting.value = text
        if text != current:
            uow.audit(actor.id, ("app_settings", 0), "update", {key: [current, text]})
        await uow.commit()
    return text
