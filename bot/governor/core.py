"""The outgoing governor: every Bot API call the bot makes passes through it.

It is an aiogram session middleware (`bot.session.middleware(governor)`), so handlers,
reminders, digests, claim notices, approvals and the outbox's notices all go through
it without knowing.

Paced calls are the ones that put a message in a chat (send*, edit*, copy*, forward*,
stop*; not sendChatAction). Each waits for its turn (bot/governor/turns.py): one request
in flight per chat, in lane then arrival order; the chat's bucket, a group's minute and
the overall rate must allow it; at a free slot the best lane goes first (answers, then
notices, then fan-outs).
Other calls (answerCallbackQuery, getMe, setMyCommands, ...) go at once; getUpdates is
left to aiogram's polling loop, which has its own backoff.

Failures:
- 429: the chat waits `retry_after` (a fan-out also pauses the whole fan-out lane:
  Telegram does not say whether the flood is the chat's or the bot's, and the bulk is
  what should yield), then the call is retried in its place, until `Limits.deadline`;
- network errors and 5xx: retried with exponential backoff for paced calls and
  answerCallbackQuery, until the deadline (other calls fail at once: their callers,
  the start-up loop for one, retry and log in their own way). A request that timed out
  may have reached Telegram, so its retry can show a message twice: a lost answer is
  the worse of the two;
- 403 to a private chat: the user blocked the bot. The blocked listeners are awaited once
  (the composition root marks the member of staff unreachable and tells their leaders);
  later notices and fan-outs to that chat fail at once with TelegramForbiddenError
  without a request. An answer to the user's own action is still tried (they wrote, so
  they are back) and, when it goes through, clears the mark in this process.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)

from bot.governor.lanes import ChatKey, Lane, lane_for
from bot.governor.limits import Limits, is_group
from bot.governor.turns import Turns

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.client.session.middlewares.base import NextRequestMiddlewareType
    from aiogram.methods import Response, TelegramMethod
    from aiogram.methods.base import TelegramType

log = logging.getLogger("chatcrm.governor")

BlockedListener = Callable[[int], Awaitable[None]]
PACED_PREFIXES = ("send", "edit", "copy", "forward", "stop")
UNPACED = frozenset({"sendChatAction"})
SKIPPED = "Forbidden: bot was blocked by the user (known from an earlier answer: not sent)"


def paced_chat(method: Any) -> ChatKey | None:
    """The chat a call puts a message in, or None for a call that is not paced."""
    name: str = method.__api_method__
    if name in UNPACED or not name.startswith(PACED_PREFIXES):
        return None
    chat = getattr(method, "chat_id", None)
    return chat if isinstance(chat, int | str) else None


@dataclass
class GovernorStats:
    sent: int = 0
    retry_after: int = 0  # 429 answers waited out
    network_retries: int = 0
    forbidden: int = 0  # chats found blocked
    skipped: int = 0  # sends not made to a chat known to block the bot
    gave_up: int = 0  # deadline passed
    sent_by_lane: dict[str, int] = field(default_factory=lambda: {lane.name: 0 for lane in Lane})
    # seconds from a paced call entering the governor to its first turn, by lane
    waited: dict[str, float] = field(default_factory=lambda: {lane.name: 0.0 for lane in Lane})
    longest_wait: dict[str, float] = field(
        default_factory=lambda: {lane.name: 0.0 for lane in Lane}
    )


class Governor(BaseRequestMiddleware):
    def __init__(
        self,
        limits: Limits | None = None,
        *,
        on_blocked: BlockedListener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits or Limits()
        self.clock = clock
        self.stats = GovernorStats()
        self.last_ok_at: float | None = None
        self.last_error_at: float | None = None
        self.last_error: str | None = None
        self._listeners: list[BlockedListener] = [on_blocked] if on_blocked else []
        self._blocked: set[ChatKey] = set()
        self.turns = Turns(self.limits, clock)

    # ------------------------------------------------------------ public

    def add_blocked_listener(self, listener: BlockedListener) -> None:
        if listener not in self._listeners:
            self._listeners.append(listener)

    def is_blocked(self, chat_id: ChatKey) -> bool:
        return chat_id in self._blocked

    def unblock(self, chat_id: ChatKey) -> None:
        """The user is back (/start): send to them again."""
        self._blocked.discard(chat_id)

    def waiting(self) -> dict[str, int]:
        """Calls waiting for their turn, by lane."""
        return self.turns.waiting()

    @property
    def reachable(self) -> bool | None:
        """Whether the last Bot API call got an answer (None: no call yet)."""
        if self.last_ok_at is None and self.last_error_at is None:
            return None
        return self.last_error_at is None or (
            self.last_ok_at is not None and self.last_ok_at >= self.last_error_at
        )

    async def close(self) -> None:
        await self.turns.close()

    # ------------------------------------------------------------ the middleware

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ == "getUpdates":
            return await make_request(bot, method)
        chat = paced_chat(method)
        if chat is None:
            return await self._unpaced(make_request, bot, method)
        return await self._paced(make_request, bot, method, chat, lane_for(chat))

    async def _unpaced(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        interactive = method.__api_method__ == "answerCallbackQuery"
        deadline = self.limits.answer_callback_deadline if interactive else self.limits.deadline
        started = self.clock()
        attempt = 0
        error: TelegramAPIError
        while True:
            try:
                result = await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.stats.retry_after += 1
                delay, error = float(exc.retry_after), exc
            except TelegramEntityTooLarge:
                raise
            except (TelegramNetworkError, TelegramServerError) as exc:
                self._failed(exc)
                if not interactive:
                    raise
                attempt += 1
                self.stats.network_retries += 1
                delay, error = self._backoff(attempt), exc
            else:
                self._answered()
                return result
            if self.clock() + delay - started > deadline:
                self.stats.gave_up += 1
                raise error
            await asyncio.sleep(delay)

    async def _paced(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
        chat_id: ChatKey,
        lane: Lane,
    ) -> Response[TelegramType]:
        if chat_id in self._blocked and lane is not Lane.ANSWER:
            self.stats.skipped += 1
            raise TelegramForbiddenError(method=method, message=SKIPPED)
        chat = self.turns.chat(chat_id)
        ticket = self.turns.ticket(lane)
        started = self.clock()
        attempt = 0
        error: TelegramAPIError
        first_turn = True
        while True:
            await self.turns.wait(chat, ticket)
            if first_turn:
                first_turn = False
                wait = self.clock() - started
                self.stats.waited[lane.name] += wait
                self.stats.longest_wait[lane.name] = max(self.stats.longest_wait[lane.name], wait)
            try:
                result = await make_request(bot, method)
            except TelegramRetryAfter as exc:
                self.stats.retry_after += 1
                delay, error = float(exc.retry_after), exc
                # Telegram does not say whose flood it is: the bulk yields too
                self.turns.pause(chat, delay, Lane.FANOUT if lane is Lane.FANOUT else None)
                log.warning(
                    "flood control: %s to chat %s waits %.0f s",
                    method.__api_method__,
                    chat_id,
                    delay,
                )
            except TelegramEntityTooLarge:
                raise
            except (TelegramNetworkError, TelegramServerError) as exc:
                self._failed(exc)
                attempt += 1
                self.stats.network_retries += 1
                delay, error = self._backoff(attempt), exc
                self.turns.pause(chat, delay)
            except TelegramForbiddenError:
                self._answered()
                if not is_group(chat_id):
                    await self._mark_blocked(int(chat_id))
                raise
            else:
                self._answered()
                self.stats.sent += 1
                self.stats.sent_by_lane[lane.name] += 1
                if lane is Lane.ANSWER:
                    self._blocked.discard(chat_id)
                return result
            finally:
                self.turns.done(chat)
            if self.clock() + delay - started > self.limits.deadline:
                self.stats.gave_up += 1
                log.error(
                    "gave up on %s to chat %s after %.0f s: %s",
                    method.__api_method__,
                    chat_id,
                    self.clock() - started,
                    error,
                )
                raise error

    # ------------------------------------------------------------ outcomes

    def _answered(self) -> None:
        self.last_ok_at = self.clock()

    def _failed(self, exc: Exception) -> None:
        self.last_error_at = self.clock()
        self.last_error = f"{type(exc).__name__}: {exc}"

    def _backoff(self, attempt: int) -> float:
        return float(min(self.limits.backoff * 2 ** (attempt - 1), self.limits.max_backoff))

    async def _mark_blocked(self, chat_id: int) -> None:
        if chat_id in self._blocked:
            return
        self._blocked.add(chat_id)
        self.stats.forbidden += 1
        for listener in self._listeners:
            try:
                await listener(chat_id)
            except Exception:  # marking must not break the sending to others
                log.exception("could not record that chat %s blocked the bot", chat_id)


def governor_of(bot: Bot) -> Governor | None:
    for middleware in bot.session.middleware:
        if isinstance(middleware, Governor):
            return middleware
    return None


def install_governor(
    bot: Bot, limits: Limits | None = None, *, on_blocked: BlockedListener | None = None
) -> Governor:
    """The bot's governor: the one already installed, or a new one with `limits`."""
    governor = governor_of(bot)
    if governor is None:
        governor = Governor(limits)
        bot.session.middleware(governor)
    if on_blocked is not None:
        governor.add_blocked_listener(on_blocked)
    return governor
