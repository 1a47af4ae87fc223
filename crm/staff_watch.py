"""PostgreSQL: every process hears a change to staff committed by any other.

The acting member of staff is cached per process (crm/uow.py ActorCache), so that an
update does not begin with a database round trip. With several bot instances (or the CLI)
on one database, a change committed by one process must reach the others' caches: the
committing unit of work NOTIFYs STAFF_CHANNEL in its transaction (PostgreSQL delivers it
when, and only if, it commits), and here each process LISTENs on a connection of its own
and empties its cache when it hears it.

While this process is not listening (before the first lookup has connected it, or after
its connection is lost, until it is back) the cache keeps nothing: every update reads its
actor from the database, as it would with no cache. A change is thus seen by the others
within the moment its notification takes to arrive, as an update handled at the same
time as the commit would see it anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm.uow import STAFF_CHANNEL, ActorCache

log = logging.getLogger("chatcrm.staff_watch")


class StaffWatch:
    """LISTEN on STAFF_CHANNEL for `cache`; started by the first lookup that finds the
    cache deaf (`ActorCache.on_deaf`), reconnecting with a growing pause if the
    connection is lost; `stop()` when the database is disposed."""

    def __init__(self, engine: AsyncEngine, cache: ActorCache, retry_max: float = 30.0) -> None:
        self.engine = engine
        self.cache = cache
        self.retry_max = retry_max
        self._task: asyncio.Task[None] | None = None
        cache.notify = True
        cache.listening = False
        cache.on_deaf = self.start

    def start(self) -> None:
        """Begin listening in the background (a no-op while it runs or retries)."""
        if self._task is not None and not self._task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._task = loop.create_task(self._run(), name="chatcrm-staff-watch")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._deaf()

    def _deaf(self) -> None:
        self.cache.listening = False
        self.cache.clear()

    def _heard(self, *_args: Any) -> None:
        self.cache.clear()

    async def _run(self) -> None:
        pause = 1.0
        while True:
            lost = asyncio.Event()
            conn: AsyncConnection | None = None
            try:
                conn = await self.engine.connect()
                raw = await conn.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                await driver.add_listener(STAFF_CHANNEL, self._heard)
                driver.add_termination_listener(lambda *_, event=lost: event.set())
                # what was cached before now may have changed unheard
                self.cache.clear()
                self.cache.listening = True
                pause = 1.0
                await lost.wait()
                log.warning("staff watch: the connection was lost; actors are read each time")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("staff watch: cannot LISTEN (%s); actors are read each time", exc)
            finally:
                self._deaf()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.invalidate()
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.retry_max)
