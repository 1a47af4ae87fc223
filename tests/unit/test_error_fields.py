"""Every field and reason the events, imports, exports and report services put into
InvalidInput has words in handlers/errors.py, shown in the user's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.i18n import create_i18n
from crm.errors import InvalidInput
from crm.services import events
from crm.services.events import Segment
from handlers.errors import FIELD_REASONS, FIELDS, REASONS, describe

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    *sorted((ROOT / "crm/services/events").glob("*.py")),
    *sorted((ROOT / "crm/services/imports").glob("*.py")),
    ROOT / "crm/services/exports.py",
    *sorted((ROOT / "handlers/events").glob("*.py")),
    *sorted((ROOT / "crm/analytics").glob("*.py")),
]
RAISED = re.compile(r'InvalidInput\(\s*"([a-z_]+)",\s*"([a-z_]+)"')
NAMED = re.compile(r'(?:validation\.[a-z_]+|_number|_positive)\(\s*"([a-z_]+)"')


def raised() -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        found |= set(RAISED.findall(text))
        found |= {(field, "") for field in NAMED.findall(text)}
    return found


def test_every_field_and_reason_of_these_services_has_words():
    pairs = raised()
    assert ("segment", "unknown_value") in pairs and ("invitee", "invalid") in pairs
    assert {f for f, _r in pairs if f not in FIELDS} == set()
    missing = {(f, r) for f, r in pairs if r and r not in REASONS and (f, r) not in FIELD_REASONS}
    assert missing == set()


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("ru", "Сегмент: допустимые значения: all, stage, industry, territory, company."),
        ("en", "Segment: this must be one of: all, stage, industry, territory, company."),
    ],
)
def test_a_bad_segment_is_told_in_words(locale, expected):
    with pytest.raises(InvalidInput) as caught:
        events.clean_segment(Segment("nobody"))
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale(locale):
        assert describe(caught.value) == expected


def test_new_fields_and_reasons_in_russian():
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        assert describe(InvalidInput("invitee", "invalid")) == (
            "Приглашённый: недопустимое значение."
        )
        assert describe(InvalidInput("amount", "not_positive")) == (
            "Сумма: значение должно быть больше нуля."
        )
        assert describe(InvalidInput("period", "not_whole_months")) == (
            "Период: период должен состоять из целых месяцев."
        )
    with i18n.context(), i18n.use_locale("en"):
        assert describe(InvalidInput("file", "too_many_rows", max=10000)) == (
            "File: it has more than 10000 rows."
        )
