"""Keep the translations in step with the code: `python -m bot.i18n_tools [command]`.

extract   write bot/locales/messages.pot from every `_()`, `gettext()`, `N_()`, `__()` call
          in bot/, handlers/ and notifications/
update    merge the template into each bot/locales/<lang>/LC_MESSAGES/messages.po
          (new msgids arrive empty: translate them in the .po)
compile   write the .mo files the bot loads
check     list what is missing or stale (exit 1 if anything is)
all       extract, update, compile, then check (the default)
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, LOCALES_DIR

ROOT = LOCALES_DIR.parent.parent  # the project: bot/locales -> .
SOURCE_DIRS = ("bot", "handlers", "notifications")
KEYWORDS = {**DEFAULT_KEYWORDS, "__": None, "lazy_gettext": None}
TRANSLATED = ("ru",)  # English is the msgids themselves
TEMPLATE = LOCALES_DIR / f"{DOMAIN}.pot"
# a fixed date keeps the catalogues' headers stable between runs (fewer merge conflicts)
FIXED_DATE = datetime(2025, 1, 1, tzinfo=UTC)


def po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str) -> Path:
    return po_path(locale).with_suffix(".mo")


def extract(dirs: Iterable[str] = SOURCE_DIRS) -> Catalog:
    """The msgids the code uses, with where they are used."""
    catalog = Catalog(
        project="ChatCRM", domain=DOMAIN, charset="utf-8", creation_date=FIXED_DATE, fuzzy=False
    )
    for name in dirs:
        folder = ROOT / name
        if not folder.is_dir():
            continue
        for filename, lineno, message, comments, context in extract_from_dir(
            folder, method_map=[("**.py", "python")], keywords=KEYWORDS
        ):
            catalog.add(
                message,
                None,
                [(f"{name}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return catalog


def load_po(locale: str) -> Catalog:
    path = po_path(locale)
    if not path.exists():
        return Catalog(
            locale=locale,
            domain=DOMAIN,
            project="ChatCRM",
            charset="utf-8",
            creation_date=FIXED_DATE,
            revision_date=FIXED_DATE,
            fuzzy=False,
        )
    with path.open("rb") as fp:
        return read_po(fp, locale=locale, domain=DOMAIN)


def _write_po(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, sort_output=True, omit_header=False, include_lineno=False)
    path.write_bytes(buffer.getvalue())


def write_template() -> Catalog:
    template = extract()
    _write_po(template, TEMPLATE)
    return template


def update(template: Catalog) -> None:
    for locale in TRANSLATED:
        catalog = load_po(locale)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.obsolete.clear()
        catalog.fuzzy = False
        _write_po(catalog, po_path(locale))


def mo_bytes(catalog: Catalog) -> bytes:
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compile_all() -> None:
    for locale in TRANSLATED:
        mo_path(locale).write_bytes(mo_bytes(load_po(locale)))


def _translations(catalog: Catalog) -> dict[str, str]:
    return {
        str(m.id): str(m.string)
        for m in catalog
        if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


def _placeholders(text: str) -> set[str]:
    import string

    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def check() -> list[str]:
    """Problems that would show a user English in a Russian chat, or break a format()."""
    problems: list[str] = []
    used = {str(m.id): m.locations for m in extract() if m.id}
    for locale in TRANSLATED:
        translated = _translations(load_po(locale))
        for msgid, locations in sorted(used.items()):
            where = ", ".join(f"{f}:{n}" for f, n in locations[:2])
            if msgid not in translated:
                problems.append(f"{locale}: no translation for {msgid!r} ({where})")
            elif _placeholders(msgid) != _placeholders(translated[msgid]):
                problems.append(f"{locale}: placeholders differ for {msgid!r}")
        mo = mo_path(locale)
        if not mo.exists():
            problems.append(f"{locale}: {mo.name} is missing: run compile")
            continue
        with mo.open("rb") as fp:
            compiled = _translations(read_mo(fp))
        if compiled != translated:
            problems.append(f"{locale}: {mo.name} is older than messages.po: run compile")
    return problems


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "all"
    if command in ("extract", "all"):
        template = write_template()
        print(f"{len(template)} msgids -> {TEMPLATE.relative_to(ROOT)}")
    if command in ("update", "all"):
        update(write_template() if command == "update" else template)
        print("updated: " + ", ".join(str(po_path(loc).relative_to(ROOT)) for loc in TRANSLATED))
    if command in ("compile", "all"):
        compile_all()
        print("compiled: " + ", ".join(str(mo_path(loc).relative_to(ROOT)) for loc in TRANSLATED))
    if command in ("check", "all"):
        problems = check()
        for problem in problems:
            print(problem)
        if problems:
            return 1
        print("translations complete")
    if command not in ("extract", "update", "compile", "check", "all"):
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
