"""The acting member of staff is cached per process; a change to staff reaches every
process's cache at once (crm/uow.py ActorCache, crm/staff_watch.py), not when entries
expire (their ttl is 30 s: every wait here is well under it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text

from crm.services import people
from crm.storage import Database
from tests.fixtures import factories

ANNA = 5151
DEADLINE = 10.0  # seconds: generous for a loaded machine, a third of the cache's ttl


async def until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE} s: {what}")
        await asyncio.sleep(0.02)


async def language_of(db: Database) -> str:
    actor = await people.actor_for(db.uow(), ANNA)
    assert actor is not None
    return actor.language


async def test_a_change_in_this_process_empties_its_cache(db: Database) -> None:
    anna = await factories.staff(db, language="ru", tg_id=ANNA)
    assert await language_of(db) == "ru"  # on PostgreSQL: starts the watch, keeps nothing
    await until(lambda: db.actors.listening, "listening")
    assert await language_of(db) == "ru"
    assert db.actors.get(ANNA) is not None  # kept: the next update reads nothing
    await people.update_settings(db.uow(), anna, language="en")
    assert db.actors.get(ANNA) is None
    assert await language_of(db) == "en"


# several instances share PostgreSQL; SQLite has no NOTIFY (there the cache's ttl holds)
@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_a_change_by_another_instance_reaches_this_one_at_once(db: Database) -> None:
    anna = await factories.staff(db, language="ru", tg_id=ANNA)
    other = Database.from_url(db.engine.url.render_as_string(hide_password=False))
    try:
        # not listening yet: nothing is kept, the first lookup starts the watch
        assert await language_of(other) == "ru"
        await until(lambda: other.actors.listening, "the other instance listens")
        assert await language_of(other) == "ru"
        assert other.actors.get(ANNA) is not None

        await people.update_settings(db.uow(), anna, language="en")
        await until(lambda: other.actors.get(ANNA) is None, "the other instance forgets Anna")
        assert await language_of(other) == "en"

        # its connection lost: it keeps nothing until it listens again, then hears again
        async with db.engine.begin() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query LIKE 'LISTEN%chatcrm_staff%'"
                )
            )
        assert killed == 1
        await until(lambda: not other.actors.listening, "the lost connection is noticed")
        await language_of(other)  # a lookup while deaf: read, not kept
        await until(lambda: other.actors.listening, "the other instance listens again")
        assert await language_of(other) == "en"
        assert other.actors.get(ANNA) is not None
        await people.update_settings(db.uow(), anna, language="ru")
        await until(lambda: other.actors.get(ANNA) is None, "heard after reconnecting")
        assert await language_of(other) == "ru"
    finally:
        await other.dispose()
