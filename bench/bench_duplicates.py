"""Duplicate control benchmark: 100,000 companies + 100,000 contacts, 2 % planted duplicates.

    python -m bench.bench_duplicates [--rows 100000] [--db sqlite|postgres|both] [--queries 200]

Planted company duplicates are spellings of another company: a typo, another legal form
and quotes, Latin transliteration, capitals, or the same INN under another name. Planted
contact duplicates are the same person at the same company: the phone in another
spelling (through crm.validation, as the bot reads it), the email in other capitals, or
the name transliterated or with a typo. Measured, each beside a baseline of the same run:
the /duplicates scan (recall and precision on the planted pairs, its time; baseline: a
plain read of the same rows), the check at the door (p95; baseline: one indexed lookup)
and merging a company with 1,000 linked rows (baseline: a one-row update with its audit
entry in one write transaction).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Table, insert, select

from bench import names
from bench.databases import database
from crm import matching, search, validation
from crm.access import Actor
from crm.errors import InvalidInput
from crm.models import Company, Contact, Deal, Department, Interaction, Manager, Task
from crm.models.enums import Role
from crm.services.duplicates import door, merge, scan
from crm.storage import Database

BATCH = 5_000
PLANTED_SHARE = 0.02
LINKED = 1_000
TARGETS = {"recall": 0.95, "precision": 0.90, "scan_s": 10.0, "door_p95_ms": 20.0, "merge_s": 1.0}
TAILS = [t for t in names.CO_TAIL if t not in ("Мед",)]  # "Мед"/"Мет" are one letter apart
FORMS = ("ООО", "АО", "ЗАО", "ПАО")
EN_FORMS = ("LLC", "Ltd", "JSC")


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def cores(rng: random.Random, count: int, taken: set[str] | None = None) -> list[str]:
    """`count` company names without a legal form, no two of them one typo apart (other
    clients: "Федотов" and "Фёдоров" cannot both be drawn, or nobody could tell a planted
    typo from a real name)."""
    heads = names.CO_HEAD + [s for s in names.SURNAMES if len(s) >= 5]
    taken = set() if taken is None else taken
    found: list[str] = []
    while len(found) < count:
        core = f"{rng.choice(heads)}{rng.choice(TAILS).lower()} {rng.choice(names.CITIES)}"
        variants = set(matching.deletion_keys(matching.company_key(core)))
        if variants & taken:
            continue
        taken |= variants
        found.append(core)
    return found


def company_variant(core: str, rng: random.Random) -> tuple[str, str]:
    """Another spelling of a company (without its legal form), and how it was made."""
    how = rng.choice(("typo", "form", "latin", "caps"))
    if how == "typo":
        return f"{rng.choice(FORMS)} {names.with_typo(core, rng)}", how
    if how == "form":
        return f"{rng.choice(FORMS)} «{core}»", how
    if how == "latin":
        latin = " ".join(names.latin(w).capitalize() for w in core.split())
        return f"{latin} {rng.choice(EN_FORMS)}", how
    return core.upper(), how


def phone_spelling(e164: str, rng: random.Random) -> str:
    digits = e164[2:]
    return rng.choice(
        (
            f"8 ({digits[:3]}) {digits[3:6]}-{digits[6:8]}-{digits[8:]}",
            f"+7 {digits[:3]} {digits[3:]}",
            f"+7{digits}",
        )
    )


async def _insert(db: Database, table: Table, rows: list[dict[str, object]]) -> list[int]:
    async with db.engine.begin() as conn:
        start = int((await conn.scalar(select(table.c.id).order_by(table.c.id.desc()))) or 0)
        for at in range(0, len(rows), BATCH):
            await conn.execute(insert(table), rows[at : at + BATCH])
    return list(range(start + 1, start + 1 + len(rows)))


async def _staff(db: Database) -> tuple[Actor, list[Actor]]:
    async with db.uow() as uow:
        director = Manager(tg_id=1, name="Director", role=Role.DIRECTOR.value)
        uow.session.add(director)
        managers = []
        for d in range(4):
            dept = Department(name=f"Dept {d + 1}")
            uow.session.add(dept)
            await uow.flush()
            for m in range(5):
                manager = Manager(
                    tg_id=1000 + d * 10 + m, name=f"M{d}{m}", role="manager", department=dept
                )
                uow.session.add(manager)
                managers.append(manager)
        await uow.commit()
    return Actor.of(director), [Actor.of(m) for m in managers]


class World:
    def __init__(self) -> None:
        self.company_pairs: set[tuple[int, int]] = set()
        self.contact_pairs: set[tuple[int, int]] = set()
        self.names: list[str] = []
        self.company_ids: list[int] = []
        self.phones: list[str] = []


async def populate(db: Database, rows: int, rng: random.Random) -> tuple[Actor, list[Actor], World]:
    director, managers = await _staff(db)
    world = World()
    planted = int(rows * PLANTED_SHARE)
    taken: set[str] = set()
    originals = cores(rng, rows - planted, taken)
    now = datetime.now(UTC)
    company_rows: list[dict[str, object]] = []
    twins: list[int] = []  # the index of the original each planted company copies
    for i, core in enumerate(originals):
        name = f"{rng.choice(FORMS)} {core}"
        inn = f"77{i:08d}" if i % 2 == 0 else None
        company_rows.append(_company(name, inn, rng.choice(managers).id, now))
    for _ in range(planted):
        i = rng.randrange(len(originals))
        name, how = company_variant(originals[i], rng)
        inn = company_rows[i]["inn"] if how == "caps" and company_rows[i]["inn"] else None
        if rng.random() < 0.1 and company_rows[i]["inn"]:  # another name, the same INN
            name, inn = f"{rng.choice(FORMS)} {cores(rng, 1, taken)[0]}", company_rows[i]["inn"]
        twins.append(i)
        company_rows.append(_company(name, inn, rng.choice(managers).id, now))
    ids = await _insert(db, Company.__table__, company_rows)  # type: ignore[arg-type]
    groups: dict[int, list[int]] = {}  # an original and its copies: any two are one client
    for n, i in enumerate(twins):
        groups.setdefault(ids[i], [ids[i]]).append(ids[len(originals) + n])
    for members in groups.values():
        world.company_pairs |= {(a, b) for a in members for b in members if a < b}
    world.names = [str(r["name"]) for r in company_rows]
    world.company_ids = ids

    people = list(names.people(rng, rows - planted))
    contact_rows: list[dict[str, object]] = []
    for n, person in enumerate(people):
        company = rng.randrange(len(ids))
        contact_rows.append(
            {
                "name": person.full,
                "phone": names.phone_for(n),
                "email": names.email_for(person, n, rng),
                "company_id": ids[company],
                "curator_id": company_rows[company]["curator_id"],
                "email_opt_out": False,
                "created_at": now,
                "updated_at": now,
            }
        )
    copies: list[int] = []
    for _ in range(planted):
        n = rng.randrange(len(people))
        original = contact_rows[n]
        how = rng.choice(("phone", "email", "name"))
        name = str(original["name"])
        if rng.random() < 0.5:
            name = " ".join(names.latin(w).capitalize() for w in name.split())
        else:
            name = names.with_typo(name, rng)
        copy = {**original, "name": name, "phone": None, "email": None}
        if how == "phone":
            try:
                copy["phone"] = validation.phone(phone_spelling(str(original["phone"]), rng))
            except InvalidInput:  # names.phone_for makes a few numbers no country has
                how = "email"
        if how == "email":
            copy["email"] = validation.email(str(original["email"]).upper())
        copies.append(n)
        contact_rows.append(copy)
    contact_ids = await _insert(db, Contact.__table__, contact_rows)  # type: ignore[arg-type]
    people_groups: dict[int, list[int]] = {}
    for k, n in enumerate(copies):
        people_groups.setdefault(contact_ids[n], [contact_ids[n]]).append(
            contact_ids[len(people) + k]
        )
    for members in people_groups.values():
        world.contact_pairs |= {(a, b) for a in members for b in members if a < b}
    world.phones = []
    for r in contact_rows[: len(people)]:
        try:
            world.phones.append(str(validation.phone(str(r["phone"]))))
        except InvalidInput:
            continue
    return director, managers, world


def _company(name: str, inn: object, curator: int, now: datetime) -> dict[str, object]:
    return {
        "name": name,
        "name_key": search.normalise(name),
        "match_key": matching.company_key(name),
        "inn": inn,
        "curator_id": curator,
        "stage": "potential",
        "tags": [],
        "created_at": now,
        "updated_at": now,
    }


async def timed(count: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    took = []
    for i in range(count):
        started = time.perf_counter()
        await call(i)
        took.append((time.perf_counter() - started) * 1000)
    return took


def quality(found: list[scan.Pair], planted: set[tuple[int, int]]) -> tuple[float, float, int]:
    proposed = {(p.first_id, p.second_id) for p in found}
    hits = len(proposed & planted)
    return hits / len(planted), hits / max(1, len(proposed)), len(proposed)


def verdict(value: float, target: float, lower_is_better: bool = True) -> str:
    ok = value <= target if lower_is_better else value >= target
    return "ok" if ok else "MISSED"


async def measure_scan(db: Database, director: Actor, world: World, kind: str) -> None:
    for what, planted in (("companies", world.company_pairs), ("contacts", world.contact_pairs)):
        started = time.perf_counter()
        found = await scan.scan(db.uow(), director, what)
        took = time.perf_counter() - started
        started = time.perf_counter()
        async with db.uow().read_only() as uow:
            model = Company if what == "companies" else Contact
            await uow.session.execute(select(model.id, model.name))
        base = time.perf_counter() - started
        recall, precision, proposed = quality(found, planted)
        target = TARGETS["scan_s"] if kind == "sqlite" else None
        print(
            f"  scan {what}: {proposed:,} pairs proposed, {len(planted):,} planted; "
            f"recall {recall:.1%} [{verdict(recall, TARGETS['recall'], False)} ≥ 95 %], "
            f"precision {precision:.1%} [{verdict(precision, TARGETS['precision'], False)} ≥ 90 %]"
        )
        print(
            f"    time {took:.2f} s"
            + (f" [{verdict(took, target)} ≤ {target:.0f} s]" if target else "")
            + f"; baseline: a plain read of the same rows {base:.2f} s; ratio {took / base:.1f}x"
        )


async def measure_door(
    db: Database, managers: list[Actor], world: World, queries: int, rng: random.Random
) -> None:
    asks: list[tuple[Actor, str, str | None]] = []
    for i in range(queries):
        who = rng.choice(managers)
        if i % 3 == 0:  # a new company no one has
            asks.append((who, f"ООО {cores(rng, 1)[0]} Новый", None))
        elif i % 3 == 1:  # another spelling of one stored
            core = rng.choice(world.names).split(" ", 1)[-1]
            asks.append((who, names.with_typo(core, rng), None))
        else:  # a contact's phone in another spelling
            asks.append((who, "", validation.phone(phone_spelling(rng.choice(world.phones), rng))))
    matched = 0

    async def check(i: int) -> None:
        nonlocal matched
        who, name, phone = asks[i]
        if phone is None:
            found = await door.check_company(db.uow(), who, name)
        else:
            found = await door.check_contact(db.uow(), who, "Someone", phone=phone)
        matched += found is not None

    took = await timed(queries, check)
    keys = [search.normalise(rng.choice(world.names)) for _ in range(queries)]

    async def lookup(i: int) -> None:
        async with db.uow().read_only() as uow:
            await uow.session.scalar(select(Company.id).where(Company.name_key == keys[i]))

    base = await timed(queries, lookup)
    p95, b95 = percentile(took, 95), percentile(base, 95)
    print(
        f"  door check: {queries} checks (new names, other spellings, phones), {matched} matched: "
        f"p50 {statistics.median(took):.1f} ms, p95 {p95:.1f} ms "
        f"[{verdict(p95, TARGETS['door_p95_ms'])} ≤ 20 ms]"
    )
    print(f"    baseline: one indexed lookup p95 {b95:.2f} ms; ratio {p95 / b95:.1f}x")


async def _linked(db: Database, company_id: int, curator: int, twin_id: int) -> None:
    now = datetime.now(UTC)
    quarter = LINKED // 4
    contacts = await _insert(
        db,
        Contact.__table__,  # type: ignore[arg-type]
        [
            {
                "name": f"Person {i}",
                "company_id": company_id,
                "curator_id": curator,
                "email_opt_out": False,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(quarter)
        ],
    )
    deals = await _insert(
        db,
        Deal.__table__,  # type: ignore[arg-type]
        [
            {
                "company_id": company_id,
                "contact_id": contacts[i],
                "curator_id": curator,
                "title": f"Deal {i}",
                "amount": Decimal(100),
                "stage": "lead",
                "probability": 10,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(quarter)
        ],
    )
    await _insert(
        db,
        Interaction.__table__,  # type: ignore[arg-type]
        [
            {
                "kind": "call",
                "direction": "out",
                "status": "done",
                "occurred_at": now,
                "summary": "",
                "company_id": company_id,
                "contact_id": contacts[i],
                "manager_id": curator,
                "created_at": now,
            }
            for i in range(quarter)
        ],
    )
    await _insert(
        db,
        Task.__table__,  # type: ignore[arg-type]
        [
            {
                "title": f"Task {i}",
                "due_at": now,
                "assignee_id": curator,
                "status": "open",
                "kind": "manual",
                "company_id": company_id,
                "deal_id": deals[i],
                "created_at": now,
            }
            for i in range(quarter)
        ],
    )
    del twin_id


async def measure_merge(db: Database, director: Actor, world: World, rounds: int = 3) -> None:
    took, undone, base = [], [], []
    for r in range(rounds):
        survivor, loser = world.company_ids[10 + 2 * r], world.company_ids[11 + 2 * r]
        async with db.uow().read_only() as uow:
            curator = await uow.session.scalar(
                select(Company.curator_id).where(Company.id == loser)
            )
        await _linked(db, loser, int(curator or 0), survivor)
        started = time.perf_counter()
        merged = await merge.merge(db.uow(), director, "companies", survivor, loser)
        took.append(time.perf_counter() - started)
        started = time.perf_counter()
        await merge.undo(db.uow(), director, merged.log_id)
        undone.append(time.perf_counter() - started)
        started = time.perf_counter()
        uow = db.uow()
        async with uow:
            company = await uow.session.get(Company, survivor)
            assert company is not None
            uow.apply(director.id, company, notes=f"touched {r}")
            await uow.commit()
        base.append(time.perf_counter() - started)
    worst = max(took)
    print(
        f"  merge of a company with {LINKED:,} linked rows (contacts, deals, interactions, "
        f"tasks): worst of {rounds} {worst:.2f} s [{verdict(worst, TARGETS['merge_s'])} ≤ 1 s]; "
        f"its undo {max(undone):.2f} s"
    )
    b = statistics.median(base)
    print(
        f"    baseline: a one-row update with its audit entry {b * 1000:.1f} ms; "
        f"ratio {worst / b:.0f}x"
    )


async def run(kind: str, rows: int, queries: int) -> None:
    rng = random.Random(11)
    async with database(kind) as db:
        started = time.perf_counter()
        director, managers, world = await populate(db, rows, rng)
        print(
            f"\n== {kind}: {rows:,} companies + {rows:,} contacts, "
            f"{len(world.company_pairs):,} + {len(world.contact_pairs):,} planted duplicates, "
            f"loaded in {time.perf_counter() - started:.1f} s"
        )
        await measure_scan(db, director, world, kind)
        await measure_door(db, managers, world, queries, rng)
        await measure_merge(db, director, world)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    for kind in kinds:
        asyncio.run(run(kind, args.rows, args.queries))


if __name__ == "__main__":
    main()
