"""Telegram handlers: one area per module or package, each kept thin (parse, call a crm
service, render).

Each area exposes `setup() -> Router` (a new Router at every call) and, when it adds
buttons to the company, contact or deal cards, its `CARD_ROWS`. bot/areas.py declares
the order of both; bot/app.py `create_dispatcher` includes the routers and hands one
CardView with the rows to the handlers. Shared by the areas: ui.py (show, buttons,
pagers), words.py (labels and formats), dialog.py (the Wizard of multi-step dialogs),
cards/ (the cards and their buttons).
Handlers that take free text outside a dialog should filter `StateFilter(None)`, so that
they do not swallow the answers of another area's dialog.
"""
