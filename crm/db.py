"""Engine and session factory: SQLite tuned for concurrent writers, PostgreSQL without JIT."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import CursorResult, Result, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from crm import sqlite_driver

READ_ONLY = "chatcrm_read_only"
# a connection whose every statement commits by itself (one round trip, no BEGIN): for a
# single UPDATE that must be durable at once (the outbox marking a row sent)
SINGLE_STATEMENTS = "chatcrm_single_statements"


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL, foreign keys, busy timeout, and write transactions that take the lock up front.

    A deferred transaction that reads and then writes fails at once with SQLITE_BUSY
    whatever the busy timeout, so every transaction that may write starts with
    BEGIN IMMEDIATE; read-only units of work start a plain deferred BEGIN.
    """
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(SINGLE_STATEMENTS):
            return  # the driver runs in autocommit mode (isolation_level None)
        if options.get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"timeout": 30})
        if parsed.get_driver_name() == "aiosqlite":
            kwargs.setdefault("module", sqlite_driver.dbapi())
        engine = create_async_engine(url, **kwargs)
        _tune_sqlite(engine)
        return engine
    # No JIT: the bot's statements take milliseconds, and the planner's cost estimate sends
    # some (a month's inquiries at a million sales) to LLVM, whose compiling alone took
    # 28 ms of a 93 ms report. Settings given by the caller win.
    if parsed.get_driver_name() == "asyncpg":
        connect_args = dict(kwargs.get("connect_args") or {})
        connect_args["server_settings"] = {"jit": "off", **connect_args.get("server_settings", {})}
        kwargs["connect_args"] = connect_args
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    from crm.analytics import rollups  # noqa: F401  (keeps the sales rollups on every flush)

    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


async def single_statement_connection(engine: AsyncEngine) -> AsyncConnection:
    """A connection on which each statement is its own transaction (close it after use)."""
    conn = await engine.connect()
    if engine.dialect.name == "sqlite":
        return await conn.execution_options(**{SINGLE_STATEMENTS: True})
    return await conn.execution_options(isolation_level="AUTOCOMMIT")


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def rowcount(result: Result[Any]) -> int:
    """The rows an INSERT, UPDATE or DELETE touched.

    `AsyncSession.execute` is typed as returning a plain `Result` whatever the statement;
    for a DML statement without RETURNING it is a `CursorResult`, which has the count.
    """
    return cast(CursorResult[Any], result).rowcount
