"""`chatcrm mail-identity`: how the company's emails present it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bot.cli.common import acting as _acting
from bot.cli.common import fail as _fail
from bot.cli.common import upgrade as _upgrade
from bot.cli.common import with_database as _with_database
from crm.errors import CRMError
from crm.settings import load_settings_or_exit
from crm.storage import Database


async def _mail_identity(database: Database, tg_id: int, values: dict[str, str | None]) -> Any:
    from crm.services import company_settings

    actor = await _acting(database, tg_id)
    for key, value in values.items():
        if value is not None:
            await company_settings.set_mail_setting(database.uow(), actor, key, value)
    return await company_settings.mail_identity(database.uow())


def mail_identity(
    as_id: Annotated[int, typer.Option("--as", help="Telegram id of a director.")],
    company_name: Annotated[
        str | None, typer.Option(help="The organiser's company name on invitations.")
    ] = None,
    sender_name: Annotated[
        str | None, typer.Option(help="The From name of invitations and mailings.")
    ] = None,
    signature: Annotated[
        str | None,
        typer.Option(help="The signature under invitations and mailings (\\n: a new line)."),
    ] = None,
) -> None:
    """Show or set (directors) how the company's emails present it; "" unsets a value."""
    settings = load_settings_or_exit()
    _upgrade(settings)
    values = {
        "company_name": company_name,
        "sender_name": sender_name,
        "signature": signature.replace("\\n", "\n") if signature is not None else None,
    }
    try:
        identity = _with_database(settings, lambda db: _mail_identity(db, as_id, values))
    except CRMError as exc:
        _fail(f"Not changed: {exc}")
    typer.echo(f"Company name: {identity.company_name or '—'}")
    typer.echo(f"Sender name: {identity.sender_name or '—'}")
    typer.echo("Signature: " + (identity.signature.replace("\n", " / ") or "—"))
