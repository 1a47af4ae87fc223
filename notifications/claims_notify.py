"""Sending claim notices: urgent claims when filed, and the escalation of overdue ones.

`notifications.claims_escalation` selects who must hear of what (and marks escalations
once); this module words the notice in each recipient's language and timezone and sends
it, through the rate-limited `TelegramSender` of the reminders runtime when there is one,
else straight through the bot. Each recipient reads the claim with their own access, so
a notice never shows a claim to someone who may not open it.

The escalation job runs in the leader process only: `setup(dp)` adds it to the reminders
scheduler (`dp["reminders"]`, a ReminderRuntime) or, without one, runs it under a leader
election of its own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from crm.access import Actor
from crm.errors import AccessDenied
from crm.models import Claim, utcnow
from crm.services import claims
from crm.services.claims import ClaimView
from crm.storage import Database
from crm.uow import UnitOfWork
from handlers.ui import h, snippet
from handlers.words import local_time, priority_badge
from notifications import claims_escalation
from notifications.claims_escalation import ClaimNotice
from notifications.leader import LeaderElector
from notifications.telegram_sender import TelegramSender

log = logging.getLogger(__name__)

ESCALATION_JOB = "claims:escalation"
ESCALATION_SECONDS = 300.0
SNIPPET = 300


class ClaimCb(CallbackData, prefix="cl"):
    """A claim card's buttons (handlers/claims.py answers them); the notices use "open".

    action: open (a new message with the card) | show (the card in place) | st (a status
    without text) | ask (resolve/reject: asks for the text) | over (resolve despite open
    plan tasks) | nocomp (resolve without compensation) | files | task (a plan task done)
    """

    action: str
    claim_id: int
    value: str = ""


def notice_text(actor: Actor, level: int, view: ClaimView) -> str:
    """The notice as `actor` reads it: their language (set by the caller), their timezone."""
    claim = view.claim
    params = {
        "id": claim.id,
        "company": f"<b>{h(view.company.name)}</b>",
        "priority": priority_badge(claim.priority),
        "due": local_time(actor, claim.due_at),
        "responsible": h(view.responsible.name),
    }
    if level == claims_escalation.FILED:
        head = _("⚠ New claim #{id} from {company}, priority {priority}.")
    elif level == 1:
        head = _("⏰ Claim #{id} from {company} is overdue: it was due {due}.")
    else:
        head = _("🚨 Claim #{id} from {company} is still not resolved: it was due {due}.")
    lines = [
        head.format(**params),
        _("Priority: {priority}").format(**params),
        _("Responsible: {responsible}").format(**params),
        _("Due: {due}").format(**params),
        "",
        h(snippet(claim.text, SNIPPET)),
    ]
    return "\n".join(lines)


def open_markup(claim_id: int) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        text=_("Open the claim"), callback_data=ClaimCb(action="open", claim_id=claim_id).pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def deliver(
    bot: Bot, sender: TelegramSender | None, chat_id: int, text: str, **kwargs: Any
) -> bool:
    """Through the rate-limited sender when there is one; a blocked bot is not an error."""
    if sender is not None:
        return (await sender.send(chat_id, text, **kwargs)).ok
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
            text = notice_text(reader, notice.level, view)
            markup = open_markup(notice.claim_id)
        if await deliver(bot, sender, manager.tg_id, text, reply_markup=markup):
            reached.append(manager.tg_id)
    return reached


async def notify_filed(
    uow: UnitOfWork,
    bot: Bot,
    i18n: I18n,
    claim: Claim,
    *,
    sender: TelegramSender | None = None,
    filed_by: int | None = None,
) -> list[int]:
    """A high or critical claim: its responsible manager and their head hear of it at once
    (not whoever filed it: they have the card in front of them)."""
    notice = await claims_escalation.on_filed(uow, claim)
    if notice is None:
        return []
    return await send_notice(uow, bot, i18n, notice, sender=sender, skip=filed_by)


async def escalate(
    db: Database,
    bot: Bot,
    i18n: I18n,
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
            if await send_notice(db.uow(), bot, i18n, notice, sender=sender):
                sent += 1
        except Exception:  # one bad claim must not stop the others
            log.exception("claim %s: the escalation notice failed", notice.claim_id)
    return sent


# ------------------------------------------------------------------ running the job


Job = Callable[[], Awaitable[Any]]


class EscalationScheduler:
    """The job on a scheduler of its own, for a bot without the reminders runtime."""

    def __init__(self, db: Database, job: Job, seconds: float = ESCALATION_SECONDS) -> None:
        self.job = job
        self.seconds = seconds
        self.scheduler: AsyncIOScheduler | None = None
        self.elector = LeaderElector(db, on_elected=self._start, on_lost=self._stop)

    async def _start(self) -> None:
        if self.scheduler is not None:
            return
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.scheduler.start()
        self.scheduler.add_job(
            self.job,
            "interval",
            seconds=self.seconds,
            next_run_time=datetime.now(UTC),
            id=ESCALATION_JOB,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )

    async def _stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None

    async def start(self) -> None:
        if await self.elector.try_acquire():
            await self._start()
        self.elector.start()

    async def stop(self) -> None:
        await self.elector.stop()
        await self._stop()


async def on_startup(dispatcher: Dispatcher, bot: Bot, database: Database, i18n: I18n) -> None:
    runtime = dispatcher.workflow_data.get("reminders")
    scheduler = getattr(runtime, "scheduler", None)

    async def job() -> None:
        await escalate(database, bot, i18n, sender=getattr(runtime, "sender", None))

    if scheduler is not None and hasattr(scheduler, "add_periodic"):
        scheduler.add_periodic(ESCALATION_JOB, job, ESCALATION_SECONDS)
        return
    own = EscalationScheduler(database, job)
    dispatcher.workflow_data["claims_escalation"] = own
    await own.start()


async def on_shutdown(dispatcher: Dispatcher) -> None:
    own = dispatcher.workflow_data.pop("claims_escalation", None)
    if isinstance(own, EscalationScheduler):
        await own.stop()


def setup(dp: Dispatcher) -> None:
    """Run the escalation job while the bot runs (in the leader process only)."""
    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
