"""`chatcrm shell`: the real dispatcher in a terminal, buttons pressed by number."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from aiogram.types import User
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from bot.cli import app
from bot.shell import Shell
from crm.models import Company, DealLine, Manager
from crm.services import deals
from crm.services.deals import DealInput, LineInput
from crm.settings import Settings, get_settings
from crm.storage import Database
from tests.fixtures.deal_team import ANNA, OLGA, DealTeam, deal_team


def shell_as(db: Database, tg_user: object, out: list[str]) -> Shell:
    user = User(
        id=tg_user.id,  # type: ignore[attr-defined]
        is_bot=False,
        first_name=tg_user.first_name,  # type: ignore[attr-defined]
        language_code=tg_user.language_code,  # type: ignore[attr-defined]
    )
    return Shell(Settings(_env_file=None), db, user, out=out.append)  # type: ignore[call-arg]


async def press(shell: Shell, label: str) -> None:
    """Press the button whose label holds `label`, by its number, as a user types it."""
    [number] = [n for n, b in enumerate(shell.session.buttons, 1) if label in b[0]]
    await shell.say(str(number))


async def lines(db: Database, deal_id: int) -> list[tuple[str, object]]:
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(DealLine.approval, DealLine.discount_pct)
            .where(DealLine.deal_id == deal_id)
            .order_by(DealLine.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def pumps(db: Database, w: DealTeam, title: str = "Pumps", discount: int = 5) -> int:
    deal = await deals.open(
        db.uow(),
        w.anna,
        DealInput(w.company, title, lines=[LineInput(w.widget, 2, discount_pct=discount)]),
        request_approval=discount > 10,
    )
    return deal.id


async def discount_step(shell: Shell) -> None:
    """From /deals to the step that asks Anna for the new discount of the deal's line."""
    await shell.say("/deals")
    await press(shell, "Pumps")
    await press(shell, "Lines")
    await press(shell, "Widget")
    await press(shell, "Discount")


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
    assert "a number presses a button (type '5 to send the text 5)" in result.output


async def test_messages_to_others_are_marked_and_do_not_take_the_users_buttons(
    sqlite_db: Database,
) -> None:
    w = await deal_team(sqlite_db)
    deal = await pumps(sqlite_db, w)
    out: list[str] = []
    shell = shell_as(sqlite_db, ANNA, out)
    try:
        await discount_step(shell)
        await shell.say("25")  # more than the buttons shown (one: Cancel): sent as text
        assert out[-3:] == [
            "A discount of 25% is above your limit of 10%. Send it to your head for approval?",
            "   [1] Send for approval",
            "   [2] Cancel",
        ]
        shown = len(out)
        await shell.say("1")
        sent = out[shown:]
        to_olga = sent.index("→ to Olga (head):")
        assert sent[to_olga + 1 : to_olga + 4] == [
            "  │ Согласование скидки",
            "  │ Anna просит скидку 25% на «Widget» в сделке «Pumps» (Romashka): "
            "2 × 100,00, итого 150,00.",
            "  │ [✅ Одобрить]   [❌ Отклонить]",
        ]
        assert sent[-1] == "Sent for approval to: Olga."
        # Anna's own answer (the lines view) keeps its numbered, pressable buttons
        assert "   [1] ✏ 1. Widget" in sent[:to_olga]
        assert not any("Одобрить" in label for label, _, _ in shell.session.buttons)
        assert [label for label, _, _ in shell.session.buttons] == [
            "✏ 1. Widget",
            "➕ Add a product",
            "« Back",
        ]
        shown = len(out)
        await shell.say("1")
        assert out[shown] == "> [✏ 1. Widget]"
        assert out[shown + 1].startswith("(edited) Widget in the deal «Pumps»\n")
    finally:
        await shell.close()
    assert await lines(sqlite_db, deal) == [("pending", Decimal("25.00"))]


async def test_buttons_are_numbered_across_the_answer_and_an_edit_renumbers_them(
    sqlite_db: Database,
) -> None:
    w = await deal_team(sqlite_db)
    first = await pumps(sqlite_db, w, "Deal A", discount=20)
    second = await pumps(sqlite_db, w, "Deal B", discount=21)
    out: list[str] = []
    shell = shell_as(sqlite_db, OLGA, out)
    try:
        await shell.say("/approvals")
        assert [line for line in out if line.startswith("   [")] == [
            "   [1] ✅ 1 Одобрить   [2] ❌ 1 Отклонить",
            "   [3] ✅ 2 Одобрить   [4] ❌ 2 Отклонить",
        ]
        messages = {message.message_id for _, _, message in shell.session.buttons}
        assert len(messages) == 1  # /approvals is one page in one message
        shown = len(out)
        await shell.say("3")  # the second request's Approve: the page is edited
        assert out[shown] == "> [✅ 2 Одобрить]"
        assert out[shown + 1].startswith(
            "(edited) Одобрено: скидка 21% на «Widget» в сделке «Deal B».\n\n"
        )
        assert out[shown + 2 :][-2:] == [
            "→ to Anna (manager):",
            "  │ Olga approved your discount of 21% on «Widget» in «Deal B».",
        ]
        # what is left is numbered again: Deal A's Approve / Reject
        assert [label for label, _, _ in shell.session.buttons] == [
            "✅ 1 Одобрить",
            "❌ 1 Отклонить",
        ]
        shown = len(out)
        await shell.say("2")  # Deal A's Reject
        assert out[shown] == "> [❌ 1 Отклонить]"
        assert out[shown + 1].startswith("(edited) Отклонено: скидка на «Widget» в сделке «Deal A»")
        assert "→ to Anna (manager):" in out[shown + 2 :]
        assert shell.session.buttons == []  # nothing is left to decide
    finally:
        await shell.close()
    assert await lines(sqlite_db, first) == [("rejected", Decimal("10.00"))]
    assert await lines(sqlite_db, second) == [("approved", Decimal("21.00"))]


async def test_a_quoted_number_is_sent_as_text_and_so_is_one_without_buttons(
    sqlite_db: Database,
) -> None:
    w = await deal_team(sqlite_db)
    deal = await pumps(sqlite_db, w)
    out: list[str] = []
    shell = shell_as(sqlite_db, ANNA, out)
    try:
        await discount_step(shell)
        assert out[-2:] == [
            "(edited) The discount on «Widget» now is 5%. Type the new discount, %.",
            "   [1] Cancel",
        ]
        shown = len(out)
        await shell.say("'1")  # not the Cancel button: the discount 1 %
        assert out[shown].startswith("📦 Lines of the deal «Pumps»\n")
        assert "1. Widget × 2 × 100.00 −1% = 198.00" in out[shown]
        assert await lines(sqlite_db, deal) == [("not_needed", Decimal("1.00"))]
        await shell.say("/help")  # an answer without buttons
        assert shell.session.buttons == []
        shown = len(out)
        await shell.say("1")  # no buttons: the number is a message (chatter, a hint)
        assert out[shown:] == [out[shown]] and out[shown].startswith("I did not understand.")
    finally:
        await shell.close()


async def test_lang_wins_over_the_stored_language_for_the_session(sqlite_db: Database) -> None:
    await deal_team(sqlite_db)  # Olga's stored language is Russian
    for language, hint in (
        (None, "Не понял."),
        ("en", "I did not understand."),
        ("ru", "Не понял."),
    ):
        out: list[str] = []
        user = User(id=OLGA.id, is_bot=False, first_name="Olga", language_code="en")
        shell = Shell(Settings(_env_file=None), sqlite_db, user, out.append, language)  # type: ignore[call-arg]
        try:
            await shell.say("hello")
            await shell.say("/reassign Nobody; Anna")  # a domain refusal: the error renderer
            await shell.say("/remind 07.12.2099 10:00; call Romashka")  # a Monday
        finally:
            await shell.close()
        assert out[0].startswith(hint), (language, out)
        assert "(Mon)" in out[2] if language == "en" else "(пн)" in out[2], out[2]
        assert "Nobody" in out[1]
        assert out[1].startswith("Manager:" if language == "en" else "Менеджер:"), out[1]
    async with sqlite_db.uow() as uow:  # the stored language is left as it was
        olga = (await uow.session.scalars(select(Manager).where(Manager.tg_id == OLGA.id))).one()
    assert olga.language == "ru"


async def test_a_quote_sends_any_text_as_it_is(sqlite_db: Database) -> None:
    w = await deal_team(sqlite_db)
    deal = await pumps(sqlite_db, w)
    out: list[str] = []
    shell = shell_as(sqlite_db, ANNA, out)
    try:
        await discount_step(shell)
        shown = len(out)
        await shell.say("'7,5")  # a decimal comma: sent as 7,5, not "'7,5"
        assert "1. Widget × 2 × 100.00 −7.5% = 185.00" in out[shown]
        assert await lines(sqlite_db, deal) == [("not_needed", Decimal("7.50"))]
        shown = len(out)
        await shell.say("'/file")  # the quote sends even a shell word as text
        assert out[shown] == "I do not know this command. /help lists what I can do."
    finally:
        await shell.close()


async def test_file_sends_a_document_and_the_bots_documents_are_saved(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await deal_team(sqlite_db)
    monkeypatch.chdir(tmp_path)
    table = tmp_path / "new clients.csv"
    table.write_text("Name;Industry\nVasilek LLC;Retail\nLutik;Food\n", encoding="utf-8")
    out: list[str] = []
    shell = shell_as(sqlite_db, ANNA, out)
    try:
        await shell.say("/file no-such.csv")
        assert out == ["No such file: no-such.csv"]
        await shell.say(f"/file {table} /import")  # a path with a space, then the caption
        # the report (a long import edits its progress message into it)
        assert "Import of companies — rows read: 2\n✅ Added: 2\n" in "\n".join(out)
        await shell.say("/import")  # the dialog: the file comes as an answer, no caption
        await shell.say("/file new clients.csv")  # relative to the working directory
        assert "↩ Already there, skipped: 2" in out[-1]
        shown = len(out)
        await shell.say("/export")
        assert out[shown].startswith("[file] What you can see in ChatCRM on ")
        saved = out[shown + 1]
        assert saved.startswith("(saved to ") and saved.endswith(".xlsx)")
        path = Path(saved.removeprefix("(saved to ").removesuffix(")"))
        assert path.parent == tmp_path
        names = [row[1] for row in load_workbook(path)["Companies"].iter_rows(values_only=True)]
        assert sorted(names[1:]) == ["Lutik", "Romashka", "Vasilek LLC"]
        await shell.say("/export")  # a second export does not overwrite the first
        again = Path(out[-1].removeprefix("(saved to ").removesuffix(")"))
        assert again != path and again.stem == path.stem + "-1"
        assert path.exists()  # noqa: ASYNC240
    finally:
        await shell.close()
    async with sqlite_db.uow() as uow:
        assert sorted((await uow.session.scalars(select(Company.name))).all()) == [
            "Lutik",
            "Romashka",
            "Vasilek LLC",
        ]


def test_shell_lang_option_wins_over_the_stored_language(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/shell.db")
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(app, ["shell", "--lang", "ru"], input="/start\n")
        english = CliRunner().invoke(app, ["shell", "--as", "1", "--lang", "en"], input="hi\n")
        stored = CliRunner().invoke(app, ["shell", "--as", "1"], input="hi\n")
        wrong = CliRunner().invoke(app, ["shell", "--as", "1", "--lang", "de"], input="hi\n")
    finally:
        get_settings.cache_clear()
    assert "Ваша роль: директор." in first.output, first.output
    assert "I did not understand." in english.output
    assert "Не понял." in stored.output
    assert wrong.exit_code == 2 and "'de' is not one of 'en', 'ru'" in wrong.output
