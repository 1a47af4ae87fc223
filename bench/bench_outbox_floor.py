"""The database floor of the outbox on SQLite: its claims and marks alone.

    python -m bench.bench_outbox_floor [--emails 10000]

bench_outbox's (c) claims rows (pending → sending, 200 a statement, then one SELECT of
the batch's bodies) and marks them sent (4 a statement: one accepted row per
connection). Here the same statements run from plain sqlite3 in one thread (C, no
asyncio, no SQLAlchemy, no SMTP), on the bench's invitation rows twice:
  - as stored since migration 0016: the bodies (text, HTML, .ics: about 12 KB) in
    outbound_email_bodies, read once by the claim; the outbox row itself is small;
  - as stored before it (rebuilt here as a table of its own): the bodies in the outbox
    row. SQLite writes a whole record again whenever the row changes, so the claim and
    the mark each rewrote every row's bodies (its overflow pages) into the WAL.
The first figure bounds (c) on SQLite whatever the worker does: the sends of all
connections wait for these writes (one writer at a time, and a connection's next DATA
waits for its last mark).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from bench.bench_outbox import items, queue_rows
from crm.migrate import upgrade
from crm.storage import Database

NOW = "2026-03-02 09:00:00.000000"
CLAIM = 200
MARK = 4
RETURNED = (
    "id, dedupe_key, to_addr, subject, attempts, message_id, kind, invitee_id,"
    " unsubscribe_token, sender_name"
)
BODIES = "body_text, body_html, ics"
# the outbox row before 0016, its columns in their order then
BEFORE_0016 = (
    f"id, dedupe_key, to_addr, subject, {BODIES}, status, attempts, last_error, created_at,"
    " next_attempt_at, claimed_at, sent_at, kind, event_id, invitee_id, contact_id, mailing_id,"
    " message_id, error_code, sender_name, unsubscribe_token"
)


async def prepare(path: Path, count: int) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{path}")
    await upgrade(db.engine)
    await queue_rows(db, items(count), "floor")
    await db.dispose()


def rebuild_before_0016(conn: sqlite3.Connection) -> None:
    """`fat`: the same rows with the bodies in the outbox row, as before migration 0016."""
    conn.execute(
        f"CREATE TABLE fat AS SELECT {BEFORE_0016} FROM outbound_emails"
        " JOIN outbound_email_bodies ON email_id = id"
    )
    conn.execute("CREATE INDEX ix_fat_status ON fat (status, next_attempt_at)")
    conn.execute("CREATE UNIQUE INDEX ix_fat_id ON fat (id)")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def claim_and_mark(conn: sqlite3.Connection, table: str) -> tuple[int, float, float]:
    """Every row claimed and marked; (rows, wall seconds, CPU seconds)."""
    returned = RETURNED if table == "outbound_emails" else f"{RETURNED}, {BODIES}"
    wall, cpu = time.perf_counter(), time.process_time()
    done = 0
    while True:
        conn.execute("BEGIN IMMEDIATE")
        rows = conn.execute(
            f"UPDATE {table} SET status = 'sending', attempts = attempts + 1, claimed_at = ?"
            f" WHERE id IN (SELECT id FROM {table} WHERE status = 'pending'"
            " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
            " ORDER BY created_at, id LIMIT ?)"
            f" AND status = 'pending' RETURNING {returned}",
            (NOW, NOW, CLAIM),
        ).fetchall()
        ids = [row[0] for row in rows]
        if table == "outbound_emails" and ids:
            marks = ", ".join("?" * len(ids))
            conn.execute(
                f"SELECT email_id, {BODIES} FROM outbound_email_bodies WHERE email_id IN ({marks})",
                ids,
            ).fetchall()
        conn.execute("COMMIT")
        if not ids:
            break
        done += len(ids)
        for start in range(0, len(ids), MARK):
            chunk = ids[start : start + MARK]
            conn.execute(
                f"UPDATE {table} SET status = 'sent', sent_at = ?, next_attempt_at = NULL,"
                " last_error = NULL, error_code = NULL"
                f" WHERE id IN ({', '.join('?' * len(chunk))}) AND status = 'sending'",
                (NOW, *chunk),
            )
    return done, time.perf_counter() - wall, time.process_time() - cpu


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "floor.db"
        asyncio.run(prepare(path, count))
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # as crm/db.py sets it
        rebuild_before_0016(conn)
        one, five, fifteen = os.getloadavg()
        print(f"emails: {count}; load average {one:.2f}, {five:.2f}, {fifteen:.2f}")
        for table, label in (
            ("outbound_emails", "bodies in a table of their own (since 0016)"),
            ("fat", "bodies in the outbox row (before 0016)"),
        ):
            rows, wall, cpu = claim_and_mark(conn, table)
            print(
                f"{label}: {rows / wall:6.0f} rows/s claimed and marked"
                f" ({wall:.2f} s), CPU {cpu / rows * 1e6:.0f} µs a row"
            )
        conn.close()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=10_000)
    main(parser.parse_args().emails)


if __name__ == "__main__":
    cli()
