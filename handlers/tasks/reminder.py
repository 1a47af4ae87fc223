"""The buttons of a reminder the bot sent: Done, Snooze, and the card it is about."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.models import Task
from crm.models.enums import TaskStatus
from crm.services import tasks
from crm.services.tasks import TaskLine
from crm.uow import UnitOfWork
from handlers.cards.callbacks import COMPANY, CONTACT, DEAL
from handlers.cards.view import CardView
from handlers.ui import button, h, markup, show
from handlers.words import local_time, moment
from notifications.reminders import ReminderRuntime, TaskAction, apply_action


def task_text(actor: Actor, line: TaskLine) -> str:
    task = line.task
    lines = [_("⏰ Reminder: {title}").format(title=f"<b>{h(task.title)}</b>")]
    if line.company_name:
        lines.append(_("Client: {company}").format(company=h(line.company_name)))
    if line.deal_title:
        lines.append(_("Deal: {deal}").format(deal=h(line.deal_title)))
    if line.event_title:
        lines.append(_("Event: {title}").format(title=h(line.event_title)))
    return "\n".join(lines)


def _open_row(task: Task) -> list[InlineKeyboardButton]:
    if task.deal_id or task.company_id or task.contact_id:
        return [button(_("Open the card"), TaskAction(action="open", task_id=task.id))]
    return []


async def open_task_card(
    callback: CallbackQuery,
    callback_data: TaskAction,
    uow: UnitOfWork,
    actor: Actor,
    card_view: CardView,
) -> None:
    task = await apply_action(uow, actor, callback_data)
    if task.deal_id:
        kind, record_id = DEAL, task.deal_id
    elif task.company_id:
        kind, record_id = COMPANY, task.company_id
    elif task.contact_id:
        kind, record_id = CONTACT, task.contact_id
    else:
        await callback.answer(_("This reminder is not linked to a card."), show_alert=True)
        return
    text, keyboard = await card_view.open(uow, actor, kind, record_id)
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=keyboard)
    await callback.answer()


async def reminder_button(
    callback: CallbackQuery,
    callback_data: TaskAction,
    uow: UnitOfWork,
    actor: Actor,
    reminders: ReminderRuntime | None = None,
) -> None:
    task = await apply_action(uow, actor, callback_data)
    line = await tasks.get_line(uow, actor, task.id)
    if task.status == TaskStatus.DONE.value:
        state, notice = _("✅ Done."), _("Done.")
        keyboard = markup([_open_row(task)])
    else:
        if reminders is not None:
            reminders.task_changed(task.id, task.due_at)
        state = _("💤 I will remind you again on {time}.").format(time=moment(actor, task.due_at))
        notice = _("Snoozed until {time}.").format(time=local_time(actor, task.due_at))
        keyboard = markup(
            [[button(_("✅ Done"), TaskAction(action="done", task_id=task.id))], _open_row(task)]
        )
    await show(callback, task_text(actor, line) + "\n\n" + state, keyboard)
    await callback.answer(notice)


def setup() -> Router:
    router = Router(name="tasks.reminder")
    router.callback_query.register(open_task_card, TaskAction.filter(F.action == "open"))
    router.callback_query.register(reminder_button, TaskAction.filter())
    return router
