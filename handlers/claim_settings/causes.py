"""The words /claims_settings reads, and what it changes: causes (added, renamed, removed)
and the SLA days per priority, each through crm.services.claims.
"""

from __future__ import annotations

import re

from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm import validation
from crm.access import Actor, require_role
from crm.errors import Conflict, InvalidInput
from crm.models import ClaimCause
from crm.models.enums import ClaimPriority, Role
from crm.services import claims
from crm.uow import UnitOfWork
from handlers.claim_settings.callbacks import ClaimSetCb
from handlers.ui import button, h, short, show
from handlers.words import PRIORITY_ICONS, cause_name, priority_name

PRIORITIES = [p.value for p in ClaimPriority]  # low … critical
DAY_CHOICES = (1, 2, 3, 5, 7, 10, 14, 21, 30)
PRIORITY_WORDS: dict[str, str] = {
    "низкий": "low",
    "обычный": "normal",
    "высокий": "high",
    "критический": "critical",
}
CAUSE_WORDS = ("cause", "причина")
RENAME_WORDS = ("rename", "переименовать")
REMOVE_WORDS = ("remove", "delete", "удалить")
SLA_WORDS = ("sla", "срок", "сла")
CODE_MAX = 32
_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f h ts ch sh sch _ y _ e yu ya".split(),
        strict=True,
    )
)


def only_directors_text() -> str:
    return _("Only a director can change the claim settings.")


def usage_text() -> str:
    return (
        _(
            "Write <code>/claims_settings cause; Packaging</code> to add a cause, "
            "<code>/claims_settings sla; high; 2</code> to change an SLA, "
            "or just /claims_settings to see the settings with buttons."
        )
        + " "
        + _(
            "To rename or remove a cause: <code>/claims_settings cause rename; Old; New</code>, "
            "<code>/claims_settings cause remove; Name</code>."
        )
    )


def as_read(causes: list[ClaimCause]) -> list[ClaimCause]:
    """Causes in the order users read them: by the shown name, case-insensitively
    (the built-in catch-all "other" stays last)."""
    return sorted(
        causes,
        key=lambda c: (c.code == "other", cause_name(c.code, c.title).casefold(), c.code),
    )


def find_cause(causes: list[ClaimCause], name: str) -> ClaimCause:
    """The cause named so (as shown, by its title or by its code), in any case."""
    key = " ".join(name.split()).casefold()
    for cause in causes:
        if key in (cause_name(cause.code, cause.title).casefold(), cause.title.casefold()):
            return cause
    for cause in causes:
        if key == cause.code:
            return cause
    raise InvalidInput("cause", "not_found")


def code_from(title: str, taken: set[str]) -> str:
    """A cause code from its name: 'Упаковка' -> 'upakovka'; a free one if that is taken."""
    latin = "".join(_TRANSLIT.get(ch, ch) for ch in title.lower())
    code = re.sub(r"_+", "_", re.sub(r"[^a-z0-9]", "_", latin)).strip("_")
    if not code:
        code = "cause"
    elif not code[0].isalpha():
        code = "c_" + code
    code = code[:CODE_MAX].rstrip("_")
    candidate, number = code, 2
    while candidate in taken:
        suffix = f"_{number}"
        candidate, number = code[: CODE_MAX - len(suffix)] + suffix, number + 1
    return candidate


def parse_priority(word: str) -> str:
    key = " ".join(word.split()).lower()
    if key in PRIORITIES:
        return key
    names = {priority_name(p).lower(): p for p in PRIORITIES}
    priority = PRIORITY_WORDS.get(key) or names.get(key)
    if priority is None:
        raise InvalidInput(
            "priority", "unknown_value", allowed=[priority_name(p) for p in PRIORITIES]
        )
    return priority


def parse_days(text: str) -> int:
    value = text.strip().lower().rstrip(".").removesuffix("d").removesuffix("дн").strip()
    if not re.fullmatch(r"-?\d{1,6}", value):
        raise InvalidInput("sla_days", "not_a_number")
    days = int(value)
    if not 0 < days <= claims.SLA_MAX_DAYS:
        raise InvalidInput("sla_days", "out_of_range", min=1, max=claims.SLA_MAX_DAYS)
    return days


async def settings_screen(uow: UnitOfWork) -> tuple[str, InlineKeyboardMarkup]:
    causes = await claims.list_causes(uow)
    sla = await claims.sla_days(uow)
    lines = [_("<b>Claim settings</b>"), "", _("<b>Causes</b>")]
    lines += [f"• {h(cause_name(c.code, c.title))}" for c in as_read(causes)]
    lines += ["", _("<b>SLA</b>, days to resolve a claim:")]
    for priority in reversed(PRIORITIES):
        lines.append(f"{PRIORITY_ICONS[priority]} {priority_name(priority)}: {sla[priority]}")
    lines += ["", usage_text()]
    kb = InlineKeyboardBuilder()
    kb.row(button(_("➕ Add a cause"), ClaimSetCb(action="cause")))
    kb.row(
        button(_("✏ Rename a cause"), ClaimSetCb(action="renpick")),
        button(_("🗑 Remove a cause"), ClaimSetCb(action="rmpick")),
    )
    sla_buttons = [
        button(
            _("{icon} {priority}: {days} d.").format(
                icon=PRIORITY_ICONS[p], priority=priority_name(p), days=sla[p]
            ),
            ClaimSetCb(action="sla", prio=p),
        )
        for p in reversed(PRIORITIES)
    ]
    kb.row(*sla_buttons[:2])
    kb.row(*sla_buttons[2:])
    return "\n".join(lines), kb.as_markup()


async def add_cause(uow: UnitOfWork, actor: Actor, text: str) -> str:
    """'Packaging' or 'code; Packaging'; the title of the added cause."""
    require_role(actor, Role.DIRECTOR, entity="claim_causes")
    parts = [part.strip() for part in text.split(";")]
    if len(parts) > 2:
        raise InvalidInput("title", "invalid")
    title = validation.text("title", parts[-1], max_len=validation.SHORT_MAX)
    causes = await claims.list_causes(uow)
    if title.casefold() in {cause_name(c.code, c.title).casefold() for c in causes} | {
        c.title.casefold() for c in causes
    }:
        raise Conflict("duplicate", field="title", value=title)
    code = parts[0] if len(parts) == 2 else code_from(title, {c.code for c in causes})
    cause = await claims.add_cause(uow, actor, code, title)
    return cause.title


async def rename_cause(uow: UnitOfWork, actor: Actor, code: str, text: str) -> str:
    """The note after renaming the cause `code` to `text`."""
    require_role(actor, Role.DIRECTOR, entity="claim_causes")
    title = validation.text("title", text, max_len=validation.SHORT_MAX)
    causes = await claims.list_causes(uow)
    old = next((c for c in causes if c.code == code), None)
    if old is None:
        raise InvalidInput("cause", "not_found")
    label = cause_name(old.code, old.title)
    taken = {
        name.casefold()
        for c in causes
        if c.code != code
        for name in (cause_name(c.code, c.title), c.title)
    }
    if title.casefold() in taken:
        raise InvalidInput("title", "duplicate")
    await claims.rename_cause(uow, actor, code, title)
    return _("Cause «{old}» renamed to «{new}»; its claims keep it.").format(
        old=h(label), new=h(title)
    )


def in_use_text(title: str, count: int) -> str:
    return _(
        "Claims with the cause «{title}»: {count}. A cause that claims use is not removed, "
        "so that they keep it; rename it instead if its name is wrong."
    ).format(title=h(title), count=count)


def builtin_text(title: str) -> str:
    return _("«{title}» is a built-in cause: it cannot be removed, but you can rename it.").format(
        title=h(title)
    )


async def remove_cause(uow: UnitOfWork, actor: Actor, cause: ClaimCause) -> str:
    """The note after removing the cause, or the reason why it stays."""
    label = cause_name(cause.code, cause.title)
    try:
        await claims.remove_cause(uow, actor, cause.code)
    except Conflict as err:
        if err.reason == "cause_in_use":
            return in_use_text(label, int(err.params.get("count", 0)))
        if err.reason == "cause_builtin":
            return builtin_text(label)
        raise
    return _("Cause «{title}» removed.").format(title=h(label))


def causes_markup(causes: list[ClaimCause], action: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for cause in as_read(causes):
        kb.button(
            text=short(cause_name(cause.code, cause.title), 40),
            callback_data=ClaimSetCb(action=action, code=cause.code),
        )
    kb.adjust(2)
    kb.row(*nav_markup().inline_keyboard[0])
    return kb.as_markup()


async def chosen_cause(uow: UnitOfWork, code: str) -> ClaimCause:
    cause = next((c for c in await claims.list_causes(uow) if c.code == code), None)
    if cause is None:
        raise InvalidInput("cause", "not_found")
    return cause


async def show_settings(target: Message | CallbackQuery, uow: UnitOfWork, note: str = "") -> None:
    text, markup = await settings_screen(uow)
    await show(target, (note + "\n\n" if note else "") + text, markup)


def nav_markup() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_("« Back"), ClaimSetCb(action="show")),
                button(_("Cancel"), ClaimSetCb(action="cancel")),
            ]
        ]
    )


def days_markup(priority: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    buttons = [
        button(str(d), ClaimSetCb(action="days", prio=priority, days=d)) for d in DAY_CHOICES
    ]
    kb.row(*buttons[:5])
    kb.row(*buttons[5:])
    kb.row(*nav_markup().inline_keyboard[0])
    return kb.as_markup()


async def set_sla(uow: UnitOfWork, actor: Actor, priority: str, days: int) -> str:
    await claims.set_sla_days(uow, actor, {priority: days})
    return _("SLA of {priority} claims: {days} d.").format(
        priority=priority_name(priority), days=days
    )
