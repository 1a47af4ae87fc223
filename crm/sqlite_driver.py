"""SQLAlchemy's aiosqlite adapter with one thread hop per statement instead of four.

aiosqlite runs every call on its own thread; SQLAlchemy's adapter makes four such calls
per SELECT (open a cursor, execute, fetch all, close) and three per INSERT/UPDATE, and
each hop costs about 0.07 ms of queueing and waking the event loop. Here the whole
statement runs as one function on aiosqlite's thread and hands back the rows, the
description, the rowcount and the last row id together: the same driver, the same SQL,
the same transactions, a quarter of the hops (bench/bench_dispatcher.py measures it).

Only the client-side cursor is replaced; server-side cursors (`stream()`) keep
SQLAlchemy's own.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Sequence
from types import ModuleType
from typing import Any, cast

from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util.concurrency import await_


class _Outcome:
    """What a finished statement left behind, read on aiosqlite's thread."""

    __slots__ = ("arraysize", "description", "lastrowid", "rowcount", "rows")

    def __init__(self) -> None:
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1
        self.rows: list[Any] = []

    def close(self) -> None:
        """Nothing to close: the sqlite3 cursor was closed on the worker thread."""


def _run(
    conn: sqlite3.Connection, operation: str, parameters: Any, many: bool, outcome: _Outcome
) -> _Outcome:
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        outcome.description = cursor.description
        outcome.rows = cursor.fetchall() if cursor.description else []
        outcome.rowcount = cursor.rowcount
        outcome.lastrowid = cursor.lastrowid
    finally:
        cursor.close()
    return outcome


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()
    _awaitable_cursor_close = False

    def _make_new_cursor(self, connection: Any) -> Any:
        return _Outcome()

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        async with self._adapt_connection._execute_mutex:
            await self._connection._execute(
                _run, self._connection._conn, operation, parameters, False, self._cursor
            )
            outcome = cast(_Outcome, self._cursor)  # what _make_new_cursor made
            if outcome.description:
                self._rows = collections.deque(outcome.rows)
                outcome.rows = []
            return self

    async def _executemany_async(self, operation: Any, seq_of_parameters: Sequence[Any]) -> Any:
        async with self._adapt_connection._execute_mutex:
            await self._connection._execute(
                _run, self._connection._conn, operation, seq_of_parameters, True, self._cursor
            )
            return self


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneHopCursor


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        creator_fn = kw.pop("async_creator_fn", None)
        connection = creator_fn(*arg, **kw) if creator_fn else self.aiosqlite.connect(*arg, **kw)
        if creator_fn is None:
            connection._thread.daemon = True  # as SQLAlchemy's own adapter does
        return OneHopConnection(self, await_(connection))


def dbapi() -> OneHopDBAPI:
    """The module object for `create_async_engine(..., module=dbapi())`."""
    import aiosqlite

    aiosqlite_module: ModuleType = aiosqlite
    return OneHopDBAPI(aiosqlite_module, sqlite3)


async def execute(driver_connection: Any, operation: str, parameters: Sequence[Any]) -> int:
    """One statement on an aiosqlite connection used by nothing else (no SQLAlchemy
    around it: the outbox marks sent rows this way), in one hop; its rowcount."""
    outcome = await driver_connection._execute(
        _run, driver_connection._conn, operation, parameters, False, _Outcome()
    )
    return int(outcome.rowcount)
