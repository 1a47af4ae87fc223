"""What an imported file is and how it is read (crm/services/imports.py): its kind, dates and
CSV dialects."""

from __future__ import annotations

from datetime import date

from crm.services import imports


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
    table = imports.read_table("a.csv", semicolons)
    assert table.rows == [(2, ["ООО Ромашка, филиал", "Розница, опт"])]
    tabs = imports.read_table("a.txt", "name\tinn\r\nA\t7701234567\r\n".encode("utf-8-sig"))
    assert (table.header, tabs.header, tabs.rows) == (
        ["Название", "Отрасль"],
        ["name", "inn"],
        [(2, ["A", "7701234567"])],
    )
