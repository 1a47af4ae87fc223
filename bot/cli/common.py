"""What every `chatcrm` command shares: one-line failures, the database handle, migrations
first, the acting member of staff. Every command module of this package imports it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import NoReturn, TypeVar

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from crm import migrate
from crm.access import Actor
from crm.settings import Settings
from crm.storage import Database

T = TypeVar("T")

TELEGRAM_API = "https://api.telegram.org"


class Language(StrEnum):
    """The languages of the bot's catalogues, as `--lang` takes them."""

    EN = "en"
    RU = "ru"


@contextmanager
def speaking(language: Language) -> Iterator[None]:
    """The bot's words (`_()`, handlers/words.py) in `language` inside the block."""
    from bot.i18n import create_i18n

    i18n = create_i18n()
    with i18n.context(), i18n.use_locale(language.value):
        yield


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(message, err=True)
    raise typer.Exit(code)


def shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def with_database(settings: Settings, action: Callable[[Database], Awaitable[T]]) -> T:
    """Run `action` on a database handle; an unreachable database is one line, exit 1."""

    async def main() -> T:
        database = Database.from_url(settings.database_url)
        try:
            return await action(database)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except (OSError, DBAPIError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        fail(f"Cannot use the database {shown(settings.database_url)}: {reason}")


def upgrade(settings: Settings, revision: str = "head") -> None:
    with_database(settings, lambda database: migrate.upgrade(database.engine, revision))


async def acting(database: Database, tg_id: int) -> Actor:
    from crm.services import people

    actor = await people.actor_for(database.uow(), tg_id)
    if actor is None:
        fail(f"Nobody active is registered with Telegram id {tg_id}.")
    return actor
