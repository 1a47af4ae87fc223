"""Discount approval: the request to the heads (or the directors), in their own chat and
language, their Approve / Reject, and the manager accepting a discount that was cut.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.models import Deal, DealLine
from crm.services import deals, team
from crm.uow import UnitOfWork
from handlers.cards.view import CardView
from handlers.deals.callbacks import AcceptCb, ApprovalCb
from handlers.deals.card import show_deal
from handlers.ui import h, show
from handlers.words import money, number, plain

logger = logging.getLogger("chatcrm.bot")


def approval_request_text(actor: Actor, deal: Deal, line: DealLine) -> str:
    return _(
        "<b>Discount approval</b>\n{manager} asks for a discount of {discount}% on «{product}» "
        "in the deal «{title}» ({company}): {quantity} × {price}, total {total}."
    ).format(
        manager=h(actor.name),
        discount=number(line.discount_pct),
        product=h(line.product.name),
        title=h(deal.title),
        company=h(deal.company.name),
        quantity=number(line.quantity),
        price=money(line.unit_price),
        total=money(line.total),
    )


def approval_markup(line_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text="✅ " + _("Approve"), callback_data=ApprovalCb(line_id=line_id, ok=True))
    kb.button(text="❌ " + _("Reject"), callback_data=ApprovalCb(line_id=line_id, ok=False))
    return kb.as_markup()


async def send_quietly(bot: Bot, chat_id: int, text: str, **kwargs: Any) -> bool:
    """Send to another person's chat; one who blocked the bot does not break the flow."""
    try:
        await bot.send_message(chat_id, text, **kwargs)
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        logger.info("could not message chat %s: %s", chat_id, type(exc).__name__)
        return False
    return True


async def request_approvals(
    bot: Bot,
    i18n: I18n,
    uow: UnitOfWork,
    actor: Actor,
    deal: Deal,
    pending: list[DealLine],
) -> list[str]:
    """Ask the heads (or the directors) in their own language; the names of those reached."""
    reached = []
    for approver in await team.approvers(uow, deal.curator_id):
        sent = False
        with i18n.use_locale(approver.language):
            for line in pending:
                sent |= await send_quietly(
                    bot,
                    approver.tg_id,
                    approval_request_text(actor, deal, line),
                    reply_markup=approval_markup(line.id),
                )
        if sent:
            reached.append(approver.name)
    return reached


def verdict_of(decision: deals.DiscountDecision) -> str:
    """What the head is shown once they decided, in their language."""
    deal, line = decision.deal, decision.line
    if decision.approved:
        verdict = _("Approved: a discount of {discount}% on «{product}» in «{title}».")
    else:
        verdict = _("Rejected: the discount on «{product}» in «{title}» is cut to {discount}%.")
    return verdict.format(
        discount=number(line.discount_pct), product=h(line.product.name), title=h(deal.title)
    )


async def tell_curator(
    bot: Bot, i18n: I18n, actor: Actor, decision: deals.DiscountDecision
) -> None:
    """The deal's curator hears the decision in their own language (a cut one: Accept N %)."""
    deal, line, curator = decision.deal, decision.line, decision.curator
    params = {
        "discount": number(line.discount_pct),
        "product": h(line.product.name),
        "title": h(deal.title),
    }
    with i18n.use_locale(curator.language):
        if decision.approved:
            note = _("{head} approved your discount of {discount}% on «{product}» in «{title}».")
        else:
            note = _(
                "{head} rejected your discount on «{product}» in «{title}»: it is cut to "
                "{discount}%. Confirm the new price with the client before winning the deal."
            )
        markup = None
        if not decision.approved:
            kb = InlineKeyboardBuilder()
            kb.button(
                text=_("Accept {discount}%").format(discount=params["discount"]),
                callback_data=AcceptCb(line_id=line.id, pct=plain(line.discount_pct)),
            )
            markup = kb.as_markup()
        await send_quietly(
            bot, curator.tg_id, note.format(head=h(actor.name), **params), reply_markup=markup
        )


async def decide(
    callback: CallbackQuery,
    callback_data: ApprovalCb,
    uow: UnitOfWork,
    actor: Actor,
    bot: Bot,
    i18n: I18n,
) -> None:
    """Approve / Reject under the request message: the message becomes the verdict."""
    decision = await deals.decide_discount(uow, actor, callback_data.line_id, callback_data.ok)
    await show(callback, verdict_of(decision))
    await callback.answer()
    await tell_curator(bot, i18n, actor, decision)


async def accept_cut_discount(
    callback: CallbackQuery,
    callback_data: AcceptCb,
    uow: UnitOfWork,
    actor: Actor,
    card_view: CardView,
) -> None:
    line = await deals.change_discount(uow, actor, callback_data.line_id, callback_data.pct)
    await show_deal(callback, card_view, uow, actor, line.deal_id)
    await callback.answer()


def setup() -> Router:
    router = Router(name="deals.approvals")
    router.callback_query.register(decide, ApprovalCb.filter(F.at < 0))
    router.callback_query.register(accept_cut_discount, AcceptCb.filter())
    return router
