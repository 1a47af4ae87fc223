"""`chatcrm status` and `chatcrm outbox`: the health of the database, Redis, the Bot API,
the reminder scheduler and the email outbox."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

import typer

from bot.cli.common import TELEGRAM_API
from bot.cli.common import shown as _shown
from bot.cli.common import upgrade as _upgrade
from bot.cli.common import with_database as _with_database
from crm import migrate
from crm.settings import Settings, load_settings_or_exit
from crm.storage import Database


async def _scheduler_status(database: Database) -> dict[str, Any]:
    """The scheduler's health as the database shows it, and whether any process leads.

    Whether a scheduler runs is found by trying its lock (the PostgreSQL advisory lock or
    the SQLite lock file): taken at once and given back if free, so nobody is displaced.
    """
    from crm.services import tasks
    from notifications.leader import LeaderElector
    from notifications.outbox_worker import outbox_health
    from notifications.reminders import scheduler_health

    report = await scheduler_health(database, None)
    report["outbox"] = await outbox_health(database)
    probe = LeaderElector(database)
    free = await probe.try_acquire()
    await probe.release()
    report["last_sent_at"] = await tasks.last_reminded_at(database.uow())
    report["running_elsewhere"] = not free
    return report


def status() -> None:
    """Database, Redis, Bot API, the reminder scheduler and the outbox (exit 1 if any is
    down or stuck)."""
    settings = load_settings_or_exit()
    problems: list[str] = []
    typer.echo(f"Database: {_shown(settings.database_url)}")
    try:
        current = _with_database(
            settings, lambda database: migrate.current_revision(database.engine)
        )
    except typer.Exit:  # _with_database printed why, in one line
        problems.append("the database does not answer")
    else:
        if current != migrate.head_revision():
            typer.echo(f"Database at revision {current or 'none'}: run `chatcrm db upgrade`")
            problems.append("the database is not migrated")
    from bot.health import probe_bot_api, probe_redis

    if settings.redis_url:
        redis_error = asyncio.run(probe_redis(settings.redis_url))
        typer.echo(
            f"Redis: {_shown(settings.redis_url)}: "
            + ("ok" if redis_error is None else f"DOWN ({redis_error})")
        )
        if redis_error is not None:
            problems.append("Redis does not answer: dialogs are unavailable")
    else:
        typer.echo("Redis: not used (dialogs are kept in the database)")
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    api_ok, api_text = asyncio.run(probe_bot_api(token, settings.telegram_api_url or TELEGRAM_API))
    typer.echo(f"Bot API: {api_text}")
    if not api_ok:
        problems.append("the Bot API cannot be reached")
    if not any(p.startswith("the database") for p in problems):
        report = _with_database(settings, _scheduler_status)
        _print_work(settings, report, problems)
    if problems:
        typer.echo("Not healthy: " + "; ".join(problems) + ".", err=True)
        raise typer.Exit(1)


def _print_work(settings: Settings, report: dict[str, Any], problems: list[str]) -> None:
    if report["running_elsewhere"]:
        running = "yes, in a bot process (it holds the scheduler lock)"
    elif settings.database_url.endswith(":memory:"):
        running = "unknown for an in-memory database"
    else:
        running = "NO: no bot process holds the scheduler lock; reminders are not being sent"
    last: datetime | None = report["last_sent_at"]
    typer.echo(f"Scheduler running: {running}")
    typer.echo("This process (the CLI) is not the leader: it only reads the database.")
    typer.echo(f"Last reminder sent: {f'{last:%Y-%m-%d %H:%M:%S} UTC' if last else 'never'}")
    typer.echo(f"Reminders pending: {report['pending']}")
    typer.echo(f"Overdue and not delivered: {report['overdue_undelivered']}")
    mail = report["outbox"]
    typer.echo(_outbox_line(mail))
    if not report["ok"] or not report["running_elsewhere"]:
        problems.append("reminders are late or nobody sends them: start the bot (`chatcrm run`)")
    if mail["stuck"]:
        problems.append(
            f"{mail['stuck']} emails are stuck in sending (a killed sender): they are sent again "
            "when a bot process runs the outbox"
        )


def _outbox_line(mail: dict[str, Any]) -> str:
    counts = mail["counts"]
    return (
        f"Outbox: {counts.get('pending', 0) + counts.get('sending', 0)} queued "
        f"({mail['due']} due now), {counts.get('sent', 0)} sent, "
        f"{counts.get('failed', 0)} failed, {mail['stuck']} stuck"
    )


async def _outbox_report(database: Database, retry: bool, event_id: int | None) -> Any:
    from crm.services import outbox
    from notifications.outbox_worker import outbox_health

    retried = await outbox.retry_failed(database.uow(), event_id=event_id) if retry else 0
    return retried, await outbox_health(database)


def outbox_command(
    retry_failed: Annotated[
        bool,
        typer.Option(
            "--retry-failed",
            help="Put the failed emails (not those of recipients who opted out) back in the "
            "queue with fresh attempts.",
        ),
    ] = False,
    event: Annotated[
        int | None, typer.Option(help="With --retry-failed: only this event's emails.")
    ] = None,
) -> None:
    """The outbox: emails by state, what is due, what is stuck (exit 1 if any is stuck)."""
    settings = load_settings_or_exit()
    _upgrade(settings)
    retried, mail = _with_database(
        settings, lambda database: _outbox_report(database, retry_failed, event)
    )
    if retry_failed:
        typer.echo(f"Put back in the queue: {retried}")
    counts = mail["counts"]
    for state in ("pending", "sending", "sent", "failed", "cancelled"):
        typer.echo(f"{state:>10}: {counts.get(state, 0)}")
    typer.echo(f"Due now: {mail['due']}")
    oldest = mail["oldest_due_at"]
    typer.echo(f"Oldest due since: {oldest + ' UTC' if oldest else '—'}")
    typer.echo(f"Stuck in sending past the lease: {mail['stuck']}")
    if not settings.mail_enabled:
        typer.echo("Mail is disabled (SMTP_HOST is not set): emails wait in the queue.")
    if mail["stuck"]:
        raise typer.Exit(1)
