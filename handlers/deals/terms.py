"""💳 Terms and 💰 Paid on the deal card: the deal's payment deferral (risky terms go to a
head, as a discount above the limit does), and the day a won deal's sale was paid.

The buttons are the ones `payments.payment_actions` offers; the services refuse the same
whatever a callback asks. Each is a Wizard of one question about one deal: a button of an
older dialog (another deal's, or one that ended) is "over" and changes nothing, and Back
goes to the deal's card, leaving the dialog only if it is that deal's.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from aiogram import Bot, F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.errors import InvalidInput
from crm.models import utcnow
from crm.models.enums import ApprovalStatus
from crm.services import cards, payments
from crm.services.cards import DealCard
from crm.services.payments import TermsView
from crm.uow import UnitOfWork
from crm.when import to_local
from handlers.cards.view import CardView
from handlers.deals.callbacks import PaidCb, TermsCb
from handlers.deals.card import show_deal
from handlers.deals.terms_approvals import request_terms_approval, risks_text
from handlers.dialog import Wizard, ends_if_final
from handlers.ui import button, h, markup, show
from handlers.words import day, money

QUICK_DAYS = (0, 14, 30, 60)


class TermsForm(StatesGroup):
    days = State()  # data: deal_id


class PaidForm(StatesGroup):
    day = State()  # data: deal_id


TERMS = Wizard.one("days", TermsForm.days)
PAID = Wizard.one("day", PaidForm.day)


def payment_rows(actor: Actor, card: DealCard) -> list[list[InlineKeyboardButton]]:
    """💳 Terms on an open deal, 💰 Paid on a won deal whose sale is unpaid."""
    allowed = payments.payment_actions(actor, card.deal, card.sale)
    row = []
    if allowed.terms:
        row.append(button("💳 " + _("Terms"), TermsCb(action="ask", deal_id=card.deal.id)))
    if allowed.paid:
        row.append(button("💰 " + _("Paid"), PaidCb(action="ask", deal_id=card.deal.id)))
    return [row] if row else []


def days_text(days: int) -> str:
    return _("{days} days").format(days=days)


def terms_question(view: TermsView) -> str:
    now = days_text(view.deferral)
    if not view.own:
        now = _("{days} (the company's default)").format(days=now)
    lines = [
        _("💳 <b>Payment terms of «{title}»</b>: {now}.").format(title=h(view.title), now=now),
        _("The company's deferral is {days}: longer terms need a head's approval.").format(
            days=days_text(view.allowed)
        ),
    ]
    if view.credit_limit is not None:
        lines.append(
            _("Credit limit: {limit}; unpaid now: {unpaid}; this deal: {amount}.").format(
                limit=money(view.credit_limit),
                unpaid=money(view.unpaid),
                amount=money(view.amount),
            )
        )
    if view.approval == ApprovalStatus.PENDING.value:
        lines.append(_("⏳ The terms wait for a head's approval."))
    elif view.approval == ApprovalStatus.REJECTED.value:
        lines.append(_("❗ A head rejected these terms: set others to win the deal."))
    lines.append(_("Send the deferral in days (0–365), or press a button."))
    return "\n".join(lines)


async def ask_terms(
    callback: CallbackQuery,
    callback_data: TermsCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    view = await payments.terms_view(uow, actor, callback_data.deal_id)  # refuses another's
    deal_id = view.deal_id
    await TERMS.save(state, {"deal_id": deal_id})
    quick = [
        button(days_text(days), TermsCb(action="set", deal_id=deal_id, days=days))
        for days in QUICK_DAYS
        if days != view.deferral
    ]
    rows = [quick]
    if view.own:
        rows.append(
            [
                button(
                    _("The company's default ({days})").format(days=days_text(view.allowed)),
                    TermsCb(action="default", deal_id=deal_id),
                )
            ]
        )
    rows.append([button(_("« Back"), TermsCb(action="back", deal_id=deal_id))])
    await show(callback, terms_question(view), markup(rows))
    await callback.answer()


async def _save_terms(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    card_view: CardView,
    bot: Bot,
    i18n: I18n,
    deal_id: int,
    days: int | None,
) -> None:
    deal = await payments.set_terms(uow, actor, deal_id, days)
    view = await payments.terms_view(uow, actor, deal.id)
    await show_deal(target, card_view, uow, actor, deal.id)
    answer = target if isinstance(target, Message) else target.message
    if view.approval != ApprovalStatus.PENDING.value:
        note = _("✅ Payment terms of «{title}»: {days}.").format(
            title=h(view.title), days=days_text(view.deferral)
        )
    else:
        reached = await request_terms_approval(bot, i18n, uow, actor, deal)
        note = _(
            "⏳ The payment terms of «{title}» ({days}) wait for a head's approval: {why}. "
            "The deal can be won once they are approved."
        ).format(title=h(view.title), days=days_text(view.deferral), why=risks_text(view))
        if reached:
            note += "\n" + _("Sent for approval to: {names}.").format(names=h(", ".join(reached)))
        else:
            note += "\n" + _(
                "I could not reach anyone who approves in Telegram; the terms wait in /approvals."
            )
    if isinstance(answer, Message):
        await answer.answer(note)


async def pressed_terms(
    callback: CallbackQuery,
    callback_data: TermsCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
    bot: Bot,
    i18n: I18n,
) -> None:
    same = {"deal_id": callback_data.deal_id}
    if await TERMS.pressed(callback, callback_data.action, state, same=same) is None:
        return
    days = None if callback_data.action == "default" else callback_data.days
    await state.clear()
    await callback.answer()
    await _save_terms(callback, uow, actor, card_view, bot, i18n, callback_data.deal_id, days)


async def typed_terms(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
    bot: Bot,
    i18n: I18n,
) -> None:
    text = (message.text or "").strip().lower()
    for unit in ("days", "day", "дней", "дня", "день", "дн.", "дн", "d"):
        text = text.removesuffix(unit).strip()
    if not text.isdigit() or len(text) > 4:
        raise InvalidInput("deferral_days", "out_of_range", min=0, max=payments.DEFERRAL_MAX)
    deal_id = int((await state.get_data())["deal_id"])
    async with ends_if_final(state):  # over 365 days: asked again; a deal closed: it ends
        await _save_terms(message, uow, actor, card_view, bot, i18n, deal_id, int(text))
    await state.clear()


# --- 💰 Paid ---------------------------------------------------------------------------


def paid_text(paid_on: date, amount: Decimal) -> str:
    return _("💰 Paid on {date}: {amount}.").format(date=day(paid_on), amount=money(amount))


def _today(actor: Actor) -> str:
    return day(to_local(utcnow(), actor.timezone).date())


async def ask_paid(
    callback: CallbackQuery,
    callback_data: PaidCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    card = await cards.deal_card(uow, actor, callback_data.deal_id)  # refuses another's deal
    if not payments.payment_actions(actor, card.deal, card.sale).paid or card.sale is None:
        await callback.answer(_("This payment is already marked paid."), show_alert=True)
        return
    await PAID.save(state, {"deal_id": card.deal.id})
    text = _(
        "💰 When was «{title}» paid ({amount})? Press Today, or send the date: 05.12, "
        "yesterday, 3 days ago."
    ).format(title=h(card.deal.title), amount=money(card.sale.amount))
    rows = [
        [
            button(
                _("Today, {date}").format(date=_today(actor)),
                PaidCb(action="today", deal_id=card.deal.id),
            )
        ],
        [button(_("« Back"), PaidCb(action="back", deal_id=card.deal.id))],
    ]
    await show(callback, text, markup(rows))
    await callback.answer()


async def paid_today(
    callback: CallbackQuery,
    callback_data: PaidCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    same = {"deal_id": callback_data.deal_id}
    if await PAID.pressed(callback, callback_data.action, state, same=same) is None:
        return
    await state.clear()
    paid_on = to_local(utcnow(), actor.timezone).date()
    sale = await payments.mark_paid(uow, actor, callback_data.deal_id, paid_on)
    await show_deal(callback, card_view, uow, actor, callback_data.deal_id)
    await callback.answer(paid_text(paid_on, sale.amount))


async def typed_paid(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext, card_view: CardView
) -> None:
    deal_id = int((await state.get_data())["deal_id"])
    async with ends_if_final(state):  # a bad day: asked again; paid meanwhile: it ends
        paid_on = payments.paid_day(message.text or "", actor.timezone)
        sale = await payments.mark_paid(uow, actor, deal_id, paid_on)
    await state.clear()
    await message.answer(paid_text(paid_on, sale.amount))
    await show_deal(message, card_view, uow, actor, deal_id)


async def back(
    callback: CallbackQuery,
    callback_data: TermsCb | PaidCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
) -> None:
    """Back to the deal's card from either question about it (a Back of an older dialog
    about another deal leaves the dialog that goes on as it is)."""
    same = {"deal_id": callback_data.deal_id}
    await TERMS.leave(state, same) or await PAID.leave(state, same)
    await show_deal(callback, card_view, uow, actor, callback_data.deal_id)
    await callback.answer()


def setup() -> Router:
    router = Router(name="deals.terms")
    router.callback_query.register(ask_terms, TermsCb.filter(F.action == "ask"))
    router.callback_query.register(pressed_terms, TermsCb.filter(F.action.in_({"set", "default"})))
    router.message.register(typed_terms, TermsForm.days, F.text, ~F.text.startswith("/"))
    router.callback_query.register(back, TermsCb.filter(F.action == "back"))
    router.callback_query.register(ask_paid, PaidCb.filter(F.action == "ask"))
    router.callback_query.register(paid_today, PaidCb.filter(F.action == "today"))
    router.callback_query.register(back, PaidCb.filter(F.action == "back"))
    router.message.register(typed_paid, PaidForm.day, F.text, ~F.text.startswith("/"))
    return router
