"""The one-hop aiosqlite adapter (crm/sqlite_driver.py) behaves as SQLAlchemy's own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import Integer, String, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from crm.db import create_engine
from crm.sqlite_driver import OneHopConnection


class _Base(DeclarativeBase):
    pass


class Thing(_Base):
    __tablename__ = "things"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    yield engine
    await engine.dispose()


class _Hops:
    """Counts the calls handed to aiosqlite's thread."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        original = aiosqlite.Connection._execute

        async def counted(conn: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await original(conn, fn, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)


async def test_the_bot_engine_uses_the_one_hop_adapter(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.driver_connection, aiosqlite.Connection)
        assert isinstance(raw.dbapi_connection, OneHopConnection)


async def test_a_statement_is_one_hop(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the connection is open and warm
        hops = _Hops(monkeypatch)
        rows = (await conn.execute(text("SELECT 1 UNION ALL SELECT 2"))).all()
        assert [r[0] for r in rows] == [1, 2]
        assert hops.count == 1
        await conn.execute(insert(Thing).values(name="a"))
        assert hops.count == 2


async def test_results_rowcounts_ids_and_executemany(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        result = await conn.execute(insert(Thing).values(name="first"))
        assert result.inserted_primary_key == (1,)
        await conn.execute(insert(Thing), [{"name": "second"}, {"name": "third"}])
        changed = await conn.execute(update(Thing).where(Thing.id > 1).values(name=Thing.name))
        assert changed.rowcount == 2
        names = (await conn.execute(select(Thing.name).order_by(Thing.id))).scalars().all()
        assert names == ["first", "second", "third"]
        empty = await conn.execute(select(Thing).where(Thing.id == 99))
        assert empty.first() is None
        keys = (await conn.execute(select(Thing.id, Thing.name).limit(1))).keys()
        assert list(keys) == ["id", "name"]


async def test_errors_are_sqlalchemy_errors_and_the_transaction_rolls_back(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(Thing).values(name="only"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(Thing).values(name="other"))
            await conn.execute(insert(Thing).values(name="only"))
    async with engine.connect() as conn:
        names = (await conn.execute(select(Thing.name))).scalars().all()
    assert names == ["only"]


async def test_streaming_still_works(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(Thing), [{"name": f"n{i}"} for i in range(50)])
    async with engine.connect() as conn:
        result = await conn.stream(select(Thing.id).order_by(Thing.id))
        seen = [row[0] async for row in result]
    assert seen == list(range(1, 51))
