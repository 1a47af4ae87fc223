"""A deal's lines in the chat (the card's 📦 Lines button) and /approvals for heads and directors.

The lines view lists the products of a deal; on an open deal each line can have its
quantity or discount changed (typed, checked by the service) or be removed (after a
confirmation), and a catalogue product can be added (quantity and discount as in /deal).
A discount above the manager's limit is sent, if they agree, to their head(s) exactly as
/deal does (handlers/deals.py: request_approvals). A closed deal shows its lines read-only.

/approvals lists, page by page, the discounts waiting for this head's (or director's)
decision: one message per discount with the Approve / Reject buttons of handlers/deals.py.
"""

from __future__ import annotations

from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.errors import AccessDenied, ApprovalRequired, Conflict
from crm.models import DealLine
from crm.models.enums import DealStage
from crm.services import cards, deals, products
from crm.services.cards import DealCard
from crm.services.deals import LineInput, PendingApproval
from crm.uow import UnitOfWork
from handlers.deals import (
    DISCOUNTS,
    QUANTITIES,
    DealCb,
    approval_markup,
    request_approvals,
)
from handlers.dialog import stale
from handlers.find import CARD_ROWS, DEAL
from handlers.ui import PAGE, button, cancel_text, h, pager_row, short, show
from handlers.words import approval_note, money, number, plain

router = Router(name="deal_lines")

LINE_BUTTONS = 30  # Telegram allows 100 buttons; a deal rarely has this many lines
APPROVALS_PAGE = 5


class LineCb(CallbackData, prefix="dln"):
    # view | line | rm | rmok | qty | disc | add | prod | aq | ad | send | cancel
    action: str
    deal_id: int
    line_id: int = 0
    value: str = ""


class LinePageCb(CallbackData, prefix="dlp"):
    """A page of the catalogue while adding a product to a deal."""

    deal_id: int
    offset: int


class ApprovalsPageCb(CallbackData, prefix="apq"):
    offset: int


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


CARD_ROWS[DEAL].append(lines_row)


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


@router.callback_query(LineCb.filter(F.action == "view"))
async def view(
    callback: CallbackQuery, callback_data: LineCb, uow: UnitOfWork, actor: Actor
) -> None:
    await show_lines(callback, uow, actor, callback_data.deal_id)
    await callback.answer()


@router.callback_query(LineCb.filter(F.action == "line"))
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
    kb.button(text=_("« Back"), callback_data=LineCb(action="view", deal_id=deal_id))
    kb.adjust(2, 1, 1)
    text = _("<b>{product}</b> in the deal «{title}»").format(
        product=h(line.product.name), title=h(card.deal.title)
    )
    await show(callback, text + "\n" + line_text(line), kb.as_markup())
    await callback.answer()


@router.callback_query(LineCb.filter(F.action == "rm"))
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


@router.callback_query(LineCb.filter(F.action == "rmok"))
async def remove(
    callback: CallbackQuery, callback_data: LineCb, uow: UnitOfWork, actor: Actor
) -> None:
    deal = await deals.remove_line(uow, actor, callback_data.line_id)  # checks access again
    await show_lines(callback, uow, actor, deal.id)
    await callback.answer(_("The line is removed."))


@router.callback_query(LineCb.filter(F.action.in_({"qty", "disc"})))
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


@router.message(LineForm.quantity, F.text, ~F.text.startswith("/"))
async def typed_quantity(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    await deals.change_quantity(uow, actor, int(data["line_id"]), message.text or "")
    await state.clear()
    await show_lines(message, uow, actor, int(data["deal_id"]))


@router.message(
    StateFilter(LineForm.discount, LineForm.add_discount), F.text, ~F.text.startswith("/")
)
async def typed_discount(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    """A discount typed for a line being changed or added."""
    data = await state.get_data()
    data["discount"] = (message.text or "").strip().rstrip("%").strip()
    await save_discount(message, uow, actor, state, data)


# --- adding a catalogue product (the steps of /deal's product picker) ---------------------


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


@router.callback_query(LineCb.filter(F.action == "add"))
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


async def _same_dialog(
    callback: CallbackQuery, deal_id: int, state: FSMContext, states: set[str]
) -> dict[str, Any] | None:
    """The dialog's data if this button belongs to the step the dialog is at, else None."""
    data = await state.get_data()
    if await state.get_state() in states and data.get("deal_id") == deal_id:
        return data
    await stale(callback)
    return None


@router.callback_query(LinePageCb.filter())
async def catalogue_page(
    callback: CallbackQuery,
    callback_data: LinePageCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    if await _same_dialog(callback, callback_data.deal_id, state, {LineForm.product.state}) is None:
        return
    card = await _open_card(uow, actor, callback_data.deal_id)
    await ask_product(callback, uow, actor, state, card, max(0, callback_data.offset))
    await callback.answer()


def _choice_row(
    deal_id: int, action: str, values: tuple[str, ...], suffix: str = ""
) -> list[InlineKeyboardButton]:
    return [button(v + suffix, LineCb(action=action, deal_id=deal_id, value=v)) for v in values]


@router.callback_query(LineCb.filter(F.action == "prod"))
async def chose_product(
    callback: CallbackQuery,
    callback_data: LineCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    deal_id = callback_data.deal_id
    data = await _same_dialog(callback, deal_id, state, {LineForm.product.state})
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


@router.callback_query(LineCb.filter(F.action == "aq"))
async def pressed_quantity(
    callback: CallbackQuery, callback_data: LineCb, state: FSMContext
) -> None:
    data = await _same_dialog(callback, callback_data.deal_id, state, {LineForm.add_quantity.state})
    if data is None:
        return
    await set_add_quantity(callback, state, data, callback_data.value)
    await callback.answer()


@router.message(LineForm.add_quantity, F.text, ~F.text.startswith("/"))
async def typed_add_quantity(message: Message, state: FSMContext) -> None:
    await set_add_quantity(message, state, await state.get_data(), message.text or "")


@router.callback_query(LineCb.filter(F.action == "ad"))
async def pressed_discount(
    callback: CallbackQuery,
    callback_data: LineCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    data = await _same_dialog(callback, callback_data.deal_id, state, {LineForm.add_discount.state})
    if data is None:
        return
    data["discount"] = callback_data.value
    await save_discount(callback, uow, actor, state, data)
    await callback.answer()


# --- saving a discount: a new line, or a changed one; above the limit: ask for approval ---


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


@router.callback_query(LineCb.filter(F.action == "send"))
async def send_for_approval(
    callback: CallbackQuery,
    callback_data: LineCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
) -> None:
    data = await _same_dialog(callback, callback_data.deal_id, state, {LineForm.approve.state})
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


@router.callback_query(LineCb.filter(F.action == "cancel"))
async def cancel(callback: CallbackQuery, state: FSMContext) -> None:
    if await state.get_state() in {s.state for s in LineForm.__states__}:
        await state.clear()
    await show(callback, cancel_text())
    await callback.answer()


# --- /approvals ---------------------------------------------------------------------------


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
        await message.answer(
            _("Shown {first}–{last} of {total}.").format(
                first=offset + 1, last=offset + len(page.items), total=page.total
            ),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[pager]),
        )


@router.message(Command("approvals"))
async def approvals(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    await send_approvals(message, uow, actor, 0)


@router.callback_query(ApprovalsPageCb.filter())
async def approvals_page(
    callback: CallbackQuery, callback_data: ApprovalsPageCb, uow: UnitOfWork, actor: Actor
) -> None:
    if isinstance(callback.message, Message):
        await send_approvals(callback.message, uow, actor, max(0, callback_data.offset))
    await callback.answer()
