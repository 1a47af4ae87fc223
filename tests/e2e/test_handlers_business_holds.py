"""Telegram Business, what must hold (issue 17), through the real dispatcher: nothing of a
stranger or of "not a client" in any table; a disconnect stops everything at once; the
reply time counts working minutes only; reports, the digest and /export count and show
the conversations to the manager and their leaders only."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncConnection

from crm.models import BusinessMessage, Interaction
from crm.services import contacts
from crm.services.contacts import ContactInput
from crm.storage import Database
from handlers.business.waiting import waiting_notice
from notifications.waiting_clients import remind_waiting
from tests.e2e.test_handlers_business import (
    EMILY_BC,
    IVAN,
    NEWBIE,
    STRANGER,
    card_of,
    connect,
    conversations,
    ivan_contact,
    write,
)
from tests.fixtures.bilingual import ANNA, BORIS, EMILY, HELEN, team_with_client
from tests.fixtures.bot_harness import Harness, labels, press
from tests.fixtures.botapi_stub import (
    TgUser,
    business_connection_update,
    business_message_update,
    deleted_business_messages_update,
    message_update,
)
from tests.fixtures.queries import count


async def every_row(db: Database) -> dict[str, list[str]]:
    """Every table of the database (as the database lists them, not only the models'),
    each row as text."""

    def names(connection: Any) -> list[str]:
        return list(inspect(connection).get_table_names())

    result: dict[str, list[str]] = {}
    async with db.engine.connect() as connection:
        assert isinstance(connection, AsyncConnection)
        for name in await connection.run_sync(names):
            rows = await connection.execute(text(f'SELECT * FROM "{name}"'))
            result[name] = [repr(tuple(row)) for row in rows]
    return result


def traces(rows: dict[str, list[str]], *needles: str) -> list[tuple[str, str]]:
    """(table, needle) for each needle found in any row (case-insensitive)."""
    return [
        (table, needle)
        for table, lines in rows.items()
        for needle in needles
        if any(needle.lower() in line.lower() for line in lines)
    ]


def grown(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, int]:
    return {
        t: len(after[t]) - len(before.get(t, [])) for t in after if after[t] != before.get(t, [])
    }


async def test_a_strangers_connection_and_chats_leave_no_trace_in_any_table(
    harness: Harness,
) -> None:
    await team_with_client(harness.db)
    before = await every_row(harness.db)
    refused = await harness.send(business_connection_update(STRANGER, "bc-stranger"))
    assert "staff of its company only" in refused[0].text
    client = TgUser(990_011, "Zinaida", username="zina_z")
    await write(
        harness,
        "zebra-secret",
        sender=client,
        client=client,
        connection_id="bc-stranger",
        owner=STRANGER,
    )
    await harness.send(
        business_message_update(
            "bc-stranger", client, client, "zebra-edited", message_id=1, edited=True
        )
    )
    await harness.send(deleted_business_messages_update("bc-stranger", client, [1]))
    after = await every_row(harness.db)
    needles = ("bc-stranger", "zebra", "Zinaida", "zina_z", str(client.id), str(STRANGER.id))
    assert traces(after, *needles) == []
    assert grown(before, after) == {}


async def test_not_a_client_leaves_no_trace_in_any_table(harness: Harness) -> None:
    await team_with_client(harness.db)
    await connect(harness)
    before = await every_row(harness.db)
    question = await write(harness, "Secret words about my divorce", sender=NEWBIE, client=NEWBIE)
    await write(harness, "zanzibar trip", sender=NEWBIE, client=NEWBIE, message_id=7001)
    asked = await harness.send(press(EMILY, question[0], "Link to a contact"))
    assert "Which contact is" in asked[0].text  # began to link, then thought better of it
    shown = await harness.send(press(EMILY, question[0], "Not a client"))
    assert "forgotten" in shown[-1].text
    # later: more messages, an edit, a deletion: nothing is kept, nobody asks again
    assert await write(harness, "are you ignoring me?", sender=NEWBIE, client=NEWBIE) == []
    assert await write(harness, "I am", sender=EMILY, client=NEWBIE) == []
    await harness.send(
        business_message_update(
            EMILY_BC, NEWBIE, NEWBIE, "zanzibar again", message_id=7001, edited=True
        )
    )
    await harness.send(deleted_business_messages_update(EMILY_BC, NEWBIE, [7001]))
    after = await every_row(harness.db)
    needles = ("divorce", "zanzibar", "ignoring", "Fyodor", "fyodor_k", str(NEWBIE.id))
    assert traces(after, *needles) == []
    changed = grown(before, after)
    # the connection keeps one keyed digest; one audit entry that names nobody; the
    # dialog state of the manager's bot chat (empty again) may have been written
    assert set(changed) <= {"business_connections", "audit_log", "fsm_states"}, changed
    assert changed.get("business_connections") == 0 and changed.get("audit_log") == 1


MONDAY_1714 = datetime(2026, 12, 7, 14, 14, tzinfo=UTC)  # 17:14 in Moscow (Emily's zone)


async def remind(h: Harness, now: datetime) -> int:
    return await remind_waiting(h.db, h.bot, h.dp["i18n"], waiting_notice, now=now)


async def test_the_reminder_counts_working_minutes_only(harness: Harness) -> None:
    team = await team_with_client(harness.db)
    await ivan_contact(harness.db, team)
    await connect(harness)
    await write(harness, "Are the pumps in stock?", at=int(MONDAY_1714.timestamp()))
    # 46 working minutes on Monday (till 18:00), the other 74 on Tuesday from 09:00
    assert await remind(harness, MONDAY_1714 + timedelta(minutes=130)) == 0  # 19:24
    tuesday_1014 = MONDAY_1714 + timedelta(hours=17)
    assert await remind(harness, tuesday_1014 - timedelta(minutes=1)) == 0
    assert await remind(harness, tuesday_1014) == 1
    assert await remind(harness, tuesday_1014 + timedelta(hours=1)) == 0
    reminder = harness.stub.sent_to(EMILY.id)[-1]
    assert reminder.text == (
        "⏳ <b>Ivan Petrov</b> wrote at 07.12.2026 17:14 and is waiting for your answer."
    )


async def test_a_disconnect_stops_logging_edits_deletions_writing_and_reminders(
    harness: Harness,
) -> None:
    team = await team_with_client(harness.db)
    contact = await ivan_contact(harness.db, team)
    await connect(harness)
    monday_1014 = int(MONDAY_1714.timestamp()) - 7 * 3600
    await write(harness, "I need 10 pumps", message_id=801, at=monday_1014)
    assert "💬 Write in Telegram" in labels((await card_of(harness, EMILY, contact.id))[-1])
    shown = await harness.send(business_connection_update(EMILY, EMILY_BC, enabled=False))
    assert "disconnected" in shown[0].text
    await write(harness, "are you there?")
    await harness.send(
        business_message_update(
            EMILY_BC, IVAN, IVAN, "I need 12 pumps", message_id=801, edited=True
        )
    )
    await harness.send(deleted_business_messages_update(EMILY_BC, IVAN, [801]))
    (talk,) = await conversations(harness.db)
    assert talk.summary == "Ivan Petrov: I need 10 pumps"
    assert await count(harness.db, BusinessMessage) == 1
    assert "💬 Write in Telegram" not in labels((await card_of(harness, EMILY, contact.id))[-1])
    # Ivan's message is unanswered, but the bot no longer sees Emily's answers: no reminder
    now = datetime.fromtimestamp(monday_1014, UTC) + timedelta(hours=5)
    assert await remind(harness, now) == 0
    today = await harness.send(message_update(EMILY, "/today"))
    assert "Clients waiting" not in today[0].text
    # connected again: the old wait is not reminded of (Emily may have answered meanwhile),
    # and logging goes on from the next message
    await connect(harness)
    assert await remind(harness, now) == 0
    await write(harness, "back again")
    assert (await conversations(harness.db))[-1].summary.endswith("Ivan Petrov: back again")


async def test_reports_the_digest_and_export_show_it_to_the_manager_and_leaders_only(
    harness: Harness,
) -> None:
    team = await team_with_client(harness.db)
    await ivan_contact(harness.db, team)
    await connect(harness)
    long_ago = datetime.now(UTC) - timedelta(days=3)
    await write(harness, "Do you sell turbopumps?", at=int(long_ago.timestamp()))
    # unanswered for days: the head's digest counts the waiting client; Boris gets none
    digest = await harness.send(message_update(HELEN, "/digest"))
    assert "Clients waiting for an answer in Telegram: 1" in digest[0].text
    other = await harness.send(message_update(BORIS, "/digest"))
    assert "for heads and directors" in other[0].text
    # Emily answers now: a second conversation; the head's /report managers (this month)
    # counts Emily's conversations as her activity, and the digest no longer counts a wait
    await write(harness, "Yes, we do", sender=EMILY)
    digest = await harness.send(message_update(HELEN, "/digest"))
    assert "Clients waiting for an answer" not in digest[0].text
    moscow = ZoneInfo("Europe/Moscow")
    now = datetime.now(moscow)
    this_month = long_ago.astimezone(moscow).strftime("%Y%m") == now.strftime("%Y%m")
    report = await harness.send(message_update(HELEN, "/report managers"))
    emily_line = next(x for x in report[0].text.splitlines() if x.startswith("Emily "))
    assert emily_line.split()[4] == str(1 + this_month), report[0].text
    refused = await harness.send(message_update(BORIS, "/report managers"))
    assert "is for heads and directors" in refused[0].text
    # /export: Emily's and Helen's workbooks hold the conversation, Boris's does not
    for user, seen in ((EMILY, True), (HELEN, True), (BORIS, False)):
        await harness.send(message_update(user, "/export"))
        call = harness.stub.calls_of("sendDocument")[-1]
        assert call.params["chat_id"] == user.id
        attached = str(call.params["document"]).removeprefix("attach://")
        workbook = load_workbook(io.BytesIO(call.files[attached]))
        cells = [
            str(value)
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            for value in row
        ]
        assert any("turbopumps" in c for c in cells) is seen, user.first_name
    assert await count(harness.db, Interaction) == 2


async def test_the_reminder_and_a_strangers_refusal_speak_their_readers_language(
    harness: Harness,
) -> None:
    team = await team_with_client(harness.db)
    await contacts.create(
        harness.db.uow(), team.anna, ContactInput(name="Иван Петров", tg_user_id=IVAN.id)
    )
    await connect(harness, ANNA, "bc-anna")
    monday_1014 = MONDAY_1714 - timedelta(hours=7)
    at = int(monday_1014.timestamp())
    await write(harness, "Насосы есть?", connection_id="bc-anna", owner=ANNA, at=at)
    assert await remind(harness, monday_1014 + timedelta(minutes=121)) == 1
    reminder = harness.stub.sent_to(ANNA.id)[-1]
    assert reminder.text == "⏳ <b>Иван Петров</b> написал(а) в 10:14 и ждёт вашего ответа."
    assert labels(reminder) == ["👤 Открыть карточку"]
    russian_stranger = TgUser(990_021, "Пётр", language_code="ru")
    refused = await harness.send(business_connection_update(russian_stranger, "bc-ru"))
    assert refused[0].text.startswith("Этот бот записывает чаты с клиентами только для сотрудников")
