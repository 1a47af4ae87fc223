"""Dialog state survives a restart: a new storage instance reads what the old one wrote."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from redis.exceptions import RedisError
from sqlalchemy import text

from bot.fsm_storage import DatabaseStorage, create_storage, default_key_builder
from crm.settings import Settings
from crm.storage import Database
from tests.fixtures.services import REDIS_URL, service_missing


class Form(StatesGroup):
    name = State()
    phone = State()


KEY = StorageKey(bot_id=1, chat_id=10, user_id=10)
OTHER = StorageKey(bot_id=1, chat_id=20, user_id=20)
DATA = {"name": "ООО Ромашка", "step": 2, "tags": ["a", "b"], "nested": {"x": None}}


async def test_database_storage_survives_a_restart(db: Database) -> None:
    first = DatabaseStorage(db)
    assert await first.get_state(KEY) is None and await first.get_data(KEY) == {}
    await first.set_state(KEY, Form.phone)
    await first.set_data(KEY, DATA)
    await first.update_data(KEY, {"step": 3})
    await first.set_state(OTHER, "Form:name")
    await first.close()

    url = db.engine.url.render_as_string(hide_password=False)
    restarted = Database.from_url(url)
    try:
        second = DatabaseStorage(restarted)
        assert await second.get_state(KEY) == "Form:phone"
        assert await second.get_data(KEY) == {**DATA, "step": 3}
        assert await second.get_state(OTHER) == "Form:name"
        assert await second.get_data(OTHER) == {}

        await second.set_state(KEY, None)
        await second.set_data(KEY, {})
        assert await second.get_state(KEY) is None and await second.get_data(KEY) == {}
        assert await second.get_state(OTHER) == "Form:name"
    finally:
        await restarted.dispose()


async def test_database_storage_reads_once_and_skips_writes_that_change_nothing(
    db: Database,
) -> None:
    storage = DatabaseStorage(db)
    await storage.set_state(KEY, None)  # clearing a dialog that is not there
    await storage.set_data(KEY, {})
    async with db.uow() as uow:
        assert (await uow.session.execute(text("SELECT count(*) FROM fsm_states"))).scalar() == 0
    await storage.set_state(KEY, Form.name)
    data = await storage.get_data(KEY)
    data["mutated"] = True  # a handler's copy: the stored data does not change with it
    assert await storage.get_data(KEY) == {}
    async with db.uow() as uow:  # another process changes the row behind this one's back
        await uow.session.execute(text("UPDATE fsm_states SET state = 'Form:phone'"))
        await uow.commit()
    assert await storage.get_state(KEY) == "Form:name"  # served from memory, not read again
    assert await DatabaseStorage(db).get_state(KEY) == "Form:phone"  # a restart reads the table


async def test_database_storage_concurrent_writers_lose_no_row(db: Database) -> None:
    storage = DatabaseStorage(db)
    keys = [StorageKey(bot_id=1, chat_id=i, user_id=i) for i in range(100, 110)]
    await asyncio.gather(*(storage.set_state(k, Form.name) for k in keys for _ in range(2)))
    assert [await storage.get_state(k) for k in keys] == ["Form:name"] * len(keys)


async def test_redis_storage_survives_a_restart() -> None:
    key = StorageKey(bot_id=1, chat_id=int(uuid.uuid4().int % 10**9), user_id=7)
    settings = Settings(_env_file=None, redis_url=REDIS_URL)  # type: ignore[call-arg]
    first = create_storage(settings, Database.from_url("sqlite+aiosqlite://"))
    assert isinstance(first, RedisStorage)
    try:
        await first.redis.ping()
    except (RedisError, OSError) as exc:
        await first.close()
        service_missing("Redis", f"{REDIS_URL}: {exc}")
    try:
        await first.set_state(key, Form.phone)
        await first.set_data(key, DATA)
        await first.close()

        second = RedisStorage.from_url(REDIS_URL, key_builder=default_key_builder())
        try:
            assert await second.get_state(key) == "Form:phone"
            assert await second.get_data(key) == DATA
        finally:
            await second.set_state(key, None)
            await second.set_data(key, {})
            await second.close()
    finally:
        await first.close()


def test_database_is_the_default_storage(tmp_path: pytest.TempPathFactory) -> None:
    settings = Settings(_env_file=None, redis_url=None)  # type: ignore[call-arg]
    database = Database.from_url("sqlite+aiosqlite://")
    assert isinstance(create_storage(settings, database), DatabaseStorage)
