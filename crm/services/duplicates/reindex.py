"""The search rows a merge or its undo changes, refreshed in the same transaction.

A contact's row and a deal's row carry their company's name (crm/services/contact_index.py,
crm/services/deals/common.py reindex): when a merge moves them to another company, or gives the
survivor the loser's name, they are written again here, hundreds at once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select, update

from crm import search
from crm.models import Base, Company, Contact, Deal, SearchEntry
from crm.models.enums import SearchKind
from crm.services import companies, contact_index
from crm.uow import UnitOfWork

CHUNK = 500


async def _write(uow: UnitOfWork, kind: SearchKind, values: list[dict[str, Any]]) -> None:
    """Insert or refresh search rows given as {eid, owner, title, body}."""
    session = uow.session
    table = Base.metadata.tables[SearchEntry.__tablename__]
    ids = [v["eid"] for v in values]
    indexed = set(
        await session.scalars(
            select(SearchEntry.entity_id).where(
                SearchEntry.kind == kind.value, SearchEntry.entity_id.in_(ids)
            )
        )
    )
    old = [v for v in values if v["eid"] in indexed]
    new = [v for v in values if v["eid"] not in indexed]
    if old:
        await session.execute(
            update(table)
            .where(table.c.kind == kind.value, table.c.entity_id == bindparam("eid"))
            .values(owner_id=bindparam("owner"), title=bindparam("title"), text=bindparam("body")),
            old,
        )
    if new:
        await session.execute(
            insert(table),
            [
                {
                    "kind": kind.value,
                    "entity_id": v["eid"],
                    "owner_id": v["owner"],
                    "title": v["title"],
                    "text": v["body"],
                }
                for v in new
            ],
        )
    await search.add_terms(session, [str(v["body"]) for v in values])


async def _contacts(uow: UnitOfWork, company: Company, ids: list[int]) -> None:
    rows = await uow.session.scalars(
        select(Contact).where(Contact.id.in_(ids)).execution_options(populate_existing=True)
    )
    values = [
        {
            "eid": c.id,
            "owner": c.curator_id,
            "title": contact_index.title(c, company),
            "body": search.document(
                [c.name, c.position, c.email, c.tg_username, company.name], [c.phone]
            ),
        }
        for c in rows
    ]
    if values:
        await _write(uow, SearchKind.CONTACT, values)


async def deals_of(uow: UnitOfWork, company: Company) -> None:
    """The search rows of every deal of a company (they carry its name), as deals.reindex."""
    rows = (
        await uow.session.execute(
            select(Deal.id, Deal.curator_id, Deal.title).where(Deal.company_id == company.id)
        )
    ).all()
    for start in range(0, len(rows), CHUNK):
        values = [
            {
                "eid": deal_id,
                "owner": curator_id,
                "title": title,
                "body": search.document([title, company.name]),
            }
            for deal_id, curator_id, title in rows[start : start + CHUNK]
        ]
        await _write(uow, SearchKind.DEAL, values)


async def record(
    uow: UnitOfWork, record: Company | Contact, contact_ids: list[int] | None = None
) -> None:
    """Refresh a record's search row; a company's, its deals' and those of some of its
    contacts (their rows carry the company's name). None: all of its contacts."""
    if isinstance(record, Company):
        await companies.reindex(uow, record)
        if contact_ids is None:
            contact_ids = list(
                await uow.session.scalars(select(Contact.id).where(Contact.company_id == record.id))
            )
        for start in range(0, len(contact_ids), CHUNK):
            await _contacts(uow, record, contact_ids[start : start + CHUNK])
        await deals_of(uow, record)
    else:
        company = await uow.session.get(Company, record.company_id) if record.company_id else None
        await contact_index.reindex(uow, record, company)
