"""The fan-out lane of the bot's governor: reminders and digests, many messages at once.

Pacing, Telegram's limits, 429 and network retries and the blocked-chat mark are the
governor's (bot/governor): one budget for everything the bot sends. What this adds for
a fan-out:
- `submit` queues without waiting, so a sweep hands thousands over at once; each chat
  has one queue drained in order, so a chat's reminders arrive in the order submitted;
- every message goes in `Lane.FANOUT` (or the lane asked for: claim escalations are
  personal notices), so answers to users overtake it;
- the outcome as a value (`SendResult`): SENT, BLOCKED (the user blocked the bot; what
  was queued for them is dropped) or FAILED (the governor gave up: the caller may hand
  a reminder back for a later sweep).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import BufferedInputFile

from bot.governor import Governor, Lane, install_governor, lane

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # the user blocked the bot: skipped, not retried
    FAILED = "failed"  # gave up (the governor's deadline passed, or a bad request)


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    message_id: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SENT


Render = Callable[[], tuple[str, dict[str, Any]]]


@dataclass
class _Item:
    text: str
    kwargs: dict[str, Any]
    future: asyncio.Future[SendResult]
    lane: Lane
    photo: BufferedInputFile | None = None  # a photo, `text` its caption
    render: Render | None = None  # the text and kwargs, made just before sending


@dataclass
class _Chat:
    queue: deque[_Item] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None


@dataclass
class SenderStats:
    sent: int = 0
    blocked: int = 0
    failed: int = 0


class TelegramSender:
    def __init__(
        self,
        bot: Bot,
        *,
        on_blocked: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        self.bot = bot
        # the bot's own governor (a bot built without one gets the default limits)
        self.governor: Governor = install_governor(bot, on_blocked=on_blocked)
        self.stats = SenderStats()
        self._chats: dict[int, _Chat] = {}
        self._closed = False

    # ------------------------------------------------------------ public

    def submit(
        self,
        chat_id: int,
        text: str,
        *,
        photo: BufferedInputFile | None = None,
        lane: Lane = Lane.FANOUT,
        **kwargs: Any,
    ) -> asyncio.Future[SendResult]:
        """Queue a message (or a photo captioned `text`); the future resolves when it is
        sent, skipped or given up."""
        return self._queue(chat_id, _Item(text, kwargs, self._future(), lane, photo))

    def submit_rendered(
        self, chat_id: int, render: Render, *, lane: Lane = Lane.FANOUT
    ) -> asyncio.Future[SendResult]:
        """Like `submit`, the message's text and send_message kwargs made by `render()`
        just before it leaves, not when thousands are queued at once."""
        return self._queue(chat_id, _Item("", {}, self._future(), lane, render=render))

    def _future(self) -> asyncio.Future[SendResult]:
        return asyncio.get_running_loop().create_future()

    def _queue(self, chat_id: int, item: _Item) -> asyncio.Future[SendResult]:
        if self._closed:
            item.future.set_result(SendResult(Outcome.FAILED, error="sender closed"))
            return item.future
        if self.governor.is_blocked(chat_id):
            self.stats.blocked += 1
            item.future.set_result(SendResult(Outcome.BLOCKED))
            return item.future
        chat = self._chats.setdefault(chat_id, _Chat())
        chat.queue.append(item)
        if chat.worker is None or chat.worker.done():
            chat.worker = asyncio.get_running_loop().create_task(self._drain(chat_id, chat))
        return item.future

    async def send(self, chat_id: int, text: str, **kwargs: Any) -> SendResult:
        return await self.submit(chat_id, text, **kwargs)

    async def send_photo(
        self, chat_id: int, photo: bytes, filename: str, caption: str = "", **kwargs: Any
    ) -> SendResult:
        """A photo, in order with the chat's messages like any of them."""
        file = BufferedInputFile(photo, filename=filename)
        return await self.submit(chat_id, caption, photo=file, **kwargs)

    def is_blocked(self, chat_id: int) -> bool:
        return self.governor.is_blocked(chat_id)

    def unblock(self, chat_id: int) -> None:
        """The user came back (/start): deliver to them again."""
        self.governor.unblock(chat_id)

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

    # ------------------------------------------------------------ the work

    async def _drain(self, chat_id: int, chat: _Chat) -> None:
        while chat.queue:
            item = chat.queue[0]
            result = await self._deliver(chat_id, item)
            chat.queue.popleft()
            if not item.future.done():
                item.future.set_result(result)
            if result.outcome is Outcome.BLOCKED:
                while chat.queue:
                    dropped = chat.queue.popleft()
                    self.stats.blocked += 1
                    if not dropped.future.done():
                        dropped.future.set_result(SendResult(Outcome.BLOCKED))
        if not chat.queue and self._chats.get(chat_id) is chat:
            del self._chats[chat_id]

    async def _deliver(self, chat_id: int, item: _Item) -> SendResult:
        if item.render is not None:
            try:
                item.text, item.kwargs = item.render()
            except Exception as exc:  # one bad message must not stop its chat's queue
                log.exception("could not render a message to chat %s", chat_id)
                self.stats.failed += 1
                return SendResult(Outcome.FAILED, error=str(exc))
        try:
            with lane(item.lane):
                if item.photo is not None:
                    message = await self.bot.send_photo(
                        chat_id=chat_id, photo=item.photo, caption=item.text or None, **item.kwargs
                    )
                else:
                    message = await self.bot.send_message(
                        chat_id=chat_id, text=item.text, **item.kwargs
                    )
        except TelegramForbiddenError as exc:
            self.stats.blocked += 1
            return SendResult(Outcome.BLOCKED, error=str(exc))
        except TelegramAPIError as exc:  # the governor gave up, or a bad request
            self.stats.failed += 1
            log.error("could not send to chat %s: %s", chat_id, exc)
            return SendResult(Outcome.FAILED, error=str(exc))
        self.stats.sent += 1
        return SendResult(Outcome.SENT, message_id=message.message_id)
