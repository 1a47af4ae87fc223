"""`chatcrm duplicates`: the candidate pairs a head or director sees, a merge, an undo."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

import typer

from crm.errors import CRMError
from crm.storage import Database

SHOWN = 50


class DuplicateKind(StrEnum):
    COMPANIES = "companies"
    CONTACTS = "contacts"


def duplicates(
    as_id: Annotated[
        int, typer.Option("--as", help="Telegram id of the head or director who acts.")
    ],
    kind: Annotated[DuplicateKind, typer.Option(help="Companies or contacts.")] = (
        DuplicateKind.COMPANIES
    ),
    merge_ids: Annotated[
        tuple[int, int],
        typer.Option("--merge", help="A B: merge record B into record A (A is kept)."),
    ] = (0, 0),
    undo: Annotated[int, typer.Option(help="Undo the merge of this number.")] = 0,
) -> None:
    """List candidate duplicates (best evidence first), merge two records, or undo a merge.

    Conflicting fields keep the kept record's value; its empty fields take the other's."""
    from bot.cli.common import acting, fail, upgrade, with_database
    from crm.services.duplicates import merge, scan
    from crm.settings import load_settings_or_exit

    settings = load_settings_or_exit()
    upgrade(settings)

    async def act(database: Database) -> Any:
        actor = await acting(database, as_id)
        if undo:
            return await merge.undo(database.uow(), actor, undo)
        if merge_ids != (0, 0):
            return await merge.merge(database.uow(), actor, kind.value, *merge_ids)
        pairs = await scan.scan(database.uow(), actor, kind.value)
        ids = [i for p in pairs[:SHOWN] for i in (p.first_id, p.second_id)]
        return pairs, await scan.titles(database.uow(), actor, kind.value, ids)

    try:
        result = with_database(settings, act)
    except CRMError as exc:
        fail(f"Refused, nothing changed: {exc}")
    if undo:
        typer.echo(f"Merge {undo} undone: #{result.loser_id} is back.")
    elif merge_ids != (0, 0):
        typer.echo(
            f"Merged #{merge_ids[1]} into #{merge_ids[0]}: {result.moved} linked rows moved, "
            f"{result.dropped} twins dropped. Undo: chatcrm duplicates --undo {result.log_id} "
            f"--as {as_id}"
        )
    else:
        pairs, names = result
        typer.echo(f"{len(pairs)} candidate pairs of {kind.value}.")
        for p in pairs[:SHOWN]:
            typer.echo(
                f"{p.score:4d}  #{p.first_id} {names.get(p.first_id, '?')}  |  "
                f"#{p.second_id} {names.get(p.second_id, '?')}  ({', '.join(sorted(p.reasons))})"
            )
