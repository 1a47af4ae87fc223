"""The daily digest in words and a chart, sent now (/digest) or once a day by the scheduler.

`digest_text` words a `crm.analytics.digest.Digest` in the current locale; `send_digest`
sends the text and a chart of the open deals by stage to one chat. The daily job
(`send_due_digests`) runs every minute in the leader process: for each head and director
whose local digest time has passed today and who has no digest for today yet, it claims
(manager, local date) in `digest_log` and then sends. Claiming first means a restart, or
a second process, never sends the same local day twice; a digest missed while the bot was
down goes out late the same day. The text and the chart go through the runtime's
TelegramSender, the fan-out lane of the bot's governor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from html import escape
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.types import BufferedInputFile
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.analytics import charts
from crm.analytics.digest import Digest, build_digest, claim_digest, due_digests
from crm.analytics.movers import Mover, MoversReport
from crm.analytics.scope import Period
from crm.models import Manager, utcnow
from crm.storage import Database
from handlers.words import day, deal_stage, money, month_name
from notifications.periodic import Context, Periodic, periodic
from notifications.telegram_sender import TelegramSender

log = logging.getLogger(__name__)

DIGEST_JOB = "digests:daily"
CHECK_SECONDS = 60.0


def mover_line(m: Mover) -> str:
    """ "A → B, X → Z: Romashka, −32 %" (— where the client had no sales in that period)."""
    moves = []
    if m.abc_changed:
        moves.append(f"{m.abc_before or '—'} → {m.abc_after or '—'}")
    if m.xyz_changed:
        moves.append(f"{m.xyz_before or '—'} → {m.xyz_after or '—'}")
    change = m.change
    if change is None:
        how = _("new client")
    else:
        how = f"{change * 100:+.0f} %".replace("-", "−")
    return f"{', '.join(moves)}: {escape(m.name)}, {how}"


def movers_lines(report: MoversReport) -> list[str]:
    """The heading and a line per mover shown; nothing when nobody moved."""
    if report.empty:
        return []
    lines = [
        _("Class changes since the period {months}: {count}").format(
            months=_months(report.previous), count=report.count
        )
    ]
    lines += [f"• {mover_line(m)}" for m in report.movers]
    if report.count > len(report.movers):
        lines.append(_("…and {count} more").format(count=report.count - len(report.movers)))
    return lines


def _months(period: Period) -> str:
    last = period.end - timedelta(days=1)
    return f"{month_name(f'{period.start:%Y-%m}')} – {month_name(f'{last:%Y-%m}')}"


def overdue_lines(d: Digest) -> list[str]:
    """Overdue payments: count and sum, then the worst (longest overdue) first."""
    owed = d.overdue_payments
    if not owed.count:
        return []
    lines = [
        _("Overdue payments: {n} for {amount}").format(n=owed.count, amount=money(owed.total))
    ]
    for item in owed.worst:
        lines.append(
            "• "
            + _("{company}: {amount}, {days} days late").format(
                company=escape(item.company_name), amount=money(item.amount), days=item.days
            )
        )
    return lines


def digest_text(d: Digest) -> str:
    """The digest in the current locale (HTML)."""
    funnel = " → ".join(f"{deal_stage(stage)} {n}" for stage, n in d.open_by_stage.items())
    # only where Telegram Business logs client chats
    waiting = (
        [_("Clients waiting for an answer in Telegram: {n}").format(n=d.waiting_clients)]
        if d.waiting_clients
        else []
    )
    lines = [
        _("<b>Digest</b> for {day}").format(day=day(d.day)),
        _("Won: {deals} deals for {amount}").format(deals=d.won_deals, amount=money(d.won_amount)),
        _("New deals: {n}").format(n=d.new_deals),
        _("Open deals: {funnel}").format(funnel=funnel),
        _("Overdue tasks: {n}").format(n=d.overdue_tasks),
        _("Claims past SLA: {n}").format(n=d.claims_past_sla),
        _("Forgotten clients ({days}+ days): {n}").format(days=d.forgotten_days, n=d.forgotten),
        *waiting,
        *overdue_lines(d),
        _(
            "Forecast for {month}: {weighted} weighted, {historical} by history ({deals} deals)"
        ).format(
            month=month_name(d.month, wide=True),
            weighted=money(d.forecast_weighted),
            historical=money(d.forecast_historical),
            deals=d.forecast_deals,
        ),
        *movers_lines(d.movers),
    ]
    return "\n".join(lines)


def digest_chart(d: Digest) -> Callable[[], bytes] | None:
    """Draws the open deals by stage (labels worded now, in the current locale); None when
    there are none. Call it off the event loop: `await asyncio.to_thread(draw)`."""
    if d.open_deals == 0:
        return None
    return partial(
        charts.bar_chart,
        _("Open deals"),
        [deal_stage(stage) for stage in d.open_by_stage],
        {_("Deals"): list(d.open_by_stage.values())},
    )


async def send_digest(
    bot: Bot,
    chat_id: int,
    text: str,
    chart: bytes | None,
    *,
    sender: TelegramSender | None = None,
) -> bool:
    """The text (through the sender when there is one), then the chart; True if the text went."""
    if sender is not None:
        if not (await sender.send(chat_id, text)).ok:
            return False
    else:
        try:
            await bot.send_message(chat_id, text)
        except TelegramAPIError as exc:
            log.info("could not send a digest to chat %s: %s", chat_id, type(exc).__name__)
            return False
    if chart is None:
        return True
    if sender is not None:
        await sender.send_photo(chat_id, chart, "digest.png")
        return True
    try:
        await bot.send_photo(chat_id, BufferedInputFile(chart, filename="digest.png"))
    except TelegramAPIError as exc:
        log.info("could not send the digest chart to chat %s: %s", chat_id, exc)
    return True


async def render_for(
    db: Database, i18n: I18n, manager: Manager, now: Any = None
) -> tuple[str, bytes | None]:
    actor = Actor.of(manager)
    digest = await build_digest(db.uow(), actor, now=now)
    with i18n.context(), i18n.use_locale(manager.language):
        text, draw = digest_text(digest), digest_chart(digest)
    return text, await asyncio.to_thread(draw) if draw is not None else None


async def send_due_digests(
    db: Database, bot: Bot, i18n: I18n, *, sender: TelegramSender | None = None
) -> int:
    """The daily job: send every digest that is due now; returns how many were sent."""
    now = utcnow()
    sent = 0
    for due in await due_digests(db.uow(), now):
        async with db.uow().read_only() as uow:
            manager = await uow.session.get(Manager, due.manager_id)
        if manager is None:
            continue
        try:
            text, chart = await render_for(db, i18n, manager, now)
        except Exception:  # one leader's broken digest must not stop the others
            log.exception("digest for manager %s could not be built", due.manager_id)
            continue
        if not await claim_digest(db.uow(), due, now):
            continue  # another process (or an earlier run) sent it
        if await send_digest(bot, manager.tg_id, text, chart, sender=sender):
            sent += 1
    return sent


# ------------------------------------------------------------------ running the job


async def digest_job(run: Context) -> None:
    await send_due_digests(run.database, run.bot, run.i18n, sender=run.sender)


def setup(dp: Dispatcher) -> Periodic:
    """Send the daily digests while the bot runs (in the leader process only)."""
    return periodic(dp, DIGEST_JOB, digest_job, CHECK_SECONDS)
