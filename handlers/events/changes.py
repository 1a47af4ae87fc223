"""✏ Edit and ✖ Cancel on the event card.

Edit is a Wizard of two steps: which field (title, time, place, budget), then its new
value; `crm.services.event_changes.change` writes it and mails an update (same UID,
SEQUENCE + 1, what changed) to every invitee whose invitation has left. Cancel asks
once more, then `event_changes.cancel` sends METHOD:CANCEL to the same people. Both
buttons exist only while `event_changes.can_change` says so; the service refuses a
crafted press on an event that has started or is cancelled. Cancel in Edit goes back to
the event's card, nothing saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.errors import InvalidInput
from crm.services import event_changes, events
from crm.services.event_changes import ChangeResult, EventChanges
from crm.settings import Settings
from crm.uow import UnitOfWork
from handlers.dialog import Wizard, ask_when_again, read_when, stale
from handlers.errors import describe
from handlers.events.callbacks import EventCb
from handlers.events.card import render_card, show_card, span
from handlers.ui import button, h, markup, show
from handlers.words import local_time, money

FIELDS = ("title", "when", "place", "budget")


def typed_change(field: str, text: str) -> EventChanges:
    """The change of one field typed in the dialog: the title, the place or the budget
    ("" removes the place or the budget); a time is read by `read_when` instead."""
    return EventChanges(
        title=text if field == "title" else None,
        place=text if field == "place" else None,
        budget=text if field == "budget" else None,
    )


class EventEditCb(CallbackData, prefix="eve"):
    """action: field (value: title | when | place | budget) | at (value: epoch seconds of
    a chosen time) | clear (remove the place or the budget) | back | cancel"""

    action: str
    value: str = ""


class EventEditForm(StatesGroup):
    field = State()
    value = State()


DIALOG = Wizard.linear(
    [
        ("field", EventEditForm.field, ("field",)),
        ("value", EventEditForm.value, ()),
    ],
    nav=EventEditCb,
    restart="/event",
)


def field_names() -> dict[str, str]:
    return {
        "title": _("Title"),
        "when": _("Time"),
        "place": _("Place"),
        "budget": _("Budget"),
    }


def edit_markup(data: Mapping[str, Any]) -> InlineKeyboardMarkup:
    if DIALOG.step_of(data) == "field":
        names = field_names()
        choices = [button(names[f], EventEditCb(action="field", value=f)) for f in FIELDS]
        return markup([choices[:2], choices[2:], DIALOG.nav_buttons(back=False)])
    rows = []
    if data["field"] == "place":
        rows.append([button(_("Remove the place"), EventEditCb(action="clear"))])
    elif data["field"] == "budget":
        rows.append([button(_("Remove the budget"), EventEditCb(action="clear"))])
    return markup([*rows, DIALOG.nav_buttons()])


def question(actor: Actor, view: events.EventView, data: Mapping[str, Any]) -> str:
    event = view.event
    head = f"📅 <b>{h(event.title)}</b>"
    if DIALOG.step_of(data) == "field":
        return "\n".join([head, _("What to change?")])
    field = data["field"]
    if field == "title":
        lines = [_("Type the new title.")]
    elif field == "when":
        lines = [
            _("Now: {time} ({timezone})").format(time=span(actor, event), timezone=actor.timezone),
            _("When does it start now? The duration stays the same."),
            _("For example: 25.04 15:00, tomorrow 10:00, next friday 18:00."),
        ]
    elif field == "place":
        now = h(event.place) if event.place else "—"
        lines = [_("Now: {value}").format(value=now), _("Type the new place.")]
    else:
        now = money(event.budget) if event.budget is not None else "—"
        lines = [_("Now: {value}").format(value=now), _("Type the new budget, e.g. 45000.")]
    if field != "budget" and view.invited:
        lines.append(_("Invitees already mailed get an email saying what changed."))
    return "\n".join([head, *lines])


async def ask(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
) -> None:
    view = await events.get(uow, actor, int(data["event_id"]))
    await DIALOG.save(state, data)
    await show(target, question(actor, view, data), edit_markup(data))


def result_lines(result: ChangeResult) -> list[str]:
    if not result.changed:
        return [_("Nothing changed: that is the current value.")]
    lines = [_("Event changed.")]
    if result.updates:
        lines.append(
            _("Update emails queued to the invitees already mailed: {count}.").format(
                count=result.updates
            )
        )
    if result.invitations:
        lines.append(
            _("Invitations that had not left yet go with the new details: {count}.").format(
                count=result.invitations
            )
        )
    return lines


async def apply(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    settings: Settings,
    changes: EventChanges,
) -> None:
    """Write the change; a bad value is answered and the same question stays open."""
    data = await state.get_data()
    try:
        result = await event_changes.change(
            uow,
            actor,
            int(data["event_id"]),
            changes,
            base_url=settings.public_base_url,
            sender=settings.smtp_from,
        )
    except InvalidInput as err:
        if err.field == "when" and isinstance(target, CallbackQuery):  # the chosen time passed
            await show(target, *when_again(actor, err, ""))
        else:
            await answer(target, describe(err), edit_markup(data))
        return
    await state.clear()
    text, keyboard = render_card(actor, result.view)
    await show(target, "\n".join(result_lines(result)) + "\n\n" + text, keyboard)


async def answer(
    target: Message | CallbackQuery, text: str, keyboard: InlineKeyboardMarkup
) -> None:
    message = target if isinstance(target, Message) else target.message
    if isinstance(message, Message):
        await message.answer(text, reply_markup=keyboard)


def when_again(actor: Actor, err: InvalidInput, typed: str) -> tuple[str, InlineKeyboardMarkup]:
    return ask_when_again(
        actor,
        err,
        typed,
        pick=lambda option: EventEditCb(action="at", value=str(int(option.timestamp()))),
        rows=[DIALOG.nav_buttons()],
        after_past=_("When does the event start?"),
        examples=_("For example: 25.04 15:00, tomorrow 10:00, next friday 18:00."),
        label=local_time,
    )


# ---------------------------------------------------------------- edit


async def start_edit(
    callback: CallbackQuery,
    callback_data: EventCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    await state.clear()
    await ask(callback, uow, actor, state, {"event_id": callback_data.event_id})
    await callback.answer()


async def typed_value(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext, settings: Settings
) -> None:
    data = await state.get_data()
    field, text = data.get("field"), message.text or ""
    if field == "when":
        starts_at = await read_when(message, actor, partial(when_again, actor))
        if starts_at is not None:
            await apply(message, uow, actor, state, settings, EventChanges(starts_at=starts_at))
        return
    changes = typed_change(str(field), text) if field in FIELDS else EventChanges()
    await apply(message, uow, actor, state, settings, changes)


async def dialog_button(
    callback: CallbackQuery,
    callback_data: EventEditCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    settings: Settings,
) -> None:
    action = callback_data.action

    async def back_to_card(data: dict[str, Any]) -> None:  # Cancel: the event's card again
        await show_card(callback, uow, actor, int(data["event_id"]))

    data = await DIALOG.pressed(callback, action, state, home=back_to_card)
    if data is None:
        return
    step = DIALOG.step_of(data)
    if action == "field" and step == "field" and callback_data.value in FIELDS:
        await ask(callback, uow, actor, state, {**data, "field": callback_data.value})
    elif action == "back" and step == "value":
        await ask(callback, uow, actor, state, DIALOG.back(data))
    elif action == "at" and step == "value" and data.get("field") == "when":
        at = datetime.fromtimestamp(int(callback_data.value), UTC)
        await apply(callback, uow, actor, state, settings, EventChanges(starts_at=at))
    elif action == "clear" and step == "value" and data.get("field") in ("place", "budget"):
        changes = typed_change(str(data["field"]), "")
        await apply(callback, uow, actor, state, settings, changes)
    else:
        await stale(callback)
        return
    await callback.answer()


# ---------------------------------------------------------------- cancel


async def ask_cancel(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    view = await events.get(uow, actor, callback_data.event_id)
    told = await event_changes.to_tell(uow, actor, view.event.id)
    lines = [
        f"📅 <b>{h(view.event.title)}</b>",
        _("Cancel this event? This cannot be undone."),
        _("Cancellation emails go to the invitees already mailed: {count}.").format(count=told),
    ]
    keyboard = markup(
        [
            [
                button(
                    _("✖ Yes, cancel the event"), EventCb(action="dropok", event_id=view.event.id)
                )
            ],
            [button(_("« No, keep it"), EventCb(action="show", event_id=view.event.id))],
        ]
    )
    await show(callback, "\n".join(lines), keyboard)
    await callback.answer()


async def confirm_cancel(
    callback: CallbackQuery,
    callback_data: EventCb,
    uow: UnitOfWork,
    actor: Actor,
    settings: Settings,
) -> None:
    result = await event_changes.cancel(
        uow,
        actor,
        callback_data.event_id,
        base_url=settings.public_base_url,
        sender=settings.smtp_from,
    )
    lines = [
        _("Event cancelled. Cancellation emails queued: {count}.").format(count=result.notices)
    ]
    text, keyboard = render_card(actor, result.view)
    await show(callback, "\n".join(lines) + "\n\n" + text, keyboard)
    await callback.answer()


def setup() -> Router:
    router = Router(name="events.changes")
    router.callback_query.register(start_edit, EventCb.filter(F.action == "edit"))
    router.callback_query.register(ask_cancel, EventCb.filter(F.action == "drop"))
    router.callback_query.register(confirm_cancel, EventCb.filter(F.action == "dropok"))
    router.message.register(typed_value, EventEditForm.value, F.text, ~F.text.startswith("/"))
    router.callback_query.register(dialog_button, EventEditCb.filter())
    return router
