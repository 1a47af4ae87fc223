"""/find, the cards and their buttons, through the real dispatcher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from crm.access import Actor
from crm.models import Claim, Company, Contact, utcnow
from crm.services import companies, contacts, deals, interactions
from crm.services.companies import CompanyInput
from crm.services.contacts import ContactInput
from crm.services.deals import DealInput
from crm.services.interactions import InteractionInput
from crm.storage import Database
from handlers.cards.callbacks import CardCb, ContactsCb, EditCb, HistoryCb, StageCb
from tests.fixtures import factories
from tests.fixtures.bot_harness import Harness, only_a_hint, press, replay
from tests.fixtures.botapi_stub import Sent, TgUser, callback_update, message_update

ANNA = TgUser(8101, "Anna", language_code="en")
BORIS = TgUser(8102, "Boris", language_code="en")
OLGA = TgUser(8103, "Olga", language_code="ru")
DENIED = "Not found, or you have no access to it."


async def staff(db: Database, user: TgUser, language: str = "en") -> Actor:
    return await factories.staff(db, name=user.first_name, language=language, tg_id=user.id)


def labels(sent: Sent) -> list[str]:
    return [b["text"] for row in sent.buttons for b in row]


async def romashka(db: Database, anna: Actor) -> Company:
    company = await companies.create(
        db.uow(),
        anna,
        CompanyInput(name="Romashka", industry="construction", territory="Moscow"),
    )
    await contacts.create(
        db.uow(),
        anna,
        ContactInput(name="Ivan Petrov", phone="+79123456789", company_id=company.id),
    )
    await deals.open(
        db.uow(), anna, DealInput(company_id=company.id, title="Pumps", amount=Decimal("1500"))
    )
    await interactions.log(
        db.uow(),
        anna,
        InteractionInput(
            kind="call",
            direction="out",
            summary="Intro call",
            company_id=company.id,
            occurred_at=datetime(2025, 1, 10, 7, 0, tzinfo=UTC),
        ),
    )
    async with db.uow() as uow:
        uow.session.add(
            Claim(
                company_id=company.id,
                text="Late delivery",
                due_at=datetime(2030, 3, 1, 21, 30, tzinfo=UTC),
                responsible_id=anna.id,
            )
        )
        await uow.commit()
    return company


async def test_find_with_a_typo_opens_a_full_company_card(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    company = await romashka(h.db, anna)

    [results] = await h.send(message_update(ANNA, "/find Romahska"))
    assert results.text == "Found for “Romahska”:"
    assert labels(results)[0] == "🏢 Romashka"

    [card] = await h.send(press(ANNA, results, "Romashka"))
    assert card.text.splitlines()[:6] == [
        "🏢 <b>Romashka</b>",
        "Curator: Anna",
        "Stage: potential",
        "Industry: construction",
        "Territory: Moscow",
        "",
    ]
    assert "Contacts (1): Ivan Petrov" in card.text
    assert "Open deals: 1 for 1 500.00\n • Pumps — 1 500.00, lead" in card.text
    # 07:00 UTC in Moscow, the manager's timezone
    assert " • 10.01.2025 10:00 📞 call, outgoing — Intro call" in card.text
    # the open claim is a button that opens it, not a line of the text
    assert "Late delivery" not in card.text
    assert any(label.endswith(": Late delivery") for label in labels(card))
    # rows other areas add to a card (CARD_ROWS) come after these
    assert labels(card)[:5] == [
        "✍ Log interaction",
        "💼 New deal",
        "👤 Contacts (1)",
        "🕘 History",
        "✏ Edit",
    ]
    assert card.button("New deal")["callback_data"] == f"nd:{company.id}"


async def test_find_a_contact_and_a_deal_by_phone_and_title(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    await romashka(h.db, anna)

    [results] = await h.send(message_update(ANNA, "/find 8 912 345 67 89"))
    [card] = await h.send(press(ANNA, results, "Ivan Petrov"))
    assert card.text.startswith("👤 <b>Ivan Petrov</b>\nCompany: Romashka\nPhone: +79123456789")
    assert "Log interaction" in labels(card)[0]
    [company_card] = await h.send(press(ANNA, card, "Company"))
    assert company_card.text.startswith("🏢 <b>Romashka</b>")

    [results] = await h.send(message_update(ANNA, "/find pumps"))
    [deal] = await h.send(press(ANNA, results, "Pumps"))
    assert deal.text.startswith(
        "💼 <b>Pumps</b>\nCompany: Romashka\nStage: Lead\nAmount: 1 500.00\nProbability: 10%"
    )
    assert "Stage changes" in deal.text


async def test_find_asks_when_empty_and_hints_when_too_short_or_long(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    await romashka(h.db, anna)

    [prompt] = await h.send(message_update(ANNA, "/find"))
    assert prompt.text == "What are you looking for? Send a part of a name, a phone or an email."
    [results] = await h.send(message_update(ANNA, "ivan"))
    assert labels(results) == ["👤 Ivan Petrov, Romashka"]
    assert only_a_hint(await h.send(message_update(ANNA, "ivan")))  # the dialog is over

    [hint] = await h.send(message_update(ANNA, "/find r"))
    assert hint.text.startswith("Send at least 2 characters")
    [long] = await h.send(message_update(ANNA, "/find " + "я" * 10_000))
    assert long.text == "The query is too long (at most 100 characters)."
    [none] = await h.send(message_update(ANNA, "/find Zzyzx 🦄 Ёжик"))
    assert none.text.startswith("Nothing found for “Zzyzx 🦄 Ёжик”.")

    [prompt] = await h.send(message_update(ANNA, "/find"))
    [cancelled] = await h.send(press(ANNA, prompt, "Cancel"))
    assert cancelled.text == "Cancelled. Nothing was saved."
    assert only_a_hint(await h.send(message_update(ANNA, "ivan")))


async def test_find_in_russian(harness: Harness) -> None:
    h = harness
    olga = await staff(h.db, OLGA, language="ru")
    await companies.create(h.db.uow(), olga, CompanyInput(name="Ромашка"))
    [results] = await h.send(message_update(OLGA, "/find ромашк"))
    assert results.text == "Найдено по запросу «ромашк»:"
    [card] = await h.send(press(OLGA, results, "Ромашка"))
    assert card.text.splitlines()[:3] == [
        "🏢 <b>Ромашка</b>",
        "Куратор: Olga",
        "Этап: потенциальный",
    ]
    assert "Взаимодействий пока нет." in card.text
    assert labels(card)[:2] == ["✍ Записать взаимодействие", "💼 Новая сделка"]
    [none] = await h.send(message_update(OLGA, "/find Xyzzy"))
    assert none.text.startswith("По запросу «Xyzzy» ничего не найдено.")


async def test_contacts_of_a_company_are_paged(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    company = await companies.create(h.db.uow(), anna, CompanyInput(name="Big Corp"))
    for i in range(10):
        await contacts.create(
            h.db.uow(), anna, ContactInput(name=f"Person {i:02d}", company_id=company.id)
        )
    [results] = await h.send(message_update(ANNA, "/find big corp"))
    [card] = await h.send(press(ANNA, results, "Big Corp"))
    assert "Contacts (10): Person 00, Person 01, Person 02, Person 03, Person 04…" in card.text

    [page1] = await h.send(press(ANNA, card, "Contacts (10)"))
    assert page1.method == "editMessageText" and page1.message_id == card.message_id
    assert page1.text == "<b>Contacts</b> (10)"
    assert labels(page1)[:8] == [f"👤 Person {i:02d}" for i in range(8)]
    assert labels(page1)[8:] == ["1/2", "»", "« Back to the card"]
    [page2] = await h.send(press(ANNA, page1, "»"))
    assert labels(page2) == ["👤 Person 08", "👤 Person 09", "«", "2/2", "« Back to the card"]
    [person] = await h.send(press(ANNA, page2, "Person 09"))
    assert person.text.startswith("👤 <b>Person 09</b>\nCompany: Big Corp")
    [back] = await h.send(press(ANNA, page2, "Back to the card"))
    assert back.text.startswith("🏢 <b>Big Corp</b>")


async def test_edit_a_company_and_a_contact_from_their_cards(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    company = await romashka(h.db, anna)
    [results] = await h.send(message_update(ANNA, "/find romashka"))
    [card] = await h.send(press(ANNA, results, "🏢 Romashka"))

    [menu] = await h.send(press(ANNA, card, "Edit"))
    assert menu.text == "What to change in <b>Romashka</b>?"
    assert labels(menu) == [
        "Name",
        "Industry",
        "Territory",
        "Tax id (INN)",
        "Notes",
        "Stage",
        "Parent company",
        "✖ Cancel",
    ]
    [prompt] = await h.send(press(ANNA, menu, "Industry"))
    assert prompt.text == (
        "Send the new value of “Industry”.\nNow: construction\nSend “-” to clear it."
    )
    [wrong] = await h.send(message_update(ANNA, "x" * 10_000))
    assert wrong.text == "Industry: this is too long (at most 100 characters)."
    [saved] = await h.send(message_update(ANNA, "Retail 🛒"))
    assert saved.text.startswith("Saved.\n\n🏢 <b>Romashka</b>")
    assert "Industry: Retail 🛒" in saved.text

    [menu] = await h.send(press(ANNA, card, "Edit"))
    [prompt] = await h.send(press(ANNA, menu, "Territory"))
    [saved] = await h.send(message_update(ANNA, "-"))
    assert "Territory:" not in saved.text
    [menu] = await h.send(press(ANNA, card, "Edit"))
    [stages] = await h.send(press(ANNA, menu, "Stage"))
    [saved] = await h.send(press(ANNA, stages, "regular"))
    assert "Stage: regular" in saved.text
    async with h.db.uow() as uow:
        row = await uow.session.get(Company, company.id)
        assert row is not None
        assert (row.industry, row.territory, row.stage) == ("Retail 🛒", None, "regular")

    [results] = await h.send(message_update(ANNA, "/find ivan"))
    [contact] = await h.send(press(ANNA, results, "Ivan Petrov"))
    [menu] = await h.send(press(ANNA, contact, "Edit"))
    [prompt] = await h.send(press(ANNA, menu, "Email"))
    [wrong] = await h.send(message_update(ANNA, "ivan@@example"))
    assert wrong.text == "Email: this does not look like an email address."
    [saved] = await h.send(message_update(ANNA, "Ivan@Example.com"))
    assert "Email: Ivan@example.com" in saved.text
    [menu] = await h.send(press(ANNA, contact, "Edit"))
    [prompt] = await h.send(press(ANNA, menu, "Name"))
    [cancelled] = await h.send(press(ANNA, prompt, "Cancel"))  # back to the contact's card
    assert cancelled.text.startswith("👤 <b>Ivan Petrov</b>\n")
    assert only_a_hint(await h.send(message_update(ANNA, "Somebody Else")))
    async with h.db.uow() as uow:
        names = list(await uow.session.scalars(select(Contact.name)))
    assert names == ["Ivan Petrov"]


async def test_another_manager_finds_nothing_and_replayed_buttons_are_refused(
    harness: Harness,
) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    await staff(h.db, BORIS)
    company = await romashka(h.db, anna)
    async with h.db.uow() as uow:
        contact_id = await uow.session.scalar(select(Contact.id))
    assert contact_id is not None

    [nothing] = await h.send(message_update(BORIS, "/find Romashka"))
    assert nothing.text.startswith("Nothing found for “Romashka”.")
    [nothing] = await h.send(message_update(BORIS, "/find 89123456789"))
    assert nothing.text.startswith("Nothing found")

    replays = [
        CardCb(kind="co", id=company.id),
        CardCb(kind="ct", id=contact_id),
        ContactsCb(company_id=company.id),
        HistoryCb(kind="co", id=company.id),
        EditCb(kind="co", id=company.id),
        EditCb(kind="co", id=company.id, field="name"),
        EditCb(kind="ct", id=contact_id, field="phone"),
        StageCb(company_id=company.id),
        StageCb(company_id=company.id, stage="lost"),
    ]
    for data in replays:
        shown = await h.send(callback_update(BORIS, data.pack()))
        assert shown == [], data
        assert h.stub.alerts()[-1] == DENIED, data
    # a replayed edit did not leave a dialog behind that would take the next message
    assert only_a_hint(await h.send(message_update(BORIS, "Hacked")))
    async with h.db.uow() as uow:
        row = await uow.session.get(Company, company.id)
        assert row is not None and (row.name, row.stage) == ("Romashka", "potential")


async def test_the_last_interactions_on_a_card_come_newest_first(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    company = await companies.create(h.db.uow(), anna, CompanyInput(name="Lastco"))
    now = utcnow()
    for days, summary in ((3, "oldest"), (2, "older"), (1, "newer"), (0, "newest")):
        await interactions.log(
            h.db.uow(),
            anna,
            InteractionInput(
                kind="email",
                direction="in",
                summary=summary,
                company_id=company.id,
                occurred_at=now - timedelta(days=days),
            ),
        )
    [results] = await h.send(message_update(ANNA, "/find lastco"))
    [card] = await h.send(press(ANNA, results, "Lastco"))
    shown = [line.rsplit("— ", 1)[1] for line in card.text.splitlines() if "✉️" in line]
    assert shown == ["newest", "newer", "older"]


async def test_deal_hits_show_their_company_and_amount(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    olga = await staff(h.db, OLGA, language="ru")
    for owner, name, amount in (
        (anna, "Romashka", "150000"),
        (anna, "Vasilek", "98000.5"),
        (olga, "Лютик", "1200"),
    ):
        company = await companies.create(h.db.uow(), owner, CompanyInput(name=name))
        await deals.open(
            h.db.uow(), owner, DealInput(company.id, "Warehouse equipment", Decimal(amount))
        )

    [results] = await h.send(message_update(ANNA, "/find warehouse equipment"))
    assert sorted(labels(results)) == [
        "💼 Warehouse equipment — Romashka, 150 000.00",
        "💼 Warehouse equipment — Vasilek, 98 000.50",
    ]
    [card] = await h.send(press(ANNA, results, "Vasilek"))
    assert card.text.startswith("💼 <b>Warehouse equipment</b>\nCompany: Vasilek")

    [results] = await h.send(message_update(OLGA, "/find warehouse"))
    assert labels(results) == ["💼 Warehouse equipment — Лютик, 1 200,00"]


async def test_cards_name_related_records_only_to_who_may_see_them(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    boris = await staff(h.db, BORIS)
    olga = await staff(h.db, OLGA, language="ru")
    holding = await factories.raw_company(h.db, boris, "Boris Holding")
    child = await factories.add_company(h.db, anna.id, "Child", parent_id=holding.id)
    ivan = await factories.raw_contact(h.db, anna, "Ivan", company_id=holding.id)
    ivan_ru = await factories.raw_contact(h.db, olga, "Иван", company_id=holding.id)

    [card] = await h.send(replay(ANNA, CardCb(kind="co", id=child.id).pack()))
    assert card.text.startswith("🏢 <b>Child</b>")
    assert "Boris Holding" not in card.text and "Parent company" not in card.text
    [card] = await h.send(replay(ANNA, CardCb(kind="ct", id=ivan.id).pack()))
    assert card.text.startswith("👤 <b>Ivan</b>\nCurator: Anna")
    assert "Boris Holding" not in card.text
    assert not any("Company" in label for label in labels(card))

    [card] = await h.send(replay(OLGA, CardCb(kind="ct", id=ivan_ru.id).pack()))
    assert card.text.startswith("👤 <b>Иван</b>\nКуратор: Olga")
    assert "Boris Holding" not in card.text
