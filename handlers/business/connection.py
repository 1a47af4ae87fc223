"""A `business_connection` update: a member of staff connected, changed or disconnected
the bot in Telegram Business; the bot confirms in their chat. Strangers are refused
before this (bot/middlewares.py) and nothing of theirs is stored."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import BusinessConnection
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.services.business import connections
from crm.services.business.connections import ConnectionInfo
from crm.uow import UnitOfWork


def can_reply(connection: BusinessConnection) -> bool:
    """Bot API 9.0 moved `can_reply` into `rights`; older servers send only the flag."""
    if connection.rights is not None and connection.rights.can_reply is not None:
        return bool(connection.rights.can_reply)
    return bool(connection.can_reply)


def connected_text(replies: bool) -> str:
    text = _(
        "💼 Telegram Business is connected. From now on your private chats with clients are "
        "logged by themselves: the messages of each chat, yours and the client's, become one "
        "conversation on the client's card (a new one after 30 minutes of silence), "
        "searchable with /find. Media are noted by type and name, not downloaded.\n"
        "When someone new writes, I ask you once whether they are a client. "
        "/business shows the chats being logged and stops any of them."
    )
    if replies:
        text += "\n" + _("You can also write to clients from their card: 💬 Write in Telegram.")
    else:
        text += "\n" + _(
            "To write to clients from their card, allow the bot to reply to messages "
            "in the Telegram Business settings."
        )
    return text


def disconnected_text() -> str:
    return _(
        "💼 Telegram Business is disconnected: nothing more is logged. "
        "What was logged stays on the clients' cards."
    )


def rights_text(replies: bool) -> str:
    if replies:
        return _("💼 The bot may now reply for you: 💬 Write in Telegram is on the clients' cards.")
    return _("💼 The bot may no longer reply for you; your chats are still logged.")


async def connection_changed(
    connection: BusinessConnection, bot: Bot, uow: UnitOfWork, actor: Actor
) -> None:
    replies = can_reply(connection)
    change = await connections.record(
        uow,
        actor,
        ConnectionInfo(
            connection_id=connection.id,
            user_chat_id=connection.user_chat_id,
            enabled=connection.is_enabled,
            can_reply=replies,
            at=connection.date,
        ),
    )
    if change.connected:
        text = connected_text(replies)
    elif change.disconnected:
        text = disconnected_text()
    elif connection.is_enabled:
        text = rights_text(replies)
    else:
        return
    await bot.send_message(connection.user_chat_id, text)


def setup() -> Router:
    router = Router(name="business.connection")
    router.business_connection.register(connection_changed)
    return router
