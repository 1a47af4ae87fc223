"""The callback data of Telegram Business: the new-chat question, linking, /business."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class ChatCb(CallbackData, prefix="biz"):
    action: str  # link | new | ignore | pick | stop | page
    id: int = 0  # the business chat (link, new, ignore, stop) or the contact (pick)
    offset: int = 0


class WriteCb(CallbackData, prefix="bzw"):
    action: str  # start (the card's button) | tpl (a template, by its place)
    id: int  # the contact
    n: int = 0
