"""The callback data of the event screens and of the New event dialog."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

BUTTON_TITLE = 40
TASKS_SHOWN = 15


class EventCb(CallbackData, prefix="ev"):
    """action: open (a new message with the card) | show (the card in place) | list |
    new | add (segment menu) | seg (value: all | stage.<s> | ind.<i> | ter.<i> | co.<id>) |
    inds | ters | cos (choose one) | send | inv (invitees page) | att (value: <id>.1|0) |
    tasks | done (value: task id) | edit (the Edit dialog) | drop (asks to cancel) |
    dropok (cancels)"""

    action: str
    event_id: int = 0
    value: str = ""
    offset: int = 0


class EventFormCb(CallbackData, prefix="evf"):
    action: str  # back | cancel | skip | at (value: epoch seconds of a chosen time)
    value: str = ""
