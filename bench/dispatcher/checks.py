"""The checks that the work was really done: every /find answer lists the company
searched for, every stage change is written, every /log and /remind wrote its row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aiogram.methods import SendMessage
from sqlalchemy import func, select

from bench.dispatcher.mixes import LOG_SUMMARY, REMIND_TITLE
from bench.dispatcher.network import MemorySession
from bench.dispatcher.world import Persona
from crm.models import Deal, DealStageChange, Interaction, Task
from crm.storage import Database
from handlers.cards.callbacks import COMPANY, CardCb


def check_find(session: MemorySession, expected: dict[int, list[int]]) -> tuple[int, int]:
    """(answers listing the company searched for, answers) of the recorded /find updates.

    `expected`: per chat, the company ids searched for in the order they were fed.
    """
    hits = answers = 0
    for chat_id, companies in expected.items():
        sent = [c for c in session.calls if isinstance(c, SendMessage) and c.chat_id == chat_id]
        answers += len(sent)
        for call, company_id in zip(sent, companies, strict=False):
            wanted = CardCb(kind=COMPANY, id=company_id).pack()
            keyboard = getattr(call.reply_markup, "inline_keyboard", None) or []
            hits += any(b.callback_data == wanted for row in keyboard for b in row)
    return hits, answers


async def check_moves(
    db: Database, people: Sequence[Persona], since: datetime
) -> tuple[int, int, int]:
    """(stage changes written, moves fed, deals not at their expected stage)."""
    async with db.uow().read_only() as uow:
        written = await uow.session.scalar(
            select(func.count())
            .select_from(DealStageChange)
            .where(
                DealStageChange.changed_at >= since,
                DealStageChange.manager_id.in_([p.manager_id for p in people]),
            )
        )
        wanted = {d: s for p in people for d, (s, _) in p.deals.items()}
        stages = dict(
            (
                await uow.session.execute(select(Deal.id, Deal.stage).where(Deal.id.in_(wanted)))
            ).all()  # type: ignore[arg-type]
        )
    wrong = sum(1 for d, s in wanted.items() if stages.get(d) != s)
    return int(written or 0), sum(p.moves for p in people), wrong


async def check_writes(db: Database) -> tuple[int, int]:
    """(interactions logged by the log case, reminders set by the remind case)."""
    async with db.uow().read_only() as uow:
        logged = await uow.session.scalar(
            select(func.count()).select_from(Interaction).where(Interaction.summary == LOG_SUMMARY)
        )
        reminded = await uow.session.scalar(
            select(func.count()).select_from(Task).where(Task.title.like(f"{REMIND_TITLE} %"))
        )
    return int(logged or 0), int(reminded or 0)
