"""A contact's search row: contacts are found by their own words and their company's name;
their logged conversations by whoever may see the contact.

Both `contacts` (a contact written) and `companies` (a company renamed) keep it in step,
so it lives below both of them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy import update as sql_update

from crm import search
from crm.models import Company, Contact, Interaction, SearchEntry
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
    # its logged Telegram conversations are found by whoever may see the contact
    await uow.session.execute(
        sql_update(SearchEntry)
        .where(
            SearchEntry.kind == SearchKind.CONVERSATION.value,
            SearchEntry.owner_id != contact.curator_id,
            SearchEntry.entity_id.in_(
                select(Interaction.id).where(Interaction.contact_id == contact.id)
            ),
        )
        .values(owner_id=contact.curator_id)
        .execution_options(synchronize_session=False)
    )
