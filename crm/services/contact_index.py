"""A contact's search row: contacts are found by their own words and their company's name.

Both `contacts` (a contact written) and `companies` (a company renamed) keep it in step,
so it lives below both of them.
"""

from __future__ import annotations

from crm import search
from crm.models import Company, Contact
from crm.models.enums import SearchKind
from crm.uow import UnitOfWork

TITLE_MAX = 300


def title(contact: Contact, company: Company | None) -> str:
    text = f"{contact.name}, {company.name}" if company is not None else contact.name
    return text[:TITLE_MAX]


async def reindex(uow: UnitOfWork, contact: Contact, company: Company | None) -> None:
    await search.index(
        uow.session,
        SearchKind.CONTACT,
        contact.id,
        owner_id=contact.curator_id,
        title=title(contact, company),
        parts=[
            contact.name,
            contact.position,
            contact.email,
            contact.tg_username,
            company.name if company is not None else None,
        ],
        phones=[contact.phone],
    )
