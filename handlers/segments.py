"""The segment picker of event invitees and of mailings: all the clients one sees, a
relationship stage, an industry, a territory or one company.

Each user of it passes `make(action=..., value=..., offset=...)`, which builds its own
CallbackData; the actions are `seg` (value: all | stage.<s> | ind.<i> | ter.<i> |
co.<id>), `inds` / `ters` (the list to choose one from) and `cos` (the companies, paged;
a typed part of the name looks one up). `segment_of` turns a pressed value back into a
`crm.services.events.Segment`; the services check what the actor may see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.errors import InvalidInput
from crm.models.enums import Role
from crm.services import events
from crm.services.events import Segment
from crm.uow import UnitOfWork
from handlers.ui import PAGE, button, h, short
from handlers.words import CLIENT_GROUPS

BUTTON_TITLE = 40
Make = Callable[..., CallbackData]


def menu_markup(actor: Actor, make: Make, back: InlineKeyboardButton) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    # a head or a director picks from every client they can see, not only their own
    everyone = _("All my clients") if actor.role is Role.MANAGER else _("All clients you can see")
    kb.row(button(everyone, make(action="seg", value="all")))
    for stage, group in CLIENT_GROUPS.items():
        kb.row(button(_(group), make(action="seg", value=f"stage.{stage}")))
    kb.row(
        button(_("By industry"), make(action="inds")),
        button(_("By territory"), make(action="ters")),
    )
    kb.row(button(_("By company"), make(action="cos")))
    kb.row(back)
    return kb.as_markup()


async def values_screen(
    uow: UnitOfWork, actor: Actor, kind: str, make: Make, back: InlineKeyboardButton
) -> tuple[str, InlineKeyboardMarkup]:
    """The industries (kind "industry") or territories to choose one from."""
    values = await events.segment_values(uow, actor, kind)
    kb = InlineKeyboardBuilder()
    prefix = "ind" if kind == "industry" else "ter"
    for index, value in enumerate(values):
        kb.row(button(short(value, BUTTON_TITLE), make(action="seg", value=f"{prefix}.{index}")))
    kb.row(back)
    text = _("Choose the industry:") if kind == "industry" else _("Choose the territory:")
    if not values:
        text = _("Your companies have no industry or territory filled in yet.")
    return text, kb.as_markup()


def companies_markup(
    rows: list[tuple[int, str]],
    pager: list[Any] | None,
    make: Make,
    back: InlineKeyboardButton,
) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for company_id, name in rows:
        kb.row(button(short(name, BUTTON_TITLE), make(action="seg", value=f"co.{company_id}")))
    if pager:
        kb.row(*pager)
    kb.row(back)
    return kb.as_markup()


def companies_text(total: int) -> str:
    if total:
        return _("Choose the company, or type a part of its name:")
    return _("None of your companies has a contact with an email.")


async def found_companies(
    uow: UnitOfWork, actor: Actor, typed: str, make: Make, back: InlineKeyboardButton
) -> tuple[str, InlineKeyboardMarkup]:
    """The companies whose name contains the typed text, with what was found said."""
    rows, total = await events.segment_companies(uow, actor, limit=PAGE, name=typed)
    quoted = h(short(typed, 100))
    if not total:
        text = _(
            "None of your companies with an email is called like “{text}”. "
            "Type another part of the name."
        ).format(text=quoted)
    elif total > len(rows):
        text = _(
            "Found {count} for “{text}”, here are the first {shown}: choose one, "
            "or type more of the name."
        ).format(count=total, text=quoted, shown=len(rows))
    else:
        text = _("Found for “{text}”: choose the company.").format(text=quoted)
    return text, companies_markup(rows, None, make, back)


async def segment_of(uow: UnitOfWork, actor: Actor, value: str) -> Segment:
    kind, _sep, rest = value.partition(".")
    if kind == "all":
        return Segment("all")
    if kind == "stage":
        return Segment("stage", rest)
    if kind in ("ind", "ter") and rest.isdigit():
        name = "industry" if kind == "ind" else "territory"
        values = await events.segment_values(uow, actor, name)
        if int(rest) < len(values):
            return Segment(name, values[int(rest)])
    if kind == "co" and rest.isdigit():
        return Segment("company", int(rest))
    raise InvalidInput("segment", "unknown_value", allowed=list(events.SEGMENT_KINDS))
