"""✏ Edit and ✖ Cancel on the event card, through the real dispatcher, with the emails
the invitees then receive from a real SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar
from sqlalchemy import select

from crm.access import Actor
from crm.models import Event, OutboundEmail, utcnow
from crm.services import events
from crm.services.events import EventInput, Segment
from crm.settings import Settings
from crm.storage import Database
from handlers.events.callbacks import EventCb
from notifications import email as mailer
from tests.fixtures.bilingual import ANNA, BORIS, EMILY, team
from tests.fixtures.bot_harness import REFUSAL, Harness, labels, last_alert, press, replay
from tests.fixtures.botapi_stub import message_update
from tests.fixtures.events import BASE, company, contact
from tests.fixtures.smtp_server import SmtpServer


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


def mail_settings(port: int) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_tls=False,
        smtp_from="Events <events@example.com>",
    )


async def mailed_event(db: Database, actor: Actor, title: str, smtp: SmtpServer) -> int:
    """`actor`'s event in 10 days with two invitees whose invitations have arrived."""
    steel = await company(db, actor, "Steel", stage="regular")
    await contact(db, actor, "Ivan", "ivan@steel.example", steel.id)
    await contact(db, actor, "Olga", "olga@steel.example", steel.id)
    starts = (utcnow() + timedelta(days=10)).replace(hour=12, minute=0, second=0, microsecond=0)
    view = await events.create(
        db.uow(), actor, EventInput(title=title, starts_at=starts, place="Hall A", budget="30000")
    )
    await events.add_invitees(db.uow(), actor, view.event.id, Segment())
    await events.send_invitations(
        db.uow(), actor, view.event.id, base_url=BASE, sender="events@example.com"
    )
    assert (await mailer.deliver_due(db, mail_settings(smtp.port))).sent == 2
    return view.event.id


async def outbox_rows(db: Database, kind: str) -> list[OutboundEmail]:
    async with db.uow() as uow:
        stmt = select(OutboundEmail).where(OutboundEmail.kind == kind).order_by(OutboundEmail.id)
        return list(await uow.session.scalars(stmt))


async def stored(db: Database, event_id: int) -> Event:
    async with db.uow() as uow:
        event = await uow.session.get(Event, event_id)
        assert event is not None
        return event


def calendar(message: EmailMessage) -> Any:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    return Calendar.from_ical(part.get_content())


def vevent(message: EmailMessage) -> Any:
    return calendar(message).walk("VEVENT")[0]


def card_of(harness: Harness, user: Any, event_id: int) -> dict[str, Any]:
    return replay(user, EventCb(action="open", event_id=event_id).pack())


async def test_editing_the_time_mails_an_update_in_english(harness: Harness, smtp) -> None:
    h = harness
    w = await team(h.db)
    event_id = await mailed_event(h.db, w.emily, "Seminar", smtp)
    [invitation, _other] = smtp.messages
    [card] = await h.send(card_of(h, EMILY, event_id))
    assert labels(card)[-3:] == ["✏ Edit", "✖ Cancel event", "« Events"]

    [menu] = await h.send(press(EMILY, card, "✏ Edit"))
    assert menu.text == "📅 <b>Seminar</b>\nWhat to change?"
    assert labels(menu) == ["Title", "Time", "Place", "Budget", "Cancel"]
    [ask] = await h.send(press(EMILY, menu, "Time"))
    assert "When does it start now? The duration stays the same." in ask.text
    assert "Invitees already mailed get an email saying what changed." in ask.text
    [bad] = await h.send(message_update(EMILY, "whenever you like"))
    assert bad.text.startswith("I could not understand “whenever you like” as a date and time.")
    [back] = await h.send(press(EMILY, bad, "« Back"))
    assert back.text == "📅 <b>Seminar</b>\nWhat to change?"
    await h.send(press(EMILY, back, "Time"))
    day = (utcnow() + timedelta(days=12)).strftime("%d.%m.%Y")
    [changed] = await h.send(message_update(EMILY, f"{day} 16:00"))
    assert changed.text.startswith(
        "Event changed.\nUpdate emails queued to the invitees already mailed: 2.\n\n"
    )
    assert f"When: {day} 16:00 – 18:00 (Europe/Moscow)" in changed.text
    assert (await stored(h.db, event_id)).sequence == 1
    updates = await outbox_rows(h.db, "update")
    assert sorted(r.to_addr for r in updates) == ["ivan@steel.example", "olga@steel.example"]

    assert (await mailer.deliver_due(h.db, mail_settings(smtp.port))).sent == 2
    received = smtp.messages[2:]
    assert sorted(m["To"] for m in received) == ["ivan@steel.example", "olga@steel.example"]
    for message in received:
        assert message["Subject"] == "Changed: Seminar"
        assert calendar(message)["METHOD"] == "REQUEST"
        assert vevent(message)["UID"] == vevent(invitation)["UID"]
        assert int(vevent(message)["SEQUENCE"]) == 1
        text = message.get_body(preferencelist=("plain",)).get_content()
        assert f"→ {day} 16:00 – 18:00" in text

    # the budget is internal: saved, nobody is mailed; a bad amount changes nothing
    [card] = await h.send(card_of(h, EMILY, event_id))
    [menu] = await h.send(press(EMILY, card, "✏ Edit"))
    [ask] = await h.send(press(EMILY, menu, "Budget"))
    assert "Now: 30" in ask.text and "Type the new budget, e.g. 45000." in ask.text
    [bad] = await h.send(message_update(EMILY, "a lot"))
    assert bad.text.startswith("Budget:")
    [saved] = await h.send(message_update(EMILY, "45000"))
    assert saved.text.startswith("Event changed.\n\n📅 <b>Seminar</b>")
    assert "Budget: 45" in saved.text
    assert (await stored(h.db, event_id)).sequence == 1
    assert len(await outbox_rows(h.db, "update")) == 2
    # a button of the finished dialog
    await h.send(press(EMILY, ask, "Remove the budget"))
    assert last_alert(h) == "This dialog is over. Start again with /event."


async def test_another_department_cannot_edit_or_cancel(harness: Harness, smtp) -> None:
    h = harness
    w = await team(h.db)
    event_id = await mailed_event(h.db, w.emily, "Seminar", smtp)
    for action in ("edit", "drop", "dropok"):
        await h.send(replay(BORIS, EventCb(action=action, event_id=event_id).pack()))
        assert last_alert(h) == REFUSAL
    event = await stored(h.db, event_id)
    assert (event.sequence, event.cancelled_at) == (0, None)
    assert await outbox_rows(h.db, "cancel") == []


async def test_renaming_then_cancelling_in_russian(harness: Harness, smtp) -> None:
    h = harness
    w = await team(h.db)
    event_id = await mailed_event(h.db, w.anna, "Семинар", smtp)
    [card] = await h.send(card_of(h, ANNA, event_id))
    assert labels(card)[-3:] == ["✏ Изменить", "✖ Отменить мероприятие", "« Мероприятия"]
    [menu] = await h.send(press(ANNA, card, "✏ Изменить"))
    assert menu.text == "📅 <b>Семинар</b>\nЧто изменить?"
    [ask] = await h.send(press(ANNA, menu, "Название"))
    assert "Напишите новое название." in ask.text
    [renamed] = await h.send(message_update(ANNA, "Весенний семинар"))
    assert renamed.text.startswith(
        "Мероприятие изменено.\nПисьма об изменениях в очереди: 2.\n\n📅 <b>Весенний семинар</b>"
    )
    assert (await mailer.deliver_due(h.db, mail_settings(smtp.port))).sent == 2
    for message in smtp.messages[2:]:
        assert message["Subject"] == "Изменения: Весенний семинар"
        assert int(vevent(message)["SEQUENCE"]) == 1
        assert "Семинар → Весенний семинар" in message.get_body(("plain",)).get_content()

    [confirm] = await h.send(press(ANNA, renamed, "✖ Отменить мероприятие"))
    assert confirm.text == (
        "📅 <b>Весенний семинар</b>\nОтменить мероприятие? Вернуть его будет нельзя.\n"
        "Письма об отмене получат приглашённые, которым уже ушло письмо: 2."
    )
    [kept] = await h.send(press(ANNA, confirm, "« Нет, оставить"))
    assert kept.text.startswith("📅 <b>Весенний семинар</b>")
    assert (await stored(h.db, event_id)).cancelled_at is None
    [confirm] = await h.send(press(ANNA, kept, "✖ Отменить мероприятие"))
    [cancelled] = await h.send(press(ANNA, confirm, "✖ Да, отменить мероприятие"))
    assert cancelled.text.startswith("Мероприятие отменено. Писем об отмене в очереди: 2.")
    assert "❌ Отменено" in cancelled.text
    assert labels(cancelled) == ["👥 Приглашённые (2)", "📋 Задачи подготовки", "« Мероприятия"]
    event = await stored(h.db, event_id)
    assert event.cancelled_at is not None and event.sequence == 2

    assert (await mailer.deliver_due(h.db, mail_settings(smtp.port))).sent == 2
    cancels = smtp.messages[4:]
    assert sorted(m["To"] for m in cancels) == ["ivan@steel.example", "olga@steel.example"]
    for message in cancels:
        assert message["Subject"] == "Отменено: Весенний семинар"
        assert calendar(message)["METHOD"] == "CANCEL"
        assert str(vevent(message)["STATUS"]) == "CANCELLED"
        assert int(vevent(message)["SEQUENCE"]) == 2
    # a replayed confirmation changes nothing more
    await h.send(press(ANNA, confirm, "✖ Да, отменить мероприятие"))
    assert last_alert(h) == "Это мероприятие отменено."
    assert len(await outbox_rows(h.db, "cancel")) == 2
