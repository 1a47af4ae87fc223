"""Drive the real dispatcher with a Bot pointed at the local Bot API stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram import Bot, Dispatcher
from sqlalchemy import select

from bot.app import create_dispatcher
from bot.fsm_storage import DatabaseStorage
from bot.governor import Limits, install_governor
from crm.models import Manager
from crm.models.enums import Role
from crm.settings import Settings
from crm.storage import Database
from notifications.telegram_sender import TelegramSender
from tests import factories
from tests.botapi_stub import BotAPIStub, Sent, TgUser, as_update, callback_update


@dataclass
class Harness:
    stub: BotAPIStub
    bot: Bot
    dp: Dispatcher
    db: Database

    async def send(self, payload: dict) -> list[Sent]:  # type: ignore[type-arg]
        """Feed one update through the dispatcher; what the bot then showed in that chat."""
        chat_id = (payload.get("message") or payload["callback_query"]["message"])["chat"]["id"]
        before = len(self.stub.sent_to(chat_id))
        await self.dp.feed_update(self.bot, as_update(payload, self.bot))
        return self.stub.sent_to(chat_id)[before:]


@pytest.fixture
async def stub() -> AsyncIterator[BotAPIStub]:
    """The Bot API stand-in alone (tests of the scheduler, digests and notices)."""
    async with BotAPIStub() as running:
        yield running


@pytest.fixture
async def bot(stub: BotAPIStub) -> AsyncIterator[Bot]:
    client = stub.bot()
    install_governor(client, Limits.fast())
    try:
        yield client
    finally:
        await client.session.close()


def fast_sender(bot: Bot, **options: Any) -> TelegramSender:
    """The real sender, on a governor paced for tests rather than for Telegram."""
    install_governor(bot, Limits.fast())
    return TelegramSender(bot, **options)


@pytest.fixture
async def harness(db: Database) -> AsyncIterator[Harness]:
    async with BotAPIStub() as stub:
        settings = Settings(_env_file=None, bot_token=stub.token)  # type: ignore[call-arg]
        bot = stub.bot()
        # every call goes through the governor, as in the bot, paced for tests
        install_governor(bot, Limits.fast())
        dp = create_dispatcher(settings, db, storage=DatabaseStorage(db))
        try:
            yield Harness(stub, bot, dp, db)
        finally:
            await bot.session.close()


async def person(db: Database, user: TgUser, role: Role = Role.MANAGER) -> None:
    await factories.staff(db, role, name=user.first_name, language="ru", tg_id=user.id)


async def read_manager(db: Database, tg_id: int) -> Manager:
    async with db.uow() as uow:
        return (await uow.session.scalars(select(Manager).where(Manager.tg_id == tg_id))).one()


def press(user: TgUser, sent: Sent, text: str) -> dict:  # type: ignore[type-arg]
    button = sent.button(text)
    return callback_update(user, button["callback_data"], sent.message_id, sent.chat_id, sent.text)


HINTS = ("I did not understand.", "Не понял.")


def only_a_hint(shown: list[Sent]) -> bool:
    """The bot took the text as nothing but chatter: one 'did not understand' hint, no more."""
    return len(shown) == 1 and (shown[0].text or "").startswith(HINTS)
