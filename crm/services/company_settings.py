"""Company-wide settings a director changes from the bot, kept in `app_settings`.

`forgotten_days`: a client with no interaction for this many days is "forgotten": the
daily job gives its curator a task, and /report forgotten counts from it when no N is
given. Read on every use, so a change applies from the next run without a restart.
"""

from __future__ import annotations

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
