"""Reminder flood benchmark: many reminders due at the same moment, through the real path.

    python -m bench.bench_reminders [--reminders 1000] [--managers 100] [--limit 30] [--rate R]
    python -m bench.bench_reminders --reminders 10000 --managers 1000   # the full size, ~6 min

`--reminders` open tasks for `--managers` managers are bulk-inserted into a temporary,
migrated SQLite database, all due at the same moment a few seconds ahead (microseconds
apart, so that each manager's reminders have a defined order). Then the runtime the bot's
startup hook builds (`bot.app.reminder_runtime`: leader election, APScheduler jobs rebuilt
from the tasks table, conditional claims, the rate-limited `TelegramSender`; `--rate`
overrides the sender's rate for comparison) delivers them through aiogram over HTTP to a
Bot API stand-in in a separate process, which ENFORCES `--limit` messages a second
overall (a sliding one-second window; beyond it: 429 with `retry_after`, as Telegram).

Printed: messages/s achieved from the first to the last delivery, against the limit
(target >= 90 %) and as a ratio to a baseline measured in the same run against the same
stand-in (a bare aiohttp loop sending at exactly the limit); how long after the due moment
the first and last arrived; reminders lost and duplicated (target 0 and 0); chats whose
reminders arrived out of order; 429 answers; the scheduler process's peak RSS (the
stand-in runs in its own process, so it is not counted). Exit code 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import resource
import tempfile
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiohttp import web
from sqlalchemy import func, insert, select

from bot.app import reminder_runtime
from crm.migrate import upgrade
from crm.models import Manager, Task
from crm.models.enums import Role, TaskStatus
from crm.settings import Settings
from crm.storage import Database
from notifications.reminders import ReminderRuntime
from notifications.telegram_sender import TelegramSender

TOKEN = "4242:BENCH-token"
BATCH = 5_000
LEAD_SECONDS = 5.0  # the reminders fall due this long after the scheduler starts
TARGET = 0.90
BASELINE_MESSAGES = 300


# --- the Bot API stand-in (its own process) --------------------------------------------------


class StandIn:
    """sendMessage with an overall limit of `limit` a second; records what it accepted."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.window: deque[float] = deque()
        self.accepted: list[tuple[int, int, float]] = []  # (chat, task id, time)
        self.rejected = 0
        self.message_id = 0

    def reset(self) -> None:
        self.window.clear()
        self.accepted.clear()
        self.rejected = 0

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method != "sendMessage":
            return web.json_response({"ok": True, "result": True})
        form = await request.post()
        now = time.monotonic()
        while self.window and self.window[0] <= now - 1.0:
            self.window.popleft()
        if len(self.window) >= self.limit:
            self.rejected += 1
            wait = max(1, math.ceil(self.window[0] + 1.0 - now))
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {wait}",
                    "parameters": {"retry_after": wait},
                },
                status=429,
            )
        self.window.append(now)
        chat_id = int(str(form["chat_id"]))
        task_id = -1
        markup = form.get("reply_markup")
        if markup:
            data = json.loads(str(markup))["inline_keyboard"][0][0]["callback_data"]
            task_id = int(data.rsplit(":", 1)[-1])
        self.accepted.append((chat_id, task_id, now))
        self.message_id += 1
        message = {
            "message_id": self.message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "M"},
            "text": str(form.get("text", "")),
        }
        return web.json_response({"ok": True, "result": message})

    async def stats(self, request: web.Request) -> web.Response:
        return web.json_response({"accepted": self.accepted, "rejected": self.rejected})

    async def clear(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})


def _serve(limit: int, ports: Any) -> None:
    async def main() -> None:
        stand_in = StandIn(limit)
        app = web.Application()
        app.router.add_get("/stats", stand_in.stats)
        app.router.add_post("/reset", stand_in.clear)
        app.router.add_route("*", "/bot{token}/{method}", stand_in.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ports.put(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.Event().wait()

    asyncio.run(main())


# --- the run ---------------------------------------------------------------------------------


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def fill(db: Database, reminders: int, managers: int, due_at: datetime) -> None:
    async with db.engine.begin() as conn:
        await conn.execute(
            insert(Manager),
            [
                {
                    "tg_id": 10_000_000 + n,
                    "name": f"Manager {n}",
                    "role": Role.MANAGER.value,
                    "timezone": "Europe/Moscow",
                    "language": "ru" if n % 2 else "en",
                    "active": True,
                    "bot_blocked": False,
                }
                for n in range(managers)
            ],
        )
        ids = list(await conn.scalars(select(Manager.id).order_by(Manager.id)))
    rows = [
        {
            "title": f"Call back client {n}",
            "due_at": due_at + timedelta(microseconds=n),
            "assignee_id": ids[n % managers],
            "status": TaskStatus.OPEN.value,
            "kind": "manual",
            "reminded_late": False,
            "snooze_count": 0,
            "created_at": due_at - timedelta(days=1),
        }
        for n in range(reminders)
    ]
    for start in range(0, len(rows), BATCH):
        async with db.engine.begin() as conn:
            await conn.execute(insert(Task), rows[start : start + BATCH])


async def baseline(url: str, limit: int) -> float:
    """A bare aiohttp loop sending at exactly `limit` a second: what the stand-in allows."""
    async with aiohttp.ClientSession() as http:
        await http.post(f"{url}/reset")
        started = time.monotonic()
        for n in range(BASELINE_MESSAGES):
            slot = started + n / limit
            delay = slot - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            form = {"chat_id": str(n), "text": "baseline"}
            async with http.post(f"{url}/bot{TOKEN}/sendMessage", data=form) as response:
                await response.read()
        async with http.get(f"{url}/stats") as response:
            stats = await response.json()
        await http.post(f"{url}/reset")
    times = [t for _c, _t, t in stats["accepted"]]
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


async def run(reminders: int, managers: int, limit: int, rate: float) -> int:
    ports: Any = multiprocessing.get_context("spawn").Queue()
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(limit, ports), daemon=True
    )
    server.start()
    url = f"http://127.0.0.1:{ports.get(timeout=30)}"
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_url(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await upgrade(db.engine)
        print(f"Reminder flood: {reminders:,} reminders for {managers:,} managers, SQLite")
        print(f"  Bot API stand-in (own process) enforcing {limit} messages/s overall")
        base_rate = await baseline(url, limit)
        print(f"  baseline, a bare aiohttp loop at the limit: {base_rate:6.2f} messages/s")

        due_at = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS + 2)
        await fill(db, reminders, managers, due_at)
        rss_before = rss_mb()
        bot = Bot(
            TOKEN,
            session=AiohttpSession(api=TelegramAPIServer.from_base(url)),
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
        if rate:
            runtime = ReminderRuntime(db, bot, sender=TelegramSender(bot, rate=rate))
        else:  # exactly what the bot's startup hook builds
            runtime = reminder_runtime(db, bot, Settings(_env_file=None))  # type: ignore[call-arg]
        print(f"  sender rate {1 / runtime.sender.interval:.1f} messages/s")
        await runtime.start()
        print(
            f"  scheduler started (leader: {runtime.elector.is_leader}), "
            f"{runtime.scheduler.jobs:,} jobs built from the tasks table"
        )
        due_mono = time.monotonic() + (due_at - datetime.now(UTC)).total_seconds()
        try:
            last_report = 0.0
            while True:
                await asyncio.sleep(1.0)
                async with db.uow().read_only() as uow:
                    left = await uow.session.scalar(
                        select(func.count()).select_from(Task).where(Task.reminded_at.is_(None))
                    )
                settled = runtime.sender.queued == 0 and not runtime.scheduler._sends
                if time.monotonic() - last_report >= 30:
                    last_report = time.monotonic()
                    print(f"    … {reminders - int(left or 0):,} claimed, {runtime.sender.stats}")
                if not left and settled and runtime.sender.stats.sent >= reminders:
                    break
                if time.monotonic() > due_mono + reminders / limit * 3 + 120:
                    print("  giving up: far slower than the limit")
                    break
            await runtime.scheduler.drain()
        finally:
            await runtime.stop()
            await bot.session.close()
        rss_peak = rss_mb()
        async with aiohttp.ClientSession() as http, http.get(f"{url}/stats") as response:
            stats = await response.json()
        await db.dispose()
    server.terminate()

    accepted = stats["accepted"]
    ids = [task_id for _chat, task_id, _t in accepted]
    unique = set(ids)
    lost = reminders - len(unique & set(range(1, reminders + 1)))
    duplicated = len(ids) - len(unique)
    times = sorted(t for _c, _t, t in accepted)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    rate = (len(times) - 1) / span if span else 0.0
    # per-chat order: each manager's reminders arrive in task id order
    by_chat: dict[int, list[int]] = {}
    for chat, task_id, _t in accepted:
        by_chat.setdefault(chat, []).append(task_id)
    out_of_order = sum(1 for seq in by_chat.values() if seq != sorted(seq))
    delay_first = times[0] - due_mono if times else float("nan")
    delay_last = times[-1] - due_mono if times else float("nan")
    print(f"  delivered {len(accepted):,} messages in {span:6.1f} s (first {delay_first:+.2f} s,")
    print(f"    last {delay_last:+.1f} s after the due moment); 429 answers: {stats['rejected']}")
    print(
        f"  achieved {rate:6.2f} messages/s = {rate / limit:6.1%} of the {limit}/s limit "
        f"(target >= {TARGET:.0%}: {'ok' if rate >= TARGET * limit else 'MISSED'}); "
        f"{rate / base_rate:5.3f}x baseline"
    )
    print(f"  lost {lost}, duplicated {duplicated}, chats out of order {out_of_order}")
    print(
        f"  scheduler process peak RSS {rss_peak:6.1f} MB "
        f"({rss_before:6.1f} MB before the scheduler started)"
    )
    ok = lost == 0 and duplicated == 0 and out_of_order == 0 and rate >= TARGET * limit
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--managers", type=int, default=100)
    parser.add_argument("--limit", type=int, default=30, help="messages/s the stand-in allows")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="the sender's messages/s (default: the bot's)"
    )
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(args.reminders, args.managers, args.limit, args.rate)))


if __name__ == "__main__":
    main()
