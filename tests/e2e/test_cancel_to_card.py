"""Cancel in a dialog that edits a record from its card shows that card again, with the
toast "nothing saved", and writes nothing: ✏ Edit of a company or a contact (and the
company's stage), the company's Parent company, and ✏ Edit of an event; through the real
dispatcher, in English and in Russian."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from crm.access import Actor
from crm.models import AuditEntry, Company, Contact, Event, utcnow
from crm.services import companies, contacts, events
from crm.services.companies import CompanyInput
from crm.services.contacts import ContactInput
from crm.services.events import EventInput
from crm.storage import Database
from handlers.events.callbacks import EventCb
from tests.fixtures.bilingual import ANNA, EMILY, team
from tests.fixtures.bot_harness import Harness, labels, last_alert, only_a_hint, press, replay
from tests.fixtures.botapi_stub import Sent, TgUser, message_update

NOTHING_SAVED = {EMILY: "Cancelled. Nothing was saved.", ANNA: "Отменено. Ничего не сохранено."}


async def audits(db: Database) -> int:
    async with db.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


async def found_card(h: Harness, user: TgUser, query: str, name: str) -> Sent:
    [results] = await h.send(message_update(user, f"/find {query}"))
    [card] = await h.send(press(user, results, name))
    return card


async def cancelled_to(h: Harness, user: TgUser, dialog: Sent, card: Sent) -> Sent:
    """Press the dialog's Cancel: its message becomes the card again, the toast says so."""
    [shown] = await h.send(press(user, dialog, "✖"))
    assert shown.method == "editMessageText" and shown.message_id == dialog.message_id
    assert shown.text == card.text
    assert labels(shown) == labels(card)
    assert last_alert(h) == NOTHING_SAVED[user]
    return shown


async def test_cancel_in_the_edit_of_a_company_and_a_contact_shows_their_card(
    harness: Harness,
) -> None:
    h = harness
    people = await team(h.db)
    northwind = await companies.create(
        h.db.uow(), people.emily, CompanyInput(name="Northwind", industry="construction")
    )
    await contacts.create(
        h.db.uow(), people.emily, ContactInput(name="Ivan Petrov", company_id=northwind.id)
    )
    written = await audits(h.db)

    card = await found_card(h, EMILY, "northwind", "🏢 Northwind")
    assert card.text.startswith("🏢 <b>Northwind</b>\n")
    [menu] = await h.send(press(EMILY, card, "✏ Edit"))
    await cancelled_to(h, EMILY, menu, card)
    [menu] = await h.send(press(EMILY, card, "✏ Edit"))
    [prompt] = await h.send(press(EMILY, menu, "Industry"))
    assert labels(prompt) == ["✖ Cancel"]
    await cancelled_to(h, EMILY, prompt, card)
    assert only_a_hint(await h.send(message_update(EMILY, "Retail")))  # not a new value
    [menu] = await h.send(press(EMILY, card, "✏ Edit"))
    [stages] = await h.send(press(EMILY, menu, "Stage"))
    await cancelled_to(h, EMILY, stages, card)
    # the old prompt's Cancel, after its dialog was cancelled: over, nothing shown
    assert await h.send(press(EMILY, prompt, "✖")) == []
    assert last_alert(h) == "This dialog is over."

    person = await found_card(h, EMILY, "ivan", "👤 Ivan Petrov")
    assert person.text.startswith("👤 <b>Ivan Petrov</b>\nCompany: Northwind\n")
    [menu] = await h.send(press(EMILY, person, "✏ Edit"))
    [prompt] = await h.send(press(EMILY, menu, "Phone"))
    await cancelled_to(h, EMILY, prompt, person)
    assert only_a_hint(await h.send(message_update(EMILY, "+79123456789")))

    async with h.db.uow() as uow:
        row = await uow.session.get(Company, northwind.id)
        assert row is not None
        assert (row.industry, row.stage) == ("construction", "potential")
        assert list(await uow.session.scalars(select(Contact.phone))) == [None]
    assert await audits(h.db) == written


async def test_cancel_in_russian_shows_the_card_in_russian(harness: Harness) -> None:
    h = harness
    people = await team(h.db)
    romashka = await companies.create(
        h.db.uow(), people.anna, CompanyInput(name="Ромашка", industry="стройка")
    )
    written = await audits(h.db)
    card = await found_card(h, ANNA, "ромашка", "🏢 Ромашка")
    assert card.text.startswith("🏢 <b>Ромашка</b>\nКуратор: Anna\n")
    [menu] = await h.send(press(ANNA, card, "✏ Изменить"))
    assert labels(menu)[-1] == "✖ Отмена"
    [prompt] = await h.send(press(ANNA, menu, "Отрасль"))
    await cancelled_to(h, ANNA, prompt, card)
    assert only_a_hint(await h.send(message_update(ANNA, "торговля")))
    [menu] = await h.send(press(ANNA, card, "✏ Изменить"))
    [ask] = await h.send(press(ANNA, menu, "Головная компания"))
    await cancelled_to(h, ANNA, ask, card)
    async with h.db.uow() as uow:
        row = await uow.session.get(Company, romashka.id)
        assert row is not None and (row.industry, row.parent_id) == ("стройка", None)
    assert await audits(h.db) == written


async def test_cancel_in_parent_company_shows_the_card_from_either_step(harness: Harness) -> None:
    h = harness
    people = await team(h.db)
    for name in ("Northwind Group", "Northwind Retail"):
        await companies.create(h.db.uow(), people.emily, CompanyInput(name=name))
    written = await audits(h.db)
    card = await found_card(h, EMILY, "northwind retail", "🏢 Northwind Retail")
    [menu] = await h.send(press(EMILY, card, "✏ Edit"))
    [ask] = await h.send(press(EMILY, menu, "Parent company"))
    assert labels(ask) == ["✖ Cancel"]
    await cancelled_to(h, EMILY, ask, card)
    assert only_a_hint(await h.send(message_update(EMILY, "northwind")))

    [menu] = await h.send(press(EMILY, card, "✏ Edit"))
    await h.send(press(EMILY, menu, "Parent company"))
    [choices] = await h.send(message_update(EMILY, "group"))
    assert labels(choices) == ["Northwind Group", "« Back", "✖ Cancel"]
    await cancelled_to(h, EMILY, choices, card)
    assert await h.send(press(EMILY, choices, "Northwind Group")) == []  # over: not saved
    async with h.db.uow() as uow:
        parents = list(await uow.session.scalars(select(Company.parent_id)))
    assert parents == [None, None]
    assert await audits(h.db) == written


async def an_event(db: Database, actor: Actor, title: str) -> int:
    starts = (utcnow() + timedelta(days=10)).replace(hour=12, minute=0, second=0, microsecond=0)
    view = await events.create(
        db.uow(), actor, EventInput(title=title, starts_at=starts, place="Hall A", budget="30000")
    )
    return view.event.id


async def test_cancel_in_the_edit_of_an_event_shows_its_card(harness: Harness) -> None:
    h = harness
    people = await team(h.db)
    seminar = await an_event(h.db, people.emily, "Seminar")
    forum = await an_event(h.db, people.anna, "Форум")
    written = await audits(h.db)

    for user, event_id, edit, field, cancel, typed in (
        (EMILY, seminar, "✏ Edit", "Title", "Cancel", "Webinar"),
        (ANNA, forum, "✏ Изменить", "Место", "Отмена", "Зал Б"),
    ):
        [card] = await h.send(replay(user, EventCb(action="open", event_id=event_id).pack()))
        assert card.text.startswith("📅 <b>")
        [menu] = await h.send(press(user, card, edit))
        assert labels(menu)[-1] == cancel
        [shown] = await h.send(press(user, menu, cancel))
        assert shown.message_id == menu.message_id
        assert shown.text == card.text and labels(shown) == labels(card)
        assert last_alert(h) == NOTHING_SAVED[user]
        [menu] = await h.send(press(user, shown, edit))
        [ask] = await h.send(press(user, menu, field))
        assert labels(ask)[-1] == cancel
        [shown] = await h.send(press(user, ask, cancel))
        assert shown.message_id == ask.message_id
        assert shown.text == card.text and labels(shown) == labels(card)
        assert last_alert(h) == NOTHING_SAVED[user]
        assert only_a_hint(await h.send(message_update(user, typed)))

    async with h.db.uow() as uow:
        rows = list(await uow.session.scalars(select(Event).order_by(Event.id)))
    assert [(e.title, e.place, e.sequence) for e in rows] == [
        ("Seminar", "Hall A", 0),
        ("Форум", "Hall A", 0),
    ]
    assert await audits(h.db) == written
