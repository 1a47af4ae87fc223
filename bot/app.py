"""The composition root: the bot, its dispatcher and its HTTP server, wired once.

Handlers receive, besides aiogram's own arguments:
  uow: crm.uow.UnitOfWork  (one per update; each service call is its own transaction)
  actor: crm.access.Actor | None  (None only in /start: strangers are stopped before handlers)
  database: crm.storage.Database, settings: crm.settings.Settings, i18n: aiogram I18n
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import signal
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.utils.i18n import I18n
from aiogram.webhook.aiohttp_server import setup_application
from aiohttp import web

from bot.areas import CARD_ROWS, routers
from bot.commands import set_bot_commands
from bot.errors import setup_errors
from bot.fsm_resilience import DialogGuard, ResilientStorage
from bot.fsm_storage import create_storage
from bot.governor import Governor, Limits, governor_of, install_governor
from bot.i18n import LocaleMiddleware, create_i18n
from bot.inline_filters import inline_sync_filters
from bot.metrics import Metrics, UpdateMetrics
from bot.middlewares import (
    AnswerLaneMiddleware,
    CommandEndsDialog,
    DatabaseMiddleware,
    RegisteredOnlyMiddleware,
)
from bot.startup import (
    Backoff,
    ConfigurationError,
    configuration_problem,
    wait_for_bot_api,
    wait_for_database,
)
from bot.web import RouteInstaller, create_web_app
from bot.webhook import CheckedRequestHandler
from crm.migrate import upgrade
from crm.services import playbooks
from crm.settings import Settings
from crm.storage import Database
from handlers.business.waiting import waiting_notice
from handlers.cards.view import CardView
from handlers.claims import render_notice
from notifications import claims_notify, waiting_clients
from notifications import digests as daily_digests
from notifications import email as email_outbox
from notifications.reminders import ReminderRuntime
from notifications.telegram_sender import TelegramSender
from notifications.unreachable import UnreachableListener

logger = logging.getLogger("chatcrm.bot")


def create_dispatcher(
    settings: Settings, database: Database, storage: BaseStorage | None = None
) -> Dispatcher:
    storage = storage or create_storage(settings, database)
    isolation = (
        storage.create_isolation()
        if isinstance(storage, ResilientStorage)
        else SimpleEventIsolation()
    )
    dp = Dispatcher(storage=storage, events_isolation=isolation, name="chatcrm")
    i18n = create_i18n()
    dp["settings"] = settings
    dp["database"] = database
    dp["i18n"] = i18n
    dp["metrics"] = metrics = Metrics()  # GET /metrics (bot/web.py)
    # every deal opened from the bot gets the tasks of the default deal playbook
    # (handlers pass `deal_opened` to deals.open as its on_opened hook)
    dp["deal_opened"] = playbooks.deal_opened
    # the reminder scheduler needs the bot and a running loop: dp["reminders"] is set by
    # the startup hook (handlers take `reminders: ReminderRuntime | None = None`)
    dp.startup.register(start_reminders)
    dp.shutdown.register(stop_reminders)
    # every handler that shows a card gets it from here (`card_view: CardView`)
    dp["card_view"] = CardView(CARD_ROWS)
    # after the reminders hook: the claims escalation job joins the leader's scheduler;
    # its notices are worded by handlers/claims (the dependency runs from handlers down)
    claims_notify.setup(dp, render_notice)
    # the daily digests of heads and directors join it too (checked every minute)
    daily_digests.setup(dp)
    # the outbox worker: one sending process per database (its own election), woken by queuing
    email_outbox.setup(dp)
    # the clients waiting for an answer in the managers' Telegram Business chats (the
    # reminders worded by handlers/business)
    waiting_clients.setup(dp, waiting_notice)

    # order matters: counted and timed first; sends to the update's chat are answers
    # (bot/governor), who acts, then in which language, then the door for strangers
    dp.update.outer_middleware(UpdateMetrics(metrics))
    dp.update.outer_middleware(AnswerLaneMiddleware())
    dp.update.outer_middleware(DatabaseMiddleware(database))
    dp.update.outer_middleware(LocaleMiddleware(i18n))
    dp.update.outer_middleware(RegisteredOnlyMiddleware())
    dp.errors.outer_middleware(LocaleMiddleware(i18n))
    dp.message.outer_middleware(DialogGuard())  # Redis down: see bot/fsm_resilience.py
    dp.callback_query.outer_middleware(DialogGuard())
    dp.message.outer_middleware(CommandEndsDialog())
    setup_errors(dp)
    dp.include_routers(*routers())
    # magic filters and dialog states checked in place, not each on a thread (its module)
    inline_sync_filters(dp)
    return dp


def govern(
    bot: Bot, settings: Settings, database: Database, i18n: I18n, limits: Limits | None = None
) -> Governor:
    """The bot's governor (bot/governor): Telegram's limits at TELEGRAM_RATE, and a user
    who blocks the bot recorded once, their leaders told once."""
    governor = install_governor(bot, limits or Limits(rate=settings.telegram_rate))
    governor.add_blocked_listener(UnreachableListener(database, bot, i18n))
    return governor


def reminder_runtime(database: Database, bot: Bot, settings: Settings) -> ReminderRuntime:
    install_governor(bot, Limits(rate=settings.telegram_rate))
    return ReminderRuntime(
        database,
        bot,
        sender=TelegramSender(bot),
        timezone=settings.default_timezone,
        retry_seconds=settings.leader_retry_seconds,
        sweep_seconds=settings.reminder_sweep_seconds,
    )


async def start_reminders(
    dispatcher: Dispatcher, bot: Bot, settings: Settings, database: Database, i18n: I18n
) -> None:
    """Startup hook: the bot's governor wired to the database, and the reminder runtime
    (the sender, and the scheduler if this process wins the election: one per database)."""
    govern(bot, settings, database, i18n)
    metrics = dispatcher.get("metrics")
    if isinstance(metrics, Metrics):
        metrics.watch(bot)
    runtime = reminder_runtime(database, bot, settings)
    dispatcher["reminders"] = runtime
    await runtime.start()
    logger.info(
        "reminders: %s",
        "this process runs the scheduler"
        if runtime.elector.is_leader
        else "another process runs the scheduler; this one takes over if it stops",
    )


async def stop_reminders(dispatcher: Dispatcher) -> None:
    runtime: ReminderRuntime | None = dispatcher.workflow_data.pop("reminders", None)
    if runtime is not None:
        await runtime.stop()


def create_bot(settings: Settings) -> Bot:
    """A Bot whose every call goes through the governor, at TELEGRAM_RATE."""
    if settings.bot_token is None:
        raise RuntimeError("BOT_TOKEN is required to run the bot")
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/")))
        if settings.telegram_api_url
        else AiohttpSession()
    )
    bot = Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    install_governor(bot, Limits(rate=settings.telegram_rate))
    return bot


def webhook_secret(settings: Settings) -> str:
    """The same secret on every instance without one more variable: derived from the token."""
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    return hashlib.sha256(f"chatcrm-webhook:{token}".encode()).hexdigest()


class RedactingFormatter(logging.Formatter):
    """Keeps the bot token (it appears in Bot API URLs) out of logs and tracebacks."""

    def __init__(self, secrets: Iterable[str], fmt: str) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class JsonFormatter(RedactingFormatter):
    """LOG_FORMAT=json: one JSON object per line (time, level, logger, message, exc_info,
    pid), the secrets redacted as in the text format."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__(secrets, "%(message)s")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        text = json.dumps(entry, ensure_ascii=False, default=str)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    secrets = [settings.bot_token.get_secret_value()] if settings.bot_token else []
    if settings.smtp_password:
        secrets.append(settings.smtp_password.get_secret_value())
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter(secrets)
        if settings.log_format == "json"
        else RedactingFormatter(secrets, "%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


async def _serve(app: web.Application, settings: Settings) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host=settings.http_host, port=settings.http_port).start()
    return runner


async def _until_signalled(handle_signals: bool) -> None:
    stop = asyncio.Event()
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def main(
    settings: Settings,
    *,
    handle_signals: bool = True,
    polling_timeout: int = 10,
    routes: Iterable[RouteInstaller] = (),
    backoff: Backoff | None = None,
) -> None:
    """Wait for the database, migrate, wait for the Bot API, then serve: long polling by
    default, a webhook when WEBHOOK_URL is set."""
    database = Database.from_url(settings.database_url)
    bot: Bot | None = None
    runner: web.AppRunner | None = None
    try:
        await wait_for_database(database, backoff)
        await upgrade(database.engine)
        bot = create_bot(settings)
        me = await wait_for_bot_api(bot, backoff)
        logger.info("the Bot API answers: @%s", me.username)
        dp = create_dispatcher(settings, database)  # its shutdown closes the FSM storage
        govern(bot, settings, database, dp["i18n"])
        await set_bot_commands(bot, dp["i18n"])
        app = create_web_app(settings, database, bot=bot, dispatcher=dp, routes=routes)
        if settings.webhook_url:
            path = urlparse(settings.webhook_url).path or "/webhook"
            secret = webhook_secret(settings)
            CheckedRequestHandler(dp, bot, secret_token=secret).register(app, path=path)
            setup_application(app, dp, bot=bot)
            runner = await _serve(app, settings)
            await bot.set_webhook(
                settings.webhook_url,
                secret_token=secret,
                allowed_updates=dp.resolve_used_update_types(),
            )
            logger.info("serving the webhook on %s:%s", settings.http_host, settings.http_port)
            await _until_signalled(handle_signals)
        else:
            runner = await _serve(app, settings)
            await bot.delete_webhook(drop_pending_updates=False)
            logger.info("long polling; HTTP on %s:%s", settings.http_host, settings.http_port)
            polling = asyncio.ensure_future(
                dp.start_polling(
                    bot,
                    handle_signals=handle_signals,
                    polling_timeout=polling_timeout,
                    close_bot_session=False,
                )
            )
            try:
                await asyncio.shield(polling)
            except asyncio.CancelledError:
                # cancelled from outside (tests, an embedding program): stop polling the
                # way aiogram does on a signal, or its polling task outlives this one
                if not polling.done():
                    with contextlib.suppress(RuntimeError):
                        await dp.stop_polling()
                    await polling
                raise
    finally:
        if runner is not None:
            await runner.cleanup()
        if bot is not None:
            governor = governor_of(bot)
            if governor is not None:
                await governor.close()
            await bot.session.close()
        await database.dispose()


def run(settings: Settings) -> None:
    """`chatcrm run`: a configuration error is one line and exit code 2, before anything
    is written; a dependency that does not answer is waited for (bot/startup.py)."""
    problem = configuration_problem(settings)
    if problem:
        print(problem, file=sys.stderr)
        raise SystemExit(2)
    configure_logging(settings)
    try:
        asyncio.run(main(settings))
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
