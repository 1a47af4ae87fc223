"""`chatcrm doctor`: the records that disagree with the rules."""

from __future__ import annotations

from typing import Any

import typer

from bot.cli.common import fail as _fail
from bot.cli.common import upgrade as _upgrade
from bot.cli.common import with_database as _with_database
from crm.settings import load_settings_or_exit
from crm.storage import Database


def doctor() -> None:
    """List the records that disagree with the rules (a deal's amount and its lines, a won
    deal's sale and its lines); nothing is changed. Exit 1 if there is one."""
    from crm.services.doctor import deal_disagreements

    settings = load_settings_or_exit()
    _upgrade(settings)

    async def check(database: Database) -> list[Any]:
        async with database.uow().read_only() as uow:
            return await deal_disagreements(uow.session)

    found = _with_database(settings, check)
    if not found:
        typer.echo("No disagreements found.")
        return
    for item in found[:50]:
        typer.echo(
            f"  deal {item.deal_id} «{item.title}» ({item.stage}): {item.what} {item.stored}, "
            f"expected {item.expected}"
        )
    if len(found) > 50:
        typer.echo(f"  …and {len(found) - 50} more")
    _fail(f"{len(found)} disagreements found; nothing was changed.")
