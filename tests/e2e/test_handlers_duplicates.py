"""Duplicate control through the real dispatcher: a client someone else serves, asked for
and transferred or declined; /duplicates."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import ClientRequest, Company, Contact
from crm.services import companies
from crm.services.companies import CompanyInput
from tests.fixtures import factories
from tests.fixtures.bilingual import ANNA, BORIS, DINA, EVA, HELEN, team
from tests.fixtures.bot_harness import Harness, labels
from tests.fixtures.botapi_stub import message_update, press
from tests.fixtures.queries import count


async def test_a_client_of_another_department_is_asked_for_and_transferred(
    harness: Harness,
) -> None:
    h = harness
    t = await team(h.db)
    yantar = await companies.create(h.db.uow(), t.anna, CompanyInput(name="ЯнтарьОпт"))

    [served] = await h.send(
        message_update(BORIS, "/contact Test Person; +49 30 1234567; t@x.de; АО «ЯнтарьОпт»")
    )
    assert served.text == "This client is already served by Anna (Sales)."
    assert labels(served) == ["🙋 Ask for this client", "✖ Cancel"]
    assert (await count(h.db, Company), await count(h.db, Contact)) == (1, 0)
    [served] = await h.send(message_update(BORIS, "/company Yantar Opt"))
    assert served.text == "This client is already served by Anna (Sales)."

    [sent] = await h.send(press(BORIS, served, "Ask for this client"))
    assert sent.text == "Your request was sent to Helen. You will get an answer here."
    [asked] = h.stub.sent_to(HELEN.id)
    assert asked.text == (
        "<b>A client is asked for</b>\nBoris asks for «ЯнтарьОпт», served by Anna. "
        "Transfer the client to Boris?"
    )
    assert labels(asked) == ["✅ Transfer", "❌ Decline"]

    [verdict] = await h.send(press(HELEN, asked, "Transfer"))
    assert verdict.text == "Transferred: «ЯнтарьОпт» is now served by Boris."
    assert h.stub.texts_to(BORIS.id)[-1] == "Helen transferred «ЯнтарьОпт» to you."
    async with h.db.uow() as uow:
        company = await uow.session.get(Company, yantar.id)
        assert company is not None and company.curator_id == t.boris.id

    assert await h.send(press(HELEN, asked, "Transfer")) == []  # pressed twice: nothing moves
    assert h.stub.alerts()[-1] == "This request has already been decided."


async def test_in_russian_the_request_goes_to_the_directors_and_is_declined(
    harness: Harness,
) -> None:
    h = harness
    t = await team(h.db)
    await companies.create(h.db.uow(), t.boris, CompanyInput(name="Василёк"))  # Other: no head

    [served] = await h.send(message_update(ANNA, "/company ООО «Василек»"))
    assert served.text == "Этого клиента уже ведёт Boris (Other)."
    assert labels(served) == ["🙋 Попросить этого клиента", "✖ Отмена"]
    [sent] = await h.send(press(ANNA, served, "Попросить"))
    assert sent.text == "Запрос отправлен: Dina, Eva. Ответ придёт сюда."
    [asked_dina] = h.stub.sent_to(DINA.id)
    assert asked_dina.text.startswith("<b>Запрос клиента</b>\nAnna просит клиента «Василёк»")
    [asked_eva] = h.stub.sent_to(EVA.id)
    assert asked_eva.text.startswith("<b>A client is asked for</b>\nAnna asks for «Василёк»")

    [verdict] = await h.send(press(DINA, asked_dina, "Отказать"))
    assert verdict.text == "Отказано: «Василёк» остаётся у своего куратора."
    assert h.stub.texts_to(ANNA.id)[-1] == "Dina отказал(а) в вашем запросе клиента «Василёк»."
    async with h.db.uow() as uow:
        status = await uow.session.scalar(select(ClientRequest.status))
        assert status == "declined"
        curators = set(await uow.session.scalars(select(Company.curator_id)))
        assert curators == {t.boris.id}


async def test_a_client_within_reach_is_offered(harness: Harness) -> None:
    h = harness
    await team(h.db)
    await h.send(message_update(ANNA, "/company Ромашка"))
    [asked] = await h.send(message_update(HELEN, "/company ООО Ромашка"))  # Anna's head
    assert asked.text == (
        "You already have a company named <b>Ромашка</b>. Open it, or create another one?"
    )
    assert labels(asked)[:2] == ["🏢 Open it", "➕ Create anyway"]


async def test_duplicates_merge_with_a_chosen_value_then_undo(harness: Harness) -> None:
    h = harness
    t = await team(h.db)
    one = await factories.add_company(h.db, t.anna.id, "Romashka", industry="Retail")
    two = await factories.add_company(h.db, t.emily.id, "ООО Ромашка", industry="Wholesale")
    await factories.raw_contact(h.db, t.emily, "Ivan", two.id)

    [pair] = await h.send(message_update(HELEN, "/duplicates"))
    assert pair.text.splitlines() == [
        "<b>Companies: candidate duplicates 1 of 1</b>",
        f"1. Romashka (#{one.id})",
        f"2. ООО Ромашка (#{two.id})",
        "Evidence: the same name.",
    ]
    [screen] = await h.send(press(HELEN, pair, "Keep 1"))
    assert "Industry: Retail" in labels(screen)
    [screen] = await h.send(press(HELEN, screen, "Industry: Retail"))  # take the other value
    assert "Industry: Wholesale" in labels(screen)
    [done] = await h.send(press(HELEN, screen, "Merge"))
    assert done.text.startswith("Merged: «ООО Ромашка» is now part of «Romashka»")
    async with h.db.uow() as uow:
        kept = await uow.session.get(Company, one.id)
        assert kept is not None and kept.industry == "Wholesale"
        assert await uow.session.get(Company, two.id) is None
        assert set(await uow.session.scalars(select(Contact.company_id))) == {one.id}

    [undone] = await h.send(press(HELEN, done, "Undo"))
    assert undone.text == "Merge undone: both records are back as they were."
    async with h.db.uow() as uow:
        back = await uow.session.get(Company, two.id)
        assert back is not None and back.industry == "Wholesale"
        kept = await uow.session.get(Company, one.id)
        assert kept is not None and kept.industry == "Retail"


async def test_duplicates_in_russian_not_a_duplicate_and_managers_refused(
    harness: Harness,
) -> None:
    h = harness
    t = await team(h.db)
    await factories.add_company(h.db, t.anna.id, "Ромашка")
    await factories.add_company(h.db, t.boris.id, "Ромашки")  # another department
    [pair] = await h.send(message_update(DINA, "/duplicates"))  # a director sees both
    assert pair.text.startswith("<b>Компании: возможные дубли, 1 из 1</b>")
    assert pair.text.endswith("Признаки: похожее название.")
    [empty] = await h.send(press(DINA, pair, "Не дубль"))
    assert empty.text == "Среди компаний возможных дублей нет."
    assert h.stub.alerts()[-1] == "Отмечено: эта пара больше не будет предложена."

    [helen_sees] = await h.send(message_update(HELEN, "/duplicates"))  # Sales only: no pair
    assert helen_sees.text == "No candidate duplicates among the companies."
    [refused] = await h.send(message_update(ANNA, "/duplicates"))
    assert refused.text == "Не найдено, или у вас нет к этому доступа."
