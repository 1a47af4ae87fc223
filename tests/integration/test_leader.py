"""Exactly one scheduler per database: PostgreSQL advisory lock, SQLite lock file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from crm.storage import Database
from notifications.leader import LeaderElector
from notifications.reminders import ReminderRuntime
from tests.fixtures.botapi_stub import BotAPIStub

KEY = 0x5EED_0001  # a key of the tests' own, so a running bot elsewhere is not disturbed


@pytest.fixture
async def two_pg(postgres_url: str) -> AsyncIterator[tuple[Database, Database]]:
    first, second = Database.from_url(postgres_url), Database.from_url(postgres_url)
    try:
        yield first, second
    finally:
        await first.dispose()
        await second.dispose()


@pytest.mark.postgres
async def test_postgres_one_leads_the_other_takes_over_on_release(
    two_pg: tuple[Database, Database],
) -> None:
    first, second = (LeaderElector(db, key=KEY) for db in two_pg)
    assert await first.try_acquire()
    assert not await second.try_acquire()
    assert await first.still_leader()
    await first.release()
    assert await second.try_acquire()
    assert not await first.try_acquire()
    await second.release()


@pytest.mark.postgres
async def test_postgres_leader_that_dies_is_replaced(two_pg: tuple[Database, Database]) -> None:
    first, second = (LeaderElector(db, key=KEY) for db in two_pg)
    assert await first.try_acquire()
    assert not await second.try_acquire()
    # the leader's connection dies (a crashed process, a lost network)
    async with two_pg[1].engine.connect() as admin:
        killed = await admin.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                "WHERE locktype = 'advisory' AND objid = :k AND granted"
            ),
            {"k": KEY},
        )
    assert killed == 1
    for _ in range(50):
        if await second.try_acquire():
            break
        await asyncio.sleep(0.1)
    assert second.is_leader
    assert not await first.still_leader()  # it notices and stops leading
    assert not await first.try_acquire()
    await second.release()
    await first.release()


@pytest.mark.postgres
async def test_two_runtimes_only_one_runs_the_scheduler(
    two_pg: tuple[Database, Database],
) -> None:
    async with BotAPIStub() as stub:
        bots = [stub.bot(), stub.bot()]
        runtimes = [
            ReminderRuntime(db, bot, retry_seconds=0.1, sweep_seconds=60)
            for db, bot in zip(two_pg, bots, strict=True)
        ]
        try:
            for runtime in runtimes:
                runtime.elector.key = KEY
                await runtime.start()
            first, second = runtimes
            assert first.scheduler.running and not second.scheduler.running
            assert (await first.health()).leader and not (await second.health()).leader
            await first.stop()  # the leader shuts down: the other takes over
            for _ in range(50):
                if second.scheduler.running:
                    break
                await asyncio.sleep(0.1)
            health = await second.health()
            assert health.leader and health.last_run_at is not None
        finally:
            for runtime in runtimes:
                await runtime.stop()
            for bot in bots:
                await bot.session.close()


async def test_sqlite_lock_file_elects_one_process(sqlite_db: Database, tmp_path: Path) -> None:
    other = Database.from_url(str(sqlite_db.engine.url))
    try:
        first, second = LeaderElector(sqlite_db), LeaderElector(other)
        lock = first._lock_path()
        assert (
            lock is not None
            and lock.parent == tmp_path
            and lock.name == "chatcrm.db.scheduler.lock"
        )
        assert await first.try_acquire()
        assert not await second.try_acquire()
        await first.release()
        assert await second.try_acquire()
        await second.release()
    finally:
        await other.dispose()


async def test_sqlite_lock_holds_across_processes(sqlite_db: Database) -> None:
    elector = LeaderElector(sqlite_db)
    assert await elector.try_acquire()
    lock = str(elector._lock_path())
    probe = (
        "import fcntl,sys\n"
        f"f=open({lock!r},'a+b')\n"
        "try:\n fcntl.flock(f, fcntl.LOCK_EX|fcntl.LOCK_NB); print('got')\n"
        "except OSError: print('busy')\n"
    )

    async def other_process() -> str:
        proc = await asyncio.create_subprocess_exec(
            "python", "-c", probe, stdout=asyncio.subprocess.PIPE
        )
        out, _ = await proc.communicate()
        return out.decode().strip()

    assert await other_process() == "busy"
    await elector.release()
    assert await other_process() == "got"
