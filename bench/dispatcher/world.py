"""The world the bench builds around the demo data: the managers it acts for (personas,
with the searches and deal moves fed on their behalf), the dialog state storage, and
the two floor dispatchers the real one is set against (a bare echo; the echo with one
read transaction)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from aiogram import Dispatcher, Router
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import Message
from sqlalchemy import func, select

from bot.fsm_storage import DatabaseStorage
from crm.models import Company, Deal, Manager
from crm.models.enums import OPEN_STAGES, DealStage, Role
from crm.storage import Database
from handlers.deals.callbacks import DealCb

REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_PREFIX = f"chatcrm-bench-{uuid.uuid4().hex[:8]}"
WORD = re.compile(r"[^\W\d_]{6,}")
QUERIES_PER_MANAGER = 40
DEALS_PER_MANAGER = 40


def one_typo(name: str) -> str | None:
    """The name with one letter left out of its longest word (6+ letters), or None."""
    words = WORD.findall(name)
    if not words:
        return None
    word = max(words, key=len)
    cut = len(word) // 2
    return name.replace(word, word[:cut] + word[cut + 1 :], 1)


@dataclass
class Persona:
    """A manager of the demo data, with the searches and deal moves fed on their behalf."""

    tg_id: int
    manager_id: int
    language: str
    queries: list[tuple[str, int]] = field(default_factory=list)  # (query, company id)
    deals: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (stage, other)
    moves: int = 0
    names: dict[int, str] = field(default_factory=dict)  # company id -> its unique name


async def personas(db: Database) -> list[Persona]:
    """Every manager with enough companies and open deals to feed."""
    found = []
    async with db.uow().read_only() as uow:
        staff = (
            await uow.session.execute(
                select(Manager.id, Manager.tg_id, Manager.language)
                .where(Manager.role == Role.MANAGER.value, Manager.active.is_(True))
                .order_by(Manager.id)
            )
        ).all()
        for manager_id, tg_id, language in staff:
            persona = Persona(tg_id, manager_id, language or "ru")
            names = await uow.session.execute(
                select(Company.name, Company.id)
                .where(Company.curator_id == manager_id)
                .order_by(Company.id)
                .limit(QUERIES_PER_MANAGER)
            )
            for name, company_id in names:
                query = one_typo(name)
                if query is not None:
                    persona.queries.append((query, company_id))
            open_deals = await uow.session.execute(
                select(Deal.id, Deal.stage)
                .where(
                    Deal.curator_id == manager_id,
                    Deal.stage.in_([s.value for s in OPEN_STAGES]),
                )
                .order_by(Deal.id)
                .limit(DEALS_PER_MANAGER)
            )
            for deal_id, stage in open_deals:
                index = OPEN_STAGES.index(DealStage(stage))
                other = OPEN_STAGES[index + 1 if index + 1 < len(OPEN_STAGES) else index - 1]
                persona.deals[deal_id] = (stage, other.value)
            if persona.queries and persona.deals:
                found.append(persona)
        shared = set(  # /log by a name two companies have asks which one: not a write
            await uow.session.scalars(
                select(Company.name).group_by(Company.name).having(func.count() > 1)
            )
        )
        ids = [company_id for p in found for _query, company_id in p.queries]
        named = await uow.session.execute(
            select(Company.id, Company.name).where(Company.id.in_(ids))
        )
        unique = {company_id: name for company_id, name in named if name not in shared}
        for p in found:
            p.names = {cid: unique[cid] for _query, cid in p.queries if cid in unique}
    if not found:
        raise SystemExit("the demo data has no manager with companies and open deals")
    return found


def next_move(persona: Persona) -> str:
    """The callback data of the next move: deals in turn, each to its other stage."""
    deal_ids = list(persona.deals)
    deal_id = deal_ids[persona.moves % len(deal_ids)]
    persona.moves += 1
    stage, other = persona.deals[deal_id]
    persona.deals[deal_id] = (other, stage)
    return DealCb(action="move", deal_id=deal_id, stage=other).pack()


def fsm_storage(kind: str, db: Database) -> BaseStorage:
    """The bot's database storage (the default), or Redis as REDIS_URL would configure it."""
    if kind == "redis":
        keys = DefaultKeyBuilder(prefix=REDIS_PREFIX, with_bot_id=True, with_destiny=True)
        return RedisStorage.from_url(REDIS_URL, key_builder=keys)
    return DatabaseStorage(db)


async def close_storage(dp: Dispatcher) -> None:
    """Close the dispatcher's FSM storage; Redis keys the run wrote are removed first."""
    if isinstance(dp.storage, RedisStorage):
        keys = [k async for k in dp.storage.redis.scan_iter(match=f"{REDIS_PREFIX}:*")]
        if keys:
            await dp.storage.redis.delete(*keys)
    await dp.storage.close()


def echo_dispatcher() -> Dispatcher:
    router = Router(name="echo")

    @router.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "")

    dp = Dispatcher(name="echo")
    dp.include_router(router)
    return dp


def one_read_dispatcher(db: Database) -> Dispatcher:
    """The echo plus the least any CRM command does: one read-only transaction reading one
    row (the sender's, by Telegram id) through the project's own Database."""
    router = Router(name="one-read")

    @router.message()
    async def one_read(message: Message) -> None:
        assert message.from_user is not None
        async with db.uow().read_only() as uow:
            name = await uow.session.scalar(
                select(Manager.name).where(Manager.tg_id == message.from_user.id)
            )
        await message.answer(name or "")

    dp = Dispatcher(name="one-read")
    dp.include_router(router)
    return dp
