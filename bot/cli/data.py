"""`chatcrm demo-data` and `chatcrm backup`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import fail as _fail
from bot.cli.common import shown as _shown
from bot.cli.common import upgrade as _upgrade
from bot.cli.common import with_database as _with_database
from crm.settings import load_settings_or_exit


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
