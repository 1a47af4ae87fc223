"""Sending claim notices: urgent claims when filed, and the escalation of overdue ones.

`notifications.claims_escalation` selects who must hear of what (and marks escalations
once); this module has the notice worded (by the renderer handlers/claims/notice.py
gives it) in each recipient's language and timezone and sends it, through the
rate-limited `TelegramSender` of the reminders runtime when there is one,
else straight through the bot. Each recipient reads the claim with their own access, so
a notice never shows a claim to someone who may not open it.

The escalation job runs in the leader process only: `setup(dp, render)` adds it to the reminders
scheduler (`dp["reminders"]`, a ReminderRuntime) or, without one, runs it under a leader
election of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n

from bot.governor import Lane
from crm.access import Actor
from crm.errors import AccessDenied
from crm.models import Claim, utcnow
from crm.services import claims
from crm.services.claims import ClaimView
from crm.storage import Database
from crm.uow import UnitOfWork
from notifications import claims_escalation
from notifications.claims_escalation import ClaimNotice
from notifications.periodic import Context, Periodic, periodic
from notifications.telegram_sender import TelegramSender

log = logging.getLogger(__name__)

ESCALATION_JOB = "claims:escalation"
ESCALATION_SECONDS = 300.0


NoticeRenderer = Callable[[Actor, int, ClaimView], tuple[str, InlineKeyboardMarkup]]
"""(reader, level, the claim as the reader may see it) -> the notice's text and buttons.
handlers/claims/notice.py words it; bot/app.py hands it to `setup` (the dependency runs
from the handlers to the notifications, never back)."""


async def deliver(
    bot: Bot, sender: TelegramSender | None, chat_id: int, text: str, **kwargs: Any
) -> bool:
    """Through the sender when there is one (as a personal notice, ahead of fan-outs);
    a blocked bot is not an error."""
    if sender is not None:
        return (await sender.send(chat_id, text, lane=Lane.NOTICE, **kwargs)).ok
    try:
        await bot.send_message(chat_id, text, **kwargs)
    except (TelegramForbiddenError, TelegramBadRequest) as exc:
        log.info("could not send a claim notice to chat %s: %s", chat_id, type(exc).__name__)
        return False
    return True


async def send_notice(
    uow: UnitOfWork,
    bot: Bot,
    i18n: I18n,
    notice: ClaimNotice,
    render: NoticeRenderer,
    *,
    sender: TelegramSender | None = None,
    skip: int | None = None,
) -> list[int]:
    """Send one notice to its managers (but `skip`, a manager id); the Telegram ids reached."""
    reached = []
    for manager in await claims.recipients(uow, notice.manager_ids):
        if manager.id == skip:
            continue
        reader = Actor.of(manager)
        try:
            view = await claims.get(uow, reader, notice.claim_id)
        except AccessDenied:  # moved out of their reach meanwhile: nothing to tell them
            continue
        with i18n.context(), i18n.use_locale(manager.language):
            text, markup = render(reader, notice.level, view)
        if await deliver(bot, sender, manager.tg_id, text, reply_markup=markup):
            reached.append(manager.tg_id)
    return reached


async def notify_filed(
    uow: UnitOfWork,
    bot: Bot,
    i18n: I18n,
    claim: Claim,
    render: NoticeRenderer,
    *,
    sender: TelegramSender | None = None,
    filed_by: int | None = None,
) -> list[int]:
    """A high or critical claim: its responsible manager and their head hear of it at once
    (not whoever filed it: they have the card in front of them)."""
    notice = await claims_escalation.on_filed(uow, claim)
    if notice is None:
        return []
    return await send_notice(uow, bot, i18n, notice, render, sender=sender, skip=filed_by)


async def notify_raised(
    uow: UnitOfWork,
    bot: Bot,
    i18n: I18n,
    claim: Claim,
    before: str,
    render: NoticeRenderer,
    *,
    sender: TelegramSender | None = None,
    raised_by: int | None = None,
) -> list[int]:
    """A claim raised from low or normal to high or critical: told as if it had been filed
    so (not to whoever raised it)."""
    notice = await claims_escalation.on_raised(uow, claim, before)
    if notice is None:
        return []
    return await send_notice(uow, bot, i18n, notice, render, sender=sender, skip=raised_by)


async def escalate(
    db: Database,
    bot: Bot,
    i18n: I18n,
    render: NoticeRenderer,
    *,
    sender: TelegramSender | None = None,
    now: datetime | None = None,
) -> int:
    """The periodic job: escalate what is due at `now` and tell the heads / directors.

    Returns how many notices were sent. Each claim is marked before it is sent, so a
    crash between the two loses a notice rather than sending it twice.
    """
    notices = await claims_escalation.due_escalations(db.uow(), now or utcnow())
    sent = 0
    for notice in notices:
        try:
            if await send_notice(db.uow(), bot, i18n, notice, render, sender=sender):
                sent += 1
        except Exception:  # one bad claim must not stop the others
            log.exception("claim %s: the escalation notice failed", notice.claim_id)
    return sent


# ------------------------------------------------------------------ running the job


def setup(dp: Dispatcher, render: NoticeRenderer) -> Periodic:
    """Run the escalation job while the bot runs (in the leader process only); its notices
    are worded by `render`."""

    async def job(run: Context) -> None:
        await escalate(run.database, run.bot, run.i18n, render, sender=run.sender)

    return periodic(dp, ESCALATION_JOB, job, ESCALATION_SECONDS)
