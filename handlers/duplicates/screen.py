"""/duplicates for heads (their department) and directors (everyone): one candidate pair
at a time with its evidence; Merge (which record stays, and for each conflicting field
which value), Undo right after, "Not a duplicate"."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.services.duplicates import marks, merge, scan
from crm.uow import UnitOfWork
from handlers.duplicates.callbacks import KINDS, DupCb
from handlers.errors import field_name
from handlers.ui import button, h, markup, short, show
from handlers.words import DUPLICATE_REASONS

KIND_TITLES = {"co": "🏢", "ct": "👤"}


def _value(value: object) -> str:
    return short(str(value), 30) if value not in (None, "") else "—"


async def pair_screen(
    event: Message | CallbackQuery, uow: UnitOfWork, actor: Actor, code: str, place: int
) -> None:
    kind = KINDS[code]
    pairs = await scan.scan(uow, actor, kind)
    switch = [
        button(_("🏢 Companies"), DupCb(action="list", k="co")),
        button(_("👤 Contacts"), DupCb(action="list", k="ct")),
    ]
    if not pairs:
        text = (
            _("No candidate duplicates among the companies.")
            if code == "co"
            else _("No candidate duplicates among the contacts.")
        )
        await show(event, text, markup([switch]))
        return
    place = min(max(place, 0), len(pairs) - 1)
    pair = pairs[place]
    names = await scan.titles(uow, actor, kind, [pair.first_id, pair.second_id])
    first, second = names.get(pair.first_id, "?"), names.get(pair.second_id, "?")
    reasons = ", ".join(_(DUPLICATE_REASONS[r]) for r in sorted(pair.reasons))
    title = _("Companies") if code == "co" else _("Contacts")
    text = "\n".join(
        [
            _("<b>{title}: candidate duplicates {place} of {total}</b>").format(
                title=title, place=place + 1, total=len(pairs)
            ),
            f"1. {h(first)} (#{pair.first_id})",
            f"2. {h(second)} (#{pair.second_id})",
            _("Evidence: {reasons}.").format(reasons=reasons),
        ]
    )
    a, b = pair.first_id, pair.second_id
    rows: list[list[InlineKeyboardButton]] = [
        [button(_("Keep 1, merge 2 into it"), DupCb(action="merge", k=code, a=a, b=b))],
        [button(_("Keep 2, merge 1 into it"), DupCb(action="merge", k=code, a=b, b=a))],
        [button(_("🚫 Not a duplicate"), DupCb(action="not", k=code, a=a, b=b, n=place))],
    ]
    nav = []
    if place > 0:
        nav.append(button("◀", DupCb(action="list", k=code, n=place - 1)))
    if place + 1 < len(pairs):
        nav.append(button("▶", DupCb(action="list", k=code, n=place + 1)))
    if nav:
        rows.append(nav)
    rows.append(switch)
    await show(event, text, markup(rows))


async def duplicates_command(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    await pair_screen(message, uow, actor, "co", 0)


async def merge_screen(callback: CallbackQuery, uow: UnitOfWork, actor: Actor, data: DupCb) -> None:
    kind = KINDS[data.k]
    seen = await merge.preview(uow, actor, kind, data.a, data.b)
    lines = [
        _(
            "<b>Merge</b> «{loser}» into «{survivor}»: its linked records move to «{survivor}», "
            "and it can be undone for 30 days."
        ).format(loser=h(seen.loser.name), survivor=h(seen.survivor.name))
    ]
    rows: list[list[InlineKeyboardButton]] = []
    if seen.conflicts:
        lines.append(_("For each field, press to choose the value kept:"))
    for i, name in enumerate(seen.conflicts):
        theirs = bool(data.n & (1 << i))
        value = getattr(seen.loser if theirs else seen.survivor, name)
        label = f"{field_name(name)}: {_value(value)}"
        rows.append(
            [
                button(
                    label, DupCb(action="toggle", k=data.k, a=data.a, b=data.b, n=data.n ^ (1 << i))
                )
            ]
        )
    rows.append([button(_("✅ Merge"), DupCb(action="do", k=data.k, a=data.a, b=data.b, n=data.n))])
    rows.append([button(_("◀ Back"), DupCb(action="list", k=data.k))])
    await show(callback, "\n".join(lines), markup(rows))


async def pressed(
    callback: CallbackQuery, callback_data: DupCb, uow: UnitOfWork, actor: Actor
) -> None:
    data = callback_data
    if data.k not in KINDS:
        await callback.answer()
        return
    kind = KINDS[data.k]
    if data.action == "list":
        await pair_screen(callback, uow, actor, data.k, data.n)
    elif data.action in ("merge", "toggle"):
        await merge_screen(callback, uow, actor, data)
    elif data.action == "do":
        seen = await merge.preview(uow, actor, kind, data.a, data.b)
        take = {f for i, f in enumerate(seen.conflicts) if data.n & (1 << i)}
        done = await merge.merge(uow, actor, kind, data.a, data.b, take)
        text = _(
            "Merged: «{loser}» is now part of «{survivor}» ({moved} linked rows moved)."
        ).format(loser=h(seen.loser.name), survivor=h(seen.survivor.name), moved=done.moved)
        await show(
            callback,
            text,
            markup(
                [
                    [button(_("↩ Undo"), DupCb(action="undo", k=data.k, n=done.log_id))],
                    [button(_("▶ Next pair"), DupCb(action="list", k=data.k))],
                ]
            ),
        )
    elif data.action == "undo":
        await merge.undo(uow, actor, data.n)
        text = _("Merge undone: both records are back as they were.")
        await show(
            callback,
            text,
            markup([[button(_("▶ Next pair"), DupCb(action="list", k=data.k))]]),
        )
    elif data.action == "not":
        await marks.mark_not_duplicate(uow, actor, kind, data.a, data.b)
        await callback.answer(_("Marked: this pair will not be proposed again."))
        await pair_screen(callback, uow, actor, data.k, data.n)
        return
    await callback.answer()


def setup() -> Router:
    router = Router(name="duplicates.screen")
    router.message.register(duplicates_command, Command("duplicates"))
    router.callback_query.register(
        pressed, DupCb.filter(F.action.in_({"list", "merge", "toggle", "do", "undo", "not"}))
    )
    return router
