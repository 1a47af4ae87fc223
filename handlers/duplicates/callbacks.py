"""The callback data of duplicate control: asking for a client, deciding, /duplicates."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

KINDS = {"co": "companies", "ct": "contacts"}  # short codes in callback data (64 bytes)
CODES = {kind: code for code, kind in KINDS.items()}


class AskCb(CallbackData, prefix="dask"):
    kind: str  # co | ct
    id: int


class RequestCb(CallbackData, prefix="dreq"):
    id: int
    ok: bool


class DupCb(CallbackData, prefix="dup"):
    action: str  # list | merge | toggle | do | undo | not
    k: str  # co | ct
    a: int = 0  # the record kept (or the first of the pair)
    b: int = 0  # the record merged into it (or the second)
    n: int = 0  # list: the pair's place; toggle/do: the fields taking b's value (bits)
