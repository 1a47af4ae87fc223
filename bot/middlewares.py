"""Per-update plumbing: a unit of work, the acting manager, and the door for strangers."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, TelegramObject, Update, User
from aiogram.utils.i18n import gettext as _

from bot.governor import answering
from crm.services import people
from crm.storage import Database
from handlers.errors import not_registered_text

START = re.compile(r"^/start(@\w+)?(\s|$)")
# the updates of a connected Telegram Business account's chats: whose they are is decided
# by their connection (crm.services.business), not by who wrote
BUSINESS_MESSAGES = frozenset(
    {"business_message", "edited_business_message", "deleted_business_messages"}
)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class AnswerLaneMiddleware(BaseMiddleware):
    """While an update is handled, what the bot sends to its chat is an answer to the
    user's own action: the governor's first lane (bot/governor/lanes.py)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat = data.get("event_chat")
        user: User | None = data.get("event_from_user")
        with answering(chat.id if chat is not None else user.id if user is not None else None):
            return await handler(event, data)


class DatabaseMiddleware(BaseMiddleware):
    """Puts `uow` (one UnitOfWork per update) and `actor` (crm.access.Actor or None) in the data.

    The unit of work is re-enterable: each service call opens and closes its own transaction.
    """

    def __init__(self, database: Database) -> None:
        self.database = database

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        uow = self.database.uow()
        data["uow"] = uow
        user: User | None = data.get("event_from_user")
        if isinstance(event, Update) and event.event_type in BUSINESS_MESSAGES:
            # a client's chat with a manager: nobody acts; the chat's connection tells whose
            data["actor"] = None
            return await handler(event, data)
        data["actor"] = (
            await people.actor_for(uow, user.id) if user is not None and not user.is_bot else None
        )
        return await handler(event, data)


def is_start_command(text: str | None) -> bool:
    return bool(text and START.match(text))


class RegisteredOnlyMiddleware(BaseMiddleware):
    """Nobody who is not registered gets anything but one polite line; /start registers.

    Must run after DatabaseMiddleware (needs `actor`) and the locale middleware.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if data.get("actor") is not None:
            return await handler(event, data)
        assert isinstance(event, Update)
        if event.event_type in BUSINESS_MESSAGES:
            return await handler(event, data)
        bot: Bot = data["bot"]
        if event.business_connection is not None:
            # a stranger connected the bot to their account: refused, nothing stored
            if event.business_connection.is_enabled:
                await bot.send_message(event.business_connection.user_chat_id, stranger_text())
            return None
        if event.message is not None:
            if is_start_command(event.message.text):
                return await handler(event, data)
            if event.message.chat.type == "private":
                await bot.send_message(event.message.chat.id, not_registered_text())
            return None
        if event.callback_query is not None:
            await bot.answer_callback_query(
                event.callback_query.id, not_registered_text(), show_alert=True
            )
            return None
        return None  # anything else from a stranger is dropped without an answer


def stranger_text() -> str:
    return _(
        "This bot logs client chats for the staff of its company only, so it has not "
        "connected to your account and keeps nothing of it. You can remove it in "
        "Telegram Business → Chatbots."
    )


class CommandEndsDialog(BaseMiddleware):
    """A new command abandons the dialog in progress, as a user expects of a chat; so does a
    forwarded message or a shared contact card, which are handled as themselves (a forward
    is never a company name typed into the dialog).

    Runs as an outer middleware on messages, where aiogram has already put `state`.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        state: FSMContext | None = data.get("state")
        text = getattr(event, "text", None)
        new_thing = (text and text.startswith("/")) or (
            isinstance(event, Message)
            and (event.forward_origin is not None or event.contact is not None)
        )
        if state is not None and new_thing and data.get("raw_state"):
            await state.clear()
            data["raw_state"] = None
        return await handler(event, data)
