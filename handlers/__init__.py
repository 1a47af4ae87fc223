"""Telegram handlers: one Router per module, each kept thin (parse, call a crm service, render).

To add yours: write `router = Router(name="...")` in handlers/<area>.py and add it to
ROUTERS below. Handlers that take free text outside a dialog should filter
`StateFilter(None)`, so that they do not swallow the answers of another router's dialog.
"""

from aiogram import Router

from handlers import (
    claim_settings,
    claims,
    clients,
    deal_lines,
    deals,
    events,
    fallback,
    find,
    help,
    interactions,
    playbooks,
    reports,
    settings,
    start,
    status,
    tasks,
    team,
    transfer,
)

ROUTERS: list[Router] = [
    start.router,
    help.router,
    settings.router,
    deals.router,
    deal_lines.router,
    team.router,
    find.router,
    interactions.router,
    clients.router,
    tasks.router,
    status.router,
    claims.router,
    claim_settings.router,
    playbooks.router,
    transfer.router,
    reports.router,
    events.router,
    fallback.router,  # keep last: it answers whatever the others did not take
]
