"""/log step by step: who, what kind, who started it, the summary, then "When?": Just
now, or Plan for later… (then the time in words).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from crm import validation
from crm.access import Actor
from crm.errors import InvalidInput
from crm.models import utcnow
from crm.services import interactions
from crm.uow import UnitOfWork
from handlers.cards.callbacks import (
    LogCb,
    cancel_button,
)
from handlers.dialog import Wizard, ask_when_again, stale, when_examples
from handlers.interactions.callbacks import LogFormCb
from handlers.interactions.logbook import (
    find_subjects,
    log_and_report,
    nobody_found,
    parse_direction,
    parse_kind,
    subject_title,
    who_buttons,
)
from handlers.ui import button, h, markup, show
from handlers.words import INTERACTION_ICONS, INTERACTION_KINDS


class LogForm(StatesGroup):
    who = State()
    kind = State()
    direction = State()
    summary = State()
    when = State()  # Just now | Plan for later…
    when_text = State()  # the time typed in words


async def proceed(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext, data: dict[str, Any]
) -> None:
    """Everything known: log it, or ask the time again if it cannot be taken as written."""
    when_text = data.get("when_text")
    at: datetime | None = None
    if when_text:
        try:
            at = interactions.resolve_when(when_text, actor.timezone, utcnow())
        except InvalidInput as err:
            if err.field != "when":
                raise
            data = {k: v for k, v in data.items() if k not in ("when_text", "line")}
            await DIALOG.save(state, {**data, "later": True})
            text, keyboard = ask_when_again(
                actor,
                err,
                when_text,
                pick=lambda option: LogFormCb(action="at", id=int(option.timestamp())),
                rows=[[button(_("Just now"), LogFormCb(action="now"))], DIALOG.nav_buttons()],
            )
            await message.answer(text, reply_markup=keyboard)
            return
    subject = (data["subject"], int(data["id"]), data["title"])
    await log_and_report(
        message, uow, actor, subject, data["kind"], data["direction"], data.get("summary"), at
    )
    await state.clear()


DIALOG = Wizard.linear(
    [
        ("who", LogForm.who, ("subject", "id", "title")),
        ("kind", LogForm.kind, ("kind",)),
        ("direction", LogForm.direction, ("direction",)),
        ("summary", LogForm.summary, ("summary",)),
        ("when", LogForm.when, ("later",)),  # Plan for later… asks the time in words
        ("when_text", LogForm.when_text, ()),
    ],
    nav=LogFormCb,
    restart="/log",
    cancel_button=cancel_button,
)


async def ask(event: Message | CallbackQuery, state: FSMContext, data: dict[str, Any]) -> None:
    """Keep the data and ask for what is missing next."""
    step = await DIALOG.save(state, data)
    nav = DIALOG.nav_buttons()
    if step == "who":
        text = _("Who was it with? Send a part of the name of a contact or a company.")
        rows = [[cancel_button()]]
    elif step == "kind":
        text = _("{title}: what was it?").format(title=f"<b>{h(data.get('title', ''))}</b>")
        kinds = [
            button(f"{INTERACTION_ICONS[k]} {_(name)}", LogFormCb(action="kind", value=k))
            for k, name in INTERACTION_KINDS.items()
        ]
        rows = [kinds[:3], kinds[3:], nav]
    elif step == "direction":
        text = _("Who started it?")
        rows = [
            [
                button(_("⬅ Incoming (they did)"), LogFormCb(action="dir", value="in")),
                button(_("➡ Outgoing (we did)"), LogFormCb(action="dir", value="out")),
            ],
            nav,
        ]
    elif step == "summary":
        text = _("Briefly, what was it about? Send the text, or press Skip.")
        rows = [[button(_("Skip"), LogFormCb(action="skip"))], nav]
    elif step == "when":
        text = _("When? Log it as just now, or plan it for later.")
        rows = [
            [button(_("Just now"), LogFormCb(action="now"))],
            [button(_("Plan for later…"), LogFormCb(action="later"))],
            nav,
        ]
    else:
        text = _("When is it planned? Send the date and time.") + "\n" + when_examples()
        rows = [nav]
    await show(event, text, markup(rows))


async def typed_who(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    who = validation.text("name", message.text)
    hits = await find_subjects(uow, actor, who)
    if not hits:
        await message.answer(nobody_found(who), reply_markup=markup([[cancel_button()]]))
        return
    await message.answer(_("Which one?"), reply_markup=who_buttons(hits))


async def log_from_card(
    callback: CallbackQuery, callback_data: LogCb, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    title = await subject_title(uow, actor, callback_data.kind, callback_data.id)
    await state.clear()
    await callback.answer()
    assert isinstance(callback.message, Message)
    data = {"subject": callback_data.kind, "id": callback_data.id, "title": title}
    await ask(callback.message, state, data)


async def typed_summary(message: Message, state: FSMContext) -> None:
    data = await state.get_data()
    data["summary"] = validation.optional_text("summary", message.text, validation.TEXT_MAX)
    await ask(message, state, data)


async def typed_when(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = {**(await state.get_data()), "when_text": (message.text or "").strip()}
    await proceed(message, uow, actor, state, data)


async def dialog_button(
    callback: CallbackQuery,
    callback_data: LogFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    action, value = callback_data.action, callback_data.value
    data = await DIALOG.pressed(callback, action, state)
    if data is None:
        return
    step = DIALOG.step_of(data)
    if action == "back" and step != "who":
        await ask(callback, state, DIALOG.back(data))
    elif action == "who" and step == "who":
        title = await subject_title(uow, actor, value, callback_data.id)
        data.update(subject=value, id=callback_data.id, title=title)
        if data.get("line"):
            await callback.answer()
            assert isinstance(callback.message, Message)
            await proceed(callback.message, uow, actor, state, data)
            return
        await ask(callback, state, data)
    elif action == "kind" and step == "kind":
        await ask(callback, state, {**data, "kind": parse_kind(value)})
    elif action == "dir" and step == "direction":
        await ask(callback, state, {**data, "direction": parse_direction(value)})
    elif action == "skip" and step == "summary":
        await ask(callback, state, {**data, "summary": None})
    elif action == "later" and step == "when":
        await ask(callback, state, {**data, "later": True})
    elif action in ("now", "at") and step in ("when", "when_text"):
        await callback.answer()
        assert isinstance(callback.message, Message)
        at = datetime.fromtimestamp(callback_data.id, UTC) if action == "at" else None
        subject = (data["subject"], int(data["id"]), data["title"])
        await log_and_report(
            callback.message,
            uow,
            actor,
            subject,
            data["kind"],
            data["direction"],
            data.get("summary"),
            at,
        )
        await state.clear()
        return
    else:
        await stale(callback)
        return
    await callback.answer()


def setup() -> Router:
    router = Router(name="interactions.log_dialog")
    router.message.register(typed_who, LogForm.who, F.text, ~F.text.startswith("/"))
    router.callback_query.register(log_from_card, LogCb.filter())
    router.message.register(typed_summary, LogForm.summary, F.text, ~F.text.startswith("/"))
    router.message.register(typed_when, LogForm.when_text, F.text, ~F.text.startswith("/"))
    router.callback_query.register(dialog_button, LogFormCb.filter())
    return router
