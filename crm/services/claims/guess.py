"""Claims: the cause guessed from the words of a claim typed on one line.

Each built-in cause has word stems in English and Russian; a word of the text matches a
stem it starts with (so «разбита», «разбитые» and «разбитых» all match «разбит»). A cause
a director added, or renamed, is matched by the words of its title too. The cause with
the most matching words wins; a tie, or no match at all, is no guess (the bot then asks
with the cause buttons). "other" is never guessed: it is what nobody chose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from crm.services.claims.causes import list_causes
from crm.services.claims.common import DEFAULT_CAUSES
from crm.uow import UnitOfWork

OTHER = "other"
MIN_TITLE_STEM = 4  # shorter words of a cause's title ("of", "и") match nothing

# fmt: off
CAUSE_WORDS: dict[str, tuple[str, ...]] = {
    "quality": (
        "quality", "defect", "broke", "broken", "faulty", "fault", "crack", "damag",
        "scratch", "leak", "malfunction", "spoil", "rotten", "wrong size", "not work",
        "doesn't work", "does not work", "stopped work",
        "качеств", "брак", "бракован", "дефект", "слома", "сломан", "полома", "разбит",
        "трещин", "треснут", "царапин", "мятая", "мяты", "помят", "протека", "течет",
        "неисправ", "испорч", "гнил", "не работает", "перестал работать", "повреж",
    ),
    "delivery": (
        "deliver", "late", "delay", "ship", "courier", "transit", "arriv", "missing",
        "lost parcel", "never came", "not arrived", "wrong address",
        "доставк", "доставил", "доставлен", "опозда", "задерж", "курьер", "отгруз",
        "привез", "недопостав", "недовоз", "не приех", "не приш", "потеря", "не дошл",
        "перевозчик",
    ),
    "billing": (
        "invoice", "bill", "overcharg", "charged", "payment", "refund", "price", "paid",
        "double charge", "receipt",
        "счет", "счет-фактур", "выставил", "оплат", "платеж", "переплат", "возврат денег",
        "цена", "цену", "стоимост", "списал", "списан", "чек", "акт сверки",
    ),
    "service": (
        "rude", "service", "support", "staff", "ignor", "no answer", "unanswered",
        "impolite", "no one answered", "nobody answered",
        "груб", "хам", "нахам", "обслуж", "сервис", "поддержк", "не отвеча", "не перезвон",
        "игнор", "невежлив", "не дозвон",
    ),
}
# fmt: on

_WORD = re.compile(r"\w+(?:[-'’]\w+)*", re.UNICODE)


def _normal(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold().replace("ё", "е")))


def _stems(code: str, title: str | None) -> set[str]:
    stems = {_normal(w) for w in CAUSE_WORDS.get(code, ())}
    if title and title != DEFAULT_CAUSES.get(code):  # a director's own words for it
        stems |= {w for w in _normal(title).split() if len(w) >= MIN_TITLE_STEM}
    return {s for s in stems if s}


def _matches_at(words: list[str], i: int, stem: str) -> bool:
    """Whether the text's words from `i` on match `stem` (a phrase: its words in a row, the
    last one as a beginning)."""
    parts = stem.split()
    if i + len(parts) > len(words):
        return False
    *whole, last = parts
    return all(words[i + k] == p for k, p in enumerate(whole)) and words[i + len(whole)].startswith(
        last
    )


def _score(words: list[str], stems: set[str]) -> int:
    """How many words of the text begin a match of one of the stems (each word once)."""
    return sum(1 for i in range(len(words)) if any(_matches_at(words, i, s) for s in stems))


def guess_cause(text: str, causes: Mapping[str, str | None] | Iterable[str]) -> str | None:
    """The cause (a code of `causes`: code → the directors' title) that the words of `text`
    point to, or None when none does or two do equally."""
    titles: Mapping[str, str | None] = (
        causes if isinstance(causes, Mapping) else dict.fromkeys(causes)
    )
    words = _normal(text).split()
    scores: dict[str, int] = {}
    for code, title in titles.items():
        if code == OTHER:
            continue
        score = _score(words, _stems(code, title))
        if score:
            scores[code] = score
    if not scores:
        return None
    best = max(scores.values())
    winners = [code for code, score in scores.items() if score == best]
    return winners[0] if len(winners) == 1 else None


async def guessed_cause(uow: UnitOfWork, text: str) -> str | None:
    """The cause the words of `text` point to among the causes of today (see guess_cause)."""
    return guess_cause(text, {cause.code: cause.title for cause in await list_causes(uow)})
