"""The callback data of the /company, /contact and forwarded-message dialogs."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class CompanyFormCb(CallbackData, prefix="cof"):
    action: str  # skip | back | save | anyway


class ContactFormCb(CallbackData, prefix="cnf"):
    action: str  # skip | back | co | newco | noco
    id: int = 0


class ForwardCb(CallbackData, prefix="fwd"):
    action: str  # pick | new | search
    id: int = 0
