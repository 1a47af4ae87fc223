"""The bot's own HTTP server: /healthz, /readyz and /metrics; RSVP, unsubscribe and the webhook.

To add routes, write `def install(app: web.Application) -> None` that calls
`app.router.add_get(...)` (handlers read `request.app[DATABASE]`, `request.app[SETTINGS]`,
`request.app[BOT]`) and append it to ROUTE_INSTALLERS below, or pass it to
`create_web_app(..., routes=[install])`. A health check is an async callable returning
a dict with "ok": bool, added with `add_health_check(app, name, check)`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiogram import Bot, Dispatcher
from aiohttp import web

from bot.fsm_resilience import ResilientStorage
from bot.health import (
    DEPENDENCIES,
    BotApiCheck,
    database_check,
    redis_check,
    run_checks,
)
from bot.metrics import CONTENT_TYPE, Metrics
from crm.settings import Settings
from crm.storage import Database
from notifications import rsvp_web
from notifications.outbox_worker import OutboxWorker, outbox_health
from notifications.reminders import ReminderRuntime, scheduler_health

logger = logging.getLogger("chatcrm.web")

RouteInstaller = Callable[[web.Application], None]
HealthCheck = Callable[[], Awaitable[dict[str, Any]]]

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
BOT = web.AppKey("bot", Bot)
DISPATCHER = web.AppKey("dispatcher", Dispatcher)
HEALTH_CHECKS = web.AppKey("health_checks", dict)


def add_health_check(app: web.Application, name: str, check: HealthCheck) -> None:
    app[HEALTH_CHECKS][name] = check


async def _report(request: web.Request, names: Iterable[str] | None) -> web.Response:
    checks = request.app[HEALTH_CHECKS]
    wanted = {n: c for n, c in checks.items() if names is None or n in names}
    results = await run_checks(wanted)
    down = [name for name, result in results.items() if not result.get("ok", False)]
    for name in down:
        logger.warning("health check %s failed: %s", name, results[name].get("error", ""))
    body = {"status": "degraded" if down else "ok", "down": down, "checks": results}
    return web.json_response(body, status=503 if down else 200)


async def healthz(request: web.Request) -> web.Response:
    """Everything: the dependencies, and whether reminders and emails get out.
    503 naming what is down or stuck."""
    return await _report(request, None)


async def readyz(request: web.Request) -> web.Response:
    """Can this instance serve updates: database, Redis (when set), Bot API. 503 naming
    the dependency that is down (a load balancer sends its traffic elsewhere)."""
    return await _report(request, DEPENDENCIES)


def _runtime_of(app: web.Application) -> ReminderRuntime | None:
    dispatcher = app.get(DISPATCHER)
    return dispatcher.get("reminders") if dispatcher is not None else None


def _outbox_worker_of(app: web.Application) -> OutboxWorker | None:
    dispatcher = app.get(DISPATCHER)
    runtime = dispatcher.get("email_outbox") if dispatcher is not None else None
    worker = getattr(runtime, "worker", None)
    return (
        worker if isinstance(worker, OutboxWorker) and getattr(runtime, "leader", False) else None
    )


def install_health(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    database = app[DATABASE]
    add_health_check(app, "database", lambda: database_check(database))
    dispatcher = app.get(DISPATCHER)
    storage = dispatcher.storage if dispatcher is not None else None
    if isinstance(storage, ResilientStorage):
        add_health_check(app, "redis", lambda: redis_check(storage.redis))
    bot = app.get(BOT)
    if bot is not None:
        add_health_check(app, "bot_api", BotApiCheck(bot))
    add_health_check(app, "scheduler", lambda: scheduler_health(database, _runtime_of(app)))
    add_health_check(app, "outbox", lambda: outbox_health(database, _outbox_worker_of(app)))


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text format (bot/metrics.py): this instance's counters, and the outbox and
    reminders as the database shows them."""
    dispatcher = request.app.get(DISPATCHER)
    found = dispatcher.get("metrics") if dispatcher is not None else None
    if not isinstance(found, Metrics):
        return web.Response(status=404, text="no metrics without a dispatcher")
    await found.refresh(request.app[DATABASE], dispatcher)
    return web.Response(body=found.exposition(), headers={"Content-Type": CONTENT_TYPE})


def install_metrics(app: web.Application) -> None:
    app.router.add_get("/metrics", metrics)


# other areas add their installers here (health; the RSVP and unsubscribe pages are
# installed by create_web_app, which hands them the database and the public URL)
ROUTE_INSTALLERS: list[RouteInstaller] = [install_health, install_metrics]


def create_web_app(
    settings: Settings,
    database: Database,
    *,
    bot: Bot | None = None,
    dispatcher: Dispatcher | None = None,
    routes: Iterable[RouteInstaller] = (),
) -> web.Application:
    app = web.Application()
    app[SETTINGS] = settings
    app[DATABASE] = database
    if bot is not None:
        app[BOT] = bot
    if dispatcher is not None:
        app[DISPATCHER] = dispatcher
    app[HEALTH_CHECKS] = {}
    rsvp_web.install(app, database, settings.public_base_url)
    for install in (*ROUTE_INSTALLERS, *routes):
        install(app)
    return app
