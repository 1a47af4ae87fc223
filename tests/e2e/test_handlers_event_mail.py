"""What a manager sees of the outbox: the card's email counts, the notice about
undelivered invitations with its button, the list of addresses and reasons, and
/report events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import update

from crm.access import Actor
from crm.models import Event, OutboundEmail, utcnow
from crm.services import events
from crm.services.events import EventInput, Segment
from crm.storage import Database
from handlers.events.callbacks import EventCb
from notifications.email_notices import notify_failures
from tests.fixtures import factories
from tests.fixtures.bot_harness import Harness, press
from tests.fixtures.botapi_stub import TgUser, callback_update, message_update
from tests.fixtures.events import company, contact

ANNA = TgUser(7211, "Anna", language_code="ru")  # manager, Russian
BORIS = TgUser(7212, "Boris", language_code="en")  # manager of another department


class World:
    anna: Actor
    boris: Actor


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
    return w


async def clients_of(db: Database, actor: Actor) -> None:
    steel = await company(db, actor, "Steel", stage="regular", industry="Metal", territory="Ural")
    await contact(db, actor, "Ivan", "ivan@steel.example", steel.id)
    await contact(db, actor, "Olga", "olga@steel.example", steel.id)


BASE = "https://crm.example.com"


async def invited(harness: Harness) -> tuple[object, int]:
    w = await world(harness.db)
    await clients_of(harness.db, w.anna)
    view = await events.create(
        harness.db.uow(),
        w.anna,
        EventInput(
            title="Семинар",
            starts_at=(utcnow() + timedelta(days=5)).replace(microsecond=0),
            budget=Decimal(20000),
        ),
    )
    await events.add_invitees(harness.db.uow(), w.anna, view.event.id, Segment())
    await events.send_invitations(
        harness.db.uow(), w.anna, view.event.id, base_url=BASE, sender="e@example.com"
    )
    return w, view.event.id


async def test_the_notice_of_undelivered_invitations_and_its_list(harness: Harness) -> None:
    _w, event_id = await invited(harness)
    async with harness.db.uow() as uow:
        await uow.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.to_addr == "ivan@steel.example")
            .values(status="failed", last_error="550 5.1.1 No such mailbox", error_code=550)
        )
        await uow.session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.to_addr == "olga@steel.example")
            .values(status="sent")
        )
        await uow.commit()
    i18n = harness.dp["i18n"]
    assert await notify_failures(harness.db, harness.bot, i18n) == 1
    assert await notify_failures(harness.db, harness.bot, i18n) == 0  # once per event
    (notice,) = harness.stub.sent_to(ANNA.id)
    assert "Не удалось доставить приглашения на «Семинар»: 1" in (notice.text or "")
    shown = await harness.send(press(ANNA, notice, "Показать адреса"))
    listing = shown[-1].text or ""
    assert "Недоставленные письма: 1" in listing
    assert "Ivan &lt;ivan@steel.example&gt; — 550 5.1.1 No such mailbox" in listing
    # the card counts the emails by state and offers the same list
    [card] = await harness.send(
        callback_update(ANNA, EventCb(action="open", event_id=event_id).pack(), 1, ANNA.id, "...")
    )
    assert "Бюджет: 20 000,00" in (card.text or "")
    assert "Письма: в очереди 0 · отправлено 1 · не доставлено 1 · ответили 0" in (card.text or "")
    assert "⚠ Не доставлено (1)" in [b["text"] for row in card.buttons for b in row]
    # someone else's event: the crafted button is refused by the service
    shown = await harness.send(
        callback_update(BORIS, notice.buttons[0][0]["callback_data"], 1, BORIS.id, "...")
    )
    assert all("ivan@steel.example" not in (s.text or "") for s in shown)


async def test_report_events_shows_participation_and_cost_per_attendee(harness: Harness) -> None:
    w, event_id = await invited(harness)
    async with harness.db.uow() as uow:
        await uow.session.execute(
            update(Event).values(starts_at=utcnow() - timedelta(days=2), ends_at=utcnow())
        )
        await uow.commit()
    invitees, _n = await events.list_invitees(harness.db.uow(), w.anna, event_id)
    await events.mark_attendance(harness.db.uow(), w.anna, event_id, invitees[0].invitee.id, True)
    await events.mark_attendance(harness.db.uow(), w.anna, event_id, invitees[1].invitee.id, False)
    shown = await harness.send(message_update(ANNA, "/report events"))
    text = shown[0].text or ""
    assert "Мероприятия" in text and "Семинар" in text
    assert "1/2" in text and "50 %" in text.replace("50%", "50 %") and "20 000,00" in text
    assert shown[-1].method == "sendPhoto"
