"""/deal (one line or a dialog), /deals by stage, the deal card and its buttons, discount approval.

`/deal company; title; amount` opens a deal at once when the company is named exactly;
a near name asks which company with buttons. `/deal` alone asks step by step: company,
title, amount, products from the catalogue (quantity, discount), then confirm. A discount
above the manager's limit is sent, if they agree, to their head(s) — or the directors —
who answer with Approve / Reject buttons in their own chat and language.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import N_
from crm import validation
from crm.access import Actor
from crm.errors import AccessDenied, ApprovalRequired, InvalidInput
from crm.models import Deal, DealLine
from crm.models.enums import OPEN_STAGES, ApprovalStatus, DealStage, PlaybookKind, Role, SearchKind
from crm.services import cards, companies, deals, playbooks, products, team
from crm.services.cards import DealCard
from crm.services.deals import DealInput, DealOpenedHook, LineInput
from crm.uow import UnitOfWork
from handlers.dialog import Wizard, stale
from handlers.find import CARD_ROWS, DEAL, render_deal_card
from handlers.ui import PAGE, NewDealCb, button, h, pager_row, short, show, split_args
from handlers.words import deal_stage, local_time, money, number, plain

logger = logging.getLogger("chatcrm.bot")
router = Router(name="deals")

# typical reasons of a loss: stored in the words of the manager who lost the deal, like "other"
LOST_REASONS: dict[str, str] = {
    "price": N_("Price"),
    "comp": N_("Competitor"),
    "budget": N_("No budget"),
    "dec": N_("No decision"),
}
QUANTITIES = ("1", "2", "5", "10")
DISCOUNTS = ("0", "5", "10", "15", "20")
BUTTON_TITLE = 32


class DealCb(CallbackData, prefix="dc"):
    action: str  # open | move | lose | hist
    deal_id: int
    stage: str = ""


class LostCb(CallbackData, prefix="dr"):
    deal_id: int
    reason: str  # a key of LOST_REASONS, or "other"


class DealsPageCb(CallbackData, prefix="ds"):
    offset: int


class DealFormCb(CallbackData, prefix="df"):
    # company | amount_sum | product | page | qty | disc | done | plan | confirm | approve
    # | back | cancel
    action: str
    value: str = ""  # page: the first product of the catalogue page


class ApprovalCb(CallbackData, prefix="ap"):
    line_id: int
    ok: bool


class AcceptCb(CallbackData, prefix="da"):
    """The manager accepts the discount a head cut (a rejected line blocks winning until then)."""

    line_id: int
    pct: str


class DealForm(StatesGroup):
    company = State()
    title = State()
    amount = State()
    products = State()
    quantity = State()
    discount = State()
    confirm = State()


class LostForm(StatesGroup):
    reason = State()


# --- the deal card (rendered by handlers/find.py; the buttons are ours) ----------------------


def _reopen_stage(card: DealCard) -> DealStage:
    """The stage a closed deal came from (the newest change into its closed stage)."""
    for change in card.history:
        if change.to_stage == card.deal.stage and change.from_stage:
            stage = DealStage(change.from_stage)
            if not stage.is_closed:
                return stage
    return DealStage.NEGOTIATION


def deal_rows(actor: Actor, card: DealCard) -> list[list[InlineKeyboardButton]]:
    """Move to the previous/next stage, Win, Lose; a closed deal: Reopen (heads, directors)."""
    deal = card.deal
    stage = DealStage(deal.stage)
    rows: list[list[InlineKeyboardButton]] = []
    if not stage.is_closed:
        index = OPEN_STAGES.index(stage)
        moves = []
        if index > 0:
            before = OPEN_STAGES[index - 1]
            moves.append(button("◀ " + deal_stage(before), _move(deal.id, before)))
        if index + 1 < len(OPEN_STAGES):
            after = OPEN_STAGES[index + 1]
            moves.append(button(deal_stage(after) + " ▶", _move(deal.id, after)))
        rows.append(moves)
        rows.append(
            [
                button("✅ " + _("Won"), _move(deal.id, DealStage.WON)),
                button("❌ " + _("Lost"), DealCb(action="lose", deal_id=deal.id)),
            ]
        )
    elif actor.role in (Role.HEAD, Role.DIRECTOR):
        rows.append([button("↩ " + _("Reopen"), _move(deal.id, _reopen_stage(card)))])
    rows.append([button("📈 " + _("Stage history"), DealCb(action="hist", deal_id=deal.id))])
    return rows


def _move(deal_id: int, stage: DealStage) -> DealCb:
    return DealCb(action="move", deal_id=deal_id, stage=stage.value)


CARD_ROWS[DEAL].append(deal_rows)


async def show_deal(
    target: Message | CallbackQuery, uow: UnitOfWork, actor: Actor, deal_id: int
) -> None:
    text, markup = render_deal_card(actor, await cards.deal_card(uow, actor, deal_id))
    await show(target, text, markup)


# --- /deals -----------------------------------------------------------------------------


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


@router.message(Command("deals"))
async def list_deals(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    text, markup = await deals_page(uow, actor, 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(DealsPageCb.filter())
async def page_deals(
    callback: CallbackQuery, callback_data: DealsPageCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = await deals_page(uow, actor, max(0, callback_data.offset))
    await show(callback, text, markup)
    await callback.answer()


# --- the card's buttons -----------------------------------------------------------------


@router.callback_query(DealCb.filter(F.action == "open"))
async def open_card(
    callback: CallbackQuery, callback_data: DealCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = render_deal_card(actor, await cards.deal_card(uow, actor, callback_data.deal_id))
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=markup)
    await callback.answer()


@router.callback_query(DealCb.filter(F.action == "move"))
async def move_deal(
    callback: CallbackQuery, callback_data: DealCb, uow: UnitOfWork, actor: Actor
) -> None:
    card = await cards.move_deal(uow, actor, callback_data.deal_id, callback_data.stage)
    await show(callback, *render_deal_card(actor, card))
    await callback.answer(_("Stage: {stage}").format(stage=deal_stage(card.deal.stage)))


@router.callback_query(DealCb.filter(F.action == "lose"))
async def ask_lost_reason(
    callback: CallbackQuery, callback_data: DealCb, uow: UnitOfWork, actor: Actor
) -> None:
    card = await cards.deal_card(uow, actor, callback_data.deal_id)  # refuses another's deal
    kb = InlineKeyboardBuilder()
    for code, reason in LOST_REASONS.items():
        kb.button(
            text=_(reason),
            callback_data=LostCb(deal_id=card.deal.id, reason=code),
        )
    kb.button(text=_("Other…"), callback_data=LostCb(deal_id=card.deal.id, reason="other"))
    kb.button(text=_("« Back"), callback_data=DealCb(action="open_here", deal_id=card.deal.id))
    kb.adjust(2, 2, 1, 1)
    await show(
        callback,
        _("Why was the deal «{title}» lost?").format(title=h(card.deal.title)),
        kb.as_markup(),
    )
    await callback.answer()


@router.callback_query(DealCb.filter(F.action == "open_here"))
async def back_to_card(
    callback: CallbackQuery, callback_data: DealCb, uow: UnitOfWork, actor: Actor
) -> None:
    await show_deal(callback, uow, actor, callback_data.deal_id)
    await callback.answer()


@router.callback_query(LostCb.filter())
async def lost_with_reason(
    callback: CallbackQuery,
    callback_data: LostCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    if callback_data.reason == "other":
        await cards.deal_card(uow, actor, callback_data.deal_id)  # refuses another's deal
        await state.set_state(LostForm.reason)
        await state.set_data({"deal_id": callback_data.deal_id})
        if isinstance(callback.message, Message):
            await callback.message.answer(
                _("Write the reason in a few words."), reply_markup=DIALOG.nav_markup(back=False)
            )
        await callback.answer()
        return
    reason = LOST_REASONS.get(callback_data.reason)
    if reason is None:
        raise InvalidInput("lost_reason", "invalid")
    card = await cards.move_deal(
        uow, actor, callback_data.deal_id, DealStage.LOST, lost_reason=_(reason)
    )
    await show(callback, *render_deal_card(actor, card))
    await callback.answer(_("Stage: {stage}").format(stage=deal_stage(card.deal.stage)))


@router.message(LostForm.reason, F.text, ~F.text.startswith("/"))
async def typed_lost_reason(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    card = await cards.move_deal(
        uow, actor, int(data["deal_id"]), DealStage.LOST, lost_reason=message.text or ""
    )
    await state.clear()
    await show(message, *render_deal_card(actor, card))


@router.callback_query(DealCb.filter(F.action == "hist"))
async def history(
    callback: CallbackQuery, callback_data: DealCb, uow: UnitOfWork, actor: Actor
) -> None:
    changes = await deals.stage_history(uow, actor, callback_data.deal_id)
    lines = [_("<b>Stage history</b>")]
    for change in changes[-30:]:
        moved = (
            f"{deal_stage(change.from_stage)} → {deal_stage(change.to_stage)}"
            if change.from_stage
            else deal_stage(change.to_stage)
        )
        lines.append(f"{local_time(actor, change.changed_at)} — {moved}")
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("« Back"), callback_data=DealCb(action="open_here", deal_id=callback_data.deal_id)
    )
    await show(callback, "\n".join(lines), kb.as_markup())
    await callback.answer()


# --- /deal: one line ----------------------------------------------------------------------


def usage_text() -> str:
    return _(
        "Write <code>/deal company; title; amount</code>, "
        "or just /deal and I will ask step by step."
    )


@router.message(Command("deal"))
async def new_deal(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
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
    data: dict[str, Any] = {"title": title, "amount": str(value), "products_done": True}
    company = await companies.find_by_name(uow, actor, name)
    if company is not None:
        deal = await deals.open(
            uow, actor, DealInput(company.id, title, value), on_opened=deal_opened
        )
        await show_deal(message, uow, actor, deal.id)
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
    data["choices"] = {str(hit.entity_id): hit.title for hit in hits}
    await DIALOG.save(state, data)
    kb = InlineKeyboardBuilder()
    for hit in hits:
        kb.button(
            text=short(hit.title, 60),
            callback_data=DealFormCb(action="company", value=str(hit.entity_id)),
        )
    kb.adjust(1)
    kb.row(*DIALOG.nav_buttons(back=False))
    await message.answer(_("Which company do you mean?"), reply_markup=kb.as_markup())
    return True


# --- /deal: the dialog ---------------------------------------------------------------------


def step_of(data: dict[str, Any]) -> str:
    if "company_id" not in data:
        return "company"
    if "title" not in data:
        return "title"
    if "amount" not in data:
        return "amount"
    if "product" in data:
        return "discount" if "quantity" in data else "quantity"
    if not data.get("products_done"):
        return "products"
    return "confirm"


DIALOG = Wizard(
    steps={
        "company": DealForm.company,
        "title": DealForm.title,
        "amount": DealForm.amount,
        "products": DealForm.products,
        "quantity": DealForm.quantity,
        "discount": DealForm.discount,
        "confirm": DealForm.confirm,
    },
    step_of=step_of,
    back_drops={
        "title": ("company_id", "company_name"),
        "amount": ("title",),
        "products": ("amount",),
        "quantity": ("product",),
        "discount": ("quantity",),
        "confirm": ("products_done", "needs_approval"),
    },
    nav=DealFormCb,
    restart="/deal",
)


def catalogue_page(offset: int) -> DealFormCb:
    return DealFormCb(action="page", value=str(offset))


def lines_summary(data: dict[str, Any]) -> list[str]:
    result = []
    for line in data.get("lines", []):
        discount = f" −{number(line['discount'])}%" if Decimal(line["discount"]) else ""
        result.append(
            f"• {h(line['name'])} × {number(line['quantity'])} × {money(Decimal(line['price']))}"
            f"{discount}"
        )
    return result


def draft_summary(data: dict[str, Any]) -> list[str]:
    lines = [_("Company: {name}").format(name=h(data["company_name"]))]
    if "title" in data:
        lines.append(_("Title: {title}").format(title=h(data["title"])))
    if "amount" in data:
        amount = money(Decimal(data["amount"])) if data["amount"] else _("the sum of the products")
        lines.append(_("Amount: {amount}").format(amount=amount))
    if data.get("lines"):
        lines += [_("Products:"), *lines_summary(data)]
    return lines


def prompt(
    step: str, data: dict[str, Any], catalogue: tuple[list[Any], int] | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    kb = InlineKeyboardBuilder()
    head = "\n".join(draft_summary(data)) + "\n\n" if "company_id" in data else ""
    if step == "company":
        kb.row(*DIALOG.nav_buttons(back=False))
        return _("<b>New deal</b>\nWhich company? Type a part of its name."), kb.as_markup()
    if step == "title":
        text = _("What is the deal? Type its title.")
    elif step == "amount":
        text = _("The amount? Type a number, e.g. 150000.")
        kb.row(
            InlineKeyboardButton(
                text=_("The sum of the products"),
                callback_data=DealFormCb(action="amount_sum").pack(),
            )
        )
    elif step == "products":
        items, total = catalogue or ([], 0)
        offset = int(data.get("offset", 0))
        text = (
            _("Add products from the catalogue, or press Done.")
            if total
            else _("The catalogue is empty: press Done.")
        )
        for product in items:
            kb.row(
                InlineKeyboardButton(
                    text=f"{short(product.name, 40)} — {money(product.unit_price)}",
                    callback_data=DealFormCb(action="product", value=str(product.id)).pack(),
                )
            )
        pager = pager_row(catalogue_page, offset, total) if total else []
        if pager:
            kb.row(*pager)
        kb.row(InlineKeyboardButton(text=_("Done"), callback_data=DealFormCb(action="done").pack()))
    elif step == "quantity":
        text = _("How many of «{name}»? Press or type a number.").format(
            name=h(data["product"]["name"])
        )
        kb.row(
            *[
                InlineKeyboardButton(text=q, callback_data=DealFormCb(action="qty", value=q).pack())
                for q in QUANTITIES
            ]
        )
    elif step == "discount":
        text = _("Discount on «{name}», %? Press or type a number.").format(
            name=h(data["product"]["name"])
        )
        kb.row(
            *[
                InlineKeyboardButton(
                    text=f"{d}%", callback_data=DealFormCb(action="disc", value=d).pack()
                )
                for d in DISCOUNTS
            ]
        )
    else:  # confirm
        if data.get("needs_approval"):
            text = _(
                "A discount of {discount}% is above your limit of {limit}%. "
                "Send it to your head for approval?"
            ).format(
                discount=number(data["needs_approval"][0]),
                limit=number(data["needs_approval"][1]),
            )
            label, action = _("Send for approval"), "approve"
        else:
            text = _("Open this deal?")
            label, action = _("Open the deal"), "confirm"
        kb.row(InlineKeyboardButton(text=label, callback_data=DealFormCb(action=action).pack()))
        if len(data.get("plans", [])) > 1:  # several deal playbooks: the button cycles them
            name = dict(map(tuple, data["plans"])).get(data.get("plan"), "")
            kb.row(
                InlineKeyboardButton(
                    text=(
                        _("Plan: {name}").format(name=short(name, 40)) if name else _("Plan: none")
                    )
                    + " ▸",
                    callback_data=DealFormCb(action="plan").pack(),
                )
            )
    kb.row(*DIALOG.nav_buttons())
    return head + text, kb.as_markup()


async def ask(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
) -> None:
    """Save the dialog's data and ask for what is missing next."""
    step = step_of(data)
    catalogue = None
    if step == "products":
        catalogue = await products.list_page(
            uow, actor, offset=int(data.get("offset", 0)), limit=PAGE
        )
        # the buttons name only these; a crafted product id is refused
        data["shown"] = {str(p.id): [p.name, str(p.unit_price)] for p in catalogue[0]}
    if step == "confirm" and "plans" not in data:
        books = await playbooks.list_playbooks(uow, PlaybookKind.DEAL.value)  # default first
        data["plans"] = [[p.id, p.name] for p in books]
        if books and not books[0].is_default:
            data["plans"].insert(0, [0, ""])  # no default: no plan unless one is chosen
        data["plan"] = data["plans"][0][0] if books else 0
    await DIALOG.save(state, data)
    text, markup = prompt(step, data, catalogue)
    await show(target, text, markup)


@router.callback_query(NewDealCb.filter())
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


@router.message(DealForm.company, F.text, ~F.text.startswith("/"))
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


@router.message(DealForm.title, F.text, ~F.text.startswith("/"))
async def typed_title(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data["title"] = validation.text("title", message.text)
    await ask(message, uow, actor, state, data)


@router.message(DealForm.amount, F.text, ~F.text.startswith("/"))
async def typed_amount(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data["amount"] = str(validation.money("amount", message.text))
    await ask(message, uow, actor, state, data)


@router.message(DealForm.quantity, F.text, ~F.text.startswith("/"))
async def typed_quantity(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await set_quantity(message, uow, actor, state, message.text or "")


@router.message(DealForm.discount, F.text, ~F.text.startswith("/"))
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
        lines=[
            LineInput(line["product_id"], quantity=line["quantity"], discount_pct=line["discount"])
            for line in data.get("lines", [])
        ],
    )


@router.callback_query(DealFormCb.filter())
async def dialog_button(
    callback: CallbackQuery,
    callback_data: DealFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
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
        choices = data.pop("choices", {})
        if value not in choices:
            raise AccessDenied("company")
        data.update(company_id=int(value), company_name=choices[value])
        await ask(callback, uow, actor, state, data)
    elif action == "amount_sum" and step == "amount":
        data["amount"] = ""
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
            callback, uow, actor, state, bot, i18n, data, action == "approve", deal_opened
        )
    else:
        await stale(callback)
        return
    await callback.answer()


async def open_from_dialog(
    callback: CallbackQuery,
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
    await show_deal(callback, uow, actor, deal.id)
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


# --- discount approval ----------------------------------------------------------------------


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


@router.callback_query(ApprovalCb.filter())
async def decide(
    callback: CallbackQuery,
    callback_data: ApprovalCb,
    uow: UnitOfWork,
    actor: Actor,
    bot: Bot,
    i18n: I18n,
) -> None:
    decision = await deals.decide_discount(uow, actor, callback_data.line_id, callback_data.ok)
    deal, line, curator = decision.deal, decision.line, decision.curator
    if decision.approved:
        verdict = _("Approved: a discount of {discount}% on «{product}» in «{title}».")
    else:
        verdict = _("Rejected: the discount on «{product}» in «{title}» is cut to {discount}%.")
    params = {
        "discount": number(line.discount_pct),
        "product": h(line.product.name),
        "title": h(deal.title),
    }
    await show(callback, verdict.format(**params))
    await callback.answer()
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


@router.callback_query(AcceptCb.filter())
async def accept_cut_discount(
    callback: CallbackQuery, callback_data: AcceptCb, uow: UnitOfWork, actor: Actor
) -> None:
    line = await deals.change_discount(uow, actor, callback_data.line_id, callback_data.pct)
    await show_deal(callback, uow, actor, line.deal_id)
    await callback.answer()
