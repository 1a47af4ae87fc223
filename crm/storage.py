"""The database handle the composition root builds once and passes everywhere.

On SQLite one transaction at a time may write, and each starts with BEGIN IMMEDIATE
(crm/db.py). Writers of one process used to wait for each other in SQLite's busy
handler, which sleeps in growing steps (up to 100 ms a try): 8 users adding companies at
once saw a p95 of 352 ms and a maximum of 3.9 s. `write_gate` lines them up in this
process instead (FIFO, woken the moment the previous writer commits); read-only units
of work do not queue. Other processes (the CLI) still meet the busy handler.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crm.db import create_engine, create_session_factory
from crm.staff_watch import StaffWatch
from crm.uow import ActorCache, UnitOfWork


class WriteGate:
    """One writer of this process at a time, in arrival order. A unit of work opened for
    writing inside another one of the same task goes through (it would otherwise wait for
    itself); SQLite's own lock still stands behind it."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None

    async def acquire(self) -> bool:
        """True if the caller now holds the gate (and must release it)."""
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            return False
        await self._lock.acquire()
        self._owner = task
        return True

    def release(self) -> None:
        self._owner = None
        self._lock.release()


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    actors: ActorCache = field(init=False)
    write_gate: WriteGate | None = field(init=False)
    staff_watch: StaffWatch | None = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = create_session_factory(self.engine)
        self.actors = ActorCache()
        self.write_gate = WriteGate() if self.engine.dialect.name == "sqlite" else None
        # several processes share PostgreSQL: each hears the others' changes to staff
        self.staff_watch = (
            StaffWatch(self.engine, self.actors)
            if self.engine.dialect.name == "postgresql"
            else None
        )

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(create_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.actors, self.write_gate)

    async def dispose(self) -> None:
        if self.staff_watch is not None:
            await self.staff_watch.stop()
        await self.engine.dispose()
