"""Outcomes: sent, failed (for now or for good), handed back, retried by the operator.

The worker marks sent rows several at a time on a connection of its own (`SentMarks`:
its SQL written once, run on the driver itself: hundreds of statements a second); the
other outcomes are rare.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import case, literal, null, or_, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm import sqlite_driver
from crm.db import rowcount, single_statement_connection
from crm.models import OutboundEmail, utcnow
from crm.models.enums import EmailStatus
from crm.services.outbox.common import (
    BACKOFF,
    ERROR_MAX,
    MAX_ATTEMPTS,
    OPTED_OUT,
    announce,
    still,
)
from crm.uow import UnitOfWork


def _next_attempt(now: datetime) -> Any:
    """After a failed attempt: now + the backoff for the row's attempts (none once its
    attempts are used up)."""
    moment = OutboundEmail.next_attempt_at.type
    return case(
        (OutboundEmail.attempts >= MAX_ATTEMPTS, null()),
        *(
            (OutboundEmail.attempts <= n, literal(now + wait, moment))
            for n, wait in enumerate(BACKOFF, start=1)
        ),
        else_=literal(now + BACKOFF[-1], moment),
    )


def mark_sent_statement(ids: list[int], now: datetime) -> Any:
    """The UPDATE that marks rows sent, for drivers `_mark_sent_sql` does not know."""
    return (
        update(OutboundEmail)
        .where(OutboundEmail.id.in_(ids), still(EmailStatus.SENDING.value))
        .values(
            status=EmailStatus.SENT.value,
            sent_at=now,
            next_attempt_at=None,
            last_error=None,
            error_code=None,
        )
        .execution_options(synchronize_session=False)
    )


# the worker marks a handful of rows per statement, hundreds of statements a second:
# building and compiling the UPDATE each time cost more CPU than sending the emails, so the
# SQL is written once per driver parameter style and batch size
_PLACEHOLDERS: dict[str, Callable[[int], str]] = {
    "qmark": lambda _n: "?",
    "format": lambda _n: "%s",
    "numeric_dollar": lambda n: f"${n}",
}
MARK_CHUNK = 500


@lru_cache(maxsize=128)
def _mark_sent_sql(paramstyle: str, count: int) -> str:
    """`mark_sent_statement` as SQL text, its status filter written as `still` writes it."""
    mark = _PLACEHOLDERS[paramstyle]
    ids = ", ".join(mark(n) for n in range(2, count + 2))
    return (
        f"UPDATE {OutboundEmail.__tablename__} SET status = '{EmailStatus.SENT.value}', "
        f"sent_at = {mark(1)}, next_attempt_at = NULL, last_error = NULL, error_code = NULL "
        f"WHERE id IN ({ids}) AND (status = '{EmailStatus.SENDING.value}') IS TRUE"
    )


async def mark_sent_on(conn: AsyncConnection, ids: list[int], now: datetime) -> int:
    """Mark rows sent on the caller's connection (the worker's own, where each statement
    commits by itself): the same UPDATE as `mark_sent_statement`, without building it."""
    dialect = conn.dialect
    if dialect.paramstyle not in _PLACEHOLDERS:
        result = await conn.execute(mark_sent_statement(ids, now))
        return int(result.rowcount or 0)
    process = OutboundEmail.__table__.c.sent_at.type.bind_processor(dialect)
    moment = process(now) if process is not None else now
    done = 0
    for start in range(0, len(ids), MARK_CHUNK):
        chunk = ids[start : start + MARK_CHUNK]
        result = await conn.exec_driver_sql(
            _mark_sent_sql(dialect.paramstyle, len(chunk)), (moment, *chunk)
        )
        done += int(result.rowcount or 0)
    return done


class SentMarks:
    """Marks rows sent on a connection of its own where each UPDATE commits by itself.

    The worker runs one such UPDATE every email or few (a connection may hold only one
    accepted row unmarked), so it skips SQLAlchemy's execution layer: the SQL is written
    once per batch size (`_mark_sent_sql`) and handed to the driver (asyncpg, or the
    aiosqlite thread in one hop), the time converted once per statement by the column's
    own bind processor. Other drivers go through `mark_sent_on`.

    On PostgreSQL the connection runs with `synchronous_commit = off`. A lane waits for
    its last mark before its next DATA, and with each mark waiting for its WAL flush the
    outbox waited on the disk, not on the mail server. The server holds the mark once
    the UPDATE returns, so a killed worker still repeats at most one email per
    connection; only a crash of the database server's machine can lose the marks of its
    last moments (at most 3 × wal_writer_delay, 0.6 s by default), and those rows are
    sent again after the lease with their own Message-IDs: the promise SQLite's WAL with
    synchronous=NORMAL gives for every commit."""

    def __init__(self, conn: AsyncConnection, driver: Any) -> None:
        self.conn = conn
        self.dialect = conn.dialect
        self.driver = driver
        self.process = OutboundEmail.__table__.c.sent_at.type.bind_processor(self.dialect)
        name = (self.dialect.name, self.dialect.driver)
        self.run: Callable[[str, list[Any]], Any] | None = None
        if name == ("postgresql", "asyncpg") and self.dialect.paramstyle in _PLACEHOLDERS:
            self.run = self._asyncpg
        elif name == ("sqlite", "aiosqlite") and self.dialect.paramstyle in _PLACEHOLDERS:
            self.run = self._aiosqlite

    @classmethod
    async def open(cls, engine: AsyncEngine) -> SentMarks:
        conn = await single_statement_connection(engine)
        try:
            if conn.dialect.name == "postgresql":
                await conn.exec_driver_sql("SET synchronous_commit = off")
            raw = await conn.get_raw_connection()
            return cls(conn, raw.driver_connection)
        except BaseException:
            await conn.close()
            raise

    async def _asyncpg(self, sql: str, args: list[Any]) -> int:
        status = await self.driver.execute(sql, *args)  # "UPDATE <n>"
        return int(str(status).rpartition(" ")[2] or 0)

    async def _aiosqlite(self, sql: str, args: list[Any]) -> int:
        return await sqlite_driver.execute(self.driver, sql, args)

    async def mark(self, ids: list[int], now: datetime) -> int:
        if self.run is None:
            return await mark_sent_on(self.conn, ids, now)
        moment = self.process(now) if self.process is not None else now
        done = 0
        for start in range(0, len(ids), MARK_CHUNK):
            chunk = ids[start : start + MARK_CHUNK]
            sql = _mark_sent_sql(self.dialect.paramstyle, len(chunk))
            done += await self.run(sql, [moment, *chunk])
        return done

    async def close(self) -> None:
        """Back to the pool as it came (a connection that cannot say so is dropped)."""
        if self.dialect.name == "postgresql":
            try:
                await self.conn.exec_driver_sql("RESET synchronous_commit")
            except Exception:
                await self.conn.invalidate()
        await self.conn.close()


async def mark_failed(
    uow: UnitOfWork,
    email_id: int,
    error: str,
    *,
    code: int | None = None,
    permanent: bool = False,
    now: datetime | None = None,
) -> str | None:
    """A failed attempt. Transient (a 4xx, a timeout): back to pending with the error,
    due again at `now` + the backoff for its attempts, failed for good after
    MAX_ATTEMPTS. `permanent` (a 5xx for this recipient): failed now. Returns the new
    status (None if the row was not ours)."""
    moment = now or utcnow()
    status: Any
    if permanent:
        status, next_attempt = EmailStatus.FAILED.value, null()
    else:
        status = case(
            (OutboundEmail.attempts >= MAX_ATTEMPTS, EmailStatus.FAILED.value),
            else_=EmailStatus.PENDING.value,
        )
        next_attempt = _next_attempt(moment)
    async with uow:
        result = await uow.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == email_id, still(EmailStatus.SENDING.value))
            .values(
                status=status,
                last_error=error[:ERROR_MAX],
                error_code=code,
                next_attempt_at=next_attempt,
            )
            .returning(OutboundEmail.status)
            .execution_options(synchronize_session=False)
        )
        new_status = result.scalar_one_or_none()
        await uow.commit()
    return new_status


async def release(uow: UnitOfWork, ids: Iterable[int], error: str) -> int:
    """Rows claimed but not sent because the connection failed: back to pending, due at
    once, their attempt given back (the outbox pauses instead)."""
    wanted = list(ids)
    if not wanted:
        return 0
    async with uow:
        result = await uow.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id.in_(wanted), still(EmailStatus.SENDING.value))
            .values(
                status=EmailStatus.PENDING.value,
                attempts=case((OutboundEmail.attempts > 0, OutboundEmail.attempts - 1), else_=0),
                last_error=error[:ERROR_MAX],
                error_code=None,
            )
            .execution_options(synchronize_session=False)
        )
        await uow.commit()
    return rowcount(result)


async def retry_failed(uow: UnitOfWork, *, event_id: int | None = None) -> int:
    """Failed rows (not those of recipients who opted out) go back to pending with fresh
    attempts: for the operator once the cause is fixed."""
    conditions = [
        OutboundEmail.status == EmailStatus.FAILED.value,
        or_(OutboundEmail.last_error.is_(None), OutboundEmail.last_error != OPTED_OUT),
    ]
    if event_id is not None:
        conditions.append(OutboundEmail.event_id == event_id)
    async with uow:
        result = await uow.session.execute(
            update(OutboundEmail)
            .where(*conditions)
            .values(
                status=EmailStatus.PENDING.value,
                attempts=0,
                next_attempt_at=None,
                claimed_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(result):
            await announce(uow)
        await uow.commit()
    return rowcount(result)
