"""Fuzzy search over companies, contacts and deals, in Russian and English.

Every searchable record has one row in `search_index` whose `text` is normalised
here: lower case, ё→е, a Latin transliteration of Cyrillic words (so "Petrov"
finds "Петров"), and phone numbers in their usual digit spellings.

Typos are corrected against the vocabulary of the index (`search_terms`): every
indexed word is stored with its one-letter deletions, so the words one edit away
from a query word are found by a few primary-key probes (the symmetric-delete
method). The database is then asked for records that contain, for every query
word, that word or one of its corrections as a substring: FTS5 trigram phrases on
SQLite, LIKE on the pg_trgm GIN index on PostgreSQL. Both are fast however common
the words' trigrams are, unlike an OR of trigrams ranked by bm25 or similarity
(measured: 360 ms median on 200,000 records for a three-word name). If nothing
matches every word, records matching all words but one are asked for. At most
CANDIDATES rows come back; they are ranked here with plain string tests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise

from sqlalchemy import ColumnElement, and_, column, delete, or_, select, table, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm.access import Actor, visible_owner
from crm.models import SearchEntry, SearchTerm
from crm.models.enums import SearchKind
from crm.text import normalise, one_edit_apart, transliterate

CANDIDATES = 300
QUERY_MAX = 100
TERM_MIN = 3  # shortest word the vocabulary keeps (and a trigram index can look for)
TERM_MAX = 40
MAX_CORRECTIONS = 12
MAX_GROUPS = 6  # query words the database is asked about; the rest only rank
MIN_SCORE = 0.5

_LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)
_CYRILLIC = re.compile(r"[а-я]")


def phone_spellings(e164: str) -> list[str]:
    """'+79123456789' -> the digit strings people type: 79123456789, 89123456789, 9123456789."""
    digits = re.sub(r"\D", "", e164)
    spellings = [digits]
    if len(digits) == 11 and digits.startswith("7"):
        spellings += ["8" + digits[1:], digits[1:]]
    return spellings


def query_digits(query: str) -> str | None:
    """The digits of a query that is a phone number (or part of one), in the indexed spelling."""
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


def deletions(word: str) -> set[str]:
    """The word with one letter left out, for words long enough to keep TERM_MIN letters."""
    if len(word) <= TERM_MIN:
        return set()
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def vocabulary(body: str) -> set[str]:
    """The words of a normalised document that typo correction knows: runs of letters."""
    return {w for w in _LETTERS.findall(body) if TERM_MIN <= len(w) <= TERM_MAX}


def term_rows(words: Iterable[str]) -> list[dict[str, str]]:
    """`search_terms` rows for some words, in key order (so concurrent inserts cannot deadlock)."""
    pairs = {(variant, w) for w in words for variant in (w, *deletions(w))}
    return [{"variant": v, "word": w} for v, w in sorted(pairs)]


async def add_terms(session: AsyncSession, bodies: Iterable[str], batch: int = 5000) -> None:
    """Teach typo correction the words of some documents (bulk loads call this too)."""
    words: set[str] = set()
    for body in bodies:
        words |= vocabulary(body)
    rows = term_rows(words)
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        await session.execute(insert(SearchTerm).values(chunk).on_conflict_do_nothing())


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
    await add_terms(session, [body])


async def unindex(session: AsyncSession, kind: SearchKind, entity_id: int) -> None:
    """Drop a record's search row; its words stay in the vocabulary (harmless, and shared)."""
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
    # a deal's hit tells deals of one title apart (crm.services.cards.find fills them)
    company_name: str | None = None
    amount: Decimal | None = None


@dataclass
class _Token:
    """One query word; `fuzzy` ones (letters only) are also looked for under their corrections."""

    text: str
    fuzzy: bool
    corrections: list[str] = field(default_factory=list)

    @property
    def alternatives(self) -> list[str]:
        return [self.text, *self.corrections]


def _tokens(query: str) -> list[_Token]:
    digits = query_digits(query)
    if digits:
        return [_Token(digits, fuzzy=False)]
    tokens: list[_Token] = []
    seen: set[str] = set()
    for word in normalise(query).split():
        if any(ch in ".@" or ch.isdigit() for ch in word):
            parts = [(word, False)]  # emails, INNs, part numbers: as typed
        else:
            parts = [(w, True) for w in _LETTERS.findall(word)]
        for part, fuzzy in parts:
            if part not in seen:
                seen.add(part)
                tokens.append(_Token(part, fuzzy and TERM_MIN <= len(part) <= TERM_MAX))
    return tokens


async def _correct(session: AsyncSession, tokens: Sequence[_Token]) -> None:
    fuzzy = [t for t in tokens if t.fuzzy]
    if not fuzzy:
        return
    keys = {v for t in fuzzy for v in (t.text, *deletions(t.text))}
    rows = await session.execute(
        select(SearchTerm.word).where(SearchTerm.variant.in_(sorted(keys))).distinct()
    )
    words = rows.scalars().all()
    for token in fuzzy:
        found = sorted(w for w in words if one_edit_apart(token.text, w))
        found.sort(key=lambda w: _typo_rank(token.text, w))
        token.corrections = found[:MAX_CORRECTIONS]


def _typo_rank(query: str, word: str) -> int:
    """Likelier typos first: a letter left out, then a wrong or swapped one, then one too many."""
    return 0 if len(word) > len(query) else 1 if len(word) == len(query) else 2


def _groups(tokens: Sequence[_Token]) -> list[list[str]]:
    """For the database: per query word, the strings one of which a record must contain."""
    usable = [t for t in tokens if len(t.text) >= TERM_MIN]
    usable.sort(key=lambda t: -len(t.text))
    return [t.alternatives for t in usable[:MAX_GROUPS]]


def _phrase(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _words_match(groups: Sequence[Sequence[str]]) -> str:
    """FTS5 (whole words): each group's query word as a prefix, or one of its corrections."""
    return " AND ".join(
        "(" + " OR ".join([_phrase(g[0]) + "*", *(_phrase(a) for a in g[1:])]) + ")" for g in groups
    )


def _trigram_match(groups: Sequence[Sequence[str]]) -> str:
    """FTS5 (trigrams): each group's word or a correction anywhere, even inside a word."""
    return " AND ".join("(" + " OR ".join(_phrase(a) for a in g) + ")" for g in groups)


def _like(groups: Sequence[Sequence[str]]) -> ColumnElement[bool]:
    return and_(*(or_(*(SearchEntry.text.contains(a, autoescape=True) for a in g)) for g in groups))


Row = tuple[str, int, str, str]


async def _fetch(
    session: AsyncSession,
    actor: Actor,
    kinds: Sequence[SearchKind],
    condition: ColumnElement[bool] | None = None,
    fts: tuple[str, str] | None = None,
) -> list[Row]:
    """At most CANDIDATES visible rows matching an SQL condition or an FTS5 (table, query)."""
    stmt = select(
        SearchEntry.kind, SearchEntry.entity_id, SearchEntry.title, SearchEntry.text
    ).where(
        visible_owner(actor, SearchEntry.owner_id), SearchEntry.kind.in_([k.value for k in kinds])
    )
    if fts is not None:
        # as a subquery, so that SQLite runs the full-text match once and first; joined,
        # it may walk the owner's rows and match each of them (slow for a large book)
        name, match = fts
        fts_table = table(name, column("rowid"))
        matching = select(fts_table.c.rowid).where(
            text(f"{name} MATCH :match").bindparams(match=match)
        )
        stmt = stmt.where(SearchEntry.id.in_(matching))
    if condition is not None:
        stmt = stmt.where(condition)
    rows = await session.execute(stmt.limit(CANDIDATES))
    return [tuple(r) for r in rows]  # type: ignore[misc]


async def _candidates(
    session: AsyncSession, actor: Actor, kinds: Sequence[SearchKind], groups: list[list[str]]
) -> list[Row]:
    """Records holding every query word (or a correction); failing that, all words but one.

    On SQLite whole words are tried first (a few index look-ups), then substrings
    (trigrams, slower with common trigrams); PostgreSQL uses LIKE on its trigram index.
    """
    relaxed = [groups[:i] + groups[i + 1 :] for i in range(len(groups))] if len(groups) > 1 else []
    if session.bind is not None and session.bind.dialect.name != "sqlite":
        rows = await _fetch(session, actor, kinds, _like(groups))
        if not rows and relaxed:
            rows = await _fetch(session, actor, kinds, or_(*(_like(r) for r in relaxed)))
        return rows
    rows = await _fetch(session, actor, kinds, fts=("search_fts_words", _words_match(groups)))
    if not rows:
        rows = await _fetch(session, actor, kinds, fts=("search_fts", _trigram_match(groups)))
    if not rows and relaxed:
        match = " OR ".join("(" + _words_match(r) + ")" for r in relaxed)
        rows = await _fetch(session, actor, kinds, fts=("search_fts_words", match))
    return rows


def _word_score(token: _Token, padded: str) -> float:
    """How well a document (' '-padded) holds one query word: whole, start, or inside a word."""
    q = token.text
    if f" {q} " in padded:
        return 1.0
    if f" {q}" in padded:
        return 0.95
    best = 0.0
    for c in token.corrections:  # likeliest first
        weight = 0.9 - 0.02 * _typo_rank(q, c)
        if f" {c} " in padded:
            return weight
        if best < weight - 0.05 and f" {c}" in padded:
            best = weight - 0.05
    if best:
        return best
    if q in padded:
        return 0.8
    return 0.75 if any(c in padded for c in token.corrections) else 0.0


def _score(tokens: Sequence[_Token], body: str) -> float:
    padded = f" {body} "
    return sum(_word_score(t, padded) for t in tokens) / len(tokens)


def _closeness(tokens: Sequence[_Token], title: str) -> tuple[int, float]:
    """Tie-breaks on the title: query words found side by side, and the share of it matched.

    Of two records holding the same words, the one whose name reads like the query
    ("Овчинников Владимир" rather than a namesake from a company in Vladimir) comes first.
    """
    words = normalise(title).split()
    if not words:
        return 0, 0.0
    spellings = [(w, transliterate(w)) for w in words]
    positions = [
        {
            i
            for i, (w, t) in enumerate(spellings)
            if any(w.startswith(a) or t.startswith(a) for a in token.alternatives)
        }
        for token in tokens
    ]
    adjacent = sum(1 for here, after in pairwise(positions) if any(p + 1 in after for p in here))
    return adjacent, len(set().union(*positions)) / len(words)


async def search(
    session: AsyncSession,
    actor: Actor,
    query: str,
    kinds: Sequence[SearchKind] = tuple(SearchKind),
    limit: int = 10,
) -> list[Hit]:
    """Records the actor may see that match `query`, best first."""
    tokens = _tokens(query[:QUERY_MAX])
    if not tokens or not kinds:
        return []
    await _correct(session, tokens)
    groups = _groups(tokens)
    if groups:
        rows = await _candidates(session, actor, kinds, groups)
    else:  # only words too short for the indexes: a plain substring scan, bounded by LIMIT
        like = SearchEntry.text.contains(tokens[0].text, autoescape=True)
        rows = await _fetch(session, actor, kinds, like)
    scored = [(_score(tokens, r[3]), r[0], r[1], r[2]) for r in rows]
    scored = [s for s in scored if s[0] >= MIN_SCORE]
    if not scored:
        return []
    scored.sort(key=lambda s: -s[0])
    cutoff = scored[min(limit, len(scored)) - 1][0]
    best = [(s, _closeness(tokens, s[3])) for s in scored if s[0] >= cutoff]
    best.sort(key=lambda b: (-b[0][0], -b[1][0], -b[1][1], b[0][3], b[0][2]))
    return [
        Hit(SearchKind(kind), entity_id, title, round(score, 3))
        for (score, kind, entity_id, title), _ in best[:limit]
    ]
