"""Which process runs the scheduler: exactly one per database.

PostgreSQL: a session-level `pg_try_advisory_lock` held on a dedicated connection in
autocommit mode (never idle in a transaction). The lock lives as long as that
connection: a leader that crashes or loses its network releases it, and a follower's
next attempt takes over. The leader checks its connection every `check_seconds`.

SQLite: an exclusive `fcntl.flock` on `<database file>.scheduler.lock`; the kernel drops
it when the process dies. Another role elected the same way (the outbox worker) passes its
own `key` and `name`. An in-memory database has one process by definition.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.background import stop_task
from crm.storage import Database

log = logging.getLogger(__name__)

LOCK_KEY = 0x0C4A7C42  # "chatcrm scheduler"; any fixed 64-bit number shared by all instances

Callback = Callable[[], Awaitable[None]]


class LeaderElector:
    def __init__(
        self,
        db: Database,
        *,
        key: int = LOCK_KEY,
        name: str = "scheduler",
        retry_seconds: float = 15.0,
        check_seconds: float = 15.0,
        on_elected: Callback | None = None,
        on_lost: Callback | None = None,
    ) -> None:
        self.db = db
        self.key = key
        self.name = name  # of the SQLite lock file: <database>.<name>.lock
        self.retry_seconds = retry_seconds
        self.check_seconds = check_seconds
        self.on_elected = on_elected
        self.on_lost = on_lost
        self._conn: AsyncConnection | None = None
        self._file: IO[bytes] | None = None
        self._leader = False
        self._task: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        return self._leader

    # ------------------------------------------------------------ one attempt

    async def try_acquire(self) -> bool:
        """Take the lock if free; True if this elector holds it now."""
        if self._leader:
            return True
        if self.db.dialect == "postgresql":
            self._leader = await self._pg_acquire()
        else:
            self._leader = self._file_acquire()
        return self._leader

    async def still_leader(self) -> bool:
        """Whether the lock is still held (PostgreSQL: the connection is alive)."""
        if not self._leader:
            return False
        if self._conn is None:
            return True  # the file lock cannot be lost while the process lives
        try:
            await asyncio.wait_for(self._conn.execute(text("SELECT 1")), self.check_seconds)
            return True
        except Exception:
            log.warning("scheduler lock connection lost; leadership is gone")
            await self._drop_connection()
            self._leader = False
            return False

    async def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            await self._drop_connection()
        if self._file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
        self._leader = False

    async def _pg_acquire(self) -> bool:
        try:
            conn = await self.db.engine.connect()
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        except Exception as exc:
            log.warning("cannot reach the database for the scheduler lock: %s", exc)
            return False
        try:
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})
        except Exception:
            await conn.invalidate()
            await conn.close()
            return False
        if got:
            self._conn = conn
            return True
        await conn.close()
        return False

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            # never hand a connection that may still hold the lock back to the pool
            await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()

    def _lock_path(self) -> Path | None:
        database = make_url(str(self.db.engine.url)).database
        if not database or database == ":memory:" or database.startswith("file::memory:"):
            return None
        return Path(database).resolve().with_name(Path(database).name + f".{self.name}.lock")

    def _file_acquire(self) -> bool:
        path = self._lock_path()
        if path is None:
            return True
        handle = open(path, "a+b")  # held open as long as this process leads
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()).encode())
        handle.flush()
        self._file = handle
        return True

    # ------------------------------------------------------------ the loop

    def start(self) -> None:
        """Run the election in the background: try now, retry while following, and watch
        the lock while leading. Callbacks fire on every change."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            if not self._leader:
                if await self.try_acquire():
                    log.info("this process now runs the scheduler")
                    await self._call(self.on_elected)
                    continue
                await asyncio.sleep(self.retry_seconds)
            else:
                await asyncio.sleep(self.check_seconds)
                if not await self.still_leader():
                    await self._call(self.on_lost)

    async def _call(self, callback: Callback | None) -> None:
        if callback is not None:
            try:
                await callback()
            except Exception:
                log.exception("scheduler leadership callback failed")

    async def stop(self) -> None:
        """Stop electing and give the lock up (callbacks: on_lost if leading)."""
        if self._task is not None:
            await stop_task(self._task)
            self._task = None
        was_leader = self._leader
        await self.release()
        if was_leader:
            await self._call(self.on_lost)
