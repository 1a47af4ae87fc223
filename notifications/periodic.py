"""A job the bot runs every few seconds, in one process per database.

`periodic(dp, name, job, seconds)` registers the dispatcher's startup and shutdown hooks:
at startup the job joins the leader's scheduler of the reminders runtime
(`dp["reminders"]`, a ReminderRuntime: `add_periodic`), which runs it while this process
is the leader and adds it again whenever it becomes one; without that runtime (a bot
started without reminders, some tests) the job gets a scheduler of its own under a
leader election of its own (`OwnScheduler`). Either way it runs in exactly one process.

The job is called with a `Context`: the bot, the database, the catalogues and the
runtime's TelegramSender (None without the runtime), read when it runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from crm.storage import Database
from notifications.leader import LeaderElector
from notifications.telegram_sender import TelegramSender


@dataclass(frozen=True)
class Context:
    """What a periodic job works with."""

    bot: Bot
    database: Database
    i18n: I18n
    sender: TelegramSender | None  # the reminders runtime's, for the governor's lanes


Job = Callable[[Context], Awaitable[Any]]


class OwnScheduler:
    """One job on a scheduler of its own, for a bot without the reminders runtime: it
    runs while this process holds the leadership of its own election."""

    def __init__(
        self, db: Database, job_id: str, job: Callable[[], Awaitable[Any]], seconds: float
    ) -> None:
        self.job_id = job_id
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
            id=self.job_id,
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


class Periodic:
    """The startup and shutdown hooks of one periodic job (see the module)."""

    def __init__(self, name: str, job: Job, seconds: float) -> None:
        self.name = name
        self.job = job
        self.seconds = seconds
        self.own: OwnScheduler | None = None  # only without the reminders runtime

    async def on_startup(
        self, dispatcher: Dispatcher, bot: Bot, database: Database, i18n: I18n
    ) -> None:
        runtime = dispatcher.workflow_data.get("reminders")
        scheduler = getattr(runtime, "scheduler", None)

        async def run() -> None:
            await self.job(Context(bot, database, i18n, getattr(runtime, "sender", None)))

        if scheduler is not None and hasattr(scheduler, "add_periodic"):
            scheduler.add_periodic(self.name, run, self.seconds)
            return
        self.own = OwnScheduler(database, self.name, run, self.seconds)
        await self.own.start()

    async def on_shutdown(self) -> None:
        own, self.own = self.own, None
        if own is not None:
            await own.stop()


def periodic(dp: Dispatcher, name: str, job: Job, seconds: float) -> Periodic:
    """Run `job` every `seconds` (first at once) while the bot runs, in the leader process
    only; `name` is the job's id in the scheduler."""
    hooks = Periodic(name, job, seconds)
    dp.startup.register(hooks.on_startup)
    dp.shutdown.register(hooks.on_shutdown)
    return hooks
