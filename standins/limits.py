"""Telegram's limits (Bot FAQ) as a stand-in enforces them: which calls count, and the
buckets (`TelegramLimits.admit`). Shared by the tests' Bot API stub
(tests/fixtures/botapi_stub.py) and the reminder benchmark's (bench/bench_reminders.py)."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any


def counted(method: str) -> bool:
    """The calls Telegram's message limits count: those that put a message in a chat."""
    return method != "sendChatAction" and method.startswith(
        ("send", "edit", "copy", "forward", "stop")
    )


@dataclass
class TelegramLimits:
    """Telegram's limits (Bot FAQ), as the stand-in enforces them when asked to."""

    global_per_second: int = 30
    chat_per_second: float = 1.0
    chat_burst: int = 5  # "short bursts are tolerated"
    group_per_minute: int = 20
    _window: deque[float] = field(default_factory=deque)
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # chat: tokens, at
    _groups: dict[str, deque[float]] = field(default_factory=dict)

    def admit(self, chat_id: Any, now: float) -> int | None:
        """None if a message to `chat_id` may go now (and count it), else retry_after."""
        waits: list[float] = []
        while self._window and self._window[0] <= now - 1.0:
            self._window.popleft()
        if len(self._window) >= self.global_per_second:
            waits.append(self._window[0] + 1.0 - now)
        key = str(chat_id)
        tokens, at = self._buckets.get(key, (float(self.chat_burst), now))
        tokens = min(float(self.chat_burst), tokens + (now - at) * self.chat_per_second)
        if tokens < 1:
            waits.append((1 - tokens) / self.chat_per_second)
        group = self._groups.setdefault(key, deque()) if key.startswith(("-", "@")) else None
        if group is not None:
            while group and group[0] <= now - 60.0:
                group.popleft()
            if len(group) >= self.group_per_minute:
                waits.append(group[0] + 60.0 - now)
        if waits:
            return max(1, math.ceil(max(waits)))
        self._window.append(now)
        self._buckets[key] = (tokens - 1, now)
        if group is not None:
            group.append(now)
        return None
