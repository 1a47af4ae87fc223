"""/today: overdue and due tasks, planned interactions, deals past their expected close,
the overdue payments of the curator's clients (worst first), clients waiting for an answer
in Telegram Business chats (⏳ past the reply time).

Each planned interaction has buttons: ✅ Done, 🗓 Move (handlers/tasks/move.py) and the
card of its company, contact or deal.
"""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.errors import Conflict
from crm.models import Interaction
from crm.services import interactions, payments, tasks
from crm.services.business import waiting
from crm.services.business.waiting import Waiting
from crm.services.payments import Overdue
from crm.services.tasks import Agenda, InteractionLine, TaskLine
from crm.uow import UnitOfWork
from handlers.cards.callbacks import COMPANY, CONTACT, DEAL, CardCb
from handlers.cards.view import CardView
from handlers.tasks.callbacks import PlannedCb, TaskCb
from handlers.ui import button, h, markup, short, show
from handlers.words import INTERACTION_ICONS, day, local_time, money

TODAY_SHOWN = 8  # per section of /today; the totals say how many there are in all
# --- /today ---------------------------------------------------------------------------------


def task_line(actor: Actor, line: TaskLine, with_date: bool) -> str:
    text = f"{local_time(actor, line.task.due_at, with_date)} {h(short(line.task.title, 80))}"
    where = line.deal_title or line.company_name
    if not where and line.event_title:
        where = "📅 " + line.event_title
    return text + (f" · {h(short(where, 40))}" if where else "")


def _planned_line(actor: Actor, line: InteractionLine) -> str:
    item = line.interaction
    icon = INTERACTION_ICONS.get(item.kind, "•")
    who = ", ".join(h(short(n, 40)) for n in (line.company_name, line.contact_name) if n)
    text = f"{local_time(actor, item.occurred_at, False)} {icon} {who}"
    return text + (f" — {h(short(item.summary, 60))}" if item.summary else "")


def _planned_row(number: int, interaction_id: int) -> list[InlineKeyboardButton]:
    return [
        button(
            _("✅ {number}. Done").format(number=number),
            PlannedCb(action="done", id=interaction_id),
        ),
        button(
            _("🗓 {number}. Move").format(number=number), PlannedCb(action="move", id=interaction_id)
        ),
        button(
            _("📇 {number}. Open card").format(number=number),
            PlannedCb(action="open", id=interaction_id),
        ),
    ]


def _more(shown: int, total: int) -> list[str]:
    return [_("… and {count} more").format(count=total - shown)] if total > shown else []


def _payments_section(
    actor: Actor, owed: Overdue, rows: list[list[InlineKeyboardButton]]
) -> list[str]:
    """The curator's overdue payments, worst first: a line and a card button each."""
    lines = [
        "",
        _("<b>Overdue payments ({count}) for {amount}</b>").format(
            count=owed.count, amount=money(owed.total)
        ),
    ]
    for item in owed.worst[:TODAY_SHOWN]:
        what = h(short(item.company_name, 40))
        if item.deal_title:
            what += f" — {h(short(item.deal_title, 40))}"
        lines.append(
            " • "
            + _("{what}: {amount}, due {date} ({days} days late)").format(
                what=what, amount=money(item.amount), date=day(item.due_on), days=item.days
            )
        )
        if item.deal_id is not None and item.deal_title is not None:
            target = button(f"💰 {short(item.deal_title, 50)}", CardCb(kind=DEAL, id=item.deal_id))
        else:
            target = button(
                f"🏢 {short(item.company_name, 50)}", CardCb(kind=COMPANY, id=item.company_id)
            )
        rows.append([target])
    return lines + _more(min(len(owed.worst), TODAY_SHOWN), owed.count)


def render_today(
    actor: Actor,
    agenda: Agenda,
    waiting_clients: Sequence[Waiting] = (),
    owed: Overdue | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    totals = {
        **agenda.totals,
        "waiting": len(waiting_clients),
        "payments": owed.count if owed is not None else 0,
    }
    lines = [_("<b>Today, {date}</b>").format(date=agenda.day.strftime("%d.%m.%Y"))]
    rows: list[list[InlineKeyboardButton]] = []

    def task_section(title: str, key: str, items: list[TaskLine], with_date: bool) -> None:
        if not totals.get(key):
            return
        shown = items[:TODAY_SHOWN]
        lines.extend(["", title.format(count=totals[key])])
        for number, line in enumerate(shown, len(rows) + 1):
            lines.append(f"{number}. {task_line(actor, line, with_date)}")
            rows.append(
                [
                    button(
                        f"✅ {number}. {short(line.task.title, 40)}",
                        TaskCb(action="done", task_id=line.task.id, view="d"),
                    )
                ]
            )
        lines.extend(_more(len(shown), totals[key]))

    task_section(_("<b>Overdue ({count})</b>"), "overdue", agenda.overdue, True)
    task_section(_("<b>Due today ({count})</b>"), "due_today", agenda.due_today, False)
    task_rows = len(rows)
    if totals.get("planned"):
        shown_planned = agenda.planned[:TODAY_SHOWN]
        lines.extend(
            ["", _("<b>Planned interactions ({count})</b>").format(count=totals["planned"])]
        )
        for number, planned in enumerate(shown_planned, len(rows) + 1):
            lines.append(f"{number}. {_planned_line(actor, planned)}")
            rows.append(_planned_row(number, planned.interaction.id))
        lines.extend(_more(len(shown_planned), totals["planned"]))
    if totals.get("stale_deals"):
        shown_deals = agenda.stale_deals[:TODAY_SHOWN]
        lines.extend(
            [
                "",
                _("<b>Deals past their expected close ({count})</b>").format(
                    count=totals["stale_deals"]
                ),
            ]
        )
        for deal in shown_deals:
            close = deal.expected_close.strftime("%d.%m.%Y") if deal.expected_close else "—"
            lines.append(
                " • "
                + _("{title} ({company}) — {amount}, expected {date}").format(
                    title=h(short(deal.title, 60)),
                    company=h(short(deal.company.name, 40)),
                    amount=money(deal.amount),
                    date=close,
                )
            )
            rows.append([button(f"💼 {short(deal.title, 50)}", CardCb(kind=DEAL, id=deal.id))])
        lines.extend(_more(len(shown_deals), totals["stale_deals"]))
    if owed is not None and owed.count:
        lines.extend(_payments_section(actor, owed, rows))
    if waiting_clients:
        shown_waiting = waiting_clients[:TODAY_SHOWN]
        lines.extend(
            [
                "",
                _("<b>Clients waiting for an answer ({count})</b>").format(count=totals["waiting"]),
            ]
        )
        for item in shown_waiting:
            line = _("{name} — since {at}").format(
                name=h(short(item.name, 40)), at=local_time(actor, item.since)
            )
            if item.manager_id != actor.id:
                line += f" · {h(short(item.manager_name, 30))}"
            lines.append(f" • {'⏳' if item.overdue else '💬'} {line}")
            rows.append(
                [button(f"👤 {short(item.name, 50)}", CardCb(kind=CONTACT, id=item.contact_id))]
            )
        lines.extend(_more(len(shown_waiting), totals["waiting"]))
    if not any(totals.values()):
        lines.extend(["", _("Nothing for today. Set a reminder with /remind.")])
    if totals.get("overdue", 0) + totals.get("due_today", 0) > task_rows:
        rows.append([button(_("All open tasks"), TaskCb(action="page"))])
    return "\n".join(lines), markup(rows)


async def today_view(uow: UnitOfWork, actor: Actor) -> tuple[str, InlineKeyboardMarkup | None]:
    """/today as shown: the agenda, and the clients waiting for an answer in the Telegram
    Business chats of the managers the actor may see."""
    agenda = await tasks.agenda(uow, actor)
    owed = await payments.curators_overdue(uow, actor, agenda.day, top=TODAY_SHOWN)
    return render_today(actor, agenda, await waiting.waiting_for(uow, actor), owed)


async def today(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    text, keyboard = await today_view(uow, actor)
    await message.answer(text, reply_markup=keyboard)


# --- the buttons of a planned interaction in /today ----------------------------------------


def not_planned_text() -> str:
    return _("This interaction is already done.")


def _interaction_title(item: Interaction) -> str:
    return short(item.summary, 100) if item.summary else INTERACTION_ICONS.get(item.kind, "•")


async def planned_done(
    callback: CallbackQuery, callback_data: PlannedCb, uow: UnitOfWork, actor: Actor
) -> None:
    try:
        item = await interactions.complete(uow, actor, callback_data.id)
    except Conflict:
        await callback.answer(not_planned_text(), show_alert=True)
        return
    text, keyboard = await today_view(uow, actor)
    await show(callback, text, keyboard)
    await callback.answer(_("Done: {title}").format(title=_interaction_title(item)))


async def planned_card(
    callback: CallbackQuery,
    callback_data: PlannedCb,
    uow: UnitOfWork,
    actor: Actor,
    card_view: CardView,
) -> None:
    item = await interactions.get(uow, actor, callback_data.id)
    if item.company_id:
        kind, record_id = COMPANY, item.company_id
    elif item.contact_id:
        kind, record_id = CONTACT, item.contact_id
    elif item.deal_id:
        kind, record_id = DEAL, item.deal_id
    else:  # every interaction names one of them; kept for safety
        await callback.answer(_("Not found, or you have no access to it."), show_alert=True)
        return
    text, keyboard = await card_view.open(uow, actor, kind, record_id)
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=keyboard)
    await callback.answer()


def what_of(item: Interaction) -> str:
    """🤝 and the summary (escaped), as the line of /today shows the interaction."""
    icon = INTERACTION_ICONS.get(item.kind, "•")
    return f"{icon} {h(short(item.summary, 80))}" if item.summary else icon


def setup() -> Router:
    router = Router(name="tasks.today")
    router.message.register(today, Command("today"))
    router.callback_query.register(planned_done, PlannedCb.filter(F.action == "done"))
    router.callback_query.register(planned_card, PlannedCb.filter(F.action == "open"))
    return router
