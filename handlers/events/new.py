"""➕ New event: title → when → place, with Back and Cancel at every step."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm import validation
from crm.access import Actor
from crm.errors import InvalidInput
from crm.services import events
from crm.services.events import EventInput
from crm.uow import UnitOfWork
from handlers.dialog import Wizard, ask_when_again, read_when, stale
from handlers.errors import describe
from handlers.events.callbacks import EventCb, EventFormCb
from handlers.events.card import render_card
from handlers.ui import button, h, markup, show
from handlers.words import (
    local_time,
)

TYPED_PLACE = "typed_place"


class EventForm(StatesGroup):
    title = State()
    when = State()
    place = State()


DIALOG = Wizard.linear(
    [
        ("title", EventForm.title, ("title",)),
        ("when", EventForm.when, ("starts_at",)),
        ("place", EventForm.place, ()),
    ],
    nav=EventFormCb,
    restart="/event",
)


def form_markup(step: str) -> InlineKeyboardMarkup:
    rows = [[button(_("Skip"), EventFormCb(action="skip"))]] if step == "place" else []
    return markup([*rows, DIALOG.nav_buttons(back=step != "title")])


def examples() -> str:
    return _("For example: 25.04 15:00, tomorrow 10:00, next friday 18:00.")


def question(actor: Actor, data: Mapping[str, Any]) -> str:
    step = DIALOG.step_of(data)
    if step == "title":
        return _("New event. What is its title?")
    lines = [_("Event: {title}").format(title=f"<b>{h(data['title'])}</b>")]
    if step == "when":
        return "\n".join([*lines, _("When does it start?"), examples()])
    starts_at = datetime.fromisoformat(data["starts_at"])
    lines.append(
        _("When: {time} ({timezone})").format(
            time=local_time(actor, starts_at), timezone=actor.timezone
        )
    )
    lines.append(_("Where will it be? Type the place, or press Skip."))
    return "\n".join(lines)


async def ask(
    target: Message | CallbackQuery, actor: Actor, state: FSMContext, data: dict[str, Any]
) -> None:
    step = await DIALOG.save(state, data)
    await show(target, question(actor, data), form_markup(step))


def ask_when_again_text(
    actor: Actor, err: InvalidInput, typed: str
) -> tuple[str, InlineKeyboardMarkup]:
    return ask_when_again(
        actor,
        err,
        typed,
        pick=lambda option: EventFormCb(action="at", value=str(int(option.timestamp()))),
        rows=[DIALOG.nav_buttons()],
        after_past=_("When does the event start?"),
        examples=examples(),
        label=local_time,
    )


async def new_event(callback: CallbackQuery, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    if isinstance(callback.message, Message):
        await ask(callback.message, actor, state, {})
    await callback.answer()


async def typed_title(message: Message, actor: Actor, state: FSMContext) -> None:
    try:
        title = validation.text("title", message.text, max_len=events.TITLE_MAX)
    except InvalidInput as err:
        await message.answer(describe(err), reply_markup=form_markup("title"))
        return
    await ask(message, actor, state, {"title": title})


async def typed_when(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    starts_at = await read_when(message, actor, partial(ask_when_again_text, actor))
    if starts_at is None:
        return
    await timed(message, uow, actor, state, await state.get_data(), starts_at)


async def timed(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
    starts_at: datetime,
) -> None:
    """The time is known: on to the place, or created at once when `/event title; when;
    place` gave the place already and only its time had to be asked again."""
    data = {**data, "starts_at": starts_at.isoformat()}
    place = data.pop(TYPED_PLACE, None)
    if place:
        await create_from_dialog(target, uow, actor, state, data, place)
    else:
        await ask(target, actor, state, data)


async def ask_time_again(
    message: Message,
    actor: Actor,
    state: FSMContext,
    err: InvalidInput,
    typed: str,
    title: str,
    place: str | None,
) -> None:
    """`/event title; when; place` whose time cannot be taken: the dialog asks for it."""
    title = validation.text("title", title, max_len=events.TITLE_MAX)
    data: dict[str, Any] = {"title": title}
    if place:
        data[TYPED_PLACE] = validation.text("place", place, max_len=events.PLACE_MAX)
    await DIALOG.save(state, data)
    text, keyboard = ask_when_again_text(actor, err, typed)
    await message.answer(text, reply_markup=keyboard)


async def create_from_dialog(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
    place: str | None,
) -> None:
    starts_at = datetime.fromisoformat(data["starts_at"])
    try:
        view = await events.create(
            uow, actor, EventInput(title=data["title"], starts_at=starts_at, place=place)
        )
    except InvalidInput as err:
        if err.field != "when":
            raise
        await DIALOG.save(state, DIALOG.back(data))  # the chosen time went by meanwhile
        await show(target, *ask_when_again_text(actor, InvalidInput("when", "past"), ""))
        return
    await state.clear()
    text, markup = render_card(actor, view)
    await show(target, _("Event created.") + "\n\n" + text, markup)


async def typed_place(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    try:
        place = validation.text("place", message.text, max_len=events.PLACE_MAX)
    except InvalidInput as err:
        await message.answer(describe(err), reply_markup=form_markup("place"))
        return
    await create_from_dialog(message, uow, actor, state, await state.get_data(), place)


async def dialog_button(
    callback: CallbackQuery,
    callback_data: EventFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    action = callback_data.action
    data = await DIALOG.pressed(callback, action, state)
    if data is None:
        return
    step = DIALOG.step_of(data)
    if action == "back" and step != "title":
        await ask(callback, actor, state, DIALOG.back(data))
    elif action == "at" and step == "when" and callback_data.value.isdigit():
        starts_at = datetime.fromtimestamp(int(callback_data.value), UTC)
        await timed(callback, uow, actor, state, data, starts_at)
    elif action == "skip" and step == "place":
        await create_from_dialog(callback, uow, actor, state, data, None)
    else:
        await stale(callback)
        return
    await callback.answer()


def setup() -> Router:
    router = Router(name="events.new")
    router.callback_query.register(new_event, EventCb.filter(F.action == "new"))
    router.message.register(typed_title, EventForm.title, F.text, ~F.text.startswith("/"))
    router.message.register(typed_when, EventForm.when, F.text, ~F.text.startswith("/"))
    router.message.register(typed_place, EventForm.place, F.text, ~F.text.startswith("/"))
    router.callback_query.register(dialog_button, EventFormCb.filter())
    return router
