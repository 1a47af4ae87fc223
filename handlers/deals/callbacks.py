"""The callback data of the deal screens, and the choices their buttons offer."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from handlers.words import N_

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
    at: int = -1  # pressed in /approvals: the offset of its page; -1: the request message


class AcceptCb(CallbackData, prefix="da"):
    """The manager accepts the discount a head cut (a rejected line blocks winning until then)."""

    line_id: int
    pct: str


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


class DealEditCb(CallbackData, prefix="dde"):
    """✏ Edit on the deal card: menu | field | pick | back | cancel."""

    action: str
    deal_id: int = 0  # menu: the deal (the dialog keeps it afterwards)
    value: str = ""  # field: its name; pick: a close date (ISO) or a contact id ("0": none)


class TermsCb(CallbackData, prefix="dtm"):
    """💳 Terms on the deal card: ask | set (days) | default (the company's) | back."""

    action: str
    deal_id: int
    days: int = 0


class PaidCb(CallbackData, prefix="dpd"):
    """💰 Paid on a won deal's card: ask | today | back."""

    action: str
    deal_id: int


class TermsDecisionCb(CallbackData, prefix="apt"):
    """A head's Approve / Reject of a deal's payment terms."""

    deal_id: int
    ok: bool
    at: int = -1  # pressed in /approvals: the offset of its page; -1: the request message
