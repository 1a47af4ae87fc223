"""Conversations: the messages of a logged chat grouped into interactions.

Messages with less than GAP between them form one conversation: one interaction of kind
"message", channel "telegram", its direction that of the message that began it, its
summary the transcript ("Name: text" a line), kept for the contact's history and found
by /find (a search row of kind "conversation" per interaction, owned by the contact's
curator, so that it follows the contact's access rules). A conversation past
SUMMARY_MAX characters is closed and the next message begins another.

An edit rewrites the message's line; a deletion leaves "🗑" in its place (the text is
gone from the database). Media are noted by an icon and their file name, never
downloaded.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update

from crm import search
from crm.db import rowcount
from crm.models import (
    BusinessChat,
    BusinessMessage,
    Company,
    Contact,
    Interaction,
    SearchEntry,
)
from crm.models.enums import Direction, InteractionKind, InteractionStatus, SearchKind
from crm.uow import UnitOfWork

GAP = timedelta(minutes=30)
SUMMARY_MAX = 16_000
CHANNEL = "telegram"
DELETED = "🗑"
MEDIA_ICONS = {
    "photo": "🖼",
    "video": "🎬",
    "animation": "🎞",
    "document": "📎",
    "audio": "🎵",
    "voice": "🎤",
    "video_note": "⏺",
    "sticker": "🏷",
    "location": "📍",
    "venue": "📍",
    "contact": "👤",
    "poll": "📊",
}
TEXT_MAX = 4096


def message_text(text: str | None, media: str | None = None, name: str | None = None) -> str:
    """A message as the transcript keeps it: its text or caption, a medium noted before it
    by its icon and file name ("📎 invoice.pdf")."""
    body = (text or "").strip()[:TEXT_MAX]
    if media is None:
        return body
    note = MEDIA_ICONS.get(media, "📎")
    if name:
        note += " " + " ".join(name.split())[:200]
    return f"{note} {body}".strip() if body else note


def line(who: str, text: str, deleted: bool = False) -> str:
    return f"{who}: {DELETED if deleted else text}"


def _parties(chat: BusinessChat, owner_name: str) -> tuple[str, str]:
    """(the client's name, the manager's name) as the transcript shows them."""
    return chat.name, owner_name or "—"


async def index(
    uow: UnitOfWork, interaction: Interaction, contact: Contact, new: str, fresh: bool = False
) -> None:
    """The conversation's search row (its whole transcript; `fresh`: a conversation just
    begun, which has none yet); typo correction learns the words of `new` only (those of
    the earlier lines it knows already)."""
    body = search.document([interaction.summary])
    title = contact.name if contact.company is None else f"{contact.name}, {contact.company.name}"
    entry = (
        None
        if fresh
        else await uow.session.scalar(
            select(SearchEntry).where(
                SearchEntry.kind == SearchKind.CONVERSATION.value,
                SearchEntry.entity_id == interaction.id,
            )
        )
    )
    if entry is None:
        uow.session.add(
            SearchEntry(
                kind=SearchKind.CONVERSATION.value,
                entity_id=interaction.id,
                owner_id=contact.curator_id,
                title=title[:300],
                text=body,
            )
        )
    else:
        entry.owner_id, entry.title, entry.text = contact.curator_id, title[:300], body
    await learn(uow, new)


# the words each database's typo-correction vocabulary is known to hold (they are never
# taken out of it): a conversation's next lines mostly repeat words, and writing their
# variants again costs a large INSERT per message for nothing (bench/bench_business.py)
_known_words: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
KNOWN_WORDS_MAX = 50_000


async def learn(uow: UnitOfWork, text: str) -> None:
    """Teach typo correction the words of `text` it may not know yet."""
    body = search.document([text])
    bind = uow.session.get_bind()
    engine = getattr(bind, "engine", bind)
    known = _known_words.setdefault(engine, set())
    new = search.vocabulary(body) - known
    if not new:
        return
    await search.add_terms(uow.session, [" ".join(sorted(new))])
    if len(known) > KNOWN_WORDS_MAX:
        known.clear()
    known |= new


async def _touch_company(uow: UnitOfWork, company_id: int | None, at: datetime) -> None:
    if company_id is None:
        return
    await uow.session.execute(
        update(Company)
        .where(
            Company.id == company_id,
            or_(Company.last_interaction_at.is_(None), Company.last_interaction_at < at),
        )
        .values(last_interaction_at=at)
        .execution_options(synchronize_session=False)
    )


async def _open(
    uow: UnitOfWork, chat: BusinessChat, contact: Contact, at: datetime, outgoing: bool, text: str
) -> Interaction:
    """A new conversation begun by this message; audited (without its text)."""
    interaction = Interaction(
        kind=InteractionKind.MESSAGE.value,
        direction=(Direction.OUT if outgoing else Direction.IN).value,
        status=InteractionStatus.DONE.value,
        occurred_at=at,
        summary=text,
        company_id=contact.company_id,
        contact_id=contact.id,
        manager_id=chat.manager_id,
        channel=CHANNEL,
    )
    uow.session.add(interaction)
    await uow.flush()
    uow.audit(
        chat.manager_id,
        interaction,
        "create",
        {
            "kind": [None, interaction.kind],
            "direction": [None, interaction.direction],
            "channel": [None, CHANNEL],
            "contact_id": [None, contact.id],
            "occurred_at": [None, at],
        },
    )
    return interaction


async def _append(uow: UnitOfWork, conversation_id: int, text: str) -> bool:
    """The line added to a conversation and to its search row in SQL (neither is read:
    the usual message costs two UPDATEs); False if the transcript would grow too long."""
    appended = await uow.session.execute(
        update(Interaction)
        .where(
            Interaction.id == conversation_id,
            func.length(Interaction.summary) + len(text) < SUMMARY_MAX,
        )
        .values(summary=Interaction.summary + "\n" + text)
        .execution_options(synchronize_session=False)
    )
    if rowcount(appended) != 1:
        return False
    await uow.session.execute(
        update(SearchEntry)
        .where(
            SearchEntry.kind == SearchKind.CONVERSATION.value,
            SearchEntry.entity_id == conversation_id,
        )
        .values(text=SearchEntry.text + " " + search.document([text]))
        .execution_options(synchronize_session=False)
    )
    await learn(uow, text)
    return True


async def add(
    uow: UnitOfWork,
    chat: BusinessChat,
    contact: Contact,
    message: BusinessMessage,
    owner_name: str,
) -> int:
    """Within the open transaction: a message of a linked chat joins its conversation, or
    begins the next one; the chat remembers it. The conversation's id.

    A new `message` is added to the session here, once its conversation is known."""
    client, manager = _parties(chat, owner_name)
    text = line(manager if message.outgoing else client, message.text, message.deleted)
    joined = (
        chat.conversation_id is not None
        and chat.last_message_at is not None
        and message.sent_at - chat.last_message_at < GAP
        and await _append(uow, chat.conversation_id, text)
    )
    if joined:
        assert chat.conversation_id is not None
        current = chat.conversation_id
    else:
        opened = await _open(uow, chat, contact, message.sent_at, message.outgoing, text)
        await index(uow, opened, contact, text, fresh=True)
        current = opened.id
    message.interaction_id = current
    uow.session.add(message)  # stored with its conversation: one INSERT, no UPDATE after
    chat.conversation_id = current
    if chat.last_message_at is None or message.sent_at > chat.last_message_at:
        chat.last_message_at = message.sent_at
    await uow.flush()
    await _touch_company(uow, contact.company_id, message.sent_at)
    return current


async def replay(
    uow: UnitOfWork,
    chat: BusinessChat,
    contact: Contact,
    messages: Sequence[BusinessMessage],
    owner_name: str,
) -> None:
    """Within the open transaction: the messages kept while the chat was pending become
    conversations, in the order they were sent."""
    chat.conversation_id, chat.last_message_at = None, None
    for message in sorted(messages, key=lambda m: (m.sent_at, m.message_id)):
        await add(uow, chat, contact, message, owner_name)


async def rewrite(
    uow: UnitOfWork, chat: BusinessChat, interaction_ids: Iterable[int], owner_name: str
) -> None:
    """Within the open transaction: the transcripts of some conversations written again from
    their messages (after an edit or a deletion), and their search rows."""
    client, manager = _parties(chat, owner_name)
    for interaction_id in sorted(set(interaction_ids)):
        interaction = await uow.session.get(Interaction, interaction_id, populate_existing=True)
        if interaction is None:
            continue
        messages = await uow.session.scalars(
            select(BusinessMessage)
            .where(BusinessMessage.interaction_id == interaction_id)
            .order_by(BusinessMessage.sent_at, BusinessMessage.message_id)
        )
        interaction.summary = "\n".join(
            line(manager if m.outgoing else client, m.text, m.deleted) for m in messages
        )
        contact = (
            await uow.session.get(Contact, interaction.contact_id)
            if interaction.contact_id is not None
            else None
        )
        await uow.flush()
        if contact is not None:
            await index(uow, interaction, contact, "")
