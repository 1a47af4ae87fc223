"""Telling a manager that invitations could not be delivered: once per event, in their
language, with a button that lists the addresses and the servers' reasons
(handlers/events/failures.py answers it with crm.services.event_failures.failures)."""

from __future__ import annotations

import logging
from datetime import datetime
from html import escape

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from crm.services import event_failures
from crm.storage import Database
from notifications.claims_notify import deliver
from notifications.telegram_sender import TelegramSender

log = logging.getLogger(__name__)


class EventFailuresCb(CallbackData, prefix="evfl"):
    """The list of an event's undelivered emails."""

    event_id: int


def failures_markup(event_id: int) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=_("Show the addresses"), callback_data=EventFailuresCb(event_id=event_id).pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def notify_failures(
    database: Database,
    bot: Bot,
    i18n: I18n,
    *,
    sender: TelegramSender | None = None,
    now: datetime | None = None,
) -> int:
    """Tell each responsible manager of an event with emails failed for good, once per
    event; returns how many were told."""
    told = 0
    for notice in await event_failures.claim_notices(database.uow(), now=now):
        with i18n.context(), i18n.use_locale(notice.language):
            text = _(
                "⚠ {count} invitation emails for “{title}” could not be delivered: "
                "the mail servers refused them."
            ).format(count=notice.failed, title=escape(notice.title))
            markup = failures_markup(notice.event_id)
        try:
            if await deliver(bot, sender, notice.tg_id, text, reply_markup=markup):
                told += 1
        except Exception:
            log.exception("event %s: the failure notice was not sent", notice.event_id)
    return told
