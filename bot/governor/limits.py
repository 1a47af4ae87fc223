"""Telegram's limits as the governor keeps them, and one chat's pacing state.

Telegram (Bot FAQ): about 1 message a second in a chat (short bursts tolerated), about
30 a second overall, 20 a minute in a group. The governor decides when a request
leaves, while Telegram counts when it arrives, somewhere between the request leaving and
its answer. Spaced exactly at the limit, network and event-loop jitter bunch requests
into 31 a second (a stand-in enforcing 30/s answered 429 to a sender at exactly 30/s).
So overall, besides spacing the requests, a request leaves only while fewer than `rate`
others are in flight or were answered within the last second: whatever the latency,
no second of arrivals can then hold more than `rate` (a request that arrived in a
second was answered after it began). The cost is the latency: about rate / (1 + RTT).
Per chat and per group the margins are in the numbers (a bucket of 3 where Telegram
tolerates more, a minute plus `group_margin`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from bot.governor.lanes import ChatKey


@dataclass(frozen=True)
class Limits:
    rate: float = 30.0  # messages a second in all (TELEGRAM_RATE)
    headroom: float = 1.0  # the share of `rate` used (lower it to leave room for another bot)
    chat_interval: float = 1.0  # one message a second in a chat, sustained ...
    chat_burst: int = 3  # ... after a burst of this many
    group_per_minute: int = 20  # messages in a group ...
    group_window: float = 60.0  # ... in any this many seconds
    group_margin: float = 1.0  # seconds added to the group window, for the same jitter
    deadline: float = 300.0  # how long a message may wait out 429s and network errors
    answer_callback_deadline: float = 10.0  # a button's spinner: Telegram drops it after ~15 s
    backoff: float = 0.5  # network errors and 5xx: 0.5 s, 1 s, 2 s ... up to max_backoff
    max_backoff: float = 30.0

    @property
    def interval(self) -> float:
        return 1.0 / (self.rate * self.headroom)

    @property
    def per_second(self) -> int:
        """Requests that may be in flight or answered within any one second."""
        return max(1, int(self.rate * self.headroom))

    @classmethod
    def fast(cls, **changes: float) -> Limits:
        """Paced for tests that are not about the limits: nothing waits noticeably."""
        values: dict[str, float] = {
            "rate": 100_000.0,
            "chat_interval": 0.0001,
            "chat_burst": 1000,
            "group_per_minute": 100_000,
            "group_margin": 0.0,
            "deadline": 20.0,
            "backoff": 0.01,
            "max_backoff": 0.1,
        }
        values.update(changes)
        return cls(**values)  # type: ignore[arg-type]


def is_group(chat_id: ChatKey) -> bool:
    """Groups, supergroups and channels have negative ids (or an @username)."""
    if isinstance(chat_id, str) and not chat_id.lstrip("-").isdigit():
        return True
    return int(chat_id) < 0


@dataclass
class ChatPace:
    """When the next message to one chat may leave: its bucket, its pause, its minute."""

    group: bool
    tokens: float
    refilled_at: float
    paused_until: float = 0.0
    minute: deque[float] = field(default_factory=deque)  # groups: when the last ones left

    def ready_at(self, now: float, limits: Limits) -> float:
        at = max(now, self.paused_until)
        tokens = min(
            float(limits.chat_burst),
            self.tokens + (now - self.refilled_at) / limits.chat_interval,
        )
        if tokens < 1:
            at = max(at, now + (1 - tokens) * limits.chat_interval)
        if self.group:
            window = limits.group_window + limits.group_margin
            while self.minute and self.minute[0] <= now - window:
                self.minute.popleft()
            if len(self.minute) >= limits.group_per_minute:
                at = max(at, self.minute[0] + window)
        return at

    def take(self, now: float, limits: Limits) -> None:
        self.tokens = min(
            float(limits.chat_burst),
            self.tokens + (now - self.refilled_at) / limits.chat_interval,
        )
        self.refilled_at = now
        self.tokens -= 1
        if self.group:
            self.minute.append(now)

    def idle(self, now: float, limits: Limits) -> bool:
        """Nothing to remember: a full bucket, no pause, no recent group message."""
        full = self.tokens + (now - self.refilled_at) / limits.chat_interval >= limits.chat_burst
        window = limits.group_window + limits.group_margin
        recent = bool(self.minute) and self.minute[-1] > now - window
        return full and self.paused_until <= now and not recent
