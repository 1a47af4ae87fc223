"""The keys of the duplicate check (crm/matching.py)."""

from __future__ import annotations

import pytest

from crm.matching import (
    company_key,
    email_domain,
    neighbours,
    person_key,
    similar,
    similar_names,
)


@pytest.mark.parametrize(
    "name",
    ["ЯнтарьОпт", "АО «ЯнтарьОпт»", "Янтарь-Опт LLC", "Yantar Opt", "JANTAR OPT", "ооо янтарь опт"],
)
def test_spellings_of_one_company_share_a_key(name: str) -> None:
    assert company_key(name) == company_key("ООО Янтарь Опт")


@pytest.mark.parametrize(
    ("a", "b"),
    [("Хромтех", "Khromtekh"), ("Хромтех", "Hromteh"), ("Щукин и Ко", "Schukin i Ko")],
)
def test_transliteration_schemes_agree(a: str, b: str) -> None:
    assert company_key(a) == company_key(b)


def test_a_name_of_legal_forms_only_keeps_them() -> None:
    assert company_key("ООО") != ""


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Romashka", "Romashla", True),  # a typo
        ("Romashka", "Romshka", True),  # a letter left out
        ("Romashka", "Romahska", True),  # two letters swapped
        ("Romashka", "Romashka Plus", False),
        ("Roma", "Rema", False),  # too short for a typo to be told from another name
        ("Store 1", "Store 2", False),  # numbers must agree
        ("Company 1", "Company 11", False),
    ],
)
def test_similar_tolerates_one_typo_in_a_long_enough_name(a: str, b: str, same: bool) -> None:
    assert similar(company_key(a), company_key(b)) is same


def test_neighbours_hold_every_key_one_edit_away() -> None:
    key = company_key("Romashka")
    for other in ("Romashla", "Romshka", "Romahska", "Romashkaa", "Xromashka"):
        other_key = company_key(other)
        assert other_key in neighbours(key) or not similar(key, other_key)
    assert neighbours("abc") == {"abc"}


def test_a_person_is_the_same_in_any_order_and_alphabet() -> None:
    assert person_key("Иван Петров") == person_key("Petrov Ivan")
    assert similar(person_key("Ivan Petrov"), person_key("Ivan Petroff"))


def test_public_mail_services_are_no_company_domain() -> None:
    assert email_domain("ivan@Romashka.RU") == "romashka.ru"
    assert email_domain("ivan@gmail.com") is None
    assert email_domain(None) is None


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("ООО Гранитснаб Казань", "Гранитснаб Казнь", True),  # a typo inside a word
        ("ООО Гранитснаб Казань", "ГРАНИТСНАБ КАЗАНЬ", True),
        ("ООО Гранитснаб Казань", "АО Гранитснаб Рязань", False),  # another city
        ("Romashka Omsk", "Romashka Tomsk", False),
    ],
)
def test_a_typo_keeps_the_first_letter_of_its_word(a: str, b: str, same: bool) -> None:
    assert similar_names(a, b) is same
