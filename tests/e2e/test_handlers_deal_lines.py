"""The deal card's 📦 Lines (change, remove, add) and /approvals, through the real dispatcher."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from crm.models import AuditEntry, Deal, DealLine, Sale
from crm.models.enums import Role
from crm.services import companies, deals
from crm.services.companies import CompanyInput
from crm.services.deals import DealInput, LineInput
from crm.storage import Database
from handlers.deals.callbacks import ApprovalCb, ApprovalsPageCb, DealCb, LineCb
from tests.fixtures import factories
from tests.fixtures.bot_harness import REFUSAL, Harness, labels, last_alert, only_a_hint
from tests.fixtures.botapi_stub import Sent, callback_update, message_update, press
from tests.fixtures.deal_team import ANNA, BORIS, DIMA, OLGA, PETR, DealTeam, deal_team
from tests.fixtures.queries import count

Snapshot = tuple[Decimal, list[tuple[int, Decimal, Decimal, str]]]


async def snapshot(db: Database, deal_id: int) -> Snapshot:
    """The deal's amount and its lines (product, quantity, discount, approval)."""
    async with db.uow() as uow:
        amount = await uow.session.scalar(select(Deal.amount).where(Deal.id == deal_id))
        rows = await uow.session.execute(
            select(DealLine.product_id, DealLine.quantity, DealLine.discount_pct, DealLine.approval)
            .where(DealLine.deal_id == deal_id)
            .order_by(DealLine.id)
        )
        return amount, [tuple(r) for r in rows]  # type: ignore[misc]


async def pumps(h: Harness, w: DealTeam, discount: int = 5) -> Deal:
    """Anna's open deal: 2 Widgets at `discount` %, the amount following the lines."""
    return await deals.open(
        h.db.uow(),
        w.anna,
        DealInput(w.company, "Pumps", lines=[LineInput(w.widget, 2, discount_pct=discount)]),
    )


async def open_lines(h: Harness, user, deal_id: int) -> Sent:  # type: ignore[no-untyped-def]
    await h.send(callback_update(user, DealCb(action="open", deal_id=deal_id).pack()))
    card = h.stub.sent_to(user.id)[-1]
    [view] = await h.send(press(user, card, "📦"))
    return view


async def test_lines_view_and_changing_the_quantity(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    deal = await pumps(h, w)
    view = await open_lines(h, ANNA, deal.id)
    assert view.method == "editMessageText"
    assert view.text.splitlines() == [
        "📦 <b>Lines of the deal «Pumps»</b>",
        "1. Widget × 2 × 100.00 −5% = 190.00",
        "",
        "Amount: 190.00",
    ]
    assert labels(view) == ["✏ 1. Widget", "➕ Add a product", "« Back"]
    [menu] = await h.send(press(ANNA, view, "1. Widget"))
    assert menu.text == ("<b>Widget</b> in the deal «Pumps»\nWidget × 2 × 100.00 −5% = 190.00")
    assert labels(menu) == ["🔢 Quantity", "％ Discount", "🗑 Remove", "« Back"]
    [ask] = await h.send(press(ANNA, menu, "Quantity"))
    assert ask.text == "The quantity of «Widget» now is 2. Type the new quantity."
    before = await snapshot(h.db, deal.id)
    audits = await count(h.db, AuditEntry)
    for bad, answer in (
        ("abc", "Quantity: this is not a number."),
        ("-3", "Quantity: this must be more than zero."),
        ("0", "Quantity: this must be more than zero."),
        ("1e30", "Quantity: this number is too large."),
        ("99999999999999999999", "Quantity: this number is too large."),
        ("🔥", "Quantity: this is not a number."),
    ):
        [reply] = await h.send(message_update(ANNA, bad))
        assert reply.text == answer, bad
    assert await snapshot(h.db, deal.id) == before
    assert await count(h.db, AuditEntry) == audits
    [view] = await h.send(message_update(ANNA, "3,5"))
    assert view.method == "sendMessage"
    assert "1. Widget × 3.5 × 100.00 −5% = 332.50" in view.text
    assert "Amount: 332.50" in view.text
    assert await snapshot(h.db, deal.id) == (
        Decimal("332.50"),
        [(w.widget, Decimal("3.500"), Decimal("5.00"), "not_needed")],
    )
    # the dialog is over: more text is chatter
    assert only_a_hint(await h.send(message_update(ANNA, "7")))
    [card] = await h.send(press(ANNA, view, "« Back"))
    assert card.text.startswith("💼 <b>Pumps</b>")


async def test_changing_the_discount_within_and_above_the_limit(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    deal = await pumps(h, w)
    view = await open_lines(h, ANNA, deal.id)
    [menu] = await h.send(press(ANNA, view, "1. Widget"))
    [ask] = await h.send(press(ANNA, menu, "Discount"))
    assert ask.text == "The discount on «Widget» now is 5%. Type the new discount, %."
    before = await snapshot(h.db, deal.id)
    for bad, answer in (
        ("lots", "Discount: this is not a number."),
        ("-5", "Discount: this cannot be negative."),
        ("150", "Discount: this must be between 0 and 100."),
        ("1e40", "Discount: this number is too large."),
    ):
        [reply] = await h.send(message_update(ANNA, bad))
        assert reply.text == answer, bad
    assert await snapshot(h.db, deal.id) == before
    [view] = await h.send(message_update(ANNA, "10%"))
    assert "1. Widget × 2 × 100.00 −10% = 180.00" in view.text
    assert await snapshot(h.db, deal.id) == (
        Decimal("180.00"),
        [(w.widget, Decimal("2.000"), Decimal("10.00"), "not_needed")],
    )

    # above the limit: asked first, nothing written; then sent to the head, as /deal does
    [menu] = await h.send(press(ANNA, view, "1. Widget"))
    await h.send(press(ANNA, menu, "Discount"))
    [question] = await h.send(message_update(ANNA, "25"))
    assert question.text == (
        "A discount of 25% is above your limit of 10%. Send it to your head for approval?"
    )
    assert labels(question) == ["Send for approval", "Cancel"]
    assert (await snapshot(h.db, deal.id))[1][0][2:] == (Decimal("10.00"), "not_needed")
    [view, note] = await h.send(press(ANNA, question, "Send for approval"))
    assert "1. Widget × 2 × 100.00 −25% = 150.00 ⏳ awaiting approval" in view.text
    assert note.text == "Sent for approval to: Olga."
    assert await snapshot(h.db, deal.id) == (
        Decimal("150.00"),
        [(w.widget, Decimal("2.000"), Decimal("25.00"), "pending")],
    )
    [request] = h.stub.sent_to(OLGA.id)
    assert "25%" in request.text and "Widget" in request.text and "Anna" in request.text
    assert labels(request) == ["✅ Одобрить", "❌ Отклонить"]
    assert h.stub.sent_to(PETR.id) == []
    # the approval button pressed twice by Anna does nothing more
    await h.send(press(ANNA, question, "Send for approval"))
    assert last_alert(h) == "This button is from an earlier step."
    assert len(h.stub.sent_to(OLGA.id)) == 1


async def test_cancel_asking_for_approval_writes_nothing(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    deal = await pumps(h, w)
    before = await snapshot(h.db, deal.id)
    view = await open_lines(h, ANNA, deal.id)
    [menu] = await h.send(press(ANNA, view, "1. Widget"))
    await h.send(press(ANNA, menu, "Discount"))
    [question] = await h.send(message_update(ANNA, "40"))
    [bye] = await h.send(press(ANNA, question, "Cancel"))
    assert bye.text == "Cancelled. Nothing was saved."
    assert await snapshot(h.db, deal.id) == before
    assert h.stub.sent_to(OLGA.id) == []
    assert only_a_hint(await h.send(message_update(ANNA, "40")))


async def test_removing_a_line_asks_first(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    gadget = await factories.catalogue_product(h.db, "Gadget", "250.00")
    deal = await deals.open(
        h.db.uow(),
        w.anna,
        DealInput(w.company, "Pumps", lines=[LineInput(w.widget, 2), LineInput(gadget.id, 1)]),
    )
    view = await open_lines(h, ANNA, deal.id)
    assert "Amount: 450.00" in view.text
    [menu] = await h.send(press(ANNA, view, "2. Gadget"))
    [confirm] = await h.send(press(ANNA, menu, "Remove"))
    assert confirm.text == "Remove «Gadget» (1 × 250.00) from the deal «Pumps»?"
    [menu] = await h.send(press(ANNA, confirm, "« Back"))
    assert len((await snapshot(h.db, deal.id))[1]) == 2
    [confirm] = await h.send(press(ANNA, menu, "Remove"))
    [view] = await h.send(press(ANNA, confirm, "Yes, remove"))
    assert last_alert(h) == "The line is removed."
    assert view.text.splitlines()[1:] == ["1. Widget × 2 × 100.00 = 200.00", "", "Amount: 200.00"]
    assert await snapshot(h.db, deal.id) == (
        Decimal("200.00"),
        [(w.widget, Decimal("2.000"), Decimal("0.00"), "not_needed")],
    )
    async with h.db.uow() as uow:
        audit = (
            await uow.session.scalars(
                select(AuditEntry).where(
                    AuditEntry.entity == "deal_lines", AuditEntry.action == "delete"
                )
            )
        ).one()
    assert audit.actor_id == w.anna.id
    # the old confirmation pressed again: the line is gone, refused politely
    await h.send(press(ANNA, confirm, "Yes, remove"))
    assert last_alert(h) == REFUSAL


async def test_adding_a_catalogue_product(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    for n in range(9):
        await factories.catalogue_product(h.db, f"Item {n}", "10.00")
    gadget = await factories.catalogue_product(h.db, "Gadget", "250.00")
    deal = await deals.open(h.db.uow(), w.anna, DealInput(w.company, "Empty"))
    view = await open_lines(h, ANNA, deal.id)
    assert "No products in this deal yet." in view.text
    [catalogue] = await h.send(press(ANNA, view, "Add a product"))
    assert catalogue.text == "Which product to add to the deal «Empty»?"
    texts = labels(catalogue)
    assert texts[0] == "Gadget — 250.00" and "Widget — 100.00" not in texts
    assert texts[-3:] == ["1/2", "»", "Cancel"]
    [page2] = await h.send(press(ANNA, catalogue, "»"))
    assert labels(page2)[:2] == ["Item 7 — 10.00", "Item 8 — 10.00"]
    [qty] = await h.send(press(ANNA, page2, "Widget"))
    assert qty.text == "How many of «Widget»? Press or type a number."
    [bad] = await h.send(message_update(ANNA, "-1"))
    assert bad.text == "Quantity: this must be more than zero."
    [disc] = await h.send(press(ANNA, qty, "10"))
    assert disc.text == "Discount on «Widget», %? Press or type a number."
    [bad] = await h.send(message_update(ANNA, "101"))
    assert bad.text == "Discount: this must be between 0 and 100."
    assert (await snapshot(h.db, deal.id))[1] == []
    [view] = await h.send(press(ANNA, disc, "5%"))
    assert "1. Widget × 10 × 100.00 −5% = 950.00" in view.text
    assert await snapshot(h.db, deal.id) == (
        Decimal("950.00"),
        [(w.widget, Decimal("10.000"), Decimal("5.00"), "not_needed")],
    )
    # an old catalogue button after the line was added: refused, nothing added
    await h.send(press(ANNA, catalogue, "Gadget"))
    assert last_alert(h) == "This button is from an earlier step."

    # a typed quantity and a discount above the limit: sent for approval
    [catalogue] = await h.send(press(ANNA, view, "Add a product"))
    await h.send(press(ANNA, catalogue, "Gadget"))
    await h.send(message_update(ANNA, "2"))
    [question] = await h.send(message_update(ANNA, "30"))
    assert question.text.startswith("A discount of 30% is above your limit of 10%.")
    assert len((await snapshot(h.db, deal.id))[1]) == 1
    [view, note] = await h.send(press(ANNA, question, "Send for approval"))
    assert "2. Gadget × 2 × 250.00 −30% = 350.00 ⏳ awaiting approval" in view.text
    assert note.text == "Sent for approval to: Olga."
    assert (await snapshot(h.db, deal.id)) == (
        Decimal("1300.00"),
        [
            (w.widget, Decimal("10.000"), Decimal("5.00"), "not_needed"),
            (gadget.id, Decimal("2.000"), Decimal("30.00"), "pending"),
        ],
    )


async def test_a_crafted_product_button_is_refused(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    hidden = await factories.catalogue_product(h.db, "Hidden", "1.00")
    async with h.db.uow() as uow:
        from crm.models import Product

        product = await uow.session.get(Product, hidden.id)
        assert product is not None
        product.active = False
        await uow.commit()
    deal = await pumps(h, w)
    view = await open_lines(h, ANNA, deal.id)
    [catalogue] = await h.send(press(ANNA, view, "Add a product"))
    crafted = LineCb(action="prod", deal_id=deal.id, value=str(hidden.id)).pack()
    await h.send(callback_update(ANNA, crafted, catalogue.message_id))
    assert last_alert(h) == REFUSAL
    assert len((await snapshot(h.db, deal.id))[1]) == 1


async def test_a_closed_deal_shows_its_lines_read_only(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    deal = await pumps(h, w)
    line_id = deal.lines[0].id
    await deals.move(h.db.uow(), w.anna, deal.id, "won")
    view = await open_lines(h, ANNA, deal.id)
    assert view.text.splitlines()[-1] == "The deal is closed: its lines cannot be changed."
    assert labels(view) == ["« Back"]
    before = await snapshot(h.db, deal.id)
    for data in (
        LineCb(action="line", deal_id=deal.id, line_id=line_id),
        LineCb(action="rm", deal_id=deal.id, line_id=line_id),
        LineCb(action="rmok", deal_id=deal.id, line_id=line_id),
        LineCb(action="qty", deal_id=deal.id, line_id=line_id),
        LineCb(action="disc", deal_id=deal.id, line_id=line_id),
        LineCb(action="add", deal_id=deal.id),
    ):
        assert await h.send(callback_update(ANNA, data.pack())) == [], data
        assert last_alert(h) == "This deal is already closed.", data
    assert await snapshot(h.db, deal.id) == before
    # a lost deal without lines has no Lines button at all
    empty = await deals.open(h.db.uow(), w.anna, DealInput(w.company, "Nothing", amount=1))
    await deals.move(h.db.uow(), w.anna, empty.id, "lost", "price")
    await h.send(callback_update(ANNA, DealCb(action="open", deal_id=empty.id).pack()))
    assert not [t for t in labels(h.stub.sent_to(ANNA.id)[-1]) if "📦" in t]


async def test_another_managers_deal_is_refused_and_unchanged(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    deal = await pumps(h, w)
    line_id = deal.lines[0].id
    boris_company = await companies.create(h.db.uow(), w.boris, CompanyInput(name="Secret Co"))
    boris_deal = await deals.open(
        h.db.uow(),
        w.boris,
        DealInput(boris_company.id, "Secret", lines=[LineInput(w.widget, 1)]),
    )
    boris_line = boris_deal.lines[0].id
    before, audits = await snapshot(h.db, deal.id), await count(h.db, AuditEntry)
    replays = [
        (BORIS, LineCb(action="view", deal_id=deal.id)),
        (BORIS, LineCb(action="line", deal_id=deal.id, line_id=line_id)),
        (BORIS, LineCb(action="rm", deal_id=deal.id, line_id=line_id)),
        (BORIS, LineCb(action="rmok", deal_id=deal.id, line_id=line_id)),
        (BORIS, LineCb(action="qty", deal_id=deal.id, line_id=line_id)),
        (BORIS, LineCb(action="disc", deal_id=deal.id, line_id=line_id)),
        (BORIS, LineCb(action="add", deal_id=deal.id)),
        (PETR, LineCb(action="rmok", deal_id=deal.id, line_id=line_id)),
        # Anna's own deal in the button, Boris's line: refused too
        (ANNA, LineCb(action="line", deal_id=deal.id, line_id=boris_line)),
        (ANNA, LineCb(action="qty", deal_id=deal.id, line_id=boris_line)),
        (ANNA, LineCb(action="rmok", deal_id=deal.id, line_id=boris_line)),
        (ANNA, LineCb(action="view", deal_id=boris_deal.id)),
    ]
    for user, data in replays:
        assert await h.send(callback_update(user, data.pack())) == [], data
        assert last_alert(h) == REFUSAL, data
    # no dialog started for Boris: his numbers change nothing
    assert only_a_hint(await h.send(message_update(BORIS, "1")))
    assert await snapshot(h.db, deal.id) == before
    assert len((await snapshot(h.db, boris_deal.id))[1]) == 1
    assert await count(h.db, AuditEntry) == audits


async def test_the_head_sees_the_lines_in_russian(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    deal = await pumps(h, w)
    await deals.change_discount(h.db.uow(), w.anna, deal.lines[0].id, "20", request_approval=True)
    view = await open_lines(h, OLGA, deal.id)
    assert view.text.splitlines()[0] == "📦 <b>Строки сделки «Pumps»</b>"
    assert "⏳ ждёт согласования" in view.text
    assert labels(view) == ["✏ 1. Widget", "➕ Добавить товар", "« Назад"]
    [menu] = await h.send(press(OLGA, view, "1. Widget"))
    assert labels(menu)[2] == "🗑 Удалить"


# --- /approvals ---------------------------------------------------------------------------


async def pending_deals(h: Harness, w: DealTeam, n: int) -> list[int]:
    """`n` deals of Anna's, each with one Widget at 20 + i % waiting for approval; line ids."""
    ids = []
    for i in range(n):
        deal = await deals.open(
            h.db.uow(),
            w.anna,
            DealInput(w.company, f"Deal {i}", lines=[LineInput(w.widget, 1, 20 + i)]),
            request_approval=True,
        )
        ids.append(deal.lines[0].id)
    return ids


async def test_approvals_for_a_head_in_russian(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    [line_a, line_b] = await pending_deals(h, w, 2)
    [shown] = await h.send(message_update(OLGA, "/approvals"))
    assert shown.text.splitlines() == [
        "<b>Ждут вашего решения: 2</b>",
        "",
        "1. <b>Согласование скидки</b>",
        "Сделка: «Deal 0» (Romashka)",
        "Товар: Widget, 1 × 100,00, итого 80,00",
        "Скидка: 20% (лимит: 10%)",
        "Запросил(а): Anna",
        "",
        "2. <b>Согласование скидки</b>",
        "Сделка: «Deal 1» (Romashka)",
        "Товар: Widget, 1 × 100,00, итого 79,00",
        "Скидка: 21% (лимит: 10%)",
        "Запросил(а): Anna",
    ]
    assert labels(shown) == ["✅ 1 Одобрить", "❌ 1 Отклонить", "✅ 2 Одобрить", "❌ 2 Отклонить"]
    assert ApprovalCb.unpack(shown.button("2 Одобрить")["callback_data"]).line_id == line_b
    # deciding edits the same message: the verdict above what is left
    [decided] = await h.send(press(OLGA, shown, "1 Одобрить"))
    assert decided.method == "editMessageText"
    assert decided.text.startswith("Одобрено")
    assert "1. <b>Согласование скидки</b>\nСделка: «Deal 1» (Romashka)" in decided.text
    [decided] = await h.send(press(OLGA, decided, "1 Отклонить"))
    assert decided.text.splitlines()[0].startswith("Отклонено")
    assert decided.text.endswith("Вашего решения ничего не ждёт: ни скидки, ни условия оплаты.")
    assert labels(decided) == []
    async with h.db.uow() as uow:
        lines = {x.id: x for x in await uow.session.scalars(select(DealLine))}
    assert (lines[line_a].approval, lines[line_a].approved_by_id) == ("approved", w.olga.id)
    assert (lines[line_b].approval, lines[line_b].discount_pct) == ("rejected", Decimal("10.00"))
    # Anna heard both decisions
    told = [s.text for s in h.stub.sent_to(ANNA.id)[-2:]]
    assert told[0].startswith("Olga approved your discount of 20%")
    assert told[1].startswith("Olga rejected your discount")
    [none] = await h.send(message_update(OLGA, "/approvals"))
    assert none.text == "Вашего решения ничего не ждёт: ни скидки, ни условия оплаты."


async def test_approvals_paged_in_place_for_a_director_and_refused_to_others(
    harness: Harness,
) -> None:
    h = harness
    w = await deal_team(h.db)
    await factories.staff(h.db, Role.DIRECTOR, None, "Dima", tg_id=DIMA.id)
    ids = await pending_deals(h, w, 7)
    [shown] = await h.send(message_update(DIMA, "/approvals"))
    lines = shown.text.splitlines()
    assert lines[0] == "<b>Waiting for your decision: 7</b>"
    assert [x for x in lines if x.startswith("Deal:")] == [
        f"Deal: «Deal {i}» (Romashka)" for i in range(5)
    ]
    assert lines[3:8] == [
        "Deal: «Deal 0» (Romashka)",
        "Product: Widget, 1 × 100.00, total 80.00",
        "Discount: 20% (the limit of Anna is 10%)",
        "Asked by: Anna",
        "",
    ]
    assert lines[-1] == "Shown 1–5 of 7."
    assert labels(shown)[-2:] == ["1/2", "»"]
    # the pager edits the page in place: no new message
    [more] = await h.send(press(DIMA, shown, "»"))
    assert more.method == "editMessageText" and more.message_id == shown.message_id
    assert [x for x in more.text.splitlines() if x.startswith("Deal:")] == [
        "Deal: «Deal 5» (Romashka)",
        "Deal: «Deal 6» (Romashka)",
    ]
    assert more.text.endswith("Shown 6–7 of 7.")
    assert labels(more) == [
        "✅ 1 Approve",
        "❌ 1 Reject",
        "✅ 2 Approve",
        "❌ 2 Reject",
        "«",
        "2/2",
    ]
    [after] = await h.send(press(DIMA, more, "2 Approve"))
    assert after.message_id == shown.message_id
    assert after.text.startswith("Approved: a discount of 26% on «Widget» in «Deal 6».")
    async with h.db.uow() as uow:
        approved = await uow.session.scalar(select(DealLine.approval).where(DealLine.id == ids[6]))
    assert approved == "approved"
    # six are left: a last page of one reads right («Показаны 6–6 из 6» did not)
    assert after.text.endswith("Shown: number 6 of 6.")

    # a head of another department sees none; a manager is told politely; nothing changes
    [petr] = await h.send(message_update(PETR, "/approvals"))
    assert petr.text == "Nothing waits for your decision: no discounts, no payment terms."
    [anna] = await h.send(message_update(ANNA, "/approvals"))
    assert anna.text == "Only heads and directors decide on discounts and payment terms."
    await h.send(callback_update(BORIS, ApprovalsPageCb(offset=5).pack()))
    assert last_alert(h) == "Only heads and directors decide on discounts and payment terms."
    await h.send(callback_update(BORIS, ApprovalCb(line_id=ids[0], ok=True).pack()))
    assert last_alert(h) == REFUSAL
    await h.send(callback_update(BORIS, ApprovalCb(line_id=ids[0], ok=True, at=0).pack()))
    assert last_alert(h) == REFUSAL
    async with h.db.uow() as uow:
        waiting = list(
            await uow.session.scalars(select(DealLine.id).where(DealLine.approval == "pending"))
        )
    assert waiting == ids[:6]


async def test_a_typed_amount_gives_way_to_the_lines_and_the_card_says_so(
    harness: Harness,
) -> None:
    h = harness
    await deal_team(h.db)
    [card] = await h.send(message_update(ANNA, "/deal Romashka; Pumps; 150000"))
    assert "Amount: 150 000.00\n" in card.text
    async with h.db.uow() as uow:
        deal_id = await uow.session.scalar(select(Deal.id).where(Deal.title == "Pumps"))
    assert deal_id is not None
    view = await open_lines(h, ANNA, deal_id)
    [catalogue] = await h.send(press(ANNA, view, "Add a product"))
    await h.send(press(ANNA, catalogue, "Widget"))
    [disc] = await h.send(message_update(ANNA, "3"))
    [view] = await h.send(press(ANNA, disc, "0%"))
    assert view.text.splitlines()[-1] == "Amount: 300.00"
    assert (await snapshot(h.db, deal_id))[0] == Decimal("300.00")

    await h.send(callback_update(ANNA, DealCb(action="open", deal_id=deal_id).pack()))
    card = h.stub.sent_to(ANNA.id)[-1]
    assert "Amount: 300.00 (the products' total)" in card.text
    await h.send(callback_update(OLGA, DealCb(action="open", deal_id=deal_id).pack()))
    assert "Сумма: 300,00 (итог по товарам)" in h.stub.sent_to(OLGA.id)[-1].text

    [sure] = await h.send(press(ANNA, card, "Won"))
    assert sure.text.startswith("Won for 300.00?")  # the products' total, not the typed amount
    [won] = await h.send(press(ANNA, sure, "Yes, won"))
    async with h.db.uow() as uow:
        sale = await uow.session.scalar(select(Sale).where(Sale.deal_id == deal_id))
    assert sale is not None and sale.amount == Decimal("300.00")  # not the 150 000 typed
    assert "Won" in won.text
