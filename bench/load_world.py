"""bench_load's world: the demo organisation enlarged to `--managers` managers and made
quiet, the simulated managers, the updates they send (the mix) and the work they leave in
the database."""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass
from datetime import time as dt_time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update

from bench.dispatcher.world import Persona, next_move, personas
from crm.models import (
    Company,
    Contact,
    Deal,
    Interaction,
    Manager,
    SearchEntry,
    Task,
    utcnow,
)
from crm.models.enums import Role, SearchKind
from crm.storage import Database
from handlers.cards.callbacks import COMPANY, CardCb

MIX = (("find", 40), ("card", 20), ("move", 15), ("log", 15), ("remind", 10))
LOG_SUMMARY = "bench: discussed the offer"
_ids = itertools.count(10_000_000)


@dataclass
class Person:
    persona: Persona
    names: dict[int, str]  # company id -> name
    turn: int = 0


def kinds(seed: int = 7) -> itertools.cycle[str]:
    cycle = [kind for kind, share in MIX for _ in range(share)]
    random.Random(seed).shuffle(cycle)
    return itertools.cycle(cycle)


def _user(p: Persona) -> dict[str, Any]:
    return {"id": p.tg_id, "is_bot": False, "first_name": "Bench", "language_code": p.language}


def _text(p: Persona, text: str) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": {"id": p.tg_id, "type": "private", "first_name": "Bench"},
            "from": _user(p),
            "text": text,
        },
    }


def _press(p: Persona, data: str) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": str(next(_ids)),
            "from": _user(p),
            "chat_instance": "bench",
            "data": data,
            "message": {
                "message_id": 77,
                "date": int(time.time()),
                "chat": {"id": p.tg_id, "type": "private", "first_name": "Bench"},
                "from": {"id": 1, "is_bot": True, "first_name": "ChatCRM"},
                "text": "card",
            },
        },
    }


def update_for(kind: str, person: Person) -> dict[str, Any]:
    p = person.persona
    person.turn += 1
    query, company_id = p.queries[person.turn % len(p.queries)]
    name = person.names[company_id]
    if kind == "find":
        return _text(p, f"/find {query}")
    if kind == "card":
        return _press(p, CardCb(kind=COMPANY, id=company_id).pack())
    if kind == "move":
        return _press(p, next_move(p))
    if kind == "log":
        return _text(p, f"/log {name}; call; out; {LOG_SUMMARY}")
    tomorrow = utcnow() + timedelta(days=1)
    return _text(p, f"/remind {tomorrow:%d.%m.%Y} 10:00; bench call {name}")


async def enlarge(db: Database, total: int) -> None:
    """`total` managers instead of the demo's 12: each demo manager's companies and their
    deals shared out among them and their new colleagues (same department and language)."""
    async with db.uow() as uow:
        demo_staff = list(
            await uow.session.scalars(
                select(Manager).where(Manager.role == Role.MANAGER.value).order_by(Manager.id)
            )
        )
        teams: dict[int, list[int]] = {m.id: [m.id] for m in demo_staff}
        for n in range(max(0, total - len(demo_staff))):
            base = demo_staff[n % len(demo_staff)]
            clone = Manager(
                tg_id=5_000_000 + n,
                name=f"{base.name} {n}",
                role=base.role,
                department_id=base.department_id,
                language=base.language,
                timezone=base.timezone,
            )
            uow.session.add(clone)
            await uow.session.flush()
            teams[base.id].append(clone.id)
        for base_id, team in teams.items():
            companies = list(
                await uow.session.scalars(
                    select(Company.id).where(Company.curator_id == base_id).order_by(Company.id)
                )
            )
            for k, company_id in enumerate(companies):
                curator = team[k % len(team)]
                if curator == base_id:
                    continue
                await uow.session.execute(
                    update(Company).where(Company.id == company_id).values(curator_id=curator)
                )
                await uow.session.execute(
                    update(Deal).where(Deal.company_id == company_id).values(curator_id=curator)
                )
                await uow.session.execute(
                    update(Contact)
                    .where(Contact.company_id == company_id)
                    .values(curator_id=curator)
                )
                for kind, ids in (  # search is scoped by the owner of each row
                    (SearchKind.COMPANY, select(Company.id).where(Company.id == company_id)),
                    (SearchKind.DEAL, select(Deal.id).where(Deal.company_id == company_id)),
                    (
                        SearchKind.CONTACT,
                        select(Contact.id).where(Contact.company_id == company_id),
                    ),
                ):
                    await uow.session.execute(
                        update(SearchEntry)
                        .where(SearchEntry.kind == kind.value, SearchEntry.entity_id.in_(ids))
                        .values(owner_id=curator)
                    )
        await uow.commit()


async def quiet(db: Database) -> None:
    """Nothing scheduled falls due during the run: the demo's reminders count as sent and the
    digests are due at 23:59. A reminder to a simulated manager would otherwise be taken for
    the answer to their update, and thousands of them would measure the fan-out instead."""
    async with db.uow() as uow:
        await uow.session.execute(
            update(Task).where(Task.reminded_at.is_(None)).values(reminded_at=utcnow())
        )
        await uow.session.execute(update(Manager).values(digest_time=dt_time(23, 59)))
        await uow.commit()


async def people_of(db: Database) -> list[Person]:
    found = await personas(db)
    async with db.uow().read_only() as uow:
        ids = [company_id for p in found for _query, company_id in p.queries]
        rows = await uow.session.execute(
            select(Company.id, Company.name).where(Company.id.in_(ids))
        )
        names = {company_id: name for company_id, name in rows}
        shared = set(  # /log by a name two companies have asks which one: not a write
            await uow.session.scalars(
                select(Company.name).group_by(Company.name).having(func.count() > 1)
            )
        )
    people = []
    for p in found:
        p.queries = [(q, cid) for q, cid in p.queries if names[cid] not in shared]
        if p.queries:
            people.append(Person(p, {cid: names[cid] for _q, cid in p.queries}))
    return people


async def work_done(db: Database) -> tuple[int, int]:
    """(interactions logged by the bench, reminders set by the bench)."""
    async with db.uow().read_only() as uow:
        logged = await uow.session.scalar(
            select(func.count()).select_from(Interaction).where(Interaction.summary == LOG_SUMMARY)
        )
        reminded = await uow.session.scalar(
            select(func.count()).select_from(Task).where(Task.title.like("bench call %"))
        )
    return int(logged or 0), int(reminded or 0)
