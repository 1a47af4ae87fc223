"""Rendering helpers every handler shares: money, local times, one-line arguments, pagers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from html import escape
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from crm.access import Actor
from crm.errors import InvalidInput

PAGE = 8
ARG_MAX = 4000


def money(amount: Decimal | int | None) -> str:
    """1234567.5 -> '1 234 567.50' (thin spaces would not survive every client)."""
    if amount is None:
        return "—"
    return f"{Decimal(amount):,.2f}".replace(",", " ")


def percent(value: Decimal | int | str) -> str:
    """The number of a percentage shown to the user, the '%' left to the text around it.

    7.5 -> '7.5' in English, '7,5' in Russian (the decimal comma; 20.00 -> '20'). Only for
    showing: what goes into callback data or back to a parser keeps the dot.
    """
    text = f"{Decimal(value).normalize():f}"
    try:
        locale = get_i18n().current_locale
    except LookupError:  # no i18n context (a script): the plain form
        return text
    return text.replace(".", ",") if locale.startswith("ru") else text


def local_time(actor: Actor, at: datetime | None, with_date: bool = True) -> str:
    if at is None:
        return "—"
    local = at.astimezone(ZoneInfo(actor.timezone))
    return local.strftime("%d.%m.%Y %H:%M" if with_date else "%H:%M")


def split_args(args: str | None) -> list[str]:
    """'a; b ;c' -> ['a', 'b', 'c']: one-line commands separate their fields with ';'.

    Longer input is refused rather than cut, so that nothing truncated is ever saved.
    """
    if not args:
        return []
    if len(args) > ARG_MAX:
        raise InvalidInput("text", "too_long", max=ARG_MAX)
    return [part.strip() for part in args.split(";")]


def h(value: object) -> str:
    """Escape user text for Telegram's HTML parse mode."""
    return escape(str(value)) if value is not None else ""


def pager_row(
    make: type[CallbackData], offset: int, total: int, page: int = PAGE, **fields: object
) -> list[InlineKeyboardButton]:
    """« and » buttons for a paged list; `make(offset=..., **fields)` builds their callback data."""
    row: list[InlineKeyboardButton] = []
    if offset > 0:
        row.append(
            InlineKeyboardButton(
                text="«", callback_data=make(offset=max(0, offset - page), **fields).pack()
            )
        )
    if total > page:
        row.append(
            InlineKeyboardButton(
                text=f"{offset // page + 1}/{(total + page - 1) // page}",
                callback_data=make(offset=offset, **fields).pack(),
            )
        )
    if offset + page < total:
        row.append(
            InlineKeyboardButton(
                text="»", callback_data=make(offset=offset + page, **fields).pack()
            )
        )
    return row


def cancel_text() -> str:
    return _("Cancelled. Nothing was saved.")


class NewDealCb(CallbackData, prefix="nd"):
    """The New deal button of a company card (handlers/find.py); handlers/deals.py answers it."""

    company_id: int


class RemindCb(CallbackData, prefix="rm"):
    """The Remind button of a card (kind: co | ct | dl, as in handlers/find.py);
    handlers/tasks.py answers it with the when → text dialog."""

    kind: str
    id: int


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def short(text: str | None, width: int) -> str:
    """One line of at most `width` characters, cut with an ellipsis."""
    value = " ".join((text or "").split())
    return value if len(value) <= width else value[: width - 1] + "…"


async def show(
    target: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit the message under a pressed button, or answer a typed message."""
    if isinstance(target, CallbackQuery):
        if isinstance(target.message, Message):
            await target.message.edit_text(text, reply_markup=markup)
        return
    await target.answer(text, reply_markup=markup)


def month_name(key: str, *, wide: bool = False) -> str:
    """A "YYYY-MM" month as the user reads it: "нояб. 2026" / "Nov 2026" ("ноябрь 2026"
    with `wide`); the key itself if it is not one."""
    try:
        year, month = (int(part) for part in key.split("-"))
        first = date(year, month, 1)
    except ValueError:
        return key
    return format_date(first, "LLLL yyyy" if wide else "LLL yyyy", locale=get_i18n().current_locale)
