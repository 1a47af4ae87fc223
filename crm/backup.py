"""A consistent copy of the SQLite database, taken while the bot keeps writing.

SQLite's online backup API copies every page inside one read transaction; in WAL
mode that transaction sees one snapshot and does not block the writers, so the
copy holds exactly the transactions committed before it began. The copy is made
next to the target under a temporary name, checked with `PRAGMA integrity_check`
and only then renamed into place. PostgreSQL has its own tool for this: pg_dump.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup could not be made; the message says why, for the operator."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    pages: int


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        raise BackupError(
            "PostgreSQL is backed up with its own tool, pg_dump: "
            f"pg_dump --format=custom --file=chatcrm.dump {url.database or '<database>'}"
        )
    if url.get_backend_name() != "sqlite":
        raise BackupError(f"{url.get_backend_name()} databases are backed up with their own tools")
    if not url.database or url.database == ":memory:" or url.database.startswith("file::memory"):
        raise BackupError("an in-memory database cannot be backed up")
    path = Path(url.database)
    if not path.is_file():
        raise BackupError(f"database file {path} does not exist")
    return path


def _target(target: Path, overwrite: bool) -> Path:
    if target.is_dir():
        target = target / f"chatcrm-{datetime.now(UTC):%Y%m%d-%H%M%S}.db"
    if target.exists() and not overwrite:
        raise BackupError(f"{target} already exists (use --force to overwrite it)")
    if not target.parent.is_dir():
        raise BackupError(f"directory {target.parent} does not exist")
    return target


def backup(database_url: str, target: Path | str, *, overwrite: bool = False) -> BackupResult:
    """Copy the SQLite database at `database_url` to `target` (a file or a directory)."""
    source_path = sqlite_path(database_url)
    final = _target(Path(target), overwrite)
    partial = final.with_name(f".{final.name}.partial-{os.getpid()}")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(source_path, timeout=30)
    try:
        dest = sqlite3.connect(partial)
        try:
            source.execute("PRAGMA busy_timeout=30000")
            # pages=-1: every page in one step, hence one snapshot however busy the writers are
            source.backup(dest, pages=-1)
            dest.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            verdict = dest.execute("PRAGMA integrity_check").fetchone()[0]
            pages = dest.execute("PRAGMA page_count").fetchone()[0]
        finally:
            dest.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup failed: {exc}") from exc
    finally:
        source.close()
    if verdict != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {verdict}")
    os.replace(partial, final)
    return BackupResult(final, final.stat().st_size, pages)
