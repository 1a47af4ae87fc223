"""/deal, /deals, the deal card's buttons and discount approval, through the real dispatcher."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crm.models import AuditEntry, Deal, DealLine, DealStageChange, Sale
from crm.models.enums import Role
from crm.services import companies, deal_edits, deals
from crm.services.companies import CompanyInput
from crm.services.deals import DealInput, LineInput
from crm.storage import Database
from handlers.cards.callbacks import NewDealCb
from handlers.deals.callbacks import ApprovalCb, DealCb, DealEditCb, LostCb
from tests.fixtures import factories
from tests.fixtures.bot_harness import REFUSAL, Harness, labels, last_alert, only_a_hint, replay
from tests.fixtures.botapi_stub import Sent, TgUser, callback_update, message_update, press
from tests.fixtures.deal_team import ANNA, BORIS, DIMA, OLGA, PETR, deal_team
from tests.fixtures.queries import count


async def the_deal(db: Database, deal_id: int | None = None) -> Deal:
    async with db.uow() as uow:
        stmt = select(Deal).order_by(Deal.id.desc())
        if deal_id is not None:
            stmt = stmt.where(Deal.id == deal_id)
        return (await uow.session.scalars(stmt)).first()  # type: ignore[return-value]


# --- /deal on one line --------------------------------------------------------------------------


async def test_one_line_deal_with_exact_and_near_company_names(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    [card] = await h.send(message_update(ANNA, "/deal romashka; Pumps 🔥; 150 000,50"))
    assert card.text.startswith("💼 <b>Pumps 🔥</b>\nCompany: Romashka")
    assert "Amount: 150 000.50" in card.text
    assert "Qualified ▶" in labels(card) and "✅ Won" in labels(card)
    deal = await the_deal(h.db)
    assert (deal.title, deal.amount, deal.stage, deal.curator_id) == (
        "Pumps 🔥",
        Decimal("150000.50"),
        "lead",
        w.anna.id,
    )

    # a typo: the bot asks which company, then confirms before writing
    [which] = await h.send(message_update(ANNA, "/deal Romashk; Valves; 200"))
    assert which.text == "Which company do you mean?"
    assert labels(which) == ["Romashka", "Cancel"]
    [confirm] = await h.send(press(ANNA, which, "Romashka"))
    assert confirm.text == ("Company: Romashka\nTitle: Valves\nAmount: 200.00\n\nOpen this deal?")
    assert await count(h.db, Deal) == 1
    [opened] = await h.send(press(ANNA, confirm, "Open the deal"))
    assert opened.text.startswith("💼 <b>Valves</b>")
    assert (await the_deal(h.db)).amount == Decimal("200.00")
    assert await count(h.db, Deal) == 2


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("/deal Romashka", "Write <code>/deal company; title; amount; close date</code>"),
        ("/deal Romashka; ; 100", "Write <code>/deal company; title; amount; close date</code>"),
        ("/deal Romashka; Pumps; 100; someday", "Expected close: this could not be understood"),
        ("/deal Romashka; Pumps; 100; 01.01.2020", "Expected close: this day has already passed."),
        ("/deal Romashka; Pumps; abc", "Amount: this is not a number."),
        ("/deal Romashka; Pumps; -5", "Amount: this cannot be negative."),
        ("/deal Romashka; Pumps; 🔥", "Amount: this is not a number."),
        ("/deal Romashka; Pumps; 1e30", "Amount: this number is too large."),
        ("/deal Romashka; " + "x" * 3_000 + "; 5", "Title: this is too long"),
        ("/deal Nowhere Ltd; Pumps; 5", "No company like «Nowhere Ltd» among your clients."),
        ("/deal 🔥🔥🔥; Pumps; 5", "No company like «🔥🔥🔥» among your clients."),
        ("/deal " + "Я" * 300 + "; Pumps; 5", "Company: this is too long"),
    ],
    ids=lambda value: value[:30],
)
async def test_one_line_bad_input_is_answered_and_nothing_written(
    harness: Harness, text: str, answer: str
) -> None:
    h = harness
    await deal_team(h.db)
    [reply] = await h.send(message_update(ANNA, text))
    assert reply.text.startswith(answer), reply.text
    assert await count(h.db, Deal) == 0


async def test_another_managers_company_is_unknown(harness: Harness) -> None:
    h = harness
    await deal_team(h.db)
    [reply] = await h.send(message_update(BORIS, "/deal Romashka; Pumps; 5"))
    assert reply.text.startswith("No company like «Romashka»")
    assert await count(h.db, Deal) == 0


# --- /deal as a dialog --------------------------------------------------------------------------


async def test_dialog_with_products_back_and_errors(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    await factories.catalogue_product(h.db, "Gadget", "250.00")
    [ask] = await h.send(message_update(ANNA, "/deal"))
    assert ask.text == "<b>New deal</b>\nWhich company? Type a part of its name."
    assert labels(ask) == ["Cancel"]
    [unknown] = await h.send(message_update(ANNA, "Zzyzx"))
    assert unknown.text.startswith("No company like «Zzyzx»")
    [title] = await h.send(message_update(ANNA, "ROMASHKA"))
    assert title.text == "Company: Romashka\n\nWhat is the deal? Type its title."
    assert labels(title) == ["« Back", "Cancel"]
    [too_long] = await h.send(message_update(ANNA, "t" * 10_000))
    assert too_long.text == "Title: this is too long (at most 200 characters)."
    [amount] = await h.send(message_update(ANNA, "Pumps"))
    assert amount.text.endswith("The amount? Type a number, e.g. 150000.")
    [bad] = await h.send(message_update(ANNA, "abc"))
    assert bad.text == "Amount: this is not a number."
    [close] = await h.send(message_update(ANNA, "1000"))
    assert "Amount: 1 000.00" in close.text
    assert close.text.endswith("press a button, or Skip.")
    this_month, next_month = deal_edits.close_choices("Europe/Moscow")
    assert labels(close) == [
        f"End of this month ({this_month:%d.%m.%Y})",
        f"End of next month ({next_month:%d.%m.%Y})",
        "Skip",
        "« Back",
        "Cancel",
    ]
    [past] = await h.send(message_update(ANNA, "01.01.2020"))
    assert past.text == (
        "01.01.2020 has already passed. When is the deal expected to close?\n"
        "For example: 25.12, next friday, in 2 weeks, 1 March."
    )
    [unknown] = await h.send(message_update(ANNA, "when pigs fly"))
    assert unknown.text.startswith("I could not understand “when pigs fly” as a date and time.")
    assert "End of next month" in labels(unknown)[1]
    [catalogue] = await h.send(press(ANNA, close, "End of next month"))
    assert f"Expected close: {next_month:%d.%m.%Y}" in catalogue.text
    assert labels(catalogue)[:3] == ["Gadget — 250.00", "Widget — 100.00", "Done"]

    [qty] = await h.send(press(ANNA, catalogue, "Widget"))
    assert qty.method == "editMessageText"
    assert qty.text.endswith("How many of «Widget»? Press or type a number.")
    [wrong] = await h.send(message_update(ANNA, "-3"))
    assert wrong.text.startswith("Quantity:")
    [disc] = await h.send(message_update(ANNA, "3"))
    assert disc.text.endswith("Discount on «Widget», %? Press or type a number.")
    [back] = await h.send(press(ANNA, disc, "« Back"))
    assert back.text.endswith("How many of «Widget»? Press or type a number.")
    [disc] = await h.send(press(ANNA, back, "2"))
    [more] = await h.send(press(ANNA, disc, "5%"))
    assert "Products:\n• Widget × 2 × 100.00 −5%" in more.text
    assert "Amount: the sum of the products" in more.text  # the products' total wins
    [confirm] = await h.send(press(ANNA, more, "Done"))
    assert confirm.text.endswith("Open this deal?")
    [back] = await h.send(press(ANNA, confirm, "« Back"))
    assert back.text.endswith("Add products from the catalogue, or press Done.")
    [confirm] = await h.send(press(ANNA, back, "Done"))
    [card] = await h.send(press(ANNA, confirm, "Open the deal"))
    assert card.text.startswith("💼 <b>Pumps</b>")
    deal = await the_deal(h.db)
    assert deal.amount == Decimal("190.00")  # the lines' total, not the 1000 typed
    async with h.db.uow() as uow:
        lines = list(await uow.session.scalars(select(DealLine)))
    assert [(x.product_id, x.quantity, x.discount_pct, x.approval) for x in lines] == [
        (w.widget, Decimal("2.000"), Decimal("5.00"), "not_needed")
    ]
    # the dialog is over: its old buttons and plain text do nothing
    await h.send(press(ANNA, confirm, "Open the deal"))
    assert last_alert(h) == "This dialog is over. Start again with /deal."
    assert only_a_hint(await h.send(message_update(ANNA, "Romashka")))
    assert await count(h.db, Deal) == 1


async def test_dialog_back_to_the_start_and_cancel(harness: Harness) -> None:
    h = harness
    await deal_team(h.db)
    await h.send(message_update(ANNA, "/deal"))
    [title] = await h.send(message_update(ANNA, "Romashka"))
    [amount] = await h.send(message_update(ANNA, "Pumps"))
    [close] = await h.send(press(ANNA, amount, "The sum of the products"))
    [catalogue] = await h.send(press(ANNA, close, "Skip"))
    assert "Amount: the sum of the products" in catalogue.text
    assert "Expected close" not in catalogue.text
    [close] = await h.send(press(ANNA, catalogue, "« Back"))
    [amount] = await h.send(press(ANNA, close, "« Back"))
    [title] = await h.send(press(ANNA, amount, "« Back"))
    [company] = await h.send(press(ANNA, title, "« Back"))
    assert company.text.startswith("<b>New deal</b>")
    [title] = await h.send(message_update(ANNA, "Romashka"))
    [bye] = await h.send(press(ANNA, title, "Cancel"))
    assert bye.text == "Cancelled. Nothing was saved."
    assert only_a_hint(await h.send(message_update(ANNA, "Pumps")))
    assert await count(h.db, Deal) == 0


async def test_crafted_dialog_buttons_are_refused(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    bob_company = await companies.create(h.db.uow(), w.boris, CompanyInput(name="Secret Co"))
    [ask] = await h.send(message_update(ANNA, "/deal Romash; X; 5"))
    # a company id that was not among the offered buttons
    await h.send(callback_update(ANNA, f"df:company:{bob_company.id}", ask.message_id))
    assert last_alert(h) == REFUSAL
    assert await count(h.db, Deal) == 0


# --- discount approval --------------------------------------------------------------------------


async def deal_with_discount(h: Harness, discount: str) -> Sent:
    """Anna goes through the dialog with one Widget at `discount` %; the confirm message."""
    await h.send(message_update(ANNA, "/deal"))
    await h.send(message_update(ANNA, "Romashka"))
    await h.send(message_update(ANNA, "Big order"))
    [close] = await h.send(message_update(ANNA, "1000"))
    [catalogue] = await h.send(press(ANNA, close, "Skip"))
    [qty] = await h.send(press(ANNA, catalogue, "Widget"))
    await h.send(press(ANNA, qty, "10"))
    [products] = await h.send(message_update(ANNA, discount))
    [confirm] = await h.send(press(ANNA, products, "Done"))
    return confirm


async def test_discount_approval_round_trip(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    sales_id = w.anna.department_id
    blocked = TgUser(8106, "Ivan", language_code="en")
    await factories.staff(h.db, Role.HEAD, sales_id, "Ivan", tg_id=blocked.id)
    h.stub.block(blocked.id)

    confirm = await deal_with_discount(h, "25%")
    [question] = await h.send(press(ANNA, confirm, "Open the deal"))
    assert question.text.endswith(
        "A discount of 25% is above your limit of 10%. Send it to your head for approval?"
    )
    assert await count(h.db, Deal) == 0
    [card, note] = await h.send(press(ANNA, question, "Send for approval"))
    assert card.text.startswith("💼 <b>Big order</b>")
    assert note.text == "Sent for approval to: Olga."  # Ivan blocked the bot: no harm done
    async with h.db.uow() as uow:
        line = (await uow.session.scalars(select(DealLine))).one()
    assert (line.approval, line.discount_pct) == ("pending", Decimal("25.00"))

    # Olga gets the request in Russian with Approve / Reject; Petr (another department) nothing
    [request] = h.stub.sent_to(OLGA.id)
    assert "25%" in request.text and "Widget" in request.text and "Anna" in request.text
    assert labels(request) == ["✅ Одобрить", "❌ Отклонить"]
    assert h.stub.sent_to(PETR.id) == []
    approve = request.button("Одобрить")["callback_data"]
    assert ApprovalCb.unpack(approve).line_id == line.id

    # replayed by people who may not decide: refused, nothing changes
    for outsider in (BORIS, PETR, ANNA):
        await h.send(callback_update(outsider, approve))
        assert last_alert(h) == REFUSAL
    before = len(h.stub.sent_to(ANNA.id))
    [decided] = await h.send(press(OLGA, request, "Одобрить"))
    assert decided.method == "editMessageText" and decided.text.startswith("Одобрено")
    [told] = h.stub.sent_to(ANNA.id)[before:]
    assert told.text == "Olga approved your discount of 25% on «Widget» in «Big order»."
    async with h.db.uow() as uow:
        line = (await uow.session.scalars(select(DealLine))).one()
    assert (line.approval, line.approved_by_id) == ("approved", w.olga.id)
    # a second press (or the other head) is told it is decided already
    await h.send(press(OLGA, request, "Отклонить"))
    assert last_alert(h) == "Это решение о скидке уже принято."


async def test_rejected_discount_is_cut_and_blocks_winning(harness: Harness) -> None:
    h = harness
    await deal_team(h.db)
    director = await factories.staff(h.db, Role.DIRECTOR, None, "Dima", tg_id=DIMA.id)
    # Anna without a department: the directors decide
    async with h.db.uow() as uow:
        from crm.models import Manager

        anna = (await uow.session.scalars(select(Manager).where(Manager.tg_id == ANNA.id))).one()
        anna.department_id = None
        await uow.commit()
    confirm = await deal_with_discount(h, "30")
    [question] = await h.send(press(ANNA, confirm, "Open the deal"))
    [card, note] = await h.send(press(ANNA, question, "Send for approval"))
    assert note.text == "Sent for approval to: Dima."
    [request] = h.stub.sent_to(DIMA.id)
    assert labels(request) == ["✅ Approve", "❌ Reject"]
    [sure] = await h.send(press(ANNA, card, "Won"))
    assert await h.send(press(ANNA, sure, "Yes, won")) == []
    assert last_alert(h).startswith("A discount in this deal waits for approval")
    assert (await the_deal(h.db)).stage == "lead"
    await h.send(press(DIMA, request, "Reject"))
    assert h.stub.texts_to(ANNA.id)[-1].startswith(
        "Dima rejected your discount on «Widget» in «Big order»: it is cut to 10%."
    )
    async with h.db.uow() as uow:
        line = (await uow.session.scalars(select(DealLine))).one()
    assert (line.approval, line.discount_pct, line.approved_by_id) == (
        "rejected",
        Decimal("10.00"),
        director.id,
    )
    # the card marks the line, and the line's menu offers to accept the cut discount
    deal_id = (await the_deal(h.db)).id
    [marked] = await h.send(replay(ANNA, DealCb(action="open_here", deal_id=deal_id).pack()))
    assert "(discount 10%) ❗ discount rejected: confirm the new price" in marked.text
    [lines_view] = await h.send(press(ANNA, marked, "Lines"))
    [menu] = await h.send(press(ANNA, lines_view, "✏ 1."))
    assert "Accept 10%" in labels(menu)
    # Boris cannot accept it for her; Anna accepts the cut discount and can win the deal
    notice = h.stub.sent_to(ANNA.id)[-1]
    accept = notice.button("Accept 10%")["callback_data"]
    await h.send(callback_update(BORIS, accept))
    assert last_alert(h) == REFUSAL
    [card] = await h.send(press(ANNA, notice, "Accept 10%"))
    assert "Widget × 10" in card.text
    async with h.db.uow() as uow:
        line = (await uow.session.scalars(select(DealLine))).one()
    assert (line.approval, line.discount_pct) == ("not_needed", Decimal("10.00"))
    [sure] = await h.send(press(ANNA, card, "Won"))
    await h.send(press(ANNA, sure, "Yes, won"))
    assert (await the_deal(h.db)).stage == "won"


# --- /deals and the card's buttons --------------------------------------------------------------


async def test_deals_grouped_by_stage_and_paged(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    for n in range(10):
        await deals.open(h.db.uow(), w.anna, DealInput(w.company, f"Deal {n:02}", amount=100))
    first = await the_deal(h.db)
    await deals.move(h.db.uow(), w.anna, first.id, "proposal")
    [page] = await h.send(message_update(ANNA, "/deals"))
    assert page.text.splitlines() == [
        "<b>Your open deals: 10 — 1 000.00</b>",
        "Lead: 9 — 900.00",
        "Qualified: 0 — 0.00",
        "Proposal: 1 — 100.00",
        "Negotiation: 0 — 0.00",
    ]
    texts = labels(page)
    assert len([t for t in texts if t.startswith("Lead · ")]) == 8
    assert texts[-2:] == ["1/2", "»"]
    [page2] = await h.send(press(ANNA, page, "»"))
    texts = labels(page2)
    assert texts[0] == "Lead · Deal 08 · Romashka · 100.00"
    assert texts[1] == "Proposal · Deal 09 · Romashka · 100.00"
    assert texts[-2:] == ["«", "2/2"]

    # another manager sees none of it; the head of the department sees all; a foreign head none
    [bob] = await h.send(message_update(BORIS, "/deals"))
    assert bob.text.startswith("<b>Your open deals: 0 — 0.00</b>")
    assert bob.text.endswith("No open deals. Open one with /deal.")
    [olga] = await h.send(message_update(OLGA, "/deals"))
    assert olga.text.startswith("<b>Открытые сделки отдела: 10 — 1 000,00</b>")
    [petr] = await h.send(message_update(PETR, "/deals"))
    assert "0 — 0.00" in petr.text.splitlines()[0]


async def test_card_buttons_walk_to_won_with_history(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    deal = await deals.open(h.db.uow(), w.anna, DealInput(w.company, "Pumps", amount=500))
    [page] = await h.send(message_update(ANNA, "/deals"))
    [card] = await h.send(press(ANNA, page, "Pumps"))
    assert card.method == "sendMessage"
    ours = ["Qualified ▶", "✅ Won", "❌ Lost", "📈 Stage history"]
    assert [t for t in labels(card) if t in ours] == ours
    [card] = await h.send(press(ANNA, card, "Qualified ▶"))
    assert card.method == "editMessageText"
    assert last_alert(h) == "Stage: Qualified"
    [card] = await h.send(press(ANNA, card, "◀ Lead"))
    assert (await the_deal(h.db)).stage == "lead"
    for target in ("Qualified ▶", "Proposal ▶", "Negotiation ▶"):
        [card] = await h.send(press(ANNA, card, target))
    assert "Proposal ▶" not in labels(card) and "◀ Proposal" in labels(card)
    # a double tap on an old button moves nothing twice
    await h.send(
        callback_update(ANNA, DealCb(action="move", deal_id=deal.id, stage="negotiation").pack())
    )
    # Won writes a sale: asked first, with the amount
    [sure] = await h.send(press(ANNA, card, "Won"))
    assert sure.text == "Won for 500.00? The deal «Pumps» is closed and its sale is recorded."
    assert labels(sure) == ["✅ Yes, won", "« Back"]
    assert (await the_deal(h.db, deal.id)).stage == "negotiation"
    assert await count(h.db, Sale) == 0
    [card] = await h.send(press(ANNA, sure, "Yes, won"))
    assert last_alert(h) == "Stage: Won"
    texts = labels(card)
    assert not [t for t in texts if "▶" in t or "Won" in t or "Lost" in t or "Reopen" in t]
    stored = await the_deal(h.db, deal.id)
    assert (stored.stage, stored.probability) == ("won", 100)
    assert await count(h.db, Sale) == 1
    assert await count(h.db, DealStageChange) == 7
    # Won on an older copy of the card: the domain offers no Won for a won deal
    await h.send(callback_update(ANNA, DealCb(action="win", deal_id=deal.id).pack()))
    assert last_alert(h) == "This button is from an earlier step."
    assert await count(h.db, Sale) == 1

    [history] = await h.send(press(ANNA, card, "Stage history"))
    lines = history.text.splitlines()
    assert lines[0] == "<b>Stage history</b>"
    assert lines[-1].endswith(" — Negotiation → Won") and len(lines) == 8
    async with h.db.uow() as uow:
        changed_at = (
            await uow.session.scalars(
                select(DealStageChange.changed_at).order_by(DealStageChange.id.desc())
            )
        ).first()

    assert lines[-1].startswith(
        changed_at.astimezone(ZoneInfo("Europe/Moscow")).strftime("%d.%m.%Y %H:%M")
    )
    [back] = await h.send(press(ANNA, history, "« Back"))
    assert back.text.startswith("💼 <b>Pumps</b>")

    # won is final for a manager; the head sees Reopen and it brings the deal back
    reopen = DealCb(action="move", deal_id=deal.id, stage="negotiation").pack()
    await h.send(callback_update(ANNA, reopen))
    assert last_alert(h) == REFUSAL
    [olga_page] = await h.send(message_update(OLGA, "/deals"))
    assert olga_page.text.splitlines()[0].endswith(": 0 — 0,00</b>")
    await h.send(callback_update(OLGA, DealCb(action="open", deal_id=deal.id).pack()))
    olga_card = h.stub.sent_to(OLGA.id)[-1]
    assert "↩ Вернуть в работу" in labels(olga_card)
    await h.send(press(OLGA, olga_card, "Вернуть в работу"))
    stored = await the_deal(h.db, deal.id)
    assert stored.stage == "negotiation"
    assert await count(h.db, Sale) == 0


async def test_lost_asks_for_a_reason(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    one = await deals.open(h.db.uow(), w.anna, DealInput(w.company, "One", amount=1))
    two = await deals.open(h.db.uow(), w.anna, DealInput(w.company, "Two", amount=2))
    await h.send(callback_update(ANNA, DealCb(action="open", deal_id=one.id).pack()))
    card = h.stub.sent_to(ANNA.id)[-1]
    [reasons] = await h.send(press(ANNA, card, "Lost"))
    assert reasons.text == "Why was the deal «One» lost?"
    assert labels(reasons) == [
        "Price",
        "Competitor",
        "No budget",
        "No decision",
        "Other…",
        "« Back",
    ]
    [card] = await h.send(press(ANNA, reasons, "Competitor"))
    assert "Reason lost: Competitor" in card.text
    stored = await the_deal(h.db, one.id)
    assert (stored.stage, stored.lost_reason) == ("lost", "Competitor")

    await h.send(callback_update(ANNA, DealCb(action="lose", deal_id=two.id).pack()))
    reasons = h.stub.sent_to(ANNA.id)[-1]
    [ask] = await h.send(press(ANNA, reasons, "Other"))
    assert ask.text == "Write the reason in a few words."
    [too_long] = await h.send(message_update(ANNA, "z" * 10_000))
    assert too_long.text == "Reason: this is too long (at most 4000 characters)."
    assert (await the_deal(h.db, two.id)).stage == "lead"
    [card] = await h.send(message_update(ANNA, "Chose to build it in-house 🏠"))
    assert "Reason lost: Chose to build it in-house 🏠" in card.text
    assert (await the_deal(h.db, two.id)).lost_reason == "Chose to build it in-house 🏠"


async def test_another_manager_cannot_see_or_move_the_deal(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    deal = await deals.open(h.db.uow(), w.anna, DealInput(w.company, "Pumps", amount=5))
    changes = await count(h.db, DealStageChange)
    replays = [
        DealCb(action="open", deal_id=deal.id),
        DealCb(action="open_here", deal_id=deal.id),
        DealCb(action="move", deal_id=deal.id, stage="qualified"),
        DealCb(action="move", deal_id=deal.id, stage="won"),
        DealCb(action="lose", deal_id=deal.id),
        DealCb(action="hist", deal_id=deal.id),
        LostCb(deal_id=deal.id, reason="price"),
        LostCb(deal_id=deal.id, reason="other"),
        DealCb(action="open", deal_id=deal.id + 1000),  # a guessed id: the same answer
    ]
    for data in replays:
        shown = await h.send(callback_update(BORIS, data.pack()))
        assert shown == [], data
        assert last_alert(h) == REFUSAL, data
    stored = await the_deal(h.db, deal.id)
    assert stored.stage == "lead" and stored.lost_reason is None
    assert await count(h.db, DealStageChange) == changes
    assert await count(h.db, Sale) == 0
    # a crafted stage name is refused politely
    await h.send(callback_update(ANNA, f"dc:move:{deal.id}:paid"))
    assert last_alert(h).startswith("Stage: this must be one of:")


async def test_new_deal_button_of_a_company_card(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    [card] = await h.send(callback_update(ANNA, f"card:co:{w.company}"))
    [title] = await h.send(press(ANNA, card, "New deal"))
    assert title.text == "Company: Romashka\n\nWhat is the deal? Type its title."
    await h.send(message_update(ANNA, "Service contract"))
    [close] = await h.send(message_update(ANNA, "5 000"))
    [catalogue] = await h.send(press(ANNA, close, "Skip"))
    [confirm] = await h.send(press(ANNA, catalogue, "Done"))
    [opened] = await h.send(press(ANNA, confirm, "Open the deal"))
    assert opened.text.startswith("💼 <b>Service contract</b>\nCompany: Romashka")
    deal = await the_deal(h.db)
    assert (deal.company_id, deal.amount) == (w.company, Decimal("5000.00"))
    # the button replayed by another manager: refused, no dialog starts
    assert await h.send(callback_update(BORIS, NewDealCb(company_id=w.company).pack())) == []
    assert last_alert(h) == REFUSAL
    assert only_a_hint(await h.send(message_update(BORIS, "Stolen deal")))
    assert await count(h.db, Deal) == 1


# --- the card's stage name and percentages in the user's language ---------------------------


async def test_card_names_the_stage_and_russian_percentages_have_a_decimal_comma(
    harness: Harness,
) -> None:
    h = harness
    w = await deal_team(h.db)
    line = LineInput(w.widget, 2, discount_pct=Decimal("7.5"))
    deal = await deals.open(h.db.uow(), w.anna, DealInput(w.company, "Pumps", lines=[line]))
    [card] = await h.send(callback_update(ANNA, DealCb(action="open", deal_id=deal.id).pack()))
    assert "\nStage: Lead\n" in card.text  # as /deals names it, not "lead"
    assert " • Widget × 2 — 185.00 (discount 7.5%)" in card.text
    [olgas] = await h.send(callback_update(OLGA, DealCb(action="open", deal_id=deal.id).pack()))
    assert "\nЭтап: Лид\n" in olgas.text
    assert " • Widget × 2 — 185,00 (скидка 7,5%)" in olgas.text
    # a discount above Anna's limit, typed with a comma: the request reaches Olga in Russian
    [lines] = await h.send(press(ANNA, card, "📦"))
    [menu] = await h.send(press(ANNA, lines, "1. Widget"))
    [ask] = await h.send(press(ANNA, menu, "Discount"))
    assert ask.text == "The discount on «Widget» now is 7.5%. Type the new discount, %."
    [question] = await h.send(message_update(ANNA, "12,5"))
    assert question.text.startswith("A discount of 12.5% is above your limit of 10%.")
    await h.send(press(ANNA, question, "Send for approval"))
    request = h.stub.sent_to(OLGA.id)[-1]
    assert "Anna просит скидку 12,5% на «Widget»" in request.text
    [shown] = await h.send(message_update(OLGA, "/approvals"))
    assert "Скидка: 12,5% (лимит: 10%)" in shown.text
    [decided] = await h.send(press(OLGA, shown, "Отклонить"))
    assert decided.text.startswith("Отклонено")
    assert "10%" in decided.text
    async with h.db.uow() as uow:
        assert await uow.session.scalar(select(DealLine.discount_pct)) == Decimal("10.00")


# --- /deal with a close date, ✏ Edit on the deal card ---------------------------------------


async def test_one_line_deal_with_a_close_date_in_both_languages(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    [card] = await h.send(message_update(ANNA, "/deal Romashka; Pumps; 1000; 25.12.2030"))
    assert "Expected close: 25.12.2030" in card.text
    assert (await the_deal(h.db)).expected_close == date(2030, 12, 25)
    await companies.create(h.db.uow(), w.olga, CompanyInput(name="Лютик"))
    [card] = await h.send(message_update(OLGA, "/deal Лютик; Насосы; 500; 1 марта 2031"))
    assert "Ожидаемое закрытие: 01.03.2031" in card.text
    [bad] = await h.send(message_update(OLGA, "/deal Лютик; Насосы; 500; когда-нибудь"))
    assert bad.text.startswith("Ожидаемое закрытие: не удалось понять дату")
    assert await count(h.db, Deal) == 2


async def open_edit(h: Harness, user: TgUser, deal_id: int) -> Sent:
    """The deal card opened by `user`, then its ✏ Edit pressed: the menu of fields."""
    await h.send(callback_update(user, DealCb(action="open", deal_id=deal_id).pack()))
    card = h.stub.sent_to(user.id)[-1]
    [menu] = await h.send(press(user, card, "✏"))
    return menu


async def audited(db: Database, deal_id: int) -> list[dict[str, list[object]]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(
            select(AuditEntry.changes)
            .where(AuditEntry.entity == "deals", AuditEntry.entity_id == deal_id)
            .where(AuditEntry.action == "update")
            .order_by(AuditEntry.id)
        )
        return list(rows)


async def test_edit_every_field_of_a_deal_from_its_card(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    ivan = await factories.raw_contact(h.db, w.anna, "Ivan Petrov", company_id=w.company)
    await factories.raw_contact(h.db, w.boris, "Foreign Person")  # not of Romashka
    deal = await deals.open(h.db.uow(), w.anna, DealInput(w.company, "Pumps", "1000"))

    menu = await open_edit(h, ANNA, deal.id)
    assert menu.text == "What to change in the deal «Pumps»?"
    assert labels(menu) == [
        "Title", "Amount", "Expected close", "Contact", "Source", "Next step", "Cancel",
    ]  # fmt: skip
    [ask] = await h.send(press(ANNA, menu, "Title"))
    assert ask.text == "<b>Title</b>\nSend the new title.\nNow: Pumps"
    [too_long] = await h.send(message_update(ANNA, "t" * 300))
    assert too_long.text == "Title: this is too long (at most 200 characters)."
    [saved] = await h.send(message_update(ANNA, "Big pumps"))
    assert saved.text.startswith("Saved.\n\n💼 <b>Big pumps</b>")

    # a bad amount is answered politely, nothing changes, and the question stays open
    menu = await open_edit(h, ANNA, deal.id)
    await h.send(press(ANNA, menu, "Amount"))
    [bad] = await h.send(message_update(ANNA, "a lot"))
    assert bad.text == "Amount: this is not a number."
    assert (await the_deal(h.db, deal.id)).amount == Decimal("1000.00")
    [saved] = await h.send(message_update(ANNA, "2 500,50"))
    assert "Amount: 2 500.50" in saved.text

    # the expected close: typed as /remind reads times, a past day asked again, or a button
    menu = await open_edit(h, ANNA, deal.id)
    [ask] = await h.send(press(ANNA, menu, "Expected close"))
    this_month, next_month = deal_edits.close_choices("Europe/Moscow")
    assert labels(ask)[:2] == [
        f"End of this month ({this_month:%d.%m.%Y})",
        f"End of next month ({next_month:%d.%m.%Y})",
    ]
    [past] = await h.send(message_update(ANNA, "01.01.2020"))
    assert "has already passed. When is the deal expected to close?" in past.text
    assert (await the_deal(h.db, deal.id)).expected_close is None
    [saved] = await h.send(message_update(ANNA, "25.12.2030"))
    assert "Expected close: 25.12.2030" in saved.text
    menu = await open_edit(h, ANNA, deal.id)
    [ask] = await h.send(press(ANNA, menu, "Expected close"))
    [saved] = await h.send(press(ANNA, ask, "End of next month"))
    assert saved.method == "editMessageText"
    assert f"Expected close: {next_month:%d.%m.%Y}" in saved.text

    # the contact: one of the company's, by its button
    menu = await open_edit(h, ANNA, deal.id)
    [ask] = await h.send(press(ANNA, menu, "Contact"))
    assert labels(ask) == ["Ivan Petrov", "No contact", "« Back", "Cancel"]
    [saved] = await h.send(press(ANNA, ask, "Ivan Petrov"))
    assert "Contact: Ivan Petrov" in saved.text

    menu = await open_edit(h, ANNA, deal.id)
    await h.send(press(ANNA, menu, "Source"))
    [saved] = await h.send(message_update(ANNA, "website"))
    assert "Source: website" in saved.text
    menu = await open_edit(h, ANNA, deal.id)
    await h.send(press(ANNA, menu, "Next step"))
    [saved] = await h.send(message_update(ANNA, "Send the offer on Monday"))
    assert "Next step: Send the offer on Monday" in saved.text
    menu = await open_edit(h, ANNA, deal.id)
    [ask] = await h.send(press(ANNA, menu, "Next step"))
    assert "Send “-” to clear it." in ask.text
    [back] = await h.send(press(ANNA, ask, "« Back"))
    assert back.text == "What to change in the deal «Big pumps»?"
    await h.send(press(ANNA, back, "Next step"))
    [saved] = await h.send(message_update(ANNA, "-"))
    assert "Next step" not in saved.text
    # Cancel, from either step: the deal's card again, nothing saved (the audit below)
    menu = await open_edit(h, ANNA, deal.id)
    [card] = await h.send(press(ANNA, menu, "Cancel"))
    assert card.message_id == menu.message_id and card.text.startswith("💼 <b>Big pumps</b>")
    assert "✏ Edit" in labels(card) and h.stub.alerts()[-1] == "Cancelled. Nothing was saved."
    [ask] = await h.send(press(ANNA, card, "✏ Edit"))
    [ask] = await h.send(press(ANNA, ask, "Title"))
    [card] = await h.send(press(ANNA, ask, "Cancel"))
    assert card.text.startswith("💼 <b>Big pumps</b>")
    await h.send(message_update(ANNA, "Not saved"))  # no longer an answer

    stored = await the_deal(h.db, deal.id)
    assert (stored.title, stored.amount, stored.expected_close, stored.contact_id) == (
        "Big pumps",
        Decimal("2500.50"),
        next_month,
        ivan.id,
    )
    assert (stored.source, stored.next_step) == ("website", None)
    assert await audited(h.db, deal.id) == [
        {"title": ["Pumps", "Big pumps"]},
        {"amount": ["1000.00", "2500.50"]},
        {"expected_close": [None, "2030-12-25"]},
        {"expected_close": ["2030-12-25", next_month.isoformat()]},
        {"contact_id": [None, ivan.id]},
        {"source": [None, "website"]},
        {"next_step": [None, "Send the offer on Monday"]},
        {"next_step": ["Send the offer on Monday", None]},
    ]


async def test_edit_refuses_what_the_rules_forbid(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    stranger = await factories.raw_contact(h.db, w.boris, "Foreign Person")
    deal = await deals.open(
        h.db.uow(), w.anna, DealInput(w.company, "Pumps", lines=[LineInput(w.widget, 2)])
    )
    menu = await open_edit(h, ANNA, deal.id)
    assert "Amount" not in labels(menu)  # the amount follows the lines
    audits = await count(h.db, AuditEntry)

    # a crafted Amount button, a contact the step did not offer, another manager's press
    await h.send(replay(ANNA, DealEditCb(action="field", value="amount").pack()))
    assert last_alert(h) == REFUSAL
    await h.send(press(ANNA, menu, "Contact"))
    await h.send(replay(ANNA, DealEditCb(action="pick", value=str(stranger.id)).pack()))
    assert last_alert(h) == REFUSAL
    assert await h.send(replay(BORIS, DealEditCb(action="menu", deal_id=deal.id).pack())) == []
    assert last_alert(h) == REFUSAL
    assert only_a_hint(await h.send(message_update(BORIS, "Stolen")))
    assert await count(h.db, AuditEntry) == audits

    # a won deal has no ✏ Edit, and a replayed one is refused with the reason
    await deals.move(h.db.uow(), w.anna, deal.id, "won")
    await h.send(callback_update(ANNA, DealCb(action="open", deal_id=deal.id).pack()))
    assert not any("Edit" in label for label in labels(h.stub.sent_to(ANNA.id)[-1]))
    await h.send(replay(ANNA, DealEditCb(action="menu", deal_id=deal.id).pack()))
    assert last_alert(h) == "This deal is already closed."
    assert (await the_deal(h.db, deal.id)).title == "Pumps"


async def test_edit_in_russian(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    deal = await deals.open(h.db.uow(), w.anna, DealInput(w.company, "Pumps", "1000"))
    menu = await open_edit(h, OLGA, deal.id)  # Anna's head
    assert menu.text == "Что изменить в сделке «Pumps»?"
    assert labels(menu)[-1] == "✖ Отмена" or labels(menu)[-1] == "Отмена"
    [ask] = await h.send(press(OLGA, menu, "Ожидаемое закрытие"))
    assert ask.text.startswith("<b>Ожидаемое закрытие</b>\nКогда ожидается закрытие сделки?")
    [bad] = await h.send(message_update(OLGA, "когда-нибудь"))
    assert bad.text.startswith("Не удалось понять «когда-нибудь»") or "когда-нибудь" in bad.text
    [saved] = await h.send(message_update(OLGA, "1 марта 2031"))
    assert saved.text.startswith("Сохранено.\n\n💼 <b>Pumps</b>")
    assert "Ожидаемое закрытие: 01.03.2031" in saved.text
    await h.send(press(OLGA, await open_edit(h, OLGA, deal.id), "Сумма"))
    [bad] = await h.send(message_update(OLGA, "много"))
    assert bad.text == "Сумма: это не число."
    assert (await the_deal(h.db, deal.id)).amount == Decimal("1000.00")
