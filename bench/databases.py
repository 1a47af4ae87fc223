"""A migrated database for one benchmark run: a temporary SQLite file, or a PostgreSQL
database created for the run and dropped after it."""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg

from crm.migrate import upgrade
from crm.storage import Database

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextlib.asynccontextmanager
async def database(kind: str) -> AsyncIterator[Database]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            db = Database.from_url(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
            try:
                await upgrade(db.engine)
                yield db
            finally:
                await db.dispose()
        return
    name = f"chatcrm_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    db = Database.from_url(f"{base}/{name}")
    try:
        await upgrade(db.engine)
        yield db
    finally:
        await db.dispose()
        admin = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
