"""/event, the event card and its buttons, through the real dispatcher."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from crm.access import Actor
from crm.models import AuditEntry, Event, EventInvitee, OutboundEmail, Task, utcnow
from crm.models.enums import Role
from crm.services import events
from crm.services.events import EventInput, Segment
from crm.storage import Database
from handlers.events.callbacks import EventCb
from tests import factories
from tests.bot_harness import Harness, only_a_hint, press
from tests.botapi_stub import Sent, TgUser, callback_update, message_update
from tests.test_events import company, contact

ANNA = TgUser(7201, "Anna", language_code="ru")  # manager, Russian
BORIS = TgUser(7202, "Boris", language_code="en")  # manager of another department, English
DINA = TgUser(7204, "Dina", language_code="ru")  # director


class World:
    anna: Actor
    boris: Actor
    dina: Actor


async def world(db: Database) -> World:
    w = World()
    sales = await factories.department(db)
    other = await factories.department(db, "Other")
    w.anna = await factories.staff(
        db, department_id=sales.id, name="Anna", language="ru", tg_id=ANNA.id
    )
    w.boris = await factories.staff(
        db, department_id=other.id, name="Boris", language="en", tg_id=BORIS.id
    )
    w.dina = await factories.staff(db, Role.DIRECTOR, name="Dina", language="ru", tg_id=DINA.id)
    return w


async def clients_of(db: Database, actor: Actor) -> None:
    steel = await company(db, actor, "Steel", stage="regular", industry="Metal", territory="Ural")
    await contact(db, actor, "Ivan", "ivan@steel.example", steel.id)
    await contact(db, actor, "Olga", "olga@steel.example", steel.id)
    await contact(db, actor, "Petr", None, steel.id)


async def count(db: Database, model: type) -> int:
    async with db.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


async def written(db: Database) -> tuple[int, ...]:
    return tuple([await count(db, m) for m in (Event, Task, EventInvitee, AuditEntry)])


async def only_event(db: Database) -> Event:
    async with db.uow() as uow:
        return (await uow.session.scalars(select(Event))).one()


def button_texts(sent: Sent) -> list[str]:
    return [b["text"] for row in sent.buttons for b in row]


def replay(user: TgUser, data: str) -> dict:  # type: ignore[type-arg]
    return callback_update(user, data, 1, user.id, "...")


def future_day(days: int = 10) -> str:
    return (utcnow() + timedelta(days=days)).strftime("%d.%m.%Y")


# ---------------------------------------------------------------- one line


async def test_one_line_creates_the_event_in_russian(harness: Harness) -> None:
    h = harness
    await world(h.db)
    day = future_day()
    [card] = await h.send(message_update(ANNA, f"/event Весенний семинар; {day} 15:00; Зал А"))
    event = await only_event(h.db)
    assert card.text.startswith("Мероприятие создано.\n\n📅 <b>Весенний семинар</b>")
    assert f"Когда: {day} 15:00 – 17:00 (Europe/Moscow)" in card.text
    assert "Место: Зал А" in card.text
    assert "Ответственный: Anna" in card.text
    assert "Никто ещё не приглашён." in card.text
    assert "Подготовка: выполнено 0 из 4 задач" in card.text
    assert button_texts(card) == [
        "➕ Добавить приглашённых",
        "✉ Разослать приглашения",
        "👥 Приглашённые (0)",
        "📋 Задачи подготовки",
        "« Мероприятия",
    ]
    assert (event.title, event.place) == ("Весенний семинар", "Зал А")
    assert await count(h.db, Task) == 4
    [tasks_list] = await h.send(press(ANNA, card, "📋 Задачи подготовки"))
    assert "<b>Задачи подготовки</b>" in tasks_list.text
    assert "☐ Забронировать площадку" in tasks_list.text
    [done] = await h.send(press(ANNA, tasks_list, "✔ Забронировать площадку"))
    assert "☑ Забронировать площадку" in done.text
    assert h.stub.alerts()[-1] == "Выполнено."


async def test_one_line_bad_input_is_answered_politely_and_writes_nothing(
    harness: Harness,
) -> None:
    h = harness
    await world(h.db)
    before = await written(h.db)
    [usage] = await h.send(message_update(ANNA, "/event ; завтра 10:00"))
    assert usage.text.startswith("Напишите <code>/event название; когда; место</code>")
    [unparsed] = await h.send(message_update(ANNA, "/event Семинар; когда-нибудь потом"))
    assert unparsed.text == (
        "Когда: не удалось понять: напишите, например, «завтра в 15:00», «через 2 часа», "
        "«25.12 10:00»."
    )
    [past] = await h.send(message_update(ANNA, "/event Семинар; 01.01.2020 10:00"))
    assert past.text == "Когда: это уже в прошлом."
    [huge] = await h.send(message_update(ANNA, "/event " + "я" * 300 + "; завтра 10:00"))
    assert huge.text.startswith("Название: слишком длинно")
    [en] = await h.send(message_update(BORIS, "/event Seminar; sometime later"))
    assert en.text == (
        "When: this could not be understood: write e.g. “tomorrow at 15:00”, “in 2 hours”, "
        "“25.12 10:00”."
    )
    [absurd] = await h.send(message_update(BORIS, "/event x; " + "y" * 5000))
    assert absurd.text.startswith("Text: this is too long")
    assert await written(h.db) == before


# ---------------------------------------------------------------- the dialog


async def test_dialog_in_english_with_back_and_cancel(harness: Harness) -> None:
    h = harness
    w = await world(h.db)
    [listing] = await h.send(message_update(BORIS, "/event"))
    assert listing.text.startswith("<b>Upcoming events</b>")
    assert "No upcoming events." in listing.text
    [ask] = await h.send(press(BORIS, listing, "➕ New event"))
    assert ask.text == "New event. What is its title?"
    [cancelled] = await h.send(press(BORIS, ask, "Cancel"))
    assert cancelled.text == "Cancelled. Nothing was saved."
    assert only_a_hint(await h.send(message_update(BORIS, "Open day")))

    [ask] = await h.send(press(BORIS, listing, "➕ New event"))
    [too_long] = await h.send(message_update(BORIS, "x" * 300))
    assert too_long.text == "Title: this is too long (at most 200 characters)."
    [when_q] = await h.send(message_update(BORIS, "Open day"))
    assert when_q.text.startswith("Event: <b>Open day</b>\nWhen does it start?")
    [bad] = await h.send(message_update(BORIS, "whenever you like"))
    assert bad.text.startswith("I could not understand “whenever you like” as a date and time.")
    [past] = await h.send(message_update(BORIS, "01.01.2020 10:00"))
    assert past.text.startswith("01.01.2020 10:00 has already passed. When does the event start?")
    [title_q] = await h.send(press(BORIS, past, "« Back"))
    assert title_q.text == "New event. What is its title?"
    [when_q] = await h.send(message_update(BORIS, "Open house"))
    day = future_day(5)
    [place_q] = await h.send(message_update(BORIS, f"{day} 11:00"))
    assert f"When: {day} 11:00 (Europe/Moscow)" in place_q.text
    assert place_q.text.endswith("Where will it be? Type the place, or press Skip.")
    assert await count(h.db, Event) == 0  # nothing is written before the last step
    [card] = await h.send(press(BORIS, place_q, "Skip"))
    assert card.text.startswith("Event created.\n\n📅 <b>Open house</b>")
    assert "Place:" not in card.text
    event = await only_event(h.db)
    assert (event.title, event.place, event.responsible_id) == ("Open house", None, w.boris.id)
    [listing] = await h.send(message_update(BORIS, "/event"))
    assert any("Open house" in t for t in button_texts(listing))


# ---------------------------------------------------------------- invitees and sending


async def test_add_invitees_and_send_invitations(harness: Harness) -> None:
    h = harness
    w = await world(h.db)
    await clients_of(h.db, w.boris)
    [card] = await h.send(message_update(BORIS, f"/event Seminar; {future_day()} 15:00; Hall A"))
    [menu] = await h.send(press(BORIS, card, "➕ Add invitees"))
    assert "Whom to invite?" in menu.text
    assert button_texts(menu) == [
        "All my clients",
        "Potential clients",
        "One-time clients",
        "Regular clients",
        "By industry",
        "By territory",
        "By company",
        "« Back",
    ]
    [industries] = await h.send(press(BORIS, menu, "By industry"))
    assert industries.text == "Choose the industry:"
    [added] = await h.send(press(BORIS, industries, "Metal"))
    assert added.text.startswith("Invitees added: 2.\nSkipped: 1 without an email, 0 unsubscribed")
    assert "Invitees: 2 — ✉ invited 2" in added.text
    assert "Invitees: 2" in added.text and "Participation" not in added.text  # not started
    [menu] = await h.send(press(BORIS, added, "➕ Add invitees"))
    [again] = await h.send(press(BORIS, menu, "All my clients"))
    assert again.text.startswith(
        "Invitees added: 0.\nSkipped: 1 without an email, 0 unsubscribed, 2 already invited."
    )
    assert await count(h.db, EventInvitee) == 2

    [sent] = await h.send(press(BORIS, again, "✉ Send invitations"))
    assert sent.text.startswith("Invitations queued: 2.")
    assert "Mail is disabled (SMTP_HOST is not set)" in sent.text
    [twice] = await h.send(press(BORIS, sent, "✉ Send invitations"))
    assert twice.text.startswith("Invitations queued: 0.\nAlready sent before: 2.")
    assert await count(h.db, OutboundEmail) == 2
    [people] = await h.send(press(BORIS, twice, "👥 Invitees (2)"))
    assert "✉ Ivan (Steel) — invited" in people.text
    assert "✉ Olga (Steel) — invited" in people.text
    assert not any(t.startswith("✅") for t in button_texts(people))  # not started yet


async def test_attendance_after_the_start_in_russian(harness: Harness) -> None:
    h = harness
    w = await world(h.db)
    await clients_of(h.db, w.anna)
    view = await events.create(
        h.db.uow(),
        w.anna,
        EventInput(title="Семинар", starts_at=utcnow() + timedelta(days=2), place="Зал"),
    )
    await events.add_invitees(h.db.uow(), w.anna, view.event.id, Segment())
    async with h.db.uow() as uow:
        await uow.session.execute(
            update(Event).values(starts_at=utcnow() - timedelta(hours=1), ends_at=utcnow())
        )
        await uow.commit()
    [card] = await h.send(replay(ANNA, EventCb(action="open", event_id=view.event.id).pack()))
    assert "➕ Добавить приглашённых" not in button_texts(card)  # the event started
    [people] = await h.send(press(ANNA, card, "👥 Приглашённые (2)"))
    assert "Отметьте, кто пришёл (✅), а кто нет (🚫)." in people.text
    [people] = await h.send(press(ANNA, people, "✅ Ivan"))
    assert h.stub.alerts()[-1] == "Пришёл."
    assert "✅ Ivan (Steel) — пришёл" in people.text
    [people] = await h.send(press(ANNA, people, "🚫 Olga"))
    assert "🚫 Olga (Steel) — не пришёл" in people.text
    assert "Явка: 50% (1 из 2)" in people.text
    async with h.db.uow() as uow:
        statuses = sorted(await uow.session.scalars(select(EventInvitee.status)))
    assert statuses == ["attended", "no_show"]
    # sending after the start is refused politely
    await h.send(replay(ANNA, EventCb(action="send", event_id=view.event.id).pack()))
    assert h.stub.alerts()[-1].startswith("Мероприятие уже началось")


async def test_someone_elses_event_is_refused(harness: Harness) -> None:
    h = harness
    w = await world(h.db)
    await clients_of(h.db, w.anna)
    await clients_of(h.db, w.boris)
    view = await events.create(
        h.db.uow(), w.anna, EventInput(title="Закрытый", starts_at=utcnow() + timedelta(days=2))
    )
    before = await written(h.db)
    for action, value in (("open", ""), ("seg", "all"), ("send", ""), ("inv", ""), ("att", "1.1")):
        await h.send(
            replay(BORIS, EventCb(action=action, event_id=view.event.id, value=value).pack())
        )
        assert h.stub.alerts()[-1] == "Not found, or you have no access to it.", action
    assert await written(h.db) == before
    assert await count(h.db, OutboundEmail) == 0
    # the director sees it
    [card] = await h.send(replay(DINA, EventCb(action="open", event_id=view.event.id).pack()))
    assert "📅 <b>Закрытый</b>" in card.text
