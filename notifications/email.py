"""Outgoing email in the bot: the worker wired into it, and `deliver_due` for one pass.

The message of a row is built by notifications/email_message.py. `setup(dp)` runs the
worker (notifications/outbox_worker.py) in the process elected for it while the bot runs,
and tells managers about invitations that failed for good (notifications/email_notices.py).
Without SMTP_HOST mail is disabled: rows wait as pending. SMTP_TLS: port 465 means TLS
from the start, any other port STARTTLS; SMTP_TLS=false sends in clear (a local relay).
A login is made when SMTP_USER is set.
"""

from __future__ import annotations

import logging
from datetime import datetime

from aiogram import Bot, Dispatcher
from aiogram.utils.i18n import I18n

from crm.settings import Settings
from crm.storage import Database
from notifications.email_message import build_message
from notifications.leader import LeaderElector
from notifications.outbox_worker import OUTBOX_LOCK_KEY, DeliveryReport, OutboxWorker
from notifications.smtp import SMTP_TIMEOUT, describe_error

log = logging.getLogger(__name__)

__all__ = ["DeliveryReport", "build_message", "deliver_due", "describe_error", "setup"]


async def deliver_due(
    database: Database,
    settings: Settings,
    *,
    now: datetime | None = None,
    batch: int | None = None,
    smtp_timeout: float = SMTP_TIMEOUT,
) -> DeliveryReport:
    """Send what is due now, once (for the CLI and tests); does nothing while mail is
    disabled."""
    worker = OutboxWorker(
        database, settings, batch=batch, smtp_timeout=smtp_timeout, pause_min=0.0
    )
    return await worker.drain(now=now)


# ------------------------------------------------------------------ in the bot


class OutboxRuntime:
    """The worker under an election of its own: one sending process per database."""

    def __init__(
        self, database: Database, worker: OutboxWorker, retry_seconds: float = 15.0
    ) -> None:
        self.worker = worker
        self.elector = LeaderElector(
            database,
            key=OUTBOX_LOCK_KEY,
            name="outbox",
            retry_seconds=retry_seconds,
            check_seconds=retry_seconds,
            on_elected=worker.start,
            on_lost=worker.stop,
        )

    async def start(self) -> None:
        if await self.elector.try_acquire():
            await self.worker.start()
        self.elector.start()

    async def stop(self) -> None:
        await self.elector.stop()
        await self.worker.stop()

    @property
    def leader(self) -> bool:
        return self.elector.is_leader


async def on_startup(
    dispatcher: Dispatcher, bot: Bot, database: Database, settings: Settings, i18n: I18n
) -> None:
    from notifications import email_notices

    if not settings.mail_enabled:
        log.info("mail disabled (no SMTP_HOST): emails wait in the outbox")

    async def failures() -> None:
        runtime = dispatcher.workflow_data.get("reminders")
        await email_notices.notify_failures(
            database, bot, i18n, sender=getattr(runtime, "sender", None)
        )

    worker = OutboxWorker(database, settings, on_failures=failures)
    own = OutboxRuntime(database, worker, settings.leader_retry_seconds)
    dispatcher.workflow_data["email_outbox"] = own
    await own.start()


async def on_shutdown(dispatcher: Dispatcher) -> None:
    own = dispatcher.workflow_data.pop("email_outbox", None)
    if own is not None:
        await own.stop()


def setup(dp: Dispatcher) -> None:
    """Run the outbox worker while the bot runs (in the process elected for it)."""
    dp.startup.register(on_startup)
    dp.shutdown.register(on_shutdown)
