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

from crm.access import Actor
from crm.models import Product, Sale, utcnow
from crm.services.imports.cells import SALE_WIRE, Rejected
from crm.services.imports.writers.base import Writer
from crm.services.imports.writers.lookups import (
    Found,
    companies_by_inn,
    visible_companies_by_key,
)
from crm.services.imports.writers.sales_table import COLUMNS, SalesTable, sales_table
from crm.services.imports.writers.statements import chunks
from crm.uow import UnitOfWork

REF, PAID = COLUMNS.index("external_ref"), COLUMNS.index("paid_on")
KEY, INN, SOLD_ON, AMOUNT, QUANTITY, COST, PRODUCT, REF_IN, PAID_IN = (
    SALE_WIRE.index(name) for name in SALE_WIRE
)
Sale_ = tuple[Any, ...]  # a clean sale as the reader hands it over (SALE_WIRE)
Sales = list[tuple[int, Sale_]]


def _content_ref(company_id: int, values: Sale_, occurrences: dict[str, int]) -> str:
    """A document number for a row without one: the same row of the same file, the same number."""
    content = "|".join(
        str(v)
        for v in (
            company_id,
            values[SOLD_ON],
            values[AMOUNT],
            values[QUANTITY],
            values[COST],
            (values[PRODUCT] or "").lower(),
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
        self.occurrences: dict[str, int] = {}
        self.table: SalesTable | None = None
        self.first_id: int | None = None
        self.last_id: int | None = None
        self.paid = 0  # sales imported before, marked paid by this file

    async def _lookups(self, values: list[Sale_]) -> None:
        keys = {v[KEY] for v in values if v[KEY]} - self.asked_keys
        inns = {v[INN] for v in values if v[INN]} - self.asked_inns
        self.asked_keys |= keys
        self.asked_inns |= inns
        if keys:
            self.by_key.update(await visible_companies_by_key(self.uow, self.actor, keys))
        if inns:
            self.by_inn.update(await companies_by_inn(self.uow, self.actor, inns))
        names = sorted({str(v[PRODUCT]).lower() for v in values if v[PRODUCT]} - set(self.products))
        self.products.update(dict.fromkeys(names))
        for chunk in chunks(names):
            rows = await self.uow.session.execute(
                select(func.lower(Product.name), Product.id).where(
                    func.lower(Product.name).in_(chunk)
                )
            )
            self.products.update({n: pid for n, pid in rows})

    async def write(self, rows: Sales) -> None:
        if self.table is None:
            self.table = sales_table(self.uow)
        await self._lookups([v for _, v in rows])
        # per accepted row, its values in the order of sales_table.COLUMNS (dates ISO text,
        # amounts Decimal text, as the reader hands them over)
        accepted: list[tuple[Any, ...]] = []
        by_inn, by_key, products = self.by_inn, self.by_key, self.products
        for number, v in rows:
            company = (by_inn.get(v[INN]) if v[INN] else None) or (
                by_key.get(v[KEY]) if v[KEY] else None
            )
            if company is None:
                self.rejected.append(Rejected(number, "company", "not_found"))
                continue
            product = v[PRODUCT]
            accepted.append(
                (
                    company[0],
                    products.get(product.lower()) if product else None,
                    company[1],
                    v[SOLD_ON],
                    v[QUANTITY],
                    v[AMOUNT],
                    v[COST],
                    v[REF_IN] or _content_ref(company[0], v, self.occurrences),
                    v[PAID_IN],
                )
            )
        # numbers stored already: by earlier imports, or by earlier batches of this file
        taken = await self.table.taken(list({row[REF] for row in accepted}))
        new: list[tuple[Any, ...]] = []
        seen: set[str] = set()
        paid_later: dict[str, tuple[int, date]] = {}
        for row in accepted:
            ref = row[REF]
            if ref in taken or ref in seen:
                self.skipped += 1
                if row[PAID] is not None:  # a sale imported before, paid since
                    paid_later[ref] = (row[0], date.fromisoformat(row[PAID]))
                continue
            seen.add(ref)
            new.append(row)
        await self._mark_paid(paid_later)
        if new:
            await self.table.insert(new, utcnow())
            self.created += len(new)
            self.first_id = self.table.first_id

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
        if self.table is not None:
            self.last_id = await self.table.finish()
        if self.created:
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

    async def close(self) -> None:
        if self.table is not None:
            await self.table.close()
