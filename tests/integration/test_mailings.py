"""Mailings: a sandboxed template personalised per contact, a preview, a test to oneself,
the outbox with an unsubscribe link each, an outgoing email interaction per contact."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.web import create_web_app
from crm.errors import AccessDenied, InvalidInput
from crm.models import AuditEntry, Contact, Interaction, Mailing, OutboundEmail
from crm.models.enums import Role
from crm.services import company_settings, mailings
from crm.services.events import Segment
from crm.services.mailings import MailingInput
from crm.settings import Settings
from notifications.outbox_worker import OutboxWorker
from tests.fixtures import factories
from tests.fixtures.events import BASE, SENDER, company, contact
from tests.fixtures.smtp_server import SmtpServer

BODY = "Dear {{ contact.first_name }},\n{{ company.name }} is invited by {{ manager.name }}."


async def world(db):
    anna = await factories.staff(db, name="Anna Smirnova", language="en")
    steel = await company(db, anna, "Steel", stage="regular")
    wood = await company(db, anna, "Wood", stage="potential")
    await contact(db, anna, "Ivan Petrov", "ivan@steel.example", steel.id)
    await contact(db, anna, "Olga Orlova", "olga@wood.example", wood.id)
    await contact(db, anna, "No Mail", None, steel.id)
    await contact(db, anna, "Gone", "gone@steel.example", steel.id, opted_out=True)
    return anna, steel


async def test_preview_renders_for_the_first_recipient(db):
    anna, _steel = await world(db)
    data = MailingInput("News for {{ company.name }}", BODY, Segment("stage", "regular"))
    shown = await mailings.preview(db.uow(), anna, data)
    assert (shown.subject, shown.recipients, shown.sample) == ("News for Steel", 1, "Ivan Petrov")
    assert shown.text.startswith("Dear Ivan,\nSteel is invited by Anna Smirnova.")
    assert "To receive no more emails from us" in shown.text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("Hello {{ contact.salary }}", "unknown_field"),
        ("Hello {{ contact.name ", "syntax"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "invalid"),
    ],
)
async def test_bad_templates_are_refused_before_anything_is_written(db, body, reason):
    anna, _steel = await world(db)
    with pytest.raises(InvalidInput) as err:
        await mailings.send(db.uow(), anna, MailingInput("Hi", body), base_url=BASE, sender=SENDER)
    assert err.value.field == "template" and err.value.reason in (reason, "unknown_field")
    async with db.uow() as uow:
        assert list(await uow.session.scalars(select(OutboundEmail))) == []
        assert list(await uow.session.scalars(select(Mailing))) == []


async def test_send_queues_each_recipient_and_logs_an_outgoing_email(db):
    anna, _steel = await world(db)
    director = await factories.staff(db, Role.DIRECTOR, name="Dora")
    await company_settings.set_mail_setting(db.uow(), director, "sender_name", "Romashka")
    await company_settings.set_mail_setting(db.uow(), director, "signature", "Anna\n+7 900")
    result = await mailings.send(
        db.uow(),
        anna,
        MailingInput("News for {{ company.name }}", BODY),
        base_url=BASE,
        sender=SENDER,
    )
    assert result.queued == 2
    async with db.uow() as uow:
        rows = list(await uow.session.scalars(select(OutboundEmail).order_by(OutboundEmail.id)))
        logged = list(await uow.session.scalars(select(Interaction).order_by(Interaction.id)))
        audited = list(await uow.session.scalars(select(AuditEntry)))
    assert [(r.to_addr, r.subject, r.kind) for r in rows] == [
        ("ivan@steel.example", "News for Steel", "mailing"),
        ("olga@wood.example", "News for Wood", "mailing"),
    ]
    assert all(r.unsubscribe_token and r.mailing_id == result.mailing_id for r in rows)
    assert "Dear Olga,\nWood is invited by Anna Smirnova." in rows[1].body_text
    assert "Anna\n+7 900" in rows[1].body_text
    assert f"{BASE}/unsubscribe/{rows[1].unsubscribe_token}" in (rows[1].body_html or "")
    assert [(i.kind, i.direction, i.summary) for i in logged] == [
        ("email", "out", "News for Steel"),
        ("email", "out", "News for Wood"),
    ]
    assert {a.entity for a in audited} >= {"interactions", "mailings"}
    # the outbox sends them like any email, with the company's sender name
    server = SmtpServer().start()
    try:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            smtp_host="127.0.0.1",
            smtp_port=server.port,
            smtp_tls=False,
            smtp_from=SENDER,
            public_base_url=BASE,
        )
        assert (await OutboxWorker(db, settings).drain()).sent == 2
        message = next(m for m in server.messages if m["To"] == "olga@wood.example")
    finally:
        server.stop()
    assert str(message["From"]) == "Romashka <events@example.com>"
    assert message["List-Unsubscribe"] == f"<{BASE}/unsubscribe/{rows[1].unsubscribe_token}>"
    assert "Dear Olga" in message.get_body(preferencelist=("plain",)).get_content()
    # its unsubscribe link works like an invitation's
    app = create_web_app(Settings(_env_file=None, public_base_url=BASE), db)  # type: ignore[call-arg]
    async with TestClient(TestServer(app)) as client:
        page = await (await client.get(f"/unsubscribe/{rows[1].unsubscribe_token}")).text()
        assert "Olga Orlova, do you want to receive no more emails" in page
        assert (await client.post(f"/unsubscribe/{rows[1].unsubscribe_token}")).status == 200
    async with db.uow() as uow:
        olga = (
            await uow.session.scalars(select(Contact).where(Contact.name == "Olga Orlova"))
        ).one()
    assert olga.email_opt_out


async def test_a_test_to_oneself_and_segments_out_of_reach(db):
    anna, steel = await world(db)
    boris = await factories.staff(db, name="Boris")
    data = MailingInput("Hi {{ contact.first_name }}", BODY, Segment("company", steel.id))
    assert await mailings.send_test(
        db.uow(), anna, data, "anna@romashka.example", base_url=BASE, sender=SENDER
    )
    async with db.uow() as uow:
        (row,) = list(await uow.session.scalars(select(OutboundEmail)))
        assert list(await uow.session.scalars(select(Interaction))) == []
    assert (row.to_addr, row.subject, row.kind) == ("anna@romashka.example", "Hi Ivan", "test")
    with pytest.raises(InvalidInput):
        await mailings.send_test(
            db.uow(), anna, data, "not an address", base_url=BASE, sender=SENDER
        )
    with pytest.raises(AccessDenied):
        await mailings.send(db.uow(), boris, data, base_url=BASE, sender=SENDER)
    other = await mailings.preview(db.uow(), boris, MailingInput("Hi", BODY))
    assert (other.recipients, other.sample) == (0, None)  # Boris sees none of Anna's clients
