"""A deal's lines in the chat (the card's 📦 Lines button): the list, one line's quantity
or discount, removing one. A closed deal shows its lines read-only.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.errors import AccessDenied, Conflict
from crm.models import DealLine
from crm.models.enums import ApprovalStatus, DealStage
from crm.services import cards, deals
from crm.services.cards import DealCard
from crm.uow import UnitOfWork
from handlers.deals.callbacks import AcceptCb, DealCb, LineCb
from handlers.dialog import stale
from handlers.ui import button, h, short, show
from handlers.words import approval_note, money, number, plain

LINE_BUTTONS = 30  # Telegram allows 100 buttons; a deal rarely has this many lines


class LineForm(StatesGroup):
    quantity = State()  # a new quantity for line_id
    discount = State()  # a new discount for line_id
    product = State()  # adding: which catalogue product
    add_quantity = State()
    add_discount = State()
    approve = State()  # a discount above the limit: send it for approval?


ADD_STATES = {LineForm.product.state, LineForm.add_quantity.state, LineForm.add_discount.state}


# --- rendering ----------------------------------------------------------------------------


def line_text(line: DealLine) -> str:
    discount = f" −{number(line.discount_pct)}%" if line.discount_pct else ""
    return (
        f"{h(line.product.name)} × {number(line.quantity)} × {money(line.unit_price)}{discount}"
        f" = {money(line.total)}{approval_note(line.approval)}"
    )


def is_open(card: DealCard) -> bool:
    return not DealStage(card.deal.stage).is_closed


def lines_view(card: DealCard) -> tuple[str, InlineKeyboardMarkup]:
    deal = card.deal
    text = [_("📦 <b>Lines of the deal «{title}»</b>").format(title=h(deal.title))]
    if card.lines:
        text += [f"{n}. {line_text(line)}" for n, line in enumerate(card.lines, 1)]
    else:
        text.append(_("No products in this deal yet."))
    text += ["", _("Amount: {amount}").format(amount=money(deal.amount))]
    kb = InlineKeyboardBuilder()
    if is_open(card):
        for n, line in enumerate(card.lines[:LINE_BUTTONS], 1):
            kb.row(
                button(
                    f"✏ {n}. {short(line.product.name, 40)}",
                    LineCb(action="line", deal_id=deal.id, line_id=line.id),
                )
            )
        kb.row(button("➕ " + _("Add a product"), LineCb(action="add", deal_id=deal.id)))
    else:
        text += ["", _("The deal is closed: its lines cannot be changed.")]
    kb.row(button(_("« Back"), DealCb(action="open_here", deal_id=deal.id)))
    return "\n".join(text), kb.as_markup()


def lines_row(actor: Actor, card: DealCard) -> list[list[InlineKeyboardButton]]:
    """The card's 📦 Lines button (a closed deal without lines has nothing to show)."""
    if not card.lines and not is_open(card):
        return []
    return [[button("📦 " + _("Lines"), LineCb(action="view", deal_id=card.deal.id))]]


def cancel_markup(deal_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(_("Cancel"), LineCb(action="cancel", deal_id=deal_id))]]
    )


async def read_card(uow: UnitOfWork, actor: Actor, deal_id: int) -> DealCard:
    return await cards.deal_card(uow, actor, deal_id)  # refuses another's deal


async def line_of(
    uow: UnitOfWork, actor: Actor, deal_id: int, line_id: int
) -> tuple[DealCard, DealLine]:
    """The open deal's line; AccessDenied for a line of another deal (a crafted button)."""
    card = await read_card(uow, actor, deal_id)
    line = next((x for x in card.lines if x.id == line_id), None)
    if line is None:
        raise AccessDenied("deal")
    if not is_open(card):
        raise Conflict("deal_closed", stage=card.deal.stage)
    return card, line


async def show_lines(
    target: Message | CallbackQuery, uow: UnitOfWork, actor: Actor, deal_id: int
) -> None:
    await show(target, *lines_view(await read_card(uow, actor, deal_id)))


# --- the lines view and one line ----------------------------------------------------------


async def view(
    callback: CallbackQuery, callback_data: LineCb, uow: UnitOfWork, actor: Actor
) -> None:
    await show_lines(callback, uow, actor, callback_data.deal_id)
    await callback.answer()


async def one_line(
    callback: CallbackQuery, callback_data: LineCb, uow: UnitOfWork, actor: Actor
) -> None:
    card, line = await line_of(uow, actor, callback_data.deal_id, callback_data.line_id)
    deal_id, line_id = card.deal.id, line.id
    kb = InlineKeyboardBuilder()
    kb.button(
        text="🔢 " + _("Quantity"),
        callback_data=LineCb(action="qty", deal_id=deal_id, line_id=line_id),
    )
    kb.button(
        text="％ " + _("Discount"),
        callback_data=LineCb(action="disc", deal_id=deal_id, line_id=line_id),
    )
    kb.button(
        text="🗑 " + _("Remove"), callback_data=LineCb(action="rm", deal_id=deal_id, line_id=line_id)
    )
    if line.approval == ApprovalStatus.REJECTED:  # the head cut it: take the cut discount
        kb.button(
            text=_("Accept {discount}%").format(discount=number(line.discount_pct)),
            callback_data=AcceptCb(line_id=line_id, pct=plain(line.discount_pct)),
        )
    kb.button(text=_("« Back"), callback_data=LineCb(action="view", deal_id=deal_id))
    kb.adjust(2, 1, 1, 1)
    text = _("<b>{product}</b> in the deal «{title}»").format(
        product=h(line.product.name), title=h(card.deal.title)
    )
    await show(callback, text + "\n" + line_text(line), kb.as_markup())
    await callback.answer()


async def ask_remove(
    callback: CallbackQuery, callback_data: LineCb, uow: UnitOfWork, actor: Actor
) -> None:
    card, line = await line_of(uow, actor, callback_data.deal_id, callback_data.line_id)
    kb = InlineKeyboardBuilder()
    kb.button(
        text="🗑 " + _("Yes, remove"),
        callback_data=LineCb(action="rmok", deal_id=card.deal.id, line_id=line.id),
    )
    kb.button(
        text=_("« Back"), callback_data=LineCb(action="line", deal_id=card.deal.id, line_id=line.id)
    )
    text = _("Remove «{product}» ({quantity} × {price}) from the deal «{title}»?").format(
        product=h(line.product.name),
        quantity=number(line.quantity),
        price=money(line.unit_price),
        title=h(card.deal.title),
    )
    await show(callback, text, kb.as_markup())
    await callback.answer()


async def remove(
    callback: CallbackQuery, callback_data: LineCb, uow: UnitOfWork, actor: Actor
) -> None:
    deal = await deals.remove_line(uow, actor, callback_data.line_id)  # checks access again
    await show_lines(callback, uow, actor, deal.id)
    await callback.answer(_("The line is removed."))


async def ask_number(
    callback: CallbackQuery,
    callback_data: LineCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    card, line = await line_of(uow, actor, callback_data.deal_id, callback_data.line_id)
    name = h(line.product.name)
    if callback_data.action == "qty":
        await state.set_state(LineForm.quantity)
        text = _("The quantity of «{name}» now is {value}. Type the new quantity.").format(
            name=name, value=number(line.quantity)
        )
    else:
        await state.set_state(LineForm.discount)
        text = _("The discount on «{name}» now is {value}%. Type the new discount, %.").format(
            name=name, value=number(line.discount_pct)
        )
    await state.set_data({"deal_id": card.deal.id, "line_id": line.id})
    await show(callback, text, cancel_markup(card.deal.id))
    await callback.answer()


async def typed_quantity(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    await deals.change_quantity(uow, actor, int(data["line_id"]), message.text or "")
    await state.clear()
    await show_lines(message, uow, actor, int(data["deal_id"]))


async def same_dialog(
    callback: CallbackQuery, deal_id: int, state: FSMContext, states: set[str | None]
) -> dict[str, Any] | None:
    """The dialog's data if this button belongs to the step the dialog is at, else None."""
    data = await state.get_data()
    if await state.get_state() in states and data.get("deal_id") == deal_id:
        return data
    await stale(callback)
    return None


def setup() -> Router:
    router = Router(name="deals.lines")
    router.callback_query.register(view, LineCb.filter(F.action == "view"))
    router.callback_query.register(one_line, LineCb.filter(F.action == "line"))
    router.callback_query.register(ask_remove, LineCb.filter(F.action == "rm"))
    router.callback_query.register(remove, LineCb.filter(F.action == "rmok"))
    router.callback_query.register(ask_number, LineCb.filter(F.action.in_({"qty", "disc"})))
    router.message.register(typed_quantity, LineForm.quantity, F.text, ~F.text.startswith("/"))
    return router
