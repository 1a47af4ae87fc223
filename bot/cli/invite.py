"""`chatcrm invite`: a single-use invite code for a new member of staff."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

import typer

from bot.cli.common import TELEGRAM_API
from bot.cli.common import fail as _fail
from bot.cli.common import upgrade as _upgrade
from bot.cli.common import with_database as _with_database
from crm.errors import CRMError, InvalidInput
from crm.models.enums import Role
from crm.settings import Settings, load_settings_or_exit
from crm.storage import Database


async def _department_id(database: Database, name: str, create: bool) -> int:
    from crm.services import team

    try:
        department, created = await team.department(database.uow(), name, create=create)
    except InvalidInput as exc:
        if exc.reason != "not_found":
            raise
        known = ", ".join(exc.params["known"]) or "none yet"
        _fail(
            f"No department {exc.params['name']!r} (existing: {known}); "
            "add --create-department to create it."
        )
    if created:
        typer.echo(f"Created department {department.name!r}.")
    return department.id


async def _bot_username(settings: Settings) -> str | None:
    """The bot's @username from getMe, or None when there is no token or no answer."""
    if settings.bot_token is None:
        return None
    import aiohttp

    base = (settings.telegram_api_url or TELEGRAM_API).rstrip("/")
    url = f"{base}/bot{settings.bot_token.get_secret_value()}/getMe"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(url) as response,
        ):
            payload = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    if not isinstance(payload, dict) or not payload.get("ok"):
        return None
    return (payload.get("result") or {}).get("username")


def invite(
    role: Annotated[Role, typer.Argument(help="Role of the new member of staff.")],
    department: Annotated[
        str | None, typer.Option("--department", "-d", help="Department name.")
    ] = None,
    days: Annotated[int, typer.Option(min=1, max=90, help="Days the code stays valid.")] = 7,
    create_department: Annotated[
        bool, typer.Option("--create-department", help="Create the department if it is new.")
    ] = False,
) -> None:
    """Make a single-use invite code (and its t.me deep link) for a new member of staff."""
    from crm.services import people

    settings = load_settings_or_exit()
    _upgrade(settings)

    async def make(database: Database) -> Any:
        department_id = None
        if department is not None:
            department_id = await _department_id(database, department, create_department)
        return await people.operator_invite(database.uow(), role, department_id, days)

    try:
        created = _with_database(settings, make)
    except CRMError as exc:
        _fail(f"Error: {exc}")
    username = asyncio.run(_bot_username(settings))
    where = f" in {department}" if department else ""
    expires: datetime = created.expires_at
    typer.echo(f"Invite for a {role.value}{where}, valid until {expires:%Y-%m-%d %H:%M} UTC")
    typer.echo(f"Code: {created.code}")
    if username:
        typer.echo(f"Link: https://t.me/{username}?start={created.code}")
    else:
        typer.echo(f"The new member sends the bot: /start {created.code}")
    if role is Role.HEAD and department is None:
        typer.echo("Note: a head without a department sees only their own clients.", err=True)
