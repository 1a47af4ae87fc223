"""The updates fed, built before the clock starts as polling parses them: one maker per
case, `(persona, i) -> Update`, and the weights of bench_load's mix of CRM cases."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape
from typing import Any

from aiogram import Bot
from aiogram.types import Update

from bench.dispatcher.network import BOT_USER
from bench.dispatcher.world import Persona, next_move
from crm.models import utcnow
from handlers.cards.callbacks import COMPANY, CardCb

LOG_SUMMARY = "bench: discussed the offer"
REMIND_TITLE = "bench call"
# bench_load's mix: each CRM case and its share of the updates, in per cent
MIX = (("find", 40), ("card", 20), ("move", 15), ("log", 15), ("remind", 10))

_update_ids = itertools.count(1)


def _user(tg_id: int, language: str) -> dict[str, Any]:
    return {"id": tg_id, "is_bot": False, "first_name": "Bench", "language_code": language}


def text_update(bot: Bot, tg_id: int, text: str, language: str = "ru") -> Update:
    """Mounted on the bot as polling does it (feed_update would otherwise round-trip it)."""
    raw = {
        "update_id": next(_update_ids),
        "message": {
            "message_id": next(_update_ids),
            "date": int(time.time()),
            "chat": {"id": tg_id, "type": "private", "first_name": "Bench"},
            "from": _user(tg_id, language),
            "text": text,
        },
    }
    return Update.model_validate(raw, context={"bot": bot})


def press_update(bot: Bot, tg_id: int, data: str, language: str = "ru") -> Update:
    raw = {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": _user(tg_id, language),
            "chat_instance": "bench",
            "data": data,
            "message": {
                "message_id": 77,
                "date": int(time.time()),
                "chat": {"id": tg_id, "type": "private", "first_name": "Bench"},
                "from": BOT_USER.model_dump(exclude_none=True),
                "text": "deal card",
            },
        },
    }
    return Update.model_validate(raw, context={"bot": bot})


@dataclass
class Cases:
    """The makers of every case's updates for `people` on `bot`. What the checks need
    afterwards is kept: the company each /find searched for, per chat in the order fed,
    and the names a company card must show."""

    bot: Bot
    people: list[Persona]
    expected: dict[int, list[int]] = field(init=False)
    card_names: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.expected = {p.tg_id: [] for p in self.people}
        self.card_names = {escape(n, quote=False) for p in self.people for n in p.names.values()}

    def echo(self, p: Persona, i: int) -> Update:
        return text_update(self.bot, p.tg_id, f"hello {i}", p.language)

    def help(self, p: Persona, i: int) -> Update:
        return text_update(self.bot, p.tg_id, "/help", p.language)

    def find(self, p: Persona, i: int) -> Update:
        query, company_id = p.queries[i % len(p.queries)]
        self.expected[p.tg_id].append(company_id)
        return text_update(self.bot, p.tg_id, f"/find {query}", p.language)

    def move(self, p: Persona, i: int) -> Update:
        return press_update(self.bot, p.tg_id, next_move(p), p.language)

    def card(self, p: Persona, i: int) -> Update:
        company_id = list(p.names)[i % len(p.names)]
        return press_update(self.bot, p.tg_id, CardCb(kind=COMPANY, id=company_id).pack())

    def log(self, p: Persona, i: int) -> Update:
        name = list(p.names.values())[i % len(p.names)]
        text = f"/log {name}; call; out; {LOG_SUMMARY}"
        return text_update(self.bot, p.tg_id, text, p.language)

    def remind(self, p: Persona, i: int) -> Update:
        tomorrow = utcnow() + timedelta(days=1)
        name = list(p.names.values())[i % len(p.names)]
        text = f"/remind {tomorrow:%d.%m.%Y} 10:00; {REMIND_TITLE} {name}"
        return text_update(self.bot, p.tg_id, text, p.language)
