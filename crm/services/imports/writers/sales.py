"""Sales from a file: the buyer found by INN or name among the companies the importer sees,
a sale already stored (the same document number) skipped, a paid date marking an earlier
sale paid. Sales without a number get one made of their content, so importing the same
file twice never doubles the revenue. The sales of a file are audited as one "import"
entry (the file, the number of sales and the range of their ids) rather than a copy of
every sale, and counted in the monthly rollups in the same transaction."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from crm.access import Actor
from crm.analytics.rollups import Deltas
from crm.errors import Conflict
from crm.models import Product, Sale, utcnow
from crm.services.imports.cells import Rejected
from crm.services.imports.writers.base import Rows, Writer
from crm.services.imports.writers.lookups import (
    Found,
    companies_by_inn,
    visible_companies_by_key,
)
from crm.services.imports.writers.statements import chunks, write_plain
from crm.uow import UnitOfWork


def _content_ref(company_id: int, values: dict[str, Any], occurrences: dict[str, int]) -> str:
    """A document number for a row without one: the same row of the same file, the same number."""
    content = "|".join(
        str(v)
        for v in (
            company_id,
            values["sold_on"].isoformat(),
            values["amount"],
            values["quantity"],
            values["cost"],
            (values["product"] or "").lower(),
        )
    )
    occurrences[content] = occurrences.get(content, 0) + 1
    digest = hashlib.sha256(f"{content}|{occurrences[content]}".encode()).hexdigest()
    return f"import:{digest[:40]}"


class SalesWriter(Writer):
    def __init__(self, uow: UnitOfWork, actor: Actor, filename: str) -> None:
        super().__init__(uow, actor, filename)
        self.by_key: Found = {}
        self.by_inn: Found = {}
        self.asked_keys: set[str] = set()
        self.asked_inns: set[str] = set()
        self.products: dict[str, int | None] = {}
        self.taken: set[str] = set()
        self.occurrences: dict[str, int] = {}
        self.deltas = Deltas()
        self.first_id: int | None = None
        self.last_id: int | None = None
        self.paid = 0  # sales imported before, marked paid by this file

    async def _lookups(self, values: list[dict[str, Any]]) -> None:
        keys = {v["key"] for v in values if v["key"]} - self.asked_keys
        inns = {v["inn"] for v in values if v["inn"]} - self.asked_inns
        self.asked_keys |= keys
        self.asked_inns |= inns
        self.by_key.update(await visible_companies_by_key(self.uow, self.actor, keys))
        self.by_inn.update(await companies_by_inn(self.uow, self.actor, inns))
        names = sorted(
            {str(v["product"]).lower() for v in values if v["product"]} - set(self.products)
        )
        self.products.update(dict.fromkeys(names))
        for chunk in chunks(names):
            rows = await self.uow.session.execute(
                select(func.lower(Product.name), Product.id).where(
                    func.lower(Product.name).in_(chunk)
                )
            )
            self.products.update({n: pid for n, pid in rows})

    async def write(self, rows: Rows) -> None:
        await self._lookups([v for _, v in rows])
        accepted: list[dict[str, Any]] = []
        for number, v in rows:
            company = (self.by_inn.get(v["inn"]) if v["inn"] else None) or (
                self.by_key.get(v["key"]) if v["key"] else None
            )
            if company is None:
                self.rejected.append(Rejected(number, "company", "not_found"))
                continue
            product_id = self.products.get(str(v["product"]).lower()) if v["product"] else None
            ref = v["external_ref"] or _content_ref(company[0], v, self.occurrences)
            accepted.append(
                {
                    "company_id": company[0],
                    "deal_id": None,
                    "product_id": product_id,
                    "manager_id": company[1],
                    "sold_on": v["sold_on"],
                    "quantity": v["quantity"],
                    "amount": v["amount"],
                    "cost": v["cost"],
                    "source": "import",
                    "external_ref": ref,
                    "paid_on": v.get("paid_on"),
                }
            )
        refs = sorted({row["external_ref"] for row in accepted} - self.taken)
        for chunk in chunks(refs):
            self.taken |= set(
                await self.uow.session.scalars(
                    select(Sale.external_ref).where(Sale.external_ref.in_(chunk))
                )
            )
        new: list[dict[str, Any]] = []
        seen: set[str] = set()
        now = utcnow()
        paid_later: dict[str, tuple[int, date]] = {}
        for row in accepted:
            ref = row["external_ref"]
            if ref in self.taken or ref in seen:
                self.skipped += 1
                if row["paid_on"] is not None:  # a sale imported before, paid since
                    paid_later[ref] = (row["company_id"], row["paid_on"])
                continue
            seen.add(ref)
            row["created_at"] = now
            new.append(row)
            self.deltas.add(
                row["company_id"], row["manager_id"], row["sold_on"], row["amount"], row["cost"]
            )
        self.taken |= seen
        await self._mark_paid(paid_later)
        if not new:
            return
        session = self.uow.session
        if self.first_id is None:
            self.first_id = int(await session.scalar(select(func.max(Sale.id))) or 0) + 1
        try:
            await write_plain(self.uow, Sale, new)
        except IntegrityError as exc:  # another import of the same documents at the same time
            raise Conflict("duplicate") from exc
        self.created += len(new)

    async def _mark_paid(self, paid: dict[str, tuple[int, date]]) -> None:
        """Sales imported (or won) before whose row now has a paid date: marked paid, each
        audited, if still unpaid and of the company the row names."""
        for chunk in chunks(sorted(paid)):
            rows = await self.uow.session.execute(
                select(Sale.id, Sale.external_ref, Sale.company_id).where(
                    Sale.external_ref.in_(chunk), Sale.paid_on.is_(None)
                )
            )
            for sale_id, ref, company_id in rows.all():
                expected, paid_on = paid[str(ref)]
                if company_id != expected:
                    continue
                await self.uow.session.execute(
                    update(Sale).where(Sale.id == sale_id).values(paid_on=paid_on)
                )
                self.uow.audit(
                    self.actor.id,
                    ("sales", sale_id),
                    "update",
                    {"paid_on": [None, paid_on.isoformat()]},
                )
                self.paid += 1

    async def finish(self) -> None:
        await self.deltas.apply(self.uow.session)
        if self.created:
            self.last_id = await self.uow.session.scalar(select(func.max(Sale.id)))
            self.uow.audit(
                self.actor.id,
                ("sales", self.first_id or 0),
                "import",
                {
                    "file": [None, self.filename],
                    "sales": [None, self.created],
                    "ids": [None, [self.first_id, self.last_id]],
                },
            )
