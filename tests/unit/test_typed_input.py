"""Parsers of what users type that need no database: playbook steps, claim cause codes."""

from __future__ import annotations

from handlers.claim_settings.causes import code_from
from handlers.playbooks.card import parse_step


def test_step_parsing() -> None:
    assert parse_step("позвонить +1") == ("позвонить", 1)
    assert parse_step("send offer +3") == ("send offer", 3)
    assert parse_step("follow up + 7 d") == ("follow up", 7)
    assert parse_step("встреча +10 дней") == ("встреча", 10)
    assert parse_step("call") == ("call", 0)
    assert parse_step("call +7 912 345-67-89") == ("call +7 912 345-67-89", 0)
    assert parse_step("read C++ docs") == ("read C++ docs", 0)


def test_codes_from_names() -> None:
    assert code_from("Упаковка", set()) == "upakovka"
    assert code_from("Сроки поставки!", set()) == "sroki_postavki"
    assert code_from("Packaging", {"packaging"}) == "packaging_2"
    assert code_from("📦", set()) == "cause"
    assert code_from("1С", set()) == "c_1s"
    assert len(code_from("Очень " * 20, set())) <= 32
