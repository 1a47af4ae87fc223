"""`chatcrm shell`: talk to the bot in the terminal, without Telegram."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.cli.common import Language
from bot.cli.common import fail as _fail
from bot.cli.common import upgrade as _upgrade
from crm.settings import Settings, load_settings_or_exit
from crm.storage import Database

SHELL_USER_ID = 1


async def _shell(settings: Settings, tg_id: int | None, language: Language | None) -> None:
    from aiogram.types import User

    from bot.shell import HELP, Shell
    from crm.services import team

    database = Database.from_url(settings.database_url)
    try:
        if tg_id is None:
            staff = await team.roster(database.uow())
            if not staff:
                tg_id = SHELL_USER_ID
                settings = settings.model_copy(
                    update={"admin_ids": settings.admin_ids | {SHELL_USER_ID}}
                )
                typer.echo("Nobody is registered yet: type /start to become the director.")
            else:
                for number, (_, name, role) in enumerate(staff, 1):
                    typer.echo(f"  {number:>2}. {name} ({role})")
                choice = typer.prompt("Talk to the bot as", type=int, default=1)
                if not 1 <= choice <= len(staff):
                    _fail("No such number.")
                tg_id = staff[choice - 1][0]
        code = (language or Language.EN).value  # a newcomer's /start stores it
        user = User(id=tg_id, is_bot=False, first_name="Shell", language_code=code)
        shell = Shell(
            settings, database, user, out=typer.echo, language=language.value if language else None
        )
        typer.echo(HELP)
        try:
            while True:
                try:
                    line = await asyncio.to_thread(input, "you> ")
                except EOFError:
                    break
                if line.strip():
                    await shell.say(line)
        finally:
            await shell.close()
    finally:
        await database.dispose()


def shell(
    as_id: Annotated[
        int | None, typer.Option("--as", help="Telegram id of the member of staff to be.")
    ] = None,
    lang: Annotated[
        Language | None,
        typer.Option(
            help="The language of this session, whatever the user's stored one (without it: "
            "the stored one; English for a newcomer)."
        ),
    ] = None,
) -> None:
    """Talk to the bot in the terminal, without Telegram: same handlers, same database.

    `/file PATH` sends a file (`/file PATH /import` imports it); a document the bot sends
    is saved in the working directory."""
    settings = load_settings_or_exit()
    _upgrade(settings)
    asyncio.run(_shell(settings, as_id, lang))
