from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from crm.errors import AccessDenied, InvalidInput
from crm.models import AuditEntry, Deal, Manager, Playbook, PlaybookStep, Task
from crm.models.enums import Role
from crm.services import deals, playbooks
from crm.services.playbooks import PlaybookInput, StepInput
from crm.storage import Database
from tests.fixtures import factories

START = datetime(2025, 3, 5, 7, 30, tzinfo=UTC)  # Wed 10:30 Moscow
PLAN = [StepInput("Call", 1), StepInput("Send offer", 3), ("Follow up", 7)]


async def test_only_a_director_defines_playbooks(db: Database) -> None:
    head = await factories.staff(db, Role.HEAD)
    director = await factories.staff(db, Role.DIRECTOR, name="Dir")
    with pytest.raises(AccessDenied):
        await playbooks.create(db.uow(), head, PlaybookInput("Sales", "deal", PLAN))
    for bad, field in [
        (PlaybookInput("Sales", "deal", []), "steps"),
        (PlaybookInput("Sales", "bogus", PLAN), "kind"),
        (PlaybookInput("", "deal", PLAN), "name"),
        (PlaybookInput("Sales", "deal", [StepInput("Call", -1)]), "offset_days"),
    ]:
        with pytest.raises(InvalidInput) as err:
            await playbooks.create(db.uow(), director, bad)
        assert err.value.field == field
    made = await playbooks.create(db.uow(), director, PlaybookInput("Sales", "deal", PLAN, True))
    assert [(s.title, s.offset_days) for s in made.steps] == [
        ("Call", 1),
        ("Send offer", 3),
        ("Follow up", 7),
    ]
    second = await playbooks.create(db.uow(), director, PlaybookInput("Big", "deal", PLAN, True))
    async with db.uow() as uow:
        defaults = list(
            await uow.session.scalars(select(Playbook.id).where(Playbook.is_default.is_(True)))
        )
        assert defaults == [second.id]  # one default per kind
    await playbooks.set_default(db.uow(), director, made.id)
    listed = await playbooks.list_playbooks(db.uow(), director, "deal")
    assert [(p.name, p.is_default) for p in listed] == [("Sales", True), ("Big", False)]


async def test_new_deal_gets_the_default_playbooks_tasks(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR, name="Dir")
    anna = await factories.staff(db)
    async with db.uow() as uow:  # Anna works from New York
        await uow.session.execute(
            update(Manager).where(Manager.id == anna.id).values(timezone="America/New_York")
        )
        await uow.commit()
    await playbooks.create(db.uow(), director, PlaybookInput("Sales", "deal", PLAN, True))
    company = await factories.raw_company(db, anna)
    deal = await deals.open(
        db.uow(),
        anna,
        deals.DealInput(company_id=company.id, title="Pumps", amount="100"),
        on_opened=playbooks.deal_opened,
    )
    async with db.uow() as uow:
        made = list(await uow.session.scalars(select(Task).order_by(Task.due_at)))
        audited = await uow.session.scalar(
            select(AuditEntry.id).where(AuditEntry.entity == "tasks").limit(1)
        )
    assert [t.title for t in made] == ["Call", "Send offer", "Follow up"]
    assert {(t.deal_id, t.company_id, t.assignee_id, t.kind) for t in made} == {
        (deal.id, company.id, anna.id, "deal_plan")
    }
    # each due at 09:00 New York time
    assert {t.due_at.astimezone(ZoneInfo("America/New_York")).hour for t in made} == {9}
    assert audited is not None


async def test_apply_chosen_playbook_with_offsets(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR, name="Dir")
    anna = await factories.staff(db)
    company = await factories.raw_company(db, anna)
    chosen = await playbooks.create(
        db.uow(), director, PlaybookInput("Quick", "deal", [("Call now", 0), ("Offer", 2)])
    )
    claim_book = await playbooks.create(db.uow(), director, PlaybookInput("C", "claim", PLAN))
    async with db.uow() as uow:
        deal = Deal(company_id=company.id, curator_id=anna.id, title="X", stage="lead")
        uow.session.add(deal)
        await uow.flush()
        assert await playbooks.apply_playbook(uow, "deal", deal, anna.id, START) == []  # no default
        with pytest.raises(AccessDenied):  # a claim playbook for a deal
            await playbooks.apply_playbook(uow, "deal", deal, anna.id, START, claim_book.id)
        made = await playbooks.apply_playbook(
            uow, "deal", deal, anna.id, START, chosen.id, actor_id=director.id
        )
        await uow.commit()
    assert [(t.title, t.due_at) for t in made] == [
        ("Call now", START),
        ("Offer", datetime(2025, 3, 7, 6, 0, tzinfo=UTC)),  # Fri 09:00 Moscow
    ]
    async with db.uow() as uow:  # inside the caller's transaction, as claims uses it
        assert await playbooks.plan_steps(uow, "claim") is None  # not a default
    await playbooks.set_default(db.uow(), director, claim_book.id)
    async with db.uow() as uow:
        assert await playbooks.plan_steps(uow, "claim") == [
            ("Call", 1),
            ("Send offer", 3),
            ("Follow up", 7),
        ]


async def test_update_steps_replaces_them_audited_and_refuses_bad_input(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR, name="Dir")
    head = await factories.staff(db, Role.HEAD)
    made = await playbooks.create(db.uow(), director, PlaybookInput("Sales", "deal", PLAN))
    old = [(s.id, s.title, s.offset_days) for s in made.steps]

    async def steps_in_db() -> list[tuple[str, int]]:
        return [
            (s.title, s.offset_days)
            for s in (await playbooks.get(db.uow(), director, made.id)).steps
        ]

    with pytest.raises(AccessDenied):
        await playbooks.update_steps(db.uow(), head, made.id, [("Call", 2)])
    with pytest.raises(AccessDenied):
        await playbooks.update_steps(db.uow(), director, made.id + 100, [("Call", 2)])
    for bad, field in [
        ([], "steps"),
        ([("Call", 366)], "offset_days"),
        ([("", 1)], "step"),
        ([("x" * 10_000, 1)], "step"),
        ([("Call", 1)] * 31, "steps"),
    ]:
        with pytest.raises(InvalidInput) as err:
            await playbooks.update_steps(db.uow(), director, made.id, bad)
        assert err.value.field == field
    assert await steps_in_db() == [("Call", 1), ("Send offer", 3), ("Follow up", 7)]

    updated = await playbooks.update_steps(
        db.uow(), director, made.id, [StepInput("Позвонить", 0), ("Встреча", 2)]
    )
    assert [(s.title, s.offset_days, s.position) for s in updated.steps] == [
        ("Позвонить", 0, 0),
        ("Встреча", 2, 1),
    ]
    assert await steps_in_db() == [("Позвонить", 0), ("Встреча", 2)]
    async with db.uow() as uow:
        left = await uow.session.scalars(
            select(PlaybookStep.id).where(PlaybookStep.id.in_([s[0] for s in old]))
        )
        assert list(left) == []  # the old steps are gone, not left orphaned
        entry = (
            await uow.session.scalars(
                select(AuditEntry).where(
                    AuditEntry.entity == "playbooks", AuditEntry.action == "update"
                )
            )
        ).one()
    assert entry.changes["steps"][1] == [["Позвонить", 0], ["Встреча", 2]]
    # the same steps again: nothing changes, nothing is audited
    await playbooks.update_steps(db.uow(), director, made.id, [("Позвонить", 0), ("Встреча", 2)])
    async with db.uow() as uow:
        count = await uow.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "update")
        )
    assert count == 1


async def test_a_director_reads_them_all_and_everyone_reads_the_deal_plans(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR, name="Dir")
    head = await factories.staff(db, Role.HEAD, name="Head")
    manager = await factories.staff(db, Role.MANAGER, name="Man")
    deal = await playbooks.create(db.uow(), director, PlaybookInput("Sales", "deal", PLAN))
    await playbooks.create(db.uow(), director, PlaybookInput("Quick", "deal", PLAN, True))
    claim = await playbooks.create(db.uow(), director, PlaybookInput("Care", "claim", PLAN))
    assert playbooks.may_manage(director)
    listed = await playbooks.list_playbooks(db.uow(), director)
    assert [(p.kind, p.name) for p in listed] == [
        ("claim", "Care"),
        ("deal", "Quick"),
        ("deal", "Sales"),
    ]
    assert (await playbooks.get(db.uow(), director, claim.id)).name == "Care"
    for other in (head, manager):
        assert not playbooks.may_manage(other)
        with pytest.raises(AccessDenied):
            await playbooks.list_playbooks(db.uow(), other, "deal")
        with pytest.raises(AccessDenied):
            await playbooks.get(db.uow(), other, deal.id)
        # the plan of a new deal: the deal playbooks, the default first
        plans = await playbooks.choices(db.uow(), other)
        assert [(p.name, p.is_default) for p in plans] == [("Quick", True), ("Sales", False)]
