"""Keys that make two spellings of one client compare equal.

A company's `match_key` is its name without the legal form ("ООО", "АО", "LLC"...),
quotes, spaces and case, transliterated to Latin and folded so that the usual
transliteration schemes agree ("Янтарь" = "Yantar" = "Jantar", "Хром" = "Khrom" =
"Hrom"), with doubled letters collapsed. Names one edit apart on that key (a typo)
are candidates; `neighbours` spells every key one edit away from a given one, so the
database finds them by an indexed IN on the key column.

A person's key is the same folding per word, the words sorted ("Petrov Ivan" =
"Иван Петров").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from crm.text import normalise, one_edit_apart, transliterate

LEGAL_FORMS = frozenset(
    """
    ооо оао зао пао ао нао ип чп тоо нко ано фгуп гуп муп тд
    ooo oao zao pao ao ip llc ltd limited inc corp co gmbh ag kg ug sa sarl srl bv nv plc
    jsc pjsc ojsc cjsc oy ab as spa
    """.split()
)
FREE_MAIL = frozenset(
    """
    gmail.com googlemail.com yahoo.com hotmail.com outlook.com live.com icloud.com me.com
    mail.ru bk.ru inbox.ru list.ru yandex.ru ya.ru yandex.com rambler.ru gmx.de web.de
    proton.me protonmail.com aol.com
    """.split()
)
FUZZY_MIN = 5  # shorter keys must match exactly: one letter changes too much of them
ALPHABET = "abcdefghiklmnoprstuvz"  # the letters a folded key can hold

_FOLDS = [
    ("shch", "s"), ("sch", "s"), ("tch", "c"), ("kh", "h"), ("zh", "z"), ("ts", "c"),
    ("tz", "c"), ("ch", "c"), ("sh", "s"), ("ck", "k"), ("ph", "f"), ("th", "t"),
    ("w", "v"), ("x", "ks"), ("q", "k"), ("j", "i"), ("y", "i"),
]  # fmt: skip
_RUNS = re.compile(r"([a-z])\1+")  # doubled letters; digits stay as they are
_NOT_KEY = re.compile(r"[^a-z0-9]+")
_DIGITS = re.compile(r"\d+")


def _latin(word: str) -> str:
    """A word in plain Latin letters: Cyrillic transliterated, accents dropped."""
    word = transliterate(word)
    word = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in word if not unicodedata.combining(ch))


@lru_cache(maxsize=262_144)  # names repeat: a scan folds the same words again and again
def fold(word: str) -> str:
    """One word's folded spelling (see the module's docstring)."""
    text = _NOT_KEY.sub("", _latin(word))
    for old, new in _FOLDS:
        text = text.replace(old, new)
    return _RUNS.sub(r"\1", text)


def _words(name: str) -> list[str]:
    return re.split(r"[\W_]+", normalise(name))


def company_key(name: str) -> str:
    """'АО «Янтарь-Опт»' -> 'antaropt'; a name of legal forms only keeps them."""
    words = [w for w in _words(name) if w]
    core = [w for w in words if w not in LEGAL_FORMS] or words
    return fold("".join(core))[:200]


def _core_words(name: str) -> list[str]:
    words = [w for w in _words(name) if w]
    core = [w for w in words if w not in LEGAL_FORMS] or words
    return [fold(w) for w in core]


def similar_names(a: str, b: str) -> bool:
    """Two company names are one client's: the same key, or keys one typo apart where the
    typo is inside a word, not its first letter (Kazan and Razan, Omsk and Tomsk are other
    cities, not typos)."""
    key_a, key_b = company_key(a), company_key(b)
    if key_a == key_b:
        return bool(key_a)
    if not similar(key_a, key_b):
        return False
    words_a, words_b = _core_words(a), _core_words(b)
    if len(words_a) != len(words_b):
        return True
    changed = [(x, y) for x, y in zip(words_a, words_b, strict=True) if x != y]
    return len(changed) == 1 and changed[0][0][:1] == changed[0][1][:1]


def person_key(name: str) -> str:
    return " ".join(sorted(f for f in (fold(w) for w in _words(name)) if f))[:200]


def neighbours(key: str) -> set[str]:
    """The key and every string one letter deleted, inserted, changed or swapped away."""
    if len(key) < FUZZY_MIN:
        return {key}
    found = {key}
    for i in range(len(key) + 1):
        head, tail = key[:i], key[i:]
        found.update(head + ch + tail for ch in ALPHABET)
        if tail:
            found.add(head + tail[1:])
            found.update(head + ch + tail[1:] for ch in ALPHABET)
        if len(tail) > 1:
            found.add(head + tail[1] + tail[0] + tail[2:])
    return found


def similar(a: str, b: str) -> bool:
    """Same key, or one letter apart when both are long enough for that to mean a typo
    (numbers must agree: "Store 1" and "Store 2" are two clients)."""
    if a == b:
        return bool(a)
    return (
        min(len(a), len(b)) >= FUZZY_MIN
        and _DIGITS.findall(a) == _DIGITS.findall(b)
        and one_edit_apart(a, b)
    )


def deletion_keys(key: str) -> Iterable[str]:
    """The key and the key with one letter left out: equal ones meet one edit apart."""
    yield key
    if len(key) >= FUZZY_MIN:
        for i in range(len(key)):
            yield key[:i] + key[i + 1 :]


def email_domain(email: str | None) -> str | None:
    """The domain of a company's own mail (None for public mail services)."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1].lower()
    return None if domain in FREE_MAIL else domain
