"""/approvals (heads and directors): the discounts and the payment terms waiting for their
decision, one page in one message with numbered Approve / Reject buttons; paging and
deciding edit that message in place.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.errors import AccessDenied
from crm.services import deals, payments
from crm.services.deals import PendingApproval
from crm.uow import UnitOfWork
from handlers.deals.approvals import tell_curator, verdict_of
from handlers.deals.callbacks import ApprovalCb, ApprovalsPageCb, TermsDecisionCb
from handlers.deals.terms_approvals import (
    tell_requester,
    terms_buttons,
    terms_request_text,
    verdict_text,
)
from handlers.ui import button, h, markup, pager_row, show
from handlers.words import money, number

APPROVALS_PAGE = 5


def pending_text(item: PendingApproval) -> str:
    return _(
        "<b>Discount approval</b>\n"
        "Deal: «{title}» ({company})\n"
        "Product: {product}, {quantity} × {price}, total {total}\n"
        "Discount: {discount}% (the limit of {manager} is {limit}%)\n"
        "Asked by: {manager}"
    ).format(
        title=h(item.deal_title),
        company=h(item.company_name),
        product=h(item.product_name),
        quantity=number(item.quantity),
        price=money(item.unit_price),
        total=money(item.total),
        discount=number(item.discount_pct),
        manager=h(item.asked_by),
        limit=number(item.limit_pct),
    )


def _discount_buttons(line_id: int, at: int, number: int) -> list[InlineKeyboardButton]:
    return [
        button(f"✅ {number} " + _("Approve"), ApprovalCb(line_id=line_id, ok=True, at=at)),
        button(f"❌ {number} " + _("Reject"), ApprovalCb(line_id=line_id, ok=False, at=at)),
    ]


def nothing_text() -> str:
    return _("Nothing waits for your decision: no discounts, no payment terms.")


async def approvals_page(
    uow: UnitOfWork, actor: Actor, offset: int
) -> tuple[str, list[list[InlineKeyboardButton]]]:
    """One page: the discounts first (oldest first), then the payment terms; a page that
    emptied meanwhile gives the one before it."""
    offset = max(0, offset)
    discounts = await deals.pending_page(uow, actor, offset=offset, limit=APPROVALS_PAGE)
    terms_total = await payments.pending_terms_count(uow, actor)
    total = discounts.total + terms_total
    if total and offset >= total:
        offset = (total - 1) // APPROVALS_PAGE * APPROVALS_PAGE
        discounts = await deals.pending_page(uow, actor, offset=offset, limit=APPROVALS_PAGE)
    if not total:
        return nothing_text(), []
    room = APPROVALS_PAGE - len(discounts.items)
    terms = (
        await payments.pending_terms(
            uow, actor, offset=max(0, offset - discounts.total), limit=room
        )
        if room
        else []
    )
    lines = [_("<b>Waiting for your decision: {count}</b>").format(count=total)]
    rows: list[list[InlineKeyboardButton]] = []
    for item in discounts.items:
        rows.append(_discount_buttons(item.line_id, offset, len(rows) + 1))
        lines += ["", f"{len(rows)}. {pending_text(item)}"]
    for term in terms:
        rows.append(terms_buttons(term.deal_id, offset, len(rows) + 1))
        lines += ["", f"{len(rows)}. {terms_request_text(term)}"]
    pager = pager_row(ApprovalsPageCb, offset, total, page=APPROVALS_PAGE)
    if pager:
        first, last = offset + 1, offset + len(rows)
        lines += [
            "",
            _("Shown {first}–{last} of {total}.").format(first=first, last=last, total=total)
            if last > first
            else _("Shown: number {first} of {total}.").format(first=first, total=total),
        ]
        rows.append(pager)
    return "\n".join(lines), rows


def _refusal() -> str:
    return _("Only heads and directors decide on discounts and payment terms.")


async def approvals(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    try:
        text, rows = await approvals_page(uow, actor, 0)
    except AccessDenied:
        await message.answer(_refusal())
        return
    await message.answer(text, reply_markup=markup(rows) if rows else None)


async def turn_page(
    callback: CallbackQuery, callback_data: ApprovalsPageCb, uow: UnitOfWork, actor: Actor
) -> None:
    """« and »: the same message shows the other page."""
    try:
        text, rows = await approvals_page(uow, actor, callback_data.offset)
    except AccessDenied:
        await callback.answer(_refusal(), show_alert=True)
        return
    await show(callback, text, markup(rows) if rows else None)
    await callback.answer()


async def decided_in_list(
    callback: CallbackQuery,
    callback_data: ApprovalCb | TermsDecisionCb,
    uow: UnitOfWork,
    actor: Actor,
    bot: Bot,
    i18n: I18n,
) -> None:
    """Approve / Reject in /approvals: the verdict above the same page, read again."""
    if isinstance(callback_data, ApprovalCb):
        decision = await deals.decide_discount(uow, actor, callback_data.line_id, callback_data.ok)
        verdict = verdict_of(decision)
    else:
        deal = await payments.decide_terms(uow, actor, callback_data.deal_id, callback_data.ok)
        verdict = verdict_text(deal, callback_data.ok)
    text, rows = await approvals_page(uow, actor, callback_data.at)
    await show(callback, f"{verdict}\n\n{text}", markup(rows) if rows else None)
    await callback.answer()
    if isinstance(callback_data, ApprovalCb):
        await tell_curator(bot, i18n, actor, decision)
    else:
        await tell_requester(bot, i18n, uow, actor, deal)


def setup() -> Router:
    router = Router(name="deals.pending")
    router.message.register(approvals, Command("approvals"))
    router.callback_query.register(turn_page, ApprovalsPageCb.filter())
    router.callback_query.register(decided_in_list, ApprovalCb.filter(F.at >= 0))
    router.callback_query.register(decided_in_list, TermsDecisionCb.filter(F.at >= 0))
    return router
