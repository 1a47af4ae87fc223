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
