"""The database handle the composition root builds once and passes everywhere."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from crm.db import create_engine, create_session_factory
from crm.uow import ActorCache, UnitOfWork


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession] = field(init=False)
    actors: ActorCache = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = create_session_factory(self.engine)
        self.actors = ActorCache()

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(create_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.actors)

    async def dispose(self) -> None:
        await self.engine.dispose()
