"""🗓 Move of a planned interaction in /today: to when, in words as /remind reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm import when
from crm.access import Actor
from crm.errors import Conflict, InvalidInput
from crm.models import Interaction, utcnow
from crm.models.enums import InteractionStatus
from crm.services import interactions
from crm.uow import UnitOfWork
from handlers.dialog import Wizard, ask_when_again, read_when, stale, when_examples
from handlers.tasks.callbacks import MoveWhenCb, PlannedCb
from handlers.tasks.today import not_planned_text, what_of
from handlers.ui import button, markup, show
from handlers.words import moment


class MoveForm(StatesGroup):
    when = State()  # data: interaction_id


def ask_move_text(actor: Actor, item: Interaction) -> str:
    return "\n".join(
        [
            _("🗓 Move {what}, now {time}. To when?").format(
                what=what_of(item), time=moment(actor, item.occurred_at)
            ),
            when_examples(),
        ]
    )


def move_cancel() -> InlineKeyboardButton:
    return button(_("✖ Cancel"), MoveWhenCb(action="cancel"))


def move_keyboard(
    actor: Actor, item: Interaction | None = None, now: datetime | None = None
) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if item is not None:
        # the same local time tomorrow: the usual move of a call or a meeting
        local = when.to_local(item.occurred_at, actor.timezone)
        today = when.to_local(now or utcnow(), actor.timezone).date()
        naive = datetime.combine(today + timedelta(days=1), local.time().replace(tzinfo=None))
        try:
            tomorrow = when.localise(naive, when.zone_of(actor.timezone))
        except InvalidInput:  # a time DST makes double or missing: typed instead
            tomorrow = None
        if tomorrow is not None:
            rows.append(
                [
                    button(
                        _("Tomorrow {time}").format(time=f"{local:%H:%M}"),
                        MoveWhenCb(action="at", at=int(tomorrow.timestamp())),
                    )
                ]
            )
    rows.append([move_cancel()])
    return markup(rows)


MOVE = Wizard(
    steps={"when": MoveForm.when},
    step_of=lambda data: "when",
    back_drops={},
    nav=MoveWhenCb,
    restart="/today",
    cancel_button=move_cancel,
)


def ask_move_again(actor: Actor, err: InvalidInput, typed: str) -> tuple[str, InlineKeyboardMarkup]:
    """The question back for a new time that cannot be taken as it is."""
    return ask_when_again(
        actor,
        err,
        typed,
        pick=lambda option: MoveWhenCb(action="at", at=int(option.timestamp())),
        rows=[[move_cancel()]],
        after_past=_("To when should it move?"),
    )


async def planned_move(
    callback: CallbackQuery,
    callback_data: PlannedCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    item = await interactions.get(uow, actor, callback_data.id)
    if item.status != InteractionStatus.PLANNED.value:
        await callback.answer(not_planned_text(), show_alert=True)
        return
    await state.clear()
    await MOVE.save(state, {"interaction_id": item.id})
    if isinstance(callback.message, Message):
        await callback.message.answer(
            ask_move_text(actor, item), reply_markup=move_keyboard(actor, item)
        )
    await callback.answer()


async def _move_to(
    event: Message | CallbackQuery,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
    at: datetime,
    typed: str = "",
) -> None:
    data = await state.get_data()
    try:
        item = await interactions.reschedule(uow, actor, int(data["interaction_id"]), at)
    except InvalidInput as err:
        if err.field != "when":
            raise
        await show(event, *ask_move_again(actor, err, typed))
        return
    except Conflict:
        await state.clear()
        await show(event, not_planned_text())
        return
    await state.clear()
    await show(
        event,
        _("🗓 Moved to {time}: {what}").format(
            time=moment(actor, item.occurred_at), what=what_of(item)
        ),
    )


async def typed_move_when(
    message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    at = await read_when(message, actor, partial(ask_move_again, actor))
    if at is not None:
        await _move_to(message, uow, actor, state, at, message.text or "")


async def chosen_move_time(
    callback: CallbackQuery,
    callback_data: MoveWhenCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    if await MOVE.pressed(callback, callback_data.action, state) is None:
        return
    if callback_data.action != "at":
        await stale(callback)
        return
    await _move_to(callback, uow, actor, state, datetime.fromtimestamp(callback_data.at, UTC))
    await callback.answer()


def setup() -> Router:
    router = Router(name="tasks.move")
    router.callback_query.register(planned_move, PlannedCb.filter(F.action == "move"))
    router.message.register(typed_move_when, MoveForm.when, F.text, ~F.text.startswith("/"))
    router.callback_query.register(chosen_move_time, MoveWhenCb.filter())
    return router
