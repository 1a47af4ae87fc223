"""/help: what the bot can do, for this user's role."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from handlers.commands import commands_for


def help_text(actor: Actor) -> str:
    lines = [_("<b>What I can do</b>"), ""]
    for command in commands_for(actor.role):
        args = command.usage_for(actor.role)
        usage = f" <i>{_(args)}</i>" if args else ""
        lines.append(f"/{command.name}{usage} — {_(command.description_for(actor.role))}")
    lines += [
        "",
        _("Commands with arguments take them on one line, separated by “;”."),
        _("Without arguments, the bot asks step by step."),
    ]
    return "\n".join(lines)


async def show_help(message: Message, actor: Actor) -> None:
    await message.answer(help_text(actor))


def setup() -> Router:
    router = Router(name="help")
    router.message.register(show_help, Command("help"))
    return router
