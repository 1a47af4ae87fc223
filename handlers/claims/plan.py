"""✏ Plan of an open claim: mark a step done, remove one (it stays as cancelled), add one.

"➕ Add a step" asks for its text and when it is due in natural language (crm.when, as
/remind does; `text; when` in one message too). Everything goes through crm.services.claims.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm import validation, when
from crm.access import Actor
from crm.errors import Conflict, InvalidInput
from crm.models import Task, utcnow
from crm.models.enums import TaskStatus
from crm.services import claims
from crm.services.claims import ClaimView, PlanTaskInput
from crm.uow import UnitOfWork
from handlers.claims.callbacks import BUTTON_TITLE, PLAN_BUTTONS, ClaimCb, PlanCb
from handlers.dialog import ask_when_again, over, stale, when_examples
from handlers.ui import button, h, markup, short, show, split_args
from handlers.words import (
    TASK_MARKS,
    local_time,
)
from notifications.reminders import ReminderRuntime


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


def setup() -> Router:
    router = Router(name="claims.plan")
    router.callback_query.register(plan_button, PlanCb.filter())
    router.message.register(typed_step_title, PlanForm.title, F.text, ~F.text.startswith("/"))
    router.message.register(typed_step_when, PlanForm.when, F.text, ~F.text.startswith("/"))
    return router
