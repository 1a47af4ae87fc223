"""A discount typed or pressed for a line being changed or added: above the manager's
limit it is sent, if they agree, to their head(s) for approval, exactly as /deal does.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.errors import ApprovalRequired
from crm.models import DealLine
from crm.services import deals
from crm.services.deals import LineInput
from crm.uow import UnitOfWork
from handlers.deals.approvals import request_approvals
from handlers.deals.callbacks import LineCb
from handlers.deals.lines import LineForm, lines_view, read_card, same_dialog, show_lines
from handlers.ui import button, cancel_text, h, show
from handlers.words import number, plain


async def typed_discount(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    """A discount typed for a line being changed or added."""
    data = await state.get_data()
    data["discount"] = (message.text or "").strip().rstrip("%").strip()
    await save_discount(message, uow, actor, state, data)


async def _write(
    uow: UnitOfWork, actor: Actor, data: dict[str, Any], request_approval: bool
) -> DealLine:
    if "line_id" in data:
        return await deals.change_discount(
            uow, actor, int(data["line_id"]), data["discount"], request_approval=request_approval
        )
    return await deals.add_line(
        uow,
        actor,
        int(data["deal_id"]),
        LineInput(
            int(data["product_id"]), quantity=data["quantity"], discount_pct=data["discount"]
        ),
        request_approval=request_approval,
    )


async def save_discount(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
) -> None:
    deal_id = int(data["deal_id"])
    try:
        await _write(uow, actor, data, request_approval=False)
    except ApprovalRequired as exc:
        data["discount"] = plain(exc.params["discount"])
        await state.set_state(LineForm.approve)
        await state.set_data(data)
        kb = InlineKeyboardBuilder()
        kb.row(button(_("Send for approval"), LineCb(action="send", deal_id=deal_id)))
        kb.row(button(_("Cancel"), LineCb(action="cancel", deal_id=deal_id)))
        text = _(
            "A discount of {discount}% is above your limit of {limit}%. "
            "Send it to your head for approval?"
        ).format(discount=number(data["discount"]), limit=number(exc.params["limit"]))
        await show(target, text, kb.as_markup())
        return
    await state.clear()
    await show_lines(target, uow, actor, deal_id)


async def send_for_approval(
    callback: CallbackQuery,
    callback_data: LineCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
) -> None:
    data = await same_dialog(callback, callback_data.deal_id, state, {LineForm.approve.state})
    if data is None:
        return
    written = await _write(uow, actor, data, request_approval=True)
    await state.clear()
    card = await read_card(uow, actor, int(data["deal_id"]))
    await show(callback, *lines_view(card))
    await callback.answer()
    pending = [x for x in card.lines if x.id == written.id and x.approval == "pending"]
    if pending and isinstance(callback.message, Message):
        reached = await request_approvals(bot, i18n, uow, actor, card.deal, pending)
        if reached:
            note = _("Sent for approval to: {names}.").format(names=h(", ".join(reached)))
        else:
            note = _(
                "I could not reach anyone who approves discounts in Telegram; "
                "the discount waits for approval."
            )
        await callback.message.answer(note)


async def cancel(callback: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() in {s.state for s in LineForm.__states__}:
        await state.clear()
    await show(callback, cancel_text())
    await callback.answer()


def setup() -> Router:
    router = Router(name="deals.discount")
    router.message.register(
        typed_discount,
        StateFilter(LineForm.discount, LineForm.add_discount),
        F.text,
        ~F.text.startswith("/"),
    )
    router.callback_query.register(send_for_approval, LineCb.filter(F.action == "send"))
    router.callback_query.register(cancel, LineCb.filter(F.action == "cancel"))
    return router
