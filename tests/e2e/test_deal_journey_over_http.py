"""End to end over HTTP: the real bot (`bot.app.main`) long-polls the local Bot API stand-in.

A director from ADMIN_IDS starts and invites two managers; the first registers by the deep
link, adds a company and a contact, finds them with a typo, opens a deal and walks it through
every stage to won with the card's buttons, watching /deals; the second can neither see nor
touch it, also with a replayed button; a stranger gets only the invite hint.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from crm.models import Company, Contact, Deal, DealStageChange, Sale
from crm.storage import Database
from tests.fixtures.botapi_stub import (
    BOT_USERNAME,
    BotAPIStub,
    Sent,
    TgUser,
    callback_update,
    message_update,
)
from tests.fixtures.botapi_stub import press as press_button
from tests.fixtures.queries import count
from tests.fixtures.running_bot import BOSS, running_bot

ANNA = TgUser(9102, "Anna", "Smirnova", "anna_s", "en-US")
BORIS = TgUser(9103, "Boris", None, None, "en")
STRANGER = TgUser(9104, "Eve", None, None, "en")
LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=([\w-]+)")
REFUSAL = "Not found, or you have no access to it."


async def stage_of(db: Database) -> str:
    async with db.uow() as uow:
        return str((await uow.session.scalars(select(Deal.stage))).one())


async def press(stub: BotAPIStub, user: TgUser, sent: Sent, text: str) -> Sent:
    """Press a button under `sent`; the next thing the bot shows in that chat."""
    [shown] = await stub.ask(press_button(user, sent, text), user.id)
    return shown


async def alert_after(stub: BotAPIStub, update: dict) -> str:  # type: ignore[type-arg]
    before = len(stub.calls_of("answerCallbackQuery"))
    stub.push_update(update)
    calls = await stub.wait_calls("answerCallbackQuery", before + 1)
    return str(calls[before].params.get("text", ""))


async def invite_code(stub: BotAPIStub) -> str:
    [answer] = await stub.ask(message_update(BOSS, "/invite manager"), BOSS.id)
    match = LINK.search(answer.text)
    assert match, answer.text
    return match.group(1)


async def test_a_manager_works_a_deal_to_won_and_nobody_else_can(db: Database) -> None:
    async with running_bot(db) as (stub, _settings):
        # the director from ADMIN_IDS; two invites by deep link
        [welcome] = await stub.ask(message_update(BOSS, "/start"), BOSS.id)
        assert "директор" in welcome.text
        [hello] = await stub.ask(message_update(ANNA, f"/start {await invite_code(stub)}"), ANNA.id)
        assert hello.text.startswith("Welcome, Anna Smirnova! You are registered as manager.")
        [hi] = await stub.ask(message_update(BORIS, f"/start {await invite_code(stub)}"), BORIS.id)
        assert hi.text.startswith("Welcome, Boris!")

        # Anna adds a company and a contact, and finds them with a typo
        [added] = await stub.ask(message_update(ANNA, "/company Romashka; retail; Moscow"), ANNA.id)
        assert added.text.startswith("Company added.")
        [contact] = await stub.ask(
            message_update(
                ANNA, "/contact Ivan Petrov; +7 912 345-67-89; ivan@romashka.ru; Romashka"
            ),
            ANNA.id,
        )
        assert contact.text.startswith("Contact added.")
        assert (await count(db, Company), await count(db, Contact)) == (1, 1)
        [found] = await stub.ask(message_update(ANNA, "/find Romaska"), ANNA.id)
        assert any("Romashka" in b["text"] for row in found.buttons for b in row), found.buttons
        [person] = await stub.ask(message_update(ANNA, "/find Ivan Petorv"), ANNA.id)
        assert any("Ivan Petrov" in b["text"] for row in person.buttons for b in row)

        # a deal on one line, then through every stage with the card's buttons
        [card] = await stub.ask(message_update(ANNA, "/deal Romashka; Pumps; 150000"), ANNA.id)
        assert card.text.startswith("💼 <b>Pumps</b>")
        win_button = card.button("Won")["callback_data"]
        for target, stage in (
            ("Qualified ▶", "qualified"),
            ("Proposal ▶", "proposal"),
            ("Negotiation ▶", "negotiation"),
        ):
            card = await press(stub, ANNA, card, target)
            assert card.method == "editMessageText"
            assert await stage_of(db) == stage
        [pipeline] = await stub.ask(message_update(ANNA, "/deals"), ANNA.id)
        assert pipeline.text.splitlines()[:5] == [
            "<b>Your open deals: 1 — 150 000.00</b>",
            "Lead: 0 — 0.00",
            "Qualified: 0 — 0.00",
            "Proposal: 0 — 0.00",
            "Negotiation: 1 — 150 000.00",
        ]
        assert pipeline.buttons[0][0]["text"] == "Negotiation · Pumps · Romashka · 150 000.00"

        # Boris sees nothing of it and his replay of Anna's buttons changes nothing
        [nothing] = await stub.ask(message_update(BORIS, "/find Romashka"), BORIS.id)
        assert nothing.text.startswith("Nothing found")
        [his] = await stub.ask(message_update(BORIS, "/deals"), BORIS.id)
        assert his.text.startswith("<b>Your open deals: 0 — 0.00</b>")
        changes = await count(db, DealStageChange)
        assert await alert_after(stub, callback_update(BORIS, win_button)) == REFUSAL
        move_back = card.button("◀ Proposal")["callback_data"]
        assert await alert_after(stub, callback_update(BORIS, move_back)) == REFUSAL
        assert await stage_of(db) == "negotiation"
        assert await count(db, DealStageChange) == changes
        assert await count(db, Sale) == 0
        assert len(stub.sent_to(BORIS.id)) == 3  # the welcome, two answers and nothing else

        # Anna wins it: no longer among the open deals
        sure = await press(stub, ANNA, card, "Won")
        assert sure.text.startswith("Won for 150 000.00?")
        card = await press(stub, ANNA, sure, "Yes, won")
        assert "Won" not in [b["text"] for row in card.buttons for b in row]
        assert await stage_of(db) == "won" and await count(db, Sale) == 1
        [pipeline] = await stub.ask(message_update(ANNA, "/deals"), ANNA.id)
        assert pipeline.text.splitlines()[0] == "<b>Your open deals: 0 — 0.00</b>"
        assert pipeline.text.splitlines()[4] == "Negotiation: 0 — 0.00"

        # a stranger gets one polite line, whatever they send
        [hint] = await stub.ask(message_update(STRANGER, "/deals"), STRANGER.id)
        assert hint.text.startswith("This bot is for staff only.")
        stranger_alert = await alert_after(stub, callback_update(STRANGER, win_button))
        assert stranger_alert.startswith("This bot is for staff only.")
        assert len(stub.sent_to(STRANGER.id)) == 1
        assert await stage_of(db) == "won"
