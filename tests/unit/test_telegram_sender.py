"""The paced Telegram sender (notifications/telegram_sender.py) against a fake Bot: flood waits,
network retries, blocked chats, the global and per-chat rates, order."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiogram.exceptions import TelegramForbiddenError, TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import SendMessage

from notifications.telegram_sender import Outcome, TelegramSender


class FakeBot:
    """Answers send_message from a script of exceptions; records when each call came."""

    def __init__(self, script: list[Exception | None] | None = None) -> None:
        self.script = list(script or [])
        self.calls: list[tuple[float, int, str]] = []

    async def send_message(self, chat_id: int, text: str, **_: Any) -> Any:
        self.calls.append((time.monotonic(), chat_id, text))
        if self.script:
            error = self.script.pop(0)
            if error is not None:
                raise error

        class Message:
            message_id = len(self.calls)

        return Message()


METHOD = SendMessage(chat_id=1, text="x")


async def test_sender_honours_retry_after_and_backs_off_network_errors() -> None:
    fake = FakeBot([TelegramRetryAfter(METHOD, "flood", 1), None])
    sender = TelegramSender(fake, rate=1000, chat_interval=0.001)  # type: ignore[arg-type]
    assert (await sender.send(1, "a")).ok
    assert fake.calls[1][0] - fake.calls[0][0] >= 1.0
    flaky = FakeBot([TelegramNetworkError(METHOD, "down")] * 2 + [None])
    sender = TelegramSender(flaky, rate=1000, chat_interval=0.001, backoff=0.05)  # type: ignore[arg-type]
    assert (await sender.send(1, "a")).ok and sender.stats.network_retries == 2
    dead = FakeBot([TelegramNetworkError(METHOD, "down")] * 10)
    sender = TelegramSender(dead, rate=1000, max_retries=2, backoff=0.01)  # type: ignore[arg-type]
    result = await sender.send(1, "a")
    assert result.outcome is Outcome.FAILED and len(dead.calls) == 3


async def test_sender_blocked_chat_is_skipped_after_one_try() -> None:
    fake = FakeBot([TelegramForbiddenError(METHOD, "blocked")])
    marked: list[int] = []

    async def on_blocked(chat_id: int) -> None:
        marked.append(chat_id)

    sender = TelegramSender(fake, rate=1000, on_blocked=on_blocked)  # type: ignore[arg-type]
    results = await asyncio.gather(*[sender.send(7, f"m{i}") for i in range(3)])
    assert [r.outcome for r in results] == [Outcome.BLOCKED] * 3
    assert (await sender.send(7, "again")).outcome is Outcome.BLOCKED
    assert len(fake.calls) == 1 and marked == [7]


async def test_sender_keeps_global_and_per_chat_rates_and_order() -> None:
    fake = FakeBot()
    sender = TelegramSender(fake, rate=100, chat_interval=0.1, chat_burst=2)  # type: ignore[arg-type]
    started = time.monotonic()
    await asyncio.gather(*[sender.send(chat, "x") for chat in range(60)])
    assert time.monotonic() - started >= 0.58  # 60 messages at 100/s
    stamps = [c[0] for c in fake.calls]
    busiest = max(sum(1 for t in stamps if start <= t < start + 0.2) for start in stamps)
    assert busiest <= 22  # never more than the rate in any window (+ a slot of jitter)
    fake.calls.clear()
    await asyncio.gather(*[sender.send(999, f"m{i}") for i in range(6)])
    times = [c[0] for c in fake.calls]
    assert [c[2] for c in fake.calls] == [f"m{i}" for i in range(6)]  # in order
    assert times[-1] - times[0] >= 0.39  # a burst of 2, then one per 0.1 s
