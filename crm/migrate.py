"""Apply Alembic migrations from code: `chatcrm db upgrade` and the bot's start both call this."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.db import create_engine

MIGRATIONS = Path(__file__).parent / "migrations"

SEARCH_TABLES = {
    "search_fts",
    "search_fts_data",
    "search_fts_idx",
    "search_fts_content",
    "search_fts_docsize",
    "search_fts_config",
    "search_fts_words",
    "search_fts_words_data",
    "search_fts_words_idx",
    "search_fts_words_content",
    "search_fts_words_docsize",
    "search_fts_words_config",
}


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Leave out the search structures only the migrations know (FTS5, pg_trgm)."""
    if type_ == "table" and name in SEARCH_TABLES:
        return False
    return not (type_ == "index" and name == "ix_search_index_text_trgm")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _foreign_keys(sync_conn, on: bool) -> None:  # type: ignore[no-untyped-def]
    """Set SQLite's foreign keys on the DBAPI connection itself, outside any transaction
    (inside one the pragma does nothing)."""
    cursor = sync_conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    finally:
        cursor.close()


async def _with_connection(engine: AsyncEngine, action: str, revision: str) -> None:
    """Run one Alembic command. On SQLite with foreign keys off, as Alembic advises: its batch
    mode rebuilds a table by copy, drop and rename, and with them on the drop would cascade to
    every child row (an upgrade through 0008 cleared every contact's company)."""
    sqlite = engine.dialect.name == "sqlite"

    def run(sync_conn) -> None:  # type: ignore[no-untyped-def]
        cfg = alembic_config(str(engine.url))
        cfg.attributes["connection"] = sync_conn
        getattr(command, action)(cfg, revision)

    async with engine.connect() as conn:
        if sqlite:
            await conn.run_sync(_foreign_keys, False)
        try:
            await conn.run_sync(run)
            await conn.commit()
        finally:
            if sqlite:
                await conn.rollback()
                await conn.run_sync(_foreign_keys, True)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _with_connection(engine, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    await _with_connection(engine, "downgrade", revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at; None for a database never migrated."""

    def run(sync_conn) -> str | None:  # type: ignore[no-untyped-def]
        return MigrationContext.configure(sync_conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(run)


def upgrade_url(url: str, revision: str = "head") -> None:
    async def main() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(main())
