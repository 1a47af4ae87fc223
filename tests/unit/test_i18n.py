"""Every text the bot shows has a Russian translation, and the compiled catalogue is current."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import i18n_tools
from bot.i18n import create_i18n


def test_every_msgid_in_bot_and_handlers_is_translated_and_compiled() -> None:
    problems = i18n_tools.check()
    assert problems == [], "run `python -m bot.i18n_tools` and translate:\n" + "\n".join(problems)


def test_extraction_sees_every_kind_of_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "handlers").mkdir()
    (tmp_path / "handlers" / "x.py").write_text(
        "from aiogram.utils.i18n import gettext as _, lazy_gettext as __\n"
        "from handlers.words import N_\n"
        "A = N_('marked')\n"
        "def f():\n"
        "    return _('shown {n}').format(n=1), __('lazy')\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(i18n_tools, "ROOT", tmp_path)
    assert {m.id for m in i18n_tools.extract(["handlers"]) if m.id} == {
        "marked",
        "shown {n}",
        "lazy",
    }
    # a msgid with no translation is reported, so the check above can fail
    monkeypatch.setattr(i18n_tools, "load_po", lambda locale: i18n_tools.extract(["handlers"]))
    assert any("no translation for 'marked'" in p for p in i18n_tools.check())


def test_placeholders_must_match() -> None:
    assert i18n_tools._placeholders("Hi {name}, {role}") == {"name", "role"}
    assert i18n_tools._placeholders("Привет, {name}") != i18n_tools._placeholders("Hi {name} {x}")


def test_russian_is_loaded_and_english_is_the_msgid() -> None:
    i18n = create_i18n()
    assert "ru" in i18n.available_locales
    text = "Something went wrong, nothing was changed."
    assert i18n.gettext(text, locale="ru") == "Что-то пошло не так, ничего не изменено."
    assert i18n.gettext(text, locale="en") == text
