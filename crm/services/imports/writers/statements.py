"""The statements an import writes with: rows inserted in bulk, their ids, their audit rows.

PostgreSQL gets SQLAlchemy's INSERTs as they are. On SQLite the rows go in one executemany
of the compiled INSERT with the bind conversions done per column (SQLAlchemy's per-row
parameter machinery cost a third of a sales import).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import func, insert, select

from crm.models import utcnow
from crm.uow import UnitOfWork, jsonable

CHUNK = 500  # values per IN (…) of a look-up


def chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def audit_rows(
    actor_id: int, entity: str, records: Iterable[tuple[int, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """One "create" audit row per record (id, values), naming every value set."""
    now = utcnow()
    return [
        {
            "at": now,
            "actor_id": actor_id,
            "entity": entity,
            "entity_id": entity_id,
            "action": "create",
            "changes": {
                k: [None, jsonable(v)]
                for k, v in values.items()
                if v is not None and k not in ("id", "created_at", "updated_at")
            },
        }
        for entity_id, values in records
    ]


async def insert_rows(uow: UnitOfWork, model: type, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows; their ids in the order of the rows.

    PostgreSQL: one INSERT … RETURNING per batch of rows. SQLite: SQLAlchemy would send
    such an INSERT one row at a time to keep the order, so the rows go in one executemany
    and their ids are counted on from the highest id before: the transaction holds
    SQLite's write lock (BEGIN IMMEDIATE), so nobody else takes ids meanwhile, and the
    count is checked against the highest id after.
    """
    if not rows:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    session = uow.session
    if session.get_bind().dialect.name != "sqlite":
        result = await session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return [r[0] for r in result]
    before = int(await session.scalar(select(func.max(table.c.id))) or 0)
    await write_plain(uow, model, rows)
    after = int(await session.scalar(select(func.max(table.c.id))) or 0)
    if after - before != len(rows):
        raise RuntimeError(f"{table.name}: {len(rows)} rows took ids {before + 1}..{after}")
    return list(range(before + 1, after + 1))


async def write_plain(uow: UnitOfWork, model: type, rows: list[dict[str, Any]]) -> None:
    """Insert rows whose ids nobody needs."""
    if not rows:
        return
    table = model.__table__  # type: ignore[attr-defined]
    session = uow.session
    if session.get_bind().dialect.name == "sqlite" and await _executemany_sqlite(uow, table, rows):
        return
    await session.execute(insert(table), rows)


_CACHED_TYPES = (date, datetime)  # few distinct values per file: converted once each


class SqliteInsert:
    """The INSERT SQLAlchemy compiles for some columns of a table on SQLite, compiled once,
    run as one executemany of tuples with the same bind conversions done per column
    (instead of through SQLAlchemy's per-row parameter machinery, a third of a sales
    import). `usable` is False when the statement needs more than the given values (a
    column default, an expanding parameter): the caller then inserts some other way."""

    def __init__(
        self, dialect: Any, table: Any, keys: Sequence[str], ready: Sequence[str] = ()
    ) -> None:
        """`ready`: keys whose values come as the driver takes them (no conversion)."""
        compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
        self.sql = compiled.string
        order = list(compiled.positiontup or ())  # the table's order, not necessarily ours
        self.usable = sorted(order) == sorted(keys) and len(set(keys)) == len(keys)
        self.positions = [list(keys).index(key) for key in order] if self.usable else []
        found = [None if key in ready else compiled._bind_processors.get(key) for key in order]
        self.usable = self.usable and all(p is None or callable(p) for p in found)
        self.processors = [cast(Callable[[Any], Any] | None, p) for p in found]

    def convert(self, rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        """The rows (values in the order of the keys) as the driver takes them."""
        columns: list[Sequence[Any]] = []
        for index, process in zip(self.positions, self.processors, strict=True):
            values = [row[index] for row in rows]
            if process is not None:
                values = _converted(process, values)
            columns.append(values)
        return list(zip(*columns, strict=True))

    async def run(self, uow: UnitOfWork, rows: Sequence[Sequence[Any]]) -> None:
        connection = await uow.session.connection()
        await connection.exec_driver_sql(self.sql, self.convert(rows))


def _converted(process: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """process(value) for each value; a column of dates or times (few distinct values)
    converted once per value (told by its first value; a cache only, so a mixed column
    comes out the same either way)."""
    first = next((v for v in values if v is not None), None)
    if not isinstance(first, _CACHED_TYPES):
        return list(map(process, values))
    cache: dict[Any, Any] = {}
    converted = []
    for value in values:
        if isinstance(value, _CACHED_TYPES):
            if value not in cache:
                cache[value] = process(value)
            converted.append(cache[value])
        else:
            converted.append(process(value))
    return converted


async def _executemany_sqlite(uow: UnitOfWork, table: Any, rows: list[dict[str, Any]]) -> bool:
    """The rows in one executemany (SqliteInsert); False, and nothing done, when the
    statement needs more than the rows' own values (a column default)."""
    keys = list(rows[0])
    statement = SqliteInsert(uow.session.get_bind().dialect, table, keys)
    if not statement.usable or any(len(row) != len(keys) for row in rows):
        return False
    try:
        values = [tuple(row[key] for key in keys) for row in rows]
    except KeyError:
        return False
    await statement.run(uow, values)
    return True
