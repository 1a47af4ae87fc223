"""/claims_settings (directors): the cause categories of claims and the SLA per priority."""

from aiogram import Router

from handlers.claim_settings import screen
from handlers.claim_settings.causes import CAUSE_WORDS, SLA_WORDS

__all__ = ["CAUSE_WORDS", "SLA_WORDS", "setup"]


def setup() -> Router:
    return screen.setup()
