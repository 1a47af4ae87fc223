"""The messages of a connected account's chats: business_message, its edits, deletions.

Thin: each becomes plain values for crm.services.business.chats, which decides whose chat
it is and what is kept. The first message of someone new brings one question to the
manager's chat with the bot, in the manager's language.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import Bot, Router
from aiogram.types import BusinessMessagesDeleted, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from crm.models import utcnow
from crm.services.business import chats
from crm.services.business.chats import Incoming, Person, Question
from crm.services.business.conversations import message_text
from crm.uow import UnitOfWork
from handlers.business.callbacks import ChatCb
from handlers.ui import button, h, markup

NAMED_MEDIA = ("document", "audio", "video", "animation")


def incoming(message: Message, edited: bool = False) -> Incoming:
    kind = message.content_type
    media = None if kind == "text" else str(getattr(kind, "value", kind))
    name = None
    for kind in NAMED_MEDIA:
        item = getattr(message, kind, None)
        if item is not None:
            name = getattr(item, "file_name", None)
            break
    chat = message.chat
    # edit_date is a Unix time (aiogram keeps it an int); date is parsed to a datetime
    edit_date = message.edit_date if edited else None
    at = datetime.fromtimestamp(edit_date, UTC) if edit_date else message.date or utcnow()
    return Incoming(
        connection_id=message.business_connection_id or "",
        chat=Person(chat.id, chat.full_name or chat.username or str(chat.id), chat.username),
        sender_id=message.from_user.id if message.from_user is not None else None,
        message_id=message.message_id,
        at=at,
        text=message_text(message.text or message.caption, media, name),
    )


def who(name: str, username: str | None) -> str:
    return f"{h(name)} (@{h(username)})" if username else h(name)


def question_text(question: Question) -> str:
    return _(
        "New chat: {who}. Is this a client? Its messages are kept until you decide; "
        "“Not a client” forgets the chat for good."
    ).format(who=f"<b>{who(question.name, question.username)}</b>")


def question_markup(chat_ref: int):  # type: ignore[no-untyped-def]
    return markup(
        [
            [
                button(_("🔗 Link to a contact…"), ChatCb(action="link", id=chat_ref)),
                button(_("➕ New contact"), ChatCb(action="new", id=chat_ref)),
            ],
            [button(_("🚫 Not a client"), ChatCb(action="ignore", id=chat_ref))],
        ]
    )


async def business_message(message: Message, bot: Bot, uow: UnitOfWork, i18n: I18n) -> None:
    outcome = await chats.receive(uow, incoming(message))
    question = outcome.question
    if question is None:
        return
    with i18n.use_locale(question.language):
        text, keyboard = question_text(question), question_markup(question.chat_ref)
    await bot.send_message(question.owner_chat_id, text, reply_markup=keyboard)


async def edited_business_message(message: Message, uow: UnitOfWork) -> None:
    await chats.edit(uow, incoming(message, edited=True))


async def deleted_business_messages(event: BusinessMessagesDeleted, uow: UnitOfWork) -> None:
    await chats.remove(uow, event.business_connection_id, event.chat.id, event.message_ids)


def setup() -> Router:
    router = Router(name="business.messages")
    router.business_message.register(business_message)
    router.edited_business_message.register(edited_business_message)
    router.deleted_business_messages.register(deleted_business_messages)
    return router
