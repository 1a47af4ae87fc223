"""/find and the cards it opens (company, contact, deal), with their action buttons.

Other areas put buttons on cards without touching this module: append a function
`(actor, card) -> rows` to CARD_ROWS[COMPANY | CONTACT | DEAL] (deal stage buttons,
a Remind button). `card_view()` renders any card; `render_deal_card()` takes extra rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.i18n import N_
from crm.access import Actor
from crm.models import Interaction
from crm.models.enums import ApprovalStatus, SearchKind
from crm.search import Hit
from crm.services import cards, companies, contacts
from crm.services.cards import CompanyCard, ContactCard, DealCard
from crm.uow import UnitOfWork
from handlers.ui import PAGE, NewDealCb, button, cancel_text, h, markup, pager_row, short, show
from handlers.words import (
    COMPANY_STAGES,
    DEAL_STATES,
    DIRECTIONS,
    INTERACTION_ICONS,
    INTERACTION_KINDS,
    approval_note,
    deal_stage,
    label,
    local_time,
    money,
    number,
)

router = Router(name="find")

COMPANY, CONTACT, DEAL = "co", "ct", "dl"
KIND_OF_HIT = {SearchKind.COMPANY: COMPANY, SearchKind.CONTACT: CONTACT, SearchKind.DEAL: DEAL}
ICONS = {COMPANY: "🏢", CONTACT: "👤", DEAL: "💼"}
QUERY_MIN = 2
QUERY_MAX = 100
RESULTS = 10

COMPANY_FIELDS = {
    "name": N_("Name"),
    "industry": N_("Industry"),
    "territory": N_("Territory"),
    "inn": N_("Tax id (INN)"),
    "notes": N_("Notes"),
}
CONTACT_FIELDS = {
    "name": N_("Name"),
    "phone": N_("Phone"),
    "email": N_("Email"),
    "position": N_("Position"),
    "tg_username": N_("Telegram username"),
    "company_name": N_("Company"),
    "notes": N_("Notes"),
}
CLEAR = "-"

Rows = list[list[InlineKeyboardButton]]
CardRows = Callable[[Actor, Any], Rows]
CARD_ROWS: dict[str, list[CardRows]] = {COMPANY: [], CONTACT: [], DEAL: []}


class CardCb(CallbackData, prefix="card"):
    kind: str  # co | ct | dl
    id: int


class CardBackCb(CallbackData, prefix="cardb"):
    """Back to a card from a list shown in its place (the card's message is edited)."""

    kind: str
    id: int


class HistoryCb(CallbackData, prefix="hist"):
    kind: str
    id: int
    offset: int = 0


class LogCb(CallbackData, prefix="logw"):
    """Log interaction on a card: handlers/interactions.py starts the dialog at its kind step."""

    kind: str
    id: int


class ContactsCb(CallbackData, prefix="ctl"):
    company_id: int
    offset: int = 0


class EditCb(CallbackData, prefix="edit"):
    kind: str
    id: int
    field: str = ""  # "" shows the menu of fields


class StageCb(CallbackData, prefix="cstg"):
    company_id: int
    stage: str = ""  # "" shows the stages


class CancelCb(CallbackData, prefix="x"):
    """Cancel in any dialog of the client side: the state is cleared, nothing saved."""

    where: str = ""


class FindForm(StatesGroup):
    query = State()


class EditForm(StatesGroup):
    value = State()


def cancel_button() -> InlineKeyboardButton:
    return button(_("✖ Cancel"), CancelCb())


def interaction_line(actor: Actor, item: Interaction, width: int = 120) -> str:
    head = "{at} {icon} {kind}, {direction}".format(
        at=local_time(actor, item.occurred_at),
        icon=INTERACTION_ICONS.get(item.kind, "•"),
        kind=label(INTERACTION_KINDS, item.kind),
        direction=_(DIRECTIONS[item.direction]) if item.direction in DIRECTIONS else "",
    )
    if item.status == "planned":
        head += " " + _("(planned)")
    summary = short(item.summary, width)
    return f"{head} — {h(summary)}" if summary else head


def _interactions(actor: Actor, items: list[Interaction]) -> list[str]:
    if not items:
        return [_("No interactions yet.")]
    return [_("<b>Last interactions</b>")] + [" • " + interaction_line(actor, i, 80) for i in items]


def _extra(kind: str, actor: Actor, card: object) -> Rows:
    return [row for hook in CARD_ROWS[kind] for row in hook(actor, card)]


def render_company_card(actor: Actor, card: CompanyCard) -> tuple[str, InlineKeyboardMarkup]:
    c = card.company
    lines = [
        f"🏢 <b>{h(c.name)}</b>",
        _("Curator: {name}").format(name=h(card.curator_name)),
        _("Stage: {stage}").format(stage=label(COMPANY_STAGES, c.stage)),
    ]
    if c.industry:
        lines.append(_("Industry: {value}").format(value=h(c.industry)))
    if c.territory:
        lines.append(_("Territory: {value}").format(value=h(c.territory)))
    if c.inn:
        lines.append(_("Tax id (INN): {value}").format(value=h(c.inn)))
    if card.parent_name:
        lines.append(_("Parent company: {name}").format(name=h(card.parent_name)))
    lines.append("")
    names = ", ".join(h(x.name) for x in card.contacts)
    more = "…" if card.contacts_total > len(card.contacts) else ""
    lines.append(
        _("Contacts ({count}): {names}").format(count=card.contacts_total, names=names + more)
        if card.contacts_total
        else _("No contacts yet.")
    )
    if card.open_deals_total:
        lines.append(
            _("Open deals: {count} for {amount}").format(
                count=card.open_deals_total, amount=money(card.open_deals_amount)
            )
        )
        for deal in card.open_deals:
            stage = label(DEAL_STATES, deal.stage)
            lines.append(f" • {h(deal.title)} — {money(deal.amount)}, {stage}")
    else:
        lines.append(_("No open deals."))
    lines.append("")
    lines += _interactions(actor, card.last_interactions)
    if card.open_claims:
        lines += ["", _("<b>Open claims</b>")]
        for claim in card.open_claims:
            due = _("due {date}").format(date=local_time(actor, claim.due_at))
            lines.append(f" • {h(short(claim.text, 80))} ({due})")
    rows: Rows = [
        [
            button(_("✍ Log interaction"), LogCb(kind=COMPANY, id=c.id)),
            button(_("💼 New deal"), NewDealCb(company_id=c.id)),
        ],
        [
            button(
                _("👤 Contacts ({count})").format(count=card.contacts_total),
                ContactsCb(company_id=c.id),
            ),
            button(_("🕘 History"), HistoryCb(kind=COMPANY, id=c.id)),
        ],
        [button(_("✏ Edit"), EditCb(kind=COMPANY, id=c.id))],
        *_extra(COMPANY, actor, card),
    ]
    return "\n".join(lines), markup(rows)


def render_contact_card(actor: Actor, card: ContactCard) -> tuple[str, InlineKeyboardMarkup]:
    c = card.contact
    lines = [f"👤 <b>{h(c.name)}</b>"]
    if card.company_name:
        lines.append(_("Company: {name}").format(name=h(card.company_name)))
    for template, value in (
        (_("Position: {value}"), c.position),
        (_("Phone: {value}"), c.phone),
        (_("Email: {value}"), c.email),
        (_("Telegram: {value}"), f"@{c.tg_username}" if c.tg_username else None),
    ):
        if value:
            lines.append(template.format(value=h(value)))
    lines.append(_("Curator: {name}").format(name=h(card.curator_name)))
    lines.append("")
    lines += _interactions(actor, card.last_interactions)
    if card.open_deals:
        lines += ["", _("<b>Open deals</b>")]
        for deal in card.open_deals:
            stage = label(DEAL_STATES, deal.stage)
            lines.append(f" • {h(deal.title)} — {money(deal.amount)}, {stage}")
    rows: Rows = [
        [
            button(_("✍ Log interaction"), LogCb(kind=CONTACT, id=c.id)),
            button(_("🕘 History"), HistoryCb(kind=CONTACT, id=c.id)),
        ],
        [button(_("✏ Edit"), EditCb(kind=CONTACT, id=c.id))],
    ]
    if c.company_id is not None:
        rows[1].append(button(_("🏢 Company"), CardCb(kind=COMPANY, id=c.company_id)))
    rows += _extra(CONTACT, actor, card)
    return "\n".join(lines), markup(rows)


def render_deal_card(
    actor: Actor, card: DealCard, extra_rows: Rows | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    """The deal card; handlers/deals.py passes its stage/win/lose buttons as extra_rows."""
    d = card.deal
    lines = [
        f"💼 <b>{h(d.title)}</b>",
        _("Company: {name}").format(name=h(d.company.name)),
    ]
    if card.contact_name:
        lines.append(_("Contact: {name}").format(name=h(card.contact_name)))
    lines += [
        _("Stage: {stage}").format(stage=deal_stage(d.stage)),
        _("Amount: {amount}").format(amount=money(d.amount)),
        _("Probability: {value}%").format(value=d.probability),
    ]
    if d.expected_close:
        lines.append(_("Expected close: {date}").format(date=d.expected_close.strftime("%d.%m.%Y")))
    if d.lost_reason:
        lines.append(_("Reason lost: {text}").format(text=h(d.lost_reason)))
    lines.append(_("Curator: {name}").format(name=h(card.curator_name)))
    if card.lines:
        lines += ["", _("<b>Products</b>")]
        for line in card.lines:
            text = f" • {h(line.product.name)} × {number(line.quantity)} — {money(line.total)}"
            if line.discount_pct:
                text += " " + _("(discount {pct}%)").format(pct=number(line.discount_pct))
            if line.approval == ApprovalStatus.PENDING:
                text += approval_note(line.approval)
            lines.append(text)
    if card.history:
        lines += ["", _("<b>Stage changes</b>")]
        for change in card.history:
            after = deal_stage(change.to_stage)
            arrow = f"{deal_stage(change.from_stage)} → {after}" if change.from_stage else after
            lines.append(f" • {local_time(actor, change.changed_at)} {arrow}")
    rows: Rows = [
        [
            button(_("🏢 Company"), CardCb(kind=COMPANY, id=d.company_id)),
            button(_("🕘 History"), HistoryCb(kind=DEAL, id=d.id)),
        ],
        *(extra_rows or []),
        *_extra(DEAL, actor, card),
    ]
    return "\n".join(lines), markup(rows)


async def card_view(
    uow: UnitOfWork, actor: Actor, kind: str, entity_id: int
) -> tuple[str, InlineKeyboardMarkup]:
    """Any card by its kind (co | ct | dl), access checked by the crm service."""
    if kind == COMPANY:
        return render_company_card(actor, await cards.company_card(uow, actor, entity_id))
    if kind == CONTACT:
        return render_contact_card(actor, await cards.contact_card(uow, actor, entity_id))
    if kind == DEAL:
        return render_deal_card(actor, await cards.deal_card(uow, actor, entity_id))
    raise ValueError(kind)


def hit_button(hit: Hit, data: CallbackData | None = None) -> list[InlineKeyboardButton]:
    kind = KIND_OF_HIT[hit.kind]
    text = f"{ICONS[kind]} {short(hit.title, 60)}"
    return [button(text, data or CardCb(kind=kind, id=hit.entity_id))]


# --- /find ----------------------------------------------------------------------------------


async def answer_search(message: Message, uow: UnitOfWork, actor: Actor, query: str) -> None:
    query = " ".join(query.split())
    if len(query) < QUERY_MIN:
        await message.answer(
            _("Send at least {n} characters: /find Romashka, /find Ivanov, /find +7912…").format(
                n=QUERY_MIN
            ),
            reply_markup=markup([[cancel_button()]]) if not query else None,
        )
        return
    if len(query) > QUERY_MAX:
        await message.answer(
            _("The query is too long (at most {n} characters).").format(n=QUERY_MAX)
        )
        return
    hits = await cards.find(uow, actor, query, limit=RESULTS)
    if not hits:
        await message.answer(
            _("Nothing found for “{query}”. Try a part of the name, a phone or an email.").format(
                query=h(query)
            )
        )
        return
    await message.answer(
        _("Found for “{query}”:").format(query=h(query)),
        reply_markup=markup([hit_button(hit) for hit in hits]),
    )


@router.message(Command("find"))
async def find(
    message: Message, command: CommandObject, uow: UnitOfWork, actor: Actor, state: FSMContext
) -> None:
    await state.clear()
    if command.args and command.args.strip():
        await answer_search(message, uow, actor, command.args)
        return
    await state.set_state(FindForm.query)
    await message.answer(
        _("What are you looking for? Send a part of a name, a phone or an email."),
        reply_markup=markup([[cancel_button()]]),
    )


@router.message(FindForm.query, F.text, ~F.text.startswith("/"))
async def typed_query(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    await state.clear()
    await answer_search(message, uow, actor, message.text or "")


# --- cards and their buttons ---------------------------------------------------------------


@router.callback_query(CardCb.filter())
async def open_card(
    callback: CallbackQuery, callback_data: CardCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, keyboard = await card_view(uow, actor, callback_data.kind, callback_data.id)
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=keyboard)
    await callback.answer()


@router.callback_query(ContactsCb.filter())
async def company_contacts(
    callback: CallbackQuery, callback_data: ContactsCb, uow: UnitOfWork, actor: Actor
) -> None:
    company_id, offset = callback_data.company_id, max(0, callback_data.offset)
    rows, total = await contacts.list_for_company(uow, actor, company_id, offset, PAGE)
    lines = [_("<b>Contacts</b> ({count})").format(count=total)]
    if not rows:
        lines.append(_("No contacts yet."))
    keyboard: Rows = [
        [
            button(
                f"👤 {short(c.name, 40)}" + (f", {short(c.position, 20)}" if c.position else ""),
                CardCb(kind=CONTACT, id=c.id),
            )
        ]
        for c in rows
    ]
    keyboard.append(pager_row(ContactsCb, offset, total, company_id=company_id))
    keyboard.append([button(_("« Back to the card"), CardBackCb(kind=COMPANY, id=company_id))])
    await show(callback, "\n".join(lines), markup(keyboard))
    await callback.answer()


@router.callback_query(CardBackCb.filter())
async def back_to_card(
    callback: CallbackQuery, callback_data: CardBackCb, uow: UnitOfWork, actor: Actor
) -> None:
    text, keyboard = await card_view(uow, actor, callback_data.kind, callback_data.id)
    await show(callback, text, keyboard)
    await callback.answer()


def _fields(kind: str) -> dict[str, str]:
    return COMPANY_FIELDS if kind == COMPANY else CONTACT_FIELDS


async def _current(uow: UnitOfWork, actor: Actor, kind: str, entity_id: int) -> Any:
    """The record itself, read through its card (so access is checked by the service)."""
    if kind == COMPANY:
        return (await cards.company_card(uow, actor, entity_id)).company
    return (await cards.contact_card(uow, actor, entity_id)).contact


@router.callback_query(EditCb.filter(F.field == ""))
async def edit_menu(
    callback: CallbackQuery, callback_data: EditCb, uow: UnitOfWork, actor: Actor
) -> None:
    kind, entity_id = callback_data.kind, callback_data.id
    if kind not in (COMPANY, CONTACT):
        raise ValueError(kind)
    record = await _current(uow, actor, kind, entity_id)
    fields = [
        button(_(title), EditCb(kind=kind, id=entity_id, field=name))
        for name, title in _fields(kind).items()
    ]
    rows: Rows = [fields[i : i + 3] for i in range(0, len(fields), 3)]
    if kind == COMPANY:
        rows.append([button(_("Stage"), StageCb(company_id=entity_id))])
    rows.append([cancel_button()])
    if isinstance(callback.message, Message):
        await callback.message.answer(
            _("What to change in {name}?").format(name=f"<b>{h(record.name)}</b>"),
            reply_markup=markup(rows),
        )
    await callback.answer()


@router.callback_query(EditCb.filter(F.field != ""))
async def edit_field(
    callback: CallbackQuery,
    callback_data: EditCb,
    uow: UnitOfWork,
    actor: Actor,
    state: FSMContext,
) -> None:
    kind, entity_id, field = callback_data.kind, callback_data.id, callback_data.field
    if kind not in (COMPANY, CONTACT) or field not in _fields(kind):
        raise ValueError(field)
    record = await _current(uow, actor, kind, entity_id)
    value = record.company.name if field == "company_name" and record.company else None
    current = value if field == "company_name" else getattr(record, field)
    await state.set_state(EditForm.value)
    await state.set_data({"kind": kind, "id": entity_id, "field": field})
    text = _("Send the new value of “{field}”.").format(field=_(_fields(kind)[field]))
    if current:
        text += "\n" + _("Now: {value}").format(value=h(current))
    if field != "name":
        text += "\n" + _("Send “-” to clear it.")
    await show(callback, text, markup([[cancel_button()]]))
    await callback.answer()


@router.message(EditForm.value, F.text, ~F.text.startswith("/"))
async def typed_value(message: Message, uow: UnitOfWork, actor: Actor, state: FSMContext) -> None:
    data = await state.get_data()
    kind, entity_id, field = data["kind"], int(data["id"]), data["field"]
    text = (message.text or "").strip()
    value = None if text == CLEAR else text
    if kind == COMPANY:
        await companies.update(uow, actor, entity_id, **{field: value})
    else:
        await contacts.update(uow, actor, entity_id, **{field: value})
    await state.clear()
    card_text, keyboard = await card_view(uow, actor, kind, entity_id)
    await message.answer(_("Saved.") + "\n\n" + card_text, reply_markup=keyboard)


@router.callback_query(StageCb.filter(F.stage == ""))
async def stage_menu(
    callback: CallbackQuery, callback_data: StageCb, uow: UnitOfWork, actor: Actor
) -> None:
    company = await _current(uow, actor, COMPANY, callback_data.company_id)
    rows: Rows = [
        [button(_(name), StageCb(company_id=company.id, stage=stage))]
        for stage, name in COMPANY_STAGES.items()
    ]
    rows.append([cancel_button()])
    await show(
        callback,
        _("Stage of {name}: now {stage}.").format(
            name=f"<b>{h(company.name)}</b>", stage=label(COMPANY_STAGES, company.stage)
        ),
        markup(rows),
    )
    await callback.answer()


@router.callback_query(StageCb.filter(F.stage != ""))
async def set_stage(
    callback: CallbackQuery, callback_data: StageCb, uow: UnitOfWork, actor: Actor
) -> None:
    await companies.update(uow, actor, callback_data.company_id, stage=callback_data.stage)
    text, keyboard = await card_view(uow, actor, COMPANY, callback_data.company_id)
    await show(callback, _("Saved.") + "\n\n" + text, keyboard)
    await callback.answer()


@router.callback_query(CancelCb.filter())
async def cancel(callback: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await show(callback, cancel_text())
    await callback.answer()
