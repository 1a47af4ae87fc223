"""`chatcrm db`: database migrations."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import shown as _shown
from bot.cli.common import upgrade as _upgrade
from bot.cli.common import with_database as _with_database
from crm import migrate
from crm.settings import Settings, load_settings_or_exit

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


def _report_revision(settings: Settings) -> None:
    current = _with_database(settings, lambda database: migrate.current_revision(database.engine))
    head = migrate.head_revision()
    state = "up to date" if current == head else "run `chatcrm db upgrade`"
    typer.echo(
        f"{_shown(settings.database_url)}: revision {current or 'none'} (head {head}, {state})"
    )


@app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations up to REVISION (the latest by default)."""
    settings = load_settings_or_exit()
    _upgrade(settings, revision)
    _report_revision(settings)


@app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision ('base' removes every table).")],
) -> None:
    """Revert migrations down to REVISION."""
    settings = load_settings_or_exit()
    _with_database(settings, lambda database: migrate.downgrade(database.engine, revision))
    _report_revision(settings)


@app.command("current")
def db_current() -> None:
    """Show the revision the database is at."""
    _report_revision(load_settings_or_exit())
