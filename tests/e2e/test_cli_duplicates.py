"""`chatcrm duplicates`, run in-process with Typer's CliRunner on a SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli import app
from crm.models.enums import Role
from crm.settings import Settings, get_settings
from crm.storage import Database
from tests.fixtures import factories

runner = CliRunner()
MANAGER, DIRECTOR = 556001, 556002


def invoke(*args: str) -> Any:
    get_settings.cache_clear()
    return runner.invoke(app, list(args))


@pytest.fixture
def crm_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A migrated SQLite file: a manager's Romashka and a director's "ООО Ромашка" (ids 1, 2)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "crm.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    assert invoke("db", "upgrade").exit_code == 0

    async def arrange() -> None:
        database = Database.from_url(f"sqlite+aiosqlite:///{path}")
        try:
            manny = await factories.staff(database, name="Manny", tg_id=MANAGER)
            dora = await factories.staff(database, Role.DIRECTOR, name="Dora", tg_id=DIRECTOR)
            await factories.add_company(database, manny.id, "Romashka")
            await factories.add_company(database, dora.id, "ООО Ромашка", inn="7701234560")
            await factories.raw_contact(database, dora, "Ivan", 2)
        finally:
            await database.dispose()

    asyncio.run(arrange())
    yield path
    get_settings.cache_clear()


def test_list_merge_and_undo(crm_db: Path) -> None:
    listed = invoke("duplicates", "--as", str(DIRECTOR))
    assert listed.exit_code == 0, listed.output
    assert listed.output.splitlines() == [
        "1 candidate pairs of companies.",
        "  50  #1 Romashka  |  #2 ООО Ромашка  (same_name)",
    ]
    merged = invoke("duplicates", "--merge", "1", "2", "--as", str(DIRECTOR))
    assert merged.exit_code == 0, merged.output
    assert merged.output.strip() == (
        "Merged #2 into #1: 2 linked rows moved, 0 twins dropped. "
        f"Undo: chatcrm duplicates --undo 1 --as {DIRECTOR}"
    )
    assert invoke("duplicates", "--as", str(DIRECTOR)).output.startswith("0 candidate pairs")
    undone = invoke("duplicates", "--undo", "1", "--as", str(DIRECTOR))
    assert undone.exit_code == 0, undone.output
    assert undone.output.strip() == "Merge 1 undone: #2 is back."
    assert invoke("duplicates", "--as", str(DIRECTOR)).output.startswith("1 candidate pairs")


def test_a_manager_is_refused(crm_db: Path) -> None:
    refused = invoke("duplicates", "--merge", "1", "2", "--as", str(MANAGER))
    assert refused.exit_code == 1
    assert "Refused, nothing changed" in refused.output
