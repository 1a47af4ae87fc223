"""The outbox's bodies in a table of their own (migration 0016): queued with their row in
one transaction, read back by the claim, carried over by the migration both ways."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from crm.migrate import downgrade, upgrade
from crm.models import OutboundEmail, OutboundEmailBody
from crm.models.base import UTCDateTime
from crm.services import outbox
from crm.services.outbox import claiming
from crm.services.outbox.marking import _mark_sent_sql
from crm.storage import Database

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


async def test_queue_writes_the_row_and_its_body_in_the_callers_transaction(db: Database) -> None:
    async with db.uow() as uow:
        assert await outbox.queue(
            uow, dedupe_key="k", to_addr="a@b.c", subject="S", body_text="T", ics="ICS"
        )
        # not committed: both go with the transaction
    async with db.uow().read_only() as uow:
        assert await uow.session.scalar(select(func.count(OutboundEmailBody.email_id))) == 0
        assert await uow.session.scalar(select(func.count(OutboundEmail.id))) == 0
    for body in ("T", "other"):  # the second is a duplicate: nothing written
        async with db.uow() as uow:
            await outbox.queue(
                uow, dedupe_key="k", to_addr="a@b.c", subject="S", body_text=body, ics="ICS"
            )
            await uow.commit()
    async with db.uow().read_only() as uow:
        (row,) = (await uow.session.scalars(select(OutboundEmail))).all()
        bodies = (await uow.session.scalars(select(OutboundEmailBody))).all()
    assert [(b.email_id, b.body_text, b.body_html, b.ics) for b in bodies] == [
        (row.id, "T", None, "ICS")
    ]
    assert (row.subject, row.body_text, row.ics) == ("S", "T", "ICS")
    (claimed,) = await outbox.claim(db.uow(), limit=10, now=NOW)
    assert (claimed.id, claimed.subject, claimed.body_text, claimed.body_html, claimed.ics) == (
        row.id,
        "S",
        "T",
        None,
        "ICS",
    )


async def test_migration_0016_moves_the_bodies_out_and_back(db: Database) -> None:
    table = sa.table(
        "outbound_emails",
        *(sa.column(c) for c in ("id", "dedupe_key", "to_addr", "subject", "status")),
        *(sa.column(c) for c in ("body_text", "body_html", "ics", "attempts", "kind")),
        sa.column("created_at", UTCDateTime()),
    )
    old = {1: ("text 1", "<p>1</p>", "ICS 1"), 2: ("text 2", None, None)}
    await downgrade(db.engine, "0015")
    try:
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.insert(table),
                [
                    {
                        "id": i,
                        "dedupe_key": f"k{i}",
                        "to_addr": "a@b.c",
                        "subject": f"s{i}",
                        "status": "pending",
                        "body_text": text,
                        "body_html": html,
                        "ics": ics,
                        "attempts": 0,
                        "kind": "test",
                        "created_at": NOW,
                    }
                    for i, (text, html, ics) in old.items()
                ],
            )
    finally:
        await upgrade(db.engine, "head")
    async with db.engine.connect() as conn:
        moved = (
            await conn.exec_driver_sql(
                "SELECT email_id, body_text, body_html, ics FROM outbound_email_bodies"
                " ORDER BY email_id"
            )
        ).all()
        columns = await conn.run_sync(
            lambda sync: {c["name"] for c in sa.inspect(sync).get_columns("outbound_emails")}
        )
    assert [tuple(r) for r in moved] == [(i, *bodies) for i, bodies in old.items()]
    assert not columns & {"body_text", "body_html", "ics"}
    claimed = await outbox.claim(db.uow(), limit=10, now=NOW)
    assert [(c.id, c.subject, c.body_text, c.body_html, c.ics) for c in claimed] == [
        (i, f"s{i}", *bodies) for i, bodies in old.items()
    ]
    await downgrade(db.engine, "0015")
    try:
        async with db.engine.connect() as conn:
            back = (
                await conn.execute(
                    sa.select(
                        table.c.id, table.c.body_text, table.c.body_html, table.c.ics
                    ).order_by(table.c.id)
                )
            ).all()
            tables = await conn.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
    finally:
        await upgrade(db.engine, "head")
    assert [tuple(r) for r in back] == [(i, *bodies) for i, bodies in old.items()]
    assert "outbound_email_bodies" not in tables


async def test_a_claim_takes_at_most_its_batch(db: Database) -> None:
    """PostgreSQL took every due row when the batch was an IN (subquery … LIMIT … FOR
    UPDATE SKIP LOCKED); the batch is a CTE now."""
    async with db.uow() as uow:
        for n in range(5):
            await outbox.queue(uow, dedupe_key=f"k{n}", to_addr="a@b.c", subject="S", body_text="T")
        await uow.commit()
    sizes = [len(await outbox.claim(db.uow(), limit=2, now=NOW)) for _ in range(4)]
    assert sizes == [2, 2, 1, 0]


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgres"], indirect=True)
async def test_marks_find_their_rows_by_key_and_leave_the_pool_as_it_was(db: Database) -> None:
    """With `status = 'sending'` written plainly, PostgreSQL read the mark's rows through
    ix_outbound_emails_status_next_attempt: every row in flight for each mark. The marks'
    connection commits without waiting for the WAL flush; the pool's other users do."""
    async with db.uow() as uow:
        for n in range(300):
            await outbox.queue(uow, dedupe_key=f"k{n}", to_addr="a@b.c", subject="S", body_text="T")
        await uow.commit()
    claimed = await outbox.claim(db.uow(), limit=300, now=NOW)
    ids = [c.id for c in claimed[:4]]
    marks = await outbox.SentMarks.open(db.engine)
    try:
        pid = (await marks.conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar()
        setting = await marks.conn.exec_driver_sql("SHOW synchronous_commit")
        assert setting.scalar() == "off"
        moment = marks.process(NOW) if marks.process is not None else NOW
        plan = await marks.conn.exec_driver_sql(
            "EXPLAIN " + _mark_sent_sql(marks.dialect.paramstyle, len(ids)), (moment, *ids)
        )
        lines = "\n".join(r[0] for r in plan)
        assert "status_next_attempt" not in lines, lines
        assert await marks.mark(ids, NOW) == 4
        assert await marks.mark(ids, NOW) == 0  # sent already: not ours any more
    finally:
        await marks.close()
    async with contextlib.AsyncExitStack() as stack:  # every pooled connection, at once
        found = {}
        for _ in range(db.engine.pool.size()):  # type: ignore[attr-defined]
            conn = await stack.enter_async_context(db.engine.connect())
            backend = (await conn.exec_driver_sql("SELECT pg_backend_pid()")).scalar()
            found[backend] = (await conn.exec_driver_sql("SHOW synchronous_commit")).scalar()
    assert found.get(pid) == "on", found
    async with db.uow() as uow:
        statuses = Counter(await uow.session.scalars(sa.select(OutboundEmail.status)))
    assert statuses == {"sent": 4, "sending": 296}


async def _plan(db: Database, statement: Any) -> str:
    async with db.engine.connect() as conn:
        sql = str(statement.compile(conn.sync_connection, compile_kwargs={"literal_binds": True}))
        explain = "EXPLAIN QUERY PLAN " if db.dialect == "sqlite" else "EXPLAIN "
        rows = (await conn.exec_driver_sql(explain + sql)).all()
        await conn.rollback()
    return "\n".join(str(r[-1]) for r in rows)


async def _backlog(db: Database, n: int) -> None:
    """`n` pending rows, queued in one statement."""
    numbers = (
        f"SELECT generate_series(1, {n}) AS g"
        if db.dialect == "postgresql"
        else f"WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s WHERE g < {n})"
        " SELECT g FROM s"
    )
    async with db.engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO outbound_emails (dedupe_key, to_addr, subject, status, attempts, kind,"
            " message_id, created_at) SELECT 'k' || g, 'a@b.c', 'S', 'pending', 0, 'test',"
            f" '<' || g || '@x>', '2026-03-02 09:00:00' FROM ({numbers}) AS numbers"
        )
        await conn.exec_driver_sql(
            "INSERT INTO outbound_email_bodies (email_id, body_text)"
            " SELECT id, 'T' FROM outbound_emails"
        )
        await conn.exec_driver_sql("ANALYZE outbound_emails")


async def test_a_claim_reads_its_batch_not_the_backlog(db: Database) -> None:
    """A claim found its batch by sorting every pending row (55–63 ms a claim with 100,000
    queued); ix_outbound_emails_pending_queue holds them in the order queued."""
    await _backlog(db, 10_000)
    postgres = db.dialect == "postgresql"
    claim = claiming._claim_with_details if postgres else claiming._claim_statement
    plan = await _plan(db, claim(200, NOW))
    assert "ix_outbound_emails_pending_queue" in plan, plan
    claimed = await outbox.claim(db.uow(), limit=200, now=NOW)
    assert [c.id for c in claimed] == list(range(claimed[0].id, claimed[0].id + 200))
