"""/deal: a deal opened on one line, or by the answers of the dialog.

`/deal company; title; amount` opens it at once when the company is named exactly; a
near name asks which company with buttons. A discount above the manager's limit is sent,
if they agree, to their head(s) for approval.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from crm import validation, when
from crm.access import Actor
from crm.errors import AccessDenied, ApprovalRequired, InvalidInput
from crm.models.enums import ApprovalStatus, SearchKind
from crm.services import cards, companies, deal_edits, deals, playbooks
from crm.services.deals import DealInput, DealOpenedHook, LineInput
from crm.uow import UnitOfWork
from handlers.cards.callbacks import NewDealCb
from handlers.cards.view import CardView
from handlers.deals.approvals import request_approvals
from handlers.deals.callbacks import DealFormCb
from handlers.deals.card import show_deal
from handlers.deals.questions import DIALOG, DealForm, ask, close_rows, step_of
from handlers.dialog import ask_when_again, offer, stale, take
from handlers.ui import PAGE, h, markup, short, split_args
from handlers.words import day, plain


def usage_text() -> str:
    return _(
        "Write <code>/deal company; title; amount; close date</code> (the date may be left "
        "out), "
        "or just /deal and I will ask step by step."
    )


async def new_deal(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    card_view: CardView,
    deal_opened: DealOpenedHook | None = None,
) -> None:
    await state.clear()
    if not command.args:
        await ask(message, uow, actor, state, {})
        return
    parts = split_args(command.args)
    if len(parts) < 3 or not all(parts[:3]):
        await message.answer(usage_text())
        return
    name, title, amount = parts[:3]
    title = validation.text("title", title)
    value = validation.money("amount", amount)
    close = (
        deal_edits.parse_close(parts[3], actor.timezone) if len(parts) > 3 and parts[3] else None
    )
    data: dict[str, Any] = {
        "title": title,
        "amount": str(value),
        "close": close.isoformat() if close else "",
        "products_done": True,
    }
    company = await companies.find_by_name(uow, actor, name)
    if company is not None:
        deal = await deals.open(
            uow,
            actor,
            DealInput(company.id, title, value, expected_close=close),
            on_opened=deal_opened,
        )
        await show_deal(message, card_view, uow, actor, deal.id)
        return
    if not await offer_companies(message, uow, actor, state, name, data):
        await message.answer(not_found_text(name))


def not_found_text(name: str) -> str:
    return _(
        "No company like «{name}» among your clients. Try another spelling, "
        "or add it with /company."
    ).format(name=h(short(name, 60)))


async def offer_companies(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    name: str,
    data: dict[str, Any],
) -> bool:
    """Buttons with the companies whose names are near `name`; False when there are none."""
    hits = await cards.find(uow, actor, name, kinds=(SearchKind.COMPANY,), limit=PAGE)
    if not hits:
        return False
    rows = offer(data, hits, lambda value: DealFormCb(action="company", value=value))
    await DIALOG.save(state, data)
    rows.append(DIALOG.nav_buttons(back=False))
    await message.answer(_("Which company do you mean?"), reply_markup=markup(rows))
    return True


async def new_deal_for_company(
    callback: CallbackQuery,
    callback_data: NewDealCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    card = await cards.company_card(uow, actor, callback_data.company_id)  # refuses another's
    data = {"company_id": card.company.id, "company_name": card.company.name}
    if isinstance(callback.message, Message):
        await ask(callback.message, uow, actor, state, data)
    await callback.answer()


async def typed_company(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    name = message.text or ""
    data = await state.get_data()
    company = await companies.find_by_name(uow, actor, name)
    if company is not None:
        data.update(company_id=company.id, company_name=company.name)
        data.pop("choices", None)
        await ask(message, uow, actor, state, data)
        return
    if not await offer_companies(message, uow, actor, state, name, data):
        await message.answer(not_found_text(name), reply_markup=DIALOG.nav_markup(back=False))


async def typed_title(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data["title"] = validation.text("title", message.text)
    await ask(message, uow, actor, state, data)


async def typed_amount(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data["amount"] = str(validation.money("amount", message.text))
    await ask(message, uow, actor, state, data)


async def typed_close(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    text = message.text or ""
    try:
        close = deal_edits.parse_close(text, actor.timezone)
    except InvalidInput as err:
        reply, keyboard = ask_close_again(actor, err, text)
        await message.answer(reply, reply_markup=keyboard)
        return
    data["close"] = close.isoformat()
    await ask(message, uow, actor, state, data)


def ask_close_again(
    actor: Actor, err: InvalidInput, typed: str
) -> tuple[str, InlineKeyboardMarkup]:
    """The close date asked again, politely: its readings as buttons, or what went wrong."""

    def pick(moment: datetime) -> DealFormCb:
        local = when.to_local(moment, actor.timezone).date()
        return DealFormCb(action="close", value=local.isoformat())

    def label(reader: Actor, moment: datetime) -> str:
        return day(when.to_local(moment, reader.timezone).date())

    skip = [InlineKeyboardButton(text=_("Skip"), callback_data=DealFormCb(action="close").pack())]
    return ask_when_again(
        actor,
        err,
        typed,
        pick=pick,
        rows=[*close_rows(actor.timezone), skip, DIALOG.nav_buttons()],
        after_past=_("When is the deal expected to close?"),
        examples=_("For example: 25.12, next friday, in 2 weeks, 1 March."),
        label=label,
    )


async def typed_quantity(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await set_quantity(message, uow, actor, state, message.text or "")


async def typed_discount(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await set_discount(message, uow, actor, state, (message.text or "").rstrip("% "))


async def set_quantity(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    value: str,
) -> None:
    data = await state.get_data()
    checked = deals.clean_line(LineInput(int(data["product"]["id"]), quantity=value))
    data["quantity"] = str(checked["quantity"])
    await ask(target, uow, actor, state, data)


async def set_discount(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    value: str,
) -> None:
    data = await state.get_data()
    product = data.pop("product")
    checked = deals.clean_line(
        LineInput(int(product["id"]), quantity=data.pop("quantity"), discount_pct=value)
    )
    data.setdefault("lines", []).append(
        {
            "product_id": int(product["id"]),
            "name": product["name"],
            "price": product["price"],
            "quantity": str(checked["quantity"]),
            "discount": str(checked["discount_pct"]),
        }
    )
    await ask(target, uow, actor, state, data)


def _deal_input(data: dict[str, Any]) -> DealInput:
    return DealInput(
        company_id=int(data["company_id"]),
        title=data["title"],
        amount=data["amount"] or None,
        expected_close=deal_edits.read_close(data.get("close") or None),
        lines=[
            LineInput(line["product_id"], quantity=line["quantity"], discount_pct=line["discount"])
            for line in data.get("lines", [])
        ],
    )


async def dialog_button(
    callback: CallbackQuery,
    callback_data: DealFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    card_view: CardView,
    deal_opened: DealOpenedHook | None = None,
) -> None:
    action, value = callback_data.action, callback_data.value
    data = await DIALOG.pressed(callback, action, state)
    if data is None:
        return
    step = step_of(data)
    if action == "back":
        await ask(callback, uow, actor, state, DIALOG.back(data))
    elif action == "company" and step == "company":
        data.update(company_id=int(value), company_name=take(data, value, "company"))
        await ask(callback, uow, actor, state, data)
    elif action == "amount_sum" and step == "amount":
        data["amount"] = ""
        await ask(callback, uow, actor, state, data)
    elif action == "close" and step == "close":
        deal_edits.read_close(value or None)  # a crafted value is refused here
        data["close"] = value
        await ask(callback, uow, actor, state, data)
    elif action == "page" and step == "products":
        data["offset"] = max(0, int(value) if value.isdigit() else 0)
        await ask(callback, uow, actor, state, data)
    elif action == "product" and step == "products":
        shown = data.get("shown", {})
        if value not in shown:
            raise AccessDenied("product")
        name, price = shown[value]
        data["product"] = {"id": int(value), "name": name, "price": price}
        await ask(callback, uow, actor, state, data)
    elif action == "qty" and step == "quantity":
        await set_quantity(callback, uow, actor, state, value)
    elif action == "disc" and step == "discount":
        await set_discount(callback, uow, actor, state, value)
    elif action == "done" and step == "products":
        data["products_done"] = True
        await ask(callback, uow, actor, state, data)
    elif action == "plan" and step == "confirm" and data.get("plans"):
        ids = [plan_id for plan_id, _name in data["plans"]]
        chosen = ids.index(data["plan"]) if data.get("plan") in ids else -1
        data["plan"] = ids[(chosen + 1) % len(ids)]
        await ask(callback, uow, actor, state, data)
    elif action in ("confirm", "approve") and step == "confirm":
        await open_from_dialog(
            callback,
            card_view,
            uow,
            actor,
            state,
            bot,
            i18n,
            data,
            action == "approve",
            deal_opened,
        )
    else:
        await stale(callback)
        return
    await callback.answer()


async def open_from_dialog(
    callback: CallbackQuery,
    card_view: CardView,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    data: dict[str, Any],
    request_approval: bool,
    deal_opened: DealOpenedHook | None,
) -> None:
    if deal_opened is not None and len(data.get("plans", [])) > 1:  # the plan chosen above
        plan = int(data.get("plan") or 0)
        deal_opened = playbooks.deal_opened_with(plan) if plan else None
    try:
        deal = await deals.open(
            uow,
            actor,
            _deal_input(data),
            request_approval=request_approval,
            on_opened=deal_opened,
        )
    except ApprovalRequired as exc:
        data["needs_approval"] = [plain(exc.params["discount"]), plain(exc.params["limit"])]
        await ask(callback, uow, actor, state, data)
        return
    await state.clear()
    await show_deal(callback, card_view, uow, actor, deal.id)
    pending = [line for line in deal.lines if line.approval == ApprovalStatus.PENDING.value]
    if pending and isinstance(callback.message, Message):
        reached = await request_approvals(bot, i18n, uow, actor, deal, pending)
        if reached:
            note = _("Sent for approval to: {names}.").format(names=h(", ".join(reached)))
        else:
            note = _(
                "I could not reach anyone who approves discounts in Telegram; "
                "the discount waits for approval."
            )
        await callback.message.answer(note)


def setup() -> Router:
    router = Router(name="deals.opening")
    router.message.register(new_deal, Command("deal"))
    router.callback_query.register(new_deal_for_company, NewDealCb.filter())
    router.message.register(typed_company, DealForm.company, F.text, ~F.text.startswith("/"))
    router.message.register(typed_title, DealForm.title, F.text, ~F.text.startswith("/"))
    router.message.register(typed_amount, DealForm.amount, F.text, ~F.text.startswith("/"))
    router.message.register(typed_close, DealForm.close, F.text, ~F.text.startswith("/"))
    router.message.register(typed_quantity, DealForm.quantity, F.text, ~F.text.startswith("/"))
    router.message.register(typed_discount, DealForm.discount, F.text, ~F.text.startswith("/"))
    router.callback_query.register(dialog_button, DealFormCb.filter())
    return router
