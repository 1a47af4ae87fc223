"""➕ New playbook and ✏ Steps: kind, name, steps one per message, confirm."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm import validation
from crm.access import Actor
from crm.errors import InvalidInput
from crm.services import playbooks
from crm.uow import UnitOfWork
from handlers.dialog import Wizard, stale
from handlers.playbooks.callbacks import PlaybookCb, PlaybookFormCb
from handlers.playbooks.card import KINDS, create, kind_name, parse_step, render_card, step_lines
from handlers.ui import button, h, show


class PlaybookForm(StatesGroup):
    kind = State()
    name = State()
    steps = State()
    confirm = State()


async def edit_steps(
    callback: CallbackQuery,
    callback_data: PlaybookCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    playbook = await playbooks.get(uow, actor, callback_data.id)
    data = {
        "edit": playbook.id,
        "kind": playbook.kind,
        "name": playbook.name,
        "old": [[s.title, s.offset_days] for s in playbook.steps],
        "steps": [],
    }
    await ask(callback, state, data)
    await callback.answer()


DIALOG = Wizard.linear(
    [
        ("kind", PlaybookForm.kind, ("kind",)),
        ("name", PlaybookForm.name, ("name",)),
        ("steps", PlaybookForm.steps, ("steps_done",)),
        ("confirm", PlaybookForm.confirm, ()),
    ],
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
    step = DIALOG.step_of(data)
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


async def typed_name(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    data["name"] = validation.text("name", message.text)
    await ask(message, state, data)


async def typed_steps(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    known = [tuple(s) for s in data.get("steps", [])]
    new = [parse_step(line) for line in (message.text or "").splitlines() if line.strip()]
    cleaned = playbooks.clean_steps([*known, *new])  # a bad step: nothing is added
    data["steps"] = [[s["title"], s["offset_days"]] for s in cleaned]
    await ask(message, state, data)


async def dialog_button(
    callback: CallbackQuery,
    callback_data: PlaybookFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    action, value = callback_data.action, callback_data.value
    if action == "new":
        playbooks.check_may_manage(actor)
        await ask(callback, state, {})
        await callback.answer()
        return
    data = await DIALOG.pressed(callback, action, state)
    if data is None:
        return
    step = DIALOG.step_of(data)
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


def setup() -> Router:
    router = Router(name="playbooks.editor")
    router.callback_query.register(edit_steps, PlaybookCb.filter(F.action == "steps"))
    router.message.register(typed_name, PlaybookForm.name, F.text, ~F.text.startswith("/"))
    router.message.register(typed_steps, PlaybookForm.steps, F.text, ~F.text.startswith("/"))
    router.callback_query.register(dialog_button, PlaybookFormCb.filter())
    return router
