"""`chatcrm`: the operator's command line (run the bot, migrations, invites, demo data, backup).

Every command reads the operator contract (environment and `.env`); a bad variable
is reported in one line naming it, with exit code 2 and no traceback.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli_common import acting as _acting
from bot.cli_common import fail as _fail
from bot.cli_common import shown as _shown
from bot.cli_common import upgrade as _upgrade
from bot.cli_common import with_database as _with_database
from bot.cli_duplicates import duplicates
from crm import migrate
from crm.errors import CRMError, InvalidInput
from crm.models.enums import Role
from crm.settings import Settings, load_settings_or_exit
from crm.storage import Database

TELEGRAM_API = "https://api.telegram.org"

app = typer.Typer(
    name="chatcrm",
    help="ChatCRM, a CRM that lives in Telegram: run the bot and administer it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold the bot token
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
analytics_app = typer.Typer(help="The sales rollups the reports read.", no_args_is_help=True)
app.add_typer(analytics_app, name="analytics")


# --- run ----------------------------------------------------------------------------------


@app.command()
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


# --- db -----------------------------------------------------------------------------------


def _report_revision(settings: Settings) -> None:
    current = _with_database(settings, lambda database: migrate.current_revision(database.engine))
    head = migrate.head_revision()
    state = "up to date" if current == head else "run `chatcrm db upgrade`"
    typer.echo(
        f"{_shown(settings.database_url)}: revision {current or 'none'} (head {head}, {state})"
    )


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (the latest by default)."""
    settings = load_settings_or_exit()
    _upgrade(settings, revision)
    _report_revision(settings)


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision ('base' removes every table).")],
) -> None:
    """Revert migrations down to REVISION."""
    settings = load_settings_or_exit()
    _with_database(settings, lambda database: migrate.downgrade(database.engine, revision))
    _report_revision(settings)


@db_app.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    _report_revision(load_settings_or_exit())


# --- invite -------------------------------------------------------------------------------


async def _department_id(database: Database, name: str, create: bool) -> int:
    from crm.services import team

    try:
        department, created = await team.department(database.uow(), name, create=create)
    except InvalidInput as exc:
        if exc.reason != "not_found":
            raise
        known = ", ".join(exc.params["known"]) or "none yet"
        _fail(
            f"No department {exc.params['name']!r} (existing: {known}); "
            "add --create-department to create it."
        )
    if created:
        typer.echo(f"Created department {department.name!r}.")
    return department.id


async def _bot_username(settings: Settings) -> str | None:
    """The bot's @username from getMe, or None when there is no token or no answer."""
    if settings.bot_token is None:
        return None
    import aiohttp

    base = (settings.telegram_api_url or TELEGRAM_API).rstrip("/")
    url = f"{base}/bot{settings.bot_token.get_secret_value()}/getMe"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(url) as response,
        ):
            payload = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    if not isinstance(payload, dict) or not payload.get("ok"):
        return None
    return (payload.get("result") or {}).get("username")


@app.command()
def invite(
    role: Annotated[Role, typer.Argument(help="Role of the new member of staff.")],
    department: Annotated[
        str | None, typer.Option("--department", "-d", help="Department name.")
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=90, help="Days the code stays valid.")] = 7,
    create_department: Annotated[
        bool, typer.Option("--create-department", help="Create the department if it is new.")
    ] = False,
) -> None:
    """Make a single-use invite code (and its t.me deep link) for a new member of staff."""
    from crm.services import people

    settings = load_settings_or_exit()
    _upgrade(settings)

    async def make(database: Database) -> Any:
        department_id = None
        if department is not None:
            department_id = await _department_id(database, department, create_department)
        return await people.operator_invite(database.uow(), role, department_id, days)

    try:
        created = _with_database(settings, make)
    except CRMError as exc:
        _fail(f"Error: {exc}")
    username = asyncio.run(_bot_username(settings))
    where = f" in {department}" if department else ""
    expires: datetime = created.expires_at
    typer.echo(f"Invite for a {role.value}{where}, valid until {expires:%Y-%m-%d %H:%M} UTC")
    typer.echo(f"Code: {created.code}")
    if username:
        typer.echo(f"Link: https://t.me/{username}?start={created.code}")
    else:
        typer.echo(f"The new member sends the bot: /start {created.code}")
    if role is Role.HEAD and department is None:
        typer.echo("Note: a head without a department sees only their own clients.", err=True)


# --- demo data and backup -----------------------------------------------------------------


@app.command("demo-data")
def demo_data(
    companies: Annotated[int, typer.Option(min=1, max=100_000, help="How many companies.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same data.")] = 1,
    force: Annotated[
        bool, typer.Option("--force", help="Add the data even if there are companies already.")
    ] = False,
) -> None:
    """Fill the database with a realistic demo sales organisation (departments to sales)."""
    from crm import demo

    settings = load_settings_or_exit()
    _upgrade(settings)
    started = time.perf_counter()
    try:
        counts = _with_database(
            settings, lambda database: demo.generate(database, companies, seed, force=force)
        )
    except demo.DemoRefused as exc:
        _fail(f"Refused: {exc}.")
    elapsed = time.perf_counter() - started
    typer.echo(f"Demo data written to {_shown(settings.database_url)} in {elapsed:.1f} s:")
    for name in ("departments", "managers", "products", "companies", "contacts", "deals"):
        typer.echo(f"  {name:<14}{getattr(counts, name):>7}")
    for name in ("deal_lines", "stage_changes", "interactions", "sales", "inquiries"):
        typer.echo(f"  {name.replace('_', ' '):<14}{getattr(counts, name):>7}")
    typer.echo("Staff have fake Telegram ids; invite yourself with `chatcrm invite director`.")


@app.command()
def backup(
    path: Annotated[Path, typer.Argument(help="Target file, or a directory for a dated file.")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Copy the SQLite database consistently, even while the bot is running."""
    from crm.backup import BackupError
    from crm.backup import backup as make_backup

    settings = load_settings_or_exit()
    try:
        result = make_backup(settings.database_url, path, overwrite=force)
    except BackupError as exc:
        _fail(f"Backup not made: {exc}")
    typer.echo(f"Backup written to {result.path} ({result.size / 1e6:.1f} MB, integrity ok)")


# --- status -------------------------------------------------------------------------------


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


@app.command()
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


@app.command("outbox")
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


# --- how the company's emails present it --------------------------------------------------


async def _mail_identity(database: Database, tg_id: int, values: dict[str, str | None]) -> Any:
    from crm.services import company_settings

    actor = await _acting(database, tg_id)
    for key, value in values.items():
        if value is not None:
            await company_settings.set_mail_setting(database.uow(), actor, key, value)
    return await company_settings.mail_identity(database.uow())


@app.command("mail-identity")
def mail_identity(
    as_id: Annotated[int, typer.Option("--as", help="Telegram id of a director.")],
    company_name: Annotated[
        str | None, typer.Option(help="The organiser's company name on invitations.")
    ] = None,
    sender_name: Annotated[
        str | None, typer.Option(help="The From name of invitations and mailings.")
    ] = None,
    signature: Annotated[
        str | None,
        typer.Option(help="The signature under invitations and mailings (\\n: a new line)."),
    ] = None,
) -> None:
    """Show or set (directors) how the company's emails present it; "" unsets a value."""
    settings = load_settings_or_exit()
    _upgrade(settings)
    values = {
        "company_name": company_name,
        "sender_name": sender_name,
        "signature": signature.replace("\\n", "\n") if signature is not None else None,
    }
    try:
        identity = _with_database(settings, lambda db: _mail_identity(db, as_id, values))
    except CRMError as exc:
        _fail(f"Not changed: {exc}")
    typer.echo(f"Company name: {identity.company_name or '—'}")
    typer.echo(f"Sender name: {identity.sender_name or '—'}")
    typer.echo("Signature: " + (identity.signature.replace("\n", " / ") or "—"))


# --- shell --------------------------------------------------------------------------------

SHELL_USER_ID = 1


async def _shell(settings: Settings, tg_id: int | None, language: str) -> None:
    from aiogram.types import User

    from bot.shell import HELP, Shell
    from crm.services import team

    database = Database.from_url(settings.database_url)
    try:
        if tg_id is None:
            staff = await team.roster(database.uow())
            if not staff:
                tg_id = SHELL_USER_ID
                settings = settings.model_copy(
                    update={"admin_ids": settings.admin_ids | {SHELL_USER_ID}}
                )
                typer.echo("Nobody is registered yet: type /start to become the director.")
            else:
                for number, (_, name, role) in enumerate(staff, 1):
                    typer.echo(f"  {number:>2}. {name} ({role})")
                choice = typer.prompt("Talk to the bot as", type=int, default=1)
                if not 1 <= choice <= len(staff):
                    _fail("No such number.")
                tg_id = staff[choice - 1][0]
        user = User(id=tg_id, is_bot=False, first_name="Shell", language_code=language)
        shell = Shell(settings, database, user, out=typer.echo)
        typer.echo(HELP)
        try:
            while True:
                try:
                    line = await asyncio.to_thread(input, "you> ")
                except EOFError:
                    break
                if line.strip():
                    await shell.say(line)
        finally:
            await shell.close()
    finally:
        await database.dispose()


@app.command()
def shell(
    as_id: Annotated[
        int | None, typer.Option("--as", help="Telegram id of the member of staff to be.")
    ] = None,
    lang: Annotated[str, typer.Option(help="Telegram language of that user: ru or en.")] = "en",
) -> None:
    """Talk to the bot in the terminal, without Telegram: same handlers, same database."""
    settings = load_settings_or_exit()
    _upgrade(settings)
    asyncio.run(_shell(settings, as_id, lang))


# --- import and export --------------------------------------------------------------------


class _ProgressBar:
    """A one-line bar on the terminal: how much of the file is read, rows, rows a second."""

    WIDTH = 30

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.monotonic()
        self.shown = False

    async def show(self, rows: int, fraction: float | None) -> None:
        rate = rows / max(time.monotonic() - self.started, 1e-6)
        if fraction is None:
            bar = ""
        else:
            filled = int(fraction * self.WIDTH)
            bar = f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction * 100:3.0f} % "
        sys.stderr.write(f"\r{self.name}: {bar}{rows:,} rows, {rate:,.0f} rows/s ")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


class ImportKind(StrEnum):
    COMPANIES = "companies"
    CONTACTS = "contacts"
    SALES = "sales"


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="A CSV or XLSX file; its first row names columns.")],
    as_id: Annotated[
        int, typer.Option("--as", help="Telegram id of the member of staff who imports.")
    ],
    kind: Annotated[
        ImportKind | None,
        typer.Option(help="What the file holds (recognised from its header if not given)."),
    ] = None,
) -> None:
    """Import companies, contacts or sales as a member of staff; rejected rows are listed.

    The file is streamed (no row limit) and written in one transaction: all or nothing."""
    from crm.errors import AccessDenied, InvalidInput
    from crm.services import imports

    settings = load_settings_or_exit()
    if not file.is_file():
        _fail(f"Cannot read {file}: no such file")
    _upgrade(settings)
    bar = _ProgressBar(file.name) if sys.stderr.isatty() else None

    async def run_import(database: Database) -> Any:
        actor = await _acting(database, as_id)
        return await imports.import_path(
            database.uow(),
            actor,
            file,
            kind=kind.value if kind else None,
            limits=imports.CLI_LIMITS,
            progress=bar.show if bar is not None else None,
        )

    try:
        report = _with_database(settings, run_import)
    except InvalidInput as exc:
        details = ", ".join(
            f"{k} {v}" for k, v in exc.params.items() if k not in ("field", "reason")
        )
        _fail(
            f"Refused, nothing imported: {exc.field} {exc.reason}"
            + (f" ({details})" if details else "")
        )
    except AccessDenied:
        _fail("Refused, nothing imported: only heads and directors import sales.")
    except CRMError as exc:
        _fail(f"Refused, nothing imported: {exc}")
    finally:
        if bar is not None:
            bar.close()
    typer.echo(
        f"Imported {report.kind} from {file.name}: {report.rows} rows read, "
        f"{report.created} added, {report.skipped_duplicates} already there (skipped), "
        f"{len(report.rejected)} rejected."
    )
    if report.companies_created:
        typer.echo(f"New companies for the contacts: {report.companies_created}.")
    for item in report.rejected:
        typer.echo(f"  row {item.row}: {item.field} {item.reason}")
    if report.ignored_columns:
        typer.echo(f"Columns not used: {', '.join(report.ignored_columns)}")


@app.command("export")
def export_file(
    file: Annotated[Path, typer.Argument(help="The XLSX file to write.")],
    as_id: Annotated[
        int, typer.Option("--as", help="Telegram id of the member of staff whose view to export.")
    ],
) -> None:
    """Write an XLSX of everything a member of staff may see (the export is audited)."""
    from crm.services import exports

    settings = load_settings_or_exit()
    _upgrade(settings)

    async def run_export(database: Database) -> Any:
        return await exports.export_xlsx(database.uow(), await _acting(database, as_id))

    result = _with_database(settings, run_export)
    try:
        file.write_bytes(result.content)
    except OSError as exc:
        _fail(f"Cannot write {file}: {exc.strerror or exc}")
    counts = ", ".join(f"{title.lower()} {count}" for title, count in result.counts.items())
    typer.echo(f"Export written to {file} ({len(result.content) / 1e3:.0f} kB): {counts}.")


# --- analytics ----------------------------------------------------------------------------


def _figures(values: tuple[int, int, int] | None) -> str:
    if values is None:
        return "nothing"
    revenue, cost, sales = values
    return f"revenue {revenue / 100:.2f}, cost {cost / 100:.2f}, {sales} sales"


@analytics_app.command("verify")
def analytics_verify(
    repair: Annotated[
        bool, typer.Option("--repair", help="Rewrite the rollups from the sales if they differ.")
    ] = False,
) -> None:
    """Recompute the monthly sales rollups from the sales and report every difference
    (exit 1 if there is one and --repair was not given)."""
    from crm.analytics import rollups

    settings = load_settings_or_exit()
    _upgrade(settings)

    async def check(database: Database) -> tuple[list[Any], list[Any]]:
        async with database.uow().read_only() as uow:
            found = await rollups.verify(uow.session)
        if not (repair and found):
            return found, []
        async with database.uow() as uow:
            await rollups.rebuild(uow.session)
            left = await rollups.verify(uow.session)
            await uow.commit()
        return found, left

    found, left = _with_database(settings, check)
    if not found:
        typer.echo("The sales rollups match the sales.")
        return
    for diff in found[:50]:
        typer.echo(
            f"  {diff.kind} {diff.key}, {diff.month:%Y-%m}: stored {_figures(diff.stored)}; "
            f"the sales say {_figures(diff.expected)}"
        )
    if len(found) > 50:
        typer.echo(f"  …and {len(found) - 50} more")
    if not repair:
        _fail(f"{len(found)} rollup rows differ from the sales: run with --repair to fix them.")
    if left:
        _fail(f"{len(left)} rollup rows still differ after the repair.")
    typer.echo(f"Repaired: {len(found)} rollup rows rewritten from the sales.")


# --- doctor -------------------------------------------------------------------------------


@app.command()
def doctor() -> None:
    """List the records that disagree with the rules (a deal's amount and its lines, a won
    deal's sale and its lines); nothing is changed. Exit 1 if there is one."""
    from crm.services.doctor import deal_disagreements

    settings = load_settings_or_exit()
    _upgrade(settings)

    async def check(database: Database) -> list[Any]:
        async with database.uow().read_only() as uow:
            return await deal_disagreements(uow.session)

    found = _with_database(settings, check)
    if not found:
        typer.echo("No disagreements found.")
        return
    for item in found[:50]:
        typer.echo(
            f"  deal {item.deal_id} «{item.title}» ({item.stage}): {item.what} {item.stored}, "
            f"expected {item.expected}"
        )
    if len(found) > 50:
        typer.echo(f"  …and {len(found) - 50} more")
    _fail(f"{len(found)} disagreements found; nothing was changed.")


# --- digest -------------------------------------------------------------------------------


async def _digest(database: Database, tg_id: int) -> str | None:
    import html
    import re

    from bot.i18n import create_i18n
    from crm.services import team
    from notifications.digests import render_for

    manager = await team.by_tg_id(database.uow(), tg_id)
    if manager is None:
        return None
    text, _chart = await render_for(database, create_i18n(), manager)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


async def _send_digests(settings: Settings, database: Database, tg_id: int | None) -> int:
    """Send the digest now to one member of staff, or to every active head and director."""
    from bot.app import create_bot
    from bot.i18n import create_i18n
    from crm.analytics.digest import recipients
    from notifications.digests import render_for, send_digest

    staff = await recipients(database.uow(), tg_id)
    if tg_id is not None and not staff:
        return -1
    i18n = create_i18n()
    bot = create_bot(settings)
    sent = 0
    try:
        for manager in staff:
            text, chart = await render_for(database, i18n, manager)
            sent += await send_digest(bot, manager.tg_id, text, chart)
    finally:
        await bot.session.close()
    return sent


@app.command()
def digest(
    as_id: Annotated[
        int | None,
        typer.Option("--as", help="Telegram id of the member of staff (with --send: optional)."),
    ] = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="Send it now through Telegram (needs BOT_TOKEN): to --as, or without it to "
            "every head and director.",
        ),
    ] = False,
) -> None:
    """Print the daily digest of a member of staff as the bot would send it now, or send
    the digests now."""
    settings = load_settings_or_exit()
    if send:
        if settings.bot_token is None:
            _fail("BOT_TOKEN is needed to send digests through Telegram.", 2)
        sent = _with_database(settings, lambda database: _send_digests(settings, database, as_id))
        if sent < 0:
            _fail(f"Nobody with Telegram id {as_id} is registered.")
        typer.echo(f"Digests sent: {sent}.")
        return
    if as_id is None:
        _fail("Say whose digest to print: --as TG_ID (or --send to send them all now).", 2)
    text = _with_database(settings, lambda database: _digest(database, as_id))
    if text is None:
        _fail(f"Nobody with Telegram id {as_id} is registered.")
    typer.echo(text)

app.command("duplicates")(duplicates)


def main() -> None:
    app(prog_name="chatcrm")


if __name__ == "__main__":
    main()
