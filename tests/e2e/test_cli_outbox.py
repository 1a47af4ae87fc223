"""The operator's view of the outbox: `chatcrm outbox` (counts, stuck, --retry-failed),
`chatcrm status`, GET /healthz, and `chatcrm mail-identity`."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.web import create_web_app
from crm.migrate import upgrade
from crm.settings import Settings
from crm.storage import Database
from tests.fixtures.outbox import invoke, operator_env  # noqa: F401  (the fixture)

OLD = (datetime.now(UTC) - timedelta(minutes=10)).replace(tzinfo=None).isoformat(" ")


def seed(path: Path) -> None:
    rows = [
        ("a", "pending", 0, None, None),
        ("b", "sent", 1, None, None),
        ("c", "failed", 1, "550 5.1.1 No such mailbox", None),
        ("d", "failed", 0, "recipient opted out", None),
        ("e", "sending", 1, None, OLD),  # its sender was killed ten minutes ago
    ]
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO outbound_emails (dedupe_key, to_addr, subject, status,"
            " attempts, last_error, claimed_at, created_at, kind)"
            " VALUES (?, ?, 's', ?, ?, ?, ?, ?, 'test')",
            [(k, f"{k}@example.com", s, n, e, c, OLD) for k, s, n, e, c in rows],
        )


def test_outbox_counts_stuck_and_retry_failed(operator_env: Path) -> None:  # noqa: F811
    assert invoke("db", "upgrade").exit_code == 0  # type: ignore[attr-defined]
    seed(operator_env)
    result = invoke("outbox")
    out = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 1  # type: ignore[attr-defined]  # a row is stuck
    assert "   pending: 1" in out and "    failed: 2" in out and "   sending: 1" in out
    assert "Stuck in sending past the lease: 1" in out and "Due now: 1" in out
    assert "Mail is disabled" in out
    result = invoke("outbox", "--retry-failed")
    out = result.output  # type: ignore[attr-defined]
    assert "Put back in the queue: 1" in out  # not the one who opted out
    assert "   pending: 2" in out and "    failed: 1" in out
    status = invoke("status")
    assert "Outbox: 3 queued (2 due now), 1 sent, 1 failed, 1 stuck" in status.output  # type: ignore[attr-defined]
    assert status.exit_code == 1  # type: ignore[attr-defined]


async def test_healthz_reports_the_outbox(operator_env: Path) -> None:  # noqa: F811
    database = Database.from_url(f"sqlite+aiosqlite:///{operator_env}")
    await upgrade(database.engine)
    seed(operator_env)
    try:
        app = create_web_app(Settings(_env_file=None), database)  # type: ignore[call-arg]
        async with TestClient(TestServer(app)) as client:
            response = await client.get("/healthz")
            body = await response.json()
    finally:
        await database.dispose()
    assert response.status == 503
    outbox = body["checks"]["outbox"]
    assert outbox["ok"] is False and outbox["stuck"] == 1 and outbox["due"] == 1
    assert outbox["backlog"] == 2 and outbox["counts"]["failed"] == 2


def test_mail_identity_is_a_directors_setting(operator_env: Path) -> None:  # noqa: F811
    assert invoke("db", "upgrade").exit_code == 0  # type: ignore[attr-defined]
    with sqlite3.connect(operator_env) as conn:
        conn.executemany(
            "INSERT INTO managers (tg_id, name, role, timezone, language, digest_time,"
            " sales_plan, commission_pct, max_discount_pct, active, bot_blocked, created_at)"
            " VALUES (?, ?, ?, 'Europe/Moscow', 'en', '09:00:00', 0, 0, 10, 1, 0, ?)",
            [(501, "Dora", "director", OLD), (502, "Anna", "manager", OLD)],
        )
    result = invoke(
        "mail-identity",
        "--as",
        "501",
        "--company-name",
        "Romashka LLC",
        "--signature",
        "Dora\\nCEO",
    )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "Company name: Romashka LLC" in result.output  # type: ignore[attr-defined]
    assert "Signature: Dora / CEO" in result.output  # type: ignore[attr-defined]
    refused = invoke("mail-identity", "--as", "502", "--company-name", "Mine")
    assert refused.exit_code == 1  # type: ignore[attr-defined]
    assert "Company name: Romashka LLC" in invoke("mail-identity", "--as", "502").output  # type: ignore[attr-defined]
