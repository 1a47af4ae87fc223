"""Every word and format a user reads: the labels of stored codes, money, numbers, dates.

Labels are msgids (marked with N_) translated where they are shown: `label(CLAIM_STATUSES,
claim.status)`; a code without a label is shown as it is. Formats follow the locale of
the update being answered (aiogram's i18n context; outside one, the English forms) and
the reader's timezone. notifications/ takes its words from here too, and nothing else
from handlers/.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from crm import when
from crm.access import Actor
from crm.analytics.abc_xyz import AbcMetric
from crm.models.enums import (
    ApprovalStatus,
    ClaimPriority,
    ClaimStatus,
    CompanyStage,
    DealStage,
    DecisionRole,
    Direction,
    InteractionKind,
    InteractionStatus,
    InviteeStatus,
    PlaybookKind,
    Role,
    TaskStatus,
)
from crm.money import cents
from crm.services.claims import DEFAULT_CAUSES


def N_(message: str) -> str:
    """Marks a msgid for extraction where it is defined; `_()` translates it where it is shown."""
    return message


# --- labels of stored codes ----------------------------------------------------------------

ROLES: dict[str, str] = {
    Role.MANAGER: N_("manager"),
    Role.HEAD: N_("head of department"),
    Role.DIRECTOR: N_("director"),
}
# a deal's stage as a name (the card, /deals, the stage buttons, reports): "Lead"
DEAL_STAGES: dict[str, str] = {
    DealStage.LEAD: N_("Lead"),
    DealStage.QUALIFIED: N_("Qualified"),
    DealStage.PROPOSAL: N_("Proposal"),
    DealStage.NEGOTIATION: N_("Negotiation"),
    DealStage.WON: N_("Won"),
    DealStage.LOST: N_("Lost"),
}
# a deal's stage inside a sentence (a company card's deals, the export): "lead"
DEAL_STATES: dict[str, str] = {
    DealStage.LEAD: N_("lead"),
    DealStage.QUALIFIED: N_("qualified"),
    DealStage.PROPOSAL: N_("proposal"),
    DealStage.NEGOTIATION: N_("negotiation"),
    DealStage.WON: N_("won"),
    DealStage.LOST: N_("lost"),
}
# the relationship with a company
COMPANY_STAGES: dict[str, str] = {
    CompanyStage.POTENTIAL: N_("potential"),
    CompanyStage.ONE_TIME: N_("one-time"),
    CompanyStage.REGULAR: N_("regular"),
    CompanyStage.LOST: N_("lost client"),
}
# the same stages as groups of clients (whom an event invites)
CLIENT_GROUPS: dict[str, str] = {
    CompanyStage.POTENTIAL: N_("Potential clients"),
    CompanyStage.ONE_TIME: N_("One-time clients"),
    CompanyStage.REGULAR: N_("Regular clients"),
}
DECISION_ROLES: dict[str, str] = {
    DecisionRole.DECISION_MAKER: N_("decision maker"),
    DecisionRole.INFLUENCER: N_("influencer"),
    DecisionRole.USER: N_("user"),
    DecisionRole.GATEKEEPER: N_("gatekeeper"),
}
INTERACTION_KINDS: dict[str, str] = {
    InteractionKind.CALL: N_("call"),
    InteractionKind.MEETING: N_("meeting"),
    InteractionKind.EMAIL: N_("email"),
    InteractionKind.MESSAGE: N_("message"),
    InteractionKind.VISIT: N_("visit"),
}
INTERACTION_ICONS: dict[str, str] = {
    InteractionKind.CALL: "📞",
    InteractionKind.MEETING: "🤝",
    InteractionKind.EMAIL: "✉️",
    InteractionKind.MESSAGE: "💬",
    InteractionKind.VISIT: "🚗",
}
DIRECTIONS: dict[str, str] = {Direction.IN: N_("incoming"), Direction.OUT: N_("outgoing")}
INTERACTION_STATUSES: dict[str, str] = {
    InteractionStatus.PLANNED: N_("planned"),
    InteractionStatus.DONE: N_("took place"),
}
TASK_STATUSES: dict[str, str] = {
    TaskStatus.OPEN: N_("to do"),
    TaskStatus.DONE: N_("done"),
    TaskStatus.CANCELLED: N_("cancelled"),
}
# a task in a plan (a claim's, an event's): to do, done, dropped
TASK_MARKS: dict[str, str] = {TaskStatus.OPEN: "☐", TaskStatus.DONE: "☑", TaskStatus.CANCELLED: "✖"}
TASK_KINDS: dict[str, str] = {
    "manual": N_("reminder"),
    "forgotten_client": N_("forgotten client"),
    "deal_plan": N_("deal plan"),
    "claim_plan": N_("claim plan"),
    "event_plan": N_("event preparation"),
    "interaction": N_("planned interaction"),
}
CLAIM_STATUSES: dict[str, str] = {
    ClaimStatus.NEW: N_("new"),
    ClaimStatus.INVESTIGATING: N_("investigating"),
    ClaimStatus.RESOLVED: N_("resolved"),
    ClaimStatus.REJECTED: N_("rejected"),
}
CLAIM_PRIORITIES: dict[str, str] = {
    ClaimPriority.LOW: N_("low"),
    ClaimPriority.NORMAL: N_("normal"),
    ClaimPriority.HIGH: N_("high"),
    ClaimPriority.CRITICAL: N_("critical"),
}
PRIORITY_ICONS: dict[str, str] = {
    ClaimPriority.LOW: "⚪",
    ClaimPriority.NORMAL: "🔵",
    ClaimPriority.HIGH: "🟠",
    ClaimPriority.CRITICAL: "🔴",
}
# the built-in causes in the reader's language; a director's own causes show their title
CLAIM_CAUSES: dict[str, str] = {
    "quality": N_("Quality"),
    "delivery": N_("Delivery"),
    "billing": N_("Billing"),
    "service": N_("Service"),
    "other": N_("Other"),
}
INVITEE_STATUSES: dict[str, str] = {
    InviteeStatus.INVITED: N_("no answer yet"),  # on the list; the emails line says if mailed
    InviteeStatus.ACCEPTED: N_("accepted"),
    InviteeStatus.DECLINED: N_("declined"),
    InviteeStatus.ATTENDED: N_("attended"),
    InviteeStatus.NO_SHOW: N_("no-show"),
}
INVITEE_ICONS: dict[str, str] = {
    InviteeStatus.INVITED: "⏳",
    InviteeStatus.ACCEPTED: "👍",
    InviteeStatus.DECLINED: "👎",
    InviteeStatus.ATTENDED: "✅",
    InviteeStatus.NO_SHOW: "🚫",
}
# a discount line's approval, after the line (nothing when none was needed)
APPROVAL_NOTES: dict[str, str] = {
    ApprovalStatus.PENDING: N_("⏳ awaiting approval"),
    ApprovalStatus.REJECTED: N_("❗ discount rejected: confirm the new price"),
    ApprovalStatus.APPROVED: N_("✅ approved"),
}
PLAYBOOK_KINDS: dict[str, str] = {
    PlaybookKind.DEAL: N_("Deals"),
    PlaybookKind.CLAIM: N_("Claims"),
    PlaybookKind.EVENT: N_("Events"),
    PlaybookKind.REPLY: N_("Replies to clients"),
}
ABC_METRICS: dict[str, str] = {
    AbcMetric.REVENUE: N_("revenue"),
    AbcMetric.MARGIN: N_("margin"),
    AbcMetric.COUNT: N_("number of sales"),
}
# the usual inquiry and deal sources (free text in the database); any other as written
SOURCES: dict[str, str] = {
    "website": N_("Website"),
    "phone": N_("Phone"),
    "email": N_("Email"),
    "exhibition": N_("Exhibition"),
    "referral": N_("Referral"),
    "telegram": N_("Telegram"),
    "cold_call": N_("Cold call"),
}
LANGUAGES: dict[str, str] = {"ru": "Русский", "en": "English"}


def label(labels: Mapping[str, str], code: str) -> str:
    """A stored code in the reader's words; a code without a label stays as it is."""
    return _(labels[code]) if code in labels else code


def deal_stage(stage: str) -> str:
    return label(DEAL_STAGES, stage)


def role_name(role: str) -> str:
    return label(ROLES, role)


def priority_name(priority: str) -> str:
    return label(CLAIM_PRIORITIES, priority)


def claim_status(status: str) -> str:
    return label(CLAIM_STATUSES, status)


def priority_badge(priority: str) -> str:
    """🟠 high"""
    return f"{PRIORITY_ICONS.get(priority, '')} {priority_name(priority)}"


def cause_name(code: str, title: str | None = None) -> str:
    """A built-in cause in the reader's language until a director renames it, then (like
    every other cause) by the title the director gave."""
    if code in CLAIM_CAUSES and title in (None, code, DEFAULT_CAUSES.get(code)):
        return _(CLAIM_CAUSES[code])
    return title or code


def source_name(source: str) -> str:
    key = source.strip().lower()
    return _(SOURCES[key]) if key in SOURCES else source


def approval_note(status: str) -> str:
    """' ⏳ awaiting approval' after a line; '' when no approval was needed."""
    return " " + _(APPROVAL_NOTES[status]) if status in APPROVAL_NOTES else ""


# --- numbers --------------------------------------------------------------------------------


def _russian() -> bool:
    try:
        return get_i18n().current_locale.startswith("ru")
    except LookupError:  # no i18n context (a script): the English forms
        return False


def _decimal_comma(text: str) -> str:
    return text.replace(".", ",") if _russian() else text


def money(amount: Decimal | int | str | None) -> str:
    """1234567.5 -> '1 234 567.50' in English, '1 234 567,50' in Russian; halves round up
    (115 220.745 -> 115 220.75). Plain spaces group the digits: thin ones would not survive
    every client."""
    if amount is None:
        return "—"
    value = cents(amount)
    return _decimal_comma(f"{value:,.2f}".replace(",", " "))


def plain(value: Decimal | int | str) -> str:
    """A decimal without trailing zeros and with a dot: 20.00 -> '20', 2.50 -> '2.5'. For what
    goes back to a parser (callback data, a dialog's data); `number` is for showing it."""
    return f"{Decimal(value).normalize():f}"


def number(value: Decimal | int | str) -> str:
    """A quantity or the number of a percentage as the reader writes it: 7.5 -> '7,5' in
    Russian, '7.5' in English (the '%' is left to the text around it)."""
    return _decimal_comma(plain(value))


def share(rate: float | None) -> str:
    """A share of a whole as a percentage: 0.5 -> '50%'; '—' when there is no whole.
    Halves round up, as money does (0.125 -> '13%')."""
    if rate is None:
        return "—"
    whole = Decimal(str(rate * 100)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{whole}%"


def shares(rates: Sequence[float]) -> list[str]:
    """The parts of one whole as whole percentages that add up to 100 % (largest
    remainder): 1/3, 1/3, 1/3 -> 34 %, 33 %, 33 %, never 101 % or 99 % in all."""
    exact = [Decimal(str(rate)) * 100 for rate in rates]
    floors = [int(value) for value in exact]
    total = round(sum(exact))  # 100, or what the parts add up to when they are not a whole
    order = sorted(range(len(exact)), key=lambda i: (floors[i] - exact[i], i))
    for i in order[: max(0, int(total) - sum(floors))]:
        floors[i] += 1
    return [f"{value}%" for value in floors]


# --- dates and times ------------------------------------------------------------------------


def day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def local_time(actor: Actor, at: datetime | None, with_date: bool = True) -> str:
    """A moment in the reader's timezone: '25.12.2025 10:00' (or '10:00')."""
    if at is None:
        return "—"
    local = when.to_local(at, actor.timezone)
    return local.strftime("%d.%m.%Y %H:%M" if with_date else "%H:%M")


def moment(actor: Actor, at: datetime) -> str:
    """A moment with its weekday, as a reminder names it: '13.03.2025 (Thu) 09:00' (the
    weekday in the language of the text around it: a `chatcrm shell --lang` session's)."""
    local = when.to_local(at, actor.timezone)
    weekday = format_date(local.date(), "EEE", locale=get_i18n().current_locale)
    return f"{local:%d.%m.%Y} ({weekday}) {local:%H:%M}"


def month_name(key: str, *, wide: bool = False) -> str:
    """A "YYYY-MM" month as the reader reads it: "нояб. 2026" / "Nov 2026" ("ноябрь 2026"
    with `wide`); the key itself if it is not one."""
    try:
        year, month = (int(part) for part in key.split("-"))
        first = date(year, month, 1)
    except ValueError:
        return key
    return format_date(first, "LLLL yyyy" if wide else "LLL yyyy", locale=get_i18n().current_locale)


# the evidence of a candidate duplicate pair (crm/services/duplicates/scan.py)
DUPLICATE_REASONS: dict[str, str] = {
    "inn": N_("the same INN"),
    "phone": N_("the same phone"),
    "email": N_("the same email"),
    "domain": N_("the same email domain"),
    "same_name": N_("the same name"),
    "similar_name": N_("a similar name"),
}
