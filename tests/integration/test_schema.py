"""Migrations: up, down and up again on both databases, and no drift from the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from crm.migrate import downgrade, include_object, upgrade
from crm.models import Base
from crm.storage import Database


def _diff(sync_conn):  # type: ignore[no-untyped-def]
    ctx = MigrationContext.configure(
        sync_conn, opts={"include_object": include_object, "compare_type": True}
    )
    return compare_metadata(ctx, Base.metadata)


def _tables(sync_conn) -> set[str]:  # type: ignore[no-untyped-def]
    return set(inspect(sync_conn).get_table_names())


async def test_stairway_and_no_drift(db: Database) -> None:
    await downgrade(db.engine, "base")
    async with db.engine.connect() as conn:
        left = await conn.run_sync(_tables)
    assert left <= {"alembic_version"}
    await upgrade(db.engine, "head")
    await downgrade(db.engine, "base")
    await upgrade(db.engine, "head")
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(_tables)
        diff = await conn.run_sync(_diff)
    assert set(Base.metadata.tables) <= tables
    assert diff == []
