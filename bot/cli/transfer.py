"""`chatcrm import` and `chatcrm export`."""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.common import Language, speaking
from bot.cli.common import acting as _acting
from bot.cli.common import fail as _fail
from bot.cli.common import upgrade as _upgrade
from bot.cli.common import with_database as _with_database
from crm.errors import CRMError, InvalidInput
from crm.settings import load_settings_or_exit
from crm.storage import Database


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


def import_file(
    file: Annotated[Path, typer.Argument(help="A CSV or XLSX file; its first row names columns.")],
    as_id: Annotated[
        int, typer.Option("--as", help="Telegram id of the member of staff who imports.")
    ],
    kind: Annotated[
        ImportKind | None,
        typer.Option(help="What the file holds (recognised from its header if not given)."),
    ] = None,
    lang: Annotated[
        Language, typer.Option(help="The language of the report and the refusals.")
    ] = Language.EN,
) -> None:
    """Import companies, contacts or sales as a member of staff; rejected rows are listed.

    The file is streamed (no row limit) and written in one transaction: all or nothing.
    The report and the reasons are the bot's words, in the language of --lang."""
    from aiogram.utils.i18n import gettext as _

    from bot.errors import describe
    from bot.shell import plain
    from crm.errors import AccessDenied
    from crm.services import imports
    from handlers.transfer.importing import file_refused, render_report

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

    with speaking(lang):
        try:
            report = _with_database(settings, run_import)
        except InvalidInput as exc:
            if exc.field == "file":
                params = {k: v for k, v in exc.params.items() if k not in ("field", "reason")}
                reason = file_refused(exc.reason, **params)
            else:
                reason = describe(exc)
            _fail(plain(reason) + "\n" + _("Nothing was imported."))
        except AccessDenied:
            _fail(_("Only heads and directors import sales.") + "\n" + _("Nothing was imported."))
        except CRMError as exc:
            _fail(plain(describe(exc)) + "\n" + _("Nothing was imported."))
        finally:
            if bar is not None:
                bar.close()
        typer.echo(plain(render_report(report, shown=None)))


def export_file(
    file: Annotated[Path, typer.Argument(help="The XLSX file to write.")],
    as_id: Annotated[
        int, typer.Option("--as", help="Telegram id of the member of staff whose view to export.")
    ],
    lang: Annotated[
        Language,
        typer.Option(help="The language of the sheets, the columns and the values."),
    ] = Language.EN,
) -> None:
    """Write an XLSX of everything a member of staff may see (the export is audited), in
    the bot's words in the language of --lang."""
    from aiogram.utils.i18n import gettext as _

    from crm.services import exports
    from handlers.transfer.export import export_labels

    settings = load_settings_or_exit()
    _upgrade(settings)

    async def run_export(database: Database) -> Any:
        actor = await _acting(database, as_id)
        return await exports.export_xlsx(
            database.uow(), actor, lambda text: _(text), export_labels()
        )

    with speaking(lang):
        result = _with_database(settings, run_export)
        try:
            file.write_bytes(result.content)
        except OSError as exc:
            _fail(f"Cannot write {file}: {exc.strerror or exc}")
        counts = ", ".join(f"{_(title).lower()}: {count}" for title, count in result.counts.items())
        typer.echo(
            _("Export written to {file} ({size} kB) — {counts}.").format(
                file=file, size=f"{len(result.content) / 1e3:.0f}", counts=counts
            )
        )
