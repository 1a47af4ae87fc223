"""/status (directors): is the reminder scheduler running, and is anything stuck?

The same figures as `GET /healthz` (its "scheduler" check) and `chatcrm status`.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.storage import Database
from handlers.words import local_time
from notifications.reminders import ReminderRuntime, scheduler_health


def render_status(actor: Actor, report: dict[str, object], has_runtime: bool) -> str:
    last = report["last_run_at"]
    if report["leader"]:
        leader = _("yes")
    elif has_runtime:
        leader = _("no (another instance runs it, or will take over within a minute)")
    else:
        leader = _("no (the scheduler is not started in this process)")
    lines = [
        _("<b>Reminder scheduler</b>"),
        _("This instance runs the scheduler: {answer}").format(answer=leader),
    ]
    if report["leader"]:
        lines.append(
            _("Last run: {time}").format(
                time=local_time(actor, datetime.fromisoformat(str(last))) if last else _("never")
            )
        )
    lines += [
        _("Reminders pending: {count}").format(count=report["pending"]),
        _("Overdue and not delivered: {count}").format(count=report["overdue_undelivered"]),
        "",
        _("✅ Everything is on time.")
        if report["ok"]
        else _("⚠️ Reminders are late: check that the bot's scheduler is running."),
    ]
    return "\n".join(lines)


async def status(
    message: Message,
    actor: Actor,
    database: Database,
    reminders: ReminderRuntime | None = None,
) -> None:
    if not actor.is_director:
        await message.answer(_("Only a director can see the status of the bot."))
        return
    report = await scheduler_health(database, reminders)
    await message.answer(render_status(actor, report, reminders is not None))


def setup() -> Router:
    router = Router(name="status")
    router.message.register(status, Command("status"))
    return router
