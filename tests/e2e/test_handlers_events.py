"""/event, the event card and its buttons, through the real dispatcher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from sqlalchemy import select, update

from crm.access import Actor
from crm.models import AuditEntry, Event, EventInvitee, OutboundEmail, Task, utcnow
from crm.services import events
from crm.services.events import EventInput, Segment
from crm.storage import Database
from handlers.events.callbacks import EventCb
from tests.fixtures.bilingual import ANNA, BORIS, DINA, EMILY, HELEN, team
from tests.fixtures.bot_harness import Harness, labels, only_a_hint, press, replay
from tests.fixtures.botapi_stub import message_update
from tests.fixtures.events import company, contact, future_day, invitees_of
from tests.fixtures.factories import add_company
from tests.fixtures.queries import count


async def clients_of(db: Database, actor: Actor) -> None:
    steel = await company(db, actor, "Steel", stage="regular", industry="Metal", territory="Ural")
    await contact(db, actor, "Ivan", "ivan@steel.example", steel.id)
    await contact(db, actor, "Olga", "olga@steel.example", steel.id)
    await contact(db, actor, "Petr", None, steel.id)


async def written(db: Database) -> tuple[int, ...]:
    return tuple([await count(db, m) for m in (Event, Task, EventInvitee, AuditEntry)])


async def only_event(db: Database) -> Event:
    async with db.uow() as uow:
        return (await uow.session.scalars(select(Event))).one()


# ---------------------------------------------------------------- one line


async def test_one_line_creates_the_event_in_russian(harness: Harness) -> None:
    h = harness
    await team(h.db)
    day = future_day()
    [card] = await h.send(message_update(ANNA, f"/event Весенний семинар; {day} 15:00; Зал А"))
    event = await only_event(h.db)
    assert card.text.startswith("Мероприятие создано.\n\n📅 <b>Весенний семинар</b>")
    assert f"Когда: {day} 15:00 – 17:00 (Europe/Moscow)" in card.text
    assert "Место: Зал А" in card.text
    assert "Ответственный: Anna" in card.text
    assert "Никто ещё не приглашён." in card.text
    assert "Подготовка: выполнено 0 из 4 задач" in card.text
    assert labels(card) == [
        "➕ Добавить приглашённых",
        "✉ Разослать приглашения",
        "👥 Приглашённые (0)",
        "📋 Задачи подготовки",
        "✏ Изменить",
        "✖ Отменить мероприятие",
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
    await team(h.db)
    before = await written(h.db)
    [usage] = await h.send(message_update(ANNA, "/event ; завтра 10:00"))
    assert usage.text.startswith("Напишите <code>/event название; когда; место</code>")
    # a time that cannot be taken is asked back in the dialog, with its buttons
    [unparsed] = await h.send(message_update(ANNA, "/event Семинар; когда-нибудь потом"))
    assert unparsed.text == (
        "Не удалось понять «когда-нибудь потом» как дату и время.\n"
        "Например: 25.04 15:00, завтра в 10:00, в пятницу в 18:00."
    )
    assert labels(unparsed) == ["« Назад", "Отмена"]
    [past] = await h.send(message_update(ANNA, "/event Семинар; 01.01.2020 10:00"))
    assert past.text.startswith("01.01.2020 10:00 уже прошло. Когда начинается мероприятие?")
    [huge] = await h.send(message_update(ANNA, "/event " + "я" * 300 + "; завтра 10:00"))
    assert huge.text.startswith("Название: слишком длинно")
    [en] = await h.send(message_update(BORIS, "/event Seminar; sometime later"))
    assert en.text.startswith("I could not understand “sometime later” as a date and time.")
    [absurd] = await h.send(message_update(BORIS, "/event x; " + "y" * 5000))
    assert absurd.text.startswith("Text: this is too long")
    assert await written(h.db) == before


async def test_a_day_gone_by_this_year_offers_the_same_day_next_year(harness: Harness) -> None:
    """The README's own example said on 7 December: 4 December has just passed."""
    h = harness
    await team(h.db)
    with time_machine.travel(datetime(2026, 12, 7, 9, 0, tzinfo=UTC), tick=False):
        [asked] = await h.send(
            message_update(ANNA, "/event Семинар по упаковке; 04.12 11:00; Москва, Тверская 7")
        )
        assert asked.text.startswith(
            "04.12.2026 11:00 уже прошло. Когда начинается мероприятие?\nНапример:"
        )
        assert labels(asked) == ["04.12.2027 11:00", "« Назад", "Отмена"]
        assert await count(h.db, Event) == 0
        [card] = await h.send(press(ANNA, asked, "04.12.2027"))
    assert card.text.startswith("Мероприятие создано.\n\n📅 <b>Семинар по упаковке</b>")
    assert "Место: Москва, Тверская 7" in card.text
    event = await only_event(h.db)
    assert event.starts_at == datetime(2027, 12, 4, 8, 0, tzinfo=UTC)


async def test_an_impossible_clock_time_is_refused_and_asked_again(harness: Harness) -> None:
    h = harness
    await team(h.db)
    [asked] = await h.send(message_update(BORIS, "/event Seminar; tomorrow at 25:00; Hall A"))
    assert asked.text.startswith(
        "There is no 25:00 on a clock: hours go from 0 to 23 and minutes from 0 to 59.\n"
    )
    assert await count(h.db, Event) == 0
    [card] = await h.send(message_update(BORIS, "tomorrow at 10:00"))
    assert card.text.startswith("Event created.")
    assert "Place: Hall A" in card.text


async def test_a_new_events_first_task_is_due_at_the_next_working_hour_not_late(
    harness: Harness,
) -> None:
    h = harness
    await team(h.db)
    monday = datetime(2026, 3, 2, 9, 20, tzinfo=UTC)  # 12:20 in Moscow
    with time_machine.travel(monday, tick=False):
        await h.send(message_update(ANNA, "/event Семинар; 05.03 15:00; Зал А"))
        [today] = await h.send(message_update(ANNA, "/today"))
    assert "Просрочено" not in today.text
    assert "<b>На сегодня (2)</b>\n1. 13:00 Забронировать площадку" in today.text
    async with h.db.uow() as uow:
        dues = list(await uow.session.scalars(select(Task.due_at).order_by(Task.due_at)))
    assert dues[0] == datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    assert all(due > monday for due in dues)


# ---------------------------------------------------------------- the dialog


async def test_dialog_in_english_with_back_and_cancel(harness: Harness) -> None:
    h = harness
    w = await team(h.db)
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
    assert any("Open house" in t for t in labels(listing))


# ---------------------------------------------------------------- invitees and sending


async def test_add_invitees_and_send_invitations(harness: Harness) -> None:
    h = harness
    w = await team(h.db)
    await clients_of(h.db, w.boris)
    [card] = await h.send(message_update(BORIS, f"/event Seminar; {future_day()} 15:00; Hall A"))
    [menu] = await h.send(press(BORIS, card, "➕ Add invitees"))
    assert "Whom to invite?" in menu.text
    assert labels(menu) == [
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
    # on the list, nothing mailed yet: the card says so, not "invited"
    assert "Emails: none sent yet.\nInvitees: 2 — ⏳ no answer yet 2" in added.text
    assert "Invitees: 2" in added.text and "Participation" not in added.text  # not started
    [menu] = await h.send(press(BORIS, added, "➕ Add invitees"))
    [again] = await h.send(press(BORIS, menu, "All my clients"))
    assert again.text.startswith(
        "Invitees added: 0.\nSkipped: 1 without an email, 0 unsubscribed, 2 already on the list."
    )
    assert await count(h.db, EventInvitee) == 2

    [sent] = await h.send(press(BORIS, again, "✉ Send invitations"))
    assert sent.text.startswith("Invitations queued: 2.")
    assert "Mail is disabled (SMTP_HOST is not set)" in sent.text
    [twice] = await h.send(press(BORIS, sent, "✉ Send invitations"))
    # SMTP is not set up: nothing went out, and the second press says so
    assert twice.text.startswith("Invitations queued: 0.\nAlready in the outbox, not sent yet: 2.")
    assert "Already sent before" not in twice.text
    assert "Emails: 2 queued · 0 sent · 0 failed" in twice.text
    assert await count(h.db, OutboundEmail) == 2
    [people] = await h.send(press(BORIS, twice, "👥 Invitees (2)"))
    assert "⏳ Ivan (Steel) — no answer yet" in people.text
    assert "⏳ Olga (Steel) — no answer yet" in people.text
    # once the outbox has sent one and failed the other, the words follow
    async with h.db.uow() as uow:
        first, second = (await uow.session.scalars(select(OutboundEmail.id))).all()
        await uow.session.execute(
            update(OutboundEmail).where(OutboundEmail.id == first).values(status="sent")
        )
        await uow.session.execute(
            update(OutboundEmail).where(OutboundEmail.id == second).values(status="failed")
        )
        await uow.commit()
    [third] = await h.send(press(BORIS, twice, "✉ Send invitations"))
    assert third.text.startswith(
        "Invitations queued: 0.\nAlready sent before: 1.\nSent before, but failed: 1."
    )
    assert not any(t.startswith("✅") for t in labels(people))  # not started yet


async def test_attendance_after_the_start_in_russian(harness: Harness) -> None:
    h = harness
    w = await team(h.db)
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
    assert "➕ Добавить приглашённых" not in labels(card)  # the event started
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
    w = await team(h.db)
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


# ---------------------------------------------------------------- /event: attendance after the end


async def test_an_ended_event_stays_reachable_to_mark_attendance(harness: Harness) -> None:
    w = await team(harness.db)
    view = await events.create(
        harness.db.uow(),
        w.emily,
        EventInput(title="Product day", starts_at=utcnow() + timedelta(days=2)),
    )
    async with harness.db.uow() as uow:
        await uow.session.execute(
            update(Event)
            .where(Event.id == view.event.id)
            .values(
                starts_at=utcnow() - timedelta(days=3),
                ends_at=utcnow() - timedelta(days=3) + timedelta(hours=2),
            )
        )
        await uow.commit()
    [page] = await harness.send(message_update(EMILY, "/event"))
    assert "No upcoming events" in page.text
    assert "Recently held: open one to mark who came." in page.text
    [recent] = [label for label in labels(page) if "Product day" in label]
    assert recent.startswith("✅ ")
    [card] = await harness.send(press(EMILY, page, recent))
    assert "Product day" in card.text
    assert "👥 Invitees (0)" in labels(card) and "➕ Add invitees" not in labels(card)
    # Russian, and an event that ended long ago is not offered any more
    [ru] = await harness.send(message_update(ANNA, "/event"))
    assert "Недавно прошли" not in ru.text  # Anna does not see Emily's event
    async with harness.db.uow() as uow:
        await uow.session.execute(update(Event).values(responsible_id=w.anna.id))
        await uow.commit()
    [ru] = await harness.send(message_update(ANNA, "/event"))
    assert "Недавно прошли — откройте, чтобы отметить, кто пришёл:" in ru.text
    async with harness.db.uow() as uow:
        await uow.session.execute(
            update(Event).values(
                starts_at=utcnow() - timedelta(days=30), ends_at=utcnow() - timedelta(days=29)
            )
        )
        await uow.commit()
    [old] = await harness.send(message_update(ANNA, "/event"))
    assert "Недавно прошли" not in old.text and not any("✅" in x for x in labels(old))


# ---------------------------------------------------------------- /event: a company by its name


async def test_event_company_is_found_by_a_typed_name(harness: Harness) -> None:
    w = await team(harness.db)
    for name in ("Атлас Логистик", "Атлас Трейд", "Бета", "Гамма 100%"):
        company = await add_company(harness.db, w.anna.id, name)
        await contact(
            harness.db, w.anna, f"Контакт {name}", f"c{company.id}@example.com", company.id
        )
    await harness.send(message_update(ANNA, f"/event Семинар; {future_day()} 10:00; Зал"))
    [card] = harness.stub.sent_to(ANNA.id)[-1:]
    [menu] = await harness.send(press(ANNA, card, "➕ Добавить приглашённых"))
    [companies] = await harness.send(press(ANNA, menu, "По компании"))
    assert companies.text == "Выберите компанию или напишите часть её названия:"
    [found] = await harness.send(message_update(ANNA, "атлас"))
    assert found.text == "Найдено по запросу «атлас» — выберите компанию:"
    assert labels(found) == ["Атлас Логистик", "Атлас Трейд", "« Назад"]
    [none] = await harness.send(message_update(ANNA, "Омега"))
    assert none.text.startswith("Среди ваших компаний с почтой нет похожих на «Омега».")
    [percent] = await harness.send(message_update(ANNA, "100%"))
    assert labels(percent) == ["Гамма 100%", "« Назад"]  # % is a letter, not a wildcard
    [added] = await harness.send(press(ANNA, found, "Атлас Трейд"))
    assert added.text.startswith("Добавлено приглашённых: 1.")
    # the search is over: a text is chatter again
    assert only_a_hint(await harness.send(message_update(ANNA, "атлас")))
    # English, and the Back button ends the search too
    await events.create(
        harness.db.uow(), w.emily, EventInput(title="Demo", starts_at=utcnow() + timedelta(days=5))
    )
    beta = await add_company(harness.db, w.emily.id, "Zeta Foods")
    await contact(harness.db, w.emily, "Zed", "zed@example.com", beta.id)
    [page] = await harness.send(message_update(EMILY, "/event"))
    [card] = await harness.send(press(EMILY, page, next(x for x in labels(page) if "Demo" in x)))
    [menu] = await harness.send(press(EMILY, card, "➕ Add invitees"))
    [companies] = await harness.send(press(EMILY, menu, "By company"))
    assert companies.text == "Choose the company, or type a part of its name:"
    [found] = await harness.send(message_update(EMILY, "zeta"))
    assert found.text == "Found for “zeta”: choose the company." and "Zeta Foods" in labels(found)
    await harness.send(press(EMILY, found, "« Back"))
    assert only_a_hint(await harness.send(message_update(EMILY, "zeta")))


# ---------------------------------------------------------------- invitees and sending


async def test_the_all_clients_segment_is_named_for_the_role(harness: Harness) -> None:
    h = harness
    await team(h.db)
    for user in (EMILY, HELEN, DINA):
        [card] = await h.send(message_update(user, f"/event Seminar; {future_day()} 15:00; Hall"))
        add = "➕ Add invitees" if user.language_code == "en" else "➕ Добавить приглашённых"
        [menu] = await h.send(press(user, card, add))
        first = labels(menu)[0]
        expected = {
            EMILY.id: "All my clients",
            HELEN.id: "All clients you can see",
            DINA.id: "Все доступные вам клиенты",
        }[user.id]
        assert first == expected


async def test_the_event_card_counts_the_step_done_after_sending(harness: Harness) -> None:
    h = harness
    s = await team(h.db)
    await invitees_of(h.db, s.helen)
    [card] = await h.send(message_update(HELEN, f"/event Seminar; {future_day()} 15:00; Hall"))
    assert "Preparation: 0 of 4 tasks done" in card.text
    [menu] = await h.send(press(HELEN, card, "➕ Add invitees"))
    [added] = await h.send(press(HELEN, menu, "All clients you can see"))
    [sent] = await h.send(press(HELEN, added, "✉ Send invitations"))
    assert sent.text.startswith("Invitations queued: 1.")
    assert "Preparation: 1 of 4 tasks done" in sent.text
