"""The formats users read (handlers/words.py): money, numbers and shares in each language."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from bot.i18n import create_i18n
from handlers.words import (
    CLAIM_PRIORITIES,
    DEAL_STAGES,
    label,
    money,
    number,
    plain,
    priority_badge,
    share,
    shares,
)

I18N = create_i18n()


@contextmanager
def speaking(locale: str) -> Iterator[None]:
    with I18N.context(), I18N.use_locale(locale):
        yield


def test_money_groups_digits_and_takes_the_readers_decimal_mark() -> None:
    with speaking("en"):
        assert money(Decimal("1234567.5")) == "1 234 567.50"
        assert money(0) == "0.00"
        assert money(None) == "—"
    with speaking("ru"):
        assert money(Decimal("1234567.5")) == "1 234 567,50"
        assert money("-15.5") == "-15,50"


def test_money_rounds_halves_up_everywhere() -> None:
    # binary-float formatting rounded these two differently (…74 and …88)
    with speaking("en"):
        assert money(Decimal("115220.745")) == "115 220.75"
        assert money(Decimal("140710.875")) == "140 710.88"
        assert money(Decimal("0.005")) == "0.01"
    with speaking("ru"):
        assert money(Decimal("115220.745")) == "115 220,75"


def test_shares_of_one_whole_add_up_to_a_hundred() -> None:
    # ABC classes of 80.5 %, 15.5 % and 4 % were shown as 81 %, 16 % and 4 %: 101 %
    assert shares([0.805, 0.155, 0.04]) == ["81%", "15%", "4%"]
    assert shares([1 / 3, 1 / 3, 1 / 3]) == ["34%", "33%", "33%"]
    assert shares([1.0]) == ["100%"]
    assert share(0.125) == "13%"


def test_numbers_shown_and_numbers_kept() -> None:
    with speaking("ru"):
        assert number(Decimal("7.50")) == "7,5"
        assert number(Decimal("20.00")) == "20"
        assert plain(Decimal("7.50")) == "7.5"  # for callback data and dialog data
    with speaking("en"):
        assert number(Decimal("2.500")) == "2.5"
    assert share(0.5) == "50%" and share(None) == "—"


def test_labels_in_the_readers_language_and_unknown_codes_as_they_are() -> None:
    with speaking("ru"):
        assert label(DEAL_STAGES, "lead") == "Лид"
        assert priority_badge("high") == "🟠 " + label(CLAIM_PRIORITIES, "high")
    with speaking("en"):
        assert label(DEAL_STAGES, "qualified") == "Qualified"
        assert label(DEAL_STAGES, "imported_stage") == "imported_stage"
