"""The company, contact and deal cards as text and buttons, with the rows other areas add.

Areas contribute rows to a card (the deal's stage buttons, File a claim, Remind) as
functions `(actor, card) -> rows`, gathered in a `CardRows`; bot/app.py builds one
`CardView` with them in a declared order and hands it to handlers as `card_view`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from crm.access import Actor
from crm.errors import AccessDenied
from crm.models import Interaction, utcnow
from crm.models.enums import ApprovalStatus, DealStage
from crm.services import cards
from crm.services.cards import CompanyCard, ContactCard, DealCard
from crm.uow import UnitOfWork
from crm.when import to_local
from handlers.cards.callbacks import (
    COMPANY,
    CONTACT,
    DEAL,
    CardCb,
    ContactsCb,
    EditCb,
    HistoryCb,
    LogCb,
    NewDealCb,
)
from handlers.ui import button, h, markup, short
from handlers.words import (
    COMPANY_STAGES,
    DEAL_STATES,
    DIRECTIONS,
    INTERACTION_ICONS,
    INTERACTION_KINDS,
    N_,
    approval_note,
    day,
    deal_stage,
    label,
    local_time,
    money,
    number,
)

Rows = list[list[InlineKeyboardButton]]
Card = tuple[str, InlineKeyboardMarkup]
TERMS_QUIET = (ApprovalStatus.NOT_NEEDED.value,)
TERMS_NOTES: dict[str, str] = {
    ApprovalStatus.PENDING.value: N_("⏳ awaiting approval"),
    ApprovalStatus.REJECTED.value: N_("❗ rejected: set other terms"),
    ApprovalStatus.APPROVED.value: N_("✅ approved"),
}


@dataclass(frozen=True)
class CardRows:
    """Rows of buttons areas add under the cards, in the order they are shown."""

    company: tuple[Callable[[Actor, CompanyCard], Rows], ...] = ()
    contact: tuple[Callable[[Actor, ContactCard], Rows], ...] = ()
    deal: tuple[Callable[[Actor, DealCard], Rows], ...] = ()

    def __add__(self, other: CardRows) -> CardRows:
        return CardRows(
            self.company + other.company, self.contact + other.contact, self.deal + other.deal
        )


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


def _payment_lines(actor: Actor, card: DealCard) -> list[str]:
    """An open deal's terms when it has any (its own or its company's deferral, or a head's
    decision), a won deal's due or paid day."""
    d, sale = card.deal, card.sale
    if sale is not None:
        if sale.paid_on is not None:
            return [_("Paid: {date}").format(date=day(sale.paid_on))]
        if sale.due_on is None:
            return []
        due = _("Payment due: {date}").format(date=day(sale.due_on))
        if sale.due_on < to_local(utcnow(), actor.timezone).date():
            due += " " + _("⚠ overdue")
        return [due]
    if DealStage(d.stage).is_closed:
        return []
    company_days = d.company.payment_deferral_days or 0
    if d.deferral_days is None and not company_days and d.terms_approval in TERMS_QUIET:
        return []
    days = company_days if d.deferral_days is None else d.deferral_days
    text = _("Payment terms: {days} days").format(days=days)
    if d.deferral_days is None:
        text += " " + _("(the company's)")
    note = TERMS_NOTES.get(d.terms_approval)
    return [text + (" " + _(note) if note else "")]


class CardView:
    """Renders the cards; `open` reads one through the crm service (which checks access)."""

    def __init__(self, rows: CardRows | None = None) -> None:
        self.rows = rows or CardRows()

    async def open(self, uow: UnitOfWork, actor: Actor, kind: str, entity_id: int) -> Card:
        """Any card by its kind (co | ct | dl)."""
        if kind == COMPANY:
            return self.company(actor, await cards.company_card(uow, actor, entity_id))
        if kind == CONTACT:
            return self.contact(actor, await cards.contact_card(uow, actor, entity_id))
        if kind == DEAL:
            return self.deal(actor, await cards.deal_card(uow, actor, entity_id))
        raise AccessDenied(kind)  # a crafted kind: the same answer as a forged id

    def company(self, actor: Actor, card: CompanyCard) -> Card:
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
        family = card.family
        if family.subsidiaries_total:
            more = "…" if family.subsidiaries_total > len(family.subsidiaries) else ""
            lines.append(
                _("Subsidiaries ({count}): {names}").format(
                    count=family.subsidiaries_total,
                    names=", ".join(h(x.name) for x in family.subsidiaries) + more,
                )
            )
        if card.overdue:
            lines.append(_("⚠ Overdue payments: {amount}").format(amount=money(card.overdue)))
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
        # the open claims are listed once, as the buttons that open them (claims/card.py)
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
        ]
        rows += [row for add in self.rows.company for row in add(actor, card)]
        return "\n".join(lines), markup(rows)

    def contact(self, actor: Actor, card: ContactCard) -> Card:
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
        if c.company_id is not None and card.company_name is not None:
            rows[1].append(button(_("🏢 Company"), CardCb(kind=COMPANY, id=c.company_id)))
        rows += [row for add in self.rows.contact for row in add(actor, card)]
        return "\n".join(lines), markup(rows)

    def deal(self, actor: Actor, card: DealCard) -> Card:
        d = card.deal
        lines = [
            f"💼 <b>{h(d.title)}</b>",
            _("Company: {name}").format(name=h(d.company.name)),
        ]
        if card.contact_name:
            lines.append(_("Contact: {name}").format(name=h(card.contact_name)))
        lines += [
            _("Stage: {stage}").format(stage=deal_stage(d.stage)),
            (
                _("Amount: {amount} (the products' total)") if card.lines else _("Amount: {amount}")
            ).format(amount=money(d.amount)),
            _("Probability: {value}%").format(value=d.probability),
        ]
        lines += _payment_lines(actor, card)
        if d.expected_close:
            lines.append(_("Expected close: {date}").format(date=day(d.expected_close)))
        if d.source:
            lines.append(_("Source: {value}").format(value=h(d.source)))
        if d.next_step:
            lines.append(_("Next step: {text}").format(text=h(d.next_step)))
        if d.lost_reason:
            lines.append(_("Reason lost: {text}").format(text=h(d.lost_reason)))
        lines.append(_("Curator: {name}").format(name=h(card.curator_name)))
        if card.lines:
            lines += ["", _("<b>Products</b>")]
            for line in card.lines:
                text = f" • {h(line.product.name)} × {number(line.quantity)} — {money(line.total)}"
                if line.discount_pct:
                    text += " " + _("(discount {pct}%)").format(pct=number(line.discount_pct))
                if line.approval in (ApprovalStatus.PENDING, ApprovalStatus.REJECTED):
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
                button(_("✍ Log interaction"), LogCb(kind=DEAL, id=d.id)),
                button(_("🕘 History"), HistoryCb(kind=DEAL, id=d.id)),
            ],
            [button(_("🏢 Company"), CardCb(kind=COMPANY, id=d.company_id))],
        ]
        rows += [row for add in self.rows.deal for row in add(actor, card)]
        return "\n".join(lines), markup(rows)
