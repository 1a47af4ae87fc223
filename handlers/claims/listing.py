"""/claims: the open claims (or by status and priority), paged."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.models import utcnow
from crm.models.enums import Role
from crm.services import claims
from crm.uow import UnitOfWork
from handlers.claim_settings.callbacks import ClaimSetCb
from handlers.claims.callbacks import LIST_STATUSES, PRIORITIES, ClaimCb, ClaimsListCb
from handlers.ui import PAGE, button, pager_row, short, show
from handlers.words import (
    PRIORITY_ICONS,
    claim_status,
    local_time,
    priority_badge,
    priority_name,
)


async def claims_page(
    uow: UnitOfWork, actor: Actor, status: str, prio: str, offset: int
) -> tuple[str, InlineKeyboardMarkup]:
    if status not in LIST_STATUSES:
        status = "open"
    if prio and prio not in PRIORITIES:
        prio = ""
    rows, total = await claims.list_claims(
        uow,
        actor,
        status=None if status == "all" else status,
        priority=prio or None,
        offset=offset,
        limit=PAGE,
    )
    if actor.role is Role.DIRECTOR:
        head = _("<b>All claims</b>")
    elif actor.role is Role.HEAD:
        head = _("<b>Claims of your department</b>")
    else:
        head = _("<b>Your claims</b>")
    filters = _("Status: {status}").format(status=_(LIST_STATUSES[status]))
    if prio:
        filters += " · " + _("Priority: {priority}").format(priority=priority_name(prio))
    lines = [head, filters, _("Found: {count}").format(count=total)]
    if not total:
        lines += ["", _("No claims here. File one with /claim.")]
    now = utcnow()
    kb = InlineKeyboardBuilder()
    for row in rows:
        claim = row.claim
        late = " ⚠" if claim.status in claims.OPEN_STATUSES and claim.due_at <= now else ""
        kb.row(
            button(
                f"{PRIORITY_ICONS.get(claim.priority, '')} #{claim.id} "
                f"{short(row.company_name, 24)} · {claim_status(claim.status)} · "
                f"{local_time(actor, claim.due_at)}{late}",
                ClaimCb(action="open", claim_id=claim.id),
            )
        )
    pager = pager_row(ClaimsListCb, offset, total, status=status, prio=prio)
    if pager:
        kb.row(*pager)

    def mark(on: bool, label: str) -> str:
        return f"• {label}" if on else label

    statuses = [
        button(mark(code == status, _(label)), ClaimsListCb(status=code, prio=prio))
        for code, label in LIST_STATUSES.items()
    ]
    kb.row(*statuses[:3])
    kb.row(*statuses[3:])
    kb.row(
        button(mark(not prio, _("any")), ClaimsListCb(status=status, prio="")),
        *[
            button(
                mark(p == prio, priority_badge(p)),
                ClaimsListCb(status=status, prio=p),
            )
            for p in PRIORITIES[:2]
        ],
    )
    kb.row(
        *[
            button(
                mark(p == prio, priority_badge(p)),
                ClaimsListCb(status=status, prio=p),
            )
            for p in PRIORITIES[2:]
        ]
    )
    if actor.is_director:
        kb.row(button(_("⚙ Settings"), ClaimSetCb(action="open")))
    return "\n".join(lines), kb.as_markup()


async def list_claims(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    text, markup = await claims_page(uow, actor, "open", "", 0)
    await message.answer(text, reply_markup=markup)


async def page_claims(
    callback: CallbackQuery, callback_data: ClaimsListCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = await claims_page(
        uow, actor, callback_data.status, callback_data.prio, max(0, callback_data.offset)
    )
    await show(callback, text, markup)
    await callback.answer()


def setup() -> Router:
    router = Router(name="claims.listing")
    router.message.register(list_claims, Command("claims"))
    router.callback_query.register(page_claims, ClaimsListCb.filter())
    return router
