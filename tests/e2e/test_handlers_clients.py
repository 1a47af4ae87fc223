"""/company, /contact, shared contact cards and forwarded messages, through the real dispatcher."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from crm.access import Actor
from crm.models import Company, Contact, Interaction
from crm.services import companies, contacts
from crm.services.companies import CompanyInput
from crm.services.contacts import ContactInput
from crm.storage import Database
from handlers.clients.callbacks import ContactFormCb, ForwardCb
from tests.fixtures import factories
from tests.fixtures.bot_harness import Harness, only_a_hint, press
from tests.fixtures.botapi_stub import Sent, TgUser, callback_update, contact_update, message_update

ANNA = TgUser(8301, "Anna", language_code="en")
BORIS = TgUser(8302, "Boris", language_code="en")
OLGA = TgUser(8303, "Olga", language_code="ru")
CLIENT = TgUser(555_001, "Petr", "Sidorov", username="petr_sidorov")
SENT_AT = 1_736_492_400  # 2025-01-10 07:00 UTC


async def staff(db: Database, user: TgUser, language: str = "en") -> Actor:
    return await factories.staff(db, name=user.first_name, language=language, tg_id=user.id)


def labels(sent: Sent) -> list[str]:
    return [b["text"] for row in sent.buttons for b in row]


async def all_companies(db: Database) -> list[tuple[str, str | None, str | None, int]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(Company).order_by(Company.id))
        return [(c.name, c.industry, c.territory, c.curator_id) for c in rows]


async def all_contacts(db: Database) -> list[dict[str, Any]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(Contact).order_by(Contact.id))
        return [
            {
                "name": c.name,
                "phone": c.phone,
                "email": c.email,
                "company_id": c.company_id,
                "tg_user_id": c.tg_user_id,
                "tg_username": c.tg_username,
            }
            for c in rows
        ]


async def all_interactions(db: Database) -> list[tuple[str, str, str, int | None, datetime]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(Interaction).order_by(Interaction.id))
        return [(i.kind, i.direction, i.summary, i.contact_id, i.occurred_at) for i in rows]


def forward(user: TgUser, text: str, origin: dict[str, Any]) -> dict[str, Any]:
    return message_update(user, text, forward_origin={"date": SENT_AT, **origin})


# --- /company -------------------------------------------------------------------------------


async def test_company_on_one_line(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    [card] = await h.send(message_update(ANNA, "/company  Romashka ;construction;  Moscow "))
    assert card.text.startswith(
        "Company added.\n\n🏢 <b>Romashka</b>\nCurator: Anna\nStage: potential\n"
        "Industry: construction\nTerritory: Moscow"
    )
    assert labels(card)[:5] == [
        "✍ Log interaction",
        "💼 New deal",
        "👤 Contacts (0)",
        "🕘 History",
        "✏ Edit",
    ]
    assert await all_companies(h.db) == [("Romashka", "construction", "Moscow", anna.id)]

    # emoji and mixed scripts are a name like any other
    await h.send(message_update(ANNA, "/company 🌼 Ромашка-Romashka Ltd"))
    assert (await all_companies(h.db))[1][0] == "🌼 Ромашка-Romashka Ltd"


async def test_a_duplicate_company_name_is_asked_about(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    existing = await companies.create(h.db.uow(), anna, CompanyInput(name="Romashka"))

    [warning] = await h.send(message_update(ANNA, "/company ROMASHKA; retail"))
    assert warning.text == (
        "You already have a company named <b>Romashka</b>. Open it, or create another one?"
    )
    assert labels(warning) == ["🏢 Open it", "➕ Create anyway", "✖ Cancel"]
    [card] = await h.send(press(ANNA, warning, "Open it"))
    assert card.text.startswith("🏢 <b>Romashka</b>")
    [cancelled] = await h.send(press(ANNA, warning, "Cancel"))
    assert cancelled.text == "Cancelled. Nothing was saved."
    assert len(await all_companies(h.db)) == 1
    await h.send(press(ANNA, warning, "Create anyway"))  # too late: the dialog is over
    assert h.stub.alerts()[-1] == "This dialog is over. Start again with /company."
    assert len(await all_companies(h.db)) == 1

    [warning] = await h.send(message_update(ANNA, "/company Romashka; retail"))
    [created] = await h.send(press(ANNA, warning, "Create anyway"))
    assert created.text.startswith("Company added.\n\n🏢 <b>Romashka</b>")
    assert await all_companies(h.db) == [
        ("Romashka", None, None, anna.id),
        ("Romashka", "retail", None, anna.id),
    ]
    assert existing.id


async def test_company_dialog_in_russian_with_skip_back_and_cancel(harness: Harness) -> None:
    h = harness
    olga = await staff(h.db, OLGA, language="ru")

    [ask_name] = await h.send(message_update(OLGA, "/company"))
    assert ask_name.text == "Новая компания. Как она называется?"
    [too_long] = await h.send(message_update(OLGA, "Я" * 10_000))
    assert too_long.text == "Название: слишком длинно (не больше 200 символов)."
    [ask_industry] = await h.send(message_update(OLGA, "Ромашка"))
    assert ask_industry.text.startswith("Отрасль?")
    assert labels(ask_industry) == ["Пропустить", "« Назад", "✖ Отмена"]
    [ask_territory] = await h.send(press(OLGA, ask_industry, "Пропустить"))
    assert ask_territory.text.startswith("Территория?")
    [ask_industry] = await h.send(press(OLGA, ask_territory, "Назад"))
    assert ask_industry.text.startswith("Отрасль?")
    [ask_territory] = await h.send(message_update(OLGA, "Стройка 🏗"))
    [confirm] = await h.send(message_update(OLGA, "Москва"))
    assert confirm.text == (
        "Сохранить компанию?\n\nНазвание: Ромашка\nОтрасль: Стройка 🏗\nТерритория: Москва"
    )
    [ask_territory] = await h.send(press(OLGA, confirm, "Назад"))
    [confirm] = await h.send(press(OLGA, ask_territory, "Пропустить"))
    assert confirm.text.endswith("Территория: —")
    assert await all_companies(h.db) == []
    [card] = await h.send(press(OLGA, confirm, "Сохранить"))
    assert card.text.startswith("Компания добавлена.\n\n🏢 <b>Ромашка</b>\nКуратор: Olga")
    assert await all_companies(h.db) == [("Ромашка", "Стройка 🏗", None, olga.id)]

    [ask_name] = await h.send(message_update(OLGA, "/company"))
    [ask_industry] = await h.send(message_update(OLGA, "Лютик"))
    [cancelled] = await h.send(press(OLGA, ask_industry, "Отмена"))
    assert cancelled.text == "Отменено. Ничего не сохранено."
    assert only_a_hint(await h.send(message_update(OLGA, "Розничная торговля")))
    assert len(await all_companies(h.db)) == 1


async def test_bad_company_input_is_explained_and_nothing_is_written(harness: Harness) -> None:
    h = harness
    await staff(h.db, ANNA)
    cases = {
        "/company ; retail": "Name: this cannot be empty.",
        "/company " + "A" * 201: "Name: this is too long (at most 200 characters).",
        "/company " + "x" * 10_000: "Text: this is too long (at most 4000 characters).",
        "/company Romashka; " + "i" * 101: "Industry: this is too long (at most 100 characters).",
        "/company Romashka; retail; " + "t" * 101: (
            "Territory: this is too long (at most 100 characters)."
        ),
    }
    for command, expected in cases.items():
        [answer] = await h.send(message_update(ANNA, command))
        assert answer.text == expected, command
    assert await all_companies(h.db) == []


# --- /contact -------------------------------------------------------------------------------


async def test_contact_on_one_line_creates_the_company(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    [card] = await h.send(
        message_update(ANNA, "/contact Ivan Petrov; 8 (912) 345-67-89; Ivan@Example.com; Romashka")
    )
    assert card.text.startswith(
        "Contact added.\n\n👤 <b>Ivan Petrov</b>\nCompany: Romashka\nPhone: +79123456789\n"
        "Email: Ivan@example.com\nCurator: Anna"
    )
    [company] = await all_companies(h.db)
    assert company == ("Romashka", None, None, anna.id)
    [contact] = await all_contacts(h.db)
    assert (contact["name"], contact["phone"], contact["email"]) == (
        "Ivan Petrov",
        "+79123456789",
        "Ivan@example.com",
    )
    # an existing company (any case) is reused, not doubled
    await h.send(message_update(ANNA, "/contact Olga; ; ; ROMASHKA"))
    assert len(await all_companies(h.db)) == 1
    assert (await all_contacts(h.db))[1]["company_id"] == (await all_contacts(h.db))[0][
        "company_id"
    ]


async def test_bad_contact_input_is_explained_and_nothing_is_written(harness: Harness) -> None:
    h = harness
    await staff(h.db, ANNA)
    cases = {
        "/contact ; +79123456789": "Name: this cannot be empty.",
        "/contact Ivan; 12345": "Phone: this does not look like a phone number.",
        "/contact Ivan; +7 912 ☎☎☎": "Phone: this does not look like a phone number.",
        "/contact Ivan; ; ivan@": "Email: this does not look like an email address.",
        "/contact Ivan; ; ; " + "C" * 201: "Company: this is too long (at most 200 characters).",
        "/contact " + "I" * 10_000: "Text: this is too long (at most 4000 characters).",
    }
    for command, expected in cases.items():
        [answer] = await h.send(message_update(ANNA, command))
        assert answer.text == expected, command
    assert await all_contacts(h.db) == []
    assert await all_companies(h.db) == []


async def test_contact_dialog_with_skip_back_and_company_search(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    romashka = await companies.create(h.db.uow(), anna, CompanyInput(name="Romashka"))

    [ask_name] = await h.send(message_update(ANNA, "/contact"))
    assert ask_name.text == "New contact. What is the person's name?"
    [ask_phone] = await h.send(message_update(ANNA, "Ivan Petrov"))
    assert ask_phone.text.startswith("Phone?")
    [wrong] = await h.send(message_update(ANNA, "call me maybe"))
    assert wrong.text == "Phone: this does not look like a phone number."
    [ask_email] = await h.send(message_update(ANNA, "+7 912 345 67 89"))
    assert ask_email.text == "Email?"
    [ask_phone] = await h.send(press(ANNA, ask_email, "Back"))
    assert ask_phone.text.startswith("Phone?")
    [ask_email] = await h.send(press(ANNA, ask_phone, "Skip"))
    [ask_company] = await h.send(press(ANNA, ask_email, "Skip"))
    assert ask_company.text == (
        "Which company does <b>Ivan Petrov</b> work for? Send a part of its name to search."
    )
    assert labels(ask_company) == ["🏢 Romashka", "No company", "« Back", "✖ Cancel"]
    [found] = await h.send(message_update(ANNA, "romahska"))
    assert found.text == "Companies like “romahska”:"
    assert labels(found) == [
        "🏢 Romashka",
        "➕ New company “romahska”",
        "No company",
        "✖ Cancel",
    ]
    assert await all_contacts(h.db) == []
    [card] = await h.send(press(ANNA, found, "🏢 Romashka"))
    assert card.text.startswith("Contact added.\n\n👤 <b>Ivan Petrov</b>\nCompany: Romashka")
    [contact] = await all_contacts(h.db)
    assert (contact["phone"], contact["email"], contact["company_id"]) == (
        None,
        None,
        romashka.id,
    )

    # a new company typed in the dialog
    await h.send(message_update(ANNA, "/contact"))
    await h.send(message_update(ANNA, "Olga"))
    [ask_email] = await h.send(message_update(ANNA, "+79990001122"))
    [ask_company] = await h.send(message_update(ANNA, "olga@example.org"))
    [found] = await h.send(message_update(ANNA, "Lyutik 🌼"))
    assert found.text == "No company like “Lyutik 🌼” among yours."
    [card] = await h.send(press(ANNA, found, "New company"))
    assert "Company: Lyutik 🌼" in card.text
    assert [c[0] for c in await all_companies(h.db)] == ["Romashka", "Lyutik 🌼"]

    # Cancel at the company step
    await h.send(message_update(ANNA, "/contact"))
    [ask_phone] = await h.send(message_update(ANNA, "Nobody"))
    [ask_email] = await h.send(press(ANNA, ask_phone, "Skip"))
    [ask_company] = await h.send(press(ANNA, ask_email, "Skip"))
    [cancelled] = await h.send(press(ANNA, ask_company, "Cancel"))
    assert cancelled.text == "Cancelled. Nothing was saved."
    assert len(await all_contacts(h.db)) == 2


async def test_a_shared_contact_card_adds_a_contact(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    romashka = await companies.create(h.db.uow(), anna, CompanyInput(name="Romashka"))

    [ask_company] = await h.send(
        contact_update(ANNA, "79123456789", "Petr", last_name="Sidorov", user_id=CLIENT.id)
    )
    assert ask_company.text.startswith("Which company does <b>Petr Sidorov</b> work for?")
    assert labels(ask_company) == ["🏢 Romashka", "No company", "✖ Cancel"]  # no Back
    [card] = await h.send(press(ANNA, ask_company, "Romashka"))
    assert card.text.startswith(
        "Contact added.\n\n👤 <b>Petr Sidorov</b>\nCompany: Romashka\nPhone: +79123456789"
    )
    [contact] = await all_contacts(h.db)
    assert (contact["phone"], contact["tg_user_id"], contact["company_id"]) == (
        "+79123456789",
        CLIENT.id,
        romashka.id,
    )

    # the same person shared again: shown, not doubled
    [known] = await h.send(contact_update(ANNA, "+7 912 345-67-89", "Petya"))
    assert known.text.startswith("This contact is already in your CRM.\n\n👤 <b>Petr Sidorov</b>")

    [ask_company] = await h.send(contact_update(ANNA, "+44 20 7946 0958", "John"))
    [card] = await h.send(press(ANNA, ask_company, "No company"))
    assert card.text.startswith("Contact added.\n\n👤 <b>John</b>\nPhone: +442079460958")

    [bad] = await h.send(contact_update(ANNA, "12", "Broken"))
    assert bad.text == "Phone: this does not look like a phone number."
    assert len(await all_contacts(h.db)) == 2


# --- forwarded messages ---------------------------------------------------------------------


async def test_forward_from_a_known_user_is_logged_with_the_contact(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    company = await companies.create(h.db.uow(), anna, CompanyInput(name="Romashka"))
    petr = await contacts.create(
        h.db.uow(),
        anna,
        ContactInput(name="Petr Sidorov", company_id=company.id, tg_username="@Petr_Sidorov"),
    )
    origin = {"type": "user", "sender_user": CLIENT.as_dict()}
    [done] = await h.send(forward(ANNA, "Please send the invoice", origin))
    assert done.text == (
        "✅ Logged: 💬 message, incoming — Petr Sidorov, Romashka, 10.01.2025 (Fri) 10:00."
        "\nPlease send the invoice"
    )
    assert await all_interactions(h.db) == [
        ("message", "in", "Please send the invoice", petr.id, datetime(2025, 1, 10, 7, tzinfo=UTC))
    ]
    [card] = await h.send(press(ANNA, done, "Open the card"))
    assert "10.01.2025 10:00 💬 message, incoming — Please send the invoice" in card.text


async def test_forward_from_a_user_matching_several_contacts_asks_which(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    first = await contacts.create(
        h.db.uow(), anna, ContactInput(name="Petr (work)", tg_user_id=CLIENT.id)
    )
    await contacts.create(
        h.db.uow(), anna, ContactInput(name="Petr (home)", tg_username="petr_sidorov")
    )
    origin = {"type": "user", "sender_user": CLIENT.as_dict()}
    [ask] = await h.send(forward(ANNA, "hello", origin))
    assert ask.text == "Several of your contacts match <b>Petr Sidorov</b>. Which one wrote this?"
    assert labels(ask) == [
        "👤 Petr (work)",  # the Telegram id is the stronger match
        "👤 Petr (home)",
        "🔍 Find another contact",
        "✖ Cancel",
    ]
    assert await all_interactions(h.db) == []
    [done] = await h.send(press(ANNA, ask, "Petr (work)"))
    assert done.text.startswith("✅ Logged: 💬 message, incoming — Petr (work), 10.01.2025")
    assert [i[3] for i in await all_interactions(h.db)] == [first.id]


async def test_forward_from_an_unknown_user_offers_to_add_them(harness: Harness) -> None:
    h = harness
    await staff(h.db, ANNA)
    origin = {"type": "user", "sender_user": CLIENT.as_dict()}
    [offer] = await h.send(forward(ANNA, "Hi, it's Petr", origin))
    assert offer.text == (
        "<b>Petr Sidorov</b> is not among your contacts yet. Add them, or pick a contact?"
    )
    assert labels(offer) == [
        "➕ New contact “Petr Sidorov”",
        "🔍 Find another contact",
        "✖ Cancel",
    ]
    assert await all_contacts(h.db) == []
    [done] = await h.send(press(ANNA, offer, "New contact"))
    assert done.text.startswith("✅ Logged: 💬 message, incoming — Petr Sidorov, 10.01.2025")
    [contact] = await all_contacts(h.db)
    assert (contact["name"], contact["tg_user_id"], contact["tg_username"]) == (
        "Petr Sidorov",
        CLIENT.id,
        "petr_sidorov",
    )
    [(_, _, summary, _, _)] = await all_interactions(h.db)
    assert summary == "Hi, it's Petr"
    # next time the same sender is recognised at once
    [done] = await h.send(forward(ANNA, "Second message", origin))
    assert done.text.startswith("✅ Logged: 💬 message, incoming — Petr Sidorov, 10.01.2025")
    assert len(await all_interactions(h.db)) == 2

    # Cancel writes nothing
    other = {"type": "user", "sender_user": TgUser(555_002, "Stranger").as_dict()}
    [offer] = await h.send(forward(ANNA, "spam", other))
    [cancelled] = await h.send(press(ANNA, offer, "Cancel"))
    assert cancelled.text == "Cancelled. Nothing was saved."
    assert len(await all_contacts(h.db)) == 1 and len(await all_interactions(h.db)) == 2


async def test_a_contact_picked_for_a_forward_or_a_card_keeps_the_telegram_id(
    harness: Harness,
) -> None:
    """A contact keeps the Telegram user id it was met with (so that its Telegram Business
    chat is recognised); one that has an id keeps its own."""
    h = harness
    anna = await staff(h.db, ANNA)
    petr = await contacts.create(h.db.uow(), anna, ContactInput(name="Petr Sidorov"))
    origin = {"type": "user", "sender_user": CLIENT.as_dict()}
    [offer] = await h.send(forward(ANNA, "Hi, it's Petr", origin))
    [search] = await h.send(press(ANNA, offer, "Find another contact"))
    [choices] = await h.send(message_update(ANNA, "Sidorov"))
    [done] = await h.send(press(ANNA, choices, "Petr Sidorov"))
    assert done.text.startswith("✅ Logged")
    assert [c["tg_user_id"] for c in await all_contacts(h.db)] == [CLIENT.id]
    del search, petr
    # a shared card found by its phone gives the id to a contact that had none
    await contacts.create(h.db.uow(), anna, ContactInput(name="Olga", phone="+79001112233"))
    await h.send(contact_update(ANNA, "79001112233", "Olga", user_id=555_123))
    # and never takes it from one that has its own
    await h.send(contact_update(ANNA, "79001112233", "Olga", user_id=555_999))
    assert [c["tg_user_id"] for c in await all_contacts(h.db)] == [CLIENT.id, 555_123]


async def test_russian_sentences_keep_a_name_in_its_own_form(harness: Harness) -> None:
    """«Незнакомец пока нет среди…» read wrong: a name is not declined, so the sentences
    that show one put it where its own form reads right."""
    h = harness
    olga = await staff(h.db, OLGA, "ru")
    stranger = {"type": "user", "sender_user": TgUser(555_003, "Незнакомец").as_dict()}
    [offer] = await h.send(forward(OLGA, "Добрый день", stranger))
    assert offer.text == (
        "Среди ваших контактов пока нет такого человека: <b>Незнакомец</b>. "
        "Добавить его или выбрать контакт?"
    )
    await contacts.create(h.db.uow(), olga, ContactInput(name="Петр (раб.)", tg_user_id=CLIENT.id))
    await contacts.create(h.db.uow(), olga, ContactInput(name="Петр", tg_username="petr_sidorov"))
    origin = {"type": "user", "sender_user": CLIENT.as_dict()}
    [ask] = await h.send(forward(OLGA, "Привет", origin))
    assert ask.text == (
        "Подходят несколько ваших контактов (написал: <b>Petr Sidorov</b>). Кто из них?"
    )


async def test_a_forward_or_a_shared_contact_ends_a_pending_dialog(harness: Harness) -> None:
    """The bot asks a shared contact's company; the next message is a forwarded client
    message: it is handled as a forward, not offered as a company name."""
    h = harness
    anna = await staff(h.db, ANNA)
    await companies.create(h.db.uow(), anna, CompanyInput(name="Romashka"))
    [ask_company] = await h.send(contact_update(ANNA, "+44 20 7946 0958", "John"))
    assert ask_company.text.startswith("Which company does <b>John</b> work for?")
    origin = {"type": "user", "sender_user": CLIENT.as_dict()}
    [offer] = await h.send(forward(ANNA, "Hi, it's Petr", origin))
    assert offer.text == (
        "<b>Petr Sidorov</b> is not among your contacts yet. Add them, or pick a contact?"
    )
    # the same while a forward waits: a shared contact card is taken as itself
    [ask_again] = await h.send(contact_update(ANNA, "+7 912 345-67-89", "Ivan"))
    assert ask_again.text.startswith("Which company does <b>Ivan</b> work for?")
    [card] = await h.send(press(ANNA, ask_again, "No company"))
    assert card.text.startswith("Contact added.\n\n👤 <b>Ivan</b>")
    assert await all_companies(h.db) == [("Romashka", None, None, anna.id)]
    assert [c["name"] for c in await all_contacts(h.db)] == ["Ivan"]


async def test_forward_from_a_hidden_user(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    ivan = await contacts.create(h.db.uow(), anna, ContactInput(name="Ivan Petrov"))
    hidden = {"type": "hidden_user", "sender_user_name": "Ivan Petrov"}
    [ask] = await h.send(forward(ANNA, "Call me back", hidden))
    assert ask.text == (
        "<b>Ivan Petrov</b> hides their account, so I cannot tell for sure who this is.\n"
        "Your contacts with a name like that:"
    )
    assert labels(ask) == [
        "👤 Ivan Petrov",
        "➕ New contact “Ivan Petrov”",
        "🔍 Find another contact",
        "✖ Cancel",
    ]
    assert await all_interactions(h.db) == []
    [done] = await h.send(press(ANNA, ask, "👤 Ivan Petrov"))
    assert done.text.startswith("✅ Logged: 💬 message, incoming — Ivan Petrov, 10.01.2025")
    assert [i[3] for i in await all_interactions(h.db)] == [ivan.id]

    # nobody of that name: the user searches by a part of the name
    hidden = {"type": "hidden_user", "sender_user_name": "Вася 🦊"}
    [ask] = await h.send(forward(ANNA, "привет", hidden))
    assert ask.text.endswith("Send a part of the contact's name, and I will find them.")
    [nothing] = await h.send(message_update(ANNA, "Zzyzx"))
    assert nothing.text.startswith("No contact like “Zzyzx” among yours.")
    [found] = await h.send(message_update(ANNA, "petrov"))
    assert found.text == "Which one wrote this?"
    [done] = await h.send(press(ANNA, found, "Ivan Petrov"))
    assert done.text == (
        "✅ Logged: 💬 message, incoming — Ivan Petrov, 10.01.2025 (Fri) 10:00.\nпривет"
    )
    assert [i[3] for i in await all_interactions(h.db)] == [ivan.id, ivan.id]


async def test_forward_from_a_channel_or_chat_is_refused_politely(harness: Harness) -> None:
    h = harness
    await staff(h.db, ANNA)
    await staff(h.db, OLGA, language="ru")
    channel = {
        "type": "channel",
        "chat": {"id": -100123, "type": "channel", "title": "News"},
        "message_id": 5,
    }
    [refusal] = await h.send(forward(ANNA, "Big news", channel))
    assert refusal.text.startswith("This message was forwarded from a chat or a channel")
    chat = {"type": "chat", "sender_chat": {"id": -100456, "type": "supergroup", "title": "G"}}
    [refusal] = await h.send(forward(OLGA, "Новости", chat))
    assert refusal.text.startswith("Это сообщение переслано из чата или канала")
    assert await all_interactions(h.db) == [] and await all_contacts(h.db) == []


async def test_forwarded_text_too_long_for_a_summary_is_shortened(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    await contacts.create(h.db.uow(), anna, ContactInput(name="Petr", tg_user_id=CLIENT.id))
    origin = {"type": "user", "sender_user": CLIENT.as_dict()}
    await h.send(forward(ANNA, "ж" * 10_000, origin))
    [(_, _, summary, _, _)] = await all_interactions(h.db)
    assert len(summary) == 4000 and summary.endswith("…")


async def test_another_manager_cannot_use_replayed_buttons(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    await staff(h.db, BORIS)
    company = await companies.create(h.db.uow(), anna, CompanyInput(name="Romashka"))
    ivan = await contacts.create(h.db.uow(), anna, ContactInput(name="Ivan Petrov"))

    # Boris forwards a message, then presses a button built with Anna's contact id
    origin = {"type": "user", "sender_user": CLIENT.as_dict()}
    await h.send(forward(BORIS, "hello", origin))
    assert await h.send(callback_update(BORIS, ForwardCb(action="pick", id=ivan.id).pack())) == []
    assert h.stub.alerts()[-1] == "Not found, or you have no access to it."

    # ... and a company button of Anna's in his own /contact dialog
    await h.send(message_update(BORIS, "/contact"))
    await h.send(message_update(BORIS, "Spy"))
    await h.send(callback_update(BORIS, ContactFormCb(action="skip").pack()))
    await h.send(callback_update(BORIS, ContactFormCb(action="skip").pack()))
    replay = ContactFormCb(action="co", id=company.id).pack()
    assert await h.send(callback_update(BORIS, replay)) == []
    assert h.stub.alerts()[-1] == "Not found, or you have no access to it."

    # Boris's duplicate check names only who serves Anna's company: nothing else of it
    [card] = await h.send(message_update(BORIS, "/company Romashka"))
    assert card.text.startswith("This client is already served by Anna")
    async with h.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Interaction)) == 0
        assert await uow.session.scalar(select(func.count()).select_from(Contact)) == 1
