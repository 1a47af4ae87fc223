"""Import of companies, contacts or sales from a CSV or XLSX file, with a report of rejected rows.

The file's header row names the columns (Russian or English, any case) and, unless the
caller says which, the kind of data. A worker process reads and checks the rows
(crm/services/imports/worker.py: encodings, XLSX bombs, a memory bound) and hands them
over in batches; the batches are written as they come (crm/services/imports/writers/)
in ONE transaction, committed only when the whole file has been read: a file refused
half-way (a bad encoding further down, a memory bound reached) writes nothing. A bad row
is reported with its number as the user sees it in the file (the header is row 1), the
field and the reason, and the others are imported. There is no row limit; the bot's
files are bounded by what Telegram lets a bot download (20 MB) and the command line's
by nothing but the disk.

Anyone imports companies and contacts (and becomes their curator); sales are revenue
facts of the whole company, so only heads and directors import them.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from crm.access import Actor, require_role
from crm.errors import InvalidInput
from crm.models.enums import Role
from crm.services.imports import files, worker
from crm.services.imports.cells import KINDS, Rejected, detect_kind, map_columns, parse_date
from crm.services.imports.files import (
    BOT_LIMITS,
    CLI_LIMITS,
    CSV_EXTENSIONS,
    XLSX_EXTENSIONS,
    Limits,
)
from crm.services.imports.writers import WRITERS, Writer
from crm.uow import UnitOfWork

MAX_BYTES = BOT_LIMITS.max_bytes or 0
Progress = Callable[[int, float | None], Awaitable[None]]  # rows read, fraction of the file
# imports this process ran, by result ("ok", "refused"): read by bot/metrics.py
RUNS: Counter[str] = Counter()

__all__ = [
    "BOT_LIMITS",
    "CLI_LIMITS",
    "CSV_EXTENSIONS",
    "KINDS",
    "MAX_BYTES",
    "XLSX_EXTENSIONS",
    "ImportReport",
    "Limits",
    "Rejected",
    "allowed_kinds",
    "detect_kind",
    "import_file",
    "import_path",
    "map_columns",
    "parse_date",
    "read_rows",
]


@dataclass
class ImportReport:
    kind: str
    rows: int = 0  # data rows read (empty rows not counted)
    created: int = 0
    skipped_duplicates: int = 0
    companies_created: int = 0  # companies a contacts file named that did not exist yet
    paid_marked: int = 0  # sales imported before that this file's paid dates marked paid
    rejected: list[Rejected] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    reader_memory: int = 0  # peak resident bytes of the worker that read the file


def allowed_kinds(actor: Actor) -> tuple[str, ...]:
    if actor.role in (Role.HEAD, Role.DIRECTOR):
        return KINDS
    return ("companies", "contacts")


async def import_path(
    uow: UnitOfWork,
    actor: Actor,
    path: Path,
    filename: str | None = None,
    kind: str | None = None,
    *,
    limits: Limits = CLI_LIMITS,
    progress: Progress | None = None,
) -> ImportReport:
    """Read, check and import one file; InvalidInput("file", ...) for a file that cannot be
    used at all (nothing is written then)."""
    try:
        report = await _import_path(uow, actor, path, filename, kind, limits, progress)
    except Exception:
        RUNS["refused"] += 1
        raise
    RUNS["ok"] += 1
    return report


async def _import_path(
    uow: UnitOfWork,
    actor: Actor,
    path: Path,
    filename: str | None,
    kind: str | None,
    limits: Limits,
    progress: Progress | None,
) -> ImportReport:
    if kind is not None and kind not in KINDS:
        raise InvalidInput("kind", "unknown_value", allowed=list(KINDS))
    if kind == "sales":
        require_role(actor, Role.HEAD, Role.DIRECTOR, entity="import")
    name = filename or path.name
    if not name.lower().endswith(CSV_EXTENSIONS + XLSX_EXTENSIONS):
        raise InvalidInput("file", "unsupported_format")
    report: ImportReport | None = None
    rejected: list[Rejected] = []
    writer: Writer | None = None
    async with uow:
        messages = worker.stream(path, name, kind, limits)
        try:
            async for message in messages:
                if message[0] == "header":
                    _, kind, ignored = message
                    if kind == "sales":
                        require_role(actor, Role.HEAD, Role.DIRECTOR, entity="import")
                    report = ImportReport(kind=kind, ignored_columns=ignored)
                    writer = WRITERS[kind](uow, actor, name)
                elif message[0] == "batch":
                    _, rows, refused, count, fraction = message
                    assert report is not None and writer is not None
                    rejected += refused
                    await writer.write(rows)
                    report.rows = count
                    if progress is not None:
                        await progress(count, fraction)
                elif message[0] == "done":
                    assert report is not None and writer is not None
                    report.reader_memory = message[2]
                    await writer.finish()
            if report is None or writer is None:
                raise InvalidInput("file", "empty")
            report.created = writer.created
            report.skipped_duplicates = writer.skipped
            report.companies_created = writer.companies_created
            report.paid_marked = getattr(writer, "paid", 0)
            report.rejected = sorted(rejected + writer.rejected, key=lambda r: r.row)
            await writer.close()  # before the connection goes back to the pool
            await uow.commit()
        finally:
            await messages.aclose()
            if writer is not None:  # refused half-way: put the connection back as it was
                with contextlib.suppress(Exception):  # the refusal matters, not this
                    await writer.close()
    return report


async def import_file(
    uow: UnitOfWork,
    actor: Actor,
    filename: str,
    content: bytes,
    kind: str | None = None,
    *,
    limits: Limits = BOT_LIMITS,
    progress: Progress | None = None,
) -> ImportReport:
    """`import_path` for a file held in memory (written to a temporary file first)."""
    if limits.max_bytes is not None and len(content) > limits.max_bytes:
        raise InvalidInput("file", "too_large", max_mb=limits.max_bytes // 1024**2)
    suffix = os.path.splitext(filename)[1]
    with tempfile.TemporaryDirectory(prefix="chatcrm-import-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        return await import_path(uow, actor, path, filename, kind, limits=limits, progress=progress)


def read_rows(filename: str, content: bytes, limits: Limits = BOT_LIMITS) -> list[list[object]]:
    """Every non-blank row of a small file, as read (for tests and previews)."""
    suffix = os.path.splitext(filename)[1]
    with tempfile.TemporaryDirectory(prefix="chatcrm-read-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        return [list(cells) for _, cells in files.rows(path, filename, limits)]
