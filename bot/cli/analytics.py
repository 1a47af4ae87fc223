"""`chatcrm analytics`: the sales and deal rollups the reports read."""

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
        bool,
        typer.Option("--repair", help="Rewrite the rollups that differ."),
    ] = False,
) -> None:
    """Recompute the monthly sales rollups from the sales and the deal rollups from the deals
    and report every difference (exit 1 if there is one and --repair was not given)."""
    from crm.analytics import deal_rollups, rollups

    settings = load_settings_or_exit()
    _upgrade(settings)

    async def check(database: Database) -> tuple[list[Any], list[Any], list[Any]]:
        async with database.uow().read_only() as uow:
            found = await rollups.verify(uow.session)
            found_deals = await deal_rollups.verify(uow.session)
        if not (repair and (found or found_deals)):
            return found, found_deals, []
        async with database.uow() as uow:
            if found:
                await rollups.rebuild(uow.session)
            if found_deals:
                await deal_rollups.rebuild(uow.session)
            left = [*await rollups.verify(uow.session), *await deal_rollups.verify(uow.session)]
            await uow.commit()
        return found, found_deals, left

    found, found_deals, left = _with_database(settings, check)
    if not (found or found_deals):
        typer.echo("The sales rollups match the sales.")
        typer.echo("The deal rollups match the deals.")
        return
    for diff in found[:50]:
        typer.echo(
            f"  {diff.kind} {diff.key}, {diff.month:%Y-%m}: stored {_figures(diff.stored)}; "
            f"the sales say {_figures(diff.expected)}"
        )
    if len(found) > 50:
        typer.echo(f"  …and {len(found) - 50} more")
    for deal_diff in found_deals[:50]:
        key = ", ".join(str(part) for part in deal_diff.key)
        typer.echo(
            f"  {deal_diff.table} ({key}): stored {deal_diff.stored or 'nothing'}; "
            f"the deals say {deal_diff.expected or 'nothing'}"
        )
    if len(found_deals) > 50:
        typer.echo(f"  …and {len(found_deals) - 50} more")
    if not repair:
        differ = []
        if found:
            differ.append(f"{len(found)} rollup rows differ from the sales")
        if found_deals:
            differ.append(f"{len(found_deals)} deal rollup rows differ from the deals")
        _fail(f"{'; '.join(differ)}: run with --repair to fix them.")
    if left:
        _fail(f"{len(left)} rollup rows still differ after the repair.")
    typer.echo(f"Repaired: {len(found) + len(found_deals)} rollup rows rewritten.")
