"""Duplicate control: the check at the door, asking for a client, /duplicates' services."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crm.analytics import rollups
from crm.errors import AccessDenied, AlreadyServed, Conflict
from crm.models import (
    AuditEntry,
    Base,
    ClientRequest,
    Company,
    CompanySalesMonth,
    Contact,
    Deal,
    Event,
    EventInvitee,
    Interaction,
    Sale,
    SearchEntry,
    Task,
    utcnow,
)
from crm.services import companies, contacts, deals, tasks
from crm.services.companies import CompanyInput
from crm.services.contacts import ContactInput
from crm.services.deals import DealInput
from crm.services.duplicates import door, marks, merge, requests, scan
from crm.services.tasks import TaskInput
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.queries import count
from tests.fixtures.worlds import two_departments

# ------------------------------------------------------------------ the check at the door


@pytest.mark.parametrize(
    "spelling", ["АО «Ромашка»", "Romashka LLC", "ROMASHKA", "Ромашкa", "Romashla", "Ро-машка"]
)
async def test_a_company_someone_else_serves_is_refused_in_any_spelling(
    db: Database, spelling: str
) -> None:
    w = await two_departments(db)  # Anna (Sales) serves Romashka
    with pytest.raises(AlreadyServed) as refused:
        await companies.create(db.uow(), w.boris, CompanyInput(name=spelling))
    assert (refused.value.curator, refused.value.department) == ("Anna", "Sales")
    assert (refused.value.kind, refused.value.entity_id) == ("companies", w.company.id)
    assert await count(db, Company) == 1


async def test_a_company_with_the_same_inn_is_refused_whatever_its_name(db: Database) -> None:
    w = await two_departments(db)
    await companies.update(db.uow(), w.anna, w.company.id, inn="7701234560")
    with pytest.raises(AlreadyServed):
        await companies.create(db.uow(), w.boris, CompanyInput(name="Vasilek", inn="7701234560"))
    assert await count(db, Company) == 1


async def test_other_names_pass_the_door(db: Database) -> None:
    w = await two_departments(db)
    for name in ("Romashka Plus", "Lyutik", "Roma"):
        await companies.create(db.uow(), w.boris, CompanyInput(name=name))
    assert await count(db, Company) == 4


async def test_a_client_within_reach_is_offered_not_refused(db: Database) -> None:
    w = await two_departments(db)
    own = await door.check_company(db.uow(), w.anna, "ООО Ромашка")
    by_head = await door.check_company(db.uow(), w.head, "romashka")
    by_director = await door.check_company(db.uow(), w.director, "Romashka")
    assert own is not None and by_head is not None and by_director is not None
    assert (own.visible, by_head.visible, by_director.visible) == (True, True, True)
    assert own.entity_id == w.company.id and own.reason == "name"
    other_head = await door.check_company(db.uow(), w.other_head, "Romashka")
    assert other_head is not None and not other_head.visible


async def test_a_contact_at_a_company_someone_else_serves_is_refused(db: Database) -> None:
    w = await two_departments(db)
    with pytest.raises(AlreadyServed) as refused:
        await contacts.create(
            db.uow(), w.boris, ContactInput(name="Test Person", company_name="АО «Ромашка»")
        )
    assert refused.value.kind == "companies"
    assert (await count(db, Company), await count(db, Contact)) == (1, 0)


@pytest.mark.parametrize(
    ("phone", "email"),
    [("8 (912) 345-67-89", None), ("+7 912 3456789", None), (None, "IVAN@Romashka.ru")],
)
async def test_a_contact_with_the_same_phone_or_email_is_refused(
    db: Database, phone: str | None, email: str | None
) -> None:
    w = await two_departments(db)
    ivan = await contacts.create(
        db.uow(),
        w.anna,
        ContactInput(
            name="Ivan", phone="+79123456789", email="ivan@romashka.ru", company_id=w.company.id
        ),
    )
    with pytest.raises(AlreadyServed) as refused:
        await contacts.create(
            db.uow(), w.boris, ContactInput(name="I. P.", phone=phone, email=email)
        )
    assert (refused.value.kind, refused.value.entity_id) == ("contacts", ivan.id)
    assert await count(db, Contact) == 1


async def test_the_same_person_at_the_same_company_is_a_match(db: Database) -> None:
    w = await two_departments(db)
    ivan = await contacts.create(
        db.uow(), w.anna, ContactInput(name="Иван Петров", company_id=w.company.id)
    )
    match = await door.check_contact(db.uow(), w.anna, "Petrov Ivan", company_id=w.company.id)
    assert match is not None and (match.entity_id, match.reason, match.visible) == (
        ivan.id,
        "name",
        True,
    )
    foreign = await door.check_contact(db.uow(), w.boris, "Ivan Petroff", company_name="Romashka")
    assert foreign is not None and (foreign.kind, foreign.visible) == ("companies", False)
    assert (
        await door.check_contact(db.uow(), w.anna, "Pyotr Ivanov", company_id=w.company.id) is None
    )


# ------------------------------------------------------------------ "Ask for this client"


async def _client_with_work(db: Database, w) -> tuple[Contact, Deal, Task]:  # type: ignore[no-untyped-def]
    ivan = await contacts.create(
        db.uow(), w.anna, ContactInput(name="Ivan", phone="+79123456789", company_id=w.company.id)
    )
    deal = await deals.open(db.uow(), w.anna, DealInput(w.company.id, "Pumps", "1000"))
    task = await tasks.create(
        db.uow(),
        w.anna,
        TaskInput("Call back", utcnow() + timedelta(days=1), company_id=w.company.id),
    )
    return ivan, deal, task


async def test_an_approved_request_transfers_the_client_with_its_people_and_work(
    db: Database,
) -> None:
    w = await two_departments(db)
    ivan, deal, task = await _client_with_work(db, w)
    asked = await requests.ask(db.uow(), w.boris, "companies", w.company.id)
    assert [a.name for a in asked.approvers] == ["Helen"]  # Anna's head, not Boris's
    again = await requests.ask(db.uow(), w.boris, "companies", w.company.id)
    assert again.request.id == asked.request.id and await count(db, ClientRequest) == 1

    with pytest.raises(AccessDenied):
        await requests.decide(db.uow(), w.other_head, asked.request.id, True)
    decided = await requests.decide(db.uow(), w.head, asked.request.id, True)
    assert decided.requester.name == "Boris" and decided.client == "Romashka"

    async with db.uow() as uow:
        s = uow.session
        assert (await s.get(Company, w.company.id)).curator_id == w.boris.id  # type: ignore[union-attr]
        assert (await s.get(Contact, ivan.id)).curator_id == w.boris.id  # type: ignore[union-attr]
        assert (await s.get(Deal, deal.id)).curator_id == w.boris.id  # type: ignore[union-attr]
        assert (await s.get(Task, task.id)).assignee_id == w.boris.id  # type: ignore[union-attr]
        owners = set(await s.scalars(select(SearchEntry.owner_id)))
        assert owners == {w.boris.id}
        audited = await s.scalars(select(AuditEntry.action).where(AuditEntry.entity == "companies"))
        assert "transfer" in set(audited)
    with pytest.raises(Conflict):
        await requests.decide(db.uow(), w.head, asked.request.id, True)


async def test_a_declined_request_moves_nothing(db: Database) -> None:
    w = await two_departments(db)
    ivan, _deal, _task = await _client_with_work(db, w)
    asked = await requests.ask(db.uow(), w.boris, "contacts", ivan.id)
    await requests.decide(db.uow(), w.director, asked.request.id, False)
    async with db.uow() as uow:
        request = await uow.session.get(ClientRequest, asked.request.id)
        assert request is not None and (request.status, request.decided_by_id) == (
            "declined",
            w.director.id,
        )
        assert (await uow.session.get(Company, w.company.id)).curator_id == w.anna.id  # type: ignore[union-attr]


async def test_a_client_within_reach_is_not_asked_for(db: Database) -> None:
    w = await two_departments(db)
    with pytest.raises(Conflict):
        await requests.ask(db.uow(), w.head, "companies", w.company.id)
    with pytest.raises(AccessDenied):
        await requests.ask(db.uow(), w.boris, "companies", 999)
    with pytest.raises(AccessDenied):
        await requests.decide(db.uow(), w.boris, 1, True)  # a manager decides nothing


# ------------------------------------------------------------------ /duplicates


async def _twin_companies(db: Database, w) -> tuple[Company, Company]:  # type: ignore[no-untyped-def]
    """Anna's Romashka, and Boris's "ООО Ромашка" that slipped in before the door check."""
    twin = await factories.add_company(db, w.boris.id, "ООО Ромашка", inn="7701234560")
    return w.company, twin


async def test_scan_ranks_pairs_by_evidence_within_reach(db: Database) -> None:
    w = await two_departments(db)
    romashka, twin = await _twin_companies(db, w)
    await factories.add_company(db, w.anna.id, "Romashla")  # a typo of Anna's own
    await factories.add_company(db, w.anna.id, "Lyutik")
    pairs = await scan.scan(db.uow(), w.director, "companies")
    typo = pairs[1].second_id
    assert [(p.first_id, p.second_id, p.reasons) for p in pairs] == [
        (romashka.id, twin.id, {"same_name"}),
        (romashka.id, typo, {"similar_name"}),
        (twin.id, typo, {"similar_name"}),
    ]
    head_pairs = await scan.scan(db.uow(), w.head, "companies")  # Sales only
    assert [(p.first_id, p.reasons) for p in head_pairs] == [(romashka.id, {"similar_name"})]
    with pytest.raises(AccessDenied):
        await scan.scan(db.uow(), w.anna, "companies")


async def test_contacts_pair_by_phone_email_and_name_at_the_company(db: Database) -> None:
    w = await two_departments(db)
    a = await factories.raw_contact(db, w.anna, "Ivan Petrov", w.company.id)
    b = await factories.raw_contact(db, w.anna, "Петров Иван", w.company.id)
    c = await factories.raw_contact(db, w.anna, "Somebody", None)
    async with db.uow() as uow:
        for cid, phone in ((a.id, "+79123456789"), (c.id, "+79123456789")):
            contact = await uow.session.get(Contact, cid)
            assert contact is not None
            contact.phone = phone
        await uow.commit()
    pairs = await scan.scan(db.uow(), w.head, "contacts")
    assert [(p.first_id, p.second_id, p.reasons, p.score) for p in pairs] == [
        (a.id, c.id, {"phone"}, 60),
        (a.id, b.id, {"same_name"}, 50),
    ]
    await marks.mark_not_duplicate(db.uow(), w.head, "contacts", c.id, a.id)
    again = await scan.scan(db.uow(), w.head, "contacts")
    assert [(p.first_id, p.second_id) for p in again] == [(a.id, b.id)]


async def _snapshot(db: Database) -> dict[str, list[tuple[object, ...]]]:
    tables = ("companies", "contacts", "deals", "tasks", "interactions", "sales", "event_invitees")
    out = {}
    async with db.uow() as uow:
        for name in tables:
            table = Base.metadata.tables[name]
            columns = [c for c in table.c if c.name not in ("updated_at",)]
            rows = await uow.session.execute(select(*columns).order_by(table.c.id))
            out[name] = [tuple(r) for r in rows]
        out["rollups"] = [
            tuple(r)
            for r in await uow.session.execute(
                select(CompanySalesMonth.company_id, CompanySalesMonth.revenue_cents).order_by(
                    CompanySalesMonth.company_id
                )
            )
        ]
    return out


async def _linked_world(db: Database, w) -> tuple[Company, Company, Contact, Contact]:  # type: ignore[no-untyped-def]
    romashka, twin = await _twin_companies(db, w)
    ivan = await factories.raw_contact(db, w.anna, "Ivan", romashka.id)
    petr = await factories.raw_contact(db, w.boris, "Petr", twin.id)
    child = await factories.add_company(db, w.boris.id, "Romashka South", parent_id=twin.id)
    async with db.uow() as uow:
        s = uow.session
        deal = Deal(
            company_id=twin.id,
            contact_id=petr.id,
            curator_id=w.boris.id,
            title="Pumps",
            amount=Decimal("100"),
            stage="lead",
        )
        s.add(deal)
        await s.flush()
        s.add(
            Task(
                title="Call",
                due_at=utcnow(),
                assignee_id=w.boris.id,
                company_id=twin.id,
                contact_id=petr.id,
                deal_id=deal.id,
            )
        )
        s.add(
            Interaction(
                kind="call",
                direction="out",
                company_id=twin.id,
                contact_id=petr.id,
                manager_id=w.boris.id,
            )
        )
        s.add(
            Sale(
                company_id=twin.id,
                sold_on=date(2026, 11, 3),
                amount=Decimal("250"),
                manager_id=w.boris.id,
                source="import",
            )
        )
        event = Event(uid="e1", title="Seminar", starts_at=utcnow(), responsible_id=w.boris.id)
        s.add(event)
        await s.flush()
        s.add_all(
            [
                EventInvitee(event_id=event.id, contact_id=ivan.id, token="t1"),
                EventInvitee(event_id=event.id, contact_id=petr.id, token="t2"),
            ]
        )
        await uow.commit()
    async with db.uow() as uow:
        await rollups.rebuild(uow.session)
        await uow.commit()
    del child
    return romashka, twin, ivan, petr


async def test_a_company_merge_moves_every_linked_row_and_undo_puts_it_back(
    db: Database,
) -> None:
    w = await two_departments(db)
    romashka, twin, _ivan, petr = await _linked_world(db, w)
    before = await _snapshot(db)

    merged = await merge.merge(db.uow(), w.director, "companies", romashka.id, twin.id, {"inn"})
    assert merged.moved >= 7
    async with db.uow() as uow:
        s = uow.session
        assert await s.get(Company, twin.id) is None
        kept = await s.get(Company, romashka.id)
        assert kept is not None and (kept.name, kept.inn) == ("Romashka", "7701234560")
        for model in (Contact, Deal, Task, Interaction, Sale):
            assert set(await s.scalars(select(model.company_id))) == {romashka.id}, model
        assert (await s.get(Contact, petr.id)).curator_id == w.anna.id  # type: ignore[union-attr]
        parents = set(
            await s.scalars(select(Company.parent_id).where(Company.parent_id.isnot(None)))
        )
        assert parents == {romashka.id}
        rollup = await s.scalar(select(CompanySalesMonth.company_id))
        assert rollup == romashka.id
        actions = set(await s.scalars(select(AuditEntry.action)))
        assert "merge" in actions
    async with db.uow() as uow:
        assert await rollups.verify(uow.session) == []

    with pytest.raises(AccessDenied):  # the Other head cannot reach Romashka
        await merge.undo(db.uow(), w.other_head, merged.log_id)
    await merge.undo(db.uow(), w.director, merged.log_id)
    assert await _snapshot(db) == before
    with pytest.raises(Conflict):
        await merge.undo(db.uow(), w.director, merged.log_id)


async def _deal_row(db: Database, deal_id: int) -> str | None:
    async with db.uow() as uow:
        return await uow.session.scalar(
            select(SearchEntry.text).where(
                SearchEntry.kind == "deal", SearchEntry.entity_id == deal_id
            )
        )


async def test_a_merge_moves_pending_requests_and_deal_search_rows_and_undo_moves_them_back(
    db: Database,
) -> None:
    w = await two_departments(db)
    romashka, twin = await _twin_companies(db, w)
    carl = await factories.staff(db, department_id=w.dept_id, name="Carl")
    deal = await deals.open(db.uow(), w.boris, DealInput(twin.id, "Pumps", "1000"))
    pending = await requests.ask(db.uow(), carl, "companies", twin.id)
    declined = await requests.ask(db.uow(), w.anna, "companies", twin.id)
    await requests.decide(db.uow(), w.other_head, declined.request.id, False)
    assert "ромашка" in str(await _deal_row(db, deal.id))

    merged = await merge.merge(db.uow(), w.director, "companies", romashka.id, twin.id)
    async with db.uow() as uow:
        moved = await uow.session.get(ClientRequest, pending.request.id)
        kept = await uow.session.get(ClientRequest, declined.request.id)
        assert moved is not None and (moved.entity_id, moved.curator_id) == (romashka.id, w.anna.id)
        assert kept is not None and (kept.entity_id, kept.curator_id) == (twin.id, w.boris.id)
    row = str(await _deal_row(db, deal.id))
    assert "romashka" in row and "ромашка" not in row
    # the survivor's curator's head now decides it
    with pytest.raises(AccessDenied):
        await requests.decide(db.uow(), w.other_head, pending.request.id, False)

    await merge.undo(db.uow(), w.director, merged.log_id)
    async with db.uow() as uow:
        back = await uow.session.get(ClientRequest, pending.request.id)
        assert back is not None and (back.entity_id, back.curator_id, back.status) == (
            twin.id,
            w.boris.id,
            "pending",
        )
    assert "ромашка" in str(await _deal_row(db, deal.id))


async def test_a_contact_merge_drops_the_twin_invitation_and_undo_restores_it(
    db: Database,
) -> None:
    w = await two_departments(db)
    _romashka, _twin, ivan, petr = await _linked_world(db, w)
    before = await _snapshot(db)
    merged = await merge.merge(db.uow(), w.director, "contacts", ivan.id, petr.id)
    assert merged.dropped == 1
    async with db.uow() as uow:
        invited = list(await uow.session.scalars(select(EventInvitee.contact_id)))
        assert invited == [ivan.id]
        assert set(await uow.session.scalars(select(Deal.contact_id))) == {ivan.id}
    await merge.undo(db.uow(), w.director, merged.log_id)
    assert await _snapshot(db) == before


async def test_a_merge_never_reaches_outside_the_mergers_access(db: Database) -> None:
    w = await two_departments(db)
    romashka, twin = await _twin_companies(db, w)
    before = await _snapshot(db)
    for actor in (w.head, w.other_head):  # each sees one of the two
        with pytest.raises(AccessDenied):
            await merge.merge(db.uow(), actor, "companies", romashka.id, twin.id)
    with pytest.raises(AccessDenied):
        await merge.merge(db.uow(), w.anna, "companies", romashka.id, twin.id)
    assert await _snapshot(db) == before


# ------------------------------------------------------------------ properties of merging


def _run_in_thread(coro: Any) -> Any:
    """To completion on a loop of its own: hypothesis runs its examples synchronously."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _on(url: str, action: Any) -> Any:
    database = Database.from_url(url)
    try:
        return await action(database)
    finally:
        await database.dispose()


link_counts = st.tuples(*(st.integers(0, 2) for _ in range(4)))  # contacts, deals, tasks, calls


async def _client(database: Database, curator_id: int, name: str, counts: tuple[int, ...]) -> int:
    company = await factories.add_company(database, curator_id, name, industry=name[-1])
    contacts_n, deals_n, tasks_n, calls_n = counts
    async with database.uow() as uow:
        s = uow.session
        people = [
            Contact(name=f"P{i}", curator_id=curator_id, company_id=company.id, phone=None)
            for i in range(contacts_n)
        ]
        s.add_all(people)
        await s.flush()
        contact_id = people[0].id if people else None
        for i in range(deals_n):
            s.add(
                Deal(
                    company_id=company.id,
                    contact_id=contact_id,
                    curator_id=curator_id,
                    title=f"D{i}",
                    amount=Decimal(i),
                    stage="lead",
                )
            )
        for i in range(tasks_n):
            s.add(
                Task(
                    title=f"T{i}",
                    due_at=utcnow(),
                    assignee_id=curator_id,
                    company_id=company.id,
                    contact_id=contact_id,
                )
            )
        for _ in range(calls_n):
            s.add(
                Interaction(
                    kind="call",
                    direction="out",
                    company_id=company.id,
                    contact_id=contact_id,
                    manager_id=curator_id,
                )
            )
        await uow.commit()
    return company.id


def test_merge_then_undo_restores_every_linked_row(db: Database) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    w = _run_in_thread(_on(url, two_departments))
    names = iter(range(10_000))

    async def example(
        database: Database,
        a: tuple[int, ...],
        b: tuple[int, ...],
        kind: str,
        flip: bool,
        take: set[str],
    ) -> None:
        n = next(names)
        first = await _client(database, w.anna.id, f"Client {n} A", a)
        second = await _client(database, w.boris.id, f"Client {n} B", b)
        survivor, loser = (second, first) if flip else (first, second)
        if kind == "contacts":
            async with database.uow() as uow:
                ids = [
                    list(
                        await uow.session.scalars(select(Contact.id).where(Contact.company_id == c))
                    )
                    for c in (survivor, loser)
                ]
            if not ids[0] or not ids[1]:
                return
            survivor, loser = ids[0][0], ids[1][0]
        before = await _snapshot(database)
        chosen = take & set(merge.FIELDS[kind])
        merged = await merge.merge(database.uow(), w.director, kind, survivor, loser, chosen)
        assert await _snapshot(database) != before
        await merge.undo(database.uow(), w.director, merged.log_id)
        assert await _snapshot(database) == before

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        a=link_counts,
        b=link_counts,
        kind=st.sampled_from(["companies", "contacts"]),
        flip=st.booleans(),
        take=st.sets(st.sampled_from(["name", "industry", "notes"])),
    )
    def check(
        a: tuple[int, ...], b: tuple[int, ...], kind: str, flip: bool, take: set[str]
    ) -> None:
        _run_in_thread(_on(url, lambda database: example(database, a, b, kind, flip, take)))

    check()


def test_a_merge_never_reaches_a_record_outside_the_mergers_access(db: Database) -> None:
    url = db.engine.url.render_as_string(hide_password=False)
    w = _run_in_thread(_on(url, two_departments))
    people = {
        "anna": w.anna,
        "boris": w.boris,
        "head": w.head,
        "other_head": w.other_head,
        "director": w.director,
    }
    department = {w.anna.id: "sales", w.boris.id: "other"}
    reach = {"head": {"sales"}, "other_head": {"other"}, "director": {"sales", "other"}}
    names = iter(range(10_000))

    async def example(database: Database, who: str, owners: tuple[str, str]) -> None:
        n = next(names)
        ids = [await _client(database, people[o].id, f"Firm {n}{o}", (1, 1, 0, 0)) for o in owners]
        before = await _snapshot(database)
        allowed = {department[people[o].id] for o in owners} <= reach.get(who, set())
        try:
            merged = await merge.merge(database.uow(), people[who], "companies", *ids)
        except AccessDenied:
            assert not allowed
            assert await _snapshot(database) == before
            return
        assert allowed
        await merge.undo(database.uow(), w.director, merged.log_id)

    @settings(
        max_examples=15,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        who=st.sampled_from(sorted(people)),
        owners=st.tuples(st.sampled_from(["anna", "boris"]), st.sampled_from(["anna", "boris"])),
    )
    def check(who: str, owners: tuple[str, str]) -> None:
        _run_in_thread(_on(url, lambda database: example(database, who, owners)))

    check()
