"""Fuzzy search over companies, contacts and deals, in Russian and English.

Every searchable record has one row in `search_index` whose `text` is normalised
here: lower case, ё→е, a Latin transliteration of Cyrillic words (so "Petrov"
finds "Петров"), and phone numbers in their usual digit spellings. SQLite matches
it with an FTS5 trigram table, PostgreSQL with pg_trgm; both return a few hundred
candidates that share trigrams with the query, which are ranked here by how
closely the best-matching words agree (so one typo still ranks the record first).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

from sqlalchemy import Select, delete, literal_column, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from crm.access import Actor, visible_owner
from crm.models import SearchEntry
from crm.models.enums import SearchKind

CANDIDATES = 300
QUERY_MAX = 100

_TRANSLIT = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z",
        "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
        "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch",
        "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    }
)  # fmt: skip
_WORD = re.compile(r"[\w@.+-]+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-я]")


def normalise(value: str) -> str:
    value = unicodedata.normalize("NFKC", value).lower().replace("ё", "е")
    return " ".join(_WORD.findall(value))


def transliterate(value: str) -> str:
    return value.translate(_TRANSLIT)


def phone_spellings(e164: str) -> list[str]:
    """'+79123456789' -> the digit strings people type: 79123456789, 89123456789, 9123456789."""
    digits = re.sub(r"\D", "", e164)
    spellings = [digits]
    if len(digits) == 11 and digits.startswith("7"):
        spellings += ["8" + digits[1:], digits[1:]]
    return spellings


def query_digits(query: str) -> str | None:
    digits = re.sub(r"\D", "", query)
    if len(digits) < 5 or len(digits) < len(re.sub(r"[\s()+-]", "", query)):
        return None
    if len(digits) == 11 and digits[0] in "78":
        return digits[1:]
    return digits


def document(parts: Iterable[str | None], phones: Iterable[str | None] = ()) -> str:
    words = normalise(" ".join(p for p in parts if p))
    extra = [transliterate(w) for w in words.split() if _CYRILLIC.search(w)]
    digits = [s for p in phones if p for s in phone_spellings(p)]
    return " ".join([words, *extra, *digits])


async def index(
    session: AsyncSession,
    kind: SearchKind,
    entity_id: int,
    owner_id: int,
    title: str,
    parts: Iterable[str | None],
    phones: Iterable[str | None] = (),
) -> None:
    """Insert or refresh the search row of one record (same transaction as the change)."""
    body = document(parts, phones)
    existing = await session.scalar(
        select(SearchEntry).where(
            SearchEntry.kind == kind.value, SearchEntry.entity_id == entity_id
        )
    )
    if existing is None:
        session.add(
            SearchEntry(
                kind=kind.value, entity_id=entity_id, owner_id=owner_id, title=title, text=body
            )
        )
    else:
        existing.owner_id, existing.title, existing.text = owner_id, title, body


async def unindex(session: AsyncSession, kind: SearchKind, entity_id: int) -> None:
    await session.execute(
        delete(SearchEntry).where(
            SearchEntry.kind == kind.value, SearchEntry.entity_id == entity_id
        )
    )


@dataclass(frozen=True, slots=True)
class Hit:
    kind: SearchKind
    entity_id: int
    title: str
    score: float


def _trigrams(words: Sequence[str]) -> list[str]:
    grams: list[str] = []
    for word in words:
        for i in range(len(word) - 2):
            gram = word[i : i + 3]
            if gram not in grams:
                grams.append(gram)
    return grams


def _score(query_words: Sequence[str], body: str) -> float:
    words = body.split()
    total = 0.0
    for q in query_words:
        best = 0.0
        for w in words:
            if w == q:
                best = 1.0
                break
            if w.startswith(q):
                best = max(best, 0.95)
                continue
            ratio = SequenceMatcher(None, q, w[: len(q) + 2]).ratio()
            best = max(best, ratio if q not in w else max(ratio, 0.9))
        total += best
    return total / len(query_words)


def _candidates_sqlite(query_words: Sequence[str], digits: str | None) -> tuple[str, dict]:
    grams = _trigrams([digits] if digits else query_words)
    match = " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)
    return "search_fts MATCH :match", {"match": match}


async def search(
    session: AsyncSession,
    actor: Actor,
    query: str,
    kinds: Sequence[SearchKind] = tuple(SearchKind),
    limit: int = 10,
) -> list[Hit]:
    """Records the actor may see that match `query`, best first."""
    normalised = normalise(query[:QUERY_MAX])
    digits = query_digits(query)
    query_words = [digits] if digits else normalised.split()
    if not query_words:
        return []
    stmt: Select = select(
        SearchEntry.kind, SearchEntry.entity_id, SearchEntry.title, SearchEntry.text
    ).where(
        visible_owner(actor, SearchEntry.owner_id), SearchEntry.kind.in_([k.value for k in kinds])
    )
    short = all(len(w) < 3 for w in query_words)
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    if short:
        stmt = stmt.where(SearchEntry.text.contains(query_words[0], autoescape=True))
    elif dialect == "sqlite":
        where, params = _candidates_sqlite(query_words, digits)
        stmt = (
            stmt.join(literal_column("search_fts"), text("search_fts.rowid = search_index.id"))
            .where(text(where).bindparams(**params))
            .order_by(text("search_fts.rank"))
        )
    else:
        needle = digits or normalised
        await session.execute(text("SET LOCAL pg_trgm.word_similarity_threshold = 0.4"))
        stmt = stmt.where(
            text(":needle <% search_index.text").bindparams(needle=needle)
            | SearchEntry.text.contains(needle, autoescape=True)
        ).order_by(
            text("word_similarity(:needle, search_index.text) DESC").bindparams(needle=needle)
        )
    rows = (await session.execute(stmt.limit(CANDIDATES))).all()
    hits = [
        Hit(SearchKind(kind), entity_id, title, _score(query_words, body))
        for kind, entity_id, title, body in rows
    ]
    hits = [h for h in hits if h.score >= 0.6]
    hits.sort(key=lambda h: (-h.score, h.title))
    return hits[:limit]
