"""Dialogs of several steps: one small engine (`Wizard`), and one way to ask a time again.

A dialog keeps what it has gathered in its FSM data, and its step follows from that data
(`step_of`): Back forgets the answer of the step before (`back_drops`), and a dialog picked
up again after a restart asks for exactly what is missing. Each dialog has a CallbackData
class of its own (with an `action`) for its buttons; the Wizard answers what every dialog
has in common: Back and Cancel, a button of a dialog that is over ("This dialog is over.
Start again with /claim."), a button of an earlier step ("This button is from an earlier
step."). A press names what its dialog is about when its buttons carry an id (the deal of
💳 Terms): `same` holds a press to the dialog it came from, so a button of an older dialog
about something else is "over" and changes nothing. A dialog started from a card may go
back to that card when cancelled (`home`). A dialog of one question is a Wizard of one
step (`Wizard.one`); a question that is not a dialog (a value typed after a button, with
no state) uses `cancel`, `over` and `stale` alone.

aiogram's Scenes would do this too, but they are marked experimental, keep the history
Back walks in a storage record of their own (one more key per chat in DatabaseStorage and
Redis), and answer a press outside the scene with silence where our users are told that
the dialog is over. Our dialogs were already shaped "data → step"; the Wizard is that shape
written once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm import when
from crm.access import Actor
from crm.errors import AccessDenied, CRMError, InvalidInput
from crm.models import utcnow
from crm.search import Hit
from handlers.ui import button, cancel_text, h, markup, short, show
from handlers.words import moment

Rows = list[list[InlineKeyboardButton]]
Home = Callable[[dict[str, Any]], Awaitable[None]]


async def cancel(callback: CallbackQuery, state: FSMContext) -> None:
    """Cancel: the dialog is forgotten and nothing was saved."""
    await state.clear()
    await show(callback, cancel_text())
    await callback.answer()


async def over(callback: CallbackQuery, restart: str = "") -> None:
    """A button of a dialog that has ended (finished, cancelled, or another command came)."""
    if restart:
        text = _("This dialog is over. Start again with {command}.").format(command=restart)
    else:
        text = _("This dialog is over.")
    await callback.answer(text, show_alert=True)


async def stale(callback: CallbackQuery) -> None:
    """A button of a step the dialog has already left."""
    await callback.answer(_("This button is from an earlier step."), show_alert=True)


@asynccontextmanager
async def ends_if_final(state: FSMContext) -> AsyncIterator[None]:
    """The write of a typed answer: a refusal that typing again cannot change
    (`CRMError.final`: the record closed meanwhile, out of reach) ends the dialog, where
    bad input leaves the question open for another try. The refusal itself goes on to
    bot/errors.py, which answers it politely either way."""
    try:
        yield
    except CRMError as err:
        if err.final:
            await state.clear()
        raise


@dataclass(frozen=True)
class Wizard:
    """A dialog of declared steps whose current step follows from the answers it holds.

    `steps` names each step's FSM state, in order; `step_of(data)` is the step that asks
    next; `back_drops[step]` are the keys Back forgets at that step (the answer before it,
    and what the step itself keeps while it is shown). `nav` is the dialog's CallbackData
    class: Back and Cancel are `nav(action="back" | "cancel")`. `restart` is the command
    that starts the dialog again.
    """

    steps: Mapping[str, State]
    step_of: Callable[[Mapping[str, Any]], str]
    back_drops: Mapping[str, tuple[str, ...]]
    nav: Callable[..., CallbackData]
    restart: str = ""
    cancel_button: Callable[[], InlineKeyboardButton] | None = None

    @classmethod
    def linear(
        cls,
        steps: Sequence[tuple[str, State, tuple[str, ...]]],
        *,
        nav: Callable[..., CallbackData],
        restart: str = "",
        cancel_button: Callable[[], InlineKeyboardButton] | None = None,
    ) -> Wizard:
        """A dialog whose steps come one after another: `(name, state, keys)` each, where a
        step is answered once its first key is in the data (the last step is where the
        dialog ends up), and Back forgets the keys of the step before and of this one."""
        names = [name for name, _state, _keys in steps]
        keys = {name: step_keys for name, _state, step_keys in steps}

        def step_of(data: Mapping[str, Any]) -> str:
            return next((name for name in names[:-1] if keys[name][0] not in data), names[-1])

        back = {later: keys[earlier] + keys[later] for earlier, later in pairwise(names)}
        return cls(
            steps={name: state for name, state, _keys in steps},
            step_of=step_of,
            back_drops=back,
            nav=nav,
            restart=restart,
            cancel_button=cancel_button,
        )

    @classmethod
    def one(cls, name: str, state: State, *, restart: str = "") -> Wizard:
        """A dialog of one question (its buttons build their own Back / Cancel)."""

        def no_nav(action: str) -> CallbackData:
            raise NotImplementedError(f"the one-question dialog {name} has no {action} button")

        return cls(
            steps={name: state},
            step_of=lambda data: name,
            back_drops={},
            nav=no_nav,
            restart=restart,
        )

    @property
    def states(self) -> frozenset[str | None]:
        return frozenset(state.state for state in self.steps.values())

    async def active(self, state: FSMContext) -> bool:
        return await state.get_state() in self.states

    def back(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The data one step earlier."""
        earlier = dict(data)
        for key in self.back_drops.get(self.step_of(data), ()):
            earlier.pop(key, None)
        return earlier

    async def save(self, state: FSMContext, data: dict[str, Any]) -> str:
        """Keep the data and move the dialog to the step it asks next; that step."""
        step = self.step_of(data)
        await state.set_state(self.steps[step])
        await state.set_data(data)
        return step

    def nav_buttons(self, back: bool = True) -> list[InlineKeyboardButton]:
        row = [button(_("« Back"), self.nav(action="back"))] if back else []
        if self.cancel_button is not None:
            return [*row, self.cancel_button()]
        return [*row, button(_("Cancel"), self.nav(action="cancel"))]

    def nav_markup(self, back: bool = True) -> InlineKeyboardMarkup:
        return markup([self.nav_buttons(back)])

    async def current(
        self, state: FSMContext, same: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """The dialog's data while it goes on and holds `same` (the deal a button names);
        None when it is over, or another one (of another deal) goes on."""
        if not await self.active(state):
            return None
        data = await state.get_data()
        if same and any(data.get(key) != value for key, value in same.items()):
            return None
        return data

    async def leave(
        self, state: FSMContext, same: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Forget the dialog if it goes on (and holds `same`); the data it had, else None."""
        data = await self.current(state, same)
        if data is not None:
            await state.clear()
        return data

    async def pressed(
        self,
        callback: CallbackQuery,
        action: str,
        state: FSMContext,
        *,
        same: Mapping[str, Any] | None = None,
        home: Home | None = None,
    ) -> dict[str, Any] | None:
        """The dialog's data for a press of one of its buttons; None when the press is
        answered here already (Cancel, or a button of a dialog that is over).

        `same`: what the press names that the dialog's data must hold (else it is over).
        `home(data)`: shows what the dialog was started from (its card), where Cancel
        returns; without it Cancel says that nothing was saved."""
        if action == "cancel" and home is None:
            await cancel(callback, state)
            return None
        data = await self.current(state, same)
        if data is None:
            await over(callback, self.restart)
            return None
        if action == "cancel" and home is not None:
            await state.clear()
            await home(data)
            await callback.answer(cancel_text())
            return None
        return data


def offer(data: dict[str, Any], hits: Sequence[Hit], pick: Callable[[str], CallbackData]) -> Rows:
    """Buttons of the search hits a step offers (a company to choose, say); the data keeps
    which were offered, so that `take` refuses a crafted id."""
    data["choices"] = {str(hit.entity_id): hit.title for hit in hits}
    return [[button(short(hit.title, 60), pick(str(hit.entity_id)))] for hit in hits]


def take(data: dict[str, Any], value: str, entity: str) -> str:
    """The title of the offered choice `value` (forgotten by the data); AccessDenied for
    one that was not offered."""
    choices = data.pop("choices", {})
    if value not in choices:
        raise AccessDenied(entity)
    return str(choices[value])


def when_examples() -> str:
    return _("For example: tomorrow 15:00, in 2 hours, on Friday, 25.12 10:00, next monday 9am.")


async def read_when(
    message: Message,
    actor: Actor,
    again: Callable[[InvalidInput, str], tuple[str, InlineKeyboardMarkup]],
    typed: str | None = None,
) -> datetime | None:
    """The moment written in `message` (or `typed`), in the reader's timezone; None when it
    cannot be taken as written: then the question has been asked again (`again`)."""
    text = (message.text or "") if typed is None else typed
    try:
        return when.parse_when(text, actor.timezone, utcnow())
    except InvalidInput as err:
        reply, keyboard = again(err, text)
        await message.answer(reply, reply_markup=keyboard)
        return None


def ask_when_again(
    actor: Actor,
    err: InvalidInput,
    typed: str,
    *,
    pick: Callable[[datetime], CallbackData],
    rows: Rows,
    choice_rows: Rows | None = None,
    question: str = "",
    after_past: str = "",
    examples: str | None = None,
    label: Callable[[Actor, datetime], str] = moment,
) -> tuple[str, InlineKeyboardMarkup]:
    """The polite question back for a time that cannot be taken as written (crm.when's
    "unparsed", "past" or "ambiguous"): nothing is guessed, nothing is written.

    An ambiguous time offers its readings as buttons (`pick(moment)`, labelled by `label`)
    above `choice_rows`; else the problem is said, then `question` on its own line if the
    dialog repeats it, then `examples`, above `rows`. `after_past` finishes the sentence
    "… has already passed." ("When should I remind you?").
    """
    quoted = h(short(typed, 100))
    options: list[datetime] = list(err.params.get("options") or [])
    if err.reason == "ambiguous" and options:
        choices: Rows = [[button(label(actor, option), pick(option))] for option in options]
        text = _("“{text}” can mean more than one time. Which one?").format(text=quoted)
        return text, markup(choices + (rows if choice_rows is None else choice_rows))
    if err.reason == "ambiguous":
        problem = _(
            "“{text}” can mean more than one time: write it more exactly, e.g. 17:00."
        ).format(text=quoted)
    elif err.reason == "past":
        at = err.params.get("at")
        problem = (
            _("{time} has already passed.").format(time=label(actor, at))
            if isinstance(at, datetime)
            else _("This time has already passed.")
        )
        if after_past:
            problem += " " + after_past
        if options:  # a day without a year that went by: the same day next year
            rows = [[button(label(actor, option), pick(option))] for option in options] + rows
    elif err.reason == "bad_clock":
        problem = _(
            "There is no {time} on a clock: hours go from 0 to 23 and minutes from 0 to 59."
        ).format(time=h(str(err.params.get("time", ""))))
    else:
        problem = _("I could not understand “{text}” as a date and time.").format(text=quoted)
    lines = [problem, question] if question else [problem]
    lines.append(when_examples() if examples is None else examples)
    return "\n".join(lines), markup(rows)
