"""Migrations: up, down and up again on both databases, no drift from the models, and the
triggers that keep the deal rollups still there at the head."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from crm.migrate import downgrade, include_object, upgrade
from crm.models import Base
from crm.storage import Database

# the triggers 0014_deal_rollups puts on `deals` (names as the migration gives them): a later
# migration that rebuilds `deals` by a batch copy on SQLite drops them, and every rollup
# (funnel, forecast, digest) goes quietly wrong from then on
DEAL_TRIGGERS = {
    "sqlite": {"deals_rollups_ai", "deals_rollups_ad", "deals_rollups_au"},
    "postgresql": {"deals_rollups"},
}
TRIGGERS_ON_DEALS = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'deals'",
    "postgresql": "SELECT tgname FROM pg_trigger WHERE tgrelid = 'deals'::regclass"
    " AND NOT tgisinternal AND tgenabled <> 'D'",
}


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


async def test_the_deal_rollup_triggers_are_there_at_the_head(db: Database) -> None:
    await upgrade(db.engine, "head")  # the database is migrated from empty: a no-op
    dialect = db.engine.dialect.name
    async with db.engine.connect() as conn:
        names = set((await conn.exec_driver_sql(TRIGGERS_ON_DEALS[dialect])).scalars())
    assert names >= DEAL_TRIGGERS[dialect]


async def test_upgrading_a_filled_sqlite_database_keeps_every_child_row(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Batch migrations rebuild SQLite tables by copy, drop and rename: the drop must not
    cascade (0008 rebuilds companies, whose contacts and deals point at them)."""
    from crm.db import create_engine

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        await upgrade(engine, "0007")
        now = "2026-01-01 00:00:00"
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO managers (id, tg_id, name, role, timezone, language, digest_time,"
                " sales_plan, commission_pct, max_discount_pct, active, bot_blocked, created_at)"
                f" VALUES (1, 1, 'A', 'director', 'UTC', 'en', '09:00:00', 0, 0, 0, 1, 0, '{now}')"
            )
            await conn.exec_driver_sql(
                "INSERT INTO companies (id, name, name_key, curator_id, stage, tags, created_at,"
                " updated_at) VALUES (1, 'Romashka', 'romashka', 1, 'lead', '[]',"
                f" '{now}', '{now}')"
            )
            await conn.exec_driver_sql(
                "INSERT INTO contacts (id, curator_id, name, email_opt_out, created_at, updated_at,"
                f" company_id) VALUES (1, 1, 'Ivan', 0, '{now}', '{now}', 1)"
            )
        await upgrade(engine, "head")
        async with engine.connect() as conn:
            rows = (await conn.exec_driver_sql("SELECT id, company_id FROM contacts")).all()
            keys = (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        assert [tuple(r) for r in rows] == [(1, 1)]
        assert keys == 1  # turned back on for the connection the bot goes on using
    finally:
        await engine.dispose()
