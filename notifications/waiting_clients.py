"""Waiting clients: one reminder to the manager when a client's message has gone
unanswered for the company's reply time (crm/services/business/waiting.py decides and
claims; each claimed wait is reminded of exactly once, in whichever process runs the job).

The job runs every minute in the leader's scheduler; the reminder is a notice in the
manager's language with a button to the client's card, sent through the runtime's
TelegramSender (the fan-out lane of the bot's governor).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from crm.models import utcnow
from crm.services.business import waiting
from crm.services.business.waiting import Due
from crm.storage import Database
from notifications.periodic import Context, Periodic, periodic
from notifications.telegram_sender import TelegramSender

log = logging.getLogger(__name__)

WAITING_JOB = "business:waiting"
CHECK_SECONDS = 60.0


WaitingRenderer = Callable[[Due, datetime], tuple[str, InlineKeyboardMarkup]]
"""(the wait, now) -> the reminder's text and buttons, in the current locale.
handlers/business/waiting.py words it; bot/app.py hands it to `setup` (the dependency runs
from the handlers to the notifications, never back)."""


async def remind_waiting(
    db: Database,
    bot: Bot,
    i18n: I18n,
    render: WaitingRenderer,
    *,
    sender: TelegramSender | None = None,
    now: datetime | None = None,
) -> int:
    """The job: claim every wait past the reply time and remind its manager; how many."""
    now = now or utcnow()
    sent = 0
    for due in await waiting.claim_due(db.uow(), now):
        with i18n.context(), i18n.use_locale(due.language):
            text, keyboard = render(due, now)
        if sender is not None:
            sent += (await sender.send(due.chat_id, text, reply_markup=keyboard)).ok
            continue
        try:
            await bot.send_message(due.chat_id, text, reply_markup=keyboard)
            sent += 1
        except TelegramAPIError as exc:
            log.info("could not remind %s of a waiting client: %s", due.chat_id, exc)
    return sent


def setup(dp: Dispatcher, render: WaitingRenderer) -> Periodic:
    """Remind managers of their waiting clients while the bot runs (leader process only);
    the reminders are worded by `render`."""

    async def job(run: Context) -> None:
        await remind_waiting(run.database, run.bot, run.i18n, render, sender=run.sender)

    return periodic(dp, WAITING_JOB, job, CHECK_SECONDS)
