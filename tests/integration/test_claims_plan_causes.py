"""claims service: plan steps at an exact time, marking a step done, renaming and removing
causes (SQLite and PostgreSQL through the `db` fixture)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import AuditEntry, Claim, ClaimCause, Task
from crm.services import claims
from crm.services.claims import PlanTaskInput
from crm.storage import Database
from tests.fixtures.claims import T0, at, file, set_status, written
from tests.fixtures.queries import count
from tests.fixtures.worlds import two_departments


async def audit_of(db: Database, entity: str, action: str) -> list[dict]:  # type: ignore[type-arg]
    async with db.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
        return [dict(r.changes or {}) for r in rows]


async def test_a_step_at_an_exact_time_and_its_checks(db: Database) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id, priority="critical")
    later = T0 + timedelta(hours=2)
    due = at("2026-03-10 12:15")  # after the claim's own due: an explicit time is not capped
    edited = await claims.edit_plan(
        db.uow(),
        w.anna,
        view.claim.id,
        add=[PlanTaskInput("Call the warehouse", due_at=due)],
        now=later,
    )
    [added] = [t for t in edited.plan if t.title == "Call the warehouse"]
    assert (added.due_at, added.status, added.kind) == (due, "open", claims.PLAN_KIND)
    assert (added.assignee_id, added.created_by_id, added.claim_id) == (
        w.anna.id,
        w.anna.id,
        view.claim.id,
    )
    assert [c["title"][1] for c in await audit_of(db, "tasks", "create")][-1] == (
        "Call the warehouse"
    )
    before = await written(db)
    for bad, reason in [
        (later - timedelta(hours=1), "past"),
        (due.replace(tzinfo=None), "invalid"),
        (later + timedelta(days=400), "out_of_range"),
    ]:
        with pytest.raises(InvalidInput) as err:
            await claims.edit_plan(
                db.uow(), w.anna, view.claim.id, add=[PlanTaskInput("X", due_at=bad)], now=later
            )
        assert (err.value.field, err.value.reason) == ("due_at", reason)
    with pytest.raises(InvalidInput) as err:
        await claims.edit_plan(
            db.uow(), w.anna, view.claim.id, add=[PlanTaskInput("x" * 201, due_at=due)], now=later
        )
    assert (err.value.field, err.value.reason) == ("title", "too_long")
    assert await written(db) == before


async def test_complete_a_step_through_the_claim(db: Database) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id)
    first, second = view.plan[0].id, view.plan[1].id
    done = await claims.complete_step(db.uow(), w.head, view.claim.id, first, now=T0)
    assert [(t.id, t.status) for t in done.plan][:2] == [(first, "done"), (second, "open")]
    assert [t.done_at for t in done.plan if t.id == first] == [T0]
    [audited] = await audit_of(db, "tasks", "update")
    assert audited["status"] == ["open", "done"] and audited["done_at"][0] is None
    before = await written(db)
    again = await claims.complete_step(db.uow(), w.anna, view.claim.id, first)  # harmless
    assert [t.status for t in again.plan if t.id == first] == ["done"]
    assert await written(db) == before
    await claims.edit_plan(db.uow(), w.anna, view.claim.id, remove=[second])
    before = await written(db)
    with pytest.raises(Conflict) as conflict:
        await claims.complete_step(db.uow(), w.anna, view.claim.id, second)
    assert conflict.value.reason == "task_not_open"
    with pytest.raises(AccessDenied):  # another department's manager: as if absent
        await claims.complete_step(db.uow(), w.boris, view.claim.id, view.plan[2].id)
    with pytest.raises(AccessDenied):
        await claims.complete_step(db.uow(), w.anna, view.claim.id + 100, first)
    other = await file(db, w.anna, w.company.id)
    with pytest.raises(InvalidInput) as err:  # a task of another claim
        await claims.complete_step(db.uow(), w.anna, view.claim.id, other.plan[0].id)
    assert err.value.reason == "not_in_plan"
    before = await written(db)
    await set_status(db, view.claim.id, "rejected", close_plan=False)
    with pytest.raises(Conflict) as conflict:
        await claims.complete_step(db.uow(), w.anna, view.claim.id, view.plan[2].id)
    assert conflict.value.reason == "claim_closed"
    assert await written(db) == before


async def test_rename_a_cause_keeps_the_claims_on_it(db: Database) -> None:
    w = await two_departments(db)
    await claims.add_cause(db.uow(), w.director, "packaging", "Packaging")
    view = await file(db, w.anna, w.company.id, cause="packaging")
    assert view.cause_title == "Packaging"
    renamed = await claims.rename_cause(db.uow(), w.director, "packaging", "  Boxes and film ")
    assert (renamed.code, renamed.title) == ("packaging", "Boxes and film")
    card = await claims.get(db.uow(), w.anna, view.claim.id)
    assert (card.claim.cause, card.cause_title) == ("packaging", "Boxes and film")
    await claims.rename_cause(db.uow(), w.director, "other", "Something else")  # a built-in one
    titles = {c.code: c.title for c in await claims.list_causes(db.uow())}
    assert titles["other"] == "Something else" and titles["packaging"] == "Boxes and film"
    assert await audit_of(db, "claim_causes", "update") == [
        {"code": ["packaging", "packaging"], "title": ["Packaging", "Boxes and film"]},
        {"code": ["other", "other"], "title": ["Other", "Something else"]},
    ]
    before = await written(db), await count(db, ClaimCause)
    await claims.rename_cause(db.uow(), w.director, "packaging", "Boxes and film")  # unchanged
    for code, title, field, reason in [
        ("packaging", " ", "title", "empty"),
        ("packaging", "x" * 101, "title", "too_long"),
        ("packaging", "quality", "title", "duplicate"),  # another cause's title, any case
        ("nosuch", "Whatever", "cause", "not_found"),
    ]:
        with pytest.raises(InvalidInput) as err:
            await claims.rename_cause(db.uow(), w.director, code, title)
        assert (err.value.field, err.value.reason) == (field, reason)
    for someone in (w.anna, w.head):
        with pytest.raises(AccessDenied):
            await claims.rename_cause(db.uow(), someone, "packaging", "Mine")
    assert (await written(db), await count(db, ClaimCause)) == before


async def test_remove_only_an_unused_cause_of_the_directors(db: Database) -> None:
    w = await two_departments(db)
    await claims.add_cause(db.uow(), w.director, "packaging", "Packaging")
    await claims.add_cause(db.uow(), w.director, "labels", "Labels")
    view = await file(db, w.anna, w.company.id, cause="packaging")
    await set_status(db, view.claim.id, "resolved", close_plan=True)  # closed claims count too
    await file(db, w.anna, w.company.id, cause="packaging")
    assert await claims.claims_with_cause(db.uow(), w.director, "packaging") == 2
    before = await written(db), await count(db, ClaimCause)
    with pytest.raises(Conflict) as conflict:
        await claims.remove_cause(db.uow(), w.director, "packaging")
    assert (conflict.value.reason, conflict.value.params["count"]) == ("cause_in_use", 2)
    with pytest.raises(Conflict) as conflict:
        await claims.remove_cause(db.uow(), w.director, "quality")
    assert conflict.value.reason == "cause_builtin"
    with pytest.raises(InvalidInput):
        await claims.remove_cause(db.uow(), w.director, "nosuch")
    for someone in (w.anna, w.head):
        with pytest.raises(AccessDenied):
            await claims.remove_cause(db.uow(), someone, "labels")
        with pytest.raises(AccessDenied):
            await claims.claims_with_cause(db.uow(), someone, "labels")
    assert (await written(db), await count(db, ClaimCause)) == before

    assert await claims.remove_cause(db.uow(), w.director, "labels") == "Labels"
    assert "labels" not in {c.code for c in await claims.list_causes(db.uow())}
    assert await audit_of(db, "claim_causes", "delete") == [
        {"code": ["labels", None], "title": ["Labels", None]}
    ]
    with pytest.raises(InvalidInput):  # a removed cause cannot be given to a new claim
        await file(db, w.anna, w.company.id, cause="labels")
    async with db.uow() as uow:
        causes = list(await uow.session.scalars(select(Claim.cause)))
    assert causes == ["packaging", "packaging"]
    # the plan of the claims is untouched
    assert await count(db, Task) == 6
