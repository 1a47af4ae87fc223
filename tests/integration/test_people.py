from __future__ import annotations

import asyncio
import re
from datetime import time, timedelta

import pytest
import time_machine
from sqlalchemy import select

from crm.errors import AccessDenied, InvalidInput, InviteInvalid, NotRegistered
from crm.models import AuditEntry, Invite, Manager
from crm.models.enums import Role
from crm.services import people
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.queries import count

ADMIN = 777


async def register(db: Database, tg_id: int, code: str | None = None, language: str = "ru"):  # type: ignore[no-untyped-def]
    return await people.register(
        db.uow(),
        tg_id=tg_id,
        name="Ivan  Petrov",
        username="ivan",
        language=language,
        code=code,
        admin_ids={ADMIN},
        default_timezone="Europe/Moscow",
        digest_time=time(9, 0),
    )


async def test_admin_becomes_director_once_and_stranger_is_refused(db: Database) -> None:
    with pytest.raises(NotRegistered):
        await register(db, 5)
    assert await count(db, Manager) == 0

    boss = await register(db, ADMIN, language="ru-RU")
    assert (boss.role, boss.name, boss.language, boss.timezone) == (
        "director",
        "Ivan Petrov",
        "ru",
        "Europe/Moscow",
    )
    again = await register(db, ADMIN)
    assert again.id == boss.id
    assert await count(db, Manager) == 1
    assert await count(db, AuditEntry, AuditEntry.entity == "managers") == 1

    actor = await people.actor_for(db.uow(), ADMIN)
    assert actor is not None and actor.is_director and actor.id == boss.id
    assert await people.actor_for(db.uow(), 5) is None


async def test_invite_registers_with_its_role_and_department_once(db: Database) -> None:
    dept = await factories.department(db)
    director = await factories.staff(db, Role.DIRECTOR)
    invite = await people.create_invite(db.uow(), director, "head", department_id=dept.id)
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", invite.code)
    assert invite.expires_at - invite.created_at > timedelta(days=6)

    head = await register(db, 42, invite.code, language="en")
    assert (head.role, head.department_id, head.language) == ("head", dept.id, "en")
    async with db.uow() as uow:
        stored = await uow.session.get(Invite, invite.id)
        assert stored is not None and stored.used_by_id == head.id and stored.used_at
        audit = list(await uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(a.entity, a.action) for a in audit] == [
        ("invites", "create"),
        ("managers", "create"),
        ("invites", "use"),
    ]
    assert invite.code not in str(audit[0].changes)

    with pytest.raises(InviteInvalid) as used:
        await register(db, 43, invite.code)
    assert used.value.reason == "used"
    # the person already registered keeps their account; the code is not consumed again
    assert (await register(db, 42, "whatever")).id == head.id
    assert await count(db, Manager) == 2


async def test_unknown_and_expired_codes_are_refused_distinctly(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR)
    with pytest.raises(InviteInvalid) as unknown:
        await register(db, 50, "no-such-code")
    assert unknown.value.reason == "unknown"

    invite = await people.create_invite(db.uow(), director, Role.MANAGER, days=1)
    with time_machine.travel(invite.expires_at + timedelta(minutes=1)):
        with pytest.raises(InviteInvalid) as expired:
            await register(db, 51, invite.code)
    assert expired.value.reason == "expired"
    assert await count(db, Manager, Manager.tg_id.in_([50, 51])) == 0


async def test_two_people_racing_for_one_code_only_one_gets_in(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR)
    invite = await people.create_invite(db.uow(), director, Role.MANAGER)
    results = await asyncio.gather(
        *(register(db, 600 + i, invite.code) for i in range(4)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, Manager)]
    losers = [r for r in results if isinstance(r, InviteInvalid)]
    assert len(winners) == 1 and len(losers) == 3, results
    assert await count(db, Manager, Manager.tg_id.between(600, 603)) == 1


async def test_who_may_invite_whom(db: Database) -> None:
    dept = await factories.department(db)
    other = await factories.department(db, "Other")
    manager = await factories.staff(db, department_id=dept.id)
    head = await factories.staff(db, Role.HEAD, department_id=dept.id)
    director = await factories.staff(db, Role.DIRECTOR)

    with pytest.raises(AccessDenied):
        await people.create_invite(db.uow(), manager, Role.MANAGER)
    for role in (Role.HEAD, Role.DIRECTOR):
        with pytest.raises(AccessDenied):
            await people.create_invite(db.uow(), head, role)
    with pytest.raises(AccessDenied):
        await people.create_invite(db.uow(), head, Role.MANAGER, department_id=other.id)
    own = await people.create_invite(db.uow(), head, Role.MANAGER)
    assert own.department_id == dept.id

    boss = await people.create_invite(db.uow(), director, Role.DIRECTOR)
    assert (boss.role, boss.department_id) == ("director", None)
    with pytest.raises(InvalidInput) as bad_role:
        await people.create_invite(db.uow(), director, "king")
    assert bad_role.value.field == "role"
    with pytest.raises(InvalidInput) as bad_days:
        await people.create_invite(db.uow(), director, Role.MANAGER, days=0)
    assert bad_days.value.field == "days"
    with pytest.raises(InvalidInput) as bad_dept:
        await people.create_invite(db.uow(), director, Role.MANAGER, department_id=9999)
    assert bad_dept.value.field == "department"
    assert await count(db, Invite) == 2


async def test_operator_invite_needs_no_actor(db: Database) -> None:
    invite = await people.operator_invite(db.uow(), "director")
    person = await register(db, 99, invite.code)
    assert person.role == "director"


async def test_departments_are_for_directors(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR)
    head = await factories.staff(db, Role.HEAD)
    north = await people.create_department(db.uow(), director, "  North ")
    await people.create_department(db.uow(), director, "East")
    assert north.name == "North"
    assert [d.name for d in await people.list_departments(db.uow(), director)] == [
        "East",
        "North",
    ]
    with pytest.raises(InvalidInput):
        await people.create_department(db.uow(), director, "North")
    for call in (
        people.create_department(db.uow(), head, "South"),
        people.list_departments(db.uow(), head),
    ):
        with pytest.raises(AccessDenied):
            await call


async def test_inactive_manager_is_not_an_actor_until_invited_back(db: Database) -> None:
    director = await factories.staff(db, Role.DIRECTOR)
    gone = await factories.staff(db, tg_id=4242)
    async with db.uow() as uow:
        record = await uow.session.get(Manager, gone.id)
        assert record is not None
        record.active = False
        await uow.commit()
    assert await people.actor_for(db.uow(), 4242) is None
    with pytest.raises(NotRegistered):
        await register(db, 4242)
    invite = await people.create_invite(db.uow(), director, Role.MANAGER)
    back = await register(db, 4242, invite.code)
    assert back.id == gone.id and back.active
    assert await people.actor_for(db.uow(), 4242) is not None


async def test_update_settings_validates_and_audits(db: Database) -> None:
    anna = await factories.staff(db, language="ru")
    updated = await people.update_settings(
        db.uow(), anna, language="EN", timezone="Asia/Yekaterinburg", digest_time="7:30"
    )
    assert (updated.language, updated.timezone, updated.digest_time) == (
        "en",
        "Asia/Yekaterinburg",
        time(7, 30),
    )
    for kwargs, field in (
        ({"language": "de"}, "language"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"digest_time": "25:00"}, "digest_time"),
        ({"digest_time": "nine"}, "digest_time"),
        ({"language": "ru", "digest_time": "9"}, "digest_time"),
    ):
        with pytest.raises(InvalidInput) as err:
            await people.update_settings(db.uow(), anna, **kwargs)
        assert err.value.field == field
    async with db.uow() as uow:
        stored = await uow.session.get(Manager, anna.id)
        entries = list(await uow.session.scalars(select(AuditEntry)))
    assert stored is not None and stored.language == "en" and stored.digest_time == time(7, 30)
    assert len(entries) == 1
    assert entries[0].changes["timezone"] == ["Europe/Moscow", "Asia/Yekaterinburg"]
    # nothing changed, nothing audited
    await people.update_settings(db.uow(), anna, language="en")
    assert await count(db, AuditEntry) == 1
