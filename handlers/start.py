"""/start [code]: registration from an invite (also the deep link t.me/<bot>?start=<code>)."""

from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.analytics.digest import receives_digest
from crm.models.enums import Role
from crm.services import people
from crm.settings import Settings
from crm.uow import UnitOfWork
from handlers.words import role_name
from notifications.reminders import ReminderRuntime


def welcome(actor: Actor, new: bool) -> str:
    first = (
        _("Welcome, {name}! You are registered as {role}.")
        if new
        else _("Hello again, {name}! You are registered as {role}.")
    )
    lines = [
        first.format(name=escape(actor.name), role=role_name(actor.role)),
        "",
        _("What next:"),
        _("/company — add your first client company"),
        _("/remind — set a reminder, e.g. “tomorrow 15:00; call back”"),
    ]
    if actor.role is not Role.MANAGER:
        lines.append(_("/invite — invite your colleagues"))
    lines += [
        _("/settings — language, timezone and the time of your daily digest")
        if receives_digest(actor.role)
        else _("/settings — language and timezone"),
        _("/help — everything the bot can do"),
    ]
    return "\n".join(lines)


async def start(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    actor: Actor | None,
    settings: Settings,
    i18n: I18n,
    reminders: ReminderRuntime | None = None,
) -> None:
    if actor is not None:
        # a user who had blocked the bot and came back gets their reminders again
        await people.mark_reachable(uow, actor)
        if reminders is not None:
            reminders.sender.unblock(actor.tg_id)
        await message.answer(welcome(actor, new=False))
        return
    user = message.from_user
    assert user is not None
    manager = await people.register(
        uow,
        tg_id=user.id,
        name=user.full_name,
        username=user.username,
        language=user.language_code,
        code=command.args,
        admin_ids=settings.admin_ids,
        default_timezone=settings.default_timezone,
        digest_time=settings.digest_time,
    )
    registered = Actor.of(manager)
    with i18n.use_locale(registered.language):
        await message.answer(welcome(registered, new=True))


def setup() -> Router:
    router = Router(name="start")
    router.message.register(start, CommandStart())
    return router
