"""`chatcrm run`: the bot, its scheduler and its HTTP server."""

from __future__ import annotations

from bot.cli.common import fail as _fail
from bot.cli.common import with_database as _with_database
from crm import migrate
from crm.settings import load_settings_or_exit
from crm.storage import Database


def run() -> None:
    """Run the bot, its scheduler and its HTTP server (applies migrations first).

    A malformed BOT_TOKEN or a DATABASE_URL the driver cannot use is one line and exit
    code 2, before anything is written; a database or Bot API that does not answer yet
    is waited for, one log line per attempt.
    """
    settings = load_settings_or_exit()
    from bot.app import configure_logging  # the administration commands need no aiogram
    from bot.app import run as run_bot
    from bot.startup import ConfigurationError, configuration_problem, wait_for_database

    problem = configuration_problem(settings)
    if problem:
        _fail(problem, 2)
    configure_logging(settings)

    async def migrate_when_reachable(database: Database) -> None:
        await wait_for_database(database)
        await migrate.upgrade(database.engine)

    try:
        _with_database(settings, migrate_when_reachable)
    except ConfigurationError as exc:
        _fail(str(exc), 2)
    run_bot(settings)
