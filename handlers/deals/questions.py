"""The questions of the /deal dialog, in order: company, title, amount, products from
the catalogue (quantity, discount), then confirm; what is missing is asked next.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.services import playbooks, products
from crm.uow import UnitOfWork
from handlers.deals.callbacks import DISCOUNTS, QUANTITIES, DealFormCb
from handlers.dialog import Wizard
from handlers.ui import PAGE, h, pager_row, short, show
from handlers.words import money, number


class DealForm(StatesGroup):
    company = State()
    title = State()
    amount = State()
    products = State()
    quantity = State()
    discount = State()
    confirm = State()


def step_of(data: Mapping[str, Any]) -> str:
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
        typed = data["amount"] and not data.get("lines")  # with products, their total counts
        amount = money(Decimal(data["amount"])) if typed else _("the sum of the products")
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
        books = await playbooks.choices(uow, actor)  # default first
        data["plans"] = [[p.id, p.name] for p in books]
        if books and not books[0].is_default:
            data["plans"].insert(0, [0, ""])  # no default: no plan unless one is chosen
        data["plan"] = data["plans"][0][0] if books else 0
    await DIALOG.save(state, data)
    text, markup = prompt(step, data, catalogue)
    await show(target, text, markup)
