"""Monthly sales rollups (crm/models/rollups.py), kept in the transaction of every change
to the sales, and checked against them.

How they are kept:
- Sales added, deleted or changed through the ORM (a deal won or reopened, a test's
  `session.add(Sale(...))`, any future service) are seen by one `after_flush` listener
  on every session: it adds the new figures and takes away the old ones in the same
  transaction, before the commit. Nobody has to remember to call anything.
- Sales written by bulk statements (imports, demo data, a merge that moves the sales of
  one company to another with one UPDATE) bypass the ORM, so their writer calls one of:
  `add_rows(session, rows)` after inserting rows (or `add_range(session, first, last)`
  for ids that are all its own, under SQLite's write lock: an import), or
  `recompute_companies(session, ids)` / `recompute_managers(session, ids)` after an
  UPDATE or DELETE of their sales
  ("sales of company A moved to B": `recompute_companies(session, [a, b])`).
- A company deleted takes its sales and its rollups with it (ON DELETE CASCADE).

`verify` recomputes every rollup from the sales and lists the differences; `rebuild`
writes them anew (`chatcrm analytics verify [--repair]`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Table,
    cast,
    delete,
    event,
    func,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, attributes

from crm.analytics.scope import money_cents
from crm.models import CompanySalesMonth, ManagerSalesMonth, Sale

COMPANY_TABLE: Table = CompanySalesMonth.__table__  # type: ignore[assignment]
MANAGER_TABLE: Table = ManagerSalesMonth.__table__  # type: ignore[assignment]
TABLES: dict[str, tuple[Table, str]] = {
    "company": (COMPANY_TABLE, "company_id"),
    "manager": (MANAGER_TABLE, "manager_id"),
}
FIGURES = ("revenue_cents", "cost_cents", "sales")
BATCH = 5000


def cents(value: Decimal | int | float | None) -> int:
    """Whole cents, half away from zero (as SQLite's ROUND and PostgreSQL's cast do)."""
    if value is None:
        return 0
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    return int(value.scaleb(2).to_integral_value(rounding=ROUND_HALF_UP))


def month_of(day: date) -> date:
    return day.replace(day=1)


class Deltas:
    """Changes to the rollups, summed per (company, month) and (manager, month)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[tuple[int, date], list[int]]] = {"company": {}, "manager": {}}
        self.shrinks = False  # some figure goes down: empty rows may be left to delete

    def add(
        self,
        company_id: int,
        manager_id: int | None,
        sold_on: date,
        amount: Any,
        cost: Any,
        sign: int = 1,
    ) -> None:
        month = month_of(sold_on)
        figures = (sign * cents(amount), sign * cents(cost), sign)
        for kind, key in (("company", company_id), ("manager", manager_id)):
            if key is None:
                continue
            row = self.rows[kind].setdefault((key, month), [0, 0, 0])
            for i, value in enumerate(figures):
                row[i] += value
        if sign < 0:
            self.shrinks = True

    def add_sale(self, sale: Sale, sign: int = 1) -> None:
        self.add(sale.company_id, sale.manager_id, sale.sold_on, sale.amount, sale.cost, sign)

    def __bool__(self) -> bool:
        return any(self.rows.values())

    def statements(self, dialect: str) -> list[tuple[Any, list[dict[str, Any]]]]:
        """(statement, parameters) pairs that apply these deltas, in a fixed key order."""
        module = postgresql if dialect == "postgresql" else sqlite
        out: list[tuple[Any, list[dict[str, Any]]]] = []
        for kind, (table, key) in TABLES.items():
            changes: list[dict[str, Any]] = [
                {key: k, "month": m, **dict(zip(FIGURES, figures, strict=True))}
                for (k, m), figures in sorted(self.rows[kind].items())
                if any(figures)
            ]
            if not changes:
                continue
            insert = module.insert(table)
            upsert = insert.on_conflict_do_update(
                index_elements=[key, "month"],
                set_={f: table.c[f] + insert.excluded[f] for f in FIGURES},
            )
            for start in range(0, len(changes), BATCH):
                out.append((upsert, changes[start : start + BATCH]))
            if self.shrinks:
                keys = [(c[key], c["month"]) for c in changes if c["sales"] < 0]
                for start in range(0, len(keys), BATCH):
                    chunk = keys[start : start + BATCH]
                    out.append(
                        (
                            delete(table).where(
                                tuple_(table.c[key], table.c.month).in_(chunk),
                                table.c.sales <= 0,
                            ),
                            [],
                        )
                    )
        return out

    def apply_sync(self, connection: Connection) -> None:
        for statement, params in self.statements(connection.dialect.name):
            connection.execute(statement, params) if params else connection.execute(statement)

    async def apply(self, session: AsyncSession) -> None:
        dialect = session.get_bind().dialect.name
        for statement, params in self.statements(dialect):
            await (session.execute(statement, params) if params else session.execute(statement))


# --- the ORM listener -----------------------------------------------------------------------

TRACKED = ("company_id", "manager_id", "sold_on", "amount", "cost")


def _before_and_after(sale: Sale) -> tuple[dict[str, Any], dict[str, Any]] | None:
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    changed = False
    for name in TRACKED:
        history = attributes.get_history(sale, name)
        after[name] = history.added[0] if history.added else getattr(sale, name)
        if history.deleted:
            before[name] = history.deleted[0]
            changed = True
        else:
            before[name] = after[name]
    return (before, after) if changed else None


@event.listens_for(Session, "after_flush")
def _track_sales(session: Session, _context: Any) -> None:
    deltas = Deltas()
    for record in session.new:
        if isinstance(record, Sale):
            deltas.add_sale(record, 1)
    for record in session.deleted:
        if isinstance(record, Sale):
            deltas.add_sale(record, -1)
    for record in session.dirty:
        if isinstance(record, Sale):
            change = _before_and_after(record)
            if change is not None:
                before, after = change
                deltas.add(**before, sign=-1)
                deltas.add(**after, sign=1)
    if deltas:
        deltas.apply_sync(session.connection())


# --- bulk writers ---------------------------------------------------------------------------


async def add_rows(session: AsyncSession, rows: Iterable[Mapping[str, Any]]) -> None:
    """Count sales inserted by a bulk statement (dicts with the columns of `sales`)."""
    deltas = Deltas()
    for row in rows:
        deltas.add(
            row["company_id"], row.get("manager_id"), row["sold_on"], row["amount"], row.get("cost")
        )
    await deltas.apply(session)


async def add_range(session: AsyncSession, first_id: int, last_id: int) -> None:
    """Count the sales with ids first_id..last_id, inserted by one bulk writer that held the
    write lock the whole time, so that they are all its own and none is counted yet (SQLite:
    an import). One grouped statement per rollup table."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    for kind, (table, key) in TABLES.items():
        query = _from_sales(dialect, kind, None).where(Sale.id.between(first_id, last_id))
        insert = module.insert(table).from_select([key, "month", *FIGURES], query)
        await session.execute(
            insert.on_conflict_do_update(
                index_elements=[key, "month"],
                set_={f: table.c[f] + insert.excluded[f] for f in FIGURES},
            )
        )


def _month(dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return type_coerce(func.date(Sale.sold_on, "start of month"), Date)
    return cast(func.date_trunc("month", Sale.sold_on), Date)


def _from_sales(dialect: str, kind: str, keys: Sequence[int] | None) -> Any:
    key = TABLES[kind][1]
    owner = getattr(Sale, key)
    month = _month(dialect)
    query = select(
        owner.label(key),
        month.label("month"),
        func.sum(money_cents(Sale.amount)).label("revenue_cents"),
        func.sum(money_cents(func.coalesce(Sale.cost, 0))).label("cost_cents"),
        func.count().label("sales"),
    ).where(owner.is_not(None))
    if keys is not None:
        query = query.where(owner.in_(keys))
    return query.group_by(owner, month)


async def _recompute(session: AsyncSession, kind: str, keys: Sequence[int] | None) -> None:
    table, key = TABLES[kind]
    dialect = session.get_bind().dialect.name
    chunks: list[Sequence[int] | None] = (
        [None] if keys is None else [keys[i : i + 500] for i in range(0, len(keys), 500)]
    )
    for chunk in chunks:
        wipe = delete(table)
        if chunk is not None:
            wipe = wipe.where(table.c[key].in_(chunk))
        await session.execute(wipe)
        await session.execute(
            table.insert().from_select([key, "month", *FIGURES], _from_sales(dialect, kind, chunk))
        )


async def recompute_companies(session: AsyncSession, company_ids: Iterable[int]) -> None:
    """Rewrite the rollups of some companies from their sales (after a bulk UPDATE/DELETE)."""
    ids = sorted(set(company_ids))
    if ids:
        await _recompute(session, "company", ids)


async def recompute_managers(session: AsyncSession, manager_ids: Iterable[int]) -> None:
    ids = sorted(set(manager_ids))
    if ids:
        await _recompute(session, "manager", ids)


async def rebuild(session: AsyncSession) -> None:
    """Rewrite every rollup from the sales."""
    for kind in TABLES:
        await _recompute(session, kind, None)


# --- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    kind: str  # company | manager
    key: int
    month: date
    stored: tuple[int, int, int] | None  # revenue cents, cost cents, sales; None: no row
    expected: tuple[int, int, int] | None


async def verify(session: AsyncSession) -> list[Difference]:
    """Every rollup row that differs from what the sales say, in key order."""
    dialect = session.get_bind().dialect.name
    found: list[Difference] = []
    for kind, (table, key) in TABLES.items():
        stored = {
            (row[0], row[1]): tuple(int(v) for v in row[2:])
            for row in await session.execute(
                select(table.c[key], table.c.month, *(table.c[f] for f in FIGURES))
            )
        }
        expected = {
            (row[0], row[1]): tuple(int(v) for v in row[2:])
            for row in await session.execute(_from_sales(dialect, kind, None))
        }
        for k in sorted(stored.keys() | expected.keys()):
            if stored.get(k) != expected.get(k):
                found.append(Difference(kind, k[0], k[1], stored.get(k), expected.get(k)))  # type: ignore[arg-type]
    return found
