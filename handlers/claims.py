"""/claim (one line or a dialog), /claims filtered and paged, the claim card and its buttons.

`/claim company; text` files a claim at once when the company is named exactly; a near
name asks which company with buttons. `/claim` alone asks step by step: company,
contact, cause, priority, text, then photos and documents until Done. The card shows
the plan and offers the status changes the service allows this user; resolving and
rejecting ask for the resolution text (resolving also for an optional compensation).
High and critical claims are announced at once to the responsible manager and their head.

"✏ Plan" of an open claim (for whoever sees it, as the service allows) lists the plan:
✔ marks a step done, 🗑 removes one after a confirmation (it stays as cancelled),
"➕ Add a step" asks for its text and when it is due in natural language (crm.when, as
/remind does; `text; when` in one message too). Everything goes through crm.services.claims.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.i18n import N_
from crm import validation, when
from crm.access import Actor, require_role
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import Task, utcnow
from crm.models.enums import ClaimPriority, ClaimStatus, Role, SearchKind, TaskStatus
from crm.services import cards, claims, companies, contacts, tasks
from crm.services.cards import CompanyCard
from crm.services.claims import AttachmentInput, ClaimInput, ClaimView, PlanTaskInput
from crm.uow import UnitOfWork
from handlers.claim_settings import ClaimSetCb
from handlers.dialog import Wizard, ask_when_again, over, stale, when_examples
from handlers.find import CARD_ROWS, COMPANY, CardCb
from handlers.ui import PAGE, button, h, markup, pager_row, short, show, snippet, split_args
from handlers.words import (
    CLAIM_STATUSES,
    PRIORITY_ICONS,
    TASK_MARKS,
    cause_name,
    claim_status,
    local_time,
    money,
    priority_badge,
    priority_name,
)
from notifications.claims_notify import ClaimCb, notify_filed
from notifications.reminders import ReminderRuntime

router = Router(name="claims")

BUTTON_TITLE = 40
CARD_TEXT = 1500
PLAN_SHOWN = 15
PRIORITIES = [p.value for p in ClaimPriority]
# the /claims status filter: "open" = new or investigating, "all" = no filter
LIST_STATUSES: dict[str, str] = {"open": N_("open"), **CLAIM_STATUSES, "all": N_("all")}


class ClaimFormCb(CallbackData, prefix="clf"):
    action: str  # company | contact | page | cause | prio | done | back | cancel
    value: str = ""
    offset: int = 0


class ClaimsListCb(CallbackData, prefix="cls"):
    status: str = "open"
    prio: str = ""  # "" = any priority
    offset: int = 0


class NewClaimCb(CallbackData, prefix="ncl"):
    """The File a claim button of a company card: the dialog starts at the contact."""

    company_id: int


class ClaimForm(StatesGroup):
    company = State()
    contact = State()
    cause = State()
    priority = State()
    text = State()
    files = State()


class ResolveForm(StatesGroup):
    resolution = State()
    compensation = State()


# --- the card ---------------------------------------------------------------------------


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
    extra = []
    if view.attachments:
        extra.append(
            button(
                _("📎 Attachments ({count})").format(count=len(view.attachments)),
                ClaimCb(action="files", claim_id=claim.id),
            )
        )
    if claim.status in claims.OPEN_STATUSES:  # whoever sees an open claim may edit its plan
        extra.append(button(_("✏ Plan"), PlanCb(action="show", claim_id=claim.id)))
    extra.append(button(_("🏢 Company"), CardCb(kind="co", id=claim.company_id)))
    kb.row(*extra)
    return kb.as_markup()


async def show_card(
    target: Message | CallbackQuery, uow: UnitOfWork, actor: Actor, claim_id: int
) -> None:
    text, markup = render_card(actor, await claims.get(uow, actor, claim_id))
    await show(target, text, markup)


@router.callback_query(ClaimCb.filter(F.action == "open"))
async def open_card(
    callback: CallbackQuery, callback_data: ClaimCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = render_card(actor, await claims.get(uow, actor, callback_data.claim_id))
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=markup)
    await callback.answer()


@router.callback_query(ClaimCb.filter(F.action == "show"))
async def card_here(
    callback: CallbackQuery, callback_data: ClaimCb, uow: UnitOfWork, actor: Actor
) -> None:
    await show_card(callback, uow, actor, callback_data.claim_id)
    await callback.answer()


@router.callback_query(ClaimCb.filter(F.action == "st"))
async def set_status(
    callback: CallbackQuery,
    callback_data: ClaimCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    if callback_data.value in claims.CLOSED_STATUSES:  # closing needs words: ask for them
        await ask_close(callback, callback_data, uow, actor, state)
        return
    view = await claims.change_status(uow, actor, callback_data.claim_id, callback_data.value)
    text, markup = render_card(actor, view)
    await show(callback, text, markup)
    await callback.answer(_("Status: {status}").format(status=claim_status(view.claim.status)))


@router.callback_query(ClaimCb.filter(F.action == "task"))
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


@router.callback_query(ClaimCb.filter(F.action == "files"))
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


# --- resolving and rejecting ----------------------------------------------------------


def open_tasks_text(count: int) -> str:
    return _(
        "The investigation plan still has open tasks ({count}): "
        "close them before resolving the claim."
    ).format(count=count)


def open_tasks_markup(actor: Actor, claim_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    if actor.role in claims.REOPEN_ROLES:
        kb.row(button(_("Resolve anyway"), ClaimCb(action="over", claim_id=claim_id)))
    kb.row(button(_("« Back"), ClaimCb(action="show", claim_id=claim_id)))
    return kb.as_markup()


async def ask_resolution(
    callback: CallbackQuery, state: FSMContext, claim_id: int, status: str, override: bool
) -> None:
    await state.set_state(ResolveForm.resolution)
    await state.set_data({"claim_id": claim_id, "status": status, "override": override})
    if status == ClaimStatus.RESOLVED:
        prompt = _("Claim #{id}: write the resolution — what was done for the client.")
    else:
        prompt = _("Claim #{id}: write why the claim is rejected.")
    if isinstance(callback.message, Message):
        await callback.message.answer(
            prompt.format(id=claim_id), reply_markup=FILING.nav_markup(back=False)
        )


@router.callback_query(ClaimCb.filter(F.action == "ask"))
async def ask_close(
    callback: CallbackQuery,
    callback_data: ClaimCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    view = await claims.get(uow, actor, callback_data.claim_id)  # refuses another's claim
    target = callback_data.value
    if target not in claims.allowed_transitions(actor, view.claim.status) or target not in (
        ClaimStatus.RESOLVED,
        ClaimStatus.REJECTED,
    ):
        raise Conflict("transition", from_status=view.claim.status, to_status=target)
    if target == ClaimStatus.RESOLVED and view.open_plan_tasks:
        await show(
            callback,
            open_tasks_text(len(view.open_plan_tasks)),
            open_tasks_markup(actor, view.claim.id),
        )
        await callback.answer()
        return
    await ask_resolution(callback, state, view.claim.id, target, override=False)
    await callback.answer()


@router.callback_query(ClaimCb.filter(F.action == "over"))
async def resolve_anyway(
    callback: CallbackQuery,
    callback_data: ClaimCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    require_role(actor, *claims.REOPEN_ROLES, entity="override")
    view = await claims.get(uow, actor, callback_data.claim_id)
    if ClaimStatus.RESOLVED not in claims.allowed_transitions(actor, view.claim.status):
        raise Conflict("transition", from_status=view.claim.status, to_status="resolved")
    await ask_resolution(callback, state, view.claim.id, ClaimStatus.RESOLVED, override=True)
    await callback.answer()


@router.message(ResolveForm.resolution, F.text, ~F.text.startswith("/"))
async def typed_resolution(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    data["resolution"] = validation.text("resolution", message.text, max_len=validation.TEXT_MAX)
    if data["status"] == ClaimStatus.RESOLVED:
        await state.set_state(ResolveForm.compensation)
        await state.set_data(data)
        kb = InlineKeyboardBuilder()
        kb.row(
            button(_("No compensation"), ClaimCb(action="nocomp", claim_id=int(data["claim_id"])))
        )
        kb.row(*FILING.nav_buttons(back=False))
        await message.answer(
            _("Compensation to the client? Type an amount, or press No compensation."),
            reply_markup=kb.as_markup(),
        )
        return
    await close_claim(message, uow, actor, state, data, None)


@router.message(ResolveForm.compensation, F.text, ~F.text.startswith("/"))
async def typed_compensation(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    data = await state.get_data()
    amount = validation.money("compensation", message.text)
    await close_claim(message, uow, actor, state, data, str(amount))


@router.callback_query(ClaimCb.filter(F.action == "nocomp"))
async def no_compensation(
    callback: CallbackQuery,
    callback_data: ClaimCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    if (
        await state.get_state() != ResolveForm.compensation.state
        or int(data.get("claim_id", 0)) != callback_data.claim_id
    ):
        await over(callback)
        return
    await close_claim(callback, uow, actor, state, data, None)
    await callback.answer()


async def close_claim(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
    compensation: str | None,
) -> None:
    claim_id = int(data["claim_id"])
    try:
        view = await claims.change_status(
            uow,
            actor,
            claim_id,
            data["status"],
            resolution=data["resolution"],
            compensation=compensation,
            override=bool(data.get("override")),
        )
    except Conflict as exc:
        if exc.reason != "open_tasks":
            raise
        await state.clear()
        count = int(exc.params.get("count", 0))
        await show(target, open_tasks_text(count), open_tasks_markup(actor, claim_id))
        return
    await state.clear()
    text, markup = render_card(actor, view)
    await show(target, text, markup)


# --- /claims ------------------------------------------------------------------------------


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


@router.message(Command("claims"))
async def list_claims(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    text, markup = await claims_page(uow, actor, "open", "", 0)
    await message.answer(text, reply_markup=markup)


@router.callback_query(ClaimsListCb.filter())
async def page_claims(
    callback: CallbackQuery, callback_data: ClaimsListCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = await claims_page(
        uow, actor, callback_data.status, callback_data.prio, max(0, callback_data.offset)
    )
    await show(callback, text, markup)
    await callback.answer()


# --- /claim: one line --------------------------------------------------------------------


def usage_text() -> str:
    return _("Write <code>/claim company; text</code>, or just /claim and I will ask step by step.")


def not_found_text(name: str) -> str:
    return _(
        "No company like «{name}» among your clients. Try another spelling, "
        "or add it with /company. Nothing was saved."
    ).format(name=h(short(name, 60)))


@router.message(Command("claim"))
async def new_claim(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    reminders: ReminderRuntime | None = None,
) -> None:
    await state.clear()
    if not command.args:
        await ask(message, uow, actor, state, {})
        return
    parts = split_args(command.args)
    name = parts[0]
    if not name:
        await message.answer(usage_text())
        return
    if len(parts) == 1:  # only the company: the dialog goes on from there
        await choose_company(message, uow, actor, state, name, {})
        return
    text = validation.text("text", "; ".join(parts[1:]), max_len=validation.TEXT_MAX)
    await choose_company(
        message,
        uow,
        actor,
        state,
        name,
        {"text": text, "quick": True},
        bot=bot,
        i18n=i18n,
        reminders=reminders,
    )


async def choose_company(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    name: str,
    data: dict[str, Any],
    *,
    bot: Bot | None = None,
    i18n: I18n | None = None,
    reminders: ReminderRuntime | None = None,
) -> None:
    """The company of exactly this name, else buttons with the near ones, else an apology."""
    company = await companies.find_by_name(uow, actor, name)
    if company is not None:
        data.update(company_id=company.id, company_name=company.name)
        if data.get("quick"):
            assert bot is not None and i18n is not None
            await file_claim(message, uow, actor, state, bot, i18n, data, reminders)
        else:
            await ask(message, uow, actor, state, data)
        return
    hits = await cards.find(uow, actor, name, kinds=(SearchKind.COMPANY,), limit=PAGE)
    if not hits:
        if data.get("quick"):
            await state.clear()
            await message.answer(not_found_text(name))
        else:
            await FILING.save(state, data)
            await message.answer(not_found_text(name), reply_markup=FILING.nav_markup(back=False))
        return
    data["choices"] = {str(hit.entity_id): hit.title for hit in hits}
    await FILING.save(state, data)
    kb = InlineKeyboardBuilder()
    for hit in hits:
        kb.row(
            button(short(hit.title, 60), ClaimFormCb(action="company", value=str(hit.entity_id)))
        )
    kb.row(*FILING.nav_buttons(back=False))
    await message.answer(_("Which company do you mean?"), reply_markup=kb.as_markup())


# --- /claim: the dialog ---------------------------------------------------------------------


def step_of(data: Mapping[str, Any]) -> str:
    for step, key in (
        ("company", "company_id"),
        ("contact", "contact"),
        ("cause", "cause"),
        ("priority", "priority"),
        ("text", "text"),
    ):
        if key not in data:
            return step
    return "files"


FILING = Wizard(
    steps={
        "company": ClaimForm.company,
        "contact": ClaimForm.contact,
        "cause": ClaimForm.cause,
        "priority": ClaimForm.priority,
        "text": ClaimForm.text,
        "files": ClaimForm.files,
    },
    step_of=step_of,
    back_drops={
        "contact": ("company_id", "company_name", "offset"),
        "cause": ("contact", "contact_name", "offset"),
        "priority": ("cause",),
        "text": ("priority",),
        "files": ("text", "files"),
    },
    nav=ClaimFormCb,
    restart="/claim",
)


def draft_summary(data: dict[str, Any]) -> list[str]:
    lines = [_("<b>New claim</b>")]
    if "company_name" in data:
        lines.append(_("Company: {name}").format(name=h(data["company_name"])))
    if data.get("contact_name"):
        lines.append(_("Contact: {name}").format(name=h(data["contact_name"])))
    if "cause" in data:
        lines.append(_("Cause: {cause}").format(cause=h(data.get("cause_name") or data["cause"])))
    if "priority" in data:
        lines.append(_("Priority: {priority}").format(priority=priority_name(data["priority"])))
    if "text" in data:
        lines.append(_("Text: {text}").format(text=h(snippet(data["text"], 200))))
    return lines


async def ask(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    data: dict[str, Any],
) -> None:
    """Save the dialog's data and ask for what is missing next."""
    step = step_of(data)
    kb = InlineKeyboardBuilder()
    if step == "company":
        text = _("Which company is the claim from? Type a part of its name.")
    elif step == "contact":
        offset = int(data.get("offset", 0))
        people, total = await contacts.list_for_company(
            uow, actor, int(data["company_id"]), offset=offset, limit=PAGE
        )
        data["shown"] = {str(c.id): c.name for c in people}  # the buttons name only these
        text = (
            _("Who complains? Choose the contact, or skip.")
            if total
            else _("The company has no contacts yet: press Skip.")
        )
        for person in people:
            kb.row(
                button(short(person.name, 60), ClaimFormCb(action="contact", value=str(person.id)))
            )
        pager = pager_row(ClaimFormCb, offset, total, action="page")
        if pager:
            kb.row(*pager)
        kb.row(button(_("Skip"), ClaimFormCb(action="contact", value="")))
    elif step == "cause":
        causes = await claims.list_causes(uow)
        data["causes"] = {c.code: cause_name(c.code, c.title) for c in causes}
        text = _("What is the cause?")
        for code, label in data["causes"].items():
            kb.button(text=short(label, 40), callback_data=ClaimFormCb(action="cause", value=code))
        kb.adjust(2)
    elif step == "priority":
        text = _("Priority? (normal if unsure)")
        kb.row(
            *[
                button(
                    priority_badge(p),
                    ClaimFormCb(action="prio", value=p),
                )
                for p in PRIORITIES
            ]
        )
    elif step == "text":
        text = _("Describe the claim: what happened?")
    else:
        count = len(data.get("files", []))
        text = (
            _("Attached: {count}. Send more photos or documents, or press Done.").format(
                count=count
            )
            if count
            else _(
                "Send photos or documents of the claim, if any (up to 20 MB each), then press Done."
            )
        )
        kb.row(button(_("Done"), ClaimFormCb(action="done")))
    kb.row(*FILING.nav_buttons(back=step != "company"))
    await FILING.save(state, data)
    head = "\n".join(draft_summary(data)) + "\n\n" if "company_id" in data else ""
    await show(target, head + text, kb.as_markup())


def company_rows(actor: Actor, card: CompanyCard) -> list[list[InlineKeyboardButton]]:
    return [[button(_("⚠ File a claim"), NewClaimCb(company_id=card.company.id))]]


CARD_ROWS[COMPANY].append(company_rows)


@router.callback_query(NewClaimCb.filter())
async def new_claim_for_company(
    callback: CallbackQuery,
    callback_data: NewClaimCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    card = await cards.company_card(uow, actor, callback_data.company_id)  # refuses another's
    if isinstance(callback.message, Message):
        await state.clear()
        data = {"company_id": card.company.id, "company_name": card.company.name}
        await ask(callback.message, uow, actor, state, data)
    await callback.answer()


@router.message(ClaimForm.company, F.text, ~F.text.startswith("/"))
async def typed_company(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data.pop("choices", None)
    await choose_company(message, uow, actor, state, message.text or "", data)


@router.message(ClaimForm.text, F.text, ~F.text.startswith("/"))
async def typed_text(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    data["text"] = validation.text("text", message.text, max_len=validation.TEXT_MAX)
    await ask(message, uow, actor, state, data)


@router.message(ClaimForm.files, F.photo | F.document)
async def got_file(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    if message.photo:
        photo = message.photo[-1]
        item = AttachmentInput(photo.file_id, "photo", photo.file_size)
    else:
        assert message.document is not None
        item = AttachmentInput(message.document.file_id, "document", message.document.file_size)
    checked = claims.clean_attachment(item)  # too large: refused here, nothing kept
    data = await state.get_data()
    files = data.setdefault("files", [])
    if len(files) >= claims.MAX_ATTACHMENTS:
        raise InvalidInput("attachment", "too_many", max=claims.MAX_ATTACHMENTS)
    files.append([checked["file_id"], checked["kind"], checked["file_size"]])
    await ask(message, uow, actor, state, data)


@router.message(ClaimForm.files, F.text, ~F.text.startswith("/"))
async def text_instead_of_file(message: Message) -> None:
    await message.answer(
        _("Send photos or documents, or press Done."), reply_markup=FILING.nav_markup()
    )


@router.callback_query(ClaimFormCb.filter())
async def dialog_button(
    callback: CallbackQuery,
    callback_data: ClaimFormCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    reminders: ReminderRuntime | None = None,
) -> None:
    action, value = callback_data.action, callback_data.value
    data = await FILING.pressed(callback, action, state)
    if data is None:
        return
    step = step_of(data)
    if action == "back":
        await ask(callback, uow, actor, state, FILING.back(data))
    elif action == "company" and step == "company":
        choices = data.pop("choices", {})
        if value not in choices:
            raise AccessDenied("company")
        data.update(company_id=int(value), company_name=choices[value])
        if data.get("quick"):
            await file_claim(callback, uow, actor, state, bot, i18n, data, reminders)
        else:
            await ask(callback, uow, actor, state, data)
    elif action == "page" and step == "contact":
        data["offset"] = max(0, callback_data.offset)
        await ask(callback, uow, actor, state, data)
    elif action == "contact" and step == "contact":
        shown = data.pop("shown", {})
        if value and value not in shown:
            raise AccessDenied("contact")
        data.update(contact=int(value) if value else None, contact_name=shown.get(value))
        await ask(callback, uow, actor, state, data)
    elif action == "cause" and step == "cause":
        causes = data.pop("causes", {})
        if value not in causes:
            raise InvalidInput("cause", "unknown_value", allowed=list(causes))
        data.update(cause=value, cause_name=causes[value])
        await ask(callback, uow, actor, state, data)
    elif action == "prio" and step == "priority":
        data["priority"] = validation.choice("priority", value, ClaimPriority).value
        await ask(callback, uow, actor, state, data)
    elif action == "done" and step == "files":
        await file_claim(callback, uow, actor, state, bot, i18n, data, reminders)
    else:
        await stale(callback)
        return
    await callback.answer()


async def file_claim(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    bot: Bot,
    i18n: I18n,
    data: dict[str, Any],
    reminders: ReminderRuntime | None,
) -> None:
    view = await claims.file(
        uow,
        actor,
        ClaimInput(
            company_id=int(data["company_id"]),
            text=data["text"],
            contact_id=data.get("contact"),
            cause=data.get("cause") or "other",
            priority=data.get("priority") or ClaimPriority.NORMAL.value,
            attachments=[AttachmentInput(f, k, s) for f, k, s in data.get("files", [])],
        ),
    )
    await state.clear()
    text, markup = render_card(actor, view)
    await show(target, text, markup)
    await notify_filed(
        uow,
        bot,
        i18n,
        view.claim,
        sender=reminders.sender if reminders is not None else None,
        filed_by=actor.id,
    )


# --- the plan editor --------------------------------------------------------------------


PLAN_BUTTONS = 10


class PlanCb(CallbackData, prefix="cpl"):
    action: str  # show | done | rm (ask) | rmyes | add | at (a time chosen by a button)
    claim_id: int
    task_id: int = 0
    at: int = 0  # a UTC timestamp for "at"


class PlanForm(StatesGroup):
    title = State()
    when = State()


def render_plan(actor: Actor, view: ClaimView, note: str = "") -> tuple[str, InlineKeyboardMarkup]:
    claim = view.claim
    editable = claim.status in claims.OPEN_STATUSES
    lines = [note, ""] if note else []
    lines.append(
        _("<b>Plan of claim #{id}</b> — 🏢 {company}").format(
            id=claim.id, company=h(view.company.name)
        )
    )
    for task in view.plan:
        lines.append(
            f"{TASK_MARKS.get(task.status, '·')} {h(task.title)} — {local_time(actor, task.due_at)}"
        )
    if not view.plan:
        lines.append(_("The plan is empty."))
    if not editable:
        lines += ["", _("The claim is closed: its plan can no longer be changed.")]
    kb = InlineKeyboardBuilder()
    if editable:
        for task in view.open_plan_tasks[:PLAN_BUTTONS]:
            kb.row(
                button(
                    "✔ " + short(task.title, BUTTON_TITLE),
                    PlanCb(action="done", claim_id=claim.id, task_id=task.id),
                ),
                button("🗑", PlanCb(action="rm", claim_id=claim.id, task_id=task.id)),
            )
        kb.row(button(_("➕ Add a step"), PlanCb(action="add", claim_id=claim.id)))
    kb.row(button(_("« Back to the claim"), ClaimCb(action="show", claim_id=claim.id)))
    return "\n".join(lines), kb.as_markup()


def plan_task(view: ClaimView, task_id: int) -> Task:
    task = next((t for t in view.plan if t.id == task_id), None)
    if task is None:
        raise InvalidInput("task", "not_in_plan", id=task_id)
    return task


def require_open(view: ClaimView) -> None:
    if view.claim.status in claims.CLOSED_STATUSES:
        raise Conflict("claim_closed", status=view.claim.status)


def back_to_plan(claim_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(_("« Back"), PlanCb(action="show", claim_id=claim_id))]]
    )


def ask_when_rows(actor: Actor, claim_id: int) -> list[list[InlineKeyboardButton]]:
    tomorrow = when.parse_when("tomorrow 09:00", actor.timezone, utcnow())
    return [
        [button(_("Tomorrow 9:00"), PlanCb(action="at", claim_id=claim_id, at=at(tomorrow)))],
        [button(_("« Back"), PlanCb(action="show", claim_id=claim_id))],
    ]


def at(moment: datetime) -> int:
    return int(moment.timestamp())


def step_when_text(title: str) -> str:
    return _("When is the step «{title}» due?").format(title=h(title))


async def ask_step_when(
    target: Message | CallbackQuery,
    actor: Actor,
    claim_id: int,
    title: str,
    problem: InvalidInput | None = None,
    typed: str = "",
) -> None:
    """When the step is due; asked again, with what was wrong, after a time that did not do."""
    if problem is None:
        text = step_when_text(title) + "\n" + when_examples()
        await show(target, text, markup(ask_when_rows(actor, claim_id)))
        return
    back = [button(_("« Back"), PlanCb(action="show", claim_id=claim_id))]
    await show(
        target,
        *ask_when_again(
            actor,
            problem,
            typed,
            pick=lambda option: PlanCb(action="at", claim_id=claim_id, at=at(option)),
            rows=ask_when_rows(actor, claim_id),
            choice_rows=[back],
            question=step_when_text(title),
            label=local_time,
        ),
    )


async def add_step(
    target: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    claim_id: int,
    title: str,
    due_at: datetime,
    reminders: ReminderRuntime | None,
) -> None:
    view = await claims.edit_plan(
        uow, actor, claim_id, add=[PlanTaskInput(title=title, due_at=due_at)]
    )
    await state.clear()
    added = max(view.plan, key=lambda t: t.id)
    if reminders is not None:
        reminders.task_changed(added.id, added.due_at)
    note = _("Step added: «{title}», due {due}.").format(
        title=h(added.title), due=local_time(actor, added.due_at)
    )
    await show(target, *render_plan(actor, view, note))


async def when_typed(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    claim_id: int,
    title: str,
    typed: str,
    reminders: ReminderRuntime | None,
) -> None:
    """Add the step if `typed` is one moment; else ask again (with buttons if ambiguous)."""
    try:
        due_at = when.parse_when(typed, actor.timezone, utcnow())
    except InvalidInput as err:
        await state.set_state(PlanForm.when)
        await state.set_data({"claim_id": claim_id, "title": title})
        await ask_step_when(message, actor, claim_id, title, err, typed)
        return
    await add_step(message, uow, actor, state, claim_id, title, due_at, reminders)


@router.callback_query(PlanCb.filter())
async def plan_button(
    callback: CallbackQuery,
    callback_data: PlanCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    reminders: ReminderRuntime | None = None,
) -> None:
    action, claim_id, task_id = callback_data.action, callback_data.claim_id, callback_data.task_id
    if action == "show":
        if await state.get_state() in PlanForm.__all_states_names__:
            await state.clear()
        await show(callback, *render_plan(actor, await claims.get(uow, actor, claim_id)))
    elif action == "done":
        view = await claims.complete_step(uow, actor, claim_id, task_id)
        title = plan_task(view, task_id).title
        await show(callback, *render_plan(actor, view, _("Done: {title}").format(title=h(title))))
    elif action == "rm":
        view = await claims.get(uow, actor, claim_id)
        require_open(view)
        task = plan_task(view, task_id)
        if task.status != TaskStatus.OPEN:
            raise Conflict("task_not_open", id=task_id)
        kb = InlineKeyboardBuilder()
        kb.row(
            button(_("🗑 Yes, remove"), PlanCb(action="rmyes", claim_id=claim_id, task_id=task_id))
        )
        kb.row(button(_("« Back"), PlanCb(action="show", claim_id=claim_id)))
        await show(
            callback,
            _(
                "Remove the step «{title}» from the plan of claim #{id}? "
                "It stays in the history as cancelled."
            ).format(title=h(task.title), id=claim_id),
            kb.as_markup(),
        )
    elif action == "rmyes":
        view = await claims.edit_plan(uow, actor, claim_id, remove=[task_id])
        title = plan_task(view, task_id).title
        note = _("Step removed: {title}").format(title=h(title))
        await show(callback, *render_plan(actor, view, note))
    elif action == "add":
        view = await claims.get(uow, actor, claim_id)
        require_open(view)
        await state.set_state(PlanForm.title)
        await state.set_data({"claim_id": claim_id})
        await show(
            callback,
            _(
                "Claim #{id}: what is the new step of the plan? You may add when it is due "
                "after a semicolon, e.g. <code>Call the warehouse; tomorrow 15:00</code>."
            ).format(id=claim_id),
            back_to_plan(claim_id),
        )
    elif action == "at":
        data = await state.get_data()
        if (
            await state.get_state() != PlanForm.when.state
            or int(data.get("claim_id", 0)) != claim_id
        ):
            await over(callback)
            return
        due_at = datetime.fromtimestamp(callback_data.at, UTC)
        title = str(data.get("title", ""))
        if due_at <= utcnow():
            past = InvalidInput("when", "past", at=due_at)
            await ask_step_when(callback, actor, claim_id, title, past)
        else:
            await add_step(callback, uow, actor, state, claim_id, title, due_at, reminders)
    else:
        await stale(callback)
        return
    await callback.answer()


@router.message(PlanForm.title, F.text, ~F.text.startswith("/"))
async def typed_step_title(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    reminders: ReminderRuntime | None = None,
) -> None:
    claim_id = int((await state.get_data()).get("claim_id", 0))
    parts = split_args(message.text)
    typed_when = parts[-1] if len(parts) > 1 else ""
    title = "; ".join(parts[:-1] if len(parts) > 1 else parts)
    title = validation.text("title", title, max_len=claims.PLAN_TITLE_MAX)
    if typed_when:
        await when_typed(message, uow, actor, state, claim_id, title, typed_when, reminders)
        return
    await state.set_state(PlanForm.when)
    await state.set_data({"claim_id": claim_id, "title": title})
    await ask_step_when(message, actor, claim_id, title)


@router.message(PlanForm.when, F.text, ~F.text.startswith("/"))
async def typed_step_when(
    message: Message,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    reminders: ReminderRuntime | None = None,
) -> None:
    data = await state.get_data()
    claim_id, title = int(data.get("claim_id", 0)), str(data.get("title", ""))
    await when_typed(message, uow, actor, state, claim_id, title, message.text or "", reminders)
