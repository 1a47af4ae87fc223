"""Texts in the user's language: aiogram's gettext I18n over the catalogues in locales/.

English msgids live in the code (`_("...")`); translations in
locales/<lang>/LC_MESSAGES/messages.po, compiled to .mo by `python -m bot.i18n_tools`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n.middleware import I18nMiddleware

from crm.services.people import language_of

LOCALES_DIR = Path(__file__).resolve().parent / "locales"  # inside the package: installed with it
DOMAIN = "messages"
DEFAULT_LOCALE = "ru"
LANGUAGES = ("ru", "en")


def create_i18n() -> I18n:
    return I18n(path=LOCALES_DIR, default_locale=DEFAULT_LOCALE, domain=DOMAIN)


class LocaleMiddleware(I18nMiddleware):
    """The manager's saved language, else the Telegram client's: ru* -> ru, others -> en.

    A `session_language` in the update's data (`chatcrm shell --lang`) wins over both.
    """

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        session = data.get("session_language")
        if session in LANGUAGES:
            return str(session)
        actor = data.get("actor")
        if actor is not None and actor.language in LANGUAGES:
            return str(actor.language)
        user = data.get("event_from_user")
        return language_of(user.language_code if user is not None else None)
