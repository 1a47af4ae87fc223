"""What every handler shares to show things: show(), buttons, pagers, one-line arguments.

Words and formats (labels, money, dates) live in handlers/words.py.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm.errors import InvalidInput

PAGE = 8
ARG_MAX = 4000


def split_args(args: str | None) -> list[str]:
    """'a; b ;c' -> ['a', 'b', 'c']: one-line commands separate their fields with ';'.

    Longer input is refused rather than cut, so that nothing truncated is ever saved.
    """
    if not args:
        return []
    if len(args) > ARG_MAX:
        raise InvalidInput("text", "too_long", max=ARG_MAX)
    return [part.strip() for part in args.split(";")]


def snippet(text: str, limit: int) -> str:
    """At most `limit` characters, cut with an ellipsis; its lines are kept."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def h(value: object) -> str:
    """Escape user text for Telegram's HTML parse mode."""
    return escape(str(value)) if value is not None else ""


def pager_row(
    make: Callable[..., CallbackData], offset: int, total: int, page: int = PAGE, **fields: object
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


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def short(text: str | None, width: int) -> str:
    """One line of at most `width` characters, cut with an ellipsis."""
    value = " ".join((text or "").split())
    return value if len(value) <= width else value[: width - 1] + "…"


async def show(
    target: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit the message under a pressed button, or answer a typed message.

    The press itself is answered by the caller (with a notice, or none). The same page shown
    again (a pager's own n/m button) is no error.
    """
    if isinstance(target, Message):
        await target.answer(text, reply_markup=markup)
        return
    if not isinstance(target.message, Message):  # too old for Telegram to hand it back
        return
    try:
        await target.message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "message is not modified" not in str(exc):
            raise


def markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    """A keyboard of the rows that are not empty."""
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])
