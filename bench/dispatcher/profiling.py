"""`--profile`: where an update's CPU goes (by package, by project function) and the
wall time of its SQL statements."""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event

from crm.storage import Database


class StatementTimer:
    """Wall time of each SQL statement (its text shortened), from execute to result."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine.sync_engine
        self.times: dict[str, list[float]] = {}
        self.started: dict[int, float] = {}

    def _before(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        self.started[id(conn)] = time.perf_counter()

    def _after(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        took = time.perf_counter() - self.started.pop(id(conn), time.perf_counter())
        entry = self.times.setdefault(" ".join(statement.split())[:110], [0, 0.0])
        entry[0] += 1
        entry[1] += took

    def __enter__(self) -> StatementTimer:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def _area(filename: str) -> str:
    """The package a profiled function belongs to (site-packages name, project folder)."""
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    for folder in ("crm", "handlers", "bot", "bench"):
        if f"/{folder}/" in filename:
            return folder
    return "python (asyncio, ...)"


async def profile(
    label: str, db: Database, updates: int, action: Callable[[], Awaitable[object]]
) -> None:
    """cProfile of the event loop's thread in its own CPU time (`time.thread_time`: what
    other processes and threads take is not charged to it) grouped by package, the
    project's own functions by cumulative time, and the SQL statements by wall time.

    The hand-off to aiosqlite's thread shows as `SimpleQueue.put_nowait` (the GIL goes
    with it); the statements' own work is in that thread, so only in the SQL wall times.
    """
    profiler = cProfile.Profile(time.thread_time)
    with StatementTimer(db) as timer:
        profiler.enable()
        await action()
        profiler.disable()
    stats = pstats.Stats(profiler)
    per = 1000 / updates
    areas: dict[str, list[float]] = {}
    own: list[tuple[float, int, str]] = []
    entries: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, line, name), (_, calls, tottime, cumtime, _) in entries.items():
        area = _area(filename)
        if filename == "~":  # built-in: the hand-off to aiosqlite's thread and the wait for it
            waiting = "poll" in name or "put_nowait" in name
            area = "waiting for the database (epoll, queue)" if waiting else "builtins"
        bucket = areas.setdefault(area, [0, 0.0])
        bucket[0] += calls
        bucket[1] += tottime
        if area in ("crm", "handlers", "bot"):
            where = f"{filename.rsplit('/', 2)[-2]}/{filename.rsplit('/', 1)[-1]}:{line} {name}"
            own.append((cumtime, calls, where))
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"\n  -- profile of {label}: {total * per:.1f} ms CPU/update under cProfile --")
    print("  own time by package (ms/update, function calls/update):")
    for area, (calls, tottime) in sorted(areas.items(), key=lambda kv: -kv[1][1])[:10]:
        print(f"    {tottime * per:7.2f} ms {calls / updates:8.0f} calls  {area}")
    if own:
        print("  project functions by cumulative time (coroutines: while running, not awaiting):")
        for cumtime, calls, where in sorted(own, reverse=True)[:12]:
            print(f"    {cumtime * per:7.2f} ms {calls / updates:6.1f}x  {where}")
    if timer.times:
        print("  SQL statements by wall time (ms/update, statements/update, mean ms):")
        ranked = sorted(timer.times.items(), key=lambda kv: -kv[1][1])[:10]
        for statement, (count, seconds) in ranked:
            mean = seconds * 1000 / count
            print(f"    {seconds * per:7.2f} ms {count / updates:4.1f}x {mean:6.2f}  {statement}")
