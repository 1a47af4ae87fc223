"""ARCHITECTURE.md stays a true map: every path it names exists, every package is named.

A path is what the document writes in inline code as a repository path: `bot/app.py`,
`crm/services/outbox/`, `handlers/reports/menu.py REPORTS` (the path, then a name in
it), `crm/services/cards.move_deal` (a module's function: `crm/services/cards.py`).
Placeholders (`handlers/<area>/`) and the relative names of the layer diagram are not
paths.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "ARCHITECTURE.md"
LAYERS = ("bot", "handlers", "crm", "notifications")

FENCED = re.compile(r"^```.*?^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
# folders, then a file with its extension or a module and the name in it, or nothing
PATH = re.compile(
    r"(?<![\w./<>-])((?:[A-Za-z_.][\w.-]*/)+)(?:([\w-]+)\.([A-Za-z_]\w*))?(?![\w/<>-])"
)
FILE_SUFFIXES = {"py", "md", "toml", "txt", "cfg", "ini", "yml", "yaml", "json", "po"}


def named_paths(text: str) -> set[str]:
    """The repository paths `text` names in inline code (fenced blocks left out)."""
    found: set[str] = set()
    for span in INLINE.findall(FENCED.sub("", text)):
        for folders, stem, suffix in PATH.findall(span):
            if not stem:
                found.add(folders)
            elif suffix in FILE_SUFFIXES:
                found.add(f"{folders}{stem}.{suffix}")
            else:  # a module and a name in it
                found.add(f"{folders}{stem}.py")
    return found


def packages() -> set[str]:
    """Every Python package under the layers' folders, as `a/b/`."""
    return {
        f"{init.parent.relative_to(ROOT).as_posix()}/"
        for layer in LAYERS
        for init in (ROOT / layer).rglob("__init__.py")
        if init.parent != ROOT / layer and "__pycache__" not in init.parts
    }


def test_the_paths_are_read_as_written() -> None:
    text = (
        "`bot/app.py create_dispatcher`, `crm/services/outbox/`, `handlers/<area>/`,"
        " `crm/services/cards.move_deal`, `tests/README.md`, `words.money`, `chatcrm run`,"
        " `python -m bot.i18n_tools all`\n```text\nbot/  the root (nowhere/)\n```\n"
    )
    assert named_paths(text) == {
        "bot/app.py",
        "crm/services/outbox/",
        "crm/services/cards.py",
        "tests/README.md",
    }


def test_every_path_architecture_names_exists() -> None:
    named = named_paths(DOCUMENT.read_text(encoding="utf-8"))
    assert {"bot/inline_filters.py", "crm/services/outbox/"} <= named  # it reads the document
    missing = sorted(p for p in named if not (ROOT / p).exists())
    assert missing == [], f"ARCHITECTURE.md names paths that do not exist: {missing}"


def test_every_package_is_named() -> None:
    named = named_paths(DOCUMENT.read_text(encoding="utf-8"))
    unnamed = sorted(packages() - named)
    assert unnamed == [], f"packages ARCHITECTURE.md does not name (The packages): {unnamed}"
