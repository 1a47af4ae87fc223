"""/deals: the open deals by stage, paged."""

from __future__ import annotations

from decimal import Decimal

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.models.enums import Role
from crm.services import deals
from crm.uow import UnitOfWork
from handlers.deals.callbacks import BUTTON_TITLE, DealCb, DealsPageCb
from handlers.ui import PAGE, pager_row, short, show
from handlers.words import deal_stage, money


async def deals_page(
    uow: UnitOfWork, actor: Actor, offset: int
) -> tuple[str, InlineKeyboardMarkup]:
    pipeline = await deals.open_by_stage(uow, actor, offset=offset, limit=PAGE)
    total_amount = sum((s.amount for s in pipeline.stages), Decimal("0.00"))
    if actor.role is Role.DIRECTOR:
        head = _("<b>All open deals: {count} — {amount}</b>")
    elif actor.role is Role.HEAD:
        head = _("<b>Open deals of your department: {count} — {amount}</b>")
    else:
        head = _("<b>Your open deals: {count} — {amount}</b>")
    lines = [head.format(count=pipeline.total, amount=money(total_amount))]
    lines += [f"{deal_stage(s.stage)}: {s.count} — {money(s.amount)}" for s in pipeline.stages]
    if not pipeline.total:
        lines += ["", _("No open deals. Open one with /deal.")]
    kb = InlineKeyboardBuilder()
    for deal in pipeline.deals:
        kb.row(
            InlineKeyboardButton(
                text=f"{deal_stage(deal.stage)} · {short(deal.title, BUTTON_TITLE)} · "
                f"{short(deal.company.name, 20)} · {money(deal.amount)}",
                callback_data=DealCb(action="open", deal_id=deal.id).pack(),
            )
        )
    pager = pager_row(DealsPageCb, offset, pipeline.total)
    if pager:
        kb.row(*pager)
    return "\n".join(lines), kb.as_markup()


async def list_deals(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    text, markup = await deals_page(uow, actor, 0)
    await message.answer(text, reply_markup=markup)


async def page_deals(
    callback: CallbackQuery, callback_data: DealsPageCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = await deals_page(uow, actor, max(0, callback_data.offset))
    await show(callback, text, markup)
    await callback.answer()


def setup() -> Router:
    router = Router(name="deals.listing")
    router.message.register(list_deals, Command("deals"))
    router.callback_query.register(page_deals, DealsPageCb.filter())
    return router
