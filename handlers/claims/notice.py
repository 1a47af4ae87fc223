"""A claim notice as its reader sees it: the words, and the button that opens the card.

notifications/claims_notify decides who hears of which claim and when; it calls this
renderer (handed to it by bot/app.py) for each reader, in the reader's language.
"""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.services.claims import ClaimView
from handlers.claims.callbacks import ClaimCb
from handlers.ui import button, h, markup, snippet
from handlers.words import local_time, priority_badge
from notifications.claims_escalation import FILED, RAISED

SNIPPET = 300


def render_notice(actor: Actor, level: int, view: ClaimView) -> tuple[str, InlineKeyboardMarkup]:
    """The notice of `level` (filed, raised to urgent, overdue, still overdue) in `actor`'s
    timezone."""
    claim = view.claim
    params = {
        "id": claim.id,
        "company": f"<b>{h(view.company.name)}</b>",
        "priority": priority_badge(claim.priority),
        "due": local_time(actor, claim.due_at),
        "responsible": h(view.responsible.name),
    }
    if level == FILED:
        head = _("⚠ New claim #{id} from {company}.")  # the priority has a line of its own
    elif level == RAISED:
        head = _("⚠ Claim #{id} from {company} is now urgent.")
    elif level == 1:
        head = _("⏰ Claim #{id} from {company} is overdue: it was due {due}.")
    else:
        head = _("🚨 Claim #{id} from {company} is still not resolved: it was due {due}.")
    lines = [
        head.format(**params),
        _("Priority: {priority}").format(**params),
        _("Responsible: {responsible}").format(**params),
        _("Due: {due}").format(**params),
        "",
        h(snippet(claim.text, SNIPPET)),
    ]
    open_card = button(_("Open the claim"), ClaimCb(action="open", claim_id=claim.id))
    return "\n".join(lines), markup([[open_card]])
