"""Unit of work: one session and one transaction per service call."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from types import TracebackType
from typing import Any, Self

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from crm.db import READ_ONLY
from crm.models import AuditEntry, Base


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


class UnitOfWork:
    """`async with uow:` opens a session; leaving without `commit()` rolls back.

    The same object can be entered again for the next transaction, so a handler
    holds one per update and every service call is its own transaction.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._factory = session_factory
        self._session: AsyncSession | None = None
        self._read_only = False

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    def read_only(self) -> Self:
        """Enter for reading only: on SQLite the transaction does not take the write lock."""
        self._read_only = True
        return self

    async def __aenter__(self) -> Self:
        if self._session is not None:
            raise RuntimeError("unit of work is already open")
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
        assert session is not None
        await session.close()  # rolls back what was not committed; keeps loaded objects usable

    async def commit(self) -> None:
        await self.session.commit()

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
