"""Import benchmark: sales and contacts files at scale, and the memory an XLSX costs.

    python -m bench.bench_import [--sales 1000000] [--contacts 100000] [--xlsx 100000]
                                 [--db sqlite|postgres|both]

Into a temporary, migrated database with a director and 2,000 companies:
- a CSV of N sales (date; company; amount; cost; number), imported as `chatcrm import`
  does (crm.services.imports.import_path, the command line's limits): target ≤ 60 s for
  1,000,000 rows on SQLite;
- a CSV of N contacts (full name; phone; email; company) naming 5,000 companies, half of
  them new, every tenth person a duplicate (a phone seen before): search indexing and
  duplicate checks included; target ≤ 60 s for 100,000 on SQLite;
- an XLSX of N contacts, imported with the bot's limits: the time, and the peak resident
  memory of the worker process that reads it (and of this process).
Baseline measured in the same run: reading the same CSV with `csv.reader` and nothing else
(the floor of any import), printed as a ratio. Each import also prints the CPU seconds of
this process (all its threads, SQLite's included; not the worker that parses), steadier
than the wall time on a loaded machine. Sales only: `--contacts 0 --xlsx 0`.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import resource
import tempfile
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, select

from bench.databases import database
from crm.access import Actor
from crm.models import Company, Contact, Manager, Sale
from crm.models.enums import Role
from crm.search import normalise
from crm.services import imports
from crm.storage import Database

COMPANIES = 2_000
TARGET_S = 60.0
START = date(2024, 6, 1)


async def arrange(db: Database) -> Actor:
    async with db.uow() as uow:
        director = Manager(tg_id=1, name="Director", role=Role.DIRECTOR.value)
        uow.session.add(director)
        await uow.flush()
        uow.session.add_all(
            Company(
                name=f"Компания {i:05d}",
                name_key=normalise(f"Компания {i:05d}"),
                curator_id=director.id,
                tags=[],
            )
            for i in range(COMPANIES)
        )
        await uow.commit()
    return Actor.of(director)


def sales_csv(path: Path, rows: int, rng: random.Random) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["Дата", "Компания", "Сумма", "Себестоимость", "Номер"])
        for i in range(rows):
            amount = rng.randrange(1_000, 200_000) / 10
            writer.writerow(
                [
                    (START + timedelta(days=rng.randrange(730))).strftime("%d.%m.%Y"),
                    f"Компания {rng.randrange(COMPANIES):05d}",
                    f"{amount:.2f}".replace(".", ","),
                    f"{amount * 0.7:.2f}".replace(".", ","),
                    f"РН-{i:08d}",
                ]
            )


def contact_rows(rows: int, rng: random.Random) -> list[list[str]]:
    first = ["Иван", "Пётр", "Мария", "Анна", "Олег", "Елена", "Сергей", "Ольга"]
    last = ["Петров", "Сидорова", "Смирнов", "Кузнецова", "Попов", "Волкова", "Соколов"]
    out = []
    for i in range(rows):
        n = i if i % 10 else max(i - 5, 0)  # every tenth a duplicate of an earlier phone
        out.append(
            [
                f"{rng.choice(first)} {rng.choice(last)} {i}",
                f"+7 9{n:09d}",
                f"person{i}@example.com",
                f"Компания {rng.randrange(COMPANIES * 2 + 1000):05d}",  # half of them new
            ]
        )
    return out


def contacts_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, delimiter=";")
        writer.writerow(["ФИО", "Телефон", "Почта", "Компания"])
        writer.writerows(rows)


def contacts_xlsx(path: Path, rows: list[list[str]]) -> None:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["ФИО", "Телефон", "Почта", "Компания"])
    for row in rows:
        sheet.append(row)
    book.save(path)


def read_only(path: Path) -> float:
    started = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as text:
        for _ in csv.reader(text, delimiter=";"):
            pass
    return time.perf_counter() - started


async def count(db: Database, model: type) -> int:
    async with db.uow().read_only() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(model)) or 0)


def cpu_seconds() -> float:
    """CPU time of this process so far, all its threads (the database driver's too), without
    the worker process that reads the file."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def timed_import(
    db: Database, actor: Actor, path: Path, limits: imports.Limits
) -> tuple[float, float, imports.ImportReport]:
    """(wall seconds, CPU seconds of this process, report) of one import."""
    started, cpu = time.perf_counter(), cpu_seconds()
    report = await imports.import_path(db.uow(), actor, path, limits=limits)
    return time.perf_counter() - started, cpu_seconds() - cpu, report


def verdict(took: float, kind: str) -> str:
    if kind != "sqlite":
        return ""
    return " ok" if took <= TARGET_S else f" OVER {TARGET_S:.0f} s"


async def run(kind: str, sales: int, contacts: int, xlsx: int, folder: Path) -> None:
    rng = random.Random(11)
    async with database(kind) as db:
        actor = await arrange(db)
        print(f"\n== {kind}")
        if sales:
            path = folder / "sales.csv"
            sales_csv(path, sales, rng)
            floor = read_only(path)
            took, cpu, report = await timed_import(db, actor, path, imports.CLI_LIMITS)
            assert report.created == sales == await count(db, Sale), report
            print(
                f"  sales CSV {sales:,} rows ({path.stat().st_size / 1e6:.0f} MB): "
                f"{took:6.1f} s{verdict(took, kind)} (main process CPU {cpu:.1f} s)  "
                f"{sales / took:,.0f} rows/s  "
                f"= {took / floor:.0f}x csv.reader alone ({floor:.1f} s); "
                f"reader peak {report.reader_memory / 1e6:.0f} MB"
            )
        rows = contact_rows(contacts, rng)
        if contacts:
            path = folder / "contacts.csv"
            contacts_csv(path, rows)
            floor = read_only(path)
            took, cpu, report = await timed_import(db, actor, path, imports.CLI_LIMITS)
            print(
                f"  contacts CSV {contacts:,} rows: {took:6.1f} s{verdict(took, kind)} "
                f"(main process CPU {cpu:.1f} s)  "
                f"{contacts / took:,.0f} rows/s  = {took / floor:.0f}x csv.reader alone "
                f"({floor:.2f} s); {report.created:,} added, {report.skipped_duplicates:,} "
                f"duplicates, {report.companies_created:,} new companies"
            )
        if xlsx:
            path = folder / "contacts.xlsx"
            contacts_xlsx(path, contact_rows(xlsx, random.Random(12)))
            took, _cpu, report = await timed_import(db, actor, path, imports.BOT_LIMITS)
            own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            print(
                f"  contacts XLSX {xlsx:,} rows ({path.stat().st_size / 1e6:.1f} MB), "
                f"the bot's limits: {took:6.1f} s; reader peak {report.reader_memory / 1e6:.0f} MB "
                f"(bound: interpreter + {(imports.BOT_LIMITS.memory or 0) // 1024**2} MB), "
                f"this process {own / 1e6:.0f} MB"
            )
        await count(db, Contact)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sales", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--xlsx", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="sqlite")
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgres") if args.db == "both" else (args.db,)
    with tempfile.TemporaryDirectory(prefix="chatcrm-bench-import-") as folder:
        for kind in kinds:
            asyncio.run(run(kind, args.sales, args.contacts, args.xlsx, Path(folder)))


if __name__ == "__main__":
    main()
