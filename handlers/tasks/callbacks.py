"""The callback data of reminders, /today and /tasks."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class PlannedCb(CallbackData, prefix="pi"):
    """The buttons of a planned interaction in /today."""

    action: str  # done | move | open
    id: int


class MoveWhenCb(CallbackData, prefix="pim"):
    action: str  # at | cancel
    at: int = 0  # "at": the chosen moment, seconds since the epoch (UTC)


class RemindWhenCb(CallbackData, prefix="rw"):
    action: str  # h1 | tmrw | mon | other | at | dflt | cancel
    at: int = 0  # "at": the chosen moment, seconds since the epoch (UTC)


class TaskCb(CallbackData, prefix="tk"):
    action: str  # done | undo | page
    task_id: int = 0
    offset: int = 0
    view: str = "l"  # what a Done press re-renders: l (the /tasks page) or d (/today)
