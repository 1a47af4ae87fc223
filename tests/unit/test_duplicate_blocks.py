"""The name groups of /duplicates (crm/services/duplicates/blocks.py) are exactly those of
symmetric deletion spelled out with strings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from crm import matching
from crm.services.duplicates.blocks import name_groups


def _spelled_out(keys: dict[int, str], crowd: int) -> set[tuple[int, ...]]:
    found: dict[str, set[int]] = {}
    for rid, key in keys.items():
        if not key:
            continue
        variants = {key}
        if len(key) >= matching.FUZZY_MIN:
            variants |= {key[:i] + key[i + 1 :] for i in range(1, len(key))}
        for variant in variants:
            found.setdefault(variant, set()).add(rid)
    return {tuple(sorted(ids)) for ids in found.values() if 2 <= len(ids) <= crowd}


def _groups(keys: dict[int, str], crowd: int) -> set[tuple[int, ...]]:
    return {tuple(sorted(ids)) for ids in name_groups(keys, crowd)}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abcё1 ", max_size=9), max_size=60), st.integers(2, 6))
def test_groups_are_those_of_symmetric_deletion(keys: list[str], crowd: int) -> None:
    numbered = dict(enumerate(keys))
    assert _groups(numbered, crowd) == _spelled_out(numbered, crowd)


def test_one_typo_apart_meet_and_the_first_letter_is_never_a_typo() -> None:
    keys = {1: "romaska", 2: "romaska", 3: "romsaka", 4: "romaskaa", 5: "tomaska", 6: "rom"}
    groups = _groups(keys, 20)
    for pair in ({1, 2}, {1, 3}, {1, 4}):  # the same, two letters swapped, one added
        assert any(pair <= set(g) for g in groups), pair
    assert not any(5 in g for g in groups) and not any(6 in g for g in groups)
    assert name_groups({}, 20) == [] and name_groups({1: ""}, 20) == []
