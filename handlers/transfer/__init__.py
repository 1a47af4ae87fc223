"""/export (an XLSX of what the user may see) and /import (a CSV or XLSX file)."""

from aiogram import Router

from handlers.transfer import export, importing, stray


def setup() -> Router:
    router = Router(name="transfer")
    router.include_routers(export.setup(), importing.setup(), stray.setup())
    return router
