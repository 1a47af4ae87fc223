"""/log with a time: a time ahead plans the interaction (with one reminder at that time), a
time gone by logs it done then; the service, the one-line command and the dialog."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from crm.access import Actor
from crm.errors import AccessDenied, InvalidInput
from crm.models import AuditEntry, Company, Interaction, Task
from crm.services import companies, interactions, tasks
from crm.services.companies import CompanyInput
from crm.services.interactions import InteractionInput
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.bot_harness import Harness, press
from tests.fixtures.botapi_stub import Sent, TgUser, message_update

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)  # Wednesday 13:00 in Moscow
MSK = "Europe/Moscow"
ANNA = TgUser(8301, "Anna", language_code="en")
OLGA = TgUser(8302, "Olga", language_code="ru")


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


async def staff(db: Database, user: TgUser, language: str) -> Actor:
    return await factories.staff(db, name=user.first_name, language=language, tg_id=user.id)


def labels(sent: Sent) -> list[str]:
    return [b["text"] for row in sent.buttons for b in row]


async def stored(db: Database) -> list[tuple[str, str, datetime, str]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(Interaction).order_by(Interaction.id))
        return [(i.kind, i.status, i.occurred_at, i.summary) for i in rows]


async def reminders(db: Database) -> list[Task]:
    async with db.uow() as uow:
        return list(await uow.session.scalars(select(Task).order_by(Task.id)))


async def audited(db: Database) -> list[tuple[str, str]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [(e.entity, e.action) for e in rows]


async def company_named(db: Database, actor: Actor, name: str) -> Company:
    return await companies.create(db.uow(), actor, CompanyInput(name=name))


async def last_touch(db: Database, company_id: int) -> datetime | None:
    async with db.uow() as uow:
        return await uow.session.scalar(
            select(Company.last_interaction_at).where(Company.id == company_id)
        )


# --- the service -----------------------------------------------------------------------------


async def test_planned_gets_one_reminder_that_follows_it(db: Database) -> None:
    anna = await factories.staff(db, name="Anna")
    boris = await factories.staff(db, name="Boris")
    company = await factories.raw_company(db, anna, "Romashka")
    now = datetime.now(UTC).replace(microsecond=0)

    def data() -> InteractionInput:
        return InteractionInput(
            kind="call", direction="out", summary="the contract", company_id=company.id,
            reminder_title="📞 call, outgoing — Romashka: the contract",
        )  # fmt: skip

    # a time that cannot be read, or someone else's company, writes nothing
    with pytest.raises(InvalidInput):
        await interactions.log_when(db.uow(), anna, data(), "абракадабра")
    with pytest.raises(AccessDenied):
        await interactions.log_when(db.uow(), boris, data(), "in 2 hours")
    assert await stored(db) == [] and await reminders(db) == [] and await audited(db) == []

    item = await interactions.log_at(db.uow(), anna, data(), now + timedelta(days=1))
    assert (item.status, item.occurred_at) == ("planned", now + timedelta(days=1))
    [task] = await reminders(db)
    assert (task.kind, task.interaction_id, task.status, task.due_at) == (
        "interaction",
        item.id,
        "open",
        now + timedelta(days=1),
    )
    assert (task.assignee_id, task.company_id, task.title) == (
        anna.id,
        company.id,
        "📞 call, outgoing — Romashka: the contract",
    )
    assert await audited(db) == [("interactions", "create"), ("tasks", "create")]
    assert await last_touch(db, company.id) is None  # it has not taken place yet
    agenda = await interactions.planned_for(db.uow(), anna, now, now + timedelta(days=2))
    assert [i.id for i in agenda] == [item.id]

    # moved: the reminder moves along; done: the reminder is closed
    await interactions.reschedule(db.uow(), anna, item.id, now + timedelta(days=2))
    [task] = await reminders(db)
    assert (task.due_at, task.reminded_at) == (now + timedelta(days=2), None)
    await interactions.complete(db.uow(), anna, item.id)
    [task] = await reminders(db)
    assert task.status == "done"
    assert (await audited(db))[-2:] == [("interactions", "update"), ("tasks", "update")]


async def test_past_time_is_done_then_and_none_is_done_now(db: Database) -> None:
    anna = await factories.staff(db, name="Anna")
    company = await factories.raw_company(db, anna, "Romashka")
    now = datetime.now(UTC).replace(microsecond=0)
    data = InteractionInput(kind="visit", direction="in", company_id=company.id)
    item = await interactions.log_at(db.uow(), anna, data, now - timedelta(days=2))
    assert (item.status, item.occurred_at) == ("done", now - timedelta(days=2))
    assert await last_touch(db, company.id) == now - timedelta(days=2)
    data = InteractionInput(kind="call", direction="in", company_id=company.id)
    fresh = await interactions.log_when(db.uow(), anna, data, None)
    assert fresh.status == "done" and fresh.occurred_at >= now
    assert await reminders(db) == []


async def test_today_shows_a_planned_one_once_and_a_missed_reminder_as_overdue(
    db: Database,
) -> None:
    anna = await factories.staff(db, name="Anna")
    company = await factories.raw_company(db, anna, "Romashka")
    day = datetime(2030, 3, 12, 10, 0, tzinfo=UTC)  # 13:00 in Moscow, ahead of the real now

    def data(note: str) -> InteractionInput:
        return InteractionInput(kind="call", direction="out", summary=note, company_id=company.id)

    today = await interactions.log_at(db.uow(), anna, data("today"), day + timedelta(hours=2))
    await interactions.log_at(db.uow(), anna, data("yesterday"), day - timedelta(days=1))
    agenda = await tasks.agenda(db.uow(), anna, now=day)
    assert [line.interaction.id for line in agenda.planned] == [today.id]
    assert agenda.due_today == []
    # the day before is not in the planned list: its reminder is what shows it
    assert [line.task.title for line in agenda.overdue] == ["call (out): yesterday"]
    assert (agenda.totals["due_today"], agenda.totals["overdue"]) == (0, 1)


# --- the one-line command --------------------------------------------------------------------


async def test_one_line_future_is_planned_and_in_today(harness: Harness, clock: object) -> None:
    h = harness
    anna = await staff(h.db, ANNA, "en")
    await company_named(h.db, anna, "Romashka")
    [done] = await h.send(message_update(ANNA, "/log Romashka; call; out; the demo; in 2 hours"))
    assert done.text == (
        "🗓 Planned: 📞 call, outgoing — Romashka, 12.03.2025 (Wed) 15:00.\n"
        "I will remind you at that time; it is also in /today on its day.\n"
        "the demo"
    )
    assert labels(done) == ["Open the card"]
    assert await stored(h.db) == [("call", "planned", NOW + timedelta(hours=2), "the demo")]
    [task] = await reminders(h.db)
    assert task.due_at == NOW + timedelta(hours=2)
    assert task.title == "📞 call, outgoing — Romashka: the demo"

    [agenda] = await h.send(message_update(ANNA, "/today"))
    # one line with its buttons: the reminder does not show a second time
    assert agenda.text == (
        "<b>Today, 12.03.2025</b>\n\n"
        "<b>Planned interactions (1)</b>\n"
        "1. 15:00 📞 Romashka — the demo"
    )
    assert labels(agenda) == ["✅ 1. Done", "🗓 1. Move", "📇 1. Open card"]
    [after] = await h.send(press(ANNA, agenda, "✅ 1."))
    assert "Planned interactions" not in after.text
    assert await stored(h.db) == [("call", "done", NOW, "the demo")]
    [task] = await reminders(h.db)
    assert task.status == "done"  # it took place: no reminder any more


async def test_one_line_past_is_done_then_in_english(harness: Harness, clock: object) -> None:
    h = harness
    anna = await staff(h.db, ANNA, "en")
    company = await company_named(h.db, anna, "Romashka")
    [done] = await h.send(
        message_update(ANNA, "/log Romashka; meeting; in; signed; yesterday 15:00")
    )
    assert done.text == (
        "✅ Logged: 🤝 meeting, incoming — Romashka, 11.03.2025 (Tue) 15:00.\nsigned"
    )
    yesterday = datetime(2025, 3, 11, 12, 0, tzinfo=UTC)
    assert await stored(h.db) == [("meeting", "done", yesterday, "signed")]
    assert await last_touch(h.db, company.id) == yesterday
    assert await reminders(h.db) == []
    # words after the last ";" that are no time stay in the summary, done now
    await h.send(message_update(ANNA, "/log Romashka; call; out; agreed; see the notes"))
    assert (await stored(h.db))[-1] == ("call", "done", NOW, "agreed; see the notes")


async def test_one_line_in_russian_future_and_past(harness: Harness, clock: object) -> None:
    h = harness
    olga = await staff(h.db, OLGA, "ru")
    await company_named(h.db, olga, "Ромашка")
    [done] = await h.send(
        message_update(OLGA, "/log ромашка; звонок; исх; договор; завтра в 15:00")
    )
    assert done.text == (
        "🗓 Запланировано: 📞 звонок, исходящее — Ромашка, 13.03.2025 (чт) 15:00.\n"
        "Я напомню в это время; в свой день оно будет и в /today.\n"
        "договор"
    )
    [back] = await h.send(message_update(OLGA, "/log ромашка; визит; вх; ; вчера в 10:00"))
    assert back.text == "✅ Записано: 🚗 визит, входящее — Ромашка, 11.03.2025 (вт) 10:00."
    assert await stored(h.db) == [
        ("call", "planned", datetime(2025, 3, 13, 12, 0, tzinfo=UTC), "договор"),
        ("visit", "done", datetime(2025, 3, 11, 7, 0, tzinfo=UTC), ""),
    ]
    assert len(await reminders(h.db)) == 1


async def test_bad_or_ambiguous_time_writes_nothing(harness: Harness, clock: object) -> None:
    h = harness
    olga = await staff(h.db, OLGA, "ru")
    await company_named(h.db, olga, "Ромашка")
    [bad] = await h.send(message_update(OLGA, "/log Ромашка; звонок; исх; цены; 32.13 11:00"))
    assert bad.text.startswith("Не удалось понять «32.13 11:00» как дату и время.\nНапример:")
    assert labels(bad) == ["Только что", "« Назад", "✖ Отмена"]
    assert await stored(h.db) == [] and await reminders(h.db) == []
    # the time typed again is taken
    [done] = await h.send(message_update(OLGA, "завтра в 11:00"))
    assert done.text.startswith("🗓 Запланировано: 📞 звонок, исходящее — Ромашка, 13.03.2025")
    assert await stored(h.db) == [
        ("call", "planned", datetime(2025, 3, 13, 8, 0, tzinfo=UTC), "цены")
    ]

    # "в 5" said at 13:00: 05:00 is gone, 17:00 is offered as a button
    [which] = await h.send(message_update(OLGA, "/log Ромашка; встреча; исх; демо; в 5"))
    assert which.text == "«в 5» можно понять по-разному. Какое время имеется в виду?"
    assert labels(which)[0] == "12.03.2025 (ср) 17:00"
    assert len(await stored(h.db)) == 1
    [picked] = await h.send(press(OLGA, which, "17:00"))
    assert picked.text.startswith("🗓 Запланировано: 🤝 встреча, исходящее — Ромашка, 12.03.2025")
    assert (await stored(h.db))[-1] == (
        "meeting",
        "planned",
        datetime(2025, 3, 12, 14, 0, tzinfo=UTC),
        "демо",
    )

    # in English: ambiguous, then "Just now" logs it done now
    anna = await staff(h.db, ANNA, "en")
    await company_named(h.db, anna, "Vasilek")
    [which] = await h.send(message_update(ANNA, "/log Vasilek; call; out; prices; 05/06"))
    assert which.text == "“05/06” can mean more than one time. Which one?"
    assert labels(which)[:2] == ["06.05.2025 (Tue) 09:00", "05.06.2025 (Thu) 09:00"]
    assert len(await stored(h.db)) == 2
    [done] = await h.send(press(ANNA, which, "Just now"))
    assert done.text.startswith("✅ Logged: 📞 call, outgoing — Vasilek.")
    assert (await stored(h.db))[-1] == ("call", "done", NOW, "prices")


# --- the dialog ------------------------------------------------------------------------------


async def test_dialog_plan_for_later(harness: Harness, clock: object) -> None:
    h = harness
    anna = await staff(h.db, ANNA, "en")
    await company_named(h.db, anna, "Romashka")
    await h.send(message_update(ANNA, "/log"))
    [choice] = await h.send(message_update(ANNA, "romashka"))
    [kind] = await h.send(press(ANNA, choice, "Romashka"))
    [direction] = await h.send(press(ANNA, kind, "call"))
    [summary] = await h.send(press(ANNA, direction, "Outgoing"))
    assert summary.text.startswith("Briefly, what was it about?")
    [when] = await h.send(message_update(ANNA, "Discuss the contract"))
    assert when.text == "When? Log it as just now, or plan it for later."
    assert labels(when) == ["Just now", "Plan for later…", "« Back", "✖ Cancel"]
    [ask] = await h.send(press(ANNA, when, "Plan for later"))
    assert ask.text.startswith("When is it planned? Send the date and time.\nFor example:")
    [when] = await h.send(press(ANNA, ask, "Back"))  # back to the When step
    assert when.text.startswith("When?")
    [ask] = await h.send(press(ANNA, when, "Plan for later"))
    [bad] = await h.send(message_update(ANNA, "someday maybe"))
    assert bad.text.startswith("I could not understand “someday maybe” as a date and time.")
    assert await stored(h.db) == []
    [done] = await h.send(message_update(ANNA, "friday 10:30"))
    assert done.text.startswith(
        "🗓 Planned: 📞 call, outgoing — Romashka, 14.03.2025 (Fri) 10:30.\n"
    )
    friday = datetime(2025, 3, 14, 7, 30, tzinfo=UTC)
    assert await stored(h.db) == [("call", "planned", friday, "Discuss the contract")]
    [task] = await reminders(h.db)
    assert (task.due_at, task.status) == (friday, "open")
