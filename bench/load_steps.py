"""One step of bench_load: updates offered at a fixed rate (an open loop), each timed from
the moment it is due to its answer reaching the Bot API stand-in; the CPU the instances and
the load generator used; whether the step held (p99 <= 100 ms, 95 % answered)."""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.load_stand_in import StandIn
from bench.load_world import Person, update_for

WRITES = ("move", "log", "remind")
TARGET_P99 = 0.100
ANSWER_TIMEOUT = 10.0


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def services_cpu(database: str | None, redis: bool) -> dict[int, float]:
    """CPU seconds so far, by pid, of the PostgreSQL backends serving `database` (their
    process title names it) and, with `redis`, of redis-server (shared with the machine's
    other users, a small share)."""
    found: dict[int, float] = {}
    if database is None and not redis:
        return found
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            ours = (comm == "postgres" and database is not None and f" {database} " in title) or (
                redis and comm == "redis-server"
            )
            if ours:
                found[int(entry.name)] = cpu_seconds(int(entry.name))
    return found


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy (all cores)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@dataclass
class Step:
    rate: float
    seconds: float = 0.0
    offered: int = 0
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lost: int = 0
    answers: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    instances_cpu: float = 0.0  # % of one core
    generator_cpu: float = 0.0
    services_cpu: float = 0.0  # the bench database's postgres backends + redis-server
    machine_cpu: float = 0.0  # all processes of the machine

    def cpu_ms(self) -> tuple[float, float, float]:
        """CPU ms per answered update: (the instances, the load generator, the services)."""
        per = 10 * self.seconds / max(1, self.answered)  # % of a core -> ms per update
        return self.instances_cpu * per, self.generator_cpu * per, self.services_cpu * per

    def all(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]

    def writes(self) -> list[float]:
        return [x for kind in WRITES for x in self.latencies.get(kind, [])]

    @property
    def answered(self) -> int:
        return len(self.all())

    def held(self) -> bool:
        return (
            self.answered >= 0.95 * self.offered
            and self.lost == 0
            and p99(self.all()) <= TARGET_P99
        )


def p99(values: list[float]) -> float:
    if not values:
        return float("inf")
    if len(values) < 100:
        return max(values)
    return statistics.quantiles(values, n=100)[98]


async def step(
    stand_in: StandIn,
    people: list[Person],
    cycle: itertools.cycle[str],
    rate: float,
    seconds: float,
    pids: list[int],
    services: tuple[str | None, bool] = (None, False),
) -> Step:
    result = Step(rate)
    idle: asyncio.Queue[Person] = asyncio.Queue()
    for person in people:
        idle.put_nowait(person)
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    async def offer(person: Person, kind: str, due: float) -> None:
        waiter: asyncio.Future[float] = loop.create_future()
        stand_in.waiting[person.persona.tg_id] = waiter
        try:
            status = await stand_in.deliver(update_for(kind, person))
            if status != 200:
                raise RuntimeError(f"webhook answered {status}")
            answered = await asyncio.wait_for(waiter, ANSWER_TIMEOUT)
            result.latencies[kind].append(answered - due)
            result.answers[kind].append(stand_in.last_text.get(person.persona.tg_id, ""))
        except (TimeoutError, RuntimeError, OSError):
            result.lost += 1
            stand_in.waiting.pop(person.persona.tg_id, None)
        finally:
            idle.put_nowait(person)

    cpu_before = [cpu_seconds(pid) for pid in pids]
    services_before = services_cpu(*services)
    machine_before = machine_cpu()
    own_before = time.process_time()
    started = time.perf_counter()
    total = int(rate * seconds)
    for n in range(total):
        due = started + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        person = await idle.get()
        task = asyncio.create_task(offer(person, next(cycle), due))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        result.offered += 1
    if tasks:
        await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - started
    result.instances_cpu = (
        100
        * sum(cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before, strict=True))
        / result.seconds
    )
    result.generator_cpu = 100 * (time.process_time() - own_before) / result.seconds
    services_after = services_cpu(*services)
    result.services_cpu = (
        100
        * sum(cpu - services_before.get(pid, 0.0) for pid, cpu in services_after.items())
        / result.seconds
    )
    result.machine_cpu = 100 * (machine_cpu() - machine_before) / result.seconds
    return result


def ms(value: float) -> str:
    return "—" if value == float("inf") else f"{value * 1000:6.1f}"


def print_step(s: Step) -> None:
    values, writes = s.all(), s.writes()
    print(
        f"  {s.rate:6.0f}/s offered {s.offered / s.seconds:6.1f}/s answered"
        f" {s.answered / s.seconds:6.1f}/s  p50 {ms(statistics.median(values) if values else 0)}"
        f"  p99 {ms(p99(values))}  writes p99 {ms(p99(writes))}"
        f"  max {ms(max(values) if values else float('inf'))}  lost {s.lost}"
        f"  cpu: instances {s.instances_cpu:4.0f} %, generator {s.generator_cpu:4.0f} %,"
        f" pg+redis {s.services_cpu:4.0f} %, machine {s.machine_cpu:4.0f} %"
        f" (load {os.getloadavg()[0]:.1f})"
        f"  {'ok' if s.held() else 'MISSED'}"
    )
    print(
        "           by kind, p50/p99 ms: "
        + ", ".join(
            f"{kind} {ms(statistics.median(v)).strip()}/{ms(p99(v)).strip()}"
            for kind, v in sorted(s.latencies.items())
            if v
        )
    )
