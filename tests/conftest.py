"""Shared fixtures: every storage test runs on a SQLite file and on PostgreSQL.

PostgreSQL tests use a database of their own per test run (created and dropped
here), so several runs on one server do not disturb each other. Where no
PostgreSQL answers they are skipped with the reason; `.ci/run` sets
CHATCRM_REQUIRE_SERVICES=1, which turns that skip into a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy import text

from crm.migrate import upgrade
from crm.models import Base
from crm.storage import Database
from tests.fixtures.services import PG_ADMIN_DSN, service_missing

T = TypeVar("T")
pytest_plugins = ["tests.fixtures.bot_harness"]  # the `harness` fixture for handler tests


def run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a loop of its own (session setup outside the test loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _migrated(url: str) -> None:
    database = Database.from_url(url)
    try:
        await upgrade(database.engine)
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    run_in_thread(_migrated(f"sqlite+aiosqlite:///{path}"))
    return path


async def _admin(sql: str) -> None:
    conn = await asyncio.wait_for(asyncpg.connect(PG_ADMIN_DSN), timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    name = f"chatcrm_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        run_in_thread(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        service_missing("PostgreSQL", f"{PG_ADMIN_DSN}: {exc}")
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    url = f"{base}/{name}"
    try:
        run_in_thread(_migrated(url))
        yield url
    finally:
        run_in_thread(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_postgres(database: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with database.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database: a fresh SQLite file, or the run's PostgreSQL database."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "chatcrm.db"
        shutil.copy(template, path)
        database = Database.from_url(f"sqlite+aiosqlite:///{path}")
    else:
        url = request.getfixturevalue("postgres_url")
        database = Database.from_url(url)
        await _truncate_postgres(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def sqlite_db(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Database]:
    """SQLite only, for what is specific to it (locking, backup)."""
    path = tmp_path / "chatcrm.db"
    shutil.copy(sqlite_template, path)
    database = Database.from_url(f"sqlite+aiosqlite:///{path}")
    try:
        yield database
    finally:
        await database.dispose()
