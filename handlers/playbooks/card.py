"""/playbook (directors): the playbooks of one kind (the default marked ⭐), each a
button to its card: make it the default, delete it (after a confirmation).

`/playbook deal; New client; call +1; send offer +3; follow up +7` creates one at once.
A step is "title +N" (N days after the start; without +N, day 0). The first playbook
of a kind becomes its default. Who may is `playbooks.may_manage`: others get a polite
refusal, and the service refuses whatever a crafted button asks.
"""

from __future__ import annotations

import re
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm import validation
from crm.access import Actor
from crm.errors import InvalidInput
from crm.models import Playbook
from crm.models.enums import PlaybookKind
from crm.services import playbooks
from crm.services.playbooks import PlaybookInput
from crm.uow import UnitOfWork
from handlers.playbooks.callbacks import PlaybookCb, PlaybookFormCb, PlaybookListCb
from handlers.ui import PAGE, button, h, pager_row, short, show
from handlers.words import N_, PLAYBOOK_KINDS, label

KINDS = [k.value for k in PlaybookKind]
# the words a one-line /playbook accepts for its kind
KIND_WORDS: dict[str, str] = {
    **{word: "deal" for word in ("deal", "deals", "сделка", "сделки", "сделок")},
    **{word: "claim" for word in ("claim", "claims", "претензия", "претензии", "претензий")},
    **{word: "event" for word in ("event", "events", "мероприятие", "мероприятия")},
    **{word: "reply" for word in ("reply", "replies", "ответ", "ответы")},
}
DEFAULT_NOTES: dict[str, str] = {
    PlaybookKind.DEAL: N_("⭐ The default: every new deal gets its tasks."),
    PlaybookKind.CLAIM: N_("⭐ The default: every new claim gets its tasks as its plan."),
    PlaybookKind.EVENT: N_("⭐ The default: every new event gets its tasks."),
    PlaybookKind.REPLY: N_("⭐ The default: its texts come first under 💬 Write in Telegram."),
}
NO_DEFAULT_NOTES: dict[str, str] = {
    PlaybookKind.DEAL: N_("No default yet: new deals get no tasks."),
    PlaybookKind.CLAIM: N_("No default yet: new claims get the built-in plan."),
    PlaybookKind.EVENT: N_("No default yet: new events get no tasks."),
    PlaybookKind.REPLY: N_(
        "Its steps are texts to send clients: 💬 Write in Telegram on a card offers them."
    ),
}
BUTTON_NAME = 40
# "title +N" (also "+N d", "+N дня"): the offset is the last "+token" after a space
STEP = re.compile(
    r"^(?P<title>.*?)(?:^|\s)\+\s*(?P<days>[^\s+]+?)\s*"
    r"(?P<unit>d|days?|д|дн|день|дня|дней)?\.?\s*$",
    re.IGNORECASE | re.DOTALL,
)


def kind_name(kind: str) -> str:
    return label(PLAYBOOK_KINDS, kind)


def only_directors_text() -> str:
    return _("Only a director can set up playbooks.")


def usage_text() -> str:
    return _(
        "Write <code>/playbook deal; New client; call +1; send offer +3; follow up +7</code> "
        "(kind: deal, claim or event; the name; the steps, “+N” is the day), "
        "or just /playbook to see the playbooks and create one step by step."
    )


# --- parsing ----------------------------------------------------------------------------------


def parse_kind(word: str) -> str:
    kind = KIND_WORDS.get(" ".join(word.split()).lower())
    if kind is None:
        raise InvalidInput("kind", "unknown_value", allowed=[kind_name(k) for k in KINDS])
    return kind


def parse_step(text: str) -> tuple[str, int]:
    """'call +1' -> ('call', 1); 'call' -> ('call', 0); 'call +x' -> the offset is no number."""
    match = STEP.match(text.strip())
    if match is None:
        return text, 0
    days = match["days"]
    if not re.fullmatch(r"-?\d+", days):
        raise InvalidInput("offset_days", "not_a_number")
    if len(days) > 6:
        raise InvalidInput("offset_days", "out_of_range", min=0, max=playbooks.MAX_OFFSET_DAYS)
    return match["title"], int(days)


def parse_steps(parts: list[str]) -> list[tuple[str, int]]:
    """Steps checked as the service checks them (nothing is written on a bad one)."""
    steps = [parse_step(part) for part in parts if part.strip()]
    cleaned = playbooks.clean_steps(steps)
    return [(s["title"], s["offset_days"]) for s in cleaned]


# --- rendering ------------------------------------------------------------------------------


def step_lines(steps: list[tuple[str, int]] | list[list[Any]]) -> list[str]:
    lines = []
    for number, (title, days) in enumerate(steps, 1):
        when = _("at once") if not days else _("in {days} d.").format(days=days)
        lines.append(f"{number}. {h(title)} — {when}")
    return lines


def render_card(playbook: Playbook) -> tuple[str, InlineKeyboardMarkup]:
    lines = [
        _("<b>Playbook «{name}»</b>").format(name=h(playbook.name)),
        _("Kind: {kind}").format(kind=kind_name(playbook.kind)),
        _(DEFAULT_NOTES[playbook.kind]) if playbook.is_default else _("Not the default."),
        "",
        _("<b>Steps</b> (days from the start):"),
        *step_lines([(s.title, s.offset_days) for s in playbook.steps]),
    ]
    kb = InlineKeyboardBuilder()
    if not playbook.is_default:
        kb.row(button(_("⭐ Make default"), PlaybookCb(action="default", id=playbook.id)))
    kb.row(
        button(_("✏ Steps"), PlaybookCb(action="steps", id=playbook.id)),
        button(_("🗑 Delete"), PlaybookCb(action="delete", id=playbook.id)),
    )
    kb.row(button(_("« Playbooks"), PlaybookListCb(kind=playbook.kind)))
    return "\n".join(lines), kb.as_markup()


async def list_page(
    uow: UnitOfWork, actor: Actor, kind: str, offset: int
) -> tuple[str, InlineKeyboardMarkup]:
    if kind not in KINDS:
        kind = PlaybookKind.DEAL.value
    items = await playbooks.list_playbooks(uow, actor, kind)  # a handful per kind: paged here
    total = len(items)
    offset = min(max(0, offset), max(0, total - 1) // PAGE * PAGE)
    has_default = any(p.is_default for p in items)
    lines = [
        _("<b>Playbooks</b> · {kind}").format(kind=kind_name(kind)),
        _(DEFAULT_NOTES[kind]) if has_default else _(NO_DEFAULT_NOTES[kind]),
        _("Found: {count}").format(count=total),
    ]
    if not total:
        lines += ["", _("No playbooks of this kind yet: press ➕ New playbook.")]
    lines += ["", usage_text()]
    kb = InlineKeyboardBuilder()
    for playbook in items[offset : offset + PAGE]:
        mark = "⭐ " if playbook.is_default else ""
        kb.row(
            button(
                _("{mark}{name} · steps: {count}").format(
                    mark=mark, name=short(playbook.name, BUTTON_NAME), count=len(playbook.steps)
                ),
                PlaybookCb(action="show", id=playbook.id),
            )
        )
    pager = pager_row(PlaybookListCb, offset, total, kind=kind)
    if pager:
        kb.row(*pager)
    kb.row(
        *[
            button(("• " if k == kind else "") + kind_name(k), PlaybookListCb(kind=k, offset=0))
            for k in KINDS
        ]
    )
    kb.row(button(_("➕ New playbook"), PlaybookFormCb(action="new")))
    return "\n".join(lines), kb.as_markup()


# --- /playbook, the list and the card ---------------------------------------------------------


async def create(
    uow: UnitOfWork,
    actor: Actor,
    kind: str,
    name: str,
    steps: list[tuple[str, int]],
    *,
    default: bool = False,
) -> Playbook:
    """Create; the first playbook of a kind becomes its default."""
    if not default:
        default = not any(p.is_default for p in await playbooks.list_playbooks(uow, actor, kind))
    return await playbooks.create(uow, actor, PlaybookInput(name, kind, list(steps), default))


async def playbook_command(
    message: Message, command: CommandObject, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await state.clear()
    if not playbooks.may_manage(actor):
        await message.answer(only_directors_text())
        return
    if not command.args:
        text, markup = await list_page(uow, actor, PlaybookKind.DEAL.value, 0)
        await message.answer(text, reply_markup=markup)
        return
    parts = [part.strip() for part in command.args.split(";")]
    if len(parts) < 2:
        await message.answer(usage_text())
        return
    kind = parse_kind(parts[0])
    name = validation.text("name", parts[1])
    steps = parse_steps(parts[2:])
    made = await create(uow, actor, kind, name, steps)
    text, markup = render_card(made)
    await message.answer(text, reply_markup=markup)


async def page(
    callback: CallbackQuery, callback_data: PlaybookListCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = await list_page(uow, actor, callback_data.kind, callback_data.offset)
    await show(callback, text, markup)
    await callback.answer()


async def show_card(
    callback: CallbackQuery, callback_data: PlaybookCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = render_card(await playbooks.get(uow, actor, callback_data.id))
    await show(callback, text, markup)
    await callback.answer()


async def make_default(
    callback: CallbackQuery, callback_data: PlaybookCb, uow: UnitOfWork, actor: Actor
) -> None:
    await playbooks.set_default(uow, actor, callback_data.id)
    text, markup = render_card(await playbooks.get(uow, actor, callback_data.id))
    await show(callback, text, markup)
    await callback.answer(_("It is the default now."))


async def ask_delete(
    callback: CallbackQuery, callback_data: PlaybookCb, uow: UnitOfWork, actor: Actor
) -> None:
    playbook = await playbooks.get(uow, actor, callback_data.id)
    kb = InlineKeyboardBuilder()
    kb.row(
        button(_("🗑 Yes, delete"), PlaybookCb(action="really", id=playbook.id)),
        button(_("« Back"), PlaybookCb(action="show", id=playbook.id)),
    )
    await show(
        callback,
        _("Delete the playbook «{name}»? The tasks it has already created stay.").format(
            name=h(playbook.name)
        ),
        kb.as_markup(),
    )
    await callback.answer()


async def delete(
    callback: CallbackQuery, callback_data: PlaybookCb, uow: UnitOfWork, actor: Actor
) -> None:
    kind = (await playbooks.get(uow, actor, callback_data.id)).kind
    await playbooks.delete(uow, actor, callback_data.id)
    text, markup = await list_page(uow, actor, kind, 0)
    await show(callback, text, markup)
    await callback.answer(_("Deleted."))


def setup() -> Router:
    router = Router(name="playbooks.card")
    router.message.register(playbook_command, Command("playbook"))
    router.callback_query.register(page, PlaybookListCb.filter())
    router.callback_query.register(show_card, PlaybookCb.filter(F.action == "show"))
    router.callback_query.register(make_default, PlaybookCb.filter(F.action == "default"))
    router.callback_query.register(ask_delete, PlaybookCb.filter(F.action == "delete"))
    router.callback_query.register(delete, PlaybookCb.filter(F.action == "really"))
    return router
