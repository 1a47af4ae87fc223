"""The callback data and the one-question states of /settings."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.state import State, StatesGroup


class SettingsCb(CallbackData, prefix="st"):
    action: str  # lang | tzmenu | tz | tzother | timemenu | time | timeother | back
    # directors: company (the company settings) | fdays (value: days) | fdother |
    # mail (value: company_name | sender_name | signature: asks for it) | mailclear (value: key)
    value: str = ""  # no ":" inside: it is the separator (times are sent as "0900")


class SettingsForm(StatesGroup):
    timezone = State()
    digest_time = State()
    forgotten_days = State()
    mail_setting = State()  # data: {"key": company_name | sender_name | signature}
