"""The words of the "client waiting" reminder (notifications/waiting_clients.py sends it):
who wrote and when, and a button to the client's card. bot/app.py hands `waiting_notice`
to the job, so that notifications/ imports nothing from handlers/ but the words.
"""

from __future__ import annotations

from datetime import datetime

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.models.enums import Role
from crm.services.business.waiting import Due
from handlers.cards.callbacks import CONTACT, CardCb
from handlers.ui import button, h, markup
from handlers.words import local_time


def reminder_text(due: Due, now: datetime) -> str:
    """ "Ivan wrote at 10:14 and is waiting" (the date too when it was not today)."""
    reader = Actor(id=0, role=Role.MANAGER, department_id=None, timezone=due.timezone)
    today = local_time(reader, now, with_date=True)[:10]
    at = local_time(reader, due.waiting.since, with_date=True)
    shown = at[11:] if at.startswith(today) else at
    return _("⏳ {name} wrote at {at} and is waiting for your answer.").format(
        name=f"<b>{h(due.waiting.name)}</b>", at=shown
    )


def waiting_notice(due: Due, now: datetime) -> tuple[str, InlineKeyboardMarkup]:
    """The reminder's text and its button, in the current locale (the manager's)."""
    keyboard = markup(
        [[button(_("👤 Open the card"), CardCb(kind=CONTACT, id=due.waiting.contact_id))]]
    )
    return reminder_text(due, now), keyboard
