"""/export: an XLSX workbook of everything the actor may see.

Sheets Companies, Contacts, Deals, Interactions, Tasks and Claims hold the rows the
actor's role reaches (a manager their own, a head their department, a director all),
filtered in SQL with the same rules the services use. Rows are streamed from the
database in batches into a write-only workbook, so a large book never sits in memory
as objects. Names of curators and companies are joined in SQL. Times are shown in the
actor's timezone (naive datetimes with a date format, as spreadsheets expect), money
as numbers. A related record's name (a parent company, a contact's company, the company or
contact of an interaction or task) is blank where the actor may not see that record; a
deal's or claim's own company is always named. Column headers are English here; the
caller passes `translate` to show them in the user's language. The export itself is
recorded in the audit log.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy import ColumnElement, Select, case, or_, select
from sqlalchemy.orm import aliased

from crm.access import Actor, company_visible, contact_visible, visible_owner
from crm.models import Claim, ClaimCause, Company, Contact, Deal, Interaction, Manager, Task
from crm.services import tasks
from crm.uow import UnitOfWork

BATCH = 1000
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
DATE_FORMAT = "DD.MM.YYYY"
MONEY_FORMAT = "#,##0.00"
# (sheet title, [(column header, width)]): the English words the caller may translate
SHEETS: dict[str, list[tuple[str, int]]] = {
    "Companies": [
        ("ID", 8), ("Name", 36), ("INN", 14), ("Industry", 20), ("Territory", 18),
        ("Stage", 12), ("Credit limit", 14), ("Payment deferral, days", 10), ("Tags", 20),
        ("Curator", 22), ("Parent company", 30), ("Last interaction", 17), ("Created", 17),
    ],
    "Contacts": [
        ("ID", 8), ("Full name", 30), ("Company", 32), ("Position", 22), ("Phone", 16),
        ("Email", 28), ("Telegram", 16), ("Role in the decision", 16), ("Birthday", 12),
        ("No emails", 10), ("Curator", 22), ("Created", 17),
    ],
    "Deals": [
        ("ID", 8), ("Title", 36), ("Company", 32), ("Stage", 12), ("Amount", 14),
        ("Probability, %", 10), ("Expected close", 12), ("Source", 14), ("Curator", 22),
        ("Closed", 17), ("Created", 17),
    ],
    "Interactions": [
        ("ID", 8), ("When", 17), ("Kind", 10), ("Direction", 8), ("Status", 10),
        ("Company", 32), ("Contact", 26), ("Summary", 50), ("Manager", 22),
    ],
    "Tasks": [
        ("ID", 8), ("Title", 40), ("Due", 17), ("Status", 10), ("Kind", 12),
        ("Assignee", 22), ("Company", 32), ("Done at", 17), ("Created", 17),
    ],
    "Claims": [
        ("ID", 8), ("Company", 32), ("Text", 50), ("Cause", 18), ("Priority", 10),
        ("Status", 12), ("Due", 17), ("Responsible", 22), ("Compensation", 14),
        ("Created", 17), ("Resolved", 17),
    ],
}  # fmt: skip


@dataclass
class Export:
    content: bytes
    counts: dict[str, int] = field(default_factory=dict)  # sheet title -> rows

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _company_visible(actor: Actor, company_id: Any) -> ColumnElement[bool]:
    """The row's company (by its id column) is one the actor sees."""
    return company_visible(actor, company_id)


def _if_visible(visible: ColumnElement[bool], name: Any) -> Any:
    """A related record's name, blank where the actor may not see that record."""
    return case((visible, name), else_=None)


def _queries(actor: Actor) -> dict[str, Select[Any]]:
    curator = aliased(Manager)
    parent = aliased(Company)
    company = aliased(Company)
    contact = aliased(Contact)
    return {
        "Companies": select(
            Company.id, Company.name, Company.inn, Company.industry, Company.territory,
            Company.stage, Company.credit_limit, Company.payment_deferral_days, Company.tags,
            curator.name, _if_visible(visible_owner(actor, parent.curator_id), parent.name),
            Company.last_interaction_at, Company.created_at,
        )
        .join(curator, curator.id == Company.curator_id)
        .outerjoin(parent, parent.id == Company.parent_id)
        .where(visible_owner(actor, Company.curator_id))
        .order_by(Company.id),
        "Contacts": select(
            Contact.id, Contact.name,
            _if_visible(visible_owner(actor, company.curator_id), company.name),
            Contact.position, Contact.phone,
            Contact.email, Contact.tg_username, Contact.decision_role, Contact.birthday,
            Contact.email_opt_out, curator.name, Contact.created_at,
        )
        .join(curator, curator.id == Contact.curator_id)
        .outerjoin(company, company.id == Contact.company_id)
        .where(visible_owner(actor, Contact.curator_id))
        .order_by(Contact.id),
        "Deals": select(
            Deal.id, Deal.title, company.name, Deal.stage, Deal.amount, Deal.probability,
            Deal.expected_close, Deal.source, curator.name, Deal.closed_at, Deal.created_at,
        )
        .join(company, company.id == Deal.company_id)
        .join(curator, curator.id == Deal.curator_id)
        .where(
            or_(visible_owner(actor, Deal.curator_id), _company_visible(actor, Deal.company_id))
        )
        .order_by(Deal.id),
        "Interactions": select(
            Interaction.id, Interaction.occurred_at, Interaction.kind, Interaction.direction,
            Interaction.status, _if_visible(visible_owner(actor, company.curator_id), company.name),
            _if_visible(contact_visible(actor, contact), contact.name),
            Interaction.summary, curator.name,
        )
        .join(curator, curator.id == Interaction.manager_id)
        .outerjoin(company, company.id == Interaction.company_id)
        .outerjoin(contact, contact.id == Interaction.contact_id)
        .where(
            or_(
                visible_owner(actor, Interaction.manager_id),
                _company_visible(actor, Interaction.company_id),
            )
        )
        .order_by(Interaction.id),
        "Tasks": select(
            Task.id, Task.title, Task.due_at, Task.status, Task.kind, curator.name,
            _if_visible(visible_owner(actor, company.curator_id), company.name),
            Task.done_at, Task.created_at,
        )
        .join(curator, curator.id == Task.assignee_id)
        .outerjoin(company, company.id == Task.company_id)
        .where(tasks.visible(actor))
        .order_by(Task.id),
        "Claims": select(
            Claim.id, Company.name, Claim.text, ClaimCause.title, Claim.priority, Claim.status,
            Claim.due_at, curator.name, Claim.compensation, Claim.created_at, Claim.resolved_at,
        )
        .join(Company, Company.id == Claim.company_id)
        .join(curator, curator.id == Claim.responsible_id)
        .outerjoin(ClaimCause, ClaimCause.code == Claim.cause)
        .where(
            or_(
                visible_owner(actor, Claim.responsible_id),
                visible_owner(actor, Company.curator_id),
            )
        )
        .order_by(Claim.id),
    }  # fmt: skip


class _Writer:
    """Turns database values into cells: local naive times, numbers as numbers."""

    def __init__(self, sheet: WriteOnlyWorksheet, timezone: str) -> None:
        self.sheet = sheet
        self.zone = ZoneInfo(timezone)

    def cell(self, value: Any) -> Any:
        if isinstance(value, datetime):
            local = value.astimezone(self.zone).replace(tzinfo=None, microsecond=0)
            return self._formatted(local, DATETIME_FORMAT)
        if isinstance(value, date):
            return self._formatted(value, DATE_FORMAT)
        if isinstance(value, Decimal):
            return self._formatted(value, MONEY_FORMAT)
        if isinstance(value, list):
            return ", ".join(map(str, value))
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(self.sheet, value=value)
            cell.data_type = "s"  # client data is text, never a formula
            return cell
        return value

    def _formatted(self, value: Any, number_format: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.sheet, value=value)
        cell.number_format = number_format
        return cell

    def header(self, titles: Sequence[str]) -> None:
        cells = []
        for title in titles:
            cell = WriteOnlyCell(self.sheet, value=title)
            cell.font = Font(bold=True)
            cells.append(cell)
        self.sheet.append(cells)


# (sheet title, column header) -> how a stored value (a code such as "one_time") is shown
Labels = Mapping[tuple[str, str], Callable[[Any], Any]]


async def export_xlsx(
    uow: UnitOfWork,
    actor: Actor,
    translate: Callable[[str], str] = str,
    labels: Labels | None = None,
) -> Export:
    """The workbook of what the actor may see; `translate` gives headers and sheet titles,
    `labels` the words for the codes of some columns (stages, statuses, kinds)."""
    workbook = Workbook(write_only=True)
    counts: dict[str, int] = {}
    async with uow.read_only():
        for title, stmt in _queries(actor).items():
            columns = SHEETS[title]
            sheet = workbook.create_sheet(translate(title)[:31])
            sheet.freeze_panes = "A2"
            for index, (_, width) in enumerate(columns, 1):
                sheet.column_dimensions[get_column_letter(index)].width = width
            writer = _Writer(sheet, actor.timezone)
            writer.header([translate(name) for name, _ in columns])
            shown = [(labels or {}).get((title, name)) for name, _ in columns]
            count = 0
            result = await uow.session.stream(stmt.execution_options(yield_per=BATCH))
            async for row in result:
                sheet.append(
                    [
                        writer.cell(v if label is None or v is None else label(v))
                        for label, v in zip(shown, row, strict=True)
                    ]
                )
                count += 1
            counts[title] = count
    buffer = io.BytesIO()
    workbook.save(buffer)
    async with uow:
        uow.audit(actor.id, ("export", actor.id), "export", {"rows": [None, counts]})
        await uow.commit()
    return Export(buffer.getvalue(), counts)
