"""What an imported file is and how it is read (crm/services/imports): its kind, dates and
CSV dialects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from crm import validation
from crm.errors import InvalidInput
from crm.services import imports
from crm.services.imports.cells import email


def test_kind_is_recognised_from_the_header() -> None:
    assert imports.detect_kind(["Наименование", "ИНН", "Отрасль"]) == "companies"
    assert imports.detect_kind(["Name", "Territory"]) == "companies"
    assert imports.detect_kind(["ФИО", "Компания"]) == "contacts"
    assert imports.detect_kind(["Name", "Phone", "Company"]) == "contacts"
    assert imports.detect_kind(["Название", "ИНН", "Телефон"]) == "companies"
    assert imports.detect_kind(["Дата", "Клиент", "Сумма"]) == "sales"
    assert imports.parse_date("05.11.2026") == date(2026, 11, 5)
    assert imports.parse_date(45000) == date(2023, 3, 15)


def test_csv_dialects() -> None:
    semicolons = "Название;Отрасль\nООО Ромашка, филиал;Розница, опт\n".encode()
    assert imports.read_rows("a.csv", semicolons) == [
        ["Название", "Отрасль"],
        ["ООО Ромашка, филиал", "Розница, опт"],
    ]
    tabs = imports.read_rows("a.txt", "name\tinn\r\nA\t7701234567\r\n".encode("utf-8-sig"))
    assert tabs == [["name", "inn"], ["A", "7701234567"]]


@pytest.mark.parametrize(
    "address",
    [
        "Person1@Example.COM",
        "a.b+c@mail.ru",
        "x@sub.domain.org",
        "a@b.test",
        "a..b@x.com",
        "a@localhost",
        "a@-x.com",
        "user@xn--e1afmkfd.xn--p1ai",
        ".a@x.com",
    ],
)
def test_the_quick_email_check_agrees_with_validation(address: str) -> None:
    def outcome(check: Callable[[str], object]) -> object:
        try:
            return check(address)
        except InvalidInput as exc:
            return exc.reason

    assert outcome(email) == outcome(validation.email)
