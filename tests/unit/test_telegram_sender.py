"""The Telegram sender (notifications/telegram_sender.py): the fan-out lane of the bot's
governor. A real aiogram Bot on an in-memory session: the governor sees every call, as
in the bot; pacing and retries themselves are tested in test_governor.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.types import Chat, Message

from bot.governor import Lane, Limits, governor_of, install_governor
from notifications.telegram_sender import Outcome, TelegramSender

TOKEN = "42:AAHunitTOKENfortheSenderTests_0123456789"


class MemorySession(BaseSession):
    """Answers every call in memory; `script(method)` may return an error to raise."""

    def __init__(self, script: Callable[[Any], Exception | None] | None = None) -> None:
        super().__init__()
        self.script = script
        self.calls: list[tuple[float, Any]] = []

    async def make_request(
        self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None  # noqa: ASYNC109
    ) -> Any:
        self.calls.append((time.monotonic(), method))
        error = self.script(method) if self.script else None
        if error is not None:
            raise error
        chat = Chat(id=int(getattr(method, "chat_id", 0) or 0), type="private")
        return Message(message_id=len(self.calls), date=0, chat=chat, text=method.text)  # type: ignore[attr-defined]

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        raise NotImplementedError
        yield b""

    async def close(self) -> None:
        pass

    def texts(self, chat: int) -> list[str]:
        return [m.text for _t, m in self.calls if getattr(m, "chat_id", None) == chat]


def bot_with(session: MemorySession) -> Bot:
    bot = Bot(TOKEN, session=session)
    install_governor(bot, Limits.fast(backoff=0.01))
    return bot


async def test_fanouts_go_in_the_fanout_lane_notices_in_theirs() -> None:
    session = MemorySession()
    sender = TelegramSender(bot_with(session))
    assert (await sender.send(1, "reminder")).ok
    assert (await sender.send(2, "escalation", lane=Lane.NOTICE)).ok
    governor = governor_of(sender.bot)
    assert governor is sender.governor
    assert governor.stats.sent_by_lane == {"ANSWER": 0, "NOTICE": 1, "FANOUT": 1}


async def test_a_bot_without_a_governor_gets_one() -> None:
    bot = Bot(TOKEN, session=MemorySession())
    sender = TelegramSender(bot)
    assert governor_of(bot) is sender.governor


async def test_rendered_just_before_sending_in_order_through_a_429() -> None:
    first = [True]

    def script(method: Any) -> Exception | None:
        if isinstance(method, SendMessage) and method.text == "m0" and first[0]:
            first[0] = False
            return TelegramRetryAfter(method, "Too Many Requests", 1)
        return None

    session = MemorySession(script)
    sender = TelegramSender(bot_with(session))
    rendered: list[int] = []

    def render(n: int) -> Callable[[], tuple[str, dict[str, Any]]]:
        def make() -> tuple[str, dict[str, Any]]:
            rendered.append(n)
            return f"m{n}", {}

        return make

    futures = [sender.submit_rendered(7, render(n)) for n in range(4)]
    assert rendered == []  # nothing is rendered when it is queued
    started = time.monotonic()
    results = await asyncio.gather(*futures)
    assert time.monotonic() - started >= 1.0  # the 429 was waited out
    assert [r.outcome for r in results] == [Outcome.SENT] * 4
    assert session.texts(7) == ["m0", "m0", "m1", "m2", "m3"]  # retried in its place


async def test_a_blocked_chat_drops_what_was_queued_for_it() -> None:
    session = MemorySession(
        lambda m: (
            TelegramForbiddenError(m, "Forbidden: bot was blocked by the user")
            if getattr(m, "chat_id", None) == 7
            else None
        )
    )
    marked: list[int] = []

    async def on_blocked(chat_id: int) -> None:
        marked.append(chat_id)

    sender = TelegramSender(bot_with(session), on_blocked=on_blocked)
    results = await asyncio.gather(*[sender.send(7, f"m{i}") for i in range(3)])
    assert [r.outcome for r in results] == [Outcome.BLOCKED] * 3
    assert (await sender.send(7, "again")).outcome is Outcome.BLOCKED
    assert len(session.calls) == 1 and marked == [7] and sender.is_blocked(7)
    sender.unblock(7)  # /start
    assert not sender.is_blocked(7)


async def test_a_refused_or_unrenderable_message_fails_alone() -> None:
    session = MemorySession(
        lambda m: (
            TelegramBadRequest(m, "Bad Request: can't parse entities")
            if getattr(m, "text", "") == "<b"
            else None
        )
    )
    sender = TelegramSender(bot_with(session))

    def broken() -> tuple[str, dict[str, Any]]:
        raise KeyError("title")

    results = await asyncio.gather(
        sender.send(3, "<b"), sender.submit_rendered(3, broken), sender.send(3, "fine")
    )
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.FAILED, Outcome.SENT]
    assert sender.stats.failed == 2 and sender.stats.sent == 1
    await sender.close()
    assert (await sender.send(3, "late")).outcome is Outcome.FAILED  # closed
