"""How search text is built and compared (crm/search.py): one edit apart, the indexed document."""

from __future__ import annotations

import pytest

from crm import search


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("петров", "петрв", True),
        ("петров", "петорв", True),
        ("петров", "петрова", True),
        ("петров", "петрен", False),
        ("петров", "петров", False),
        ("иван", "иавн", True),
        ("иван", "инва", False),
    ],
)
def test_one_edit_apart(a: str, b: str, expected: bool) -> None:
    assert search.one_edit_apart(a, b) is expected
    assert search.one_edit_apart(b, a) is expected


def test_document_spells_phones_and_transliterates() -> None:
    body = search.document(["Пётр Ёлкин", None, "P.Elkin@Mail.ru"], ["+79123456789", None])
    assert body.split() == [
        "петр",
        "елкин",
        "p.elkin@mail.ru",
        "petr",
        "elkin",
        "79123456789",
        "89123456789",
        "9123456789",
    ]
