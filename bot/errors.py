"""One place that answers every error a handler lets through, in the user's language.

Handlers let crm errors propagate; the handlers registered here answer the user with the
words of handlers/errors.py (`describe`), where a new field or reason gets its words.
"""

from __future__ import annotations

import contextlib
import logging

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import CallbackQuery, ErrorEvent, Message, User
from aiogram.utils.i18n import gettext as _

from bot.fsm_resilience import DialogsUnavailable
from bot.governor import answering
from crm.errors import CRMError
from handlers.errors import describe

logger = logging.getLogger("chatcrm.bot")


async def tell(event: ErrorEvent, bot: Bot, text: str) -> None:
    """Answer where the failed update came from: an alert for a button, else a message."""
    update = event.update
    query = update.callback_query
    message = update.message or update.edited_message
    if query is not None and isinstance(query.message, Message):
        message = query.message
    with answering(message.chat.id if message is not None else None):
        await _tell(bot, query, message, text)


async def _tell(bot: Bot, query: CallbackQuery | None, message: Message | None, text: str) -> None:
    try:
        if query is not None:
            try:
                await bot.answer_callback_query(query.id, text, show_alert=True)
                return
            except TelegramBadRequest:  # already answered or too old: say it in the chat
                if message is None:
                    raise
        if message is not None:
            await bot.send_message(message.chat.id, text)
    except TelegramAPIError as exc:
        logger.warning("could not tell the user about an error: %s", type(exc).__name__)


async def on_dialogs_unavailable(event: ErrorEvent, bot: Bot) -> None:
    """The dialog store (Redis) does not answer: commands without a dialog still work."""
    await tell(
        event,
        bot,
        _(
            "Step-by-step dialogs are temporarily unavailable: try again in a minute. "
            "Commands with everything on one line work now."
        ),
    )


async def on_crm_error(event: ErrorEvent, bot: Bot) -> None:
    await tell(event, bot, describe(event.exception))  # type: ignore[arg-type]


async def on_unexpected_error(
    event: ErrorEvent, bot: Bot, event_from_user: User | None = None
) -> None:
    exc = event.exception
    if isinstance(exc, TelegramBadRequest) and "message is not modified" in str(exc):
        # a button pressed twice: nothing to say, but stop the button's spinner
        if event.update.callback_query is not None:
            with contextlib.suppress(TelegramAPIError):
                await bot.answer_callback_query(event.update.callback_query.id)
        return
    logger.error(
        "unexpected error in update %s (user %s)",
        event.update.update_id,
        event_from_user.id if event_from_user else None,
        exc_info=exc,
    )
    await tell(event, bot, _("Something went wrong, nothing was changed."))


def setup_errors(dp: Dispatcher) -> None:
    dp.errors.register(on_dialogs_unavailable, ExceptionTypeFilter(DialogsUnavailable))
    dp.errors.register(on_crm_error, ExceptionTypeFilter(CRMError))
    dp.errors.register(on_unexpected_error)
