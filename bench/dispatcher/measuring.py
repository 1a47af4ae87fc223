"""The measuring: updates fed through a dispatcher in lanes, timed on the wall clock and
in the process's CPU, with the SQL statements and transactions they ran."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from sqlalchemy import event

from bench.dispatcher.world import Persona
from crm.storage import Database

ECHO_UPDATES = 3000  # at least this many echo updates, whatever --updates says


class SQLCounter:
    """Statements, transactions and commits the engine has run so far."""

    def __init__(self, db: Database) -> None:
        self.statements = self.transactions = self.commits = 0
        engine = db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._commit)

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _begin(self, *_: Any) -> None:
        self.transactions += 1

    def _commit(self, *_: Any) -> None:
        self.commits += 1

    def snapshot(self) -> tuple[int, int, int]:
        return self.statements, self.transactions, self.commits


@dataclass
class Result:
    name: str
    updates: int
    seconds: float
    sql: tuple[int, int, int] = (0, 0, 0)  # statements, transactions, commits during the run
    cpu_seconds: float = 0.0  # the process's CPU (every thread: aiosqlite's too) in the run

    def sql_line(self) -> str:
        statements, transactions, commits = (x / self.updates for x in self.sql)
        return (
            f"{statements:.1f} SQL statements in {transactions:.1f} transactions"
            f" ({commits:.1f} committed) per update"
        )

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds

    @property
    def ms(self) -> float:
        return self.seconds * 1000 / self.updates

    @property
    def cpu_ms(self) -> float:
        return self.cpu_seconds * 1000 / self.updates


async def drive(dp: Dispatcher, bot: Bot, lanes: Sequence[Sequence[Update]]) -> float:
    """Seconds to feed every lane, the lanes at once, each one update at a time."""

    async def lane(updates: Sequence[Update]) -> None:
        for update in updates:
            await dp.feed_update(bot, update)

    started = time.perf_counter()
    await asyncio.gather(*(lane(u) for u in lanes))
    return time.perf_counter() - started


Make = Callable[[Persona, int], Update]


def build(people: Sequence[Persona], total: int, make: Make) -> list[list[Update]]:
    """`total` updates shared out between one lane per persona."""
    lanes = len(people)
    sizes = [total // lanes + (1 if i < total % lanes else 0) for i in range(lanes)]
    return [[make(p, i) for i in range(n)] for p, n in zip(people, sizes, strict=True)]


async def measure(
    name: str,
    dp: Dispatcher,
    bot: Bot,
    people: Sequence[Persona],
    make: Make,
    updates: int,
    warmup: int,
    counter: SQLCounter | None = None,
) -> Result:
    warm = build(people, warmup, make)
    timed = build(people, updates, make)
    await drive(dp, bot, warm)
    before = counter.snapshot() if counter else (0, 0, 0)
    cpu = time.process_time()
    seconds = await drive(dp, bot, timed)
    cpu = time.process_time() - cpu
    after = counter.snapshot() if counter else (0, 0, 0)
    sql = (after[0] - before[0], after[1] - before[1], after[2] - before[2])
    return Result(name, updates, seconds, sql, cpu)
