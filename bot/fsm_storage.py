"""Dialog state that survives a restart: in the CRM's database, or in Redis if REDIS_URL is set."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.fsm_resilience import CONNECTION_KWARGS, ResilientStorage
from crm.models import FSMRecord, utcnow
from crm.settings import Settings
from crm.storage import Database


def default_key_builder() -> KeyBuilder:
    return DefaultKeyBuilder(with_bot_id=True, with_destiny=True)


class DatabaseStorage(BaseStorage):
    """aiogram FSM storage on the `fsm_states` table; data must be JSON-serialisable.

    Each write is one atomic upsert, so concurrent writers never see a missing row.
    The table is the truth that survives a restart; this process keeps what it read
    or wrote in memory, so an update costs no read and a write that changes nothing
    (clearing a dialog that is not there) costs nothing. That holds for one bot
    process, the only setup this storage is for: several instances share REDIS_URL.
    """

    def __init__(self, database: Database, key_builder: KeyBuilder | None = None) -> None:
        self.database = database
        self.key_builder = key_builder or default_key_builder()
        self._known: dict[str, tuple[str | None, dict[str, Any]]] = {}

    def _key(self, key: StorageKey) -> str:
        return self.key_builder.build(key)

    async def _upsert(self, key: StorageKey, state: str | None, data: dict[str, Any]) -> None:
        name = self._key(key)
        if self._known.get(name) == (state, data):
            return
        insert = pg_insert if self.database.dialect == "postgresql" else sqlite_insert
        values = {"state": state, "data": data, "updated_at": utcnow()}
        stmt = insert(FSMRecord).values(key=name, **values)
        stmt = stmt.on_conflict_do_update(index_elements=[FSMRecord.key], set_=values)
        async with self.database.uow() as uow:
            await uow.session.execute(stmt)
            await uow.commit()
        self._known[name] = (state, data)

    async def _row(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        name = self._key(key)
        if name not in self._known:
            async with self.database.uow().read_only() as uow:
                row = (
                    await uow.session.execute(
                        select(FSMRecord.state, FSMRecord.data).where(FSMRecord.key == name)
                    )
                ).first()
            self._known[name] = (row.state, dict(row.data or {})) if row else (None, {})
        return self._known[name]

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._upsert(key, value, (await self._row(key))[1])

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._row(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping):
            raise TypeError(f"FSM data must be a mapping, not {type(data).__name__}")
        await self._upsert(key, (await self._row(key))[0], copy.deepcopy(dict(data)))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return copy.deepcopy((await self._row(key))[1])

    async def close(self) -> None:
        """The database belongs to the composition root, which disposes of it."""


def create_storage(settings: Settings, database: Database) -> BaseStorage:
    if settings.redis_url:
        redis = RedisStorage.from_url(
            settings.redis_url,
            connection_kwargs=CONNECTION_KWARGS,
            key_builder=default_key_builder(),
        )
        return ResilientStorage(redis)  # commands keep working while Redis is down
    return DatabaseStorage(database)
