"""Reminder flood benchmark: many reminders due at once, while users keep typing.

    python -m bench.bench_reminders --reminders 5000 --interactive 5
    python -m bench.bench_reminders [--reminders 1000] [--managers 100] [--limit 30]
                                    [--interactive 0] [--rate R]

`--reminders` open tasks for `--managers` managers are bulk-inserted into a temporary,
migrated SQLite database, all due at the same moment a few seconds ahead (microseconds
apart, so that each manager's reminders have a defined order). The runtime the bot's
startup hook builds (`bot.app.reminder_runtime`: leader election, APScheduler jobs
rebuilt from the tasks table, conditional claims, the TelegramSender as the fan-out
lane of the bot's governor at TELEGRAM_RATE, `--rate` to set another) delivers them
through aiogram over HTTP to a Bot API stand-in in a separate process, which ENFORCES
Telegram's limits (standins/limits.py TelegramLimits: `--limit` messages a second
overall, 1 a second per chat after a burst, 20 a minute per group; beyond: 429 with
`retry_after`, as Telegram).

From the due moment until the fan-out is over, `--interactive` users each send a
command every second (`/find zz<user>x<n>`, whose answer repeats what was searched)
through the bot's real dispatcher (`bot.app.create_dispatcher`) and the same Bot, so
their answers share the budget with the fan-out.

Printed:
- the answers' delay, from the command being fed to the dispatcher to its answer
  accepted by the stand-in: p50, p99, max (target p99 <= 2 s);
- the fan-out's messages/s while the users type, as a share of the budget they leave
  (limit - the answers' messages/s; target >= 90 %), and as a ratio to a baseline
  measured in the same run against the same stand-in (a bare aiohttp loop sending at
  exactly the limit);
- reminders and answers lost, duplicated and out of order (per chat; target 0 each);
  429 answers; how long after the due moment the first and last reminder arrived; the
  scheduler process's peak RSS (the stand-in runs in its own process).
Exit code 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import re
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import Update
from aiohttp import web
from pydantic import SecretStr
from sqlalchemy import func, insert, select

from bot.app import create_dispatcher, reminder_runtime
from bot.fsm_storage import DatabaseStorage
from crm.migrate import upgrade
from crm.models import Manager, Task
from crm.models.enums import Role, TaskStatus
from crm.settings import Settings
from crm.storage import Database
from standins.limits import TelegramLimits, counted

TOKEN = "4242:AAHbenchTOKENforTheStandIn_0123456789ab"
BATCH = 5_000
LEAD_SECONDS = 5.0  # the reminders fall due this long after the scheduler starts
TARGET_SHARE = 0.90
TARGET_P99 = 2.0
BASELINE_MESSAGES = 300
USER_IDS = 30_000_000  # the interactive users' Telegram ids start here
MARKER = re.compile(r"zz(\d+)x(\d+)")


# --- the Bot API stand-in (its own process) --------------------------------------------------


class StandIn:
    """Telegram's limits; records what it accepted: reminders by task id, answers by marker."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.reset()

    def reset(self) -> None:
        self.limits = TelegramLimits(global_per_second=self.limit)
        self.accepted: list[tuple[int, str, Any, float]] = []  # (chat, kind, key, time)
        self.rejected = 0
        self.message_id = 0

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if method == "getMe":
            me = {"id": 4242, "is_bot": True, "first_name": "Bench", "username": "bench_bot"}
            return web.json_response({"ok": True, "result": me})
        if not counted(method):
            return web.json_response({"ok": True, "result": True})
        form = await request.post()
        now = time.monotonic()
        chat_id = int(str(form["chat_id"]))
        wait = self.limits.admit(chat_id, now)
        if wait is not None:
            self.rejected += 1
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {wait}",
                    "parameters": {"retry_after": wait},
                },
                status=429,
            )
        text = str(form.get("text", ""))
        markup = form.get("reply_markup")
        found = MARKER.search(text)
        if found:
            self.accepted.append((chat_id, "answer", int(found.group(2)), now))
        elif markup and "inline_keyboard" in str(markup) and text.startswith("⏰"):
            data = json.loads(str(markup))["inline_keyboard"][0][0]["callback_data"]
            self.accepted.append((chat_id, "reminder", int(data.rsplit(":", 1)[-1]), now))
        else:
            self.accepted.append((chat_id, "other", None, now))
        self.message_id += 1
        message = {
            "message_id": self.message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "M"},
            "text": text,
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


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def fill(db: Database, reminders: int, managers: int, users: int, due_at: datetime) -> None:
    staff = [
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
    ]
    staff += [
        {**staff[0], "tg_id": USER_IDS + u, "name": f"User {u}", "language": "en"}
        for u in range(users)
    ]
    async with db.engine.begin() as conn:
        await conn.execute(insert(Manager), staff)
        ids = list(
            await conn.scalars(
                select(Manager.id).where(Manager.tg_id < USER_IDS).order_by(Manager.id)
            )
        )
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
            form = {"chat_id": str(n + 1), "text": "baseline"}
            async with http.post(f"{url}/bot{TOKEN}/sendMessage", data=form) as response:
                await response.read()
        async with http.get(f"{url}/stats") as response:
            stats = await response.json()
        await http.post(f"{url}/reset")
    times = [t for _c, _k, _key, t in stats["accepted"]]
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


@dataclass
class Typing:
    """The interactive users: what each sent, and how long each answer took."""

    users: int
    sent: dict[int, int] = field(default_factory=dict)  # user -> commands sent
    delays: list[float] = field(default_factory=list)
    failed: int = 0
    jobs: set[asyncio.Task[None]] = field(default_factory=set)

    async def run(self, dp: Any, bot: Bot, stop: asyncio.Event) -> None:
        update_id = 0
        n = 0
        started = time.monotonic()
        while not stop.is_set():
            n += 1
            for user in range(self.users):
                update_id += 1
                self.sent[user] = n
                update = Update.model_validate(
                    {
                        "update_id": update_id,
                        "message": {
                            "message_id": update_id,
                            "date": int(time.time()),
                            "chat": {"id": USER_IDS + user, "type": "private"},
                            "from": {
                                "id": USER_IDS + user,
                                "is_bot": False,
                                "first_name": f"User {user}",
                                "language_code": "en",
                            },
                            "text": f"/find zz{user}x{n}",
                            "entities": [{"type": "bot_command", "offset": 0, "length": 5}],
                        },
                    },
                    context={"bot": bot},
                )
                job = asyncio.get_running_loop().create_task(self._one(dp, bot, update))
                self.jobs.add(job)
                job.add_done_callback(self.jobs.discard)
            delay = started + n - time.monotonic()  # one command a second per user
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except TimeoutError:
                    pass
        while self.jobs:
            await asyncio.gather(*list(self.jobs), return_exceptions=True)

    async def _one(self, dp: Any, bot: Bot, update: Update) -> None:
        fed = time.monotonic()
        try:
            await dp.feed_update(bot, update)
        except Exception:
            self.failed += 1
            return
        self.delays.append(time.monotonic() - fed)


@dataclass
class LoopLag:
    """How late the event loop wakes a 50 ms sleep: the process's own share of the CPU
    (a busy machine shows here, not in the governor)."""

    lags: list[float] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            before = time.monotonic()
            await asyncio.sleep(0.05)
            self.lags.append(time.monotonic() - before - 0.05)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def out_of_order(accepted: list[list[Any]], kind: str) -> int:
    by_chat: dict[int, list[int]] = {}
    for chat, what, key, _t in accepted:
        if what == kind:
            by_chat.setdefault(chat, []).append(key)
    return sum(1 for keys in by_chat.values() if keys != sorted(keys))


async def run(reminders: int, managers: int, limit: int, rate: float, users: int) -> int:
    context = multiprocessing.get_context("spawn")
    ports: Any = context.Queue()
    server = context.Process(target=_serve, args=(limit, ports), daemon=True)
    server.start()
    url = f"http://127.0.0.1:{ports.get(timeout=60)}"
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.from_url(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await upgrade(db.engine)
        print(f"Reminder flood: {reminders:,} reminders for {managers:,} managers, SQLite;")
        print(f"  {users} users each sending a command a second meanwhile")
        print(f"  Bot API stand-in (own process) enforcing Telegram's limits, {limit}/s overall")
        base_rate = await baseline(url, limit)
        print(f"  baseline, a bare aiohttp loop at the limit: {base_rate:6.2f} messages/s")

        due_at = datetime.now(UTC) + timedelta(seconds=LEAD_SECONDS + 2)
        await fill(db, reminders, managers, users, due_at)
        rss_before = rss_mb()
        bot = Bot(
            TOKEN,
            session=AiohttpSession(api=TelegramAPIServer.from_base(url)),
            default=DefaultBotProperties(parse_mode=ParseMode.HTML),
        )
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, bot_token=SecretStr(TOKEN), telegram_rate=rate or limit
        )
        runtime = reminder_runtime(db, bot, settings)  # what the bot's startup hook builds
        dp = create_dispatcher(settings, db, storage=DatabaseStorage(db))
        dp["reminders"] = runtime
        governor = runtime.sender.governor
        print(f"  the governor at TELEGRAM_RATE={settings.telegram_rate:g}")
        await runtime.start()
        print(
            f"  scheduler started (leader: {runtime.elector.is_leader}), "
            f"{runtime.scheduler.jobs:,} jobs built from the tasks table"
        )
        due_mono = time.monotonic() + (due_at - datetime.now(UTC)).total_seconds()
        typing = Typing(users)
        lag = LoopLag()
        stop = asyncio.Event()
        try:
            await asyncio.sleep(max(0.0, due_mono - time.monotonic()))
            cpu_start, wall_start = cpu_seconds(), time.monotonic()
            typists = asyncio.get_running_loop().create_task(typing.run(dp, bot, stop))
            lagging = asyncio.get_running_loop().create_task(lag.run(stop))
            last_report = time.monotonic()
            while True:
                await asyncio.sleep(1.0)
                async with db.uow().read_only() as uow:
                    left = await uow.session.scalar(
                        select(func.count()).select_from(Task).where(Task.reminded_at.is_(None))
                    )
                settled = runtime.sender.queued == 0 and not runtime.scheduler.sending
                if time.monotonic() - last_report >= 30:
                    last_report = time.monotonic()
                    print(f"    … {runtime.sender.stats}, {len(typing.delays)} answers")
                if not left and settled and runtime.sender.stats.sent >= reminders:
                    break
                if time.monotonic() > due_mono + reminders / limit * 3 + 120:
                    print("  giving up: far slower than the limit")
                    break
            stop.set()
            await typists
            await lagging
            await runtime.scheduler.drain()
            cpu_used = cpu_seconds() - cpu_start
            cpu_share = cpu_used / (time.monotonic() - wall_start)
            handled = runtime.sender.stats.sent + len(typing.delays)
        finally:
            stop.set()
            await runtime.stop()
            await dp.storage.close()
            await bot.session.close()
        rss_peak = rss_mb()
        async with aiohttp.ClientSession() as http, http.get(f"{url}/stats") as response:
            stats = await response.json()
        await db.dispose()
    server.terminate()
    print(
        f"  this process used {cpu_share:.0%} of a core, {cpu_used / max(1, handled) * 1000:.2f} "
        f"ms of CPU per message (reminders and answers); its event loop woke late by "
        f"p50 {percentile(lag.lags, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(lag.lags, 0.99) * 1000:.0f} ms (a busy machine shows here); "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    if users:
        stats_ = governor.stats
        answer_wait = stats_.waited["ANSWER"] / max(1, stats_.sent_by_lane["ANSWER"])
        fan_wait = stats_.waited["FANOUT"] / max(1, stats_.sent_by_lane["FANOUT"])
        print(
            f"  in the governor, answers waited {answer_wait * 1000:.0f} ms on average for "
            f"their turn (longest {stats_.longest_wait['ANSWER'] * 1000:.0f} ms); "
            f"reminders {fan_wait:.1f} s"
        )
    return report(
        stats,
        reminders,
        users,
        typing,
        limit,
        base_rate,
        due_mono,
        rss_before,
        rss_peak,
        governor.stats.retry_after,
    )


def report(
    stats: dict[str, Any],
    reminders: int,
    users: int,
    typing: Typing,
    limit: int,
    base_rate: float,
    due_mono: float,
    rss_before: float,
    rss_peak: float,
    retried: int,
) -> int:
    accepted = stats["accepted"]
    sent_reminders = [a for a in accepted if a[1] == "reminder"]
    answers = [a for a in accepted if a[1] == "answer"]
    ids = [key for _c, _k, key, _t in sent_reminders]
    lost = reminders - len(set(ids) & set(range(1, reminders + 1)))
    duplicated = len(ids) - len(set(ids))
    times = sorted(t for _c, _k, _key, t in sent_reminders)
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    fan_rate = (len(times) - 1) / span if span else 0.0
    answers_in_span = [t for _c, _k, _key, t in answers if times and times[0] <= t <= times[-1]]
    answer_rate = len(answers_in_span) / span if span else 0.0
    budget = limit - answer_rate
    share = fan_rate / budget if budget else 0.0
    print(
        f"  reminders: {len(sent_reminders):,} delivered in {span:6.1f} s (first "
        f"{times[0] - due_mono:+.2f} s, last {times[-1] - due_mono:+.1f} s after the due moment)"
    )
    print(f"  429 answers from the stand-in: {stats['rejected']} (waited out: {retried})")
    ok = lost == 0 and duplicated == 0
    disorder = out_of_order(accepted, "reminder")
    ok = ok and disorder == 0
    if users:
        expected = {
            (USER_IDS + u, n) for u, last in typing.sent.items() for n in range(1, last + 1)
        }
        got = [(chat, key) for chat, _k, key, _t in answers]
        a_lost = len(expected - set(got))
        a_dup = len(got) - len(set(got))
        a_disorder = out_of_order(accepted, "answer")
        p50, p99 = percentile(typing.delays, 0.50), percentile(typing.delays, 0.99)
        print(
            f"  answers: {len(typing.delays):,} to {users} users; delay p50 {p50 * 1000:5.0f} ms,"
            f" p99 {p99 * 1000:5.0f} ms, max {max(typing.delays, default=0) * 1000:5.0f} ms"
            f" (target p99 <= {TARGET_P99:.0f} s: {'ok' if p99 <= TARGET_P99 else 'MISSED'})"
        )
        print(
            f"  fan-out {fan_rate:5.2f}/s while the answers took {answer_rate:4.2f}/s: "
            f"{share:6.1%} of the {budget:5.2f}/s they left "
            f"(target >= {TARGET_SHARE:.0%}: {'ok' if share >= TARGET_SHARE else 'MISSED'}); "
            f"{(fan_rate + answer_rate) / base_rate:5.3f}x baseline in all"
        )
        print(
            f"  answers lost {a_lost}, duplicated {a_dup}, chats out of order {a_disorder}; "
            f"handling failed {typing.failed}; mean {statistics.fmean(typing.delays or [0]):.3f} s"
        )
        ok = ok and a_lost == 0 and a_dup == 0 and a_disorder == 0 and typing.failed == 0
        ok = ok and p99 <= TARGET_P99 and share >= TARGET_SHARE
    else:
        print(
            f"  achieved {fan_rate:6.2f} messages/s = {fan_rate / limit:6.1%} of the {limit}/s "
            f"limit (target >= {TARGET_SHARE:.0%}: "
            f"{'ok' if fan_rate >= TARGET_SHARE * limit else 'MISSED'}); "
            f"{fan_rate / base_rate:5.3f}x baseline"
        )
        ok = ok and fan_rate >= TARGET_SHARE * limit
    print(f"  reminders lost {lost}, duplicated {duplicated}, chats out of order {disorder}")
    print(
        f"  scheduler process peak RSS {rss_peak:6.1f} MB "
        f"({rss_before:6.1f} MB before the scheduler started)"
    )
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=1000)
    parser.add_argument("--managers", type=int, default=100)
    parser.add_argument("--limit", type=int, default=30, help="messages/s the stand-in allows")
    parser.add_argument("--interactive", type=int, default=0, help="users typing meanwhile")
    parser.add_argument(
        "--rate", type=float, default=0.0, help="TELEGRAM_RATE for the bot (default: the limit)"
    )
    args = parser.parse_args()
    code = asyncio.run(run(args.reminders, args.managers, args.limit, args.rate, args.interactive))
    raise SystemExit(code)


if __name__ == "__main__":
    main()
