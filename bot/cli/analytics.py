"""`chatcrm analytics`: the sales rollups the reports read."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bot.cli.common import fail as _fail
from bot.cli.common import upgrade as _upgrade
from bot.cli.common import with_database as _with_database
from crm.settings import load_settings_or_exit
from crm.storage import Database

app = typer.Typer(help="The sales rollups the reports read.", no_args_is_help=True)


def _figures(values: tuple[int, int, int] | None) -> str:
    if values is None:
        return "nothing"
    revenue, cost, sales = values
    return f"revenue {revenue / 100:.2f}, cost {cost / 100:.2f}, {sales} sales"


@app.command("verify")
def analytics_verify(
    repair: Annotated[
        bool, typer.Option("--repair", help="Rewrite the rollups from the sales if they differ.")
    ] = False,
) -> None:
    """Recompute the monthly sales rollups from the sales and report every difference
    (exit 1 if there is one and --repair was not given)."""
    from crm.analytics import rollups

    settings = load_settings_or_exit()
    _upgrade(settings)

    async def check(database: Database) -> tuple[list[Any], list[Any]]:
        async with database.uow().read_only() as uow:
            found = await rollups.verify(uow.session)
        if not (repair and found):
            return found, []
        async with database.uow() as uow:
            await rollups.rebuild(uow.session)
            left = await rollups.verify(uow.session)
            await uow.commit()
        return found, left

    found, left = _with_database(settings, check)
    if not found:
        typer.echo("The sales rollups match the sales.")
        return
    for diff in found[:50]:
        typer.echo(
            f"  {diff.kind} {diff.key}, {diff.month:%Y-%m}: stored {_figures(diff.stored)}; "
            f"the sales say {_figures(diff.expected)}"
        )
    if len(found) > 50:
        typer.echo(f"  …and {len(found) - 50} more")
    if not repair:
        _fail(f"{len(found)} rollup rows differ from the sales: run with --repair to fix them.")
    if left:
        _fail(f"{len(left)} rollup rows still differ after the repair.")
    typer.echo(f"Repaired: {len(found)} rollup rows rewritten from the sales.")
