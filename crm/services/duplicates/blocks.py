"""Groups of records whose name keys meet on a key or a one-letter deletion of it.

Two keys one typo apart (a letter changed, added, left out or two swapped) share a key
with one letter left out (symmetric deletion), so grouping every key and its deletions
finds them without comparing each record with every other. The first letter is never
left out: a name whose first letter differs is another name (crm/matching.py
`similar_names`); keys shorter than `matching.FUZZY_MIN` meet only when equal.

100,000 names spell about 1.6 million deletions. Built as Python strings and grouped in a
dict, that took most of a /duplicates scan, so they are never built: each deletion is a
polynomial hash (mod 2^64) computed from its key's prefix and suffix hashes, a column at
a time over every key of one length, and the hashes are grouped by sorting. Equal hashes
of different strings are astronomically rare and harmless: every pair a group proposes is
compared on its real keys afterwards (scan.py `_groups`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from crm import matching

_BASE = 1_000_003
_Hashes = npt.NDArray[np.uint64]


def _powers(count: int) -> _Hashes:
    powers = np.ones(count + 1, dtype=np.uint64)
    for i in range(1, count + 1):
        powers[i : i + 1] = powers[i - 1 : i] * np.uint64(_BASE)  # wraps mod 2^64
    return powers


def _hashes(
    keys: list[str], length: int, fuzzy: bool, powers: _Hashes
) -> tuple[list[_Hashes], list[npt.NDArray[np.bool_]]]:
    """The hash of each key (all `length` long) and, if `fuzzy`, of each of its deletions
    but the first letter's: one array per variant, aligned with `keys`, with a mask of
    the distinct ones (leaving out either letter of a doubled pair spells the same)."""
    codes = (np.array(keys, dtype=f"<U{length}").view(np.uint32).reshape(len(keys), length)).astype(
        np.uint64
    ) + np.uint64(1)
    base = np.uint64(_BASE)
    prefix = np.zeros((len(keys), length + 1), dtype=np.uint64)  # prefix[:, i]: key[:i]
    for i in range(length):
        prefix[:, i + 1] = prefix[:, i] * base + codes[:, i]
    every = np.ones(len(keys), dtype=bool)
    found, distinct = [prefix[:, length]], [every]
    if not fuzzy:
        return found, distinct
    suffix = np.zeros(len(keys), dtype=np.uint64)  # key[i + 1:] as it ends a deletion
    for i in range(length - 1, 0, -1):
        found.append(prefix[:, i] * powers[length - 1 - i] + suffix)
        distinct.append(codes[:, i - 1] != codes[:, i] if i > 1 else every)
        suffix = suffix + codes[:, i] * powers[length - 1 - i]
    return found, distinct


def name_groups(keys: Mapping[int, str], crowd: int) -> list[list[int]]:
    """Ids whose keys meet on a key or a one-letter deletion: each group of 2..`crowd`
    records (a larger one is no evidence: a common short name)."""
    by_length: defaultdict[int, list[tuple[int, str]]] = defaultdict(list)
    for rid, key in keys.items():
        if key:
            by_length[len(key)].append((rid, key))
    if not by_length:
        return []
    powers = _powers(max(by_length))
    hashes: list[_Hashes] = []
    owners: list[npt.NDArray[np.int64]] = []
    masks: list[npt.NDArray[np.bool_]] = []
    for length, items in by_length.items():
        ids, names = zip(*items, strict=True)
        variants, distinct = _hashes(list(names), length, length >= matching.FUZZY_MIN, powers)
        hashes += variants
        masks += distinct
        owners += [np.array(ids, dtype=np.int64)] * len(variants)
    keep = np.concatenate(masks)
    every, who = np.concatenate(hashes)[keep], np.concatenate(owners)[keep]
    order = np.argsort(every)
    every, who = every[order], who[order]
    starts = np.flatnonzero(np.r_[True, every[1:] != every[:-1]])
    sizes = np.diff(np.r_[starts, len(every)])
    kept = np.flatnonzero((sizes >= 2) & (sizes <= crowd))
    return [who[s : s + n].tolist() for s, n in zip(starts[kept], sizes[kept], strict=True)]
