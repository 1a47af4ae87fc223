"""`chatcrm digest`: print or send the daily digest."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import fail as _fail
from bot.cli.common import with_database as _with_database
from crm.settings import Settings, load_settings_or_exit
from crm.storage import Database


async def _digest(database: Database, tg_id: int) -> str | None:
    import html
    import re

    from bot.i18n import create_i18n
    from crm.services import team
    from notifications.digests import render_for

    manager = await team.by_tg_id(database.uow(), tg_id)
    if manager is None:
        return None
    text, _chart = await render_for(database, create_i18n(), manager)
    return html.unescape(re.sub(r"<[^>]+>", "", text))


async def _send_digests(settings: Settings, database: Database, tg_id: int | None) -> int:
    """Send the digest now to one member of staff, or to every active head and director.

    The way the daily job sends them: a fan-out through a `TelegramSender`, so every
    message goes in the governor's fan-out lane (not as personal notices), and a leader
    who has blocked the bot is recorded as unreachable as the running bot would record
    them. Nothing is claimed in `digest_log`: a digest sent by hand does not stand in for
    the day's scheduled one.
    """
    from bot.app import create_bot, govern
    from bot.i18n import create_i18n
    from crm.analytics.digest import recipients
    from notifications.digests import render_for, send_digest
    from notifications.telegram_sender import TelegramSender

    staff = await recipients(database.uow(), tg_id)
    if tg_id is not None and not staff:
        return -1
    i18n = create_i18n()
    bot = create_bot(settings)
    govern(bot, settings, database, i18n)
    sender = TelegramSender(bot)
    sent = 0
    try:
        for manager in staff:
            text, chart = await render_for(database, i18n, manager)
            sent += await send_digest(bot, manager.tg_id, text, chart, sender=sender)
    finally:
        await sender.close()
        await bot.session.close()
    return sent


def digest(
    as_id: Annotated[
        int | None,
        typer.Option("--as", help="Telegram id of the member of staff (with --send: optional)."),
    ] = None,
    send: Annotated[
        bool,
        typer.Option(
            "--send",
            help="Send it now through Telegram (needs BOT_TOKEN): to --as, or without it to "
            "every head and director.",
        ),
    ] = False,
) -> None:
    """Print the daily digest of a member of staff as the bot would send it now, or send
    the digests now."""
    settings = load_settings_or_exit()
    if send:
        if settings.bot_token is None:
            _fail("BOT_TOKEN is needed to send digests through Telegram.", 2)
        sent = _with_database(settings, lambda database: _send_digests(settings, database, as_id))
        if sent < 0:
            _fail(f"Nobody with Telegram id {as_id} is registered.")
        typer.echo(f"Digests sent: {sent}.")
        return
    if as_id is None:
        _fail("Say whose digest to print: --as TG_ID (or --send to send them all now).", 2)
    text = _with_database(settings, lambda database: _digest(database, as_id))
    if text is None:
        _fail(f"Nobody with Telegram id {as_id} is registered.")
    typer.echo(text)
