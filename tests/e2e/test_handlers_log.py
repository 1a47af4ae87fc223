"""/log on one line and as a dialog, and the paged history of a card."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from crm.access import Actor
from crm.models import Interaction, utcnow
from crm.services import companies, contacts, interactions
from crm.services.companies import CompanyInput
from crm.services.contacts import ContactInput
from crm.services.interactions import InteractionInput
from crm.storage import Database
from handlers.cards.callbacks import HistoryCb, LogCb
from handlers.interactions.callbacks import LogFormCb
from tests.fixtures import factories
from tests.fixtures.bot_harness import Harness, only_a_hint, press
from tests.fixtures.botapi_stub import Sent, TgUser, callback_update, message_update
from tests.fixtures.worlds import client_with_contact

ANNA = TgUser(8201, "Anna", language_code="en")
BORIS = TgUser(8202, "Boris", language_code="en")
OLGA = TgUser(8203, "Olga", language_code="ru")


async def staff(db: Database, user: TgUser, language: str = "en") -> Actor:
    return await factories.staff(db, name=user.first_name, language=language, tg_id=user.id)


def labels(sent: Sent) -> list[str]:
    return [b["text"] for row in sent.buttons for b in row]


async def logged(db: Database) -> list[tuple[str, str, str, int | None, int | None]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(Interaction).order_by(Interaction.id))
        return [(i.kind, i.direction, i.summary, i.company_id, i.contact_id) for i in rows]


async def test_log_on_one_line_in_english(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    company, contact = await client_with_contact(h.db, anna)

    [done] = await h.send(
        message_update(ANNA, "/log Romashka; call; out; agreed; a meeting on Friday")
    )
    assert done.text == ("✅ Logged: 📞 call, outgoing — Romashka.\nagreed; a meeting on Friday")
    assert labels(done) == ["Open the card"]
    [card] = await h.send(press(ANNA, done, "Open the card"))
    assert "📞 call, outgoing — agreed; a meeting on Friday" in card.text

    # a typo in the name still finds the one contact
    await h.send(message_update(ANNA, "/log Ivan Petorv; Meeting; in"))
    assert await logged(h.db) == [
        ("call", "out", "agreed; a meeting on Friday", company.id, None),
        ("meeting", "in", "", company.id, contact.id),
    ]


async def test_log_on_one_line_in_russian(harness: Harness) -> None:
    h = harness
    olga = await staff(h.db, OLGA, language="ru")
    company = await companies.create(h.db.uow(), olga, CompanyInput(name="Ромашка"))
    [done] = await h.send(message_update(OLGA, "/log ромашка; Звонок; вх.; спросили про цены 🙂"))
    assert done.text == "✅ Записано: 📞 звонок, входящее — Ромашка.\nспросили про цены 🙂"
    await h.send(message_update(OLGA, "/log Ромашка; визит; исходящий"))
    assert await logged(h.db) == [
        ("call", "in", "спросили про цены 🙂", company.id, None),
        ("visit", "out", "", company.id, None),
    ]
    [bad] = await h.send(message_update(OLGA, "/log Ромашка; танец; вх"))
    assert bad.text == "Вид: допустимые значения: звонок, встреча, письмо, сообщение, визит."


async def test_an_ambiguous_name_is_asked_with_buttons(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    company, ivan = await client_with_contact(h.db, anna)
    await contacts.create(h.db.uow(), anna, ContactInput(name="Ivan Sidorov"))

    [ask] = await h.send(message_update(ANNA, "/log Ivan; visit; out; brought samples"))
    assert ask.text == "Several match “Ivan”. Which one?"
    assert sorted(labels(ask)[:2]) == ["👤 Ivan Petrov, Romashka", "👤 Ivan Sidorov"]
    assert labels(ask)[2:] == ["✖ Cancel"]
    assert await logged(h.db) == []
    [done] = await h.send(press(ANNA, ask, "Ivan Petrov"))
    assert done.text.startswith("✅ Logged: 🚗 visit, outgoing — Ivan Petrov, Romashka.")
    assert await logged(h.db) == [("visit", "out", "brought samples", company.id, ivan.id)]
    # the question is answered: its buttons do nothing more
    await h.send(press(ANNA, ask, "Ivan Sidorov"))
    assert h.stub.alerts()[-1] == "This dialog is over. Start again with /log."
    assert len(await logged(h.db)) == 1


async def test_log_dialog_with_back_and_cancel(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    company, ivan = await client_with_contact(h.db, anna)

    [who] = await h.send(message_update(ANNA, "/log"))
    assert who.text == "Who was it with? Send a part of the name of a contact or a company."
    [nobody] = await h.send(message_update(ANNA, "Nobody Atall"))
    assert nobody.text.startswith("No contact or company like “Nobody Atall” among yours.")
    [choice] = await h.send(message_update(ANNA, "petrov"))
    assert labels(choice) == ["👤 Ivan Petrov, Romashka", "✖ Cancel"]
    [kind] = await h.send(press(ANNA, choice, "Ivan Petrov"))
    assert kind.text == "<b>Ivan Petrov, Romashka</b>: what was it?"
    assert labels(kind) == [
        "📞 call",
        "🤝 meeting",
        "✉️ email",
        "💬 message",
        "🚗 visit",
        "« Back",
        "✖ Cancel",
    ]
    [who_again] = await h.send(press(ANNA, kind, "Back"))
    assert who_again.text.startswith("Who was it with?")
    [choice] = await h.send(message_update(ANNA, "romashka"))
    [kind] = await h.send(press(ANNA, choice, "Romashka"))
    [direction] = await h.send(press(ANNA, kind, "email"))
    assert direction.text == "Who started it?"
    [kind] = await h.send(press(ANNA, direction, "Back"))
    [direction] = await h.send(press(ANNA, kind, "meeting"))
    [summary] = await h.send(press(ANNA, direction, "Outgoing"))
    assert summary.text == "Briefly, what was it about? Send the text, or press Skip."
    [too_long] = await h.send(message_update(ANNA, "z" * 10_000))
    assert too_long.text == "Summary: this is too long (at most 4000 characters)."
    assert await logged(h.db) == []
    [when] = await h.send(message_update(ANNA, "Presented the catalogue"))
    assert labels(when)[:2] == ["Just now", "Plan for later…"]
    assert await logged(h.db) == []
    [done] = await h.send(press(ANNA, when, "Just now"))
    assert done.text.startswith("✅ Logged: 🤝 meeting, outgoing — Romashka.")
    assert await logged(h.db) == [("meeting", "out", "Presented the catalogue", company.id, None)]

    # Cancel in the middle writes nothing and ends the dialog
    [who] = await h.send(message_update(ANNA, "/log"))
    [choice] = await h.send(message_update(ANNA, "ivan"))
    [kind] = await h.send(press(ANNA, choice, "Ivan"))
    [cancelled] = await h.send(press(ANNA, kind, "Cancel"))
    assert cancelled.text == "Cancelled. Nothing was saved."
    assert only_a_hint(await h.send(message_update(ANNA, "some text")))
    assert len(await logged(h.db)) == 1
    assert ivan.id


async def test_log_from_a_card_skipping_the_summary(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    company, ivan = await client_with_contact(h.db, anna)
    [results] = await h.send(message_update(ANNA, "/find ivan"))
    [card] = await h.send(press(ANNA, results, "Ivan Petrov"))
    [kind] = await h.send(press(ANNA, card, "Log interaction"))
    assert kind.method == "sendMessage"  # the card stays
    [direction] = await h.send(press(ANNA, kind, "message"))
    [summary] = await h.send(press(ANNA, direction, "Incoming"))
    [when] = await h.send(press(ANNA, summary, "Skip"))
    [done] = await h.send(press(ANNA, when, "Just now"))
    assert done.text == "✅ Logged: 💬 message, incoming — Ivan Petrov, Romashka."
    assert await logged(h.db) == [("message", "in", "", company.id, ivan.id)]


async def test_bad_one_line_input_is_explained_and_nothing_is_written(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    await client_with_contact(h.db, anna)
    cases = {
        "/log Romashka": "Write it on one line: /log who;",
        "/log Romashka; call": "Write it on one line: /log who;",
        "/log ; call; in; x": "Write it on one line: /log who;",
        "/log Romashka; dance; out": (
            "Kind: this must be one of: call, meeting, email, message, visit."
        ),
        "/log Romashka; call; sideways": "Direction: this must be one of: incoming, outgoing.",
        "/log Nobody; call; in": "No contact or company like “Nobody” among yours.",
        "/log 🦄🦄🦄; call; in": "No contact or company like “🦄🦄🦄” among yours.",
        "/log Romashka; call; in; " + "x" * 10_000: (
            "Text: this is too long (at most 4000 characters)."
        ),
        "/log "
        + "Ромашка" * 100
        + "; call; in": "Name: this is too long (at most 200 characters).",
    }
    for command, expected in cases.items():
        [answer] = await h.send(message_update(ANNA, command))
        assert answer.text.startswith(expected), (command, answer.text)
    assert await logged(h.db) == []


async def test_history_is_paged_and_guarded(harness: Harness) -> None:
    h = harness
    anna = await staff(h.db, ANNA)
    await staff(h.db, BORIS)
    company, ivan = await client_with_contact(h.db, anna)
    now = utcnow()
    for i in range(10):
        await interactions.log(
            h.db.uow(),
            anna,
            InteractionInput(
                kind="call",
                direction="out",
                summary=f"call number {i}",
                contact_id=ivan.id,
                occurred_at=now - timedelta(hours=10 - i),
            ),
        )
    [results] = await h.send(message_update(ANNA, "/find romashka"))
    [card] = await h.send(press(ANNA, results, "Romashka"))
    [page1] = await h.send(press(ANNA, card, "History"))
    assert page1.message_id == card.message_id
    lines = page1.text.split("\n\n")
    assert lines[0] == "<b>History</b> (10)"
    assert [line.rsplit("— ", 1)[1] for line in lines[1:]] == [
        f"call number {i}" for i in range(9, 1, -1)
    ]
    assert labels(page1) == ["1/2", "»", "« Back to the card"]
    [page2] = await h.send(press(ANNA, page1, "»"))
    assert [line.rsplit("— ", 1)[1] for line in page2.text.split("\n\n")[1:]] == [
        "call number 1",
        "call number 0",
    ]
    [back] = await h.send(press(ANNA, page2, "«"))
    assert back.text == page1.text
    [card_again] = await h.send(press(ANNA, back, "Back to the card"))
    assert card_again.text.startswith("🏢 <b>Romashka</b>")

    [results] = await h.send(message_update(ANNA, "/find ivan"))
    [contact_card] = await h.send(press(ANNA, results, "Ivan"))
    [history] = await h.send(press(ANNA, contact_card, "History"))
    assert history.text.startswith("<b>History</b> (10)")

    # Boris replays Anna's buttons: refused, nothing shown, nothing written
    for data in (
        HistoryCb(kind="co", id=company.id),
        HistoryCb(kind="ct", id=ivan.id, offset=8),
        LogCb(kind="co", id=company.id),
        LogCb(kind="ct", id=ivan.id),
    ):
        assert await h.send(callback_update(BORIS, data.pack())) == []
        assert h.stub.alerts()[-1] == "Not found, or you have no access to it."
    await h.send(message_update(BORIS, "/log"))
    await h.send(callback_update(BORIS, LogFormCb(action="who", value="ct", id=ivan.id).pack()))
    assert h.stub.alerts()[-1] == "Not found, or you have no access to it."
    [nothing] = await h.send(message_update(BORIS, "/log Romashka; call; in; hi"))
    assert nothing.text.startswith("No contact or company like “Romashka”")
    async with h.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Interaction)) == 10
