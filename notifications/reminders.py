"""Delivering reminders: APScheduler 3 in memory, the tasks table as the source of truth.

- At start (`ReminderScheduler.start`): every reminder that fell due while no scheduler
  ran is delivered at once, marked late; jobs "task:<id>" are (re)built for the open,
  unreminded tasks due within `horizon` (replace_existing, misfire_grace_time=None,
  coalesce). Nothing else is kept in memory, so a restart loses nothing.
- Every `sweep_seconds` a sweep claims whatever is due and unclaimed (created in another
  process, snoozed, missed) and schedules what entered the horizon.
- Delivery: the tasks service claims the reminder with a conditional UPDATE (exactly
  one claimer wins), then the sender sends it with Done / Snooze 15 min / Snooze 1 h /
  Tomorrow buttons. A send given up on hands the claim back for the next sweep; a
  user who blocked the bot is marked `bot_blocked` and skipped.
- Once a day at `forgotten_at` (in `timezone`) the forgotten-client tasks are made; the
  number of days is the company setting (crm/services/company_settings.py), read each run.

`ReminderRuntime` puts it together with the leader election so that one process per
database runs it; `health()` reports for /healthz, `chatcrm status` and /status.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import update

from bot.i18n import LOCALES_DIR
from crm import when
from crm.access import Actor
from crm.errors import InvalidInput
from crm.models import Manager, Task, utcnow
from crm.services import company_settings, tasks
from crm.services.tasks import Delivery
from crm.storage import Database
from crm.uow import UnitOfWork
from notifications.leader import LeaderElector
from notifications.telegram_sender import Outcome, SendResult, TelegramSender

log = logging.getLogger(__name__)

SNOOZE_MINUTES = {"s15": 15, "s60": 60}


def _(message: str) -> str:
    """Marks an English msgid for extraction; `tr()` translates it per user."""
    return message


class TaskAction(CallbackData, prefix="t"):
    """The buttons of a reminder: done, s15, s60, tmrw (snoozes) and open (the card)."""

    action: str
    task_id: int


# ------------------------------------------------------------------ texts


_i18n: I18n | None = None


def default_i18n() -> I18n:
    global _i18n
    if _i18n is None:
        _i18n = I18n(path=LOCALES_DIR, default_locale="ru", domain="messages")
    return _i18n


def tr(i18n: I18n | None, locale: str, msgid: str, **params: Any) -> str:
    """`msgid` in the user's language (English msgids; Russian from bot/locales/)."""
    text = msgid
    if i18n is not None and locale != "en":
        try:
            text = i18n.gettext(msgid, locale=locale)
        except Exception:  # a missing catalogue must not stop a reminder
            text = msgid
    return text.format(**params) if params else text


def reminder_text(d: Delivery, i18n: I18n | None = None) -> str:
    lang = d.language
    due = when.to_local(d.due_at, d.timezone).strftime("%d.%m.%Y %H:%M")
    if d.kind == tasks.KIND_FORGOTTEN:
        lines = [
            tr(
                i18n,
                lang,
                _("⏰ No contact with {company} for a long time: get in touch."),
                company=f"<b>{html.escape(d.company_name or d.title)}</b>",
            )
        ]
    else:
        lines = [tr(i18n, lang, _("⏰ Reminder: {title}"), title=f"<b>{html.escape(d.title)}</b>")]
        if d.company_name:
            lines.append(
                tr(i18n, lang, _("Client: {company}"), company=html.escape(d.company_name))
            )
        if d.deal_title:
            lines.append(tr(i18n, lang, _("Deal: {deal}"), deal=html.escape(d.deal_title)))
        if d.event_title:
            lines.append(tr(i18n, lang, _("Event: {event}"), event=html.escape(d.event_title)))
    if d.late:
        lines.append(tr(i18n, lang, _("Late: it was due {due}."), due=due))
    else:
        lines.append(tr(i18n, lang, _("Due {due}"), due=due))
    return "\n".join(lines)


def reminder_keyboard(d: Delivery, i18n: I18n | None = None) -> InlineKeyboardMarkup:
    lang = d.language

    def button(label: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=tr(i18n, lang, label),
            callback_data=TaskAction(action=action, task_id=d.task_id).pack(),
        )

    rows = [
        [button(_("✅ Done"), "done")],
        [
            button(_("Snooze 15 min"), "s15"),
            button(_("Snooze 1 h"), "s60"),
            button(_("Tomorrow"), "tmrw"),
        ],
    ]
    if d.company_id or d.deal_id:
        rows.append([button(_("Open the card"), "open")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def apply_action(
    uow: UnitOfWork, actor: Actor, data: TaskAction, now: datetime | None = None
) -> Task:
    """What a reminder button does, for the callback handler: done / s15 / s60 / tmrw.

    Access is the service's (a crafted callback for someone else's task: AccessDenied);
    "open" is for the handler to show the card of `task.deal_id or task.company_id`.
    """
    if data.action == "done":
        return await tasks.complete(uow, actor, data.task_id, now=now)
    if data.action in SNOOZE_MINUTES:
        return await tasks.snooze(uow, actor, data.task_id, SNOOZE_MINUTES[data.action], now=now)
    if data.action == "tmrw":
        return await tasks.snooze_until_tomorrow(uow, actor, data.task_id, now=now)
    if data.action == "open":
        async with uow.read_only():
            return await tasks.get(uow, actor, data.task_id)
    raise InvalidInput("action", "unknown_value", allowed=["done", "s15", "s60", "tmrw", "open"])


async def mark_bot_blocked(db: Database, chat_id: int) -> None:
    """The user blocked the bot: skip them until they come back (/start clears the flag)."""
    async with db.uow() as uow:
        rows = await uow.session.execute(
            update(Manager)
            .where(Manager.tg_id == chat_id, Manager.bot_blocked.is_(False))
            .values(bot_blocked=True)
            .returning(Manager.id)
        )
        for (manager_id,) in rows:
            uow.audit(None, ("managers", manager_id), "update", {"bot_blocked": [False, True]})
        await uow.commit()


# ------------------------------------------------------------------ the scheduler


Clock = Callable[[], datetime]


class ReminderScheduler:
    def __init__(
        self,
        db: Database,
        sender: TelegramSender,
        *,
        i18n: I18n | None = None,
        clock: Clock = utcnow,
        sweep_seconds: float = 30.0,
        horizon: timedelta = timedelta(hours=1),
        batch: int = 500,
        forgotten_days: int | None = None,  # None: the company setting, read on every run
        forgotten_at: time = time(9, 0),
        timezone: str = "Europe/Moscow",
    ) -> None:
        self.db = db
        self.sender = sender
        self.i18n = i18n if i18n is not None else default_i18n()
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        self.horizon = horizon
        self.batch = batch
        self.forgotten_days = forgotten_days
        self.forgotten_at = forgotten_at
        self.timezone = timezone
        self.scheduler: AsyncIOScheduler | None = None
        self.last_run_at: datetime | None = None
        self.delivered = 0
        self._scheduled: dict[int, datetime] = {}
        self._sweep_lock = asyncio.Lock()
        self._sends: set[asyncio.Task[None]] = set()
        self._periodic: dict[str, tuple[Callable[[], Awaitable[Any]], float]] = {}

    @property
    def running(self) -> bool:
        return self.scheduler is not None and self.scheduler.running

    async def start(self) -> None:
        """Build the jobs from the tasks table, deliver what is overdue, start ticking.

        Needs a running event loop (APScheduler >= 3.11): call it from a startup hook.
        """
        if self.running:
            return
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.scheduler.start()
        self.scheduler.add_job(
            self.sweep,
            "interval",
            seconds=self.sweep_seconds,
            id="reminders:sweep",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        self.scheduler.add_job(
            self.forgotten_clients,
            "cron",
            hour=self.forgotten_at.hour,
            minute=self.forgotten_at.minute,
            timezone=when.zone_of(self.timezone),
            id="reminders:forgotten",
            replace_existing=True,
            coalesce=True,
            misfire_grace_time=None,
        )
        for job_id in self._periodic:
            self._add_periodic_job(job_id)
        await self.sweep()  # delivers what fell due while down (late), schedules the rest

    async def stop(self, *, drain: bool = True) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.scheduler = None
        self._scheduled.clear()
        if drain and self._sends:
            await asyncio.gather(*self._sends, return_exceptions=True)

    def add_periodic(self, job_id: str, job: Callable[[], Awaitable[Any]], seconds: float) -> None:
        """Run `job` every `seconds` (first at once) while this process is the leader.

        Kept across leadership changes: every `start()` adds the periodic jobs again.
        """
        self._periodic[job_id] = (job, seconds)
        if self.running:
            self._add_periodic_job(job_id)

    def _add_periodic_job(self, job_id: str) -> None:
        job, seconds = self._periodic[job_id]
        assert self.scheduler is not None
        self.scheduler.add_job(
            job,
            "interval",
            seconds=seconds,
            next_run_time=datetime.now(UTC),
            id=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )

    def wakeup(self) -> None:
        """Re-check the jobs now (after the clock moved in a test)."""
        if self.scheduler is not None:
            self.scheduler.wakeup()

    def task_changed(self, task_id: int, due_at: datetime) -> None:
        """A hook for handlers in this process: (re)schedule a task just created or moved,
        without waiting for the next sweep. Safe to skip: the sweep does it anyway."""
        if self.running and due_at <= self.clock() + self.horizon:
            self._schedule(task_id, due_at)

    def _schedule(self, task_id: int, due_at: datetime) -> None:
        if self._scheduled.get(task_id) == due_at or self.scheduler is None:
            return
        self.scheduler.add_job(
            self.deliver,
            "date",
            run_date=due_at,
            args=[task_id],
            id=f"task:{task_id}",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
        )
        self._scheduled[task_id] = due_at

    async def sweep(self) -> int:
        """Claim and send everything due; schedule what is due within the horizon."""
        async with self._sweep_lock:
            return await self._sweep()

    async def _sweep(self) -> int:
        now = self.clock()
        self.last_run_at = now
        sent = 0
        while True:
            claimed = await tasks.claim_due(self.db.uow(), now, self.batch)
            for delivery in claimed:
                self._scheduled.pop(delivery.task_id, None)
                self._send_soon(delivery, now)
            sent += len(claimed)
            if len(claimed) < self.batch:
                break
        for task_id, due_at in await tasks.upcoming(self.db.uow(), now, now + self.horizon):
            self._schedule(task_id, due_at)
        return sent

    async def deliver(self, task_id: int) -> int | None:
        """The job of one task: sweep, unless a sweep since its due time has claimed it.

        Reminders fall due in crowds (09:00, playbook steps). One claim transaction per
        job took the whole connection pool when 10,000 fell due at once, and sent each
        manager's reminders in whatever order the claims finished (bench_reminders.py);
        the first job of a crowd now claims them all in batches, in due order, and the
        others return at once. How many it sent; None if nothing.
        """
        due_at = self._scheduled.pop(task_id, None)
        async with self._sweep_lock:
            if due_at is not None and self.last_run_at is not None and self.last_run_at >= due_at:
                return None
            return await self._sweep() or None

    def _send_soon(self, delivery: Delivery, claimed_at: datetime) -> None:
        """Queue the send without waiting for it, so one sweep can hand thousands over."""

        async def run() -> None:
            await self._send(delivery, claimed_at)

        job = asyncio.get_running_loop().create_task(run())
        self._sends.add(job)
        job.add_done_callback(self._sends.discard)

    async def _send(self, delivery: Delivery, claimed_at: datetime) -> SendResult:
        result = await self.sender.send(
            delivery.chat_id,
            reminder_text(delivery, self.i18n),
            reply_markup=reminder_keyboard(delivery, self.i18n),
        )
        if result.outcome is Outcome.FAILED:
            # not lost: the next sweep claims it again (late by then)
            await tasks.release_delivery(self.db.uow(), delivery.task_id, claimed_at)
        elif result.ok:
            self.delivered += 1
        return result

    async def forgotten_clients(self) -> int:
        days = self.forgotten_days
        if days is None:  # a director may have changed it since the last run
            days = await company_settings.forgotten_days(self.db.uow())
        made = await tasks.create_forgotten_client_tasks(self.db.uow(), self.clock(), days)
        if made:
            await self.sweep()
        return made

    @property
    def jobs(self) -> int:
        return len(self._scheduled)

    async def drain(self) -> None:
        """Wait until every reminder handed to the sender is settled."""
        while self._sends:
            await asyncio.gather(*list(self._sends), return_exceptions=True)


# ------------------------------------------------------------------ one leader per database


@dataclass
class Health:
    leader: bool
    last_run_at: datetime | None
    pending: int
    overdue_undelivered: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "leader": self.leader,
            "last_run_at": self.last_run_at.isoformat() if self.last_run_at else None,
            "pending": self.pending,
            "overdue_undelivered": self.overdue_undelivered,
        }


class ReminderRuntime:
    """The sender, the scheduler and the election, as the bot's startup hook uses them:

    runtime = ReminderRuntime(db, bot, timezone=settings.default_timezone)
    await runtime.start()      # in the dispatcher's startup hook (a loop is running)
    ...
    await runtime.stop()       # in the shutdown hook
    """

    def __init__(
        self,
        db: Database,
        bot: Bot,
        *,
        sender: TelegramSender | None = None,
        retry_seconds: float = 15.0,
        **scheduler_options: Any,
    ) -> None:
        self.db = db
        self.sender = sender or TelegramSender(bot, on_blocked=self._blocked)
        if self.sender.on_blocked is None:
            self.sender.on_blocked = self._blocked
        self.scheduler = ReminderScheduler(db, self.sender, **scheduler_options)
        self.elector = LeaderElector(
            db,
            retry_seconds=retry_seconds,
            check_seconds=retry_seconds,
            on_elected=self.scheduler.start,
            on_lost=self._lost,
        )

    async def _blocked(self, chat_id: int) -> None:
        await mark_bot_blocked(self.db, chat_id)

    async def _lost(self) -> None:
        await self.scheduler.stop(drain=False)

    async def start(self) -> None:
        if await self.elector.try_acquire():
            await self.scheduler.start()
        self.elector.start()

    async def stop(self) -> None:
        await self.elector.stop()
        await self.scheduler.stop()
        await self.sender.close()

    def task_changed(self, task_id: int, due_at: datetime) -> None:
        self.scheduler.task_changed(task_id, due_at)

    async def health(self, now: datetime | None = None) -> Health:
        return await health(self.db, self, now)


async def health(
    db: Database, runtime: ReminderRuntime | None = None, now: datetime | None = None
) -> Health:
    """{leader, last_run_at, pending, overdue_undelivered}. Without a runtime (the CLI):
    leader False and last_run_at None, the counts from the database."""
    stats = await tasks.delivery_stats(db.uow(), now or utcnow())
    leader = runtime is not None and runtime.elector.is_leader and runtime.scheduler.running
    last = runtime.scheduler.last_run_at if runtime is not None else None
    return Health(leader, last, stats.pending, stats.overdue_undelivered)


STUCK_AFTER = timedelta(minutes=2)  # a reminder due longer ago and still unsent is stuck


async def scheduler_health(
    database: Database, runtime: ReminderRuntime | None, now: datetime | None = None
) -> dict[str, Any]:
    """{ok, leader, last_run_at, pending, overdue_undelivered} of the reminder scheduler.

    Not ok when reminders due more than STUCK_AFTER ago are still unsent (no process runs
    the scheduler, or it cannot send), or when this process leads but its sweep stalled.
    """
    now = now or utcnow()
    report = (await health(database, runtime, now)).as_dict()
    stuck = (await tasks.delivery_stats(database.uow(), now - STUCK_AFTER)).overdue_undelivered
    stalled = False
    if runtime is not None and report["leader"]:
        last = runtime.scheduler.last_run_at
        stalled = last is None or now - last > 3 * timedelta(
            seconds=runtime.scheduler.sweep_seconds
        )
    return {"ok": stuck == 0 and not stalled, **report}
