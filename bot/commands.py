"""Telegram's command menu, from the command table of handlers/commands.py."""

from __future__ import annotations

from aiogram import Bot
from aiogram.types import BotCommand
from aiogram.utils.i18n import I18n

from crm.models.enums import Role
from handlers.commands import COMMANDS


async def set_bot_commands(bot: Bot, i18n: I18n) -> None:
    """The command menu in English (the default) and in Russian."""
    for language in ("en", "ru"):
        commands = [
            # the menu is the same for everyone: the words true for every role
            BotCommand(
                command=c.name,
                description=i18n.gettext(c.description_for(Role.MANAGER), locale=language),
            )
            for c in COMMANDS
        ]
        await bot.set_my_commands(commands, language_code=None if language == "en" else language)
