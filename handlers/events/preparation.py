"""📋 The preparation tasks of an event, each open one with a Done button."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.errors import InvalidInput
from crm.models.enums import TaskStatus
from crm.services import events, tasks
from crm.services.events import EventView
from crm.uow import UnitOfWork
from handlers.events.callbacks import BUTTON_TITLE, TASKS_SHOWN, EventCb
from handlers.ui import PAGE, button, h, short, show
from handlers.words import (
    TASK_MARKS,
    local_time,
)


def tasks_text(actor: Actor, view: EventView) -> tuple[str, InlineKeyboardMarkup]:
    lines = [f"📅 <b>{h(view.event.title)}</b>", _("<b>Preparation tasks</b>")]
    for task in view.plan[:TASKS_SHOWN]:
        lines.append(
            f"{TASK_MARKS.get(task.status, '·')} {h(task.title)} — {local_time(actor, task.due_at)}"
        )
    if len(view.plan) > TASKS_SHOWN:
        lines.append(_("…and {count} more").format(count=len(view.plan) - TASKS_SHOWN))
    if not view.plan:
        lines.append(_("No preparation tasks."))
    kb = InlineKeyboardBuilder()
    for task in [t for t in view.plan if t.status == TaskStatus.OPEN][:PAGE]:
        kb.row(
            button(
                "✔ " + short(task.title, BUTTON_TITLE),
                EventCb(action="done", event_id=view.event.id, value=str(task.id)),
            )
        )
    kb.row(button(_("« Back"), EventCb(action="show", event_id=view.event.id)))
    return "\n".join(lines), kb.as_markup()


async def show_tasks(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = tasks_text(actor, await events.get(uow, actor, callback_data.event_id))
    await show(callback, text, markup)
    await callback.answer()


async def task_done(
    callback: CallbackQuery, callback_data: EventCb, uow: UnitOfWork, actor: Actor
) -> None:
    view = await events.get(uow, actor, callback_data.event_id)
    plan = {str(t.id): t for t in view.plan}
    if callback_data.value not in plan:
        raise InvalidInput("task", "not_found")
    await tasks.complete(uow, actor, plan[callback_data.value].id)
    text, markup = tasks_text(actor, await events.get(uow, actor, view.event.id))
    await show(callback, text, markup)
    await callback.answer(_("Done."))


def setup() -> Router:
    router = Router(name="events.preparation")
    router.callback_query.register(show_tasks, EventCb.filter(F.action == "tasks"))
    router.callback_query.register(task_done, EventCb.filter(F.action == "done"))
    return router
