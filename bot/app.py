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
import logging
import signal
import sys
from collections.abc import Iterable
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.areas import CARD_ROWS, routers
from bot.commands import set_bot_commands
from bot.errors import setup_errors
from bot.fsm_storage import create_storage
from bot.i18n import LocaleMiddleware, create_i18n
from bot.middlewares import CommandEndsDialog, DatabaseMiddleware, RegisteredOnlyMiddleware
from bot.web import RouteInstaller, create_web_app
from crm.migrate import upgrade
from crm.services import playbooks
from crm.settings import Settings
from crm.storage import Database
from handlers.cards.view import CardView
from handlers.claims import render_notice
from notifications import claims_notify
from notifications import digests as daily_digests
from notifications import email as email_outbox
from notifications.reminders import ReminderRuntime
from notifications.telegram_sender import TelegramSender

logger = logging.getLogger("chatcrm.bot")


def create_dispatcher(
    settings: Settings, database: Database, storage: BaseStorage | None = None
) -> Dispatcher:
    storage = storage or create_storage(settings, database)
    isolation = (
        storage.create_isolation() if isinstance(storage, RedisStorage) else SimpleEventIsolation()
    )
    dp = Dispatcher(storage=storage, events_isolation=isolation, name="chatcrm")
    i18n = create_i18n()
    dp["settings"] = settings
    dp["database"] = database
    dp["i18n"] = i18n
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
    # the outbox worker (invitation emails) joins it too, every 30 s
    email_outbox.setup(dp)

    # order matters: who acts, then in which language, then the door for strangers
    dp.update.outer_middleware(DatabaseMiddleware(database))
    dp.update.outer_middleware(LocaleMiddleware(i18n))
    dp.update.outer_middleware(RegisteredOnlyMiddleware())
    dp.errors.outer_middleware(LocaleMiddleware(i18n))
    dp.message.outer_middleware(CommandEndsDialog())
    setup_errors(dp)
    dp.include_routers(*routers())
    return dp


# Telegram allows about 30 messages/s overall. Sent at exactly 30/s, network jitter now and
# then bunches 31 requests into one second: a 429 and a pause for every chat. A small
# margin keeps the flow steady (bench/bench_reminders.py against a stand-in enforcing
# 30/s: sender at 30/s -> 51 % of the limit achieved; at 29/s -> 97 %, no 429 at all).
SEND_RATE = 29.0


def reminder_runtime(database: Database, bot: Bot, settings: Settings) -> ReminderRuntime:
    return ReminderRuntime(
        database,
        bot,
        sender=TelegramSender(bot, rate=SEND_RATE),
        timezone=settings.default_timezone,
    )


async def start_reminders(
    dispatcher: Dispatcher, bot: Bot, settings: Settings, database: Database
) -> None:
    """Startup hook: the reminder runtime (the sender, and the scheduler if this process
    wins the election: one per database)."""
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
    if settings.bot_token is None:
        raise RuntimeError("BOT_TOKEN is required to run the bot")
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url.rstrip("/")))
        if settings.telegram_api_url
        else None
    )
    return Bot(
        settings.bot_token.get_secret_value(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )


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


def configure_logging(settings: Settings, level: int = logging.INFO) -> None:
    secrets = [settings.bot_token.get_secret_value()] if settings.bot_token else []
    if settings.smtp_password:
        secrets.append(settings.smtp_password.get_secret_value())
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter(secrets, "%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


async def _serve(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host="0.0.0.0", port=port).start()
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
) -> None:
    """Migrate, then serve: long polling by default, a webhook when WEBHOOK_URL is set."""
    database = Database.from_url(settings.database_url)
    bot: Bot | None = None
    runner: web.AppRunner | None = None
    try:
        await upgrade(database.engine)
        bot = create_bot(settings)
        dp = create_dispatcher(settings, database)  # its shutdown closes the FSM storage
        await set_bot_commands(bot, dp["i18n"])
        app = create_web_app(settings, database, bot=bot, dispatcher=dp, routes=routes)
        if settings.webhook_url:
            path = urlparse(settings.webhook_url).path or "/webhook"
            secret = webhook_secret(settings)
            SimpleRequestHandler(dp, bot, secret_token=secret).register(app, path=path)
            setup_application(app, dp, bot=bot)
            runner = await _serve(app, settings.http_port)
            await bot.set_webhook(
                settings.webhook_url,
                secret_token=secret,
                allowed_updates=dp.resolve_used_update_types(),
            )
            logger.info("serving the webhook on port %s", settings.http_port)
            await _until_signalled(handle_signals)
        else:
            runner = await _serve(app, settings.http_port)
            await bot.delete_webhook(drop_pending_updates=False)
            logger.info("long polling; HTTP on port %s", settings.http_port)
            await dp.start_polling(
                bot,
                handle_signals=handle_signals,
                polling_timeout=polling_timeout,
                close_bot_session=False,
            )
    finally:
        if runner is not None:
            await runner.cleanup()
        if bot is not None:
            await bot.session.close()
        await database.dispose()


def run(settings: Settings) -> None:
    if settings.bot_token is None:
        print("Configuration error: BOT_TOKEN is required to run the bot", file=sys.stderr)
        raise SystemExit(2)
    configure_logging(settings)
    asyncio.run(main(settings))
