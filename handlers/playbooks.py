"""/playbook (directors): the typical plans of work that new deals, claims and events get.

`/playbook` lists the playbooks of one kind (the default marked ⭐), each a button to its
card: make it the default, change its steps, delete it (after a confirmation).
`/playbook deal; New client; call +1; send offer +3; follow up +7` creates one at once;
"➕ New playbook" asks step by step: kind, name, steps one per message, confirm. A step
is "title +N" (N days after the start; without +N, day 0). The first playbook of a kind
becomes its default. Others get a polite refusal; the service checks the role again.
"""

from __future__ import annotations

import re
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import N_
from crm import validation
from crm.access import Actor, require_role
from crm.errors import InvalidInput
from crm.models import Playbook
from crm.models.enums import PlaybookKind, Role
from crm.services import playbooks
from crm.services.playbooks import PlaybookInput
from crm.uow import UnitOfWork
from handlers.dialog import Wizard, stale
from handlers.ui import PAGE, button, h, pager_row, short, show
from handlers.words import PLAYBOOK_KINDS, label

router = Router(name="playbooks")

KINDS = [k.value for k in PlaybookKind]
# the words a one-line /playbook accepts for its kind
KIND_WORDS: dict[str, str] = {
    **{word: "deal" for word in ("deal", "deals", "сделка", "сделки", "сделок")},
    **{word: "claim" for word in ("claim", "claims", "претензия", "претензии", "претензий")},
    **{word: "event" for word in ("event", "events", "мероприятие", "мероприятия")},
}
DEFAULT_NOTES: dict[str, str] = {
    PlaybookKind.DEAL: N_("⭐ The default: every new deal gets its tasks."),
    PlaybookKind.CLAIM: N_("⭐ The default: every new claim gets its tasks as its plan."),
    PlaybookKind.EVENT: N_("⭐ The default: every new event gets its tasks."),
}
NO_DEFAULT_NOTES: dict[str, str] = {
    PlaybookKind.DEAL: N_("No default yet: new deals get no tasks."),
    PlaybookKind.CLAIM: N_("No default yet: new claims get the built-in plan."),
    PlaybookKind.EVENT: N_("No default yet: new events get no tasks."),
}
BUTTON_NAME = 40
# "title +N" (also "+N d", "+N дня"): the offset is the last "+token" after a space
STEP = re.compile(
    r"^(?P<title>.*?)(?:^|\s)\+\s*(?P<days>[^\s+]+?)\s*"
    r"(?P<unit>d|days?|д|дн|день|дня|дней)?\.?\s*$",
    re.IGNORECASE | re.DOTALL,
)


class PlaybookCb(CallbackData, prefix="pb"):
    action: str  # show | default | delete | really | steps
    id: int


class PlaybookListCb(CallbackData, prefix="pbl"):
    kind: str = "deal"
    offset: int = 0


class PlaybookFormCb(CallbackData, prefix="pbf"):
    action: str  # new | kind | done | undo | create | default | save | back | cancel
    value: str = ""


class PlaybookForm(StatesGroup):
    kind = State()
    name = State()
    steps = State()
    confirm = State()


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


async def list_page(uow: UnitOfWork, kind: str, offset: int) -> tuple[str, InlineKeyboardMarkup]:
    if kind not in KINDS:
        kind = PlaybookKind.DEAL.value
    items = await playbooks.list_playbooks(uow, kind)  # a handful per kind: paged here
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
        default = not any(p.is_default for p in await playbooks.list_playbooks(uow, kind))
    return await playbooks.create(uow, actor, PlaybookInput(name, kind, list(steps), default))


@router.message(Command("playbook"))
async def playbook_command(
    message: Message, command: CommandObject, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await state.clear()
    if not actor.is_director:
        await message.answer(only_directors_text())
        return
    if not command.args:
        text, markup = await list_page(uow, PlaybookKind.DEAL.value, 0)
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


@router.callback_query(PlaybookListCb.filter())
async def page(
    callback: CallbackQuery, callback_data: PlaybookListCb, uow: UnitOfWork, actor: Actor
) -> None:
    require_role(actor, Role.DIRECTOR, entity="playbook")
    text, markup = await list_page(uow, callback_data.kind, callback_data.offset)
    await show(callback, text, markup)
    await callback.answer()


@router.callback_query(PlaybookCb.filter(F.action == "show"))
async def show_card(
    callback: CallbackQuery, callback_data: PlaybookCb, uow: UnitOfWork, actor: Actor
) -> None:
    require_role(actor, Role.DIRECTOR, entity="playbook")
    text, markup = render_card(await playbooks.get(uow, callback_data.id))
    await show(callback, text, markup)
    await callback.answer()


@router.callback_query(PlaybookCb.filter(F.action == "default"))
async def make_default(
    callback: CallbackQuery, callback_data: PlaybookCb, uow: UnitOfWork, actor: Actor
) -> None:
    await playbooks.set_default(uow, actor, callback_data.id)
    text, markup = render_card(await playbooks.get(uow, callback_data.id))
    await show(callback, text, markup)
    await callback.answer(_("It is the default now."))


@router.callback_query(PlaybookCb.filter(F.action == "delete"))
async def ask_delete(
    callback: CallbackQuery, callback_data: PlaybookCb, uow: UnitOfWork, actor: Actor
) -> None:
    require_role(actor, Role.DIRECTOR, entity="playbook")
    playbook = await playbooks.get(uow, callback_data.id)
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


@router.callback_query(PlaybookCb.filter(F.action == "really"))
async def delete(
    callback: CallbackQuery, callback_data: PlaybookCb, uow: UnitOfWork, actor: Actor
) -> None:
    require_role(actor, Role.DIRECTOR, entity="playbook")
    kind = (await playbooks.get(uow, callback_data.id)).kind
    await playbooks.delete(uow, actor, callback_data.id)
    text, markup = await list_page(uow, kind, 0)
    await show(callback, text, markup)
    await callback.answer(_("Deleted."))


@router.callback_query(PlaybookCb.filter(F.action == "steps"))
async def edit_steps(
    callback: CallbackQuery,
    callback_data: PlaybookCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    require_role(actor, Role.DIRECTOR, entity="playbook")
    playbook = await playbooks.get(uow, callback_data.id)
    data = {
        "edit": playbook.id,
        "kind": playbook.kind,
        "name": playbook.name,
        "old": [[s.title, s.offset_days] for s in playbook.steps],
        "steps": [],
    }
    await ask(callback, state, data)
    await callback.answer()


# --- the dialog -----------------------------------------------------------------------------


def step_of(data: dict[str, Any]) -> str:
    if "kind" not in data:
        return "kind"
    if "name" not in data:
        return "name"
    if not data.get("steps_done"):
        return "steps"
    return "confirm"


DIALOG = Wizard(
    steps={
        "kind": PlaybookForm.kind,
        "name": PlaybookForm.name,
        "steps": PlaybookForm.steps,
        "confirm": PlaybookForm.confirm,
    },
    step_of=step_of,
    back_drops={"name": ("kind",), "steps": ("name",), "confirm": ("steps_done",)},
    nav=PlaybookFormCb,
    restart="/playbook",
)


def draft(data: dict[str, Any]) -> list[str]:
    if data.get("edit"):
        lines = [_("<b>Playbook «{name}»: new steps</b>").format(name=h(data["name"]))]
        lines += [_("Now:"), *step_lines(data.get("old", []))]
        if data.get("steps"):
            lines += [_("New steps:"), *step_lines(data["steps"])]
        return lines
    lines = [_("<b>New playbook</b>")]
    if "kind" in data:
        lines.append(_("Kind: {kind}").format(kind=kind_name(data["kind"])))
    if "name" in data:
        lines.append(_("Name: {name}").format(name=h(data["name"])))
    if data.get("steps"):
        lines += [_("Steps:"), *step_lines(data["steps"])]
    return lines


def prompt(data: dict[str, Any]) -> tuple[str, InlineKeyboardMarkup]:
    step = step_of(data)
    kb = InlineKeyboardBuilder()
    editing = bool(data.get("edit"))
    if step == "kind":
        kb.row(*[button(kind_name(k), PlaybookFormCb(action="kind", value=k)) for k in KINDS])
        kb.row(*DIALOG.nav_buttons(back=False))
        return _("<b>New playbook</b>\nWhat is it for?"), kb.as_markup()
    if step == "name":
        question = _("The name of the playbook? E.g. “New client”.")
    elif step == "steps":
        question = _(
            "Type a step, e.g. <code>Call +1</code>: “+N” is the day after the start, "
            "without it the step is due at once. One step per message (or one per line), "
            "then press Done."
        )
        if data.get("steps"):
            kb.row(
                button(_("Done"), PlaybookFormCb(action="done")),
                button(_("↩ Remove the last step"), PlaybookFormCb(action="undo")),
            )
    elif editing:
        question = _("Replace the steps with these?")
        kb.row(button(_("✅ Save"), PlaybookFormCb(action="save")))
    else:
        question = _("Create this playbook?")
        kb.row(
            button(_("✅ Create"), PlaybookFormCb(action="create")),
            button(_("⭐ Create as the default"), PlaybookFormCb(action="default")),
        )
    kb.row(*DIALOG.nav_buttons(back=not (editing and step == "steps")))
    return "\n".join(draft(data)) + "\n\n" + question, kb.as_markup()


async def ask(target: Message | CallbackQuery, state: FSMContext, data: dict[str, Any]) -> None:
    await DIALOG.save(state, data)
    text, markup = prompt(data)
    await show(target, text, markup)


@router.message(PlaybookForm.name, F.text, ~F.text.startswith("/"))
async def typed_name(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    data["name"] = validation.text("name", message.text)
    await ask(message, state, data)


@router.message(PlaybookForm.steps, F.text, ~F.text.startswith("/"))
async def typed_steps(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    known = [tuple(s) for s in data.get("steps", [])]
    new = [parse_step(line) for line in (message.text or "").splitlines() if line.strip()]
    cleaned = playbooks.clean_steps([*known, *new])  # a bad step: nothing is added
    data["steps"] = [[s["title"], s["offset_days"]] for s in cleaned]
    await ask(message, state, data)


@router.callback_query(PlaybookFormCb.filter())
async def dialog_button(
    callback: CallbackQuery,
    callback_data: PlaybookFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    action, value = callback_data.action, callback_data.value
    if action == "new":
        require_role(actor, Role.DIRECTOR, entity="playbook")
        await ask(callback, state, {})
        await callback.answer()
        return
    data = await DIALOG.pressed(callback, action, state)
    if data is None:
        return
    step = step_of(data)
    if action == "back" and step != "kind":
        await ask(callback, state, DIALOG.back(data))
    elif action == "kind" and step == "kind" and value in KINDS:
        data["kind"] = value
        await ask(callback, state, data)
    elif action == "undo" and step == "steps" and data.get("steps"):
        data["steps"].pop()
        await ask(callback, state, data)
    elif action == "done" and step == "steps":
        if not data.get("steps"):
            raise InvalidInput("steps", "empty")
        data["steps_done"] = True
        await ask(callback, state, data)
    elif action in ("create", "default") and step == "confirm" and not data.get("edit"):
        steps = [(title, days) for title, days in data["steps"]]
        made = await create(
            uow, actor, data["kind"], data["name"], steps, default=action == "default"
        )
        await state.clear()
        text, markup = render_card(made)
        await show(callback, text, markup)
    elif action == "save" and step == "confirm" and data.get("edit"):
        steps = [(title, days) for title, days in data["steps"]]
        updated = await playbooks.update_steps(uow, actor, int(data["edit"]), steps)
        await state.clear()
        text, markup = render_card(updated)
        await show(callback, text, markup)
    else:
        await stale(callback)
        return
    await callback.answer()
