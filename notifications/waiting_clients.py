"""Waiting clients: one reminder to the manager when a client's message has gone
unanswered for the company's reply time (crm/services/business/waiting.py decides and
claims; each claimed wait is reminded of exactly once, in whichever process runs the job).

The job runs every minute in the leader's scheduler; the reminder is a notice in the
manager's language with a button to the client's card, sent through the runtime's
TelegramSender (the fan-out lane of the bot's governor).
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.models import utcnow
from crm.models.enums import Role
from crm.services.business import waiting
from crm.services.business.waiting import Due
from crm.storage import Database
from handlers.cards.callbacks import CONTACT, CardCb
from handlers.ui import button, h, markup
from handlers.words import local_time
from notifications.claims_notify import EscalationScheduler
from notifications.telegram_sender import TelegramSender

log = logging.getLogger(__name__)

WAITING_JOB = "business:waiting"
CHECK_SECONDS = 60.0


def reminder_text(due: Due, now: datetime) -> str:
    """ "Ivan wrote at 10:14 and is waiting" (the date too when it was not today)."""
    reader = Actor(id=0, role=Role.MANAGER, department_id=None, timezone=due.timezone)
    today = local_time(reader, now, with_date=True)[:10]
    at = local_time(reader, due.waiting.since, with_date=True)
    shown = at[11:] if at.startswith(today) else at
    return _("⏳ {name} wrote at {at} and is waiting for your answer.").format(
        name=f"<b>{h(due.waiting.name)}</b>", at=shown
    )


async def remind_waiting(
    db: Database,
    bot: Bot,
    i18n: I18n,
    *,
    sender: TelegramSender | None = None,
    now: datetime | None = None,
) -> int:
    """The job: claim every wait past the reply time and remind its manager; how many."""
    now = now or utcnow()
    sent = 0
    for due in await waiting.claim_due(db.uow(), now):
        with i18n.context(), i18n.use_locale(due.language):
            text = reminder_text(due, now)
            keyboard = markup(
                [[button(_("👤 Open the card"), CardCb(kind=CONTACT, id=due.waiting.contact_id))]]
            )
        if sender is not None:
            sent += (await sender.send(due.chat_id, text, reply_markup=keyboard)).ok
            continue
        try:
            await bot.send_message(due.chat_id, text, reply_markup=keyboard)
            sent += 1
        except TelegramAPIError as exc:
            log.info("could not remind %s of a waiting client: %s", due.chat_id, exc)
    return sent


async def on_startup(dispatcher: Dispatcher, bot: Bot, database: Database, i18n: I18n) -> None:
    runtime = dispatcher.workflow_data.get("reminders")
    scheduler = getattr(runtime, "scheduler", None)

    async def job() -> None:
        await remind_waiting(database, bot, i18n, sender=getattr(runtime, "sender", None))

    if scheduler is not None and hasattr(scheduler, "add_periodic"):
        scheduler.add_periodic(WAITING_JOB, job, CHECK_SECONDS)
        return
    own = EscalationScheduler(database, job, seconds=CHECK_SECONDS)
    dispatcher.workflow_data["waiting_clients"] = own
    await own.start()


async def on_shutdown(dispatcher: Dispatcher) -> None:
    own = dispatcher.workflow_data.pop("waiting_clients", None)
    if isinstance(own, EscalationScheduler):
        await own.stop()


def setup(dp: Dispatcher) -> None:
    """Remind managers of their waiting clients while the bot runs (leader process only)."""
    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
