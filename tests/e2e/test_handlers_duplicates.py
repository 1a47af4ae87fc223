"""Duplicate control through the real dispatcher: a client someone else serves, asked for
and transferred or declined; /duplicates."""

from __future__ import annotations

from sqlalchemy import select

from crm.models import ClientRequest, Company, Contact
from crm.services import companies
from crm.services.companies import CompanyInput
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
