"""/remind, the Remind button of cards, the reminder's buttons, /today and /tasks through the
real dispatcher; and the reminder runtime started by the bot's own startup hook."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import func, select, update

from crm.access import Actor
from crm.models import Deal, Interaction, Manager, Task, utcnow
from crm.models.enums import Role, TaskStatus
from crm.services import events, tasks
from crm.services.events import EventInput
from crm.services.tasks import TaskInput
from crm.storage import Database
from handlers.cards.callbacks import RemindCb
from handlers.tasks.callbacks import RemindWhenCb, TaskCb
from notifications.reminders import TaskAction
from notifications.telegram_sender import TelegramSender
from tests.fixtures import bilingual, factories
from tests.fixtures.bot_harness import Harness, only_a_hint, person
from tests.fixtures.botapi_stub import TgUser, callback_update, message_update, press

NOW = datetime(2025, 3, 12, 10, 0, tzinfo=UTC)  # Wednesday 13:00 in Moscow
OLGA = TgUser(7101, "Olga", language_code="ru")
ANNA = TgUser(7102, "Anna", language_code="en")
BORIS = TgUser(7103, "Boris", language_code="ru")


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


async def staff(db: Database, user: TgUser, language: str = "ru") -> Actor:
    return await factories.staff(db, name=user.first_name, language=language, tg_id=user.id)


async def all_tasks(db: Database) -> list[Task]:
    async with db.uow() as uow:
        return list(await uow.session.scalars(select(Task).order_by(Task.id)))


async def count_tasks(db: Database) -> int:
    async with db.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Task)) or 0)


async def stored(db: Database, task_id: int) -> Task:
    async with db.uow() as uow:
        task = await uow.session.get(Task, task_id)
        assert task is not None
        return task


def labels(sent: object) -> list[str]:
    return [b["text"] for row in sent.buttons for b in row]  # type: ignore[attr-defined]


# --- /remind on one line ---------------------------------------------------------------------


async def test_remind_on_one_line_in_russian_and_english(harness: Harness, clock: object) -> None:
    h = harness
    olga = await staff(h.db, OLGA)
    await staff(h.db, ANNA, "en")
    [ok] = await h.send(message_update(OLGA, "/remind завтра в 15:00; Позвонить в «Ромашку» 📞"))
    assert ok.text == (
        "⏰ Напоминание поставлено: <b>Позвонить в «Ромашку» 📞</b>\n"
        "Когда: 13.03.2025 (чт) 15:00 (Europe/Moscow)"
    )
    assert labels(ok) == ["✖ Отменить это напоминание"]
    [en] = await h.send(message_update(ANNA, "/remind in 30 minutes; Call Romashka"))
    assert en.text == (
        "⏰ Reminder set: <b>Call Romashka</b>\nWhen: 12.03.2025 (Wed) 13:30 (Europe/Moscow)"
    )
    first, second = await all_tasks(h.db)
    assert (first.title, first.due_at, first.assignee_id) == (
        "Позвонить в «Ромашку» 📞",
        datetime(2025, 3, 13, 12, 0, tzinfo=UTC),
        olga.id,
    )
    assert second.due_at == NOW + timedelta(minutes=30)

    # the confirmation's button cancels the reminder
    [cancelled] = await h.send(press(OLGA, ok, "Отменить"))
    assert cancelled.method == "editMessageText"
    assert cancelled.text == "Напоминание отменено: <b>Позвонить в «Ромашку» 📞</b>"
    assert (await stored(h.db, first.id)).status == TaskStatus.CANCELLED.value


async def test_time_only_asks_for_the_text(harness: Harness, clock: object) -> None:
    h = harness
    await staff(h.db, OLGA)
    [ask] = await h.send(message_update(OLGA, "/remind через 2 часа;"))
    assert ask.text == "Напомню 12.03.2025 (ср) 15:00. О чём напомнить?"
    [ok] = await h.send(message_update(OLGA, "Отправить КП"))
    assert ok.text.startswith("⏰ Напоминание поставлено: <b>Отправить КП</b>")
    [task] = await all_tasks(h.db)
    assert task.due_at == NOW + timedelta(hours=2)


async def test_unparsed_past_and_ambiguous_times_are_asked_back(
    harness: Harness, clock: object
) -> None:
    h = harness
    await staff(h.db, OLGA)
    await staff(h.db, ANNA, "en")

    [what] = await h.send(message_update(OLGA, "/remind абракадабра; Позвонить"))
    assert what.text == (
        "Не удалось понять «абракадабра» как дату и время.\n"
        "Например: завтра в 15:00, через 2 часа, в пятницу, 25.12 10:00, в понедельник в 9 утра."
    )
    assert "Завтра 9:00" in labels(what) and "✖ Отмена" in labels(what)
    assert await count_tasks(h.db) == 0
    # the title waits; a typed time is enough now
    [ok] = await h.send(message_update(OLGA, "в пятницу в 11:00"))
    assert ok.text.startswith("⏰ Напоминание поставлено: <b>Позвонить</b>")
    assert "14.03.2025 (пт) 11:00" in ok.text

    [past] = await h.send(message_update(ANNA, "/remind yesterday; Call"))
    assert past.text.startswith("11.03.2025 (Tue) 09:00 has already passed. When should I")
    assert "For example: tomorrow 15:00" in past.text
    [past_time] = await h.send(message_update(ANNA, "/remind 9:30; Call"))
    assert past_time.text.startswith("12.03.2025 (Wed) 09:30 has already passed.")

    # "at 5": 05:00 has passed today, so the one option is 17:00, offered as a button
    [which] = await h.send(message_update(OLGA, "/remind в 5; Отправить счёт"))
    assert which.text == "«в 5» можно понять по-разному. Какое время имеется в виду?"
    assert labels(which)[0] == "12.03.2025 (ср) 17:00"
    [chosen] = await h.send(press(OLGA, which, "17:00"))
    assert chosen.method == "editMessageText"
    assert chosen.text.startswith("⏰ Напоминание поставлено: <b>Отправить счёт</b>")
    titles = {t.title: t.due_at for t in await all_tasks(h.db)}
    assert titles == {
        "Позвонить": datetime(2025, 3, 14, 8, 0, tzinfo=UTC),
        "Отправить счёт": datetime(2025, 3, 12, 14, 0, tzinfo=UTC),
    }
    # "03/04": 3 April, or the 4 March that has just passed? Asked, not guessed
    [slashed] = await h.send(message_update(ANNA, "/remind 03/04; Invoice"))
    assert slashed.text == "“03/04” can mean more than one time. Which one?"
    assert labels(slashed) == ["03.04.2025 (Thu) 09:00", "Other time…", "✖ Cancel"]
    assert await count_tasks(h.db) == 2


async def test_an_impossible_clock_time_is_asked_back_not_set_to_nine(
    harness: Harness, clock: object
) -> None:
    h = harness
    await staff(h.db, OLGA)
    await staff(h.db, ANNA, "en")
    for typed, shown in [("tomorrow at 25:00", "25:00"), ("tomorrow at 10:75", "10:75")]:
        [asked] = await h.send(message_update(ANNA, f"/remind {typed}; x"))
        assert asked.text.startswith(
            f"There is no {shown} on a clock: hours go from 0 to 23 and minutes from 0 to 59."
        )
        assert "✖ Cancel" in labels(asked)
    [ru] = await h.send(message_update(OLGA, "/remind завтра в 25:00; x"))
    assert ru.text.startswith("На часах не бывает 25:00: часы идут от 0 до 23, минуты от 0 до 59.")
    assert await count_tasks(h.db) == 0
    # the title waits for a time that exists
    [ok] = await h.send(message_update(OLGA, "завтра в 10:30"))
    assert ok.text.startswith("⏰ Напоминание поставлено: <b>x</b>")
    [task] = await all_tasks(h.db)
    assert task.due_at == datetime(2025, 3, 13, 7, 30, tzinfo=UTC)


async def test_bad_texts_get_clear_answers_and_write_nothing(
    harness: Harness, clock: object
) -> None:
    h = harness
    await staff(h.db, OLGA)
    await staff(h.db, ANNA, "en")
    [huge] = await h.send(message_update(ANNA, "/remind tomorrow; " + "x" * 10_000))
    assert huge.text == "Text: this is too long (at most 4000 characters)."
    [long_title] = await h.send(message_update(ANNA, "/remind tomorrow; " + "y" * 600))
    assert long_title.text == "Title: this is too long (at most 500 characters)."
    [no_time] = await h.send(message_update(OLGA, "/remind ; Позвонить"))
    assert no_time.text.startswith("Когда напомнить?")
    [ok] = await h.send(press(OLGA, no_time, "Через час"))
    assert ok.text.startswith("⏰ Напоминание поставлено: <b>Позвонить</b>")
    [task] = await all_tasks(h.db)
    assert task.due_at == NOW + timedelta(hours=1)
    # in the dialog a too long text is explained and the dialog waits for a shorter one
    [ask] = await h.send(message_update(ANNA, "/remind tomorrow"))
    assert ask.text == "I will remind you on 13.03.2025 (Thu) 09:00. What about?"
    [bad] = await h.send(message_update(ANNA, "z" * 501))
    assert bad.text == "Title: this is too long (at most 500 characters)."
    [good] = await h.send(message_update(ANNA, "Ёжик 🦔 and Ёлка — mixed"))
    assert good.text.startswith("⏰ Reminder set: <b>Ёжик 🦔 and Ёлка — mixed</b>")
    assert await count_tasks(h.db) == 2


async def test_remind_dialog_with_buttons_and_cancel(harness: Harness, clock: object) -> None:
    h = harness
    await staff(h.db, ANNA, "en")
    [menu] = await h.send(message_update(ANNA, "/remind"))
    assert menu.text.startswith("When should I remind you?\nFor example:")
    assert labels(menu) == ["In 1 hour", "Tomorrow 9:00", "Monday 9:00", "Other time…", "✖ Cancel"]
    [gone] = await h.send(press(ANNA, menu, "Cancel"))
    assert gone.text == "Cancelled. Nothing was saved."
    assert only_a_hint(await h.send(message_update(ANNA, "tomorrow")))  # the dialog is over

    [menu] = await h.send(message_update(ANNA, "/remind"))
    [what] = await h.send(press(ANNA, menu, "Monday"))
    assert what.text == "I will remind you on 17.03.2025 (Mon) 09:00. What about?"
    [ok] = await h.send(message_update(ANNA, "Weekly plan"))
    assert "17.03.2025 (Mon) 09:00" in ok.text
    [menu] = await h.send(message_update(ANNA, "/remind"))
    [typed] = await h.send(press(ANNA, menu, "Other time"))
    assert typed.text.startswith("When should I remind you?")
    [what] = await h.send(message_update(ANNA, "25.12 10:00"))
    assert what.text == "I will remind you on 25.12.2025 (Thu) 10:00. What about?"
    [ok] = await h.send(message_update(ANNA, "Season greetings"))
    [menu] = await h.send(message_update(ANNA, "/remind"))
    [what] = await h.send(press(ANNA, menu, "Tomorrow"))
    [cancel] = await h.send(press(ANNA, what, "Cancel"))
    assert cancel.text == "Cancelled. Nothing was saved."
    assert {t.title: t.due_at for t in await all_tasks(h.db)} == {
        "Weekly plan": datetime(2025, 3, 17, 6, 0, tzinfo=UTC),
        "Season greetings": datetime(2025, 12, 25, 7, 0, tzinfo=UTC),
    }
    # a stale quick button after the dialog ended changes nothing
    await h.send(press(ANNA, menu, "In 1 hour"))
    assert h.stub.alerts()[-1] == "This dialog is over. Start again with /remind."
    assert await count_tasks(h.db) == 2


# --- the Remind button of cards -------------------------------------------------------------


async def test_remind_button_on_company_card(harness: Harness, clock: object) -> None:
    h = harness
    olga = await staff(h.db, OLGA)
    await staff(h.db, BORIS)
    company = await factories.raw_company(h.db, olga, "Ромашка")
    contact = await factories.raw_contact(h.db, olga, "Иван Петров", company.id)
    from handlers.cards.callbacks import COMPANY, CardCb

    [card] = await h.send(callback_update(OLGA, CardCb(kind=COMPANY, id=company.id).pack()))
    assert "⏰ Напомнить" in labels(card)
    [when] = await h.send(press(OLGA, card, "Напомнить"))
    assert when.text.startswith("Напоминание: <b>Ромашка</b>.\nКогда напомнить?")
    [what] = await h.send(press(OLGA, when, "Завтра 9:00"))
    assert what.text == "Напомню 13.03.2025 (чт) 09:00. О чём напомнить?"
    assert labels(what) == ["Перезвонить: Ромашка", "✖ Отмена"]
    [ok] = await h.send(press(OLGA, what, "Перезвонить"))
    assert ok.text.startswith("⏰ Напоминание поставлено: <b>Перезвонить: Ромашка</b>")
    # a contact's card: a typed time and a typed text
    data = RemindCb(kind="ct", id=contact.id).pack()
    [when] = await h.send(callback_update(OLGA, data))
    assert "Иван Петров" in when.text
    await h.send(message_update(OLGA, "через 3 часа"))
    await h.send(message_update(OLGA, "Уточнить объём"))
    first, second = await all_tasks(h.db)
    assert (first.company_id, first.due_at) == (company.id, datetime(2025, 3, 13, 6, 0, tzinfo=UTC))
    assert (second.contact_id, second.company_id, second.title) == (
        contact.id,
        company.id,
        "Уточнить объём",
    )

    # Boris replays Olga's Remind button: refused, and nothing is asked or written
    assert await h.send(callback_update(BORIS, RemindCb(kind="co", id=company.id).pack())) == []
    assert h.stub.alerts()[-1] == "Не найдено, или у вас нет к этому доступа."
    assert only_a_hint(await h.send(message_update(BORIS, "завтра")))
    assert await count_tasks(h.db) == 2


# --- the reminder's buttons -----------------------------------------------------------------


async def _due_task(db: Database, actor: Actor, title: str, **links: int) -> Task:
    task = await tasks.create(
        db.uow(), actor, TaskInput(title, NOW + timedelta(minutes=5), **links), now=NOW
    )
    return task


async def test_reminder_buttons_change_the_task_and_the_message(
    harness: Harness, clock: time_machine.Coordinates
) -> None:
    h = harness
    olga = await staff(h.db, OLGA)
    anna = await staff(h.db, ANNA, "en")
    company = await factories.raw_company(h.db, olga, "Ромашка")
    call = await _due_task(h.db, olga, "Позвонить", company_id=company.id)
    offer = await _due_task(h.db, anna, "Send the offer")

    def pressing(user: TgUser, action: str, task_id: int) -> dict:  # type: ignore[type-arg]
        data = TaskAction(action=action, task_id=task_id).pack()
        return callback_update(user, data, 55, user.id, "⏰ Напоминание")

    [snoozed] = await h.send(pressing(OLGA, "s15", call.id))
    assert snoozed.method == "editMessageText" and snoozed.message_id == 55
    assert snoozed.text == (
        "⏰ Напоминание: <b>Позвонить</b>\nКлиент: Ромашка\n\n"
        "💤 Напомню ещё раз 12.03.2025 (ср) 13:15."
    )
    assert labels(snoozed) == ["✅ Готово", "Открыть карточку"]
    assert h.stub.alerts()[-1] == "Отложено до 12.03.2025 13:15."
    assert (await stored(h.db, call.id)).due_at == NOW + timedelta(minutes=15)

    [hour] = await h.send(pressing(ANNA, "s60", offer.id))
    assert hour.text.endswith("💤 I will remind you again on 12.03.2025 (Wed) 14:00.")
    assert labels(hour) == ["✅ Done"]
    [tomorrow] = await h.send(pressing(ANNA, "tmrw", offer.id))
    assert tomorrow.text.endswith("13.03.2025 (Thu) 09:00.")
    assert (await stored(h.db, offer.id)).due_at == datetime(2025, 3, 13, 6, 0, tzinfo=UTC)

    [card] = await h.send(pressing(OLGA, "open", call.id))
    assert card.method == "sendMessage" and "Ромашка" in card.text

    [done] = await h.send(pressing(ANNA, "done", offer.id))
    assert done.text == "⏰ Reminder: <b>Send the offer</b>\n\n✅ Done."
    assert done.buttons == []
    assert h.stub.alerts()[-1] == "Done."
    assert (await stored(h.db, offer.id)).status == TaskStatus.DONE.value
    # snoozing a finished task is refused politely
    await h.send(pressing(ANNA, "s15", offer.id))
    assert h.stub.alerts()[-1] == "This task is already closed."
    # a task without a card says so
    await h.send(pressing(ANNA, "open", offer.id))
    assert h.stub.alerts()[-1] == "This reminder is not linked to a card."


async def test_another_managers_replayed_task_button_is_refused(
    harness: Harness, clock: object
) -> None:
    h = harness
    olga = await staff(h.db, OLGA)
    await staff(h.db, BORIS)
    company = await factories.raw_company(h.db, olga, "Ромашка")
    task = await _due_task(h.db, olga, "Позвонить", company_id=company.id)
    before = await stored(h.db, task.id)
    for action in ("done", "s15", "s60", "tmrw", "open"):
        data = TaskAction(action=action, task_id=task.id).pack()
        assert await h.send(callback_update(BORIS, data)) == []
        assert h.stub.alerts()[-1] == "Не найдено, или у вас нет к этому доступа."
    for data in (
        TaskCb(action="done", task_id=task.id).pack(),
        TaskCb(action="undo", task_id=task.id).pack(),
    ):
        assert await h.send(callback_update(BORIS, data)) == []
        assert h.stub.alerts()[-1] == "Не найдено, или у вас нет к этому доступа."
    after = await stored(h.db, task.id)
    assert (after.status, after.due_at, after.snooze_count) == (
        before.status,
        before.due_at,
        before.snooze_count,
    )
    # a made-up option time is checked like a typed one: a past moment is asked back
    await h.send(message_update(BORIS, "/remind ; Звонок"))
    stale = RemindWhenCb(action="at", at=int((NOW - timedelta(hours=1)).timestamp())).pack()
    [asked] = await h.send(callback_update(BORIS, stale))
    assert "уже прошло" in asked.text
    assert await count_tasks(h.db) == 1


# --- /today and /tasks ----------------------------------------------------------------------


async def test_today_shows_everything_with_buttons(
    harness: Harness, clock: time_machine.Coordinates
) -> None:
    h = harness
    olga = await staff(h.db, OLGA)
    anna = await staff(h.db, ANNA, "en")
    company = await factories.raw_company(h.db, olga, "Ромашка")
    [empty] = await h.send(message_update(ANNA, "/today"))
    assert empty.text == (
        "<b>Today, 12.03.2025</b>\n\nNothing for today. Set a reminder with /remind."
    )
    # two overdue (made earlier), one due later today, one tomorrow (not shown)
    clock.move_to(NOW - timedelta(days=1))
    late = await tasks.create(
        h.db.uow(), olga, TaskInput("Счёт", NOW - timedelta(hours=20), company_id=company.id)
    )
    await tasks.create(h.db.uow(), olga, TaskInput("Договор", NOW - timedelta(hours=2)))
    clock.move_to(NOW)
    today = await tasks.create(h.db.uow(), olga, TaskInput("Звонок", NOW + timedelta(hours=3)))
    await tasks.create(h.db.uow(), olga, TaskInput("Завтра", NOW + timedelta(days=1)))
    await tasks.create(h.db.uow(), anna, TaskInput("Anna's", NOW + timedelta(hours=1)))
    async with h.db.uow() as uow:
        uow.session.add(
            Interaction(
                kind="meeting",
                direction="out",
                status="planned",
                occurred_at=NOW + timedelta(hours=4),
                summary="Презентация",
                company_id=company.id,
                manager_id=olga.id,
            )
        )
        uow.session.add(
            Deal(
                company_id=company.id,
                curator_id=olga.id,
                title="Насосы",
                amount=Decimal("1500"),
                expected_close=date(2025, 3, 1),
            )
        )
        await uow.commit()
    [agenda] = await h.send(message_update(OLGA, "/today"))
    assert agenda.text == (
        "<b>Сегодня, 12.03.2025</b>\n\n"
        "<b>Просрочено (2)</b>\n"
        "1. 11.03.2025 17:00 Счёт · Ромашка\n"
        "2. 12.03.2025 11:00 Договор\n\n"
        "<b>На сегодня (1)</b>\n"
        "3. 16:00 Звонок\n\n"
        "<b>Запланированные взаимодействия (1)</b>\n"
        "4. 17:00 🤝 Ромашка — Презентация\n\n"
        "<b>Сделки с прошедшей датой закрытия (1)</b>\n"
        " • Насосы (Ромашка) — 1 500,00, ожидалось 01.03.2025"
    )
    assert labels(agenda) == [
        "✅ 1. Счёт",
        "✅ 2. Договор",
        "✅ 3. Звонок",
        "✅ 4. Выполнено",
        "🗓 4. Перенести",
        "📇 4. Карточка",
        "💼 Насосы",
    ]
    [after] = await h.send(press(OLGA, agenda, "✅ 1."))
    assert after.method == "editMessageText"
    assert "<b>Просрочено (1)</b>\n1. 12.03.2025 11:00 Договор" in after.text
    assert h.stub.alerts()[-1] == "Выполнено: Счёт"
    assert (await stored(h.db, late.id)).status == TaskStatus.DONE.value
    [deal_card] = await h.send(press(OLGA, after, "Насосы"))
    assert "Насосы" in deal_card.text and "⏰ Напомнить" in labels(deal_card)
    assert (await stored(h.db, today.id)).status == TaskStatus.OPEN.value


async def test_today_caps_long_sections_and_the_task_list_pages(
    harness: Harness, clock: object
) -> None:
    h = harness
    olga = await staff(h.db, OLGA)
    for n in range(11):
        await tasks.create(
            h.db.uow(), olga, TaskInput(f"Задача {n:02d}", NOW + timedelta(minutes=n + 1))
        )
    [agenda] = await h.send(message_update(OLGA, "/today"))
    assert "<b>На сегодня (11)</b>" in agenda.text and "… и ещё 3" in agenda.text
    assert labels(agenda)[-1] == "Все открытые задачи"
    [page] = await h.send(press(OLGA, agenda, "Все открытые задачи"))
    assert page.text.startswith("<b>Открытые задачи</b> (11)\n1. 12.03.2025 13:01 Задача 00")
    assert labels(page)[-2:] == ["1/2", "»"]
    [second] = await h.send(press(OLGA, page, "»"))
    assert second.text.splitlines()[1:] == [
        "9. 12.03.2025 13:09 Задача 08",
        "10. 12.03.2025 13:10 Задача 09",
        "11. 12.03.2025 13:11 Задача 10",
    ]
    [fewer] = await h.send(press(OLGA, second, "✅ 11."))
    assert fewer.text.startswith("<b>Открытые задачи</b> (10)")
    assert "Задача 10" not in fewer.text
    [listed] = await h.send(message_update(OLGA, "/tasks"))
    assert listed.text.startswith("<b>Открытые задачи</b> (10)")
    await staff(h.db, ANNA, "en")
    [none] = await h.send(message_update(ANNA, "/tasks"))
    assert none.text == "No open tasks. Set a reminder with /remind."


# --- /start brings back a user who had blocked the bot --------------------------------------


async def test_start_clears_bot_blocked(harness: Harness) -> None:
    h = harness
    await person(h.db, OLGA, Role.MANAGER)
    async with h.db.uow() as uow:
        await uow.session.execute(
            update(Manager).where(Manager.tg_id == OLGA.id).values(bot_blocked=True)
        )
        await uow.commit()
    sender = TelegramSender(h.bot)
    sender.governor._blocked.add(OLGA.id)  # as the governor left it after a 403
    h.dp["reminders"] = SimpleNamespace(sender=sender)
    [hello] = await h.send(message_update(OLGA, "/start"))
    assert hello.text.startswith("С возвращением, Olga! Ваша роль: менеджер.")
    async with h.db.uow() as uow:
        blocked = await uow.session.scalar(
            select(Manager.bot_blocked).where(Manager.tg_id == OLGA.id)
        )
    assert blocked is False
    assert not sender.is_blocked(OLGA.id)


# --- end to end: the bot's startup hook runs the scheduler ----------------------------------


async def test_running_bot_delivers_a_reminder_once_with_its_buttons(db: Database) -> None:
    import aiohttp

    import bot.app
    from tests.fixtures.running_bot import BOSS, running_bot

    boss = await factories.staff(db, Role.DIRECTOR, name="Olga", language="ru", tg_id=BOSS.id)
    # due two seconds after the bot starts: the startup sweep schedules its job
    task = await tasks.create(
        db.uow(), boss, TaskInput("Позвонить в «Ромашку»", datetime.now(UTC) + timedelta(seconds=2))
    )
    dispatchers = []
    create = bot.app.create_dispatcher

    def capture(*args: object, **kwargs: object) -> object:
        dp = create(*args, **kwargs)  # type: ignore[arg-type]
        dispatchers.append(dp)
        return dp

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bot.app, "create_dispatcher", capture)
        async with running_bot(db) as (stub, settings):
            runtime = dispatchers[0]["reminders"]
            assert runtime.elector.is_leader and runtime.scheduler.running
            [reminder] = await stub.wait_sent(BOSS.id, seconds=15)
            assert reminder.method == "sendMessage"
            assert reminder.text.startswith("⏰ Напоминание: <b>Позвонить в «Ромашку»</b>")
            assert labels(reminder) == [
                "✅ Готово",
                "Отложить на 15 мин",
                "Отложить на 1 ч",
                "Завтра",
            ]
            [done] = await stub.ask(press(BOSS, reminder, "Готово"), BOSS.id)
            assert done.method == "editMessageText" and done.text.endswith("✅ Выполнено.")
            async with aiohttp.ClientSession() as http:
                url = f"http://127.0.0.1:{settings.http_port}/healthz"
                async with http.get(url) as response:
                    body = await response.json()
            scheduler = body["checks"]["scheduler"]
            assert scheduler["ok"] and scheduler["leader"]
            assert scheduler["last_run_at"] is not None
            assert (scheduler["pending"], scheduler["overdue_undelivered"]) == (0, 0)
            await asyncio.sleep(1)
        # a restart sends nothing again
        async with running_bot(db) as (stub2, _settings):
            await asyncio.sleep(1)
            assert stub2.sent_to(BOSS.id) == []
    assert [s.method for s in stub.sent_to(BOSS.id)] == ["sendMessage", "editMessageText"]
    done_task = await stored(db, task.id)
    assert done_task.status == TaskStatus.DONE.value and done_task.reminded_at is not None
    assert dispatchers[0].get("reminders") is None  # the shutdown hook stopped it


# ---------------------------------------------------------------- event tasks in /today


async def test_event_tasks_name_their_event(
    harness: Harness, clock: time_machine.Coordinates
) -> None:
    """On a weekday at 13:00 in Moscow: the step already due falls at the next working hour,
    today (after 18:00 it would be tomorrow's)."""
    w = await bilingual.team(harness.db)
    await events.create(
        harness.db.uow(),
        w.anna,
        EventInput(title="Весенний семинар", starts_at=utcnow() + timedelta(hours=20)),
    )
    [today] = await harness.send(message_update(bilingual.ANNA, "/today"))
    assert "Забронировать площадку · 📅 Весенний семинар" in today.text
    [listed] = await harness.send(message_update(bilingual.ANNA, "/tasks"))
    assert "📅 Весенний семинар" in listed.text
