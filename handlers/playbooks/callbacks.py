"""The callback data of the playbook screens and of the playbook dialog."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class PlaybookCb(CallbackData, prefix="pb"):
    action: str  # show | default | delete | really | steps
    id: int


class PlaybookListCb(CallbackData, prefix="pbl"):
    kind: str = "deal"
    offset: int = 0


class PlaybookFormCb(CallbackData, prefix="pbf"):
    action: str  # new | kind | done | undo | create | default | save | back | cancel
    value: str = ""
