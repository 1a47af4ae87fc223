"""Whose request leaves next: the pacing half of the governor (bot/governor/core.py).

A paced call asks for a turn (`Turns.wait`) and gives it back when its request is
answered (`Turns.done`). A turn is granted when:
- no other request of its chat is in flight, and it is its chat's best waiting call
  (lane order, then arrival order: a chat's calls keep their order);
- the chat's bucket, a group's minute and any pause of the chat allow it (ChatPace);
- the overall rate allows it: spaced `1 / rate` apart, and fewer than `rate` requests in
  flight or answered within the last second (see limits.py for why);
- its lane is not paused (a 429 pauses the fan-out lane).
Among the chats ready at a free slot, the best lane goes first. A pump task hands out the
turns; it ends when nothing waits and starts again with the next call.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.governor.lanes import ChatKey, Lane
from bot.governor.limits import ChatPace, Limits, is_group
from crm.background import stop_task


@dataclass(eq=False)
class Ticket:
    lane: Lane
    seq: int
    future: asyncio.Future[None] | None = None
    cancelled: bool = False


@dataclass(eq=False)
class Chat:
    key: ChatKey
    pace: ChatPace
    tickets: list[tuple[int, int, Ticket]] = field(default_factory=list)  # (lane, seq, t)
    busy: bool = False
    version: int = 0


class Turns:
    def __init__(self, limits: Limits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._chats: dict[ChatKey, Chat] = {}
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

    def chat(self, chat_id: ChatKey) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            pace = ChatPace(
                group=is_group(chat_id),
                tokens=float(self.limits.chat_burst),
                refilled_at=self.clock(),
            )
            chat = self._chats[chat_id] = Chat(chat_id, pace)
        return chat

    def ticket(self, lane: Lane) -> Ticket:
        return Ticket(lane, next(self._seq))

    def done(self, chat: Chat) -> None:
        """The chat's request in flight was answered (or failed): the next may go."""
        self._in_flight -= 1
        self._answered_at.append(self.clock())
        chat.busy = False
        self._reschedule(chat)

    def pause(self, chat: Chat, seconds: float, lane: Lane | None = None) -> None:
        """Nothing more to `chat` (and in `lane`, when given) for `seconds`."""
        until = self.clock() + seconds
        chat.pace.paused_until = max(chat.pace.paused_until, until)
        if lane is not None:
            self._lane_paused_until[lane] = max(self._lane_paused_until[lane], until)

    def waiting(self) -> dict[str, int]:
        """Calls waiting for their turn, by lane."""
        counts = {lane.name: 0 for lane in Lane}
        for chat in self._chats.values():
            for lane, _seq, ticket in chat.tickets:
                if not ticket.cancelled:
                    counts[Lane(lane).name] += 1
        return counts

    async def close(self) -> None:
        if self._pump is not None and not self._pump.done():
            await stop_task(self._pump)
        self._pump = None

    async def wait(self, chat: Chat, ticket: Ticket) -> None:
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

    def _reschedule(self, chat: Chat) -> None:
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

    def _top(self, lane: int) -> Chat | None:
        """The chat whose ticket is first in `lane`'s ready heap (stale entries dropped)."""
        heap = self._ready[lane]
        while heap:
            _seq, version, key = heap[0]
            chat = self._chats.get(key)
            if chat is not None and chat.version == version and not chat.busy:
                return chat
            heapq.heappop(heap)
        return None

    def _grant(self, chat: Chat, lane: int, now: float) -> None:
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
