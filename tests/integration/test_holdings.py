"""Holdings (crm/services/holdings.py): parents set and cleared through the companies
service, loops refused, what a card shows of a holding to each reader; and a property
test: no sequence of parent changes stores a loop."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from crm.access import Actor
from crm.errors import AccessDenied, InvalidInput
from crm.models import AuditEntry, Company
from crm.models.enums import Role
from crm.services import cards, companies, holdings
from crm.services.companies import CompanyInput
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.sync_db import run_on, url_of


async def parents(db: Database) -> dict[int, int | None]:
    async with db.uow() as uow:
        return dict((await uow.session.execute(select(Company.id, Company.parent_id))).all())


async def test_a_parent_is_set_cleared_and_audited(db: Database) -> None:
    anna = await factories.staff(db)
    holding = await companies.create(db.uow(), anna, CompanyInput(name="Holding"))
    child = await companies.create(db.uow(), anna, CompanyInput(name="Child"))
    await companies.update(db.uow(), anna, child.id, parent_id=holding.id)
    assert (await parents(db))[child.id] == holding.id
    await companies.update(db.uow(), anna, child.id, parent_id=None)
    assert (await parents(db))[child.id] is None
    async with db.uow() as uow:
        changes = list(
            await uow.session.scalars(
                select(AuditEntry.changes)
                .where(AuditEntry.entity_id == child.id, AuditEntry.action == "update")
                .order_by(AuditEntry.id)
            )
        )
    assert changes == [{"parent_id": [None, holding.id]}, {"parent_id": [holding.id, None]}]


@pytest.mark.parametrize("length", [1, 2, 3])
async def test_a_loop_is_refused_and_nothing_changes(db: Database, length: int) -> None:
    anna = await factories.staff(db)
    chain = [await companies.create(db.uow(), anna, CompanyInput(name=f"C{i}")) for i in range(3)]
    for lower, upper in pairwise(chain[:length]):
        await companies.update(db.uow(), anna, lower.id, parent_id=upper.id)
    before = await parents(db)
    with pytest.raises(InvalidInput) as err:  # the top of the chain under its bottom
        await companies.update(db.uow(), anna, chain[length - 1].id, parent_id=chain[0].id)
    assert (err.value.field, err.value.reason) == ("parent_id", "cycle")
    assert await parents(db) == before


async def test_a_parent_the_actor_does_not_see_is_refused(db: Database) -> None:
    anna = await factories.staff(db)
    boris = await factories.staff(db, name="Boris")
    mine = await companies.create(db.uow(), anna, CompanyInput(name="Mine"))
    his = await companies.create(db.uow(), boris, CompanyInput(name="His"))
    with pytest.raises(AccessDenied):
        await companies.update(db.uow(), anna, mine.id, parent_id=his.id)
    with pytest.raises(AccessDenied):
        await companies.create(db.uow(), anna, CompanyInput(name="New", parent_id=his.id))
    assert (await parents(db))[mine.id] is None


async def test_a_card_names_only_the_relatives_its_reader_sees(db: Database) -> None:
    dept = await factories.department(db)
    anna = await factories.staff(db, department_id=dept.id)
    boris = await factories.staff(db, name="Boris")
    head = await factories.staff(db, Role.HEAD, department_id=dept.id, name="Helen")
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    group = await companies.create(db.uow(), boris, CompanyInput(name="Group"))
    middle = await companies.create(db.uow(), anna, CompanyInput(name="Middle"))
    subsidiaries = {
        name: await companies.create(db.uow(), curator, CompanyInput(name=name))
        for name, curator in (("Alpha", anna), ("Beta", boris), ("Gamma", anna))
    }
    await companies.update(db.uow(), director, middle.id, parent_id=group.id)
    for company in subsidiaries.values():
        await companies.update(db.uow(), director, company.id, parent_id=middle.id)

    mine = await cards.company_card(db.uow(), anna, middle.id)
    assert mine.parent_name is None  # Boris's Group
    assert [s.name for s in mine.family.subsidiaries] == ["Alpha", "Gamma"]
    assert mine.family.subsidiaries_total == 2
    by_head = await cards.company_card(db.uow(), head, middle.id)
    assert by_head.parent_name is None
    everything = await cards.company_card(db.uow(), director, middle.id)
    assert everything.parent_name == "Group"
    assert [s.name for s in everything.family.subsidiaries] == ["Alpha", "Beta", "Gamma"]


async def test_the_holding_of_a_company_is_its_highest_visible_ancestor(db: Database) -> None:
    anna = await factories.staff(db)
    boris = await factories.staff(db, name="Boris")
    director = await factories.staff(db, Role.DIRECTOR, name="Dina")
    top = await companies.create(db.uow(), boris, CompanyInput(name="Top"))
    middle = await companies.create(db.uow(), anna, CompanyInput(name="Middle"))
    low = await companies.create(db.uow(), anna, CompanyInput(name="Low"))
    alone = await companies.create(db.uow(), anna, CompanyInput(name="Alone"))
    await companies.update(db.uow(), director, middle.id, parent_id=top.id)
    await companies.update(db.uow(), director, low.id, parent_id=middle.id)
    ids = [middle.id, low.id, alone.id]
    async with db.uow().read_only() as uow:
        seen_by_anna = await holdings.holdings_of(uow, anna, ids)
    async with db.uow().read_only() as uow:
        seen_by_director = await holdings.holdings_of(uow, director, ids)
    assert {k: v.name for k, v in seen_by_anna.items()} == {
        middle.id: "Middle",
        low.id: "Middle",
        alone.id: "Alone",
    }
    assert {k: v.name for k, v in seen_by_director.items()} == {
        middle.id: "Top",
        low.id: "Top",
        alone.id: "Alone",
    }


# --- property: no sequence of parent changes stores a loop ----------------------------------

COMPANIES = 6  # the last one is Boris's: Anna may neither see it nor use it as a parent
change = st.tuples(
    st.integers(0, COMPANIES - 1), st.one_of(st.none(), st.integers(0, COMPANIES - 1))
)


def reaches(links: dict[int, int | None], start: int, target: int) -> bool:
    """Whether going up from `start` meets `target` (at most len(links) steps)."""
    cursor: int | None = start
    for _ in range(len(links) + 1):
        if cursor is None:
            return False
        if cursor == target:
            return True
        cursor = links.get(cursor)
    raise AssertionError(f"a loop is stored: {links}")


async def _arrange(db: Database) -> tuple[Actor, list[int]]:
    anna = await factories.staff(db)
    boris = await factories.staff(db, name="Boris")
    ids = []
    for i in range(COMPANIES):
        owner = boris if i == COMPANIES - 1 else anna
        ids.append((await factories.raw_company(db, owner, f"Company {i}")).id)
    return anna, ids


def test_no_sequence_of_parent_changes_makes_a_loop(db: Database) -> None:
    url = url_of(db)
    anna, ids = run_on(url, _arrange)

    async def example(database: Database, changes: list[tuple[int, int | None]]) -> None:
        async with database.uow() as uow:
            await uow.session.execute(update(Company).values(parent_id=None))
            await uow.commit()
        expected: dict[int, int | None] = dict.fromkeys(ids)
        for child_at, parent_at in changes:
            child = ids[child_at]
            parent = ids[parent_at] if parent_at is not None else None
            hidden = COMPANIES - 1 in (child_at, parent_at)
            loop = parent is not None and reaches(expected, parent, child)
            try:
                await companies.update(database.uow(), anna, child, parent_id=parent)
            except AccessDenied:
                assert hidden
            except InvalidInput as err:
                assert (err.reason, loop, hidden) == ("cycle", True, False)
            else:
                assert not hidden and not loop
                expected[child] = parent
            stored = await parents(database)
            assert stored == expected
            for company in ids:
                reaches(stored, company, -1)  # raises if a chain never ends

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(changes=st.lists(change, min_size=1, max_size=12))
    def check(changes: list[tuple[int, int | None]]) -> None:
        run_on(url, lambda database: example(database, changes))

    check()
