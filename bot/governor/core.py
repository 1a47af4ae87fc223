"""The outgoing governor: every Bot API call the bot makes passes through it.

It is an aiogram session middleware (`bot.session.middleware(governor)`), so handlers,
reminders, digests, claim notices, approvals and the outbox's notices all go through
it without knowing.

Paced calls are the ones that put a message in a chat (send*, edit*, copy*, forward*,
stop*; not sendChatAction). For each:
- it waits for its turn in its chat: one request in flight per chat, the chat's
  waiting calls in lane order, then arrival order (so a chat's answers keep their order);
- the chat's bucket (`Limits.chat_burst`, then one per `chat_interval`), a group's
  minute (`group_per_minute`) and any pause of the chat must allow it;
- then it takes the next slot of the overall rate (spaced `1 / rate` apart, and only
  while fewer than `rate` requests are in flight or were answered in the last second:
  see bot/governor/limits.py); when several chats are ready, the best lane gets the
  slot (answers, then notices, then fan-outs).
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
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
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
from bot.governor.limits import ChatPace, Limits, is_group

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


@dataclass(eq=False)
class _Ticket:
    lane: Lane
    seq: int
    future: asyncio.Future[None] | None = None
    cancelled: bool = False


@dataclass(eq=False)
class _Chat:
    key: ChatKey
    pace: ChatPace
    tickets: list[tuple[int, int, _Ticket]] = field(default_factory=list)  # (lane, seq, t)
    busy: bool = False
    version: int = 0


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
        self._chats: dict[ChatKey, _Chat] = {}
        self._ready: list[list[tuple[int, int, ChatKey]]] = [[] for _ in Lane]
        self._timed: list[tuple[float, int, ChatKey, int]] = []
        self._lane_paused_until = [0.0 for _ in Lane]
        self._next_slot = 0.0
        self._in_flight = 0
        self._answered_at: deque[float] = deque()  # paced requests answered, last second
        self._seq = itertools.count()
        self._tiebreak = itertools.count()
        self._wake: asyncio.Event | None = None
        self._pump: asyncio.Task[None] | None = None

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
        counts = {lane.name: 0 for lane in Lane}
        for chat in self._chats.values():
            for lane, _seq, ticket in chat.tickets:
                if not ticket.cancelled:
                    counts[Lane(lane).name] += 1
        return counts

    @property
    def reachable(self) -> bool | None:
        """Whether the last Bot API call got an answer (None: no call yet)."""
        if self.last_ok_at is None and self.last_error_at is None:
            return None
        return self.last_error_at is None or (
            self.last_ok_at is not None and self.last_ok_at >= self.last_error_at
        )

    async def close(self) -> None:
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        self._pump = None

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
        chat = self._chat(chat_id)
        ticket = _Ticket(lane, next(self._seq))
        started = self.clock()
        attempt = 0
        error: TelegramAPIError
        first_turn = True
        while True:
            await self._turn(chat, ticket)
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
                self._pause(chat, lane, delay)
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
                chat.pace.paused_until = max(chat.pace.paused_until, self.clock() + delay)
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
                self._in_flight -= 1
                self._answered_at.append(self.clock())
                chat.busy = False
                self._reschedule(chat)
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

    def _pause(self, chat: _Chat, lane: Lane, seconds: float) -> None:
        until = self.clock() + seconds
        chat.pace.paused_until = max(chat.pace.paused_until, until)
        if lane is Lane.FANOUT:
            self._lane_paused_until[Lane.FANOUT] = max(self._lane_paused_until[Lane.FANOUT], until)

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

    # ------------------------------------------------------------ turns

    def _chat(self, chat_id: ChatKey) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            pace = ChatPace(
                group=is_group(chat_id),
                tokens=float(self.limits.chat_burst),
                refilled_at=self.clock(),
            )
            chat = self._chats[chat_id] = _Chat(chat_id, pace)
        return chat

    async def _turn(self, chat: _Chat, ticket: _Ticket) -> None:
        """Wait until the pump grants this ticket its chat and a slot of the overall rate."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        ticket.future = future
        heapq.heappush(chat.tickets, (ticket.lane, ticket.seq, ticket))
        self._reschedule(chat)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                chat.busy = False  # granted just as the caller gave up: free the chat
                self._in_flight -= 1
            else:
                ticket.cancelled = True
            self._reschedule(chat)
            raise

    def _reschedule(self, chat: _Chat) -> None:
        """Put the chat's best waiting ticket where the pump looks: ready now, or at a time."""
        chat.version += 1
        if chat.busy:
            return
        while chat.tickets and chat.tickets[0][2].cancelled:
            heapq.heappop(chat.tickets)
        if not chat.tickets:
            return
        lane, seq, _ticket = chat.tickets[0]
        now = self.clock()
        at = chat.pace.ready_at(now, self.limits)
        if at <= now:
            heapq.heappush(self._ready[lane], (seq, chat.version, chat.key))
        else:
            heapq.heappush(self._timed, (at, next(self._tiebreak), chat.key, chat.version))
        self._kick()

    def _kick(self) -> None:
        if self._wake is None:
            self._wake = asyncio.Event()
        self._wake.set()
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._run())

    def _top(self, lane: int) -> _Chat | None:
        """The chat whose ticket is first in `lane`'s ready heap (stale entries dropped)."""
        heap = self._ready[lane]
        while heap:
            _seq, version, key = heap[0]
            chat = self._chats.get(key)
            if chat is not None and chat.version == version and not chat.busy:
                return chat
            heapq.heappop(heap)
        return None

    def _grant(self, chat: _Chat, lane: int, now: float) -> None:
        heapq.heappop(self._ready[lane])
        _lane, _seq, ticket = heapq.heappop(chat.tickets)
        chat.busy = True
        chat.version += 1
        self._in_flight += 1
        chat.pace.take(now, self.limits)
        interval = self.limits.interval
        self._next_slot = max(self._next_slot, now - interval) + interval
        assert ticket.future is not None
        ticket.future.set_result(None)

    async def _run(self) -> None:
        """The pump: hands out slots of the overall rate, best lane first."""
        assert self._wake is not None
        wake = self._wake
        while True:
            now = self.clock()
            while self._timed and self._timed[0][0] <= now:
                _at, _n, key, version = heapq.heappop(self._timed)
                chat = self._chats.get(key)
                if chat is not None and chat.version == version:
                    self._reschedule(chat)
            delays: list[float] = []
            granted = False
            for lane in Lane:
                chat = self._top(lane)
                if chat is None:
                    continue
                paused = self._lane_paused_until[lane]
                if paused > now:
                    delays.append(paused - now)
                    continue
                free_at = self._slot_free_at(now)
                if free_at is None:
                    pass  # the window is full of requests in flight: one's answer wakes us
                elif free_at <= now:
                    self._grant(chat, lane, now)
                    granted = True
                else:
                    delays.append(free_at - now)
                break
            if granted:
                continue
            if self._timed:
                delays.append(self._timed[0][0] - now)
            if not delays:
                self._forget_idle(now)
                self._pump = None
                return
            wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), max(min(delays), 0.0005))

    def _slot_free_at(self, now: float) -> float | None:
        """When the overall rate lets the next request leave (None: when one in flight
        is answered and leaves the window a second later)."""
        answered = self._answered_at
        while answered and answered[0] <= now - 1.0:
            answered.popleft()
        at = self._next_slot
        if self._in_flight + len(answered) >= self.limits.per_second:
            if not answered:
                return None
            at = max(at, answered[0] + 1.0)
        return at

    def _forget_idle(self, now: float) -> None:
        for key in [
            key
            for key, chat in self._chats.items()
            if not chat.busy and not chat.tickets and chat.pace.idle(now, self.limits)
        ]:
            del self._chats[key]


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
