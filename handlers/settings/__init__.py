"""/settings: the user's own (language, timezone, digest time: personal.py) and, for a
director, the company's (the forgotten-client threshold and how the company's emails
present it: company.py)."""

from aiogram import Router

from handlers.settings import company, personal
from handlers.settings.callbacks import SettingsCb, SettingsForm
from handlers.settings.personal import main_menu, time_menu, timezone_menu

__all__ = ["SettingsCb", "SettingsForm", "main_menu", "setup", "time_menu", "timezone_menu"]


def setup() -> Router:
    router = Router(name="settings")
    router.include_routers(personal.setup(), company.setup())
    return router
