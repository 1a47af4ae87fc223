"""The stubbed network: a Bot session that answers every Bot API call in memory (no
HTTP, no JSON: a sent or edited message comes back as a Message object)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    EditMessageText,
    GetMe,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, Message, User

BOT_USER = User(id=4242, is_bot=True, first_name="ChatCRM", username="chatcrm_bench_bot")
TOKEN = "4242:BENCH-dispatcher"


class MemorySession(BaseSession):
    """Answers every Bot API call in memory; `record` keeps the calls for the checks."""

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(1_000_000)
        self.record = False
        self.calls: list[TelegramMethod[Any]] = []

    def _message(
        self, chat_id: int | str, text: str | None, markup: Any, message_id: int
    ) -> Message:
        return Message(
            message_id=message_id,
            date=datetime.now(UTC),
            chat=Chat(id=int(chat_id), type="private"),
            from_user=BOT_USER,
            text=text,
            reply_markup=markup,
        )

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109
    ) -> TelegramType:
        if self.record:
            self.calls.append(method)
        if isinstance(method, SendMessage):
            return self._message(  # type: ignore[return-value]
                method.chat_id, method.text, method.reply_markup, next(self.ids)
            )
        if isinstance(method, EditMessageText):
            return self._message(  # type: ignore[return-value]
                method.chat_id or 0, method.text, method.reply_markup, method.message_id or 0
            )
        if isinstance(method, GetMe):
            return BOT_USER  # type: ignore[return-value]
        return True  # type: ignore[return-value]

    async def close(self) -> None:
        return None

    async def stream_content(  # pragma: no cover - nothing is downloaded
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""
