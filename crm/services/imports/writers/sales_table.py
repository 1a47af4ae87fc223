"""Where the rows of a sales import go: which document numbers are taken already, the new
sales in, and the monthly rollups kept, all in the import's one transaction.

PostgreSQL: SQLAlchemy's statements, the rollups summed per (company, month) here and
written at the end. SQLite (the target of a million rows in a minute):
- the INSERT is compiled once and each batch goes in one executemany of tuples;
- the taken document numbers of a batch are asked in one statement (a JSON array of them
  read by `json_each`), not in chunks of IN (…) compiled anew each time;
- the transaction holds the write lock (BEGIN IMMEDIATE), so the sales of the import are
  exactly the ids after the highest one before it: the rollups are summed from them in
  SQL at the end, one grouped statement per rollup table (the count is checked against
  the ids first);
- the connection's page cache is raised for the import (`CACHE_KIB`) and put back after:
  with SQLite's default 2 MB, the sales indexes of a large import no longer fit and their
  pages are written out and read back again and again (a third of the time at 1M rows).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crm.analytics import rollups
from crm.errors import Conflict
from crm.models import Sale
from crm.services.imports.writers.statements import SqliteInsert, chunks, write_plain
from crm.uow import UnitOfWork

# what a batch hands over per new sale, in this order: dates as ISO text, amounts as the
# text of their Decimal (as the reader sends them, crm/services/imports/cells.py sale_wire)
COLUMNS = (
    "company_id",
    "product_id",
    "manager_id",
    "sold_on",
    "quantity",
    "amount",
    "cost",
    "external_ref",
    "paid_on",
)
FIXED = ("deal_id", "source", "created_at")  # the same for every sale of an import
CACHE_KIB = 128 * 1024


def _typed(row: tuple[Any, ...], now: datetime) -> dict[str, Any]:
    """A new sale's values (COLUMNS) as SQLAlchemy's types take them."""
    values = dict(zip(COLUMNS, row, strict=True))
    cost, paid_on = values["cost"], values["paid_on"]
    values.update(
        sold_on=date.fromisoformat(values["sold_on"]),
        quantity=Decimal(values["quantity"]),
        amount=Decimal(values["amount"]),
        cost=None if cost is None else Decimal(cost),
        paid_on=None if paid_on is None else date.fromisoformat(paid_on),
        deal_id=None,
        source="import",
        created_at=now,
    )
    return values


class SalesTable:
    """The PostgreSQL way (and the reference for SQLite's)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.deltas = rollups.Deltas()
        self.first_id: int | None = None
        self.created = 0

    async def taken(self, refs: Sequence[str]) -> set[str]:
        """Which of these document numbers are stored already."""
        found: set[str] = set()
        for chunk in chunks(sorted(refs)):
            found |= set(
                await self.uow.session.scalars(
                    select(Sale.external_ref).where(Sale.external_ref.in_(chunk))
                )
            )
        return found

    async def _first_id(self) -> None:
        if self.first_id is None:
            self.first_id = int(await self.uow.session.scalar(select(func.max(Sale.id))) or 0) + 1

    async def insert(self, rows: list[tuple[Any, ...]], now: datetime) -> None:
        """New sales, values in the order of COLUMNS."""
        await self._first_id()
        records = [_typed(row, now) for row in rows]
        for r in records:
            self.deltas.add(r["company_id"], r["manager_id"], r["sold_on"], r["amount"], r["cost"])
        try:
            await write_plain(self.uow, Sale, records)
        except IntegrityError as exc:  # another import of the same documents at the same time
            raise Conflict("duplicate") from exc
        self.created += len(rows)

    async def finish(self) -> int | None:
        """Count the sales in the rollups; the highest id of the import."""
        await self.deltas.apply(self.uow.session)
        if not self.created:
            return None
        return await self.uow.session.scalar(select(func.max(Sale.id)))

    async def close(self) -> None:
        """Put back what the import changed on its connection (nothing here)."""


class SqliteSalesTable(SalesTable):
    def __init__(self, uow: UnitOfWork) -> None:
        super().__init__(uow)
        dialect = uow.session.get_bind().dialect
        # the dates come as the ISO text SQLite stores; the amounts are text that SQLAlchemy's
        # conversion makes floats, as it does of Decimals
        self.statement = SqliteInsert(
            dialect, Sale.__table__, COLUMNS + FIXED, ready=("sold_on", "paid_on")
        )
        self.driver: Any = None  # the aiosqlite connection of the transaction
        self.cache_before: int | None = None

    async def _driver(self) -> Any:
        if self.driver is None:
            connection = await self.uow.session.connection()
            self.driver = (await connection.get_raw_connection()).driver_connection
            self.cache_before = (await self._pragma("PRAGMA cache_size"))[0][0]
            await self._pragma(f"PRAGMA cache_size = -{CACHE_KIB}")
        return self.driver

    async def _pragma(self, sql: str) -> list[Any]:
        cursor = await self.driver.execute(sql)
        try:
            return list(await cursor.fetchall())
        finally:
            await cursor.close()

    async def taken(self, refs: Sequence[str]) -> set[str]:
        if not refs:
            return set()
        await self._driver()
        connection = await self.uow.session.connection()
        result = await connection.exec_driver_sql(
            "SELECT external_ref FROM sales WHERE external_ref IN (SELECT value FROM json_each(?))",
            (json.dumps(list(refs), ensure_ascii=False),),
        )
        return {row[0] for row in result}

    async def insert(self, rows: list[tuple[Any, ...]], now: datetime) -> None:
        await self._driver()
        await self._first_id()
        fixed = (None, "import", now)
        try:
            await self.statement.run(self.uow, [row + fixed for row in rows])
        except IntegrityError as exc:  # another import of the same documents at the same time
            raise Conflict("duplicate") from exc
        self.created += len(rows)

    async def finish(self) -> int | None:
        if not self.created or self.first_id is None:
            return None
        session = self.uow.session
        last = int(await session.scalar(select(func.max(Sale.id))) or 0)
        if last - self.first_id + 1 != self.created:
            raise RuntimeError(f"sales: {self.created} rows took ids {self.first_id}..{last}")
        await rollups.add_range(session, self.first_id, last)
        return last

    async def close(self) -> None:
        if self.driver is not None and self.cache_before is not None:
            await self._pragma(f"PRAGMA cache_size = {int(self.cache_before)}")
            self.cache_before = None


def sales_table(uow: UnitOfWork) -> SalesTable:
    if uow.session.get_bind().dialect.name == "sqlite":
        table = SqliteSalesTable(uow)
        if table.statement.usable:
            return table
    return SalesTable(uow)
