"""The bot's own HTTP server: health now; RSVP, unsubscribe and the webhook are added to it.

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
from sqlalchemy import text

from crm.settings import Settings
from crm.storage import Database
from notifications import rsvp_web
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


async def _database_check(database: Database) -> dict[str, Any]:
    async with database.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return {"ok": True}


async def healthz(request: web.Request) -> web.Response:
    checks: dict[str, dict[str, Any]] = {}
    for name, check in request.app[HEALTH_CHECKS].items():
        try:
            checks[name] = await check()
        except Exception as exc:  # a failing check is reported, not raised
            logger.warning("health check %s failed: %s", name, type(exc).__name__)
            checks[name] = {"ok": False, "error": type(exc).__name__}
    healthy = all(c.get("ok", False) for c in checks.values())
    body = {"status": "ok" if healthy else "degraded", "checks": checks}
    return web.json_response(body, status=200 if healthy else 503)


def _runtime_of(app: web.Application) -> ReminderRuntime | None:
    dispatcher = app.get(DISPATCHER)
    return dispatcher.get("reminders") if dispatcher is not None else None


def install_health(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    add_health_check(app, "scheduler", lambda: scheduler_health(app[DATABASE], _runtime_of(app)))


# other areas add their installers here (scheduler health; the RSVP and unsubscribe pages
# are installed by create_web_app, which hands them the database and the public URL)
ROUTE_INSTALLERS: list[RouteInstaller] = [install_health]


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
    add_health_check(app, "database", lambda: _database_check(database))
    rsvp_web.install(app, database, settings.public_base_url)
    for install in (*ROUTE_INSTALLERS, *routes):
        install(app)
    return app
