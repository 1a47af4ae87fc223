"""The callback data of the /log dialog."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class LogFormCb(CallbackData, prefix="lgf"):
    action: str  # who | kind | dir | skip | back | now | later | at
    value: str = ""  # the subject's kind (co|ct) for who, else the kind or the direction
    id: int = 0  # the subject's id for who; the moment (unix seconds) for at
