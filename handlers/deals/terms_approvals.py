"""Payment terms a head decides: the request in the approvers' own chat and language, their
Approve / Reject (from the request or from /approvals), and the requester told.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.models import Deal
from crm.models.enums import ApprovalStatus
from crm.services import payments
from crm.services.payments import PendingTerms, TermsView
from crm.uow import UnitOfWork
from handlers.deals.approvals import send_quietly
from handlers.deals.callbacks import TermsDecisionCb
from handlers.ui import button, h, markup, show
from handlers.words import money


def risks_text(terms: TermsView | PendingTerms) -> str:
    """Why the terms need a head, in words ("60 days is beyond the company's 30 days; …")."""
    found = terms.risks
    parts = []
    if "deferral" in found:
        parts.append(
            _("{days} days is beyond the company's {allowed} days").format(
                days=terms.deferral, allowed=terms.allowed
            )
        )
    if "credit" in found and terms.credit_limit is not None:
        parts.append(
            _(
                "the unpaid {unpaid} with this deal's {amount} passes the credit limit of {limit}"
            ).format(
                unpaid=money(terms.unpaid),
                amount=money(terms.amount),
                limit=money(terms.credit_limit),
            )
        )
    return "; ".join(parts) or _("the terms changed since")


def terms_request_text(item: PendingTerms) -> str:
    return _(
        "<b>Payment terms approval</b>\n"
        "Deal: «{title}» ({company}), {amount}\n"
        "Deferral: {days} days (the company's: {allowed})\n"
        "Why: {why}\n"
        "Curator: {curator}"
    ).format(
        title=h(item.deal_title),
        company=h(item.company_name),
        amount=money(item.amount),
        days=item.deferral,
        allowed=item.allowed,
        why=risks_text(item),
        curator=h(item.curator),
    )


def terms_buttons(deal_id: int, at: int = -1, number: int = 0) -> list[InlineKeyboardButton]:
    """Approve / Reject; numbered in /approvals (`at`: its page's offset)."""
    mark = f" {number}" if number else ""
    return [
        button("✅" + mark + " " + _("Approve"), TermsDecisionCb(deal_id=deal_id, ok=True, at=at)),
        button("❌" + mark + " " + _("Reject"), TermsDecisionCb(deal_id=deal_id, ok=False, at=at)),
    ]


def terms_markup(deal_id: int) -> InlineKeyboardMarkup:
    return markup([terms_buttons(deal_id)])


async def request_terms_approval(
    bot: Bot, i18n: I18n, uow: UnitOfWork, actor: Actor, deal: Deal
) -> list[str]:
    """Ask those who decide (crm says who: never who asked), each in their own language;
    the names of those reached."""
    reached = []
    for approver in await payments.approvers_of(uow, deal.id):
        mine = await payments.pending_terms(uow, Actor.of(approver), deal_id=deal.id)
        if not mine:
            continue
        with i18n.use_locale(approver.language):
            sent = await send_quietly(
                bot,
                approver.tg_id,
                terms_request_text(mine[0]),
                reply_markup=terms_markup(deal.id),
            )
        if sent:
            reached.append(approver.name)
    return reached


def verdict_text(deal: Deal, approved: bool) -> str:
    if approved:
        return _("Approved: the payment terms of «{title}» ({days} days).").format(
            title=h(deal.title), days=payments.deferral_of(deal, deal.company)
        )
    return _("Rejected: the payment terms of «{title}» ({days} days).").format(
        title=h(deal.title), days=payments.deferral_of(deal, deal.company)
    )


async def tell_requester(bot: Bot, i18n: I18n, uow: UnitOfWork, actor: Actor, deal: Deal) -> None:
    """Who asked, and the deal's curator, hear the decision, each in their own language."""
    days = payments.deferral_of(deal, deal.company)
    for told in await payments.told_of_decision(uow, deal):
        if told.id == actor.id:
            continue
        with i18n.use_locale(told.language):
            if deal.terms_approval == ApprovalStatus.APPROVED.value:
                note = _(
                    "{head} approved the payment terms of «{title}»: {days} days. "
                    "The deal can be won."
                )
            else:
                note = _(
                    "{head} rejected the payment terms of «{title}» ({days} days): set other "
                    "terms on the deal card before winning it."
                )
            await send_quietly(
                bot, told.tg_id, note.format(head=h(actor.name), title=h(deal.title), days=days)
            )


async def decide(
    callback: CallbackQuery,
    callback_data: TermsDecisionCb,
    uow: UnitOfWork,
    actor: Actor,
    bot: Bot,
    i18n: I18n,
) -> None:
    """Approve / Reject under the request message: the message becomes the verdict."""
    deal = await payments.decide_terms(uow, actor, callback_data.deal_id, callback_data.ok)
    await show(callback, verdict_text(deal, callback_data.ok))
    await callback.answer()
    await tell_requester(bot, i18n, uow, actor, deal)


def setup() -> Router:
    router = Router(name="deals.terms_approvals")
    router.callback_query.register(decide, TermsDecisionCb.filter(F.at < 0))
    return router
