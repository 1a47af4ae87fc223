"""Telegram Business through the real dispatcher: connecting, a client's chat logged on
their card, the new-chat question, edits and deletions, /business."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from crm.models import (
    AuditEntry,
    BusinessChat,
    BusinessConnection,
    BusinessMessage,
    Contact,
    Interaction,
    SearchEntry,
)
from crm.services import contacts, playbooks
from crm.services.contacts import ContactInput
from crm.services.playbooks import PlaybookInput
from crm.storage import Database
from handlers.business.callbacks import WriteCb
from handlers.business.waiting import waiting_notice
from handlers.cards.callbacks import CONTACT, CardCb, HistoryCb
from notifications.waiting_clients import remind_waiting
from tests.fixtures.bilingual import ANNA, BORIS, EMILY, EVA, HELEN, team_with_client
from tests.fixtures.bot_harness import REFUSAL, Harness, labels, last_alert, press
from tests.fixtures.botapi_stub import (
    TgUser,
    business_connection_update,
    business_message_update,
    callback_update,
    deleted_business_messages_update,
    message_update,
)
from tests.fixtures.queries import count

IVAN = TgUser(990_001, "Ivan", "Petrov", username="ivan_p", language_code="ru")
STRANGER = TgUser(990_002, "Somebody", language_code="en")
NEWBIE = TgUser(990_003, "Fyodor", username="fyodor_k", language_code="ru")
EMILY_BC = "bc-emily"


async def connect(h: Harness, user: TgUser = EMILY, connection_id: str = EMILY_BC) -> str:
    shown = await h.send(h.stub.connect_business(user, connection_id))
    assert len(shown) == 1
    return shown[0].text


async def write(
    h: Harness,
    text: str,
    sender: TgUser = IVAN,
    client: TgUser = IVAN,
    connection_id: str = EMILY_BC,
    owner: TgUser = EMILY,
    **options: object,
) -> list:  # type: ignore[type-arg]
    """A message in the owner's chat with `client`; what the owner's bot chat then showed."""
    update = business_message_update(connection_id, client, sender, text, **options)  # type: ignore[arg-type]
    return await h.send(update, watch=owner.id)


async def ivan_contact(db: Database, team, with_id: bool = True) -> Contact:  # type: ignore[no-untyped-def]
    return await contacts.create(
        db.uow(),
        team.emily,
        ContactInput(
            name="Ivan Petrov",
            tg_user_id=IVAN.id if with_id else None,
            tg_username=None if with_id else "ivan_p",
        ),
    )


async def conversations(db: Database) -> list[Interaction]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(Interaction).order_by(Interaction.id))
        return list(rows)


async def test_connecting_is_confirmed_and_explained_in_both_languages(harness: Harness) -> None:
    await team_with_client(harness.db)
    english = await connect(harness)
    assert "Telegram Business is connected" in english
    assert "30 minutes" in english and "/business" in english
    russian = await connect(harness, ANNA, "bc-anna")
    assert "Telegram Business подключён" in russian
    async with harness.db.uow() as uow:
        rows = list(await uow.session.scalars(select(BusinessConnection)))
        audit = list(
            await uow.session.scalars(
                select(AuditEntry.action).where(AuditEntry.entity == "business_connections")
            )
        )
    assert sorted(r.connection_id for r in rows) == ["bc-anna", EMILY_BC]
    assert all(r.enabled and r.can_reply for r in rows)
    assert audit == ["connect", "connect"]


async def test_a_strangers_connection_is_refused_and_stored_nowhere(harness: Harness) -> None:
    await team_with_client(harness.db)
    shown = await harness.send(business_connection_update(STRANGER, "bc-x"))
    assert len(shown) == 1 and "staff of its company only" in shown[0].text
    # and whatever their chats say, nothing is kept
    await write(harness, "hello", connection_id="bc-x", owner=STRANGER)
    assert await count(harness.db, BusinessConnection) == 0
    assert await count(harness.db, BusinessChat) == 0
    assert await count(harness.db, BusinessMessage) == 0
    assert await count(harness.db, Interaction) == 0


async def test_a_known_contacts_messages_form_one_conversation_on_the_card(
    harness: Harness,
) -> None:
    team = await team_with_client(harness.db)
    contact = await ivan_contact(harness.db, team)
    await connect(harness)
    assert await write(harness, "Hello, do you have the pumps in stock?") == []  # no question
    await write(harness, "Yes, 40 of them", sender=EMILY)
    await write(harness, "Great, send me an offer")
    talks = await conversations(harness.db)
    assert len(talks) == 1
    talk = talks[0]
    assert (talk.kind, talk.direction, talk.channel, talk.contact_id) == (
        "message",
        "in",
        "telegram",
        contact.id,
    )
    assert talk.summary.splitlines() == [
        "Ivan Petrov: Hello, do you have the pumps in stock?",
        "Emily: Yes, 40 of them",
        "Ivan Petrov: Great, send me an offer",
    ]
    shown = await harness.send(message_update(EMILY, "/find pumps"))
    assert len(shown) == 1 and labels(shown[0]) == ["👤 Ivan Petrov"]
    card = await harness.send(press(EMILY, shown[0], "Ivan Petrov"))
    assert "💬 message, incoming — Ivan Petrov: Hello" in card[-1].text


async def test_after_thirty_quiet_minutes_the_next_message_begins_another_conversation(
    harness: Harness,
) -> None:
    team = await team_with_client(harness.db)
    await ivan_contact(harness.db, team)
    await connect(harness)
    start = int(time.time()) - 3 * 3600
    await write(harness, "Are you there?", sender=EMILY, at=start)
    await write(harness, "yes", at=start + 29 * 60)
    await write(harness, "one more thing", at=start + 29 * 60 + 31 * 60)
    talks = await conversations(harness.db)
    assert [(t.direction, t.summary) for t in talks] == [
        ("out", "Emily: Are you there?\nIvan Petrov: yes"),
        ("in", "Ivan Petrov: one more thing"),
    ]


async def test_a_contact_found_by_username_keeps_the_telegram_id(harness: Harness) -> None:
    team = await team_with_client(harness.db)
    contact = await ivan_contact(harness.db, team, with_id=False)
    await connect(harness)
    assert await write(harness, "hi") == []
    async with harness.db.uow() as uow:
        assert (await uow.session.get(Contact, contact.id)).tg_user_id == IVAN.id  # type: ignore[union-attr]
    assert [t.contact_id for t in await conversations(harness.db)] == [contact.id]


async def test_connect_then_a_new_person_writes_then_the_manager_links_the_contact(
    harness: Harness,
) -> None:
    team = await team_with_client(harness.db)
    contact = await contacts.create(harness.db.uow(), team.emily, ContactInput(name="Ivan Petrov"))
    await connect(harness)
    question = await write(harness, "Hello, this is Ivan from Romashka, about the pumps")
    assert len(question) == 1
    assert "New chat: <b>Ivan Petrov (@ivan_p)</b>" in question[0].text
    assert labels(question[0]) == ["🔗 Link to a contact…", "➕ New contact", "🚫 Not a client"]
    assert await write(harness, "Are you there?") == []  # asked once
    assert await count(harness.db, Interaction) == 0  # kept, not logged, until decided
    asked = await harness.send(press(EMILY, question[0], "Link to a contact"))
    assert "Which contact is <b>Ivan Petrov</b>?" in asked[0].text
    choices = await harness.send(message_update(EMILY, "Petrov"))
    card = await harness.send(press(EMILY, choices[0], "Ivan Petrov"))
    assert "👤 <b>Ivan Petrov</b>" in card[-1].text
    assert "Ivan Petrov: Hello, this is Ivan from Romashka" in card[-1].text
    talks = await conversations(harness.db)
    assert len(talks) == 1 and talks[0].contact_id == contact.id
    assert talks[0].summary.count("\n") == 1
    async with harness.db.uow() as uow:
        assert (await uow.session.get(Contact, contact.id)).tg_user_id == IVAN.id  # type: ignore[union-attr]
    # from now on the chat logs itself
    await write(harness, "So, the pumps?")
    assert (await conversations(harness.db))[0].summary.endswith("Ivan Petrov: So, the pumps?")


async def test_the_question_comes_in_the_managers_language(harness: Harness) -> None:
    await team_with_client(harness.db)
    await connect(harness, ANNA, "bc-anna")
    english_client = TgUser(990_004, "Kate", language_code="en")
    question = await write(
        harness,
        "hi",
        sender=english_client,
        client=english_client,
        connection_id="bc-anna",
        owner=ANNA,
    )
    assert question[0].text.startswith("Новый чат: <b>Kate</b>. Это клиент?")
    assert labels(question[0]) == ["🔗 Связать с контактом…", "➕ Новый контакт", "🚫 Не клиент"]


async def test_a_new_contact_from_the_question(harness: Harness) -> None:
    await team_with_client(harness.db)
    await connect(harness)
    question = await write(harness, "hi", sender=NEWBIE, client=NEWBIE)
    card = await harness.send(press(EMILY, question[0], "New contact"))
    assert "👤 <b>Fyodor</b>" in card[-1].text and "@fyodor_k" in card[-1].text
    async with harness.db.uow() as uow:
        contact = (await uow.session.scalars(select(Contact))).one()
    assert (contact.tg_user_id, contact.tg_username) == (NEWBIE.id, "fyodor_k")
    assert [t.contact_id for t in await conversations(harness.db)] == [contact.id]


async def test_not_a_client_leaves_no_row_anywhere(harness: Harness) -> None:
    await team_with_client(harness.db)
    await connect(harness)
    audit_before = await count(harness.db, AuditEntry)
    question = await write(harness, "Secret words about my divorce", sender=NEWBIE, client=NEWBIE)
    await write(harness, "hello?", sender=NEWBIE, client=NEWBIE)
    shown = await harness.send(press(EMILY, question[0], "Not a client"))
    assert "forgotten" in shown[-1].text
    for model in (BusinessChat, BusinessMessage, Interaction, Contact):
        assert await count(harness.db, model) == 0, model
    assert await count(harness.db, SearchEntry, SearchEntry.text.contains("divorce")) == 0
    # then, or later: nothing is kept and nobody asks again
    assert await write(harness, "are you ignoring me?", sender=NEWBIE, client=NEWBIE) == []
    await write(harness, "I am", sender=EMILY, client=NEWBIE)
    for model in (BusinessChat, BusinessMessage, Interaction, Contact):
        assert await count(harness.db, model) == 0, model
    async with harness.db.uow() as uow:
        entries = list(
            await uow.session.scalars(
                select(AuditEntry).offset(audit_before).order_by(AuditEntry.id)
            )
        )
        connection = (await uow.session.scalars(select(BusinessConnection))).one()
    assert [(e.action, e.changes) for e in entries] == [("ignore", {"ignored": [0, 1]})]
    assert str(NEWBIE.id) not in str(connection.ignored) and "Fyodor" not in str(connection.ignored)


async def test_edits_rewrite_and_deletions_remove_the_text(harness: Harness) -> None:
    team = await team_with_client(harness.db)
    await ivan_contact(harness.db, team)
    await connect(harness)
    await write(harness, "I need 10 pumps", message_id=501)
    await write(harness, "my card number is 1234", message_id=502)
    await write(harness, "Noted", sender=EMILY, message_id=503)
    await harness.send(
        business_message_update(
            EMILY_BC, IVAN, IVAN, "I need 12 pumps", message_id=501, edited=True
        )
    )
    await harness.send(deleted_business_messages_update(EMILY_BC, IVAN, [502]))
    (talk,) = await conversations(harness.db)
    assert talk.summary.splitlines() == [
        "Ivan Petrov: I need 12 pumps",
        "Ivan Petrov: 🗑",
        "Emily: Noted",
    ]
    async with harness.db.uow() as uow:
        texts = list(await uow.session.scalars(select(BusinessMessage.text)))
        entry = (
            await uow.session.scalars(select(SearchEntry).where(SearchEntry.kind == "conversation"))
        ).one()
    assert not any("1234" in t for t in texts)
    assert "1234" not in entry.text and "12" in entry.text


async def test_media_are_noted_by_type_and_name(harness: Harness) -> None:
    team = await team_with_client(harness.db)
    await ivan_contact(harness.db, team)
    await connect(harness)
    document = {"file_id": "d1", "file_unique_id": "u1", "file_name": "offer.pdf"}
    photo = [{"file_id": "p1", "file_unique_id": "p1", "width": 10, "height": 10}]
    await write(harness, None, document=document, caption="the signed offer")  # type: ignore[arg-type]
    await write(harness, None, photo=photo)  # type: ignore[arg-type]
    (talk,) = await conversations(harness.db)
    assert talk.summary.splitlines() == [
        "Ivan Petrov: 📎 offer.pdf the signed offer",
        "Ivan Petrov: 🖼",
    ]
    assert harness.stub.calls_of("getFile") == []


async def test_disconnecting_stops_logging_at_once(harness: Harness) -> None:
    team = await team_with_client(harness.db)
    await ivan_contact(harness.db, team)
    await connect(harness)
    await write(harness, "first")
    shown = await harness.send(business_connection_update(EMILY, EMILY_BC, enabled=False))
    assert "disconnected" in shown[0].text
    await write(harness, "second")
    (talk,) = await conversations(harness.db)
    assert talk.summary == "Ivan Petrov: first"
    async with harness.db.uow() as uow:
        actions = list(
            await uow.session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "business_connections")
                .order_by(AuditEntry.id)
            )
        )
    assert actions == ["connect", "update", "disconnect"]


async def test_business_shows_the_logged_chats_and_stops_one(harness: Harness) -> None:
    team = await team_with_client(harness.db)
    await ivan_contact(harness.db, team)
    shown = await harness.send(message_update(EMILY, "/business"))
    assert "not connected" in shown[0].text
    await connect(harness)
    await write(harness, "hi")
    shown = await harness.send(message_update(EMILY, "/business"))
    assert (
        "Chats being logged</b> (1)" in shown[0].text and "Ivan Petrov (@ivan_p)" in shown[0].text
    )
    stopped = await harness.send(press(EMILY, shown[0], "Stop logging Ivan Petrov"))
    assert "No client chats logged yet." in stopped[-1].text
    await write(harness, "still there?")
    (talk,) = await conversations(harness.db)
    assert talk.summary == "Ivan Petrov: hi"
    async with harness.db.uow() as uow:
        chat = (await uow.session.scalars(select(BusinessChat))).one()
        stops = list(
            await uow.session.scalars(
                select(AuditEntry.changes).where(
                    AuditEntry.entity == "business_chats",
                    AuditEntry.entity_id == chat.id,
                    AuditEntry.action == "update",
                )
            )
        )
    assert chat.status == "stopped"
    assert [c["status"] for c in stops] == [["linked", "stopped"]]


async def test_another_manager_cannot_see_the_conversation(harness: Harness) -> None:
    team = await team_with_client(harness.db)
    contact = await ivan_contact(harness.db, team)
    await connect(harness)
    await write(harness, "about the pumps")
    found = await harness.send(message_update(HELEN, "/find pumps"))  # her head sees it
    assert labels(found[0]) == ["👤 Ivan Petrov"]
    nothing = await harness.send(message_update(BORIS, "/find pumps"))
    assert nothing[0].buttons == [] and "Nothing found" in nothing[0].text
    async with harness.db.uow() as uow:
        talk = (await uow.session.scalars(select(Interaction))).one()
    refused = await harness.send(
        callback_update(BORIS, CardCb(kind=CONTACT, id=contact.id).pack(), 1, BORIS.id)
    )
    assert refused == [] and last_alert(harness) == REFUSAL
    history = HistoryCb(kind=CONTACT, id=contact.id).pack()
    assert await harness.send(callback_update(BORIS, history, 1, BORIS.id)) == []
    assert last_alert(harness) == REFUSAL
    shown = await harness.send(callback_update(HELEN, history, 1, HELEN.id))
    assert "about the pumps" in shown[-1].text
    del talk


# --------------------------------------------------------------------- waiting clients

MONDAY_1014 = datetime(2026, 12, 7, 7, 14, tzinfo=UTC)  # 10:14 in Moscow (Emily's zone)


async def remind(h: Harness, now: datetime) -> int:
    return await remind_waiting(h.db, h.bot, h.dp["i18n"], waiting_notice, now=now)


async def test_the_waiting_client_reminder_fires_once(harness: Harness) -> None:
    team = await team_with_client(harness.db)
    contact = await ivan_contact(harness.db, team)
    await connect(harness)
    await write(harness, "Are the pumps in stock?", at=int(MONDAY_1014.timestamp()))
    assert await remind(harness, MONDAY_1014 + timedelta(minutes=100)) == 0
    before = len(harness.stub.sent_to(EMILY.id))
    assert await remind(harness, MONDAY_1014 + timedelta(minutes=125)) == 1
    assert await remind(harness, MONDAY_1014 + timedelta(minutes=185)) == 0
    (reminder,) = harness.stub.sent_to(EMILY.id)[before:]
    assert reminder.text == "⏳ <b>Ivan Petrov</b> wrote at 10:14 and is waiting for your answer."
    card = await harness.send(press(EMILY, reminder, "Open the card"))
    assert f"👤 <b>{contact.name}</b>" in card[-1].text


async def test_no_reminder_when_the_manager_answered(harness: Harness) -> None:
    team = await team_with_client(harness.db)
    await ivan_contact(harness.db, team)
    await connect(harness)
    await write(harness, "Are the pumps in stock?", at=int(MONDAY_1014.timestamp()))
    await write(harness, "Yes!", sender=EMILY, at=int(MONDAY_1014.timestamp()) + 600)
    assert await remind(harness, MONDAY_1014 + timedelta(hours=8)) == 0


async def test_today_lists_the_waiting_clients_for_the_manager_and_her_head(
    harness: Harness,
) -> None:
    team = await team_with_client(harness.db)
    await ivan_contact(harness.db, team)
    await connect(harness)
    await write(harness, "hello?", at=int(time.time()) - 3 * 24 * 3600)  # days ago: overdue
    mine = await harness.send(message_update(EMILY, "/today"))
    assert "<b>Clients waiting for an answer (1)</b>" in mine[0].text
    assert "⏳ Ivan Petrov — since" in mine[0].text and "👤 Ivan Petrov" in labels(mine[0])
    head = await harness.send(message_update(HELEN, "/today"))
    assert "⏳ Ivan Petrov — since" in head[0].text and "· Emily" in head[0].text
    other = await harness.send(message_update(BORIS, "/today"))
    assert "Clients waiting" not in other[0].text
    russian = await harness.send(message_update(ANNA, "/today"))  # Anna sees no one's
    assert "Клиенты ждут ответа" not in russian[0].text


async def test_a_director_sets_the_reply_time_under_business(harness: Harness) -> None:
    await team_with_client(harness.db)
    shown = await harness.send(message_update(EVA, "/business"))
    assert "120 working minutes" in shown[0].text and "09:00–18:00" in shown[0].text
    asked = await harness.send(press(EVA, shown[0], "Reply time and working hours"))
    assert "90; 09:00-18:00" in asked[-1].text
    saved = await harness.send(message_update(EVA, "45; 10:00-19:00"))
    assert "45 working minutes" in saved[0].text and "10:00–19:00" in saved[0].text
    refused = await harness.send(message_update(EVA, "/business"))
    await harness.send(press(EVA, refused[0], "Reply time and working hours"))
    wrong = await harness.send(message_update(EVA, "45; 19:00-10:00"))
    assert "Working hours" in wrong[0].text
    assert "45 working minutes" in (await harness.send(message_update(EMILY, "/business")))[0].text
    assert "Reply time and working hours" not in str(
        (await harness.send(message_update(EMILY, "/business")))[0].buttons
    )


# --------------------------------------------------------------------- answering from the CRM


async def card_of(h: Harness, user: TgUser, contact_id: int) -> list:  # type: ignore[type-arg]
    return await h.send(
        callback_update(user, CardCb(kind=CONTACT, id=contact_id).pack(), 1, user.id)
    )


async def test_write_in_telegram_sends_through_the_business_connection_and_logs(
    harness: Harness,
) -> None:
    team = await team_with_client(harness.db)
    contact = await ivan_contact(harness.db, team)
    await connect(harness)
    await write(harness, "Are the pumps in stock?")
    card = await card_of(harness, EMILY, contact.id)
    assert "💬 Write in Telegram" in labels(card[-1])
    asked = await harness.send(press(EMILY, card[-1], "Write in Telegram"))
    assert "What shall I send to Ivan Petrov in Telegram?" in asked[-1].text
    shown = await harness.send(message_update(EMILY, "Yes, 40 <of them>"))
    assert shown[0].text.startswith("✅ Sent to Ivan Petrov in Telegram.")
    (sent,) = harness.stub.sent_to(IVAN.id)
    assert sent.text == "Yes, 40 <of them>"
    assert sent.params["business_connection_id"] == EMILY_BC
    (talk,) = await conversations(harness.db)
    assert talk.summary.splitlines() == [
        "Ivan Petrov: Are the pumps in stock?",
        "Emily: Yes, 40 <of them>",
    ]
    async with harness.db.uow() as uow:
        audit = list(
            await uow.session.scalars(select(AuditEntry).where(AuditEntry.action == "send"))
        )
    assert [(e.entity, e.entity_id, e.actor_id, e.changes) for e in audit] == [
        (
            "interactions",
            talk.id,
            team.emily.id,
            {"message_id": [None, sent.message_id], "channel": [None, "telegram"]},
        )
    ]
    # the business_message Telegram sends of it is not logged twice
    await write(harness, "Yes, 40 <of them>", sender=EMILY, message_id=sent.message_id)
    assert (await conversations(harness.db))[0].summary.count("Emily:") == 1


async def test_write_a_prepared_reply_from_the_reply_playbook(harness: Harness) -> None:
    team = await team_with_client(harness.db)
    contact = await ivan_contact(harness.db, team)
    await playbooks.create(
        harness.db.uow(),
        team.dina,
        PlaybookInput(
            name="Replies", kind="reply", steps=[("Thank you, we will call you back today", 0)]
        ),
    )
    await connect(harness)
    await write(harness, "Call me")
    card = await card_of(harness, EMILY, contact.id)
    asked = await harness.send(press(EMILY, card[-1], "Write in Telegram"))
    shown = await harness.send(press(EMILY, asked[-1], "we will call you back"))
    assert shown[-1].text.startswith("✅ Sent to Ivan Petrov in Telegram.")
    assert harness.stub.texts_to(IVAN.id) == ["Thank you, we will call you back today"]


async def test_nobody_else_writes_and_a_refused_send_logs_nothing(harness: Harness) -> None:
    team = await team_with_client(harness.db)
    contact = await ivan_contact(harness.db, team)
    await connect(harness)
    await write(harness, "hi")
    head_card = await card_of(harness, HELEN, contact.id)
    assert "💬 Write in Telegram" not in labels(head_card[-1])
    crafted = WriteCb(action="start", id=contact.id).pack()
    await harness.send(callback_update(HELEN, crafted, 1, HELEN.id))
    assert "cannot write to this client" in last_alert(harness)
    await harness.send(callback_update(BORIS, crafted, 1, BORIS.id))
    assert last_alert(harness) == REFUSAL
    # Telegram refuses (the chat was not active in the last 24 hours): nothing is logged
    card = await card_of(harness, EMILY, contact.id)
    await harness.send(press(EMILY, card[-1], "Write in Telegram"))
    harness.stub.fail_next(1, error_code=400, description="Bad Request: BUSINESS_PEER_INVALID")
    shown = await harness.send(message_update(EMILY, "hello"))
    assert "Telegram did not accept the message" in shown[0].text
    (talk,) = await conversations(harness.db)
    assert talk.summary == "Ivan Petrov: hi"


async def test_no_write_button_when_the_bot_may_not_reply(harness: Harness) -> None:
    team = await team_with_client(harness.db)
    contact = await ivan_contact(harness.db, team)
    shown = await harness.send(harness.stub.connect_business(EMILY, EMILY_BC, can_reply=False))
    assert "allow the bot to reply" in shown[0].text
    await write(harness, "hi")
    card = await card_of(harness, EMILY, contact.id)
    assert "💬 Write in Telegram" not in labels(card[-1])
    allowed = await harness.send(business_connection_update(EMILY, EMILY_BC, legacy=True))
    assert "may now reply for you" in allowed[0].text
    card = await card_of(harness, EMILY, contact.id)
    assert "💬 Write in Telegram" in labels(card[-1])
