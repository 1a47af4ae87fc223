"""✏ Edit → Parent company on a company card (handlers/cards/parent.py), and what the
card then shows of the holding, through the real dispatcher in English and Russian."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import Company
from crm.services import companies
from crm.services.companies import CompanyInput
from crm.storage import Database
from handlers.cards.callbacks import ParentCb
from tests.fixtures.bilingual import ANNA, BORIS, DINA, EMILY, team
from tests.fixtures.bot_harness import Harness, labels, only_a_hint, press
from tests.fixtures.botapi_stub import TgUser, callback_update, message_update

DENIED = "Not found, or you have no access to it."


async def parent_of(db: Database, company_id: int) -> int | None:
    async with db.uow() as uow:
        return await uow.session.scalar(select(Company.parent_id).where(Company.id == company_id))


async def open_card(h: Harness, user: TgUser, name: str):  # type: ignore[no-untyped-def]
    [results] = await h.send(message_update(user, f"/find {name}"))
    [card] = await h.send(press(user, results, name))
    return card


async def test_a_parent_is_picked_refused_in_a_loop_and_cleared(harness: Harness) -> None:
    h = harness
    people = await team(h.db)
    group, retail, logistics = [
        await companies.create(h.db.uow(), people.emily, CompanyInput(name=name))
        for name in ("Northwind Group", "Northwind Retail", "Northwind Logistics")
    ]
    secret = await companies.create(h.db.uow(), people.boris, CompanyInput(name="Northwind Secret"))

    card = await open_card(h, EMILY, "Northwind Retail")
    [menu] = await h.send(press(EMILY, card, "Edit"))
    assert "Parent company" in labels(menu)
    [ask] = await h.send(press(EMILY, menu, "Parent company"))
    assert ask.text == (
        "Parent company of <b>Northwind Retail</b>: now none.\n"
        "Send a part of the parent company's name to search."
    )
    assert labels(ask) == ["✖ Cancel"]
    [again] = await h.send(message_update(EMILY, "zzzz"))
    assert again.text.startswith("No company like “zzzz” among those you see.\nParent company of")
    [choices] = await h.send(message_update(EMILY, "northwind"))
    assert choices.text == (
        "Which one is the parent company? Companies like “northwind”:\n"
        "Or send another part of the name."
    )
    offered = labels(choices)
    assert sorted(offered[:-2]) == ["Northwind Group", "Northwind Logistics"]
    assert offered[-2:] == ["« Back", "✖ Cancel"]
    # a company that was not offered (Boris's) cannot be crafted into the dialog
    await h.send(callback_update(EMILY, ParentCb(action="pick", id=secret.id).pack()))
    assert h.stub.alerts()[-1] == DENIED
    assert await parent_of(h.db, retail.id) is None

    [saved] = await h.send(press(EMILY, choices, "Northwind Group"))
    assert saved.text.startswith("Saved.\n\n🏢 <b>Northwind Retail</b>")
    assert "Parent company: Northwind Group" in saved.text
    assert await parent_of(h.db, retail.id) == group.id
    await h.send(press(EMILY, choices, "Northwind Logistics"))  # the dialog is over
    assert h.stub.alerts()[-1] == "This dialog is over."
    assert await parent_of(h.db, retail.id) == group.id

    group_card = await open_card(h, EMILY, "Northwind Group")
    assert "Subsidiaries (1): Northwind Retail" in group_card.text
    [menu] = await h.send(press(EMILY, group_card, "Edit"))
    [ask] = await h.send(press(EMILY, menu, "Parent company"))
    [choices] = await h.send(message_update(EMILY, "retail"))
    assert [await h.send(press(EMILY, choices, "Northwind Retail"))] == [[]]
    assert h.stub.alerts()[-1] == (
        "Parent company: a company cannot belong to itself or to a company that belongs to it."
    )
    assert await parent_of(h.db, group.id) is None
    [back] = await h.send(press(EMILY, choices, "Back"))
    assert back.text.startswith("Parent company of <b>Northwind Group</b>: now none.")
    [cancelled] = await h.send(press(EMILY, back, "Cancel"))  # back to the company's card
    assert cancelled.text.startswith("🏢 <b>Northwind Group</b>\n")
    assert h.stub.alerts()[-1] == "Cancelled. Nothing was saved."
    assert only_a_hint(await h.send(message_update(EMILY, "northwind")))

    card = await open_card(h, EMILY, "Northwind Retail")
    [menu] = await h.send(press(EMILY, card, "Edit"))
    [ask] = await h.send(press(EMILY, menu, "Parent company"))
    assert ask.text.startswith("Parent company of <b>Northwind Retail</b>: now Northwind Group.")
    [cleared] = await h.send(press(EMILY, ask, "No parent company"))
    assert cleared.text.startswith("Saved.\n\n🏢 <b>Northwind Retail</b>")
    assert "Parent company" not in cleared.text
    assert await parent_of(h.db, retail.id) is None
    assert logistics.id


async def test_in_russian_and_a_parent_someone_else_curates_stays_unnamed(
    harness: Harness,
) -> None:
    h = harness
    people = await team(h.db)
    holding = await companies.create(h.db.uow(), people.boris, CompanyInput(name="Холдинг Север"))
    daughter = await companies.create(h.db.uow(), people.anna, CompanyInput(name="Ромашка"))
    sister = await companies.create(h.db.uow(), people.anna, CompanyInput(name="Лютик"))
    await companies.update(h.db.uow(), people.dina, daughter.id, parent_id=holding.id)

    card = await open_card(h, ANNA, "Лютик")
    [menu] = await h.send(press(ANNA, card, "Изменить"))
    [ask] = await h.send(press(ANNA, menu, "Головная компания"))
    assert ask.text == (
        "Головная компания <b>Лютик</b>: сейчас нет.\n"
        "Пришлите часть названия головной компании для поиска."
    )
    [choices] = await h.send(message_update(ANNA, "ромашка"))
    assert labels(choices) == ["Ромашка", "« Назад", "✖ Отмена"]
    [saved] = await h.send(press(ANNA, choices, "Ромашка"))
    assert saved.text.startswith("Сохранено.\n\n🏢 <b>Лютик</b>")
    assert "Головная компания: Ромашка" in saved.text
    assert await parent_of(h.db, sister.id) == daughter.id

    # Ромашка belongs to Boris's holding: Anna sees her subsidiary, not the holding's name
    card = await open_card(h, ANNA, "Ромашка")
    assert "Дочерние компании (1): Лютик" in card.text
    assert "Холдинг" not in card.text
    [menu] = await h.send(press(ANNA, card, "Изменить"))
    [ask] = await h.send(press(ANNA, menu, "Головная компания"))
    assert "сейчас компания, которую вы не видите" in ask.text
    assert "Холдинг" not in ask.text
    # the director sees it all
    [results] = await h.send(message_update(DINA, "/find Ромашка"))
    [card] = await h.send(press(DINA, results, "🏢 Ромашка"))
    assert "Головная компания: Холдинг Север" in card.text
    [results] = await h.send(message_update(BORIS, "/find Север"))
    [card] = await h.send(press(BORIS, results, "Холдинг Север"))
    assert "Subsidiaries" not in card.text  # Boris does not see Anna's Ромашка
