"""Dialogs in Redis, and a bot that keeps answering while Redis is down.

aiogram reads the dialog state of every update (and takes a per-chat lock in Redis)
before any handler runs, so with Redis down every update failed, /help included. With
`ResilientStorage` and `ResilientIsolation` around the Redis ones:
- the lock falls back to a lock in this process (updates of one chat still go in order
  here; across instances they cannot be kept in order while Redis is away);
- an unreadable state reads as `UNKNOWN_STATE`: commands work (a new command ends the
  dialog, and clearing a dialog that cannot be reached is not an error), while a plain
  text message, which may be the answer to a dialog's question, is answered
  "temporarily unavailable" (`DialogGuard`), as is any handler that needs to start,
  read or change a dialog (`DialogsUnavailable`, rendered in bot/errors.py);
- after a failure Redis is left alone for `pause` seconds, so that an unreachable host
  does not cost every update a connection timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from aiogram import BaseMiddleware
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StateType, StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import Message, TelegramObject
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("chatcrm.fsm")

UNKNOWN_STATE = "chatcrm:dialogs-unavailable"
REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
# a Redis that does not answer must not hold an update for long
CONNECTION_KWARGS: dict[str, Any] = {"socket_connect_timeout": 2.0, "socket_timeout": 2.0}
T = TypeVar("T")


class DialogsUnavailable(Exception):
    """The dialog store cannot be reached: the step-by-step dialogs wait for it."""


class _Breaker:
    def __init__(self, pause: float) -> None:
        self.pause = pause
        self.down_until = 0.0
        self.last_error: str | None = None

    @property
    def open(self) -> bool:
        return time.monotonic() < self.down_until

    def failed(self, exc: BaseException) -> None:
        if not self.open:
            log.warning("Redis is not answering (%s): dialogs wait for it", type(exc).__name__)
        self.down_until = time.monotonic() + self.pause
        self.last_error = f"{type(exc).__name__}: {exc}"

    def ok(self) -> None:
        if self.last_error is not None:
            log.info("Redis answers again")
            self.last_error = None


class ResilientStorage(BaseStorage):
    def __init__(self, inner: RedisStorage, pause: float = 5.0) -> None:
        self.inner = inner
        self.breaker = _Breaker(pause)

    @property
    def redis(self) -> Any:
        return self.inner.redis

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        if self.breaker.open:
            raise DialogsUnavailable()
        try:
            result = await operation()
        except REDIS_DOWN as exc:
            self.breaker.failed(exc)
            raise DialogsUnavailable() from exc
        self.breaker.ok()
        return result

    async def get_state(self, key: StorageKey) -> str | None:
        try:
            return await self._call(lambda: self.inner.get_state(key))
        except DialogsUnavailable:
            return UNKNOWN_STATE

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        if value == UNKNOWN_STATE:
            return
        try:
            await self._call(lambda: self.inner.set_state(key, value))
        except DialogsUnavailable:
            if value is not None:
                raise
            # ending a dialog that cannot be reached: the next command ends it anyway

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return await self._call(lambda: self.inner.get_data(key))

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        try:
            await self._call(lambda: self.inner.set_data(key, data))
        except DialogsUnavailable:
            if data:
                raise

    async def ping(self) -> bool:
        await asyncio.wait_for(self.inner.redis.ping(), CONNECTION_KWARGS["socket_timeout"])
        self.breaker.ok()
        return True

    def create_isolation(self) -> ResilientIsolation:
        return ResilientIsolation(self.inner.create_isolation(), self.breaker)

    async def close(self) -> None:
        await self.inner.close()


class ResilientIsolation(BaseEventIsolation):
    """Redis's per-chat lock; this process's own lock while Redis is down."""

    def __init__(self, inner: BaseEventIsolation, breaker: _Breaker) -> None:
        self.inner = inner
        self.breaker = breaker
        self.local = SimpleEventIsolation()

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        remote: contextlib.AbstractAsyncContextManager[None] | None = None
        if not self.breaker.open:
            candidate = self.inner.lock(key)
            try:
                await candidate.__aenter__()
                remote = candidate
            except REDIS_DOWN as exc:
                self.breaker.failed(exc)
        if remote is None:
            async with self.local.lock(key):
                yield
            return
        try:
            yield
        finally:
            try:
                await remote.__aexit__(None, None, None)
            except REDIS_DOWN as exc:  # the lock expires by itself (its timeout)
                self.breaker.failed(exc)
            except Exception:  # a lost lock must not fail the update
                log.warning("could not release a Redis lock", exc_info=True)

    async def close(self) -> None:
        await self.inner.close()
        await self.local.close()


Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DialogGuard(BaseMiddleware):
    """While the dialog state cannot be read: a message that is not a command may be the
    answer to a dialog's question, so it is told the dialogs are unavailable instead of
    being guessed at; commands and buttons go on as outside a dialog (one that needs the
    dialog's data finds out when it asks for it)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if data.get("raw_state") == UNKNOWN_STATE:
            if isinstance(event, Message) and not (event.text or "").startswith("/"):
                raise DialogsUnavailable()
            data["raw_state"] = None
        return await handler(event, data)
