"""Telegram Business services on both databases: whose chat a message is, conversations
by the gap, the question, linking, "not a client", access."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from crm.analytics import forgotten
from crm.analytics.digest import build_digest
from crm.analytics.managers import managers_report
from crm.analytics.scope import Period
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import BusinessChat, BusinessMessage, Company, Interaction, utcnow
from crm.services import cards, contacts, interactions, reassign
from crm.services.business import chats, connections, replies, waiting
from crm.services.business.chats import Person
from crm.services.business.connections import ConnectionInfo
from crm.services.contacts import ContactInput
from crm.storage import Database
from tests.fixtures.business import IVAN, connected, said
from tests.fixtures.queries import count
from tests.fixtures.worlds import client_with_contact, office


async def talks(db: Database) -> list[Interaction]:
    async with db.uow() as uow:
        return list(await uow.session.scalars(select(Interaction).order_by(Interaction.id)))


async def ivan_of(db: Database, actor, company_id: int | None = None):  # type: ignore[no-untyped-def]
    return await contacts.create(
        db.uow(),
        actor,
        ContactInput(name="Ivan Petrov", tg_user_id=IVAN.id, company_id=company_id),
    )


async def test_an_unknown_or_disabled_connection_keeps_nothing(db: Database) -> None:
    team = await office(db)
    await ivan_of(db, team.anna)
    assert not (await said(db, "hello", connection_id="bc-unknown")).logged
    await connected(db, team.anna)
    await connections.record(
        db.uow(), team.anna, ConnectionInfo("bc-1", team.anna.tg_id, False, True, utcnow())
    )
    assert not (await said(db, "hello")).logged
    assert await count(db, BusinessChat) == 0 and await count(db, BusinessMessage) == 0


async def test_messages_within_the_gap_are_one_conversation_begun_by_the_first(
    db: Database,
) -> None:
    team = await office(db)
    company, _ = await client_with_contact(db, team.anna)
    contact = await ivan_of(db, team.anna, company.id)
    await connected(db, team.anna)
    start = utcnow() - timedelta(hours=5)
    await said(db, "Good morning", start, owner=team.anna)
    await said(db, "Morning!", start + timedelta(minutes=10))
    await said(db, "Price list?", start + timedelta(minutes=39))  # 29 min after the last
    await said(db, "Back again", start + timedelta(minutes=39 + 30))  # 30 min: a new one
    rows = await talks(db)
    assert [(t.direction, t.occurred_at, t.summary.count("\n") + 1) for t in rows] == [
        ("out", start, 3),
        ("in", start + timedelta(minutes=69), 1),
    ]
    assert {(t.kind, t.channel, t.manager_id, t.contact_id, t.company_id) for t in rows} == {
        ("message", "telegram", team.anna.id, contact.id, company.id)
    }
    async with db.uow() as uow:  # forgotten-client rules read the company's last interaction
        last = (await uow.session.get(Company, company.id)).last_interaction_at  # type: ignore[union-attr]
    assert last == start + timedelta(minutes=69)


async def test_a_person_matching_no_contact_or_several_brings_one_question(db: Database) -> None:
    team = await office(db)
    await connected(db, team.anna)
    # two contacts of Anna's share the username: no guess
    for name in ("Ivan Petrov", "Ivan P."):
        await contacts.create(db.uow(), team.anna, ContactInput(name=name, tg_username="ivan_p"))
    first = await said(db, "hi")
    assert first.logged and first.question is not None
    assert (first.question.name, first.question.username, first.question.owner_chat_id) == (
        "Ivan Petrov",
        "ivan_p",
        team.anna.tg_id,
    )
    assert (await said(db, "hello?")).question is None
    assert await count(db, Interaction) == 0 and await count(db, BusinessMessage) == 2


async def test_another_managers_contact_is_not_matched(db: Database) -> None:
    team = await office(db)
    await ivan_of(db, team.boris)
    await connected(db, team.anna)
    assert (await said(db, "hi")).question is not None  # Anna may not see Boris's Ivan


async def test_linking_replays_the_kept_messages_into_conversations(db: Database) -> None:
    team = await office(db)
    await connected(db, team.anna)
    start = utcnow() - timedelta(hours=3)
    outcome = await said(db, "one", start)
    await said(db, "two", start + timedelta(minutes=5), owner=team.anna)
    await said(db, "three", start + timedelta(hours=1))
    assert outcome.question is not None
    contact = await contacts.create(db.uow(), team.anna, ContactInput(name="Ivan"))
    await chats.link(db.uow(), team.anna, outcome.question.chat_ref, contact.id)
    assert [t.summary for t in await talks(db)] == [
        "Ivan Petrov: one\nAnna: two",
        "Ivan Petrov: three",
    ]
    with pytest.raises(Conflict):  # decided once
        await chats.link(db.uow(), team.anna, outcome.question.chat_ref, contact.id)


async def test_only_the_chats_owner_decides(db: Database) -> None:
    team = await office(db)
    await connected(db, team.anna)
    outcome = await said(db, "hi")
    assert outcome.question is not None
    chat_ref = outcome.question.chat_ref
    boris_contact = await contacts.create(db.uow(), team.boris, ContactInput(name="Ivan"))
    for decide in (
        chats.link(db.uow(), team.boris, chat_ref, boris_contact.id),
        chats.new_contact(db.uow(), team.head, chat_ref),
        chats.ignore(db.uow(), team.director, chat_ref),
    ):
        with pytest.raises(AccessDenied):
            await decide
    with pytest.raises(AccessDenied):  # nor may she link it to a contact she cannot see
        await chats.link(db.uow(), team.anna, chat_ref, boris_contact.id)
    assert await count(db, BusinessChat, BusinessChat.status == "pending") == 1


async def test_not_a_client_is_never_stored_again(db: Database) -> None:
    team = await office(db)
    await connected(db, team.anna)
    stranger = Person(880_777, "Somebody")
    outcome = await said(db, "hi", client=stranger)
    assert outcome.question is not None
    await chats.ignore(db.uow(), team.anna, outcome.question.chat_ref)
    later = await said(db, "hi again", client=stranger)
    assert not later.logged and later.question is None
    assert await count(db, BusinessChat) == 0 and await count(db, BusinessMessage) == 0
    # a reconnection (a new connection id) keeps the manager's decision
    await connected(db, team.anna, "bc-2")
    assert not (await said(db, "hi", client=stranger, connection_id="bc-2")).logged


async def test_conversations_follow_the_contacts_access_rules(db: Database) -> None:
    team = await office(db)
    contact = await ivan_of(db, team.anna)
    await connected(db, team.anna)
    await said(db, "the invoice for the turbines")
    for actor in (team.anna, team.head, team.director):
        rows, total = await interactions.history(db.uow(), actor, contact_id=contact.id)
        assert total == 1 and "turbines" in rows[0].summary
        hits = await cards.find(db.uow(), actor, "turbines")
        assert [(h.kind.value, h.entity_id) for h in hits] == [("contact", contact.id)]
    for actor in (team.boris, team.outsider_head):
        with pytest.raises(AccessDenied):
            await interactions.history(db.uow(), actor, contact_id=contact.id)
        assert await cards.find(db.uow(), actor, "turbines") == []
    # handed to Boris, the contact's conversations are found by him, no longer by Anna
    await reassign.reassign_clients(db.uow(), team.head, team.anna.id, team.boris.id)
    assert [h.entity_id for h in await cards.find(db.uow(), team.boris, "turbines")] == [contact.id]
    assert await cards.find(db.uow(), team.anna, "turbines") == []


# --------------------------------------------------------------------- waiting clients

MONDAY_1014 = datetime(2026, 12, 7, 7, 14, tzinfo=UTC)  # 10:14 in Moscow


async def test_a_waiting_client_is_claimed_once_past_the_reply_time(db: Database) -> None:
    team = await office(db)
    await ivan_of(db, team.anna)
    await connected(db, team.anna)
    await said(db, "Are the pumps in stock?", MONDAY_1014)
    await said(db, "Hello?", MONDAY_1014 + timedelta(minutes=30))  # still the first wait
    assert await waiting.claim_due(db.uow(), MONDAY_1014 + timedelta(minutes=119)) == []
    (due,) = await waiting.claim_due(db.uow(), MONDAY_1014 + timedelta(minutes=121))
    assert (due.waiting.name, due.waiting.since, due.chat_id) == (
        "Ivan Petrov",
        MONDAY_1014,
        team.anna.tg_id,
    )
    assert await waiting.claim_due(db.uow(), MONDAY_1014 + timedelta(hours=5)) == []


async def test_the_managers_answer_ends_the_wait(db: Database) -> None:
    team = await office(db)
    await ivan_of(db, team.anna)
    await connected(db, team.anna)
    await said(db, "Are the pumps in stock?", MONDAY_1014)
    await said(db, "Yes", MONDAY_1014 + timedelta(minutes=100), owner=team.anna)
    assert await waiting.claim_due(db.uow(), MONDAY_1014 + timedelta(hours=6)) == []
    assert await waiting.waiting_for(db.uow(), team.anna, MONDAY_1014 + timedelta(hours=6)) == []
    # the next unanswered message is a new wait
    later = MONDAY_1014 + timedelta(hours=1)
    await said(db, "And the price?", later)
    (due,) = await waiting.claim_due(db.uow(), later + timedelta(minutes=120))
    assert due.waiting.since == later


async def test_the_reply_time_and_working_hours_are_company_settings(db: Database) -> None:
    team = await office(db)
    await ivan_of(db, team.anna)
    await connected(db, team.anna)
    with pytest.raises(AccessDenied):
        await waiting.set_rules(db.uow(), team.head, sla="30")
    with pytest.raises(InvalidInput):
        await waiting.set_rules(db.uow(), team.director, sla="0")
    rules = await waiting.set_rules(db.uow(), team.director, sla="30", hours="10:00-11:00")
    assert (rules.sla_minutes, f"{rules.start:%H:%M}", f"{rules.end:%H:%M}") == (
        30,
        "10:00",
        "11:00",
    )
    await said(db, "hi", MONDAY_1014)  # 10:14: 30 working minutes end at 10:44
    assert await waiting.claim_due(db.uow(), MONDAY_1014 + timedelta(minutes=29)) == []
    assert len(await waiting.claim_due(db.uow(), MONDAY_1014 + timedelta(minutes=30))) == 1


async def test_heads_see_their_departments_waiting_clients_and_the_digest_counts_them(
    db: Database,
) -> None:
    team = await office(db)
    await ivan_of(db, team.anna)
    await connected(db, team.anna)
    await said(db, "hi", MONDAY_1014)
    now = MONDAY_1014 + timedelta(hours=3)
    for actor, seen in (
        (team.anna, 1),
        (team.head, 1),
        (team.director, 1),
        (team.boris, 0),
        (team.outsider_head, 0),
    ):
        found = await waiting.waiting_for(db.uow(), actor, now)
        assert [(w.name, w.overdue) for w in found] == [("Ivan Petrov", True)] * seen
    digest = await build_digest(db.uow(), team.head, now=now)
    assert digest.waiting_clients == 1
    outsider = await build_digest(db.uow(), team.outsider_head, now=now)
    assert outsider.waiting_clients == 0


# --------------------------------------------------------------------- answering from the CRM


async def test_only_the_chats_manager_writes_while_the_bot_may_reply(db: Database) -> None:
    team = await office(db)
    contact = await ivan_of(db, team.anna)
    await connected(db, team.anna, can_reply=False)
    await said(db, "hi", MONDAY_1014)
    with pytest.raises(Conflict):  # the bot may not reply for her
        await replies.target(db.uow(), team.anna, contact.id)
    await connected(db, team.anna, can_reply=True)
    to = await replies.target(db.uow(), team.anna, contact.id)
    assert (to.chat_id, to.connection_id, to.name) == (IVAN.id, "bc-1", "Ivan Petrov")
    with pytest.raises(Conflict):  # her head sees the contact, but it is not his chat
        await replies.target(db.uow(), team.head, contact.id)
    with pytest.raises(AccessDenied):
        await replies.target(db.uow(), team.boris, contact.id)
    await replies.sent(
        db.uow(), team.anna, to, 7001, "Yes, 40 in stock", MONDAY_1014 + timedelta(minutes=5)
    )
    (talk,) = await talks(db)
    assert talk.summary == "Ivan Petrov: hi\nAnna: Yes, 40 in stock"
    assert await waiting.waiting_for(db.uow(), team.anna, MONDAY_1014 + timedelta(hours=9)) == []


async def test_conversations_count_in_activity_and_against_forgetting(db: Database) -> None:
    team = await office(db)
    company, _ = await client_with_contact(db, team.anna)
    await ivan_of(db, team.anna, company.id)
    await connected(db, team.anna)
    long_ago = MONDAY_1014 - timedelta(days=60)
    async with db.uow() as uow:  # a client nobody has talked to for two months
        (await uow.session.get(Company, company.id)).last_interaction_at = long_ago  # type: ignore[union-attr]
        await uow.commit()
    now = MONDAY_1014 + timedelta(hours=1)
    assert await forgotten.forgotten_count(db.uow(), team.anna, 30, now=now) == 1
    await said(db, "hi", MONDAY_1014)
    await said(db, "hello", MONDAY_1014 + timedelta(minutes=2), owner=team.anna)
    assert await forgotten.forgotten_count(db.uow(), team.anna, 30, now=now) == 0
    report = await managers_report(
        db.uow(), team.head, Period(date(2026, 12, 1), date(2027, 1, 1)), now=now
    )
    assert {r.name: r.activity for r in report.rows}["Anna"] == 1  # one conversation
