"""Updates per second through the aiogram Dispatcher, Telegram stubbed out in memory.

    python -m bench.bench_dispatcher [--updates 300] [--db sqlite|postgres|both]
                                     [--companies 300] [--concurrency N]
                                     [--fsm database|redis] [--profile]

The cases, in one run, through the same Bot whose session answers every Bot API call
in memory (no HTTP, no JSON: a sent or edited message comes back as a Message object):

  echo   a bare Dispatcher with one router answering the text back: the floor of aiogram;
  read1  the same echo, which first reads the sender's name in one read-only transaction
         through the project's Database: the floor of any command that touches the
         database (with aiosqlite each statement is a hand-off to its thread and back, so
         on an idle machine the wake-up of a sleeping core is part of every figure below:
         pinning the process to one core, `taskset -c 0`, shows the difference);
  help   `/help` through the real dispatcher: what every update pays before any handler
         work (the manager's lookup, the FSM state read, the locale; no target, for
         telling the middlewares' share from the handlers');
  find   `/find <a company's name with one letter left out>` through the real dispatcher
         (`bot.app.create_dispatcher` with the database FSM storage, or Redis with
         `--fsm redis`): middlewares, the manager's lookup, the FSM, the search and the
         answer with result buttons;
  move   a press on a deal card's stage button (DealCb action=move): the deal moves
         between two open stages (back and forth, so every update really moves it),
         audited, and the card is rendered again and edited in place;
  card   a press on a company's button of a /find answer (CardCb): the company card (its
         deals, open claims, the overdue line) sent as a new message;
  log    `/log <company name>; call; out; <summary>`: an interaction logged on the
         company (found by its unique name), audited, answered;
  remind `/remind <tomorrow dd.mm.yyyy> 10:00; <text>`: a reminder set (dateparser reads
         the time), audited, answered.
The CRM cases are bench_load's mix (find 40 %, card 20 %, move 15 %, log 15 %, remind
10 %); `mix` is their weighted cost per update, the in-process figure to set against
bench_load's CPU per update.

The database is a temporary migrated SQLite file (or a temporary PostgreSQL database,
dropped afterwards) filled by `crm.demo.generate` (`--companies`, seed 1) plus the typo
vocabulary of its search rows (which the demo does not write); the bot is used by the
demo's managers (role manager). Updates are built before the clock starts (as
polling parses them), then fed one at a time with `dp.feed_update` after a short warm-up
(10 %, at most 100); the echo gets at least 3,000 updates, its floor being so small.
A default run takes about half a minute (a CRM update costs tens of milliseconds).
`--concurrency N` feeds N lanes at once (each lane a different manager, one update at a
time per lane). Afterwards the work is checked: every /find answer must list the company
searched for, the database must hold every stage change with the expected final
stages, every card must name its company, every /log and /remind must have written its
row; a check that fails makes the run fail.

Printed per case: updates/s, mean ms per update (wall time / updates), the process's CPU
per update (every thread; on a loaded machine the steadier figure), the cost per update
as a ratio to the echo's (and for the CRM cases to read1's), and the SQL
statements and transactions per update. Issue 16's regression guard, on either
database: find at most 5x read1, move at most 6x read1.
`--profile` then runs each CRM case again under cProfile and prints the top costs.
Exit code 1 if a guard is missed or a check fails.

The code is the package bench/dispatcher/ (its docstring: which module does what).
"""

from bench.dispatcher.cli import main

if __name__ == "__main__":
    main(doc=__doc__)
