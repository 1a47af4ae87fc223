"""/mailing through the real dispatcher: the segment, the subject and the text with
fields, the preview, a test to oneself, the send; the emails as a real SMTP server
(aiosmtpd) receives them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from crm.access import Actor
from crm.models import Interaction, OutboundEmail
from crm.settings import Settings
from crm.storage import Database
from handlers.mailings.dialog import MailingCb
from notifications import email as mailer
from tests.fixtures.bilingual import ANNA, BORIS, EMILY, team
from tests.fixtures.bot_harness import REFUSAL, Harness, labels, last_alert, press, replay
from tests.fixtures.botapi_stub import message_update
from tests.fixtures.events import company, contact
from tests.fixtures.queries import count
from tests.fixtures.smtp_server import SmtpServer

BODY = "Dear {{ contact.first_name }},\nour prices for {{ company.name }}.\n{{ manager.name }}"


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
        smtp_from="Sales <sales@example.com>",
    )


async def clients_of(db: Database, actor: Actor) -> int:
    steel = await company(db, actor, "Steel", stage="regular", industry="Metal")
    wood = await company(db, actor, "Wood", stage="potential")
    await contact(db, actor, "Ivan Petrov", "ivan@steel.example", steel.id)
    await contact(db, actor, "Olga Orlova", "olga@steel.example", steel.id)
    await contact(db, actor, "Gone", "gone@steel.example", steel.id, opted_out=True)
    await contact(db, actor, "Petr", "petr@wood.example", wood.id)
    return steel.id


async def test_a_mailing_with_a_test_to_oneself_in_english(harness: Harness, smtp) -> None:
    h = harness
    w = await team(h.db)
    await clients_of(h.db, w.emily)
    [menu] = await h.send(message_update(EMILY, "/mailing"))
    assert menu.text.startswith("✉ New mailing. To whom?")
    assert labels(menu) == [
        "All my clients",
        "Potential clients",
        "One-time clients",
        "Regular clients",
        "By industry",
        "By territory",
        "By company",
        "Cancel",
    ]
    [ask] = await h.send(press(EMILY, menu, "Regular clients"))
    assert ask.text.startswith("To: Regular clients\nThe subject of the email?")
    assert "<code>{{ company.name }}</code>" in ask.text
    [bad] = await h.send(message_update(EMILY, "News for {{ company.nam"))
    assert bad.text.startswith("Template: there is a mistake at line 1:")
    await h.send(message_update(EMILY, "News for {{ company.name }}"))
    [bad] = await h.send(message_update(EMILY, "Dear {{ contact.salary }}"))
    assert bad.text.startswith("Template: it names a field that does not exist")
    [preview] = await h.send(message_update(EMILY, BODY))
    assert preview.text.startswith(
        "<b>Preview</b>, as Ivan Petrov will read it:\n"
        "To: Regular clients — recipients: 2\n"
        "Subject: News for Steel\n\n"
        "Dear Ivan,\nour prices for Steel.\nEmily"
    )
    assert labels(preview) == ["✉ Send to 2", "🧪 Test to myself", "« Back", "Cancel"]
    assert await count(h.db, OutboundEmail) == 0  # a preview writes nothing

    [where] = await h.send(press(EMILY, preview, "🧪 Test to myself"))
    assert where.text.endswith("Which address should the test go to? Type it.")
    [bad] = await h.send(message_update(EMILY, "not an address"))
    assert bad.text == "Email: this does not look like an email address."
    [preview] = await h.send(message_update(EMILY, "emily@romashka.example"))
    assert preview.text.startswith("Test email queued to emily@romashka.example.\n\n<b>Preview")
    assert (await mailer.deliver_due(h.db, mail_settings(smtp.port))).sent == 1
    [test] = smtp.messages
    assert (test["To"], test["Subject"]) == ("emily@romashka.example", "News for Steel")
    assert await count(h.db, Interaction) == 0  # a test is logged on nobody

    [done] = await h.send(press(EMILY, preview, "✉ Send to 2"))
    assert done.text.startswith(
        "Mailing queued: 2 emails.\nEach one is logged on its contact as an outgoing email."
    )
    assert await count(h.db, Interaction) == 2
    assert (await mailer.deliver_due(h.db, mail_settings(smtp.port))).sent == 2
    letters = {m["To"]: m for m in smtp.messages[1:]}
    assert sorted(letters) == ["ivan@steel.example", "olga@steel.example"]
    olga = letters["olga@steel.example"].get_body(("plain",)).get_content()
    assert olga.startswith("Dear Olga,\nour prices for Steel.\nEmily")
    assert "To receive no more emails from us:" in olga
    # the dialog is over: its buttons send nothing more
    await h.send(press(EMILY, preview, "✉ Send to 2"))
    assert last_alert(h) == "This dialog is over. Start again with /mailing."
    async with h.db.uow() as uow:
        kinds = list(await uow.session.scalars(select(OutboundEmail.kind)))
    assert sorted(kinds) == ["mailing", "mailing", "test"]


async def test_by_company_back_and_cancel_in_russian(harness: Harness) -> None:
    h = harness
    w = await team(h.db)
    await clients_of(h.db, w.anna)
    [menu] = await h.send(message_update(ANNA, "/mailing"))
    assert menu.text.startswith("✉ Новая рассылка. Кому?")
    [companies] = await h.send(press(ANNA, menu, "По компании"))
    assert labels(companies)[:2] == ["Steel", "Wood"]
    [found] = await h.send(message_update(ANNA, "woo"))
    assert labels(found)[0] == "Wood"
    [ask] = await h.send(press(ANNA, found, "Wood"))
    assert ask.text.startswith("Кому: Wood\nТема письма?")
    await h.send(message_update(ANNA, "Новости"))
    [preview] = await h.send(message_update(ANNA, "Здравствуйте, {{ contact.name }}!"))
    assert preview.text.startswith("<b>Предпросмотр</b>: так письмо прочтёт Petr:")
    assert "Кому: Wood — получателей: 1" in preview.text
    [body_q] = await h.send(press(ANNA, preview, "« Назад"))
    assert "Текст письма?" in body_q.text
    [cancelled] = await h.send(press(ANNA, body_q, "Отмена"))
    assert cancelled.text == "Отменено. Ничего не сохранено."
    assert await count(h.db, OutboundEmail) == 0
    [help_text] = await h.send(message_update(ANNA, "/help"))
    assert "/mailing — персональное письмо группе клиентов" in help_text.text


async def test_another_managers_company_is_refused(harness: Harness) -> None:
    h = harness
    w = await team(h.db)
    steel_id = await clients_of(h.db, w.anna)
    await h.send(message_update(BORIS, "/mailing"))
    await h.send(replay(BORIS, MailingCb(action="seg", value=f"co.{steel_id}").pack()))
    assert last_alert(h) == REFUSAL
    assert await count(h.db, OutboundEmail) == 0
