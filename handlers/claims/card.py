"""The claim card: its text, its buttons, opening it, a plan step done, its files."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.errors import AccessDenied
from crm.models import utcnow
from crm.models.enums import ClaimStatus
from crm.services import claims, tasks
from crm.services.cards import CompanyCard
from crm.services.claims import ClaimView
from crm.uow import UnitOfWork
from handlers.cards.callbacks import CardCb
from handlers.claims.callbacks import BUTTON_TITLE, CARD_TEXT, PLAN_SHOWN, ClaimCb, PlanCb
from handlers.ui import PAGE, button, h, short, show, snippet
from handlers.words import (
    N_,
    PRIORITY_ICONS,
    TASK_MARKS,
    cause_name,
    claim_status,
    local_time,
    money,
    priority_badge,
)

TRANSITION_LABELS: dict[str, str] = {
    ClaimStatus.INVESTIGATING: N_("🔍 Investigate"),
    ClaimStatus.RESOLVED: N_("✅ Resolve"),
    ClaimStatus.REJECTED: N_("🚫 Reject"),
}


def render_card(actor: Actor, view: ClaimView) -> tuple[str, InlineKeyboardMarkup]:
    claim = view.claim
    overdue = claim.status in claims.OPEN_STATUSES and claim.due_at <= utcnow()
    due = local_time(actor, claim.due_at)
    lines = [
        _("<b>Claim #{id}</b> — 🏢 {company}").format(id=claim.id, company=h(view.company.name)),
    ]
    if view.contact is not None:
        lines.append(_("Contact: {name}").format(name=h(view.contact.name)))
    lines += [
        _("Cause: {cause}").format(cause=h(cause_name(claim.cause, view.cause_title))),
        _("Priority: {priority}").format(priority=priority_badge(claim.priority)),
        _("Status: {status}").format(status=claim_status(claim.status)),
        (_("Due: {due} ⚠ overdue") if overdue else _("Due: {due}")).format(due=due),
        _("Responsible: {name}").format(name=h(view.responsible.name)),
        "",
        h(snippet(claim.text, CARD_TEXT)),
    ]
    if claim.resolution:
        lines += ["", _("Resolution: {text}").format(text=h(snippet(claim.resolution, 500)))]
    if claim.compensation is not None:
        lines.append(_("Compensation: {amount}").format(amount=money(claim.compensation)))
    if view.plan:
        lines += ["", _("<b>Plan</b>")]
        for task in view.plan[:PLAN_SHOWN]:
            lines.append(
                f"{TASK_MARKS.get(task.status, '·')} {h(task.title)} — "
                f"{local_time(actor, task.due_at)}"
            )
        if len(view.plan) > PLAN_SHOWN:
            lines.append(_("…and {count} more").format(count=len(view.plan) - PLAN_SHOWN))
    lines.append(_("Attachments: {count}").format(count=len(view.attachments)))
    return "\n".join(lines), card_markup(actor, view)


def card_markup(actor: Actor, view: ClaimView) -> InlineKeyboardMarkup:
    claim = view.claim
    kb = InlineKeyboardBuilder()
    moves = []
    allowed = claims.allowed_transitions(actor, claim.status)
    for target in [t for t in TRANSITION_LABELS if t in allowed]:  # in the natural order
        if target == ClaimStatus.INVESTIGATING:
            label = (
                _("↩ Reopen")
                if claim.status in claims.CLOSED_STATUSES
                else _(TRANSITION_LABELS[target])
            )
            moves.append(button(label, ClaimCb(action="st", claim_id=claim.id, value=target)))
        else:
            moves.append(
                button(
                    _(TRANSITION_LABELS[target]),
                    ClaimCb(action="ask", claim_id=claim.id, value=target),
                )
            )
    if moves:
        kb.row(*moves)
    if claim.status in claims.OPEN_STATUSES:
        for task in view.open_plan_tasks[:PAGE]:
            kb.row(
                button(
                    "✔ " + short(task.title, BUTTON_TITLE),
                    ClaimCb(action="task", claim_id=claim.id, value=str(task.id)),
                )
            )
    if claim.status in claims.OPEN_STATUSES:  # whoever sees an open claim may edit its plan
        edits = [button(_("✏ Plan"), PlanCb(action="show", claim_id=claim.id))]
        if claims.editable_fields(actor, claim):
            edits.insert(0, button(_("✏ Edit"), ClaimCb(action="edit", claim_id=claim.id)))
        kb.row(*edits)
    extra = []
    if view.attachments:
        extra.append(
            button(
                _("📎 Attachments ({count})").format(count=len(view.attachments)),
                ClaimCb(action="files", claim_id=claim.id),
            )
        )
    extra.append(button(_("🏢 Company"), CardCb(kind="co", id=claim.company_id)))
    kb.row(*extra)
    return kb.as_markup()


def company_claim_rows(actor: Actor, card: CompanyCard) -> list[list[InlineKeyboardButton]]:
    """A button for each open claim the company card lists (the service gave only those
    the reader may see): it opens the claim's card in place."""
    return [
        [
            button(
                f"{PRIORITY_ICONS.get(claim.priority, '⚠')} "
                + _("Claim #{id}").format(id=claim.id)
                + f": {short(claim.text, BUTTON_TITLE)}",
                ClaimCb(action="show", claim_id=claim.id),
            )
        ]
        for claim in card.open_claims
    ]


async def show_card(
    target: Message | CallbackQuery, uow: UnitOfWork, actor: Actor, claim_id: int
) -> None:
    text, markup = render_card(actor, await claims.get(uow, actor, claim_id))
    await show(target, text, markup)


async def open_card(
    callback: CallbackQuery, callback_data: ClaimCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = render_card(actor, await claims.get(uow, actor, callback_data.claim_id))
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=markup)
    await callback.answer()


async def card_here(
    callback: CallbackQuery, callback_data: ClaimCb, uow: UnitOfWork, actor: Actor
) -> None:
    await show_card(callback, uow, actor, callback_data.claim_id)
    await callback.answer()


async def plan_task_done(
    callback: CallbackQuery, callback_data: ClaimCb, uow: UnitOfWork, actor: Actor
) -> None:
    view = await claims.get(uow, actor, callback_data.claim_id)
    plan = {str(t.id): t for t in view.plan}
    if callback_data.value not in plan:
        raise AccessDenied("task")
    await tasks.complete(uow, actor, plan[callback_data.value].id)
    await show_card(callback, uow, actor, view.claim.id)
    await callback.answer(_("Done."))


async def send_files(
    callback: CallbackQuery, callback_data: ClaimCb, uow: UnitOfWork, actor: Actor, bot: Bot
) -> None:
    view = await claims.get(uow, actor, callback_data.claim_id)
    chat_id = callback.message.chat.id if callback.message else callback.from_user.id
    caption = _("Claim #{id}").format(id=view.claim.id)
    for item in view.attachments:
        if item.kind == "photo":
            await bot.send_photo(chat_id, item.file_id, caption=caption)
        else:
            await bot.send_document(chat_id, item.file_id, caption=caption)
    await callback.answer()


def setup() -> Router:
    router = Router(name="claims.card")
    router.callback_query.register(open_card, ClaimCb.filter(F.action == "open"))
    router.callback_query.register(card_here, ClaimCb.filter(F.action == "show"))
    router.callback_query.register(plan_task_done, ClaimCb.filter(F.action == "task"))
    router.callback_query.register(send_files, ClaimCb.filter(F.action == "files"))
    return router
