"""The operator's command line, run in-process with Typer's CliRunner on temporary SQLite files."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import sqlite3
import subprocess
import sys
import threading
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import phonenumbers
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app
from crm import backup, demo, search, validation
from crm.access import Actor
from crm.models import (
    Company,
    Contact,
    Deal,
    DealLine,
    DealStageChange,
    Department,
    Interaction,
    Invite,
    Manager,
    Sale,
)
from crm.models.enums import DealStage, SearchKind
from crm.services import companies
from crm.settings import Settings, get_settings
from crm.storage import Database

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # the shape @BotFather gives
runner = CliRunner()


@pytest.fixture(autouse=True)
def operator_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A clean operator contract pointing at a SQLite file of this test."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}")
    get_settings.cache_clear()
    yield tmp_path / "crm.db"
    get_settings.cache_clear()


def invoke(*args: str) -> object:
    get_settings.cache_clear()
    return runner.invoke(app, list(args))


def query(path: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()


def count(path: Path, table: str) -> int:
    return query(path, f"SELECT count(*) FROM {table}")[0][0]


# --- help and configuration errors ---------------------------------------------------------


def test_help_lists_every_command() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    for command in ("run", "db", "invite", "demo-data", "backup"):
        assert re.search(rf"\b{command}\b", result.output), command
    result = invoke("db", "--help")
    assert result.exit_code == 0
    for command in ("upgrade", "downgrade", "current"):
        assert command in result.output


@pytest.mark.parametrize(
    ("variable", "value"),
    [("HTTP_PORT", "abc"), ("DEFAULT_TIMEZONE", "Mars/Base"), ("DIGEST_TIME", "25:99")],
)
@pytest.mark.parametrize("command", [("db", "current"), ("run",), ("invite", "manager")])
def test_bad_variable_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, command: tuple[str, ...]
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv(variable, value)
    result = invoke(*command)
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"Configuration error: {variable}:")
    assert "Traceback" not in result.output


def test_run_without_token_names_bot_token(operator_env: Path) -> None:
    result = invoke("run")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["Configuration error: BOT_TOKEN: required to run the bot"]
    assert not operator_env.exists()


def test_python_m_bot_is_chatcrm_run(operator_env: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env["PYTHONPATH"] = str(ROOT)
    env["DEFAULT_TIMEZONE"] = "Mars/Base"
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=operator_env.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "Configuration error: DEFAULT_TIMEZONE: Value error, unknown timezone 'Mars/Base'"
    )


def test_run_migrates_then_starts_the_bot(
    monkeypatch: pytest.MonkeyPatch, operator_env: Path
) -> None:
    started: list[Settings] = []

    def fake_run(settings: Settings) -> None:
        assert count(operator_env, "companies") == 0  # the schema exists when the bot starts
        started.append(settings)

    fake_app = types.SimpleNamespace(run=fake_run, configure_logging=lambda settings: None)
    monkeypatch.setitem(sys.modules, "bot.app", fake_app)
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    result = invoke("run")
    assert result.exit_code == 0, result.output
    assert len(started) == 1
    assert started[0].bot_token is not None
    assert started[0].bot_token.get_secret_value() == TOKEN


def test_unreachable_database_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://crm:secret-pw@127.0.0.1:1/crm")
    result = invoke("db", "current")
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("Cannot use the database postgresql+asyncpg://crm:***@127.0.0.1:1/crm")
    assert "secret-pw" not in result.output


# --- migrations ---------------------------------------------------------------------------


def test_db_upgrade_current_and_downgrade(operator_env: Path) -> None:
    result = invoke("db", "current")
    assert result.exit_code == 0
    assert "revision none" in result.output

    result = invoke("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    tables = {row[0] for row in query(operator_env, "SELECT name FROM sqlite_master")}
    assert {"companies", "contacts", "deals", "managers", "invites", "search_fts"} <= tables

    result = invoke("db", "downgrade", "base")
    assert result.exit_code == 0, result.output
    assert "revision none" in result.output
    tables = {row[0] for row in query(operator_env, "SELECT name FROM sqlite_master")}
    assert "companies" not in tables and "search_fts" not in tables


# --- invites ------------------------------------------------------------------------------


def _code(output: str) -> str:
    match = re.search(r"^Code: (\S+)$", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def test_invite_without_token_prints_code_and_start_command(operator_env: Path) -> None:
    before = datetime.now(UTC)
    result = invoke(
        "invite", "head", "--department", "Export", "--create-department", "--days", "3"
    )
    assert result.exit_code == 0, result.output
    code = _code(result.output)
    assert f"/start {code}" in result.output
    assert "t.me" not in result.output
    [(role, department, expires, used_by)] = query(
        operator_env,
        "SELECT i.role, d.name, i.expires_at, i.used_by_id FROM invites i "
        "JOIN departments d ON d.id = i.department_id WHERE i.code = ?",
        code,
    )
    assert (role, department, used_by) == ("head", "Export", None)
    expires_at = datetime.fromisoformat(expires).replace(tzinfo=UTC)
    assert before + timedelta(days=3) - timedelta(seconds=5) <= expires_at
    assert expires_at <= datetime.now(UTC) + timedelta(days=3)


def test_invite_to_unknown_department_is_refused(operator_env: Path) -> None:
    result = invoke("invite", "manager", "--department", "Nowhere")
    assert result.exit_code == 1
    assert "No department 'Nowhere'" in result.stderr
    assert count(operator_env, "invites") == 0
    assert count(operator_env, "departments") == 0


def test_invite_rejects_unknown_role_and_days(operator_env: Path) -> None:
    assert invoke("invite", "boss").exit_code == 2
    assert invoke("invite", "manager", "--days", "0").exit_code == 2
    assert not operator_env.exists() or count(operator_env, "invites") == 0


class _BotAPI(BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self) -> None:
        _BotAPI.paths.append(self.path)
        if self.path == "/bot123:abc/getMe":
            body = {"ok": True, "result": {"id": 1, "is_bot": True, "username": "demo_crm_bot"}}
            status = 200
        else:
            body, status = {"ok": False, "error_code": 401, "description": "Unauthorized"}, 401
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def bot_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BotAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_invite_with_token_prints_the_deep_link(
    monkeypatch: pytest.MonkeyPatch, bot_api: str, operator_env: Path
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv("TELEGRAM_API_URL", bot_api)
    result = invoke("invite", "director")
    assert result.exit_code == 0, result.output
    code = _code(result.output)
    assert f"Link: https://t.me/demo_crm_bot?start={code}" in result.output
    assert query(operator_env, "SELECT role, department_id FROM invites") == [("director", None)]


def test_invite_with_unreachable_telegram_falls_back_to_the_command(
    monkeypatch: pytest.MonkeyPatch, bot_api: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "999:wrong")
    monkeypatch.setenv("TELEGRAM_API_URL", bot_api)
    result = invoke("invite", "manager")
    assert result.exit_code == 0, result.output
    assert f"/start {_code(result.output)}" in result.output
    assert "t.me" not in result.output


# --- demo data ----------------------------------------------------------------------------


def test_demo_data_fills_an_empty_database_once(operator_env: Path) -> None:
    result = invoke("demo-data", "--companies", "40", "--seed", "3")
    assert result.exit_code == 0, result.output
    assert count(operator_env, "companies") == 40
    assert count(operator_env, "departments") == 3
    assert count(operator_env, "managers") == 16
    assert count(operator_env, "products") == 20
    contacts, deals = count(operator_env, "contacts"), count(operator_env, "deals")
    assert 40 <= contacts <= 120
    assert count(operator_env, "search_index") == 40 + contacts + deals
    assert count(operator_env, "audit_log") == 0
    stages = {row[0] for row in query(operator_env, "SELECT DISTINCT stage FROM deals")}
    assert stages == {s.value for s in DealStage}
    assert re.search(r"companies\s+40\b", result.output)

    again = invoke("demo-data", "--companies", "40")
    assert again.exit_code == 1
    assert "already has 40 companies" in again.stderr
    assert count(operator_env, "companies") == 40

    forced = invoke("demo-data", "--companies", "10", "--force")
    assert forced.exit_code == 0, forced.output
    assert count(operator_env, "companies") == 50
    assert count(operator_env, "managers") == 16  # the demo staff are reused, not duplicated


def test_demo_data_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = []
    for run in ("a", "b"):
        path = tmp_path / f"{run}.db"
        monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
        assert invoke("demo-data", "--companies", "25", "--seed", "7").exit_code == 0
        names.append(query(path, "SELECT name, stage, territory FROM companies ORDER BY id"))
    assert names[0] == names[1]
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'c.db'}")
    assert invoke("demo-data", "--companies", "25", "--seed", "8").exit_code == 0
    assert query(tmp_path / "c.db", "SELECT name, stage, territory FROM companies") != names[0]


async def test_demo_data_is_what_the_services_would_write(db: Database) -> None:
    counts = await demo.generate(db, companies=60, seed=5)
    assert counts.companies == 60
    assert set(counts.deals_by_stage) == {s.value for s in DealStage}
    async with db.uow().read_only() as uow:
        session = uow.session
        director = Actor.of(await session.scalar(select(Manager).where(Manager.role == "director")))
        company = await session.scalar(select(Company).order_by(Company.id.desc()).limit(1))
        assert company is not None
        assert (await companies.get(uow, director, company.id)).name == company.name
        hits = await search.search(session, director, company.name)
        assert (SearchKind.COMPANY, company.id) in [(h.kind, h.entity_id) for h in hits]
        # and with a typo: the demo teaches typo correction its words, as the services do
        word = max(search.vocabulary(search.normalise(company.name)), key=len)
        typo = search.normalise(company.name).replace(word, word[:2] + word[3:], 1)
        hits = await search.search(session, director, typo)
        assert (SearchKind.COMPANY, company.id) in [(h.kind, h.entity_id) for h in hits], typo
        assert set(await session.scalars(select(Department.name))) == set(demo.DEPARTMENTS)

        for phone, email in (await session.execute(select(Contact.phone, Contact.email))).all():
            assert phone is None or validation.phone(phone) == phone
            assert phone is None or phonenumbers.is_valid_number(phonenumbers.parse(phone))
            assert email is None or validation.email(email) == email

        # every deal: lines that add up, a history from lead to its stage, a sale when won
        lines = (
            select(DealLine.deal_id, func.count().label("n")).group_by(DealLine.deal_id).subquery()
        )
        deals = (await session.execute(select(Deal, lines.c.n).join(lines))).all()
        assert len(deals) == counts.deals
        sold = set(await session.scalars(select(Sale.deal_id).where(Sale.deal_id.is_not(None))))
        assert sold == {d.id for d, _ in deals if d.stage == DealStage.WON}
        for deal, _ in random.Random(1).sample(deals, 20):
            history = list(
                await session.scalars(
                    select(DealStageChange.to_stage)
                    .where(DealStageChange.deal_id == deal.id)
                    .order_by(DealStageChange.changed_at)
                )
            )
            assert history[0] == DealStage.LEAD and history[-1] == deal.stage
            deal_lines = list(
                await session.scalars(select(DealLine).where(DealLine.deal_id == deal.id))
            )
            assert deal.amount == sum((line.total for line in deal_lines), Decimal(0))
            assert (deal.closed_at is not None) == DealStage(deal.stage).is_closed

        last_done = (
            select(Interaction.company_id, func.max(Interaction.occurred_at).label("at"))
            .where(Interaction.status == "done")
            .group_by(Interaction.company_id)
            .subquery()
        )
        pairs = (
            await session.execute(
                select(Company.last_interaction_at, last_done.c.at).join(
                    last_done, last_done.c.company_id == Company.id
                )
            )
        ).all()
        assert pairs and all(stored == latest for stored, latest in pairs)
        months = await session.scalar(
            select(func.count(func.distinct(Sale.company_id))).where(Sale.source == "import")
        )
        assert months and months > 10


# --- backup -------------------------------------------------------------------------------


def test_backup_command(operator_env: Path, tmp_path: Path) -> None:
    assert invoke("demo-data", "--companies", "15").exit_code == 0
    target = tmp_path / "copy.db"
    result = invoke("backup", str(target))
    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output
    assert query(target, "PRAGMA integrity_check") == [("ok",)]
    assert query(target, "PRAGMA journal_mode") == [("delete",)]
    for table in ("companies", "contacts", "deals", "search_index"):
        assert count(target, table) == count(operator_env, table)
    assert query(target, "SELECT count(*) FROM search_fts WHERE search_fts MATCH 'ооо'")[0][0] > 0

    again = invoke("backup", str(target))
    assert again.exit_code == 1
    assert "already exists" in again.stderr
    assert invoke("backup", str(target), "--force").exit_code == 0

    folder = tmp_path / "backups"
    folder.mkdir()
    assert invoke("backup", str(folder)).exit_code == 0
    [dated] = folder.iterdir()
    assert re.fullmatch(r"chatcrm-\d{8}-\d{6}\.db", dated.name)
    assert count(dated, "companies") == 15


def test_backup_of_postgresql_points_to_pg_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/chatcrm")
    result = invoke("backup", "copy.db")
    assert result.exit_code == 1
    assert "pg_dump" in result.stderr
    assert not Path("copy.db").exists()


async def test_backup_while_50_writers_commit(sqlite_db: Database, tmp_path: Path) -> None:
    """Rows committed before the backup began are in it; every transaction is whole or absent."""
    await demo.generate(sqlite_db, companies=150, seed=2)  # some pages to copy
    writers, rounds = 50, 8
    commits = 0
    enough = asyncio.Event()

    async def write(i: int) -> None:
        nonlocal commits
        for j in range(rounds):
            async with sqlite_db.uow() as uow:
                department = Department(name=f"w-{i}-{j}")
                uow.session.add(department)
                await uow.flush()
                uow.session.add(
                    Invite(
                        code=f"w-{i}-{j}",
                        role="manager",
                        department_id=department.id,
                        expires_at=datetime.now(UTC) + timedelta(days=1),
                    )
                )
                await uow.commit()
            commits += 1
            if commits >= writers:
                enough.set()

    async def committed() -> set[str]:
        async with sqlite_db.uow().read_only() as uow:
            names = await uow.session.scalars(
                select(Department.name).where(Department.name.like("w-%"))
            )
            return set(names)

    tasks = [asyncio.create_task(write(i)) for i in range(writers)]
    await enough.wait()
    before = await committed()
    target = tmp_path / "during.db"
    result = await asyncio.to_thread(backup.backup, str(sqlite_db.engine.url), target)
    during = await committed()
    await asyncio.gather(*tasks)
    after = await committed()

    assert len(after) == writers * rounds
    assert len(during) < len(after), "the writers finished before the backup: nothing tested"
    assert result.path == target
    assert query(target, "PRAGMA integrity_check") == [("ok",)]
    copied = {row[0] for row in query(target, "SELECT name FROM departments WHERE name LIKE 'w-%'")}
    assert before <= copied <= after
    # each writer transaction added a department and its invite: never one without the other
    orphans = query(
        target,
        "SELECT count(*) FROM departments d LEFT JOIN invites i ON i.department_id = d.id "
        "WHERE d.name LIKE 'w-%' AND i.id IS NULL",
    )
    assert orphans == [(0,)]
    assert count(target, "invites") == len(copied)
    assert count(target, "companies") == 150


def test_doctor_lists_deals_that_disagree_with_their_lines_and_changes_nothing(
    operator_env: Path,
) -> None:
    assert invoke("demo-data").exit_code == 0
    result = invoke("doctor")
    assert (result.exit_code, result.output) == (0, "No disagreements found.\n")

    [(deal_id, title)] = query(
        operator_env,
        "SELECT id, title FROM deals WHERE stage = 'lead' AND id IN "
        "(SELECT deal_id FROM deal_lines) ORDER BY id LIMIT 1",
    )
    query(operator_env, "UPDATE deals SET amount = 1 WHERE id = ?", deal_id)
    before = query(operator_env, "SELECT id, amount FROM deals ORDER BY id")
    result = invoke("doctor")
    assert result.exit_code == 1
    assert f"deal {deal_id} «{title}» (lead): amount 1.00, expected" in result.output
    assert "1 disagreements found; nothing was changed." in result.stderr
    assert query(operator_env, "SELECT id, amount FROM deals ORDER BY id") == before
