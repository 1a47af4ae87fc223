"""Contacts from a file: a contact already stored (same phone, email, or name at the same
company) is skipped or refused; a company the file names that does not exist is created."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from crm import search
from crm.access import Actor
from crm.models import AuditEntry, Company, Contact, utcnow
from crm.models.enums import SearchKind
from crm.services import companies
from crm.services.companies import CompanyInput
from crm.services.imports.writers.base import Rows, Writer, search_row
from crm.services.imports.writers.lookups import Found, Reach, companies_by
from crm.services.imports.writers.statements import audit_rows, chunks, insert_rows, write_plain
from crm.uow import UnitOfWork


def _contact_keys(values: dict[str, Any], company_id: int | None) -> set[tuple[Any, ...]]:
    keys: set[tuple[Any, ...]] = {("name", search.normalise(values["name"]), company_id)}
    if values.get("phone"):
        keys.add(("phone", values["phone"]))
    if values.get("email"):
        keys.add(("email", str(values["email"]).lower()))
    return keys


class ContactsWriter(Writer):
    """A contact already stored (same phone, email, or name at the same company) is skipped
    when the importer sees it and refused, naming its curator, otherwise; so is a row whose
    company is a client the importer does not see."""

    def __init__(self, uow: UnitOfWork, actor: Actor, filename: str) -> None:
        super().__init__(uow, actor, filename)
        self.reach = Reach(uow, actor)
        self.companies: Found = {}
        self.existing: set[tuple[Any, ...]] = set()
        self.foreign: dict[tuple[Any, ...], int] = {}  # key -> the curator out of reach
        self.asked: dict[str, set[Any]] = {"phone": set(), "email": set(), "name": set()}

    async def _existing(self, values: list[dict[str, Any]]) -> None:
        """Duplicate keys of the contacts sharing a phone, email or name with a batch."""
        wanted = {
            "phone": {v["phone"] for v in values if v.get("phone")},
            "email": {str(v["email"]).lower() for v in values if v.get("email")},
            "name": {v["name"] for v in values},
        }
        columns = {"phone": Contact.phone, "email": func.lower(Contact.email), "name": Contact.name}
        for what, column in columns.items():
            new = sorted(wanted[what] - self.asked[what])
            self.asked[what] |= set(new)
            for chunk in chunks(new):
                rows = await self.uow.session.execute(
                    select(
                        Contact.name,
                        Contact.phone,
                        Contact.email,
                        Contact.company_id,
                        Contact.curator_id,
                    ).where(column.in_(chunk))
                )
                for name, phone, email, company_id, curator_id in rows:
                    keys = _contact_keys({"name": name, "phone": phone, "email": email}, company_id)
                    if await self.reach.sees(curator_id):
                        self.existing |= keys
                    else:
                        self.foreign.update(dict.fromkeys(keys, curator_id))

    async def write(self, rows: Rows) -> None:
        values = [v for _, v in rows]
        keys = {str(v["company_key"]) for v in values if v["company_key"]} - set(self.companies)
        self.companies.update(await companies_by(self.uow, Company.match_key, keys))
        now = utcnow()
        fresh: dict[str, dict[str, Any]] = {}
        for v in values:
            key = v["company_key"]
            if key and key not in self.companies and key not in fresh:
                fresh[key] = {
                    **companies.clean(CompanyInput(name=str(v["company_name"]))),
                    "curator_id": self.actor.id,
                    "created_at": now,
                    "updated_at": now,
                }
        made = await self._create_companies(list(fresh.values()))
        for key, cid in zip(fresh, made, strict=True):
            self.companies[key] = (cid, self.actor.id, fresh[key]["name"])
        self.companies_created += len(made)

        await self._existing(values)
        contact_rows: list[dict[str, Any]] = []
        company_names: list[str | None] = []
        for number, v in rows:
            company = self.companies.get(v["company_key"]) if v["company_key"] else None
            if company is not None and not await self.reach.sees(company[1]):
                self.rejected.append(await self.reach.refusal(number, "company", company[1]))
                continue
            keys_of = _contact_keys(v, company[0] if company else None)
            if keys_of & self.existing:
                self.skipped += 1
                continue
            served = [self.foreign[k] for k in keys_of if k in self.foreign]
            if served:
                self.rejected.append(await self.reach.refusal(number, "contact", served[0]))
                continue
            self.existing |= keys_of
            row = {k: x for k, x in v.items() if k not in ("company_name", "company_key")}
            row.update(
                company_id=company[0] if company else None,
                curator_id=company[1] if company else self.actor.id,
                created_at=now,
                updated_at=now,
            )
            contact_rows.append(row)
            company_names.append(company[2] if company else None)
        ids = await insert_rows(self.uow, Contact, contact_rows)
        await write_plain(
            self.uow,
            AuditEntry,
            audit_rows(self.actor.id, "contacts", zip(ids, contact_rows, strict=True)),
        )
        await self._index(
            [
                search_row(
                    SearchKind.CONTACT,
                    cid,
                    row["curator_id"],
                    f"{row['name']}, {cname}" if cname else row["name"],
                    [row["name"], row["position"], row["email"], row["tg_username"], cname],
                    [row["phone"]],
                )
                for cid, row, cname in zip(ids, contact_rows, company_names, strict=True)
            ]
        )
        self.created += len(contact_rows)
