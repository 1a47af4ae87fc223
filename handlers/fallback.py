"""The last router: what nobody else took gets a hint instead of silence."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _


async def unknown_command(message: Message) -> None:
    await message.answer(_("I do not know this command. /help lists what I can do."))


async def not_understood(message: Message) -> None:
    await message.answer(
        _(
            "I did not understand. Start with a command, e.g. /find or /company; "
            "/help lists them all. Forward a client's message to log it, "
            "or share a contact card to add it."
        )
    )


async def dialog_expects_text(message: Message) -> None:
    await message.answer(_("Please answer the question above with text, or press Cancel."))


async def stale_button(callback: CallbackQuery) -> None:
    await callback.answer(_("This button is out of date. Run the command again."), show_alert=True)


def setup() -> Router:
    router = Router(name="fallback")
    router.message.register(unknown_command, F.text.startswith("/"))
    router.message.register(not_understood, StateFilter(None))
    router.message.register(dialog_expects_text)
    router.callback_query.register(stale_button)
    return router
