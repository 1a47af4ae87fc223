"""The cause of a one-line /claim, guessed from its words in English and Russian."""

from __future__ import annotations

import pytest

from crm.services.claims import DEFAULT_CAUSES, guess_cause

CAUSES: dict[str, str | None] = dict(DEFAULT_CAUSES)


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        ("Половина поддонов разбита; мокрые", "quality"),
        ("Сломан станок, не работает", "quality"),
        ("The pump is broken and leaking", "quality"),
        ("Машина не приехала", "delivery"),
        ("Товар доставили с опозданием на неделю", "delivery"),
        ("Delivery is two weeks late", "delivery"),
        ("Выставили счёт с переплатой", "billing"),
        ("The invoice was charged twice", "billing"),
        ("Менеджер нахамил и не отвечает на звонки", "service"),
        ("Support ignored three emails", "service"),
    ],
)
def test_words_point_to_a_cause(text: str, cause: str) -> None:
    assert guess_cause(text, CAUSES) == cause


@pytest.mark.parametrize(
    "text",
    [
        "Клиент недоволен",  # no word of any cause
        "Other things",  # "other" is never guessed
        "The box is broken and the invoice is wrong",  # one word each: a tie
        "",
    ],
)
def test_no_guess_when_nothing_or_two_causes_match(text: str) -> None:
    assert guess_cause(text, CAUSES) is None


def test_a_directors_cause_is_matched_by_its_title() -> None:
    causes = {**CAUSES, "packaging": "Упаковка"}
    assert guess_cause("Упаковка порвана", causes) == "packaging"
    assert guess_cause("Упаковка порвана", CAUSES) is None  # without that cause: no guess
    # a built-in cause renamed by a director keeps its words and gains the title's
    assert guess_cause("Логистика подвела", {**CAUSES, "delivery": "Логистика"}) == "delivery"
