"""Editing a claim's cause and priority (issue 10), the cause guessed from a claim's words
and the open claims of a company card (issue 12), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import AuditEntry, Claim
from crm.services import cards, claims
from crm.storage import Database
from tests.fixtures.claims import T0, file, set_status, written
from tests.fixtures.worlds import two_departments


async def audit_of(db: Database, claim_id: int) -> list[AuditEntry]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "claims", AuditEntry.entity_id == claim_id)
            .order_by(AuditEntry.id)
        )
        return list(rows)


async def read(db: Database, claim_id: int) -> Claim:
    async with db.uow() as uow:
        claim = await uow.session.get(Claim, claim_id)
        assert claim is not None
        return claim


async def test_cause_and_priority_change_the_due_date_follows_from_filing(db: Database) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id)  # normal: due T0 + 7 days
    claim_id = view.claim.id
    assert view.claim.due_at == T0 + timedelta(days=7)
    later = T0 + timedelta(days=2)

    edited = await claims.edit(db.uow(), w.anna, claim_id, cause="delivery", now=later)
    assert edited.claim.cause == "delivery"
    # a manager may raise the priority; the target is counted from the filing, not from now
    edited = await claims.edit(db.uow(), w.anna, claim_id, priority="high", now=later)
    assert (edited.claim.priority, edited.claim.due_at) == ("high", T0 + timedelta(days=3))
    stored = await read(db, claim_id)
    assert (stored.cause, stored.priority, stored.due_at) == (
        "delivery",
        "high",
        T0 + timedelta(days=3),
    )
    updates = [e for e in await audit_of(db, claim_id) if e.action == "update"]
    assert [e.changes for e in updates] == [
        {"cause": ["other", "delivery"]},
        {
            "priority": ["normal", "high"],
            "due_at": [
                (T0 + timedelta(days=7)).isoformat(),
                (T0 + timedelta(days=3)).isoformat(),
            ],
        },
    ]
    assert all(e.actor_id == w.anna.id for e in updates)
    # the same values again: nothing written
    before = await written(db)
    await claims.edit(db.uow(), w.anna, claim_id, cause="delivery", priority="high", now=later)
    assert await written(db) == before


async def test_a_manager_may_not_lower_the_priority_a_head_may(db: Database) -> None:
    w = await two_departments(db)
    claim_id = (await file(db, w.anna, w.company.id, priority="high")).claim.id
    assert claims.allowed_priorities(w.anna, await read(db, claim_id)) == ["high", "critical"]
    assert claims.allowed_priorities(w.head, await read(db, claim_id)) == [
        "low",
        "normal",
        "high",
        "critical",
    ]
    before = await written(db)
    with pytest.raises(Conflict) as refused:
        await claims.edit(db.uow(), w.anna, claim_id, priority="low")
    assert refused.value.reason == "priority_lower"
    assert await written(db) == before
    edited = await claims.edit(db.uow(), w.head, claim_id, priority="low")
    assert (edited.claim.priority, edited.claim.due_at) == ("low", T0 + timedelta(days=14))


async def test_escalation_level_drops_to_what_the_new_due_date_earned(db: Database) -> None:
    w = await two_departments(db)
    claim_id = (await file(db, w.anna, w.company.id, priority="critical")).claim.id  # due T0+1d
    now = T0 + timedelta(days=2, hours=1)  # past twice the SLA: level 2 earned
    assert await claims.mark_escalated(db.uow(), claim_id, 2)
    # normal: due T0 + 7 days, not yet reached: the level goes back to 0
    edited = await claims.edit(db.uow(), w.head, claim_id, priority="normal", now=now)
    assert edited.claim.escalation_level == 0
    assert await claims.claims_to_escalate(db.uow(), now) == []
    # high: due T0 + 3 days, passed at T0 + 3d 1h: level 1 only, so the heads hear again
    at = T0 + timedelta(days=3, hours=1)
    edited = await claims.edit(db.uow(), w.head, claim_id, priority="high", now=at)
    assert edited.claim.escalation_level == 0  # it never rises in an edit
    [due] = await claims.claims_to_escalate(db.uow(), at)
    assert (due.claim_id, due.level) == (claim_id, 1)
    # raising an old claim's priority makes it overdue at once
    old = (await file(db, w.anna, w.company.id)).claim.id
    edited = await claims.edit(db.uow(), w.anna, old, priority="critical", now=at)
    assert edited.claim.due_at == T0 + timedelta(days=1) < at
    assert claims.earned_level(edited.claim, edited.claim.due_at, at) == 2


async def test_closed_unknown_and_foreign_edits_are_refused(db: Database) -> None:
    w = await two_departments(db)
    claim_id = (await file(db, w.anna, w.company.id)).claim.id
    before = await written(db)
    with pytest.raises(InvalidInput) as unknown:
        await claims.edit(db.uow(), w.anna, claim_id, cause="nonsense")
    assert unknown.value.field == "cause"
    with pytest.raises(InvalidInput):
        await claims.edit(db.uow(), w.anna, claim_id, priority="urgent")
    with pytest.raises(AccessDenied):  # another department's manager, and his head
        await claims.edit(db.uow(), w.boris, claim_id, priority="critical")
    with pytest.raises(AccessDenied):
        await claims.edit(db.uow(), w.other_head, claim_id, cause="billing")
    for status in ("resolved", "rejected"):
        await set_status(db, claim_id, status, close_plan=True)
        assert claims.editable_fields(w.director, await read(db, claim_id)) == []
        assert claims.allowed_priorities(w.director, await read(db, claim_id)) == []
        with pytest.raises(Conflict) as closed:
            await claims.edit(db.uow(), w.director, claim_id, priority="critical")
        assert closed.value.reason == "claim_closed_edit"
    await set_status(db, claim_id, "new", close_plan=False)
    assert (await read(db, claim_id)).priority == "normal"
    assert await written(db) == before


async def test_a_directors_own_cause_is_offered_and_guessed(db: Database) -> None:
    w = await two_departments(db)
    await claims.add_cause(db.uow(), w.director, "packaging", "Упаковка")
    claim_id = (await file(db, w.anna, w.company.id)).claim.id
    edited = await claims.edit(db.uow(), w.anna, claim_id, cause="PACKAGING")
    assert edited.claim.cause == "packaging"
    assert await claims.guessed_cause(db.uow(), "Упаковка порвана") == "packaging"
    assert await claims.guessed_cause(db.uow(), "The invoice was charged twice") == "billing"
    assert await claims.guessed_cause(db.uow(), "Привет") is None


async def test_company_card_lists_only_the_open_claims_the_reader_sees(db: Database) -> None:
    w = await two_departments(db)
    mine = (await file(db, w.anna, w.company.id, priority="critical")).claim.id
    other = (await file(db, w.anna, w.company.id)).claim.id
    closed = (await file(db, w.anna, w.company.id)).claim.id
    await set_status(db, closed, "rejected", close_plan=True)
    card = await cards.company_card(db.uow(), w.anna, w.company.id)
    assert [c.id for c in card.open_claims] == [mine, other]  # the most urgent first
    head_card = await cards.company_card(db.uow(), w.head, w.company.id)
    assert [c.id for c in head_card.open_claims] == [mine, other]
    async with db.uow() as uow:
        assert await claims.open_for_company(uow, w.boris, w.company.id) == []


async def test_raised_to_urgent_is_told_as_if_filed_so(db: Database) -> None:
    w = await two_departments(db)
    claim_id = (await file(db, w.anna, w.company.id, priority="low")).claim.id
    normal = await claims.edit(db.uow(), w.anna, claim_id, priority="normal")
    assert await claims.notify_targets_on_raise(db.uow(), normal.claim, "low") == []
    high = await claims.edit(db.uow(), w.anna, claim_id, priority="high")
    targets = await claims.notify_targets_on_raise(db.uow(), high.claim, "normal")
    assert targets == [w.anna.id, w.head.id]
    critical = await claims.edit(db.uow(), w.anna, claim_id, priority="critical")
    assert await claims.notify_targets_on_raise(db.uow(), critical.claim, "high") == []
