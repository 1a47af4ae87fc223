"""One sender for every notification, kept under Telegram's limits.

- Overall: at most `rate` messages a second (default 30), as evenly spaced slots.
- Per chat: a token bucket of `chat_burst` messages refilled at one per
  `chat_interval` seconds (default a burst of 3, then 1 a second).
- Order per chat: each chat has one queue drained by one worker, so a retry of a
  message holds back the messages queued after it.
- 429 (TelegramRetryAfter): wait `retry_after` seconds, for every chat (Telegram's flood
  control is per bot), then retry the same message; never counted as a failure.
- Network errors and 5xx: retried with exponential backoff, `max_retries` times, then
  the message fails (the caller may hand the reminder back for a later sweep).
- 403 (TelegramForbiddenError: the user blocked the bot): `on_blocked(chat_id)` is
  awaited once (the composition root marks the manager `bot_blocked`), the chat is
  skipped from then on, and what was queued for it is dropped as BLOCKED.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # the user blocked the bot: skipped, not retried
    FAILED = "failed"  # gave up (network retries exhausted, or a bad request)


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    message_id: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SENT


@dataclass
class _Item:
    text: str
    kwargs: dict[str, Any]
    future: asyncio.Future[SendResult]
    photo: BufferedInputFile | None = None  # a photo, `text` its caption


@dataclass
class _Chat:
    queue: deque[_Item] = field(default_factory=deque)
    tokens: float = 0.0
    refilled_at: float = 0.0
    worker: asyncio.Task[None] | None = None


@dataclass
class SenderStats:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    retry_after: int = 0  # 429 answers honoured
    network_retries: int = 0


class TelegramSender:
    def __init__(
        self,
        bot: Bot,
        *,
        rate: float = 30.0,
        chat_interval: float = 1.0,
        chat_burst: int = 3,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        on_blocked: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.bot = bot
        self.interval = 1.0 / rate
        self.chat_interval = chat_interval
        self.chat_burst = chat_burst
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.on_blocked = on_blocked
        self.stats = SenderStats()
        self._chats: dict[int, _Chat] = {}
        self._blocked: set[int] = set()
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._closed = False

    # ------------------------------------------------------------ public

    def submit(
        self, chat_id: int, text: str, *, photo: BufferedInputFile | None = None, **kwargs: Any
    ) -> asyncio.Future[SendResult]:
        """Queue a message (or a photo captioned `text`); the future resolves when it is
        sent, skipped or given up."""
        future: asyncio.Future[SendResult] = asyncio.get_running_loop().create_future()
        if self._closed:
            future.set_result(SendResult(Outcome.FAILED, error="sender closed"))
            return future
        if chat_id in self._blocked:
            self.stats.blocked += 1
            future.set_result(SendResult(Outcome.BLOCKED))
            return future
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat(
                tokens=self.chat_burst, refilled_at=time.monotonic()
            )
        chat.queue.append(_Item(text, kwargs, future, photo))
        if chat.worker is None or chat.worker.done():
            chat.worker = asyncio.get_running_loop().create_task(self._drain(chat_id, chat))
        return future

    async def send(self, chat_id: int, text: str, **kwargs: Any) -> SendResult:
        return await self.submit(chat_id, text, **kwargs)

    async def send_photo(
        self, chat_id: int, photo: bytes, filename: str, caption: str = "", **kwargs: Any
    ) -> SendResult:
        """A photo, paced and ordered with the chat's messages like any of them."""
        file = BufferedInputFile(photo, filename=filename)
        return await self.submit(chat_id, caption, photo=file, **kwargs)

    def is_blocked(self, chat_id: int) -> bool:
        return chat_id in self._blocked

    def unblock(self, chat_id: int) -> None:
        """The user came back (/start): deliver to them again."""
        self._blocked.discard(chat_id)

    @property
    def queued(self) -> int:
        return sum(len(c.queue) for c in self._chats.values())

    async def join(self) -> None:
        """Wait until every queued message is settled."""
        while True:
            workers = [c.worker for c in self._chats.values() if c.worker and not c.worker.done()]
            if not workers:
                return
            await asyncio.gather(*workers, return_exceptions=True)

    async def close(self, *, drain: bool = True) -> None:
        self._closed = True
        if drain:
            await self.join()
        for chat in self._chats.values():
            if chat.worker is not None and not chat.worker.done():
                chat.worker.cancel()
            while chat.queue:
                item = chat.queue.popleft()
                if not item.future.done():
                    item.future.set_result(SendResult(Outcome.FAILED, error="sender closed"))

    # ------------------------------------------------------------ pacing

    async def _global_slot(self) -> None:
        """Wait for the next free slot of the overall rate (and any flood-control pause)."""
        while True:
            now = time.monotonic()
            slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
            if time.monotonic() >= self._paused_until:
                return

    async def _chat_token(self, chat: _Chat) -> None:
        while True:
            now = time.monotonic()
            chat.tokens = min(
                self.chat_burst, chat.tokens + (now - chat.refilled_at) / self.chat_interval
            )
            chat.refilled_at = now
            if chat.tokens >= 1:
                chat.tokens -= 1
                return
            await asyncio.sleep((1 - chat.tokens) * self.chat_interval)

    # ------------------------------------------------------------ the work

    async def _drain(self, chat_id: int, chat: _Chat) -> None:
        # the chat's state stays after its queue empties: its bucket must remember
        # what was just sent (a few hundred bytes a chat)
        while chat.queue:
            item = chat.queue[0]
            result = await self._deliver(chat_id, chat, item)
            chat.queue.popleft()
            if not item.future.done():
                item.future.set_result(result)
            if result.outcome is Outcome.BLOCKED:
                while chat.queue:
                    dropped = chat.queue.popleft()
                    self.stats.blocked += 1
                    if not dropped.future.done():
                        dropped.future.set_result(SendResult(Outcome.BLOCKED))

    async def _deliver(self, chat_id: int, chat: _Chat, item: _Item) -> SendResult:
        attempt = 0
        while True:
            if chat_id in self._blocked:
                self.stats.blocked += 1
                return SendResult(Outcome.BLOCKED)
            await self._chat_token(chat)
            await self._global_slot()
            try:
                if item.photo is not None:
                    message = await self.bot.send_photo(
                        chat_id=chat_id, photo=item.photo, caption=item.text or None, **item.kwargs
                    )
                else:
                    message = await self.bot.send_message(
                        chat_id=chat_id, text=item.text, **item.kwargs
                    )
            except TelegramRetryAfter as exc:
                self.stats.retry_after += 1
                wait = max(float(exc.retry_after), 0.0)
                self._paused_until = max(self._paused_until, time.monotonic() + wait)
                log.warning("flood control: retry after %ss (chat %s)", wait, chat_id)
                continue
            except TelegramForbiddenError as exc:
                await self._mark_blocked(chat_id)
                self.stats.blocked += 1
                return SendResult(Outcome.BLOCKED, error=str(exc))
            except (TelegramNetworkError, TelegramServerError, OSError, TimeoutError) as exc:
                attempt += 1
                if attempt > self.max_retries:
                    self.stats.failed += 1
                    log.error("giving up on chat %s after %s tries: %s", chat_id, attempt, exc)
                    return SendResult(Outcome.FAILED, error=str(exc))
                self.stats.network_retries += 1
                await asyncio.sleep(min(self.backoff * 2 ** (attempt - 1), self.max_backoff))
                continue
            except TelegramAPIError as exc:  # a bad request: retrying would not help
                self.stats.failed += 1
                log.error("telegram refused a message to chat %s: %s", chat_id, exc)
                return SendResult(Outcome.FAILED, error=str(exc))
            self.stats.sent += 1
            return SendResult(Outcome.SENT, message_id=message.message_id)

    async def _mark_blocked(self, chat_id: int) -> None:
        if chat_id in self._blocked:
            return
        self._blocked.add(chat_id)
        if self.on_blocked is not None:
            try:
                await self.on_blocked(chat_id)
            except Exception:  # marking must not break the sending of others
                log.exception("could not mark chat %s as blocked", chat_id)
