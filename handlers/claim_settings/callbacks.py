"""The callback data of the claim settings."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ClaimSetCb(CallbackData, prefix="cset"):
    action: str  # open (a new message) | show (in place) | cause | sla | days
    # | renpick | ren (code) | rmpick | rm (code: confirm) | rmyes (code)
    prio: str = ""
    days: int = 0
    code: str = ""
