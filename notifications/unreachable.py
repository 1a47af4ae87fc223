"""A member of staff who blocked the bot: recorded once, and their leaders told once.

The governor (bot/governor) calls the listener when Telegram answers 403 to a private
chat. `people.mark_unreachable` flips the flag with a conditional UPDATE, so of several
attempts or processes exactly one gets the leaders to tell; reminders, digests and
notices skip the member from then on (the services read the flag), and /team shows it.
They are reachable again when they write to the bot (/start clears the flag).
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.governor import Lane, lane
from crm.services import people
from crm.storage import Database

log = logging.getLogger(__name__)


def leader_notice(name: str) -> str:
    return _(
        "⛔ {name} has blocked the bot: they get no reminders, notices or digests until "
        "they unblock it (“Restart” in the bot's chat)."
    ).format(name=f"<b>{html.escape(name)}</b>")


@dataclass(frozen=True, eq=True)
class UnreachableListener:
    """`await listener(chat_id)`: record the block, then tell the leaders (as notices).
    Equal listeners are one (the governor keeps one of each)."""

    database: Database
    bot: Bot
    i18n: I18n

    async def __call__(self, chat_id: int) -> None:
        found = await people.mark_unreachable(self.database.uow(), chat_id)
        if found is None:
            return  # not on staff, or recorded (and its leaders told) before
        log.info(
            "member of staff %s blocked the bot; telling %s", found.manager_id, len(found.leaders)
        )
        for leader in found.leaders:
            with self.i18n.context(), self.i18n.use_locale(leader.language):
                text = leader_notice(found.name)
            try:
                with lane(Lane.NOTICE):
                    await self.bot.send_message(leader.tg_id, text)
            except TelegramAPIError as exc:  # a leader who blocked it too is recorded in turn
                log.info("could not tell leader %s: %s", leader.id, type(exc).__name__)
