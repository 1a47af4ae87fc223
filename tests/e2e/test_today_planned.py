"""Planned interactions in /today: ✅ Done, 🗓 Move and the card, through the services and the
real dispatcher; someone else's crafted button changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from crm.access import Actor
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import AuditEntry, Company, Interaction
from crm.models.enums import Role
from crm.services import interactions
from crm.storage import Database
from handlers.tasks.callbacks import MoveWhenCb, PlannedCb
from tests.fixtures import factories
from tests.fixtures.bot_harness import Harness, only_a_hint
from tests.fixtures.botapi_stub import TgUser, callback_update, message_update, press

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)  # Wednesday 13:00 in Moscow
OLGA = TgUser(7201, "Olga", language_code="ru")
ANNA = TgUser(7202, "Anna", language_code="en")
BORIS = TgUser(7203, "Boris", language_code="ru")
DENIED = "Не найдено, или у вас нет к этому доступа."


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


async def staff(db: Database, user: TgUser, language: str = "ru") -> Actor:
    return await factories.staff(db, name=user.first_name, language=language, tg_id=user.id)


async def planned(
    db: Database,
    actor: Actor,
    at: datetime,
    summary: str = "",
    kind: str = "meeting",
    **links: int,
) -> Interaction:
    async with db.uow() as uow:
        item = Interaction(
            kind=kind,
            direction="out",
            status="planned",
            occurred_at=at,
            summary=summary,
            manager_id=actor.id,
            **links,
        )
        uow.session.add(item)
        await uow.commit()
    return item


async def stored(db: Database, interaction_id: int) -> Interaction:
    async with db.uow() as uow:
        item = await uow.session.get(Interaction, interaction_id)
        assert item is not None
        return item


async def audits(db: Database, interaction_id: int) -> list[dict]:  # type: ignore[type-arg]
    async with db.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "interactions", AuditEntry.entity_id == interaction_id)
            .order_by(AuditEntry.id)
        )
        return [e.changes for e in rows]


async def last_touch(db: Database, company_id: int) -> datetime | None:
    async with db.uow() as uow:
        return await uow.session.scalar(
            select(Company.last_interaction_at).where(Company.id == company_id)
        )


def labels(sent: object) -> list[str]:
    return [b["text"] for row in sent.buttons for b in row]  # type: ignore[attr-defined]


# --- the services ----------------------------------------------------------------------------


async def test_reschedule_and_complete_services(db: Database) -> None:
    dept = await factories.department(db)
    anna = await factories.staff(db, department_id=dept.id, name="Anna")
    boris = await factories.staff(db, department_id=dept.id, name="Boris")
    head = await factories.staff(db, Role.HEAD, department_id=dept.id, name="Head")
    company = await factories.raw_company(db, anna, "Romashka")
    now = datetime.now(UTC)
    item = await planned(db, anna, now + timedelta(hours=2), "Demo", company_id=company.id)

    # bad input and someone else's interaction write nothing
    with pytest.raises(InvalidInput) as err:
        await interactions.reschedule(db.uow(), anna, item.id, now - timedelta(hours=1))
    assert (err.value.field, err.value.reason) == ("when", "past")
    with pytest.raises(InvalidInput):
        await interactions.reschedule(db.uow(), anna, item.id, datetime(2030, 1, 1))
    with pytest.raises(AccessDenied):
        await interactions.reschedule(db.uow(), boris, item.id, now + timedelta(days=1))
    with pytest.raises(AccessDenied):
        await interactions.get(db.uow(), boris, item.id)
    with pytest.raises(AccessDenied):
        await interactions.reschedule(db.uow(), anna, 999_999, now + timedelta(days=1))
    assert (await stored(db, item.id)).occurred_at == item.occurred_at
    assert await audits(db, item.id) == []

    later = (now + timedelta(days=1)).replace(microsecond=0)
    moved = await interactions.reschedule(db.uow(), anna, item.id, later)
    assert moved.occurred_at == later
    assert (await stored(db, item.id)).occurred_at == later
    [change] = await audits(db, item.id)
    assert change == {"occurred_at": [item.occurred_at.isoformat(), later.isoformat()]}
    assert (await interactions.get(db.uow(), head, item.id)).id == item.id  # the team's head

    done = await interactions.complete(db.uow(), anna, item.id)
    assert done.status == "done" and done.occurred_at <= datetime.now(UTC)
    assert await last_touch(db, company.id) == done.occurred_at
    # a done interaction is neither done again nor moved
    with pytest.raises(Conflict):
        await interactions.complete(db.uow(), anna, item.id)
    with pytest.raises(Conflict):
        await interactions.reschedule(db.uow(), anna, item.id, now + timedelta(days=2))
    assert len(await audits(db, item.id)) == 2


# --- /today: the buttons ---------------------------------------------------------------------


async def test_done_and_card_from_today_in_russian(harness: Harness, clock: object) -> None:
    h = harness
    olga = await staff(h.db, OLGA)
    company = await factories.raw_company(h.db, olga, "Ромашка")
    item = await planned(h.db, olga, NOW + timedelta(hours=4), "Презентация", company_id=company.id)
    [agenda] = await h.send(message_update(OLGA, "/today"))
    assert agenda.text == (
        "<b>Сегодня, 12.03.2025</b>\n\n"
        "<b>Запланированные взаимодействия (1)</b>\n"
        "1. 17:00 🤝 Ромашка — Презентация"
    )
    assert labels(agenda) == ["✅ 1. Выполнено", "🗓 1. Перенести", "📇 1. Карточка"]

    [card] = await h.send(press(OLGA, agenda, "📇 1."))
    assert card.method == "sendMessage" and "Ромашка" in card.text
    assert (await stored(h.db, item.id)).status == "planned"

    [after] = await h.send(press(OLGA, agenda, "✅ 1."))
    assert after.method == "editMessageText"
    assert after.text == (
        "<b>Сегодня, 12.03.2025</b>\n\n"
        "На сегодня ничего нет. Напоминание можно поставить командой /remind."
    )
    assert after.buttons == []
    assert h.stub.alerts()[-1] == "Выполнено: Презентация"
    done = await stored(h.db, item.id)
    assert (done.status, done.occurred_at) == ("done", NOW)
    assert await last_touch(h.db, company.id) == NOW
    assert await audits(h.db, item.id) == [
        {
            "status": ["planned", "done"],
            "occurred_at": [(NOW + timedelta(hours=4)).isoformat(), NOW.isoformat()],
        }
    ]
    # the old message's button again: said so, nothing changes
    assert await h.send(press(OLGA, agenda, "✅ 1.")) == []
    assert h.stub.alerts()[-1] == "Это взаимодействие уже выполнено."
    assert await h.send(press(OLGA, agenda, "🗓 1.")) == []
    assert h.stub.alerts()[-1] == "Это взаимодействие уже выполнено."
    assert len(await audits(h.db, item.id)) == 1


async def test_move_typed_and_with_buttons_in_russian(harness: Harness, clock: object) -> None:
    h = harness
    olga = await staff(h.db, OLGA)
    company = await factories.raw_company(h.db, olga, "Ромашка")
    item = await planned(h.db, olga, NOW + timedelta(hours=4), "Презентация", company_id=company.id)
    [agenda] = await h.send(message_update(OLGA, "/today"))
    [ask] = await h.send(press(OLGA, agenda, "🗓 1."))
    assert ask.text.startswith(
        "🗓 Перенести 🤝 Презентация, сейчас 12.03.2025 (ср) 17:00. На когда?\nНапример:"
    )
    assert labels(ask) == ["Завтра 17:00", "✖ Отмена"]

    # what cannot be understood or has passed is asked back; nothing is written
    [what] = await h.send(message_update(OLGA, "абракадабра"))
    assert what.text.startswith("Не удалось понять «абракадабра» как дату и время.")
    [past] = await h.send(message_update(OLGA, "вчера в 10:00"))
    assert "уже прошло. На когда перенести?" in past.text
    assert (await stored(h.db, item.id)).occurred_at == NOW + timedelta(hours=4)

    [moved] = await h.send(message_update(OLGA, "завтра в 11:00"))
    assert moved.text == "🗓 Перенесено на 13.03.2025 (чт) 11:00: 🤝 Презентация"
    assert (await stored(h.db, item.id)).occurred_at == datetime(2025, 3, 13, 8, 0, tzinfo=UTC)
    assert (await stored(h.db, item.id)).status == "planned"
    # the dialog is over: a later text is not taken as a time
    assert only_a_hint(await h.send(message_update(OLGA, "завтра в 12:00")))
    assert (await stored(h.db, item.id)).occurred_at == datetime(2025, 3, 13, 8, 0, tzinfo=UTC)
    assert len(await audits(h.db, item.id)) == 1

    # the quick button: the same time tomorrow (from the time it has now)
    second = await planned(h.db, olga, NOW + timedelta(hours=5), "Звонок", kind="call")
    [agenda] = await h.send(message_update(OLGA, "/today"))
    [ask] = await h.send(press(OLGA, agenda, "🗓 1."))
    [done] = await h.send(press(OLGA, ask, "Завтра 18:00"))
    assert done.method == "editMessageText"
    assert done.text == "🗓 Перенесено на 13.03.2025 (чт) 18:00: 📞 Звонок"
    assert (await stored(h.db, second.id)).occurred_at == NOW + timedelta(days=1, hours=5)

    # cancel writes nothing
    third = await planned(h.db, olga, NOW + timedelta(hours=6), "Визит", kind="visit")
    [agenda] = await h.send(message_update(OLGA, "/today"))
    [ask] = await h.send(press(OLGA, agenda, "🗓 1."))
    [cancelled] = await h.send(press(OLGA, ask, "✖"))
    assert cancelled.text == "Отменено. Ничего не сохранено."
    assert (await stored(h.db, third.id)).occurred_at == NOW + timedelta(hours=6)
    # a stale quick button after the dialog ended is refused
    assert await h.send(press(OLGA, ask, "Завтра")) == []
    assert h.stub.alerts()[-1] == "Этот диалог уже завершён. Начните заново: /today."
    assert (await stored(h.db, third.id)).occurred_at == NOW + timedelta(hours=6)


async def test_buttons_in_english(harness: Harness, clock: object) -> None:
    h = harness
    anna = await staff(h.db, ANNA, "en")
    contact = await factories.raw_contact(h.db, anna, "Ivan Petrov")
    item = await planned(
        h.db, anna, NOW + timedelta(hours=1), "Call back", kind="call", contact_id=contact.id
    )
    [agenda] = await h.send(message_update(ANNA, "/today"))
    assert "1. 14:00 📞 Ivan Petrov — Call back" in agenda.text
    assert labels(agenda) == ["✅ 1. Done", "🗓 1. Move", "📇 1. Open card"]
    [card] = await h.send(press(ANNA, agenda, "📇 1."))
    assert "Ivan Petrov" in card.text
    [ask] = await h.send(press(ANNA, agenda, "🗓 1."))
    assert ask.text.startswith("🗓 Move 📞 Call back, now 12.03.2025 (Wed) 14:00. To when?")
    assert labels(ask)[0] == "Tomorrow 14:00"
    [moved] = await h.send(message_update(ANNA, "in 2 hours"))
    assert moved.text == "🗓 Moved to 12.03.2025 (Wed) 15:00: 📞 Call back"
    assert (await stored(h.db, item.id)).occurred_at == NOW + timedelta(hours=2)
    [agenda] = await h.send(message_update(ANNA, "/today"))
    await h.send(press(ANNA, agenda, "✅ 1."))
    assert h.stub.alerts()[-1] == "Done: Call back"
    assert (await stored(h.db, item.id)).status == "done"


async def test_another_managers_crafted_buttons_are_refused(
    harness: Harness, clock: object
) -> None:
    h = harness
    olga = await staff(h.db, OLGA)
    await staff(h.db, BORIS)
    company = await factories.raw_company(h.db, olga, "Ромашка")
    item = await planned(h.db, olga, NOW + timedelta(hours=4), "Презентация", company_id=company.id)
    for action in ("done", "move", "open"):
        data = PlannedCb(action=action, id=item.id).pack()
        assert await h.send(callback_update(BORIS, data)) == []
        assert h.stub.alerts()[-1] == DENIED
    # no dialog was opened for Boris: a time button without one is refused too
    stale = MoveWhenCb(action="at", at=int((NOW + timedelta(days=1)).timestamp())).pack()
    assert await h.send(callback_update(BORIS, stale)) == []
    assert h.stub.alerts()[-1] == "Этот диалог уже завершён. Начните заново: /today."
    after = await stored(h.db, item.id)
    assert (after.status, after.occurred_at) == ("planned", NOW + timedelta(hours=4))
    assert await audits(h.db, item.id) == []
    assert await last_touch(h.db, company.id) is None
