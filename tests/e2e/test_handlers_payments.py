"""Payment terms and Paid on the deal card, terms in /approvals, overdue payments in /today
and the digest, Log interaction on the deal card, and the Terms and Paid questions as
dialogs (a button of an older one, /cancel), through the real dispatcher."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from crm.models import AuditEntry, Company, Deal, Interaction, Sale, utcnow
from crm.models.enums import Role
from crm.services import deals
from crm.services.deals import DealInput
from crm.storage import Database
from crm.when import to_local
from handlers.deals.callbacks import DealCb, PaidCb, TermsCb, TermsDecisionCb
from tests.fixtures import factories
from tests.fixtures.bot_harness import REFUSAL, Harness, labels, last_alert, replay
from tests.fixtures.botapi_stub import Sent, callback_update, message_update, press
from tests.fixtures.deal_team import ANNA, BORIS, DIMA, OLGA, PETR, DealTeam, deal_team


async def terms_of_company(db: Database, company_id: int, days: int, limit: str | None) -> None:
    async with db.uow() as uow:
        company = await uow.session.get(Company, company_id)
        assert company is not None
        company.payment_deferral_days = days
        company.credit_limit = Decimal(limit) if limit is not None else None
        await uow.commit()


async def card_of(h: Harness, user, deal_id: int) -> Sent:  # type: ignore[no-untyped-def]
    [card] = await h.send(callback_update(user, DealCb(action="open", deal_id=deal_id).pack()))
    return card


async def deal_row(db: Database, deal_id: int) -> tuple[int | None, str]:
    async with db.uow() as uow:
        deal = await uow.session.get(Deal, deal_id)
        assert deal is not None
        return deal.deferral_days, deal.terms_approval


async def pumps(h: Harness, w: DealTeam, amount: int = 4000) -> Deal:
    return await deals.open(h.db.uow(), w.anna, DealInput(w.company, "Pumps", amount=amount))


async def test_terms_within_the_deferral_are_set_and_beyond_it_go_to_the_head(
    harness: Harness,
) -> None:
    h = harness
    w = await deal_team(h.db)
    await terms_of_company(h.db, w.company, 30, "10000")
    deal = await pumps(h, w)
    card = await card_of(h, ANNA, deal.id)
    assert "\nPayment terms: 30 days (the company's)\n" in card.text
    assert "💳 Terms" in labels(card) and "✍ Log interaction" in labels(card)
    assert "💰 Paid" not in labels(card)
    [ask] = await h.send(press(ANNA, card, "Terms"))
    assert ask.method == "editMessageText"
    assert ask.text.splitlines() == [
        "💳 <b>Payment terms of «Pumps»</b>: 30 days (the company's default).",
        "The company's deferral is 30 days: longer terms need a head's approval.",
        "Credit limit: 10 000.00; unpaid now: 0.00; this deal: 4 000.00.",
        "Send the deferral in days (0–365), or press a button.",
    ]
    assert labels(ask) == ["0 days", "14 days", "60 days", "« Back"]
    # bad input: a polite answer, nothing changed, the question still open
    audits = len(list(await _audits(h.db)))
    for bad in ("abc", "-5", "400", "12.5"):
        [answer] = await h.send(message_update(ANNA, bad))
        assert answer.text == "Payment deferral: this must be between 0 and 365."
    assert await deal_row(h.db, deal.id) == (None, "not_needed")
    assert len(list(await _audits(h.db))) == audits
    shown = await h.send(message_update(ANNA, "20 days"))
    assert shown[0].text.startswith("💼 <b>Pumps</b>")
    assert "\nPayment terms: 20 days\n" in shown[0].text
    assert shown[1].text == "✅ Payment terms of «Pumps»: 20 days."
    assert await deal_row(h.db, deal.id) == (20, "not_needed")

    # beyond the company's 30 days: it waits for Olga, who is asked in Russian
    [ask] = await h.send(press(ANNA, shown[0], "Terms"))
    assert "The company's default (30 days)" in labels(ask)
    [card, note] = await h.send(press(ANNA, ask, "60 days"))
    assert "Payment terms: 60 days ⏳ awaiting approval" in card.text
    assert note.text.splitlines() == [
        "⏳ The payment terms of «Pumps» (60 days) wait for a head's approval: 60 days is "
        "beyond the company's 30 days. The deal can be won once they are approved.",
        "Sent for approval to: Olga.",
    ]
    assert await deal_row(h.db, deal.id) == (60, "pending")
    request = h.stub.sent_to(OLGA.id)[-1]
    assert request.text.splitlines() == [
        "<b>Согласование условий оплаты</b>",
        "Сделка: «Pumps» (Romashka), 4 000,00",
        "Отсрочка: 60 дн. (у компании: 30)",
        "Почему: 60 дн. больше отсрочки компании (30 дн.)",
        "Куратор: Anna",
    ]
    assert labels(request) == ["✅ Одобрить", "❌ Отклонить"]
    # Won waits: the confirmation is refused with the reason
    [confirm] = await h.send(press(ANNA, card, "Won"))
    await h.send(press(ANNA, confirm, "Yes, won"))
    assert last_alert(h).startswith("The payment terms of this deal wait for a head's approval")
    # another department's head and a manager cannot decide; Boris cannot open the terms
    await h.send(callback_update(PETR, TermsDecisionCb(deal_id=deal.id, ok=True).pack()))
    assert last_alert(h) == REFUSAL
    await h.send(callback_update(BORIS, TermsDecisionCb(deal_id=deal.id, ok=True, at=0).pack()))
    assert last_alert(h) == REFUSAL
    await h.send(callback_update(BORIS, TermsCb(action="ask", deal_id=deal.id).pack()))
    assert last_alert(h) == REFUSAL
    assert await deal_row(h.db, deal.id) == (60, "pending")

    # Olga decides in /approvals: the page is edited, Anna is told
    [page] = await h.send(message_update(OLGA, "/approvals"))
    assert page.text.splitlines()[:3] == [
        "<b>Ждут вашего решения: 1</b>",
        "",
        "1. <b>Согласование условий оплаты</b>",
    ]
    [decided] = await h.send(press(OLGA, page, "1 Одобрить"))
    assert decided.message_id == page.message_id
    assert decided.text.splitlines()[0] == (
        "Одобрено: условия оплаты сделки «Pumps» (отсрочка 60 дн.)."
    )
    assert h.stub.sent_to(ANNA.id)[-1].text == (
        "Olga approved the payment terms of «Pumps»: 60 days. The deal can be won."
    )
    assert await deal_row(h.db, deal.id) == (60, "approved")
    await h.send(press(OLGA, request, "Одобрить"))
    assert last_alert(h) == "По этим условиям оплаты уже принято решение."
    decisions = [
        changes["terms_approval"] for changes in await _audits(h.db) if "terms_approval" in changes
    ]
    assert decisions[1:] == [["not_needed", "pending"], ["pending", "approved"]]
    # approved terms let the deal be won; its sale is due in 60 days
    [confirm] = await h.send(press(ANNA, card, "Won"))
    [won] = await h.send(press(ANNA, confirm, "Yes, won"))
    async with h.db.uow() as uow:
        sale = await uow.session.scalar(select(Sale).where(Sale.deal_id == deal.id))
    assert sale is not None and sale.due_on == sale.sold_on + timedelta(days=60)
    assert f"\nPayment due: {sale.due_on:%d.%m.%Y}\n" in won.text


async def test_a_head_rejects_terms_past_the_credit_limit_from_the_request(
    harness: Harness,
) -> None:
    h = harness
    w = await deal_team(h.db)
    await terms_of_company(h.db, w.company, 30, "3000")
    deal = await pumps(h, w)
    card = await card_of(h, ANNA, deal.id)
    [ask] = await h.send(press(ANNA, card, "Terms"))
    [card, note] = await h.send(press(ANNA, ask, "14 days"))
    assert "the unpaid 0.00 with this deal's 4 000.00 passes the credit limit of 3 000.00" in (
        note.text
    )
    request = h.stub.sent_to(OLGA.id)[-1]
    assert "Почему: неоплаченные 0,00 вместе с этой сделкой на 4 000,00 превышают" in request.text
    [verdict] = await h.send(press(OLGA, request, "Отклонить"))
    assert verdict.text == "Отклонено: условия оплаты сделки «Pumps» (отсрочка 14 дн.)."
    assert h.stub.sent_to(ANNA.id)[-1].text.startswith(
        "Olga rejected the payment terms of «Pumps» (14 days): set other terms"
    )
    card = await card_of(h, ANNA, deal.id)
    assert "Payment terms: 14 days ❗ rejected: set other terms" in card.text


async def test_a_head_setting_terms_on_a_managers_deal_asks_a_director(harness: Harness) -> None:
    """Olga, the only head of Anna's department, may not decide terms she set herself: the
    request goes to the director, and the decision is told to Olga and to Anna, whose deal
    waited for it."""
    h = harness
    w = await deal_team(h.db)
    await factories.staff(h.db, Role.DIRECTOR, None, "Dima", tg_id=DIMA.id)
    await terms_of_company(h.db, w.company, 30, None)
    deal = await pumps(h, w)
    [ask] = await h.send(press(OLGA, await card_of(h, OLGA, deal.id), "💳"))
    [card, note] = await h.send(press(OLGA, ask, "60"))
    assert "Отсрочка оплаты: 60 дн. ⏳ ждёт согласования" in card.text
    assert await deal_row(h.db, deal.id) == (60, "pending")
    assert note.text.splitlines()[-1] == "Отправлено на согласование: Dima."
    request = h.stub.sent_to(DIMA.id)[-1]
    assert request.text.splitlines()[:2] == [
        "<b>Payment terms approval</b>",
        "Deal: «Pumps» (Romashka), 4 000.00",
    ]
    assert not any("Payment terms approval" in s.text for s in h.stub.sent_to(OLGA.id))
    [verdict] = await h.send(press(DIMA, request, "Approve"))
    assert verdict.text == "Approved: the payment terms of «Pumps» (60 days)."
    assert h.stub.sent_to(OLGA.id)[-1].text.startswith("Dima одобрил(а) условия оплаты")
    assert h.stub.sent_to(ANNA.id)[-1].text == (
        "Dima approved the payment terms of «Pumps»: 60 days. The deal can be won."
    )
    assert await deal_row(h.db, deal.id) == (60, "approved")


async def test_paid_on_a_won_deal_today_or_on_a_typed_day(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    deal = await pumps(h, w, 1000)
    await deals.move(h.db.uow(), w.anna, deal.id, "won")
    today = to_local(utcnow(), "Europe/Moscow").date()
    card = await card_of(h, ANNA, deal.id)
    assert f"\nPayment due: {today:%d.%m.%Y}\n" in card.text
    assert "💰 Paid" in labels(card) and "💳 Terms" not in labels(card)
    [ask] = await h.send(press(ANNA, card, "Paid"))
    assert ask.text.startswith("💰 When was «Pumps» paid (1 000.00)?")
    assert labels(ask) == [f"Today, {today:%d.%m.%Y}", "« Back"]
    for bad, answer in (
        (
            "abc",
            "Paid on: I could not read a date here: write it like 05.12, yesterday or 3 days ago.",
        ),
        ("tomorrow", "Paid on: this day has not come yet."),
    ):
        [said] = await h.send(message_update(ANNA, bad))
        assert said.text == answer
    async with h.db.uow() as uow:
        assert await uow.session.scalar(select(Sale.paid_on)) is None
    [note, card] = await h.send(message_update(ANNA, "yesterday"))
    yesterday = today - timedelta(days=1)
    assert note.text == f"💰 Paid on {yesterday:%d.%m.%Y}: 1 000.00."
    assert f"\nPaid: {yesterday:%d.%m.%Y}\n" in card.text
    assert "💰 Paid" not in labels(card)
    async with h.db.uow() as uow:
        assert await uow.session.scalar(select(Sale.paid_on)) == yesterday
    marks = [c for c in await _audits(h.db, "sales") if "paid_on" in c]
    assert marks == [{"paid_on": [None, yesterday.isoformat()]}]
    # a crafted Paid on a paid deal, and one on another's deal: nothing changes
    await h.send(callback_update(ANNA, PaidCb(action="ask", deal_id=deal.id).pack()))
    assert last_alert(h) == "This payment is already marked paid."
    await h.send(callback_update(BORIS, PaidCb(action="ask", deal_id=deal.id).pack()))
    assert last_alert(h) == REFUSAL

    # the head marks another won deal of Anna's paid today, in Russian
    other = await deals.open(h.db.uow(), w.anna, DealInput(w.company, "Valves", amount=500))
    await deals.move(h.db.uow(), w.anna, other.id, "won")
    card = await card_of(h, OLGA, other.id)
    [ask] = await h.send(press(OLGA, card, "Оплачено"))
    [card] = await h.send(press(OLGA, ask, "Сегодня"))
    assert f"\nОплачено: {today:%d.%m.%Y}\n" in card.text
    assert last_alert(h) == f"💰 Оплачено {today:%d.%m.%Y}: 500,00."
    # a press of Today after the dialog ended: the dialog is over, nothing written twice
    await h.send(press(OLGA, ask, "Сегодня"))
    assert last_alert(h) == "Этот диалог уже завершён."


async def test_the_deal_card_logs_an_interaction(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    deal = await pumps(h, w)
    card = await card_of(h, ANNA, deal.id)
    [kind] = await h.send(press(ANNA, card, "Log interaction"))
    assert kind.method == "sendMessage"
    assert kind.text == "<b>Pumps, Romashka</b>: what was it?"
    [direction] = await h.send(press(ANNA, kind, "call"))
    [summary] = await h.send(press(ANNA, direction, "Outgoing"))
    [when] = await h.send(message_update(ANNA, "agreed on the price"))
    [done] = await h.send(press(ANNA, when, "Just now"))
    assert done.text.startswith("✅ Logged: 📞 call, outgoing — Pumps, Romashka.")
    async with h.db.uow() as uow:
        rows = list(await uow.session.scalars(select(Interaction)))
    assert [(i.deal_id, i.company_id, i.summary) for i in rows] == [
        (deal.id, w.company, "agreed on the price")
    ]
    # Boris may not log on Anna's deal
    await h.send(callback_update(BORIS, card.button("Log interaction")["callback_data"]))
    assert last_alert(h) == REFUSAL
    del summary


OVER = "This dialog is over."


async def test_a_button_of_an_older_terms_dialog_changes_nothing(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    await terms_of_company(h.db, w.company, 30, None)
    first = await pumps(h, w)
    second = await deals.open(h.db.uow(), w.anna, DealInput(w.company, "Valves", amount=500))
    [old] = await h.send(press(ANNA, await card_of(h, ANNA, first.id), "Terms"))
    [new] = await h.send(press(ANNA, await card_of(h, ANNA, second.id), "Terms"))
    audits = len(await _audits(h.db))

    # the first deal's question was left for the second's: its value writes nothing
    await h.send(press(ANNA, old, "14 days"))
    assert last_alert(h) == OVER
    await h.send(replay(ANNA, TermsCb(action="default", deal_id=first.id).pack()))
    assert last_alert(h) == OVER
    # its Back shows the first deal's card and leaves the second deal's question open
    [card] = await h.send(press(ANNA, old, "« Back"))
    assert card.text.startswith("💼 <b>Pumps</b>")
    assert len(await _audits(h.db)) == audits
    shown = await h.send(message_update(ANNA, "14"))
    assert shown[1].text == "✅ Payment terms of «Valves»: 14 days."
    assert await deal_row(h.db, first.id) == (None, "not_needed")
    assert await deal_row(h.db, second.id) == (14, "not_needed")
    # answered, the second's question is over too: its buttons write nothing more
    await h.send(press(ANNA, new, "60 days"))
    assert last_alert(h) == OVER
    assert await deal_row(h.db, second.id) == (14, "not_needed")


async def test_cancel_ends_the_terms_and_the_paid_questions(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    await terms_of_company(h.db, w.company, 30, None)
    deal = await pumps(h, w)
    [ask] = await h.send(press(ANNA, await card_of(h, ANNA, deal.id), "Terms"))
    await h.send(message_update(ANNA, "/cancel"))
    shown = await h.send(message_update(ANNA, "14"))  # no longer an answer
    assert not any("Payment terms" in sent.text for sent in shown)
    await h.send(press(ANNA, ask, "14 days"))
    assert last_alert(h) == OVER
    assert await deal_row(h.db, deal.id) == (None, "not_needed")

    await deals.move(h.db.uow(), w.anna, deal.id, "won")
    [ask] = await h.send(press(ANNA, await card_of(h, ANNA, deal.id), "Paid"))
    await h.send(message_update(ANNA, "/cancel"))
    shown = await h.send(message_update(ANNA, "yesterday"))
    assert not any("Paid on" in sent.text for sent in shown)
    await h.send(press(ANNA, ask, "Today"))
    assert last_alert(h) == OVER
    async with h.db.uow() as uow:
        assert await uow.session.scalar(select(Sale.paid_on)) is None
    # Back after /cancel: the card, nothing written
    [card] = await h.send(press(ANNA, ask, "« Back"))
    assert card.text.startswith("💼 <b>Pumps</b>") and "💰 Paid" in labels(card)


async def _hand_over(db: Database, deal_id: int, company_id: int, to: int) -> None:
    """The deal and its client go to another curator (out of the first one's reach)."""
    async with db.uow() as uow:
        deal = await uow.session.get(Deal, deal_id)
        company = await uow.session.get(Company, company_id)
        assert deal is not None and company is not None
        deal.curator_id = company.curator_id = to
        await uow.commit()


async def test_typed_terms_refused_for_good_end_the_question(harness: Harness) -> None:
    """999 days can be typed again, so the question stays open; a deal lost, or handed to
    someone out of reach, between the question and the answer cannot take terms whatever
    is typed: the refusal is said once and the question ends (issue 15)."""
    h = harness
    w = await deal_team(h.db)
    await terms_of_company(h.db, w.company, 30, None)
    deal = await pumps(h, w)
    await h.send(press(ANNA, await card_of(h, ANNA, deal.id), "Terms"))
    [answer] = await h.send(message_update(ANNA, "999"))
    assert answer.text == "Payment deferral: this must be between 0 and 365."
    [answer] = await h.send(message_update(ANNA, "999 days"))
    assert answer.text == "Payment deferral: this must be between 0 and 365."
    audits = len(await _audits(h.db))
    await deals.move(h.db.uow(), w.anna, deal.id, "lost", "too dear")
    [answer] = await h.send(message_update(ANNA, "14"))
    assert answer.text == "This deal is already closed."
    shown = await h.send(message_update(ANNA, "14"))  # the question is over: not an answer
    assert not any("This deal is already closed." in sent.text for sent in shown)
    assert not any("Payment terms" in sent.text for sent in shown)
    assert await deal_row(h.db, deal.id) == (None, "not_needed")
    assert len(await _audits(h.db)) == audits + 1  # the move to lost only

    # in Russian, a deal handed to Boris's department while Olga's question was open
    other = await pumps(h, w)
    await h.send(press(OLGA, await card_of(h, OLGA, other.id), "💳"))
    [answer] = await h.send(message_update(OLGA, "999"))
    assert answer.text == "Отсрочка платежа: значение должно быть от 0 до 365."
    await _hand_over(h.db, other.id, w.company, w.boris.id)
    [answer] = await h.send(message_update(OLGA, "14"))
    assert answer.text == "Не найдено, или у вас нет к этому доступа."
    shown = await h.send(message_update(OLGA, "14"))
    assert not any(sent.text == answer.text for sent in shown)
    assert await deal_row(h.db, other.id) == (None, "not_needed")


async def test_typed_paid_refused_for_good_ends_the_question(harness: Harness) -> None:
    """A sale marked paid (by the head) while the manager's 💰 Paid question was open: the
    typed day is refused once and the question ends; a day to come is asked again."""
    h = harness
    w = await deal_team(h.db)
    deal = await pumps(h, w, 1000)
    await deals.move(h.db.uow(), w.anna, deal.id, "won")
    [ask] = await h.send(press(ANNA, await card_of(h, ANNA, deal.id), "Paid"))
    [answer] = await h.send(message_update(ANNA, "tomorrow"))
    assert answer.text == "Paid on: this day has not come yet."
    [olga_ask] = await h.send(press(OLGA, await card_of(h, OLGA, deal.id), "Оплачено"))
    await h.send(press(OLGA, olga_ask, "Сегодня"))
    today = to_local(utcnow(), "Europe/Moscow").date()
    [answer] = await h.send(message_update(ANNA, "yesterday"))
    assert answer.text.startswith("This payment is already marked paid")
    shown = await h.send(message_update(ANNA, "yesterday"))  # not an answer any more
    assert not any("paid" in sent.text.lower() for sent in shown)
    async with h.db.uow() as uow:
        assert await uow.session.scalar(select(Sale.paid_on)) == today
    del ask


async def overdue_sales(db: Database, w: DealTeam) -> list[int]:
    """Anna's Romashka owes three payments: 900 due 40 days ago, 5000 due 10 days ago
    (through a won deal), 100 not due yet; and one paid long ago."""
    deal = await deals.open(db.uow(), w.anna, DealInput(w.company, "Pumps", amount=5000))
    await deals.move(db.uow(), w.anna, deal.id, "won")
    today = to_local(utcnow(), "Europe/Moscow").date()
    async with db.uow() as uow:
        won = await uow.session.scalar(select(Sale).where(Sale.deal_id == deal.id))
        assert won is not None
        won.due_on = today - timedelta(days=10)
        for amount, due, paid in (
            ("900", today - timedelta(days=40), None),
            ("100", today + timedelta(days=5), None),
            ("700", today - timedelta(days=90), today - timedelta(days=80)),
        ):
            uow.session.add(
                Sale(
                    company_id=w.company,
                    manager_id=w.anna.id,
                    sold_on=today - timedelta(days=100),
                    amount=Decimal(amount),
                    source="import",
                    due_on=due,
                    paid_on=paid,
                )
            )
        await uow.commit()
    return [deal.id]


async def test_overdue_payments_in_today_and_in_the_digest(harness: Harness) -> None:
    h = harness
    w = await deal_team(h.db)
    [deal_id] = await overdue_sales(h.db, w)
    today = to_local(utcnow(), "Europe/Moscow").date()
    [shown] = await h.send(message_update(ANNA, "/today"))
    lines = shown.text.splitlines()
    at = lines.index("<b>Overdue payments (2) for 5 900.00</b>")
    assert lines[at + 1 : at + 3] == [
        f" • Romashka: 900.00, due {today - timedelta(days=40):%d.%m.%Y} (40 days late)",
        f" • Romashka — Pumps: 5 000.00, due {today - timedelta(days=10):%d.%m.%Y} (10 days late)",
    ]
    assert labels(shown)[-2:] == ["🏢 Romashka", "💰 Pumps"]
    [deal_card] = await h.send(press(ANNA, shown, "💰 Pumps"))
    assert "⚠ overdue" in deal_card.text and "💰 Paid" in labels(deal_card)
    # Boris curates none of it: his /today has no such section
    await factories.staff(h.db, Role.DIRECTOR, None, "Dima", tg_id=DIMA.id)
    [boris] = await h.send(message_update(BORIS, "/today"))
    assert "Overdue payments" not in boris.text
    # the digest of the head (Russian) and of the director
    [olga, *_] = await h.send(message_update(OLGA, "/digest"))
    assert "Просроченные оплаты: 2 на 5 900,00\n• Romashka: 900,00, просрочка 40 дн.\n" in (
        olga.text
    )
    assert "• Romashka: 5 000,00, просрочка 10 дн." in olga.text
    [petr, *_] = await h.send(message_update(PETR, "/digest"))
    assert "Overdue payments" not in petr.text
    del deal_id


async def _audits(db: Database, entity: str = "deals") -> list[dict]:  # type: ignore[type-arg]
    async with db.uow() as uow:
        return list(
            await uow.session.scalars(
                select(AuditEntry.changes)
                .where(AuditEntry.entity == entity)
                .order_by(AuditEntry.id)
            )
        )
