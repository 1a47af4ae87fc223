"""The callback data of the claim screens (the card, the filing dialog, /claims, the plan)."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from crm.models.enums import ClaimPriority
from handlers.words import (
    CLAIM_STATUSES,
    N_,
)

BUTTON_TITLE = 40
CARD_TEXT = 1500
PLAN_SHOWN = 15
PRIORITIES = [p.value for p in ClaimPriority]
# the /claims status filter: "open" = new or investigating, "all" = no filter
LIST_STATUSES: dict[str, str] = {"open": N_("open"), **CLAIM_STATUSES, "all": N_("all")}


class ClaimCb(CallbackData, prefix="cl"):
    """A claim card's buttons; the notices of notifications/claims_notify use "open".

    action: open (a new message with the card) | show (the card in place) | st (a status
    without text) | ask (resolve/reject: asks for the text) | over (resolve despite open
    plan tasks) | rejok (reject, confirmed over open plan tasks) | nocomp (resolve without
    compensation) | files | task (a plan task done) | edit (✏ Edit: cause and priority)
    """

    action: str
    claim_id: int
    value: str = ""


class ClaimFormCb(CallbackData, prefix="clf"):
    action: str  # company | contact | page | cause | prio | done | back | cancel
    value: str = ""
    offset: int = 0


class ClaimsListCb(CallbackData, prefix="cls"):
    status: str = "open"
    prio: str = ""  # "" = any priority
    offset: int = 0


class NewClaimCb(CallbackData, prefix="ncl"):
    """The File a claim button of a company card: the dialog starts at the contact."""

    company_id: int


PLAN_BUTTONS = 10


class PlanCb(CallbackData, prefix="cpl"):
    action: str  # show | done | rm (ask) | rmyes | add | at (a time chosen by a button)
    claim_id: int
    task_id: int = 0
    at: int = 0  # a UTC timestamp for "at"
