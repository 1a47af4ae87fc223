"""What Prometheus scrapes on GET /metrics: one registry per dispatcher (so that tests build
as many as they like), in the text exposition format of `prometheus_client`.

Counted as it happens:
  chatcrm_updates_total{type}                 updates handled, by type (message, callback_query…)
  chatcrm_update_errors_total{type}           updates whose handling raised
  chatcrm_update_seconds{type}                handling time of an update (histogram)
  chatcrm_bot_api_calls_total{method,result}  every HTTP call to the Bot API (ok, 429, error)
Read when scraped (the database is the truth, each instance reports the same counts):
  chatcrm_outbox_emails{state}                the outbox by state
  chatcrm_reminders{state}                    pending (due later) and overdue (due, unsent)
  chatcrm_reminders_sent_total                reminders this process delivered
  chatcrm_leader{role}                        1 where this process runs the scheduler / outbox
  chatcrm_import_runs_total{result}           imports this process ran (ok, refused)

With several instances each is scraped on its own port (README, "Running in production").
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import TelegramObject, Update
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from crm.services import imports
from crm.storage import Database

# most answers take a few milliseconds; the target is p99 <= 100 ms
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class _Scraped(Collector):
    """The values read at scrape time (`Metrics.refresh` fills `values`)."""

    def __init__(self) -> None:
        self.outbox: dict[str, int] = {}
        self.reminders: dict[str, int] = {}
        self.sent = 0
        self.leader: dict[str, bool] = {}

    def collect(self) -> Iterator[Metric]:
        outbox = GaugeMetricFamily(
            "chatcrm_outbox_emails", "Emails in the outbox", labels=["state"]
        )
        for state, count in sorted(self.outbox.items()):
            outbox.add_metric([state], count)
        yield outbox
        reminders = GaugeMetricFamily(
            "chatcrm_reminders", "Open reminders: pending (due later), overdue", labels=["state"]
        )
        for state, count in sorted(self.reminders.items()):
            reminders.add_metric([state], count)
        yield reminders
        yield CounterMetricFamily(
            "chatcrm_reminders_sent", "Reminders this process delivered", value=self.sent
        )
        leader = GaugeMetricFamily(
            "chatcrm_leader", "1 where this process holds the role's lock", labels=["role"]
        )
        for role, held in sorted(self.leader.items()):
            leader.add_metric([role], 1 if held else 0)
        yield leader
        runs = CounterMetricFamily(
            "chatcrm_import_runs", "Imports this process ran", labels=["result"]
        )
        for result in ("ok", "refused"):
            runs.add_metric([result], imports.RUNS[result])
        yield runs


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates = Counter(
            "chatcrm_updates", "Updates handled, by type", ["type"], registry=self.registry
        )
        self.errors = Counter(
            "chatcrm_update_errors",
            "Updates whose handling raised",
            ["type"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "chatcrm_update_seconds",
            "Time to handle an update",
            ["type"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.api_calls = Counter(
            "chatcrm_bot_api_calls",
            "Bot API calls by method and result (ok, 429, error)",
            ["method", "result"],
            registry=self.registry,
        )
        self.scraped = _Scraped()
        self.registry.register(self.scraped)

    def watch(self, bot: Bot) -> None:
        """Count `bot`'s calls (inside the governor: each attempt, each 429, is one)."""
        if not any(isinstance(m, BotApiCounter) for m in bot.session.middleware):
            bot.session.middleware(BotApiCounter(self))

    async def refresh(self, database: Database, dispatcher: Dispatcher | None) -> None:
        from notifications.outbox_worker import outbox_health
        from notifications.reminders import health

        runtime = dispatcher.get("reminders") if dispatcher is not None else None
        outbox_runtime = dispatcher.get("email_outbox") if dispatcher is not None else None
        mail = await outbox_health(database)
        self.scraped.outbox = {
            state: int(mail["counts"].get(state, 0))
            for state in ("pending", "sending", "sent", "failed")
        }
        report = await health(database, runtime)
        self.scraped.reminders = {
            "pending": report.pending,
            "overdue": report.overdue_undelivered,
        }
        self.scraped.sent = runtime.scheduler.delivered if runtime is not None else 0
        self.scraped.leader = {
            "scheduler": report.leader,
            "outbox": bool(getattr(outbox_runtime, "leader", False)),
        }

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class UpdateMetrics(BaseMiddleware):
    """The outermost of our update middlewares: counts and times every update."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        kind = event.event_type if isinstance(event, Update) else type(event).__name__
        started = time.perf_counter()
        try:
            return await handler(event, data)
        except Exception:
            self.metrics.errors.labels(kind).inc()
            raise
        finally:
            self.metrics.updates.labels(kind).inc()
            self.metrics.seconds.labels(kind).observe(time.perf_counter() - started)


class BotApiCounter(BaseRequestMiddleware):
    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        name = method.__api_method__
        try:
            result = await make_request(bot, method)
        except TelegramRetryAfter:
            self.metrics.api_calls.labels(name, "429").inc()
            raise
        except (TelegramAPIError, OSError, TimeoutError):
            self.metrics.api_calls.labels(name, "error").inc()
            raise
        self.metrics.api_calls.labels(name, "ok").inc()
        return result
