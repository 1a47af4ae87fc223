"""Adding a catalogue product to a deal: the product, its quantity, its discount (the
steps of /deal's product picker).
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.errors import AccessDenied, Conflict
from crm.services import deals, products
from crm.services.cards import DealCard
from crm.services.deals import LineInput
from crm.uow import UnitOfWork
from handlers.deals.callbacks import DISCOUNTS, QUANTITIES, LineCb, LinePageCb
from handlers.deals.discount import save_discount
from handlers.deals.lines import LineForm, is_open, read_card, same_dialog
from handlers.ui import PAGE, button, h, pager_row, short, show
from handlers.words import money


async def ask_product(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card: DealCard,
    offset: int,
) -> None:
    items, total = await products.list_page(uow, actor, offset=offset, limit=PAGE)
    # the buttons name only these; a crafted product id is refused
    shown = {str(p.id): p.name for p in items}
    await state.set_state(LineForm.product)
    await state.set_data({"deal_id": card.deal.id, "shown": shown})
    kb = InlineKeyboardBuilder()
    for product in items:
        kb.row(
            button(
                f"{short(product.name, 40)} — {money(product.unit_price)}",
                LineCb(action="prod", deal_id=card.deal.id, value=str(product.id)),
            )
        )
    pager = pager_row(LinePageCb, offset, total, deal_id=card.deal.id)
    if pager:
        kb.row(*pager)
    kb.row(button(_("Cancel"), LineCb(action="cancel", deal_id=card.deal.id)))
    if total:
        text = _("Which product to add to the deal «{title}»?")
    else:
        text = _("The catalogue is empty: there is nothing to add to «{title}».")
    await show(target, text.format(title=h(card.deal.title)), kb.as_markup())


async def _open_card(uow: UnitOfWork, actor: Actor, deal_id: int) -> DealCard:
    card = await read_card(uow, actor, deal_id)
    if not is_open(card):
        raise Conflict("deal_closed", stage=card.deal.stage)
    return card


async def add(
    callback: CallbackQuery,
    callback_data: LineCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    card = await _open_card(uow, actor, callback_data.deal_id)
    await ask_product(callback, uow, actor, state, card, 0)
    await callback.answer()


async def catalogue_page(
    callback: CallbackQuery,
    callback_data: LinePageCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    if await same_dialog(callback, callback_data.deal_id, state, {LineForm.product.state}) is None:
        return
    card = await _open_card(uow, actor, callback_data.deal_id)
    await ask_product(callback, uow, actor, state, card, max(0, callback_data.offset))
    await callback.answer()


def _choice_row(
    deal_id: int, action: str, values: tuple[str, ...], suffix: str = ""
) -> list[InlineKeyboardButton]:
    return [button(v + suffix, LineCb(action=action, deal_id=deal_id, value=v)) for v in values]


async def chose_product(
    callback: CallbackQuery,
    callback_data: LineCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    deal_id = callback_data.deal_id
    data = await same_dialog(callback, deal_id, state, {LineForm.product.state})
    if data is None:
        return
    shown = data.get("shown", {})
    if callback_data.value not in shown:
        raise AccessDenied("product")
    await _open_card(uow, actor, deal_id)
    data = {
        "deal_id": deal_id,
        "product_id": int(callback_data.value),
        "name": shown[callback_data.value],
    }
    await state.set_state(LineForm.add_quantity)
    await state.set_data(data)
    kb = InlineKeyboardBuilder()
    kb.row(*_choice_row(deal_id, "aq", QUANTITIES))
    kb.row(button(_("Cancel"), LineCb(action="cancel", deal_id=deal_id)))
    text = _("How many of «{name}»? Press or type a number.").format(name=h(data["name"]))
    await show(callback, text, kb.as_markup())
    await callback.answer()


async def set_add_quantity(
    target: Message | CallbackQuery, state: FSMContext, data: dict[str, Any], value: str
) -> None:
    checked = deals.clean_line(LineInput(int(data["product_id"]), quantity=value))
    data["quantity"] = str(checked["quantity"])
    await state.set_state(LineForm.add_discount)
    await state.set_data(data)
    deal_id = int(data["deal_id"])
    kb = InlineKeyboardBuilder()
    kb.row(*_choice_row(deal_id, "ad", DISCOUNTS, "%"))
    kb.row(button(_("Cancel"), LineCb(action="cancel", deal_id=deal_id)))
    text = _("Discount on «{name}», %? Press or type a number.").format(name=h(data["name"]))
    await show(target, text, kb.as_markup())


async def pressed_quantity(
    callback: CallbackQuery, callback_data: LineCb, state: FSMContext
) -> None:
    data = await same_dialog(callback, callback_data.deal_id, state, {LineForm.add_quantity.state})
    if data is None:
        return
    await set_add_quantity(callback, state, data, callback_data.value)
    await callback.answer()


async def typed_add_quantity(message: Message, state: FSMContext) -> None:
    await set_add_quantity(message, state, await state.get_data(), message.text or "")


async def pressed_discount(
    callback: CallbackQuery,
    callback_data: LineCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    data = await same_dialog(callback, callback_data.deal_id, state, {LineForm.add_discount.state})
    if data is None:
        return
    data["discount"] = callback_data.value
    await save_discount(callback, uow, actor, state, data)
    await callback.answer()


def setup() -> Router:
    router = Router(name="deals.adding")
    router.callback_query.register(add, LineCb.filter(F.action == "add"))
    router.callback_query.register(catalogue_page, LinePageCb.filter())
    router.callback_query.register(chose_product, LineCb.filter(F.action == "prod"))
    router.callback_query.register(pressed_quantity, LineCb.filter(F.action == "aq"))
    router.message.register(
        typed_add_quantity, LineForm.add_quantity, F.text, ~F.text.startswith("/")
    )
    router.callback_query.register(pressed_discount, LineCb.filter(F.action == "ad"))
    return router
