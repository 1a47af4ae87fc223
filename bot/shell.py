"""`chatcrm shell`: talk to the bot in the terminal as a chosen member of staff.

The real Dispatcher, handlers and database answer; only Telegram is replaced by a
session that prints what the bot sends. The buttons of every message of the last
answer are numbered together: type the number to press one (like `rasa shell` for
chatbots); `'5` sends the text "5", and with no buttons shown a number is text anyway.
Anything else is sent as a message. Messages to other people's chats (an approval
request to a head, a notice to a curator) are printed marked "→ to Name (role):",
their buttons shown but not pressable.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime
from html import unescape
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.methods import (
    EditMessageReplyMarkup,
    EditMessageText,
    GetMe,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import (
    CallbackQuery,
    Chat,
    InlineKeyboardMarkup,
    Message,
    Update,
    User,
)
from sqlalchemy import select

from bot.app import create_dispatcher
from crm.models import Manager
from crm.settings import Settings
from crm.storage import Database

BOT_USER = User(id=1, is_bot=True, first_name="ChatCRM", username="chatcrm_shell_bot")
TAG = re.compile(r"<[^>]+>")
Printer = Callable[[str], None]
Names = Callable[[int], Awaitable[str | None]]
ESCAPE = "'"  # '5 sends the text 5 instead of pressing button 5
OTHERS = "  │ "  # the margin of a message to someone else
HELP = (
    "Type commands as in Telegram (/help); a number presses a button "
    "(type '5 to send the text 5); Ctrl-D ends."
)


def plain(html: str) -> str:
    return unescape(TAG.sub("", html))


class ShellSession(BaseSession):
    """Answers the Bot API locally: messages are printed, their buttons remembered.

    The buttons of every message the last input produced for this user are numbered
    1..N together; messages to other chats are printed marked with their addressee, and
    their buttons are shown but cannot be pressed (they are someone else's).
    """

    def __init__(self, chat: Chat, out: Printer, names: Names | None = None) -> None:
        super().__init__()
        self.chat = chat
        self.out = out
        self.names = names
        self.ids = itertools.count(1)
        self.buttons: list[tuple[str, str, Message]] = []
        self._answer: list[tuple[str, str, Message]] = []
        self._answered = False

    def begin(self) -> None:
        """A new input: the buttons of its answer will be numbered from 1."""
        self._answer = []
        self._answered = False

    def end(self) -> None:
        """The input is answered: its buttons are the ones to press (none if it had none).

        An input that sent this user nothing (only an alert, or messages to others)
        leaves the previous buttons pressable.
        """
        if self._answered:
            self.buttons = self._answer
        self._answer = []
        self._answered = False

    async def _addressee(self, chat_id: int) -> str:
        if self.names is not None:
            with contextlib.suppress(Exception):
                name = await self.names(chat_id)
                if name:
                    return name
        return f"chat {chat_id}"

    async def _show(
        self,
        chat_id: int | str | None,
        text: str,
        markup: Any,
        edited: bool,
        message_id: int | None = None,
    ) -> Message:
        mine = chat_id is None or str(chat_id) == str(self.chat.id)
        other = 0
        if chat_id is not None and not mine and str(chat_id).lstrip("-").isdigit():
            other = int(chat_id)
        keyboard = markup if isinstance(markup, InlineKeyboardMarkup) else None
        message = Message(
            message_id=message_id if message_id is not None else next(self.ids),
            date=datetime.now(UTC),
            chat=self.chat if mine else Chat(id=other, type="private"),
            from_user=BOT_USER,
            text=text,
            reply_markup=keyboard,
        )
        if not mine:
            who = await self._addressee(other) if other else str(chat_id)
            self.out(f"→ to {who}" + (" (edited):" if edited else ":"))
            for line in plain(text).splitlines() or [""]:
                self.out(OTHERS + line)
            for row in keyboard.inline_keyboard if keyboard else []:
                self.out(OTHERS + "   ".join(f"[{button.text}]" for button in row))
            return message
        self._answered = True
        self.out(("(edited) " if edited else "") + plain(text))
        for row in keyboard.inline_keyboard if keyboard else []:
            labels = []
            for button in row:
                if button.callback_data is None:
                    labels.append(f"[{button.text}: {button.url or ''}]")
                    continue
                self._answer.append((button.text, button.callback_data, message))
                labels.append(f"[{len(self._answer)}] {button.text}")
            self.out("   " + "   ".join(labels))
        return message

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> TelegramType:
        if isinstance(method, GetMe):
            return BOT_USER  # type: ignore[return-value]
        if isinstance(method, SendMessage):
            return await self._show(method.chat_id, method.text, method.reply_markup, False)  # type: ignore[return-value]
        if isinstance(method, EditMessageText):
            return await self._show(  # type: ignore[return-value]
                method.chat_id, method.text or "", method.reply_markup, True, method.message_id
            )
        if isinstance(method, EditMessageReplyMarkup):
            return await self._show(  # type: ignore[return-value]
                method.chat_id, "", method.reply_markup, True, method.message_id
            )
        if isinstance(method, SendPhoto | SendDocument):
            caption = method.caption or ""
            kind = "picture" if isinstance(method, SendPhoto) else "file"
            return await self._show(  # type: ignore[return-value]
                method.chat_id, f"[{kind}] {caption}", method.reply_markup, False
            )
        if getattr(method, "text", None) and getattr(method, "show_alert", None) is not None:
            self.out(f"(alert) {method.text}")  # type: ignore[attr-defined]
        return True  # type: ignore[return-value]

    async def close(self) -> None:
        return None

    async def stream_content(  # pragma: no cover - files are not downloaded in the shell
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""


class Shell:
    def __init__(
        self, settings: Settings, database: Database, user: User, out: Printer = print
    ) -> None:
        self.user = user
        self.database = database
        self.chat = Chat(id=user.id, type="private", first_name=user.first_name)
        self.session = ShellSession(self.chat, out, self.staff_name)
        self.bot = Bot(
            "1:shell", session=self.session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
        )
        self.dp = create_dispatcher(settings, database)
        self.updates = itertools.count(1)
        self.out = out

    async def staff_name(self, tg_id: int) -> str | None:
        """ "Ivan Petrov (head)" for a member of staff's chat, None for a stranger's."""
        async with self.database.uow().read_only() as uow:
            row = (
                await uow.session.execute(
                    select(Manager.name, Manager.role).where(Manager.tg_id == tg_id)
                )
            ).first()
        return f"{row.name} ({row.role})" if row else None

    async def say(self, line: str) -> None:
        """A number presses that button of the last answer; anything else is a message.

        `'5` sends the text "5" (for a dialog step that wants a number while buttons are
        shown); when the last answer has no buttons, a number is sent as text anyway.
        """
        line = line.strip()
        if line.startswith(ESCAPE) and line[1:].strip().isdigit():
            line = line[1:].strip()
        elif line.isdigit() and 1 <= int(line) <= len(self.session.buttons):
            label, data, message = self.session.buttons[int(line) - 1]
            self.out(f"> [{label}]")
            query = CallbackQuery(
                id=str(next(self.updates)),
                from_user=self.user,
                chat_instance="shell",
                message=message,
                data=data,
            )
            await self._feed(Update(update_id=next(self.updates), callback_query=query))
            return
        message = Message(
            message_id=next(self.session.ids),
            date=datetime.now(UTC),
            chat=self.chat,
            from_user=self.user,
            text=line,
        )
        await self._feed(Update(update_id=next(self.updates), message=message))

    async def _feed(self, update: Update) -> None:
        self.session.begin()
        try:
            await self.dp.feed_update(self.bot, update)
        finally:
            self.session.end()

    async def close(self) -> None:
        await self.dp.storage.close()
