"""The buttons of the company, contact and deal cards, and of what they lead to.

A card's buttons are answered by the area they belong to (New deal by handlers/deals,
Log interaction and History by handlers/interactions, Remind by handlers/tasks); their
callback data live here, with the card, so that no area imports another to draw a card.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton
from aiogram.utils.i18n import gettext as _

from crm.models.enums import SearchKind
from crm.search import Hit
from handlers.ui import button, short
from handlers.words import money

COMPANY, CONTACT, DEAL = "co", "ct", "dl"
KIND_OF_HIT = {SearchKind.COMPANY: COMPANY, SearchKind.CONTACT: CONTACT, SearchKind.DEAL: DEAL}
ICONS = {COMPANY: "🏢", CONTACT: "👤", DEAL: "💼"}


class CardCb(CallbackData, prefix="card"):
    """Open a card in a new message."""

    kind: str  # co | ct | dl
    id: int


class CardBackCb(CallbackData, prefix="cardb"):
    """Back to a card from a list shown in its place (the card's message is edited)."""

    kind: str
    id: int


class HistoryCb(CallbackData, prefix="hist"):
    kind: str
    id: int
    offset: int = 0


class LogCb(CallbackData, prefix="logw"):
    """Log interaction on a card: handlers/interactions starts the dialog at its kind step."""

    kind: str
    id: int


class ContactsCb(CallbackData, prefix="ctl"):
    company_id: int
    offset: int = 0


class EditCb(CallbackData, prefix="edit"):
    kind: str
    id: int
    field: str = ""  # "" shows the menu of fields


class EditNavCb(CallbackData, prefix="edn"):
    """Cancel in ✏ Edit of a company or contact card: back to the card, nothing saved."""

    action: str  # cancel


class StageCb(CallbackData, prefix="cstg"):
    company_id: int
    stage: str = ""  # "" shows the stages


class ParentCb(CallbackData, prefix="par"):
    """The parent company dialog of ✏ Edit: start | pick | clear | back | cancel."""

    action: str
    company_id: int = 0  # start: the company whose parent is set
    id: int = 0  # pick: the company offered as the parent


class CancelCb(CallbackData, prefix="x"):
    """Cancel in any dialog of the client side: the state is cleared, nothing saved."""

    where: str = ""


class NewDealCb(CallbackData, prefix="nd"):
    """The New deal button of a company card: handlers/deals asks for the rest."""

    company_id: int


class RemindCb(CallbackData, prefix="rm"):
    """The Remind button of a card: handlers/tasks asks when, then what."""

    kind: str  # co | ct | dl
    id: int


def cancel_button() -> InlineKeyboardButton:
    return button(_("✖ Cancel"), CancelCb())


def hit_button(hit: Hit, data: CallbackData | None = None) -> list[InlineKeyboardButton]:
    """A search result as a button: its card, or `data` (a dialog's choice)."""
    kind = KIND_OF_HIT[hit.kind]
    text = f"{ICONS[kind]} {short(hit.title, 60)}"
    if hit.company_name is not None:  # a deal: company and amount tell it from namesakes
        company = short(hit.company_name, 24)
        text = f"{ICONS[kind]} {short(hit.title, 32)} — {company}, {money(hit.amount)}"
    return [button(text, data or CardCb(kind=kind, id=hit.entity_id))]
