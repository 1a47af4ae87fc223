"""`chatcrm import` and `chatcrm export`, run in-process with Typer's CliRunner on SQLite files."""

from __future__ import annotations

import asyncio
import io
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from bot.cli import app
from crm.models.enums import Role
from crm.settings import Settings, get_settings
from crm.storage import Database
from tests.fixtures import factories

runner = CliRunner()
MANAGER, HEAD = 555001, 555002


@pytest.fixture
def crm_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A migrated SQLite file with a manager and a head, named by the operator contract."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "crm.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    assert invoke("db", "upgrade").exit_code == 0

    async def arrange() -> None:
        database = Database.from_url(f"sqlite+aiosqlite:///{path}")
        try:
            await factories.staff(database, name="Manny", tg_id=MANAGER)
            await factories.staff(database, Role.HEAD, name="Helen", tg_id=HEAD)
        finally:
            await database.dispose()

    asyncio.run(arrange())
    yield path
    get_settings.cache_clear()


def invoke(*args: str) -> object:
    get_settings.cache_clear()
    return runner.invoke(app, list(args))


def query(path: Path, sql: str) -> list[tuple]:  # type: ignore[type-arg]
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_help_lists_import_and_export() -> None:
    result = invoke("--help")
    assert re.search(r"\bimport\b", result.output) and re.search(r"\bexport\b", result.output)


def test_import_prints_the_report(crm_db: Path, tmp_path: Path) -> None:
    file = tmp_path / "clients.csv"
    file.write_bytes("Название;ИНН\nРомашка;7701234560\nЛютик;123\n".encode("cp1251"))
    result = invoke("import", str(file), "--as", str(MANAGER))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [  # the bot's report, every rejected row in words
        "Import of companies — rows read: 2",
        "✅ Added: 1",
        "↩ Already there, skipped: 0",
        "❌ Rejected: 1",
        "• row 3: Tax id (INN): a tax id has 10 or 12 digits.",
        "Correct these rows and import the file again: added rows are skipped.",
    ]
    assert query(crm_db, "SELECT name, inn FROM companies") == [("Ромашка", "7701234560")]
    again = invoke("import", str(file), "--as", str(MANAGER), "--kind", "companies")
    assert "↩ Already there, skipped: 1" in again.output
    russian = invoke("import", str(file), "--as", str(MANAGER), "--lang", "ru")
    assert russian.output.splitlines()[0] == "Загрузка: компании — прочитано строк: 2"
    assert "• строка 3: ИНН" in russian.output, russian.output


def test_a_rejected_row_names_the_company_in_words(crm_db: Path, tmp_path: Path) -> None:
    sales = tmp_path / "sales.csv"
    sales.write_text("date;company;amount;number\n05.03.2026;Nobody Ltd;10;N1\n")
    result = invoke("import", str(sales), "--as", str(HEAD))
    assert result.exit_code == 0, result.output
    assert "• row 2: Company: no such company among those you see." in result.output
    assert "not_found" not in result.output


def test_refused_files_exit_1(crm_db: Path, tmp_path: Path) -> None:
    sales = tmp_path / "sales.csv"
    sales.write_text("date;company;amount\n01.03.2026;Romashka;10\n")
    result = invoke("import", str(sales), "--as", str(MANAGER))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Only heads and directors import sales.",
        "Nothing was imported.",
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("city;industry\nMoscow;Retail\n")
    result = invoke("import", str(bad), "--as", str(HEAD))
    assert result.exit_code == 1
    assert result.stderr.startswith("I did not recognise the columns. The first row must name")
    assert result.stderr.endswith("\nNothing was imported.\n")
    assert "bad_header" not in result.stderr
    result = invoke("import", str(bad), "--as", str(HEAD), "--lang", "ru")
    assert result.exit_code == 1
    assert result.stderr.startswith("Не удалось распознать столбцы"), result.stderr
    assert result.stderr.endswith("\nНичего не загружено.\n")
    result = invoke("import", str(bad), "--as", "42")
    assert result.exit_code == 1
    assert "Nobody active is registered with Telegram id 42" in result.stderr
    result = invoke("import", str(tmp_path / "missing.csv"), "--as", str(HEAD))
    assert result.exit_code == 1
    assert query(crm_db, "SELECT count(*) FROM companies") == [(0,)]
    assert query(crm_db, "SELECT count(*) FROM sales") == [(0,)]


def test_export_writes_the_workbook(crm_db: Path, tmp_path: Path) -> None:
    file = tmp_path / "clients.csv"
    file.write_text("name\nRomashka\n")
    assert invoke("import", str(file), "--as", str(MANAGER)).exit_code == 0
    people = tmp_path / "people.csv"
    people.write_text("name;company\nIvan Petrov;Romashka\n")
    assert invoke("import", str(people), "--as", str(MANAGER), "--kind", "contacts").exit_code == 0
    with sqlite3.connect(crm_db) as conn:
        conn.execute("UPDATE companies SET stage = 'one_time'")
        conn.execute("UPDATE contacts SET decision_role = 'decision_maker'")
    target = tmp_path / "out.xlsx"
    result = invoke("export", str(target), "--as", str(HEAD))
    assert result.exit_code == 0, result.output
    assert "companies: 0" in result.output  # the head has no department: only their own
    result = invoke("export", str(target), "--as", str(MANAGER))
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Export written to {target} (")
    assert "companies: 1, contacts: 1, deals: 0" in result.output
    workbook = load_workbook(io.BytesIO(target.read_bytes()))
    assert workbook["Companies"]["B2"].value == "Romashka"
    assert workbook["Companies"]["F1"].value == "Stage"
    assert workbook["Companies"]["F2"].value == "one-time"  # not one_time
    assert workbook["Contacts"]["H2"].value == "decision maker"  # not decision_maker
    result = invoke("export", str(target), "--as", str(MANAGER), "--lang", "ru")
    assert result.exit_code == 0, result.output
    assert "компании: 1, контакты: 1" in result.output
    workbook = load_workbook(io.BytesIO(target.read_bytes()))
    assert workbook["Компании"]["F2"].value == "разовый"
    assert workbook["Контакты"]["H2"].value == "ЛПР"
    assert query(crm_db, "SELECT count(*) FROM audit_log WHERE action = 'export'") == [(3,)]


def test_sales_import_and_analytics_verify(crm_db: Path, tmp_path: Path) -> None:
    companies = tmp_path / "clients.csv"
    companies.write_text("name\nRomashka\n")
    assert invoke("import", str(companies), "--as", str(HEAD)).exit_code == 0
    sales = tmp_path / "sales.csv"
    sales.write_text("date;company;amount;number\n05.03.2026;Romashka;1500,50;N1\n")
    result = invoke("import", str(sales), "--as", str(HEAD))
    assert result.exit_code == 0, result.output
    assert "✅ Added: 1" in result.output
    assert query(crm_db, "SELECT month, revenue_cents, sales FROM sales_company_months") == [
        ("2026-03-01", 150050, 1)
    ]
    result = invoke("analytics", "verify")
    assert (result.exit_code, result.output) == (
        0,
        "The sales rollups match the sales.\nThe deal rollups match the deals.\n",
    )

    with sqlite3.connect(crm_db) as conn:
        conn.execute("UPDATE sales_company_months SET revenue_cents = 1")
    result = invoke("analytics", "verify")
    assert result.exit_code == 1
    assert "revenue 0.01, cost 0.00, 1 sales; the sales say revenue 1500.50" in result.output
    assert "1 rollup rows differ from the sales" in result.stderr
    result = invoke("analytics", "verify", "--repair")
    assert result.exit_code == 0 and "Repaired" in result.output
    assert invoke("analytics", "verify").exit_code == 0


def test_analytics_verify_finds_and_repairs_a_deal_rollup(crm_db: Path, tmp_path: Path) -> None:
    companies = tmp_path / "clients.csv"
    companies.write_text("name\nRomashka\n")
    assert invoke("import", str(companies), "--as", str(HEAD)).exit_code == 0
    with sqlite3.connect(crm_db) as conn:
        conn.execute(
            "INSERT INTO deals (company_id, curator_id, title, stage, reached_rank, amount,"
            " probability, expected_close, terms_approval, created_at, updated_at)"
            " SELECT id, curator_id, 'Big', 'proposal', 2, 100.50,"
            " 50, '2026-04-09', 'not_needed',"
            " '2026-03-02 10:00:00', '2026-03-02 10:00:00' FROM companies"
        )
    assert invoke("analytics", "verify").exit_code == 0  # the triggers counted it
    with sqlite3.connect(crm_db) as conn:
        conn.execute("UPDATE deal_pipeline SET amount_cents = 1")
    result = invoke("analytics", "verify")
    assert result.exit_code == 1
    assert "deal_pipeline (" in result.output
    assert "stored (1, 1, 502500); the deals say (1, 10050, 502500)" in result.output
    assert "1 deal rollup rows differ from the deals" in result.stderr
    result = invoke("analytics", "verify", "--repair")
    assert result.exit_code == 0 and "Repaired: 1 rollup rows" in result.output
    assert invoke("analytics", "verify").exit_code == 0
