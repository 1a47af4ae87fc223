"""/invite, /team and /reassign: heads and directors manage their people from the chat.

The crm services check the role again: a manager's replayed button gets the refusal too.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from crm.access import Actor
from crm.errors import InvalidInput
from crm.models.enums import Role
from crm.services import people, reassign, team
from crm.uow import UnitOfWork
from handlers.ui import PAGE, cancel_text, h, pager_row, show, split_args
from handlers.words import local_time, money, role_name

# the role as people type it, in either language
ROLE_WORDS = {
    "manager": Role.MANAGER,
    "менеджер": Role.MANAGER,
    "head": Role.HEAD,
    "руководитель": Role.HEAD,
    "director": Role.DIRECTOR,
    "директор": Role.DIRECTOR,
}


class InviteCb(CallbackData, prefix="iv"):
    role: str


class TeamCb(CallbackData, prefix="tm"):
    offset: int


class ReassignCb(CallbackData, prefix="ra"):
    action: str  # from | to | ok | cancel
    from_id: int = 0
    to_id: int = 0
    offset: int = 0


def refusal() -> str:
    return _("Only heads of department and directors can do this.")


def is_leader(actor: Actor) -> bool:
    return actor.role in (Role.HEAD, Role.DIRECTOR)


def invitable(actor: Actor) -> list[Role]:
    if actor.role is Role.DIRECTOR:
        return [Role.MANAGER, Role.HEAD, Role.DIRECTOR]
    if actor.role is Role.HEAD:
        return [Role.MANAGER]
    return []


# --- /invite ------------------------------------------------------------------------------


async def invite_text(
    bot: Bot, uow: UnitOfWork, actor: Actor, role: str, department: str | None = None
) -> str:
    department_id = None
    if department:
        wanted = department.casefold()
        matches = [
            d for d in await people.list_departments(uow, actor) if d.name.casefold() == wanted
        ]
        if not matches:
            raise InvalidInput("department", "not_found")
        department_id = matches[0].id
    invite = await people.create_invite(
        uow, actor, ROLE_WORDS.get(role.strip().lower(), role), department_id
    )
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={invite.code}"
    return _(
        "An invite for a {role}. Send this link to your colleague: it works once, "
        "until {expires}.\n\n{link}"
    ).format(
        role=role_name(Role(invite.role)),
        expires=local_time(actor, invite.expires_at),
        link=h(link),
    )


async def invite(
    message: Message, command: CommandObject, bot: Bot, uow: UnitOfWork, actor: Actor
) -> None:
    if not is_leader(actor):
        await message.answer(refusal())
        return
    parts = split_args(command.args)
    wanted = ROLE_WORDS.get(parts[0].lower()) if parts else None
    if wanted is not None and wanted not in invitable(actor):
        names = ", ".join(role_name(role) for role in invitable(actor))
        await message.answer(_("You can invite: {roles}.").format(roles=names))
        return
    if parts and parts[0]:
        department = parts[1] if len(parts) > 1 and parts[1] else None
        await message.answer(await invite_text(bot, uow, actor, parts[0], department))
        return
    kb = InlineKeyboardBuilder()
    for role in invitable(actor):
        kb.button(text=role_name(role).capitalize(), callback_data=InviteCb(role=role.value))
    kb.adjust(1)
    await message.answer(_("Whom do you invite?"), reply_markup=kb.as_markup())


async def invite_button(
    callback: CallbackQuery, callback_data: InviteCb, bot: Bot, uow: UnitOfWork, actor: Actor
) -> None:
    text = await invite_text(bot, uow, actor, callback_data.role)  # the service checks the role
    await show(callback, text)
    await callback.answer()


# --- /team --------------------------------------------------------------------------------


async def team_page(uow: UnitOfWork, actor: Actor, offset: int) -> tuple[str, InlineKeyboardMarkup]:
    members, total = await team.overview(uow, actor, offset=offset, limit=PAGE)
    title = _("<b>All staff: {count}</b>") if actor.is_director else _("<b>Your team: {count}</b>")
    lines = [title.format(count=total)]
    for member in members:
        line = _(
            "{name} ({role}) — open deals: {deals} for {amount}; overdue tasks: {overdue}"
        ).format(
            name=h(member.name),
            role=role_name(member.role),
            deals=member.open_deals,
            amount=money(member.open_amount),
            overdue=member.overdue_tasks,
        )
        if member.bot_blocked:
            line += "\n" + (
                _("⛔ blocked the bot on {date}: gets no messages").format(
                    date=local_time(actor, member.bot_blocked_at)
                )
                if member.bot_blocked_at
                else _("⛔ blocked the bot: gets no messages")
            )
        lines.append(line)
    rows = [pager_row(TeamCb, offset, total)]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


async def show_team(message: Message, uow: UnitOfWork, actor: Actor) -> None:
    if not is_leader(actor):
        await message.answer(refusal())
        return
    text, markup = await team_page(uow, actor, 0)
    await message.answer(text, reply_markup=markup)


async def page_team(
    callback: CallbackQuery, callback_data: TeamCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, markup = await team_page(uow, actor, max(0, callback_data.offset))
    await show(callback, text, markup)
    await callback.answer()


# --- /reassign ----------------------------------------------------------------------------


def counts_text(moved: reassign.Handover | reassign.Reassigned) -> str:
    return _(
        "Companies: {companies}, contacts: {contacts}, open deals: {deals}, open tasks: {tasks}."
    ).format(
        companies=moved.companies, contacts=moved.contacts, deals=moved.deals, tasks=moved.tasks
    )


def reassigned_text(from_name: str, to_name: str, moved: reassign.Reassigned) -> str:
    done = _("Done: the clients of {old} now belong to {new}.").format(
        old=h(from_name), new=h(to_name)
    )
    return done + "\n" + counts_text(moved)


async def choose_member(
    uow: UnitOfWork, actor: Actor, action: str, from_id: int = 0, offset: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    """A page of team members as buttons: whose clients (action "from"), or to whom ("to");
    each with the number of companies they curate."""
    members, total = await team.overview(uow, actor, offset=offset, limit=PAGE)
    clients = await reassign.clients_of(uow, actor, [member.id for member in members])
    kb = InlineKeyboardBuilder()
    for member in members:
        if member.id == from_id:
            continue
        data = (
            ReassignCb(action="to", from_id=member.id)
            if action == "from"
            else ReassignCb(action="confirm", from_id=from_id, to_id=member.id)
        )
        label = _("{name} · companies: {count}").format(
            name=member.name, count=clients.get(member.id, 0)
        )
        kb.row(InlineKeyboardButton(text=label, callback_data=data.pack()))
    pager = pager_row(ReassignCb, offset, total, action=action, from_id=from_id)
    if pager:
        kb.row(*pager)
    kb.row(InlineKeyboardButton(text=_("Cancel"), callback_data=ReassignCb(action="cancel").pack()))
    if action == "from":
        text = _("Whose clients do you hand over?")
    else:
        old = await team.member(uow, actor, from_id)
        text = _("To whom do the clients of {name} go?").format(name=h(old.name))
    return text, kb.as_markup()


async def confirmation(
    uow: UnitOfWork, actor: Actor, from_id: int, to_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    """ "Hand all clients of Anna to Boris?" with what would move, counted now."""
    old = await team.member(uow, actor, from_id)
    new = await team.member(uow, actor, to_id)
    moving = await reassign.handover(uow, actor, old.id, new.id)
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Hand over"), callback_data=ReassignCb(action="ok", from_id=old.id, to_id=new.id)
    )
    kb.button(text=_("Cancel"), callback_data=ReassignCb(action="cancel"))
    text = _("Hand all clients of {old} to {new}?").format(old=h(old.name), new=h(new.name))
    return text + "\n" + counts_text(moving), kb.as_markup()


async def start_reassign(
    message: Message, command: CommandObject, uow: UnitOfWork, actor: Actor
) -> None:
    if not is_leader(actor):
        await message.answer(refusal())
        return
    parts = [p for p in split_args(command.args) if p]
    if not parts:
        text, markup = await choose_member(uow, actor, "from")
        await message.answer(text, reply_markup=markup)
        return
    if len(parts) != 2:
        await message.answer(
            _("Write <code>/reassign from; to</code> (names or @usernames), or just /reassign.")
        )
        return
    old = await team.resolve_member(uow, actor, parts[0])
    new = await team.resolve_member(uow, actor, parts[1])
    text, markup = await confirmation(uow, actor, old.id, new.id)
    await message.answer(text, reply_markup=markup)


async def reassign_button(
    callback: CallbackQuery, callback_data: ReassignCb, uow: UnitOfWork, actor: Actor
) -> None:
    data = callback_data
    if data.action == "cancel":
        await show(callback, cancel_text())
    elif data.action in ("from", "to"):
        text, markup = await choose_member(uow, actor, data.action, data.from_id, data.offset)
        await show(callback, text, markup)
    elif data.action == "confirm":
        text, markup = await confirmation(uow, actor, data.from_id, data.to_id)
        await show(callback, text, markup)
    elif data.action == "ok":
        moved = await reassign.reassign_clients(uow, actor, data.from_id, data.to_id)
        old = await team.member(uow, actor, data.from_id)
        new = await team.member(uow, actor, data.to_id)
        await show(callback, reassigned_text(old.name, new.name, moved))
    await callback.answer()


def setup() -> Router:
    router = Router(name="team")
    router.message.register(invite, Command("invite"))
    router.callback_query.register(invite_button, InviteCb.filter())
    router.message.register(show_team, Command("team"))
    router.callback_query.register(page_team, TeamCb.filter())
    router.message.register(start_reassign, Command("reassign"))
    router.callback_query.register(reassign_button, ReassignCb.filter())
    return router
