"""`chatcrm shell`: talk to the bot in the terminal as a chosen member of staff.

The real Dispatcher, handlers and database answer; only Telegram is replaced by a
session that prints what the bot sends. Buttons are numbered: type the number to
press one (like `rasa shell` for chatbots). Anything else is sent as a message.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncGenerator, Callable
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

from bot.app import create_dispatcher
from crm.settings import Settings
from crm.storage import Database

BOT_USER = User(id=1, is_bot=True, first_name="ChatCRM", username="chatcrm_shell_bot")
TAG = re.compile(r"<[^>]+>")
Printer = Callable[[str], None]


def plain(html: str) -> str:
    return unescape(TAG.sub("", html))


class ShellSession(BaseSession):
    """Answers the Bot API locally: messages are printed, their buttons remembered."""

    def __init__(self, chat: Chat, out: Printer) -> None:
        super().__init__()
        self.chat = chat
        self.out = out
        self.ids = itertools.count(1)
        self.buttons: list[tuple[str, str, Message]] = []

    def _show(self, text: str, markup: Any, edited: bool) -> Message:
        message = Message(
            message_id=next(self.ids),
            date=datetime.now(UTC),
            chat=self.chat,
            from_user=BOT_USER,
            text=text,
            reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
        )
        self.out(("(edited) " if edited else "") + plain(text))
        if isinstance(markup, InlineKeyboardMarkup):
            self.buttons = []
            for row in markup.inline_keyboard:
                labels = []
                for button in row:
                    if button.callback_data is None:
                        labels.append(f"[{button.text}: {button.url or ''}]")
                        continue
                    self.buttons.append((button.text, button.callback_data, message))
                    labels.append(f"[{len(self.buttons)}] {button.text}")
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
            return self._show(method.text, method.reply_markup, False)  # type: ignore[return-value]
        if isinstance(method, EditMessageText):
            return self._show(method.text, method.reply_markup, True)  # type: ignore[return-value]
        if isinstance(method, EditMessageReplyMarkup):
            return self._show("", method.reply_markup, True)  # type: ignore[return-value]
        if isinstance(method, SendPhoto | SendDocument):
            caption = method.caption or ""
            kind = "picture" if isinstance(method, SendPhoto) else "file"
            return self._show(f"[{kind}] {caption}", method.reply_markup, False)  # type: ignore[return-value]
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
        self.chat = Chat(id=user.id, type="private", first_name=user.first_name)
        self.session = ShellSession(self.chat, out)
        self.bot = Bot(
            "1:shell", session=self.session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
        )
        self.dp = create_dispatcher(settings, database)
        self.updates = itertools.count(1)
        self.out = out

    async def say(self, line: str) -> None:
        """A number presses that button of the last keyboard; anything else is a message."""
        line = line.strip()
        if line.isdigit() and 1 <= int(line) <= len(self.session.buttons):
            label, data, message = self.session.buttons[int(line) - 1]
            self.out(f"> [{label}]")
            query = CallbackQuery(
                id=str(next(self.updates)),
                from_user=self.user,
                chat_instance="shell",
                message=message,
                data=data,
            )
            update = Update(update_id=next(self.updates), callback_query=query)
        else:
            message = Message(
                message_id=next(self.session.ids),
                date=datetime.now(UTC),
                chat=self.chat,
                from_user=self.user,
                text=line,
            )
            update = Update(update_id=next(self.updates), message=message)
        await self.dp.feed_update(self.bot, update)

    async def close(self) -> None:
        await self.dp.storage.close()
