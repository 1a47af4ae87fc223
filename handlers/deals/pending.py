"""/approvals (heads and directors): the discounts waiting for their decision, page by
page, one message per discount with the Approve / Reject buttons.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.errors import AccessDenied
from crm.services import deals
from crm.services.deals import PendingApproval
from crm.uow import UnitOfWork
from handlers.deals.approvals import approval_markup
from handlers.deals.callbacks import ApprovalsPageCb
from handlers.ui import h, pager_row
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


async def send_approvals(message: Message, uow: UnitOfWork, actor: Actor, offset: int) -> None:
    """A header, one message per discount (Approve / Reject), and a pager when there are more."""
    try:
        page = await deals.pending_page(uow, actor, offset=offset, limit=APPROVALS_PAGE)
    except AccessDenied:
        await message.answer(_("Only heads and directors decide on discounts."))
        return
    if not page.total:
        await message.answer(_("No discounts wait for your decision."))
        return
    if not page.items:  # a page that emptied meanwhile: start again
        offset = 0
        page = await deals.pending_page(uow, actor, offset=0, limit=APPROVALS_PAGE)
    await message.answer(
        _("<b>Discounts waiting for your decision: {count}</b>").format(count=page.total)
    )
    for item in page.items:
        await message.answer(pending_text(item), reply_markup=approval_markup(item.line_id))
    pager = pager_row(ApprovalsPageCb, offset, page.total, page=APPROVALS_PAGE)
    if pager:
        first, last = offset + 1, offset + len(page.items)
        shown = (
            _("Shown {first}–{last} of {total}.").format(first=first, last=last, total=page.total)
            if last > first
            else _("Shown: number {first} of {total}.").format(first=first, total=page.total)
        )
        await message.answer(
            shown,
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[pager]),
        )


async def approvals(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    await send_approvals(message, uow, actor, 0)


async def approvals_page(
    callback: CallbackQuery, callback_data: ApprovalsPageCb, uow: UnitOfWork, actor: Actor
) -> None:
    if isinstance(callback.message, Message):
        await send_approvals(callback.message, uow, actor, max(0, callback_data.offset))
    await callback.answer()


def setup() -> Router:
    router = Router(name="deals.pending")
    router.message.register(approvals, Command("approvals"))
    router.callback_query.register(approvals_page, ApprovalsPageCb.filter())
    return router
