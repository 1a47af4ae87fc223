"""crm/services/team.py as the operator (the command line) uses it: departments found or
created, the staff listed for `chatcrm shell`, a member found by Telegram id."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from crm.errors import InvalidInput
from crm.models import AuditEntry, Department, Manager
from crm.models.enums import Role
from crm.services import team
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.queries import count


async def test_a_department_is_found_or_created_only_when_asked(db: Database) -> None:
    sales = await factories.department(db, "Sales")
    await factories.department(db, "Export")
    found, created = await team.department(db.uow(), "  Sales ")
    assert (found.id, created) == (sales.id, False)
    with pytest.raises(InvalidInput) as refused:
        await team.department(db.uow(), "Nowhere")
    assert (refused.value.field, refused.value.reason) == ("department", "not_found")
    assert refused.value.params["known"] == ["Export", "Sales"]
    assert await count(db, Department) == 2
    with pytest.raises(InvalidInput):
        await team.department(db.uow(), "  ", create=True)
    made, created = await team.department(db.uow(), "Nowhere", create=True)
    assert created and made.name == "Nowhere"
    assert await count(db, Department) == 3
    assert await count(db, AuditEntry, AuditEntry.entity == "departments") == 1
    again, created = await team.department(db.uow(), "Nowhere", create=True)
    assert (again.id, created) == (made.id, False)


async def test_the_roster_puts_leaders_first_and_leaves_out_who_left(db: Database) -> None:
    zoe = await factories.staff(db, Role.MANAGER, name="Zoe", tg_id=501)
    await factories.staff(db, Role.MANAGER, name="Adam", tg_id=502)
    await factories.staff(db, Role.HEAD, name="Helen", tg_id=503)
    await factories.staff(db, Role.DIRECTOR, name="Dina", tg_id=504)
    gone = await factories.staff(db, Role.DIRECTOR, name="Ada", tg_id=505)
    async with db.uow() as uow:
        await uow.session.execute(update(Manager).where(Manager.id == gone.id).values(active=False))
        await uow.commit()
    assert await team.roster(db.uow()) == [
        (504, "Dina", Role.DIRECTOR),
        (503, "Helen", Role.HEAD),
        (502, "Adam", Role.MANAGER),
        (501, "Zoe", Role.MANAGER),
    ]
    assert len(await team.roster(db.uow(), limit=2)) == 2
    found = [await team.by_tg_id(db.uow(), tg_id) for tg_id in (501, 505)]
    assert [m.id if m else None for m in found] == [zoe.id, gone.id]  # who left, too
    assert await team.by_tg_id(db.uow(), 999) is None
