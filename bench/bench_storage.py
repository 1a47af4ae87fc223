"""Storage benchmark: fuzzy search and deal stage moves on 100,000 companies + 100,000 contacts.

    python -m bench.bench_storage [--rows 100000] [--db sqlite|postgres|both] [--queries 200]

The data is bulk-inserted (companies, contacts, deals and their search rows, in
batches; on SQLite the FTS5 triggers fill `search_fts`), then measured through the
same engine and units of work the bot uses. Every figure is printed next to its
target and as a ratio to a baseline measured in the same run: a primary-key lookup
(`SELECT ... WHERE id = ?` in a read-only unit of work) for reads, and a one-row
UPDATE + audit row in one write transaction for stage moves.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Table, func, insert, select, text

from bench import names
from bench.databases import database
from crm import search
from crm.access import Actor
from crm.models import (
    AuditEntry,
    Company,
    Contact,
    Deal,
    DealStageChange,
    Department,
    Manager,
    SearchEntry,
    SearchTerm,
)
from crm.models.enums import DealStage, Role, SearchKind
from crm.storage import Database

BATCH = 5_000
MANAGERS_PER_DEPARTMENT = 5
DEPARTMENTS = 4
SEARCH_P95_TARGET_MS = 20.0
MOVE_P95_TARGET_MS = 5.0
OPEN_STAGES = [s.value for s in DealStage if not s.is_closed]


@dataclass
class Known:
    """A record the benchmark searches for, with a typo, expecting it first."""

    kind: SearchKind
    entity_id: int
    owner_id: int
    name: str


@dataclass
class World:
    director: Actor
    managers: list[Actor]
    known: list[Known] = field(default_factory=list)
    deal_ids: list[int] = field(default_factory=list)
    company_ids: list[int] = field(default_factory=list)


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> float:
    return seconds * 1000


async def _insert(db: Database, table: Table, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), BATCH):
        async with db.engine.begin() as conn:
            await conn.execute(insert(table), rows[start : start + BATCH])


async def _people(db: Database) -> tuple[Actor, list[Actor]]:
    async with db.uow() as uow:
        director = Manager(tg_id=1, name="Директор", role=Role.DIRECTOR.value)
        uow.session.add(director)
        managers = []
        for d in range(DEPARTMENTS):
            dept = Department(name=f"Отдел {d + 1}")
            uow.session.add(dept)
            await uow.flush()
            uow.session.add(
                Manager(tg_id=100 + d, name=f"Head {d}", role=Role.HEAD.value, department=dept)
            )
            for m in range(MANAGERS_PER_DEPARTMENT):
                manager = Manager(
                    tg_id=1000 + d * 100 + m,
                    name=f"Менеджер {d}-{m}",
                    role=Role.MANAGER.value,
                    department=dept,
                )
                uow.session.add(manager)
                managers.append(manager)
        await uow.commit()
    return Actor.of(director), [Actor.of(m) for m in managers]


async def populate(db: Database, rows: int, seed: int = 7) -> World:
    """`rows` companies, `rows` contacts and rows/10 deals, indexed for search."""
    rng = random.Random(seed)
    director, managers = await _people(db)
    world = World(director, managers)
    now = datetime.now(UTC)
    company_rows, contact_rows, deal_rows, search_rows = [], [], [], []
    search_id = 0

    def add_search(kind: SearchKind, entity_id: int, owner: int, title: str, body: str) -> None:
        nonlocal search_id
        search_id += 1
        search_rows.append(
            {
                "id": search_id,
                "kind": kind.value,
                "entity_id": entity_id,
                "owner_id": owner,
                "title": title,
                "text": body,
            }
        )

    company_names = list(names.companies(rng, rows))
    for i, name in enumerate(company_names, start=1):
        owner = rng.choice(managers).id
        industry, territory = rng.choice(names.INDUSTRIES), rng.choice(names.CITIES)
        inn = f"{7_700_000_000 + i:010d}"
        company_rows.append(
            {
                "id": i,
                "name": name,
                "name_key": search.normalise(name),
                "inn": inn,
                "industry": industry,
                "territory": territory,
                "curator_id": owner,
                "stage": "potential",
                "tags": [],
                "created_at": now,
                "updated_at": now,
            }
        )
        add_search(
            SearchKind.COMPANY, i, owner, name, search.document([name, inn, industry, territory])
        )
        if i % 97 == 0:
            world.known.append(Known(SearchKind.COMPANY, i, owner, name))
    world.company_ids = list(range(1, rows + 1))

    for i, person in enumerate(names.people(rng, rows), start=1):
        company = rng.randrange(1, rows + 1)
        owner = company_rows[company - 1]["curator_id"]
        assert isinstance(owner, int)
        email, phone = names.email_for(person, i, rng), names.phone_for(i)
        position = rng.choice(names.POSITIONS)
        contact_rows.append(
            {
                "id": i,
                "company_id": company,
                "curator_id": owner,
                "name": person.full,
                "position": position,
                "phone": phone,
                "email": email,
                "email_opt_out": False,
                "created_at": now,
                "updated_at": now,
            }
        )
        company_name = str(company_rows[company - 1]["name"])
        add_search(  # as crm.services.contacts indexes a contact
            SearchKind.CONTACT,
            i,
            owner,
            f"{person.full}, {company_name}",
            search.document([person.full, position, email, company_name], [phone]),
        )
        if i % 97 == 0:
            world.known.append(Known(SearchKind.CONTACT, i, owner, person.full))

    for i in range(1, rows // 10 + 1):
        company = rng.randrange(1, rows + 1)
        owner = company_rows[company - 1]["curator_id"]
        assert isinstance(owner, int)
        title = f"Поставка {rng.choice(names.CO_TAIL).lower()} №{i}"
        deal_rows.append(
            {
                "id": i,
                "company_id": company,
                "curator_id": owner,
                "title": title,
                "stage": rng.choice(OPEN_STAGES),
                "amount": Decimal(rng.randrange(10_000, 5_000_000)),
                "probability": 30,
                "created_at": now,
                "updated_at": now,
            }
        )
        add_search(
            SearchKind.DEAL,
            i,
            owner,
            title,
            search.document([title, str(company_rows[company - 1]["name"])]),
        )
    world.deal_ids = [int(r["id"]) for r in deal_rows]  # type: ignore[call-overload]

    words: set[str] = set()
    for row in search_rows:
        words |= search.vocabulary(row["text"])  # type: ignore[arg-type]
    for model, data in (
        (Company, company_rows),
        (Contact, contact_rows),
        (Deal, deal_rows),
        (SearchEntry, search_rows),
        (SearchTerm, search.term_rows(words)),
    ):
        await _insert(db, model.__table__, data)  # type: ignore[arg-type]
    async with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            for table in ("companies", "contacts", "deals", "search_index"):
                await conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
            await conn.execute(text("ANALYZE"))
        else:
            await conn.execute(text("ANALYZE"))
    return world


async def timed(count: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    durations = []
    for i in range(count):
        started = time.perf_counter()
        await call(i)
        durations.append(ms(time.perf_counter() - started))
    return durations


@dataclass
class Stats:
    label: str
    durations: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.durations)

    @property
    def p95(self) -> float:
        return percentile(self.durations, 95)

    def line(self, target: float | None = None) -> str:
        goal = f"   target p95 <= {target:g} ms" if target is not None else ""
        return f"  {self.label:<38} p50 {self.p50:7.2f} ms   p95 {self.p95:7.2f} ms{goal}"


async def measure_search(
    db: Database, world: World, queries: int, seed: int = 11
) -> tuple[Stats, Stats, float, float, list[str]]:
    """One-typo queries for known records as the director (sees all) and as their owner."""
    rng = random.Random(seed)
    picks = [rng.choice(world.known) for _ in range(queries)]
    typed = [names.with_typo(k.name, rng) for k in picks]
    owners = {m.id: m for m in world.managers}
    first = {"director": 0, "owner": 0, "warm": 0}
    misses: list[str] = []

    async def run(i: int, actor: Actor, who: str) -> None:
        async with db.uow().read_only() as uow:
            hits = await search.search(uow.session, actor, typed[i])
        top = hits[0] if hits else None
        if top and (top.kind, top.entity_id) == (picks[i].kind, picks[i].entity_id):
            first[who] += 1
        elif who == "director":
            misses.append(f"{typed[i]!r} for {picks[i].name!r} -> {top.title if top else None!r}")

    for i in range(min(10, queries)):  # warm the caches and the statement cache
        await run(i, world.director, "warm")
    as_director = await timed(queries, lambda i: run(i, world.director, "director"))
    as_owner = await timed(queries, lambda i: run(i, owners[picks[i].owner_id], "owner"))
    return (
        Stats("search, director (all records)", as_director),
        Stats("search, the record's manager", as_owner),
        first["director"] / queries,
        first["owner"] / queries,
        misses,
    )


async def measure_pk(db: Database, world: World, count: int) -> Stats:
    rng = random.Random(3)
    ids = [rng.choice(world.company_ids) for _ in range(count)]

    async def run(i: int) -> None:
        async with db.uow().read_only() as uow:
            (await uow.session.execute(select(Company.name).where(Company.id == ids[i]))).one()

    await timed(10, run)
    return Stats("baseline: pk lookup (read uow)", await timed(count, run))


def _deals_service() -> Callable[..., Awaitable[object]] | None:
    if importlib.util.find_spec("crm.services.deals") is None:
        return None
    from crm.services import deals  # type: ignore[attr-defined]

    return getattr(deals, "move", None)


async def _direct_move(db: Database, actor: Actor, deal_id: int, stage: str) -> None:
    """What a stage move writes: the deal, its stage history row and the audit row."""
    async with db.uow() as uow:
        deal = await uow.session.get(Deal, deal_id)
        assert deal is not None
        old = deal.stage
        uow.apply(actor.id, deal, stage=stage)
        uow.session.add(
            DealStageChange(deal_id=deal.id, from_stage=old, to_stage=stage, manager_id=actor.id)
        )
        await uow.commit()


async def measure_moves(db: Database, world: World, count: int) -> tuple[Stats, Stats, str]:
    rng = random.Random(5)
    ids = rng.sample(world.deal_ids, min(count, len(world.deal_ids)))
    async with db.uow().read_only() as uow:
        rows = (
            await uow.session.execute(
                select(Deal.id, Deal.stage, Deal.curator_id).where(Deal.id.in_(ids))
            )
        ).all()
    current = {r.id: (r.stage, r.curator_id) for r in rows}
    by_id = {m.id: m for m in world.managers}
    service = _deals_service()
    how = "crm.services.deals.move" if service else "direct UPDATE + DealStageChange + audit"

    async def move(i: int) -> None:
        deal_id = ids[i % len(ids)]
        stage, owner = current[deal_id]
        target = OPEN_STAGES[(OPEN_STAGES.index(stage) + 1) % len(OPEN_STAGES)]
        actor = by_id[owner]
        if service is not None:
            await service(db.uow(), actor, deal_id, target)
        else:
            await _direct_move(db, actor, deal_id, target)
        current[deal_id] = (target, owner)

    async def baseline(i: int) -> None:
        async with db.uow() as uow:
            await uow.session.execute(
                text("UPDATE deals SET probability = probability WHERE id = :id").bindparams(
                    id=ids[i % len(ids)]
                )
            )
            uow.audit(world.director.id, ("deals", ids[i % len(ids)]), "touch")
            await uow.commit()

    await timed(5, move)
    moves = await timed(count, lambda i: move(i + 5))
    base = await timed(count, baseline)
    return (
        Stats(f"deal stage move ({'service' if service else 'direct'})", moves),
        Stats("baseline: 1-row UPDATE + audit (write uow)", base),
        how,
    )


async def run(kind: str, rows: int, queries: int, moves: int, show_misses: bool) -> None:
    async with database(kind) as db:
        started = time.perf_counter()
        world = await populate(db, rows)
        async with db.uow().read_only() as uow:
            indexed = await uow.session.scalar(select(func.count()).select_from(SearchEntry))
        print(
            f"\n== {kind}: {rows:,} companies + {rows:,} contacts + {rows // 10:,} deals "
            f"({indexed:,} search rows) loaded in {time.perf_counter() - started:.1f} s"
        )
        director, owner, first_d, first_o, misses = await measure_search(db, world, queries)
        pk = await measure_pk(db, world, queries)
        target = SEARCH_P95_TARGET_MS if kind == "sqlite" else None
        print(f"  {queries} one-typo queries (full names of known contacts and companies)")
        print(director.line(target))
        print(owner.line(target))
        print(pk.line())
        print(f"  search p95 / pk-lookup p95 = {director.p95 / pk.p95:.1f}x (director)")
        print(f"  right record first: {first_d:.1%} as director, {first_o:.1%} as its manager")
        if show_misses:
            for miss in misses[:20]:
                print(f"    miss: {miss}")
        move, base, how = await measure_moves(db, world, moves)
        print(f"  stage moves via {how}")
        print(move.line(MOVE_P95_TARGET_MS if kind == "sqlite" else None))
        print(base.line())
        print(f"  stage move p95 / 1-row-update p95 = {move.p95 / base.p95:.1f}x")
        async with db.uow().read_only() as uow:
            audits = await uow.session.scalar(select(func.count()).select_from(AuditEntry))
        print(f"  audit rows written during the run: {audits:,}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--moves", type=int, default=200)
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    for kind in kinds:
        asyncio.run(run(kind, args.rows, args.queries, args.moves, args.show_misses))


if __name__ == "__main__":
    main()
