"""Unit of work: one session and one transaction per service call."""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.access import Actor
from crm.db import READ_ONLY
from crm.models import AuditEntry, Base

if TYPE_CHECKING:
    from crm.storage import WriteGate

STAFF = "managers"  # the audit entity of a member of staff


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


STAFF_CHANNEL = "chatcrm_staff"  # PostgreSQL NOTIFY channel: a change to staff committed


class ActorCache:
    """Telegram id -> Actor, so that an update does not begin with a database round trip.

    Every change to a member of staff is audited (entity "managers"); a unit of work that
    commits such an entry empties the cache of its process. On PostgreSQL the same commit
    NOTIFYs STAFF_CHANNEL, and every process of the database (several bot instances, the
    CLI) empties its cache when it hears it (crm/staff_watch.py); a process that is not
    listening (not yet connected, or its connection lost) keeps nothing (`listening`), so
    it cannot act on a role a change took away. `ttl` still bounds what a change made
    outside the services (SQL by hand) and another process on SQLite leave stale.
    """

    def __init__(self, ttl: float = 30.0, max_entries: int = 20_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[int, tuple[float, Actor]] = {}
        self.generation = 0  # bumped by clear(): a lookup begun before it is not kept
        self.listening = True  # False on PostgreSQL until the process hears STAFF_CHANNEL
        self.notify = False  # PostgreSQL: a commit that changes staff NOTIFYs STAFF_CHANNEL
        self.on_deaf: Callable[[], None] | None = None  # called by a lookup while not listening

    def get(self, tg_id: int) -> Actor | None:
        if not self.listening:
            if self.on_deaf is not None:
                self.on_deaf()
            return None
        entry = self._entries.get(tg_id)
        if entry is None:
            return None
        if clock.monotonic() - entry[0] > self.ttl:
            del self._entries[tg_id]
            return None
        return entry[1]

    def put(self, tg_id: int, actor: Actor, generation: int) -> None:
        if generation != self.generation or not self.listening:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[tg_id] = (clock.monotonic(), actor)

    def clear(self) -> None:
        self._entries.clear()
        self.generation += 1


class UnitOfWork:
    """`async with uow:` opens a session; leaving without `commit()` rolls back.

    The same object can be entered again for the next transaction, so a handler
    holds one per update and every service call is its own transaction.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        actors: ActorCache | None = None,
        write_gate: WriteGate | None = None,
    ) -> None:
        self._factory = session_factory
        self._write_gate = write_gate
        self._holds_gate = False
        self._session: AsyncSession | None = None
        self._read_only = False
        self._staff_changed = False
        self.actors = actors or ActorCache(ttl=0)

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    def sibling(self) -> UnitOfWork:
        """Another unit of work on the same database (its own session and connection), for
        a read that runs beside this one's transactions."""
        return UnitOfWork(self._factory, self.actors, self._write_gate)

    def read_only(self) -> Self:
        """Enter for reading only: on SQLite the transaction does not take the write lock."""
        self._read_only = True
        return self

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("unit of work is already open")
        if not self._read_only and self._write_gate is not None:
            # SQLite: this process's writers queue here, in turn, instead of polling the
            # file lock through the busy handler's growing sleeps (crm/storage.py)
            self._holds_gate = await self._write_gate.acquire()
        self._session = self._factory()
        if self._read_only:
            await self._session.connection(execution_options={READ_ONLY: True})
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session, self._read_only = self._session, None, False
        self._staff_changed = False
        assert session is not None
        try:
            await session.close()  # rolls back what was not committed; keeps objects usable
        finally:
            if self._holds_gate:
                self._holds_gate = False
                assert self._write_gate is not None
                self._write_gate.release()

    async def commit(self) -> None:
        if self._staff_changed and self.actors.notify:
            # delivered to every listening process when (and only if) this commits
            await self.session.execute(
                text("SELECT pg_notify(:channel, '')"), {"channel": STAFF_CHANNEL}
            )
        await self.session.commit()
        if self._staff_changed:
            self._staff_changed = False
            self.actors.clear()

    async def flush(self) -> None:
        await self.session.flush()

    def audit(
        self,
        actor_id: int | None,
        record: Base | tuple[str, int],
        action: str,
        changes: dict[str, Any] | None = None,
    ) -> None:
        """Add an audit entry to this transaction; `changes` maps field -> [old, new]."""
        if isinstance(record, tuple):
            entity, entity_id = record
        else:
            entity, entity_id = record.__tablename__, record.id  # type: ignore[attr-defined]
        payload = {k: [jsonable(v[0]), jsonable(v[1])] for k, v in (changes or {}).items()}
        if entity == STAFF:
            self._staff_changed = True
        self.session.add(
            AuditEntry(
                actor_id=actor_id,
                entity=entity,
                entity_id=entity_id,
                action=action,
                changes=payload,
            )
        )

    def audit_created(self, actor_id: int | None, record: Base) -> None:
        values = {
            k: [None, v]
            for k, v in record.as_dict().items()
            if v is not None and k not in ("id", "created_at", "updated_at")
        }
        self.audit(actor_id, record, "create", values)

    def apply(self, actor_id: int | None, record: Base, **new_values: Any) -> dict[str, Any]:
        """Set fields on a record and audit those that really changed."""
        changes: dict[str, Any] = {}
        for field, new in new_values.items():
            old = getattr(record, field)
            if old != new:
                changes[field] = [old, new]
                setattr(record, field, new)
        if changes:
            self.audit(actor_id, record, "update", changes)
        return changes
