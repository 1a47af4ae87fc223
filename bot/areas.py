"""The handler areas in the order the dispatcher asks them, and the card rows in order.

`create_dispatcher` (bot/app.py) includes `area.setup()` of each area below and builds
one CardView with the rows below. A new area is added here, in its place.
"""

from __future__ import annotations

from aiogram import Router

from handlers import (
    business,
    cards,
    claim_settings,
    claims,
    clients,
    deals,
    duplicates,
    events,
    fallback,
    help,
    interactions,
    mailings,
    playbooks,
    reports,
    settings,
    start,
    status,
    tasks,
    team,
    transfer,
)

# The first area whose filters match answers an update; fallback is last: it answers
# whatever the others did not take.
AREAS = (
    start,
    help,
    settings,
    deals,
    team,
    cards,
    interactions,
    clients,
    duplicates,
    tasks,
    status,
    claims,
    claim_settings,
    playbooks,
    transfer,
    reports,
    events,
    mailings,
    business,
    fallback,
)

# The rows under the cards, in the order they are shown: a deal's own actions first
# (stage moves, lines), then a claim to file, then 💬 Write in Telegram, then Remind.
CARD_ROWS = deals.CARD_ROWS + claims.CARD_ROWS + business.CARD_ROWS + tasks.CARD_ROWS


def routers() -> list[Router]:
    """A new router of every area (a dispatcher of its own gets routers of its own)."""
    return [area.setup() for area in AREAS]
