from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from crm.access import Actor
from crm.errors import AccessDenied, InvalidInput
from crm.models import AuditEntry, Company, Deal, Interaction, utcnow
from crm.services import companies, contacts, interactions
from crm.services.companies import CompanyInput
from crm.services.contacts import ContactInput
from crm.services.interactions import InteractionInput
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.queries import count
from tests.fixtures.worlds import office_with_client

MSK = timezone(timedelta(hours=3))


async def last_touch(db: Database, company_id: int) -> datetime | None:
    async with db.uow() as uow:
        return await uow.session.scalar(
            select(Company.last_interaction_at).where(Company.id == company_id)
        )


async def deal_of(db: Database, company: Company, title: str = "Supply") -> Deal:
    async with db.uow() as uow:
        deal = Deal(company_id=company.id, curator_id=company.curator_id, title=title)
        uow.session.add(deal)
        await uow.commit()
    return deal


async def test_log_by_contact_takes_its_company_audits_and_touches_it(db: Database) -> None:
    anna = await factories.staff(db)
    company = await companies.create(db.uow(), anna, CompanyInput(name="Romashka"))
    contact = await contacts.create(
        db.uow(), anna, ContactInput(name="Ivan", company_id=company.id)
    )
    at = datetime(2024, 3, 1, 12, 30, tzinfo=MSK)
    logged = await interactions.log(
        db.uow(),
        anna,
        InteractionInput(
            kind="Call", direction="out", occurred_at=at, summary="  asked for a price  ",
            contact_id=contact.id,
        ),
    )  # fmt: skip
    async with db.uow() as uow:
        row = await uow.session.get(Interaction, logged.id)
    assert row is not None
    assert (row.kind, row.direction, row.status, row.summary) == (
        "call",
        "out",
        "done",
        "asked for a price",
    )
    assert (row.company_id, row.contact_id, row.deal_id, row.manager_id) == (
        company.id,
        contact.id,
        None,
        anna.id,
    )
    assert row.occurred_at == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    assert await last_touch(db, company.id) == row.occurred_at
    async with db.uow() as uow:
        entry = await uow.session.scalar(
            select(AuditEntry).where(AuditEntry.entity == "interactions")
        )
    assert entry is not None
    assert (entry.entity_id, entry.action, entry.actor_id) == (logged.id, "create", anna.id)
    assert entry.changes["occurred_at"] == [None, "2024-03-01T09:30:00+00:00"]
    assert entry.changes["company_id"] == [None, company.id]
    assert entry.changes["kind"] == [None, "call"]


async def test_last_interaction_only_moves_forward_and_only_when_done(db: Database) -> None:
    anna = await factories.staff(db)
    company = await companies.create(db.uow(), anna, CompanyInput(name="Romashka"))
    recent = utcnow() - timedelta(hours=1)

    async def log(at: datetime, status: str = "done") -> None:
        await interactions.log(
            db.uow(),
            anna,
            InteractionInput(
                kind="meeting", direction="in", status=status, occurred_at=at,
                company_id=company.id,
            ),
        )  # fmt: skip

    await log(recent)
    await log(recent - timedelta(days=3))
    assert await last_touch(db, company.id) == recent
    await log(utcnow() + timedelta(days=2), status="planned")
    assert await last_touch(db, company.id) == recent
    assert await count(db, Interaction) == 3


async def test_log_on_a_deal_takes_the_deals_company(db: Database) -> None:
    anna = await factories.staff(db)
    company = await companies.create(db.uow(), anna, CompanyInput(name="Romashka"))
    other = await companies.create(db.uow(), anna, CompanyInput(name="Vasilek"))
    contact = await contacts.create(
        db.uow(), anna, ContactInput(name="Ivan", company_id=company.id)
    )
    deal = await deal_of(db, company)
    logged = await interactions.log(
        db.uow(), anna, InteractionInput(kind="email", direction="out", deal_id=deal.id)
    )
    assert (logged.company_id, logged.deal_id) == (company.id, deal.id)
    assert await last_touch(db, company.id) == logged.occurred_at

    both = await interactions.log(
        db.uow(),
        anna,
        InteractionInput(kind="visit", direction="out", deal_id=deal.id, contact_id=contact.id),
    )
    assert (both.company_id, both.contact_id) == (company.id, contact.id)

    # subjects that disagree on the company are refused before anything is written
    before = await count(db, AuditEntry)
    with pytest.raises(InvalidInput) as err:
        await interactions.log(
            db.uow(),
            anna,
            InteractionInput(kind="call", direction="out", deal_id=deal.id, company_id=other.id),
        )
    assert err.value.field == "company_id"
    with pytest.raises(InvalidInput) as err:
        await interactions.log(
            db.uow(),
            anna,
            InteractionInput(
                kind="call", direction="out", company_id=other.id, contact_id=contact.id
            ),
        )
    assert err.value.field == "company_id"
    assert await count(db, Interaction) == 2
    assert await count(db, AuditEntry) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "fax"}, "kind"),
        ({"kind": ""}, "kind"),
        ({"direction": "sideways"}, "direction"),
        ({"status": "maybe"}, "status"),
        ({"summary": "s" * 10_000}, "summary"),
        ({"occurred_at": datetime(2024, 3, 1, 12, 0)}, "occurred_at"),
        ({"occurred_at": datetime.now(UTC) + timedelta(days=1)}, "occurred_at"),
        ({"company_id": None}, "subject"),
    ],
)
async def test_bad_input_writes_nothing(db: Database, changes: dict, field: str) -> None:
    anna = await factories.staff(db)
    company = await companies.create(db.uow(), anna, CompanyInput(name="Romashka"))
    data = InteractionInput(kind="call", direction="out", company_id=company.id)
    for key, value in changes.items():
        setattr(data, key, value)
    with pytest.raises(InvalidInput) as err:
        await interactions.log(db.uow(), anna, data)
    assert err.value.field == field
    assert await count(db, Interaction) == 0
    assert await count(db, AuditEntry) == 1  # the company's own creation
    assert await last_touch(db, company.id) is None


async def test_access_to_company_contact_and_deal(db: Database) -> None:
    w = await office_with_client(db)
    contact = await contacts.create(
        db.uow(), w.anna, ContactInput(name="Ivan", company_id=w.company.id)
    )
    deal = await deal_of(db, w.company)
    await interactions.log(
        db.uow(), w.anna, InteractionInput(kind="call", direction="out", company_id=w.company.id)
    )
    subjects = [
        {"company_id": w.company.id},
        {"contact_id": contact.id},
        {"deal_id": deal.id},
    ]

    for intruder in (w.boris, w.outsider_head):
        for subject in subjects:
            key, real = next(iter(subject.items()))
            with pytest.raises(AccessDenied) as by_id:
                await interactions.log(
                    db.uow(), intruder, InteractionInput(kind="call", direction="out", **subject)
                )
            with pytest.raises(AccessDenied) as missing:
                await interactions.log(
                    db.uow(),
                    intruder,
                    InteractionInput(kind="call", direction="out", **{key: real + 999}),
                )
            assert str(by_id.value) == str(missing.value)
            with pytest.raises(AccessDenied):
                await interactions.history(db.uow(), intruder, **subject)
    assert await count(db, Interaction) == 1

    for boss in (w.head, w.director):
        for subject in subjects:
            await interactions.log(
                db.uow(), boss, InteractionInput(kind="call", direction="in", **subject)
            )
        rows, total = await interactions.history(db.uow(), boss, company_id=w.company.id)
        assert total == 1 + 3 * (1 + (boss is w.director))
    rows, total = await interactions.history(db.uow(), w.anna, company_id=w.company.id, limit=50)
    assert total == 7
    assert {r.manager_id for r in rows} == {w.anna.id, w.head.id, w.director.id}


async def test_history_newest_first_paged_per_subject(db: Database) -> None:
    anna = await factories.staff(db)
    company = await companies.create(db.uow(), anna, CompanyInput(name="Romashka"))
    ivan = await contacts.create(db.uow(), anna, ContactInput(name="Ivan", company_id=company.id))
    deal = await deal_of(db, company)
    base = datetime(2024, 1, 10, 9, 0, tzinfo=UTC)
    plan = [
        (base, {"contact_id": ivan.id}),
        (base + timedelta(days=2), {"company_id": company.id}),
        (base + timedelta(days=1), {"deal_id": deal.id}),
        (base + timedelta(days=3), {"contact_id": ivan.id, "deal_id": deal.id}),
        (base - timedelta(days=1), {"company_id": company.id}),
        (base + timedelta(days=4), {"company_id": company.id}),
        (base + timedelta(days=5), {"company_id": company.id}),
    ]
    for i, (at, subject) in enumerate(plan):
        await interactions.log(
            db.uow(),
            anna,
            InteractionInput(
                kind="call", direction="out", occurred_at=at, summary=f"#{i}", **subject
            ),
        )

    rows, total = await interactions.history(db.uow(), anna, company_id=company.id)
    assert total == 7
    assert [r.summary for r in rows] == ["#6", "#5", "#3", "#1", "#2"]
    rows, total = await interactions.history(db.uow(), anna, company_id=company.id, offset=5)
    assert ([r.summary for r in rows], total) == (["#0", "#4"], 7)
    rows, total = await interactions.history(db.uow(), anna, contact_id=ivan.id)
    assert ([r.summary for r in rows], total) == (["#3", "#0"], 2)
    rows, total = await interactions.history(db.uow(), anna, deal_id=deal.id)
    assert ([r.summary for r in rows], total) == (["#3", "#2"], 2)
    with pytest.raises(InvalidInput) as err:
        await interactions.history(db.uow(), anna)
    assert err.value.field == "subject"


async def test_planned_for_window_and_completion(db: Database) -> None:
    w = await office_with_client(db)
    start = utcnow().replace(microsecond=0) + timedelta(hours=1)
    end = start + timedelta(days=1)

    async def log(actor: Actor, at: datetime, status: str = "planned", note: str = "") -> int:
        done = await interactions.log(
            db.uow(),
            actor,
            InteractionInput(
                kind="meeting", direction="out", status=status, occurred_at=at, summary=note,
                company_id=w.company.id,
            ),
        )  # fmt: skip
        return done.id

    later = await log(w.anna, start + timedelta(hours=5), note="later")
    first = await log(w.anna, start, note="first")
    await log(w.anna, end, note="tomorrow")
    await log(w.anna, start - timedelta(minutes=1), note="before")
    await log(w.head, start + timedelta(hours=2), note="the head's own")
    past_plan = await log(w.anna, start - timedelta(days=3), note="missed")

    rows = await interactions.planned_for(db.uow(), w.anna, start.astimezone(MSK), end)
    assert [r.id for r in rows] == [first, later]
    assert await last_touch(db, w.company.id) is None
    with pytest.raises(InvalidInput):
        await interactions.planned_for(db.uow(), w.anna, start.replace(tzinfo=None), end)

    done = await interactions.complete(db.uow(), w.anna, past_plan, summary="went well")
    assert (done.status, done.summary) == ("done", "went well")
    assert done.occurred_at == start - timedelta(days=3)
    assert await last_touch(db, w.company.id) == start - timedelta(days=3)
    async with db.uow() as uow:
        entry = (
            await uow.session.scalars(
                select(AuditEntry).where(
                    AuditEntry.action == "update", AuditEntry.entity == "interactions"
                )
            )
        ).one()
    assert entry.changes == {"status": ["planned", "done"], "summary": ["missed", "went well"]}

    with pytest.raises(AccessDenied):
        await interactions.complete(db.uow(), w.boris, first)
    early = await interactions.complete(db.uow(), w.head, first)
    assert early.status == "done" and early.occurred_at <= utcnow()
    assert [r.id for r in await interactions.planned_for(db.uow(), w.anna, start, end)] == [later]
