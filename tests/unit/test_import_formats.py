"""What an imported file is and how it is read (crm/services/imports): its kind, dates and
CSV dialects."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

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
    tabs = imports.read_rows("a.txt", "name\tinn\r\nA\t7701234560\r\n".encode("utf-8-sig"))
    assert tabs == [["name", "inn"], ["A", "7701234560"]]


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


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("12,500.00", "12500.00"),  # an English file: commas group the thousands
        ("12.500,00", "12500.00"),
        ("1,234,567", "1234567.00"),
        ("1 234 567,89", "1234567.89"),
        ("12,5", "12.50"),  # one comma alone stays the Russian decimal mark
        ("1500.75", "1500.75"),
    ],
)
def test_amounts_grouped_in_thousands_are_read(typed: str, amount: str) -> None:
    assert validation.money("amount", typed) == Decimal(amount)


def test_a_tax_id_needs_its_check_digits() -> None:
    assert validation.inn("inn", " 7707083893 ") == "7707083893"
    assert validation.inn("inn", "500100732259") == "500100732259"  # 12 digits: two checks
    assert validation.inn("inn", "") is None
    for wrong, reason in [
        ("1234567890", "checksum"),
        ("500100732258", "checksum"),
        ("123", "invalid"),
    ]:
        with pytest.raises(InvalidInput) as err:
            validation.inn("inn", wrong)
        assert err.value.reason == reason
