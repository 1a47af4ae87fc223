"""/tasks: the open tasks, paged, each with a Done button; undoing a reminder just set."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.services import tasks
from crm.services.tasks import TaskLine
from crm.uow import UnitOfWork
from handlers.tasks.callbacks import TaskCb
from handlers.tasks.today import task_line, today_view
from handlers.ui import PAGE, button, h, markup, pager_row, short, show


def render_list(
    actor: Actor, lines: list[TaskLine], total: int, offset: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    if not total:
        return _("No open tasks. Set a reminder with /remind."), markup([])
    text = [_("<b>Open tasks</b> ({count})").format(count=total)]
    rows: list[list[InlineKeyboardButton]] = []
    for number, line in enumerate(lines, offset + 1):
        mark = "" if line.task.assignee_id == actor.id else " 👥"
        text.append(f"{number}. {task_line(actor, line, True)}{mark}")
        rows.append(
            [
                button(
                    f"✅ {number}. {short(line.task.title, 40)}",
                    TaskCb(action="done", task_id=line.task.id, offset=offset),
                )
            ]
        )
    rows.append(pager_row(TaskCb, offset, total, action="page"))
    return "\n".join(text), markup(rows)


async def task_list(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    lines, total = await tasks.list_open(uow, actor, 0, PAGE)
    text, keyboard = render_list(actor, lines, total, 0)
    await message.answer(text, reply_markup=keyboard)


async def task_page(
    callback: CallbackQuery, callback_data: TaskCb, uow: UnitOfWork, actor: Actor
) -> None:
    offset = max(0, callback_data.offset)
    lines, total = await tasks.list_open(uow, actor, offset, PAGE)
    if not lines and offset:
        offset = max(0, (total - 1) // PAGE * PAGE)
        lines, total = await tasks.list_open(uow, actor, offset, PAGE)
    await show(callback, *render_list(actor, lines, total, offset))
    await callback.answer()


async def done_from_list(
    callback: CallbackQuery, callback_data: TaskCb, uow: UnitOfWork, actor: Actor
) -> None:
    task = await tasks.complete(uow, actor, callback_data.task_id)
    if callback_data.view == "d":
        text, keyboard = await today_view(uow, actor)
    else:
        offset = max(0, callback_data.offset)
        lines, total = await tasks.list_open(uow, actor, offset, PAGE)
        if not lines and offset:
            offset = max(0, offset - PAGE)
            lines, total = await tasks.list_open(uow, actor, offset, PAGE)
        text, keyboard = render_list(actor, lines, total, offset)
    await show(callback, text, keyboard)
    await callback.answer(_("Done: {title}").format(title=short(task.title, 150)))


async def undo_reminder(
    callback: CallbackQuery, callback_data: TaskCb, uow: UnitOfWork, actor: Actor
) -> None:
    task = await tasks.cancel(uow, actor, callback_data.task_id)
    text = _("Reminder cancelled: {title}").format(title=f"<b>{h(task.title)}</b>")
    await show(callback, text)
    await callback.answer()


def setup() -> Router:
    router = Router(name="tasks.listing")
    router.message.register(task_list, Command("tasks"))
    router.callback_query.register(task_page, TaskCb.filter(F.action == "page"))
    router.callback_query.register(done_from_list, TaskCb.filter(F.action == "done"))
    router.callback_query.register(undo_reminder, TaskCb.filter(F.action == "undo"))
    return router
