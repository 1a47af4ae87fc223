"""`chatcrm shell`: the real dispatcher in a terminal, buttons pressed by number."""

from __future__ import annotations

import pytest
from aiogram.types import User
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from bot.shell import Shell
from crm.models import Company, Manager
from crm.settings import Settings, get_settings
from crm.storage import Database


async def test_shell_talks_to_the_real_bot(sqlite_db: Database) -> None:
    out: list[str] = []
    settings = Settings(_env_file=None, admin_ids=frozenset({1}))  # type: ignore[call-arg]
    user = User(id=1, is_bot=False, first_name="Dana", language_code="en")
    shell = Shell(settings, sqlite_db, user, out=out.append)
    try:
        await shell.say("/start")
        assert out[0].startswith("Welcome, Dana! You are registered as director.")
        await shell.say("/company Romashka LLC; Retail; Moscow")
        assert any(line.startswith("Company added.") for line in out)
        assert "   [1] ✍ Log interaction   [2] 💼 New deal" in out
        shown = len(out)
        await shell.say("3")  # the third button: the company's contacts
        assert out[shown:] == [
            "> [👤 Contacts (0)]",
            "(edited) Contacts (0)\nNo contacts yet.",
            "   [1] « Back to the card",
        ]
    finally:
        await shell.close()
    async with sqlite_db.uow() as uow:
        assert (await uow.session.scalars(select(Company.name))).all() == ["Romashka LLC"]
        director = (await uow.session.scalars(select(Manager))).one()
    assert (director.tg_id, director.role) == (1, "director")


def test_shell_command_reads_lines_until_end_of_input(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/shell.db")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["shell", "--lang", "en"], input="/start\n/help\n")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "Nobody is registered yet: type /start to become the director." in result.output
    assert "You are registered as director." in result.output
    assert "/company" in result.output
