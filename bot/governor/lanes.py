"""Which lane a Bot API call travels in: set by whoever makes the call, read by the governor.

- ANSWER: the answer to a user's own action, in that user's chat. The dispatcher's
  `AnswerLaneMiddleware` marks the chat of the update being handled (`answering`); any
  send to that chat while the update is handled is an answer.
- NOTICE: a personal notice to someone else (an approval request, a claim escalation,
  a leader told that a manager blocked the bot). A handler that writes to another chat
  sends a notice without saying so; jobs say it with `lane(Lane.NOTICE)`. A call that
  nobody marked is a notice too.
- FANOUT: many messages at once (reminders, digests): `lane(Lane.FANOUT)`, which
  `notifications.telegram_sender.TelegramSender` sets for every message it sends.

An explicit `lane(...)` wins over `answering(...)`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import IntEnum

ChatKey = int | str


class Lane(IntEnum):
    """Lower goes first."""

    ANSWER = 0
    NOTICE = 1
    FANOUT = 2


_lane: ContextVar[Lane | None] = ContextVar("chatcrm_lane", default=None)
_answering: ContextVar[ChatKey | None] = ContextVar("chatcrm_answering", default=None)


@contextmanager
def lane(value: Lane) -> Iterator[None]:
    """Every Bot API call made inside goes in `value`'s lane."""
    token = _lane.set(value)
    try:
        yield
    finally:
        _lane.reset(token)


@contextmanager
def answering(chat_id: ChatKey | None) -> Iterator[None]:
    """Sends to `chat_id` inside are answers to that user's own action."""
    token = _answering.set(chat_id)
    try:
        yield
    finally:
        _answering.reset(token)


def lane_for(chat_id: ChatKey | None) -> Lane:
    explicit = _lane.get()
    if explicit is not None:
        return explicit
    answered = _answering.get()
    if answered is not None and chat_id is not None and str(answered) == str(chat_id):
        return Lane.ANSWER
    return Lane.NOTICE


def answering_now() -> bool:
    """Inside the handling of an update (whatever the chat)."""
    return _answering.get() is not None
