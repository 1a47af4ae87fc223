"""/export: an XLSX of what the user may see, in their words."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import (
    BufferedInputFile,
    Message,
)
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.services import exports
from crm.uow import UnitOfWork
from handlers import words
from handlers.words import N_

# the words of the workbook (crm/services/exports.py keeps them in English)
SHEET_WORDS = (
    N_("Companies"), N_("Contacts"), N_("Deals"), N_("Interactions"), N_("Tasks"), N_("Claims"),
    N_("ID"), N_("Name"), N_("Full name"), N_("INN"), N_("Industry"), N_("Territory"),
    N_("Stage"), N_("Credit limit"), N_("Payment deferral, days"), N_("Tags"), N_("Curator"),
    N_("Parent company"), N_("Last interaction"), N_("Created"), N_("Company"), N_("Position"),
    N_("Phone"), N_("Email"), N_("Telegram"), N_("Role in the decision"), N_("Birthday"),
    N_("No emails"), N_("Title"), N_("Amount"), N_("Probability, %"), N_("Expected close"),
    N_("Source"), N_("Closed"), N_("When"), N_("Kind"), N_("Direction"), N_("Status"),
    N_("Contact"), N_("Summary"), N_("Manager"), N_("Due"), N_("Assignee"), N_("Done at"),
    N_("Text"), N_("Cause"), N_("Priority"), N_("Responsible"), N_("Compensation"),
    N_("Resolved"),
)  # fmt: skip
BUILT_IN_CAUSES = set(words.CLAIM_CAUSES.values())
# why a whole file is refused (InvalidInput("file", reason))


def _named(names: Mapping[str, str]) -> Callable[[Any], Any]:
    """A stored code in the user's words; a code without a name stays as it is."""
    return lambda code: _(names[code]) if code in names else code


def export_labels() -> exports.Labels:
    return {
        ("Companies", "Stage"): _named(words.COMPANY_STAGES),
        ("Contacts", "Role in the decision"): _named(words.DECISION_ROLES),
        ("Deals", "Stage"): _named(words.DEAL_STATES),
        ("Deals", "Source"): _named(words.SOURCES),
        ("Interactions", "Kind"): _named(words.INTERACTION_KINDS),
        ("Interactions", "Direction"): _named(words.DIRECTIONS),
        ("Interactions", "Status"): _named(words.INTERACTION_STATUSES),
        ("Tasks", "Status"): _named(words.TASK_STATUSES),
        ("Tasks", "Kind"): _named(words.TASK_KINDS),
        ("Claims", "Cause"): lambda title: _(title) if title in BUILT_IN_CAUSES else title,
        ("Claims", "Priority"): _named(words.CLAIM_PRIORITIES),
        ("Claims", "Status"): _named(words.CLAIM_STATUSES),
    }


MAX_DOCUMENT = 50 * 1024 * 1024  # the most a bot may send as a document (Bot API)


async def export(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    result = await exports.export_xlsx(uow, actor, lambda text: _(text), export_labels())
    if len(result.content) > MAX_DOCUMENT:
        await message.answer(
            _(
                "The export is {size} MB: more than Telegram lets a bot send ({limit} MB). "
                "Ask your administrator to run <code>chatcrm export FILE --as {tg_id}</code> "
                "on the server."
            ).format(
                size=len(result.content) // (1024 * 1024),
                limit=MAX_DOCUMENT // (1024 * 1024),
                tg_id=actor.tg_id,
            )
        )
        return
    today = datetime.now(ZoneInfo(actor.timezone)).date()
    counts = ", ".join(f"{_(title).lower()}: {count}" for title, count in result.counts.items())
    caption = _("What you can see in ChatCRM on {date} — {counts}.").format(
        date=today.strftime("%d.%m.%Y"), counts=counts
    )
    await message.answer_document(
        BufferedInputFile(result.content, filename=f"chatcrm-{today.isoformat()}.xlsx"),
        caption=caption,
    )


def setup() -> Router:
    router = Router(name="transfer.export")
    router.message.register(export, Command("export"))
    return router
