"""What every writer of an import does: count what it created, skipped and refused, and
make the companies and contacts it creates searchable and audited."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crm import search
from crm.access import Actor
from crm.models import AuditEntry, Company, SearchEntry
from crm.models.enums import SearchKind
from crm.services import contacts
from crm.services.imports.cells import Rejected
from crm.services.imports.writers.statements import audit_rows, insert_rows, write_plain
from crm.uow import UnitOfWork

Rows = list[tuple[int, dict[str, Any]]]  # (row number in the file, checked values)


def search_row(
    kind: SearchKind,
    entity_id: int,
    owner_id: int,
    title: str,
    parts: list[Any],
    phones: Sequence[str | None] = (),
) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "entity_id": entity_id,
        "owner_id": owner_id,
        "title": title[: contacts.TITLE_MAX],
        "text": search.document(parts, phones),
    }


def _company_search_row(company_id: int, values: dict[str, Any]) -> dict[str, Any]:
    return search_row(
        SearchKind.COMPANY,
        company_id,
        values["curator_id"],
        values["name"],
        [values["name"], values["inn"], values["industry"], values["territory"], *values["tags"]],
    )


class Writer:
    """One file's rows into one open unit of work; `created` and `skipped` count them."""

    def __init__(self, uow: UnitOfWork, actor: Actor, filename: str) -> None:
        self.uow, self.actor, self.filename = uow, actor, filename
        self.created = 0
        self.skipped = 0
        self.companies_created = 0
        self.rejected: list[Rejected] = []
        self.words: set[str] = set()

    async def write(self, rows: list[tuple[int, Any]]) -> None:
        """Rows as the reader hands them over: (number, values); the values are a dict, or
        for sales a tuple (cells.sale_wire)."""
        raise NotImplementedError

    async def finish(self) -> None:
        """Teach the search the words of everything created."""
        await search.add_terms(self.uow.session, [" ".join(sorted(self.words))])

    async def close(self) -> None:
        """Put back what the writer changed on the connection of the transaction, whether
        the import is committed or not."""

    async def _index(self, rows: list[dict[str, Any]]) -> None:
        await write_plain(self.uow, SearchEntry, rows)
        for row in rows:
            self.words |= search.vocabulary(row["text"])

    async def _create_companies(self, rows: list[dict[str, Any]]) -> list[int]:
        for row in rows:
            row.setdefault("last_interaction_at", None)
        ids = await insert_rows(self.uow, Company, rows)
        await write_plain(
            self.uow,
            AuditEntry,
            audit_rows(self.actor.id, "companies", zip(ids, rows, strict=True)),
        )
        await self._index(
            [_company_search_row(cid, row) for cid, row in zip(ids, rows, strict=True)]
        )
        return ids
