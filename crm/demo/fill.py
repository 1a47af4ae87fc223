"""`generate`: the whole demo set in one transaction, refused over real data."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update

from crm import search
from crm.analytics import rollups
from crm.demo.companies import _Company, _company_specs, _holdings, _organisation, _products
from crm.demo.generator import _deal, _Generator, _inquiries, _interactions
from crm.demo.organisation import CENT, DEPARTMENTS, DemoCounts, DemoRefused
from crm.demo.rows import _insert, _insert_plain, _search_row
from crm.models import (
    Company,
    Contact,
    Deal,
    DealLine,
    DealStageChange,
    Inquiry,
    Interaction,
    Sale,
    SearchEntry,
)
from crm.models.enums import DealStage, Role, SearchKind
from crm.storage import Database


async def generate(
    db: Database,
    companies: int = 300,
    seed: int = 1,
    *,
    force: bool = False,
    now: datetime | None = None,
) -> DemoCounts:
    """Fill the database with demo data in one transaction; refuse if it has companies."""
    if companies < 1:
        raise ValueError("companies must be at least 1")
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    rng = random.Random(seed)
    gen = _Generator(rng, now)
    counts = gen.counts
    async with db.uow() as uow:
        session = uow.session
        existing = await session.scalar(select(func.count()).select_from(Company))
        if existing and not force:
            raise DemoRefused(
                f"the database already has {existing} companies; demo data goes into an "
                "empty database only (use --force to add it anyway)"
            )
        staff = await _organisation(session, now)
        products = await _products(session, now)
        heads = {s.department: s for s in staff if s.role is Role.HEAD}
        by_id = {s.id: s for s in staff}
        counts.departments, counts.managers, counts.products = (
            len(DEPARTMENTS),
            len(staff),
            len(products),
        )

        # companies: holding parents first, so that their children can point at them
        specs = _company_specs(rng, companies, staff, now)
        holdings = _holdings(rng, specs)
        parent_idx = [p for p, _ in holdings]
        for c, new_id in zip(
            [specs[i] for i in parent_idx],
            await _insert(session, Company, [specs[i].spec for i in parent_idx]),
            strict=True,
        ):
            c.id = new_id
        for parent, children in holdings:
            for child in children:
                specs[child].spec["parent_id"] = specs[parent].id
        rest = [c for c in specs if not c.id]
        for c, new_id in zip(
            rest, await _insert(session, Company, [c.spec for c in rest]), strict=True
        ):
            c.id = new_id
        counts.companies = len(specs)

        # contacts
        contact_rows = [(c, row) for c in specs for row in gen.contacts(c)]
        contact_ids = await _insert(session, Contact, [row for _, row in contact_rows])
        for (c, row), contact_id in zip(contact_rows, contact_ids, strict=True):
            c.contacts.append((contact_id, row))
        counts.contacts = len(contact_ids)

        # deals with their lines and stage history
        deal_specs: list[tuple[_Company, dict[str, Any], list[dict], list[dict]]] = []
        missing = list(DealStage)
        for c in specs:
            for stage in gen.deal_stages(c, missing):
                deal_specs.append((c, *_deal(gen, c, stage, products, by_id, heads)))
        deal_ids = await _insert(session, Deal, [d for _, d, _, _ in deal_specs])
        lines, changes, won_sales = [], [], []
        for (c, deal, deal_lines, history), deal_id in zip(deal_specs, deal_ids, strict=True):
            deal["id"] = deal_id
            lines += [{**line, "deal_id": deal_id} for line in deal_lines]
            changes += [{**change, "deal_id": deal_id} for change in history]
            counts.deals_by_stage[deal["stage"]] = counts.deals_by_stage.get(deal["stage"], 0) + 1
            if deal["stage"] == DealStage.WON:
                cost = sum(
                    (line["quantity"] * line["unit_cost"] for line in deal_lines), Decimal(0)
                )
                won_sales.append(
                    {
                        "company_id": c.id,
                        "deal_id": deal_id,
                        "product_id": None,
                        "manager_id": deal["curator_id"],
                        "sold_on": deal["closed_at"].date(),
                        "quantity": Decimal(1),
                        "amount": deal["amount"],
                        "cost": cost.quantize(CENT),
                        "source": "deal",
                        "external_ref": None,
                        "created_at": deal["closed_at"],
                    }
                )
        for line in lines:
            del line["unit_cost"]
        await _insert_plain(session, DealLine, lines)
        await _insert_plain(session, DealStageChange, changes)
        counts.deals, counts.deal_lines, counts.stage_changes = (
            len(deal_ids),
            len(lines),
            len(changes),
        )

        # a year of monthly purchases, as if imported from accounting
        imported = []
        consumables = sorted(products, key=lambda p: p["price"])[:8]
        for c in specs:
            sales = gen.monthly_sales(c)
            # one staple product per client, cheap enough that quantities follow the demand
            staple = (
                [p for p in consumables if p["price"] * 20 <= Decimal(sales[0][1])] if sales else []
            )
            product = rng.choice(staple or consumables[:1])
            for sold_on, target in sales:
                quantity = Decimal(max(1, round(target / float(product["price"]))))
                imported.append(
                    {
                        "company_id": c.id,
                        "deal_id": None,
                        "product_id": product["id"],
                        "manager_id": c.spec["curator_id"],
                        "sold_on": sold_on,
                        "quantity": quantity,
                        "amount": (quantity * product["price"]).quantize(CENT),
                        "cost": (quantity * product["cost"]).quantize(CENT),
                        "source": "import",
                        "external_ref": f"demo-{c.id}-{sold_on:%Y%m}",
                        "created_at": now,
                    }
                )
        await _insert_plain(session, Sale, won_sales + imported)
        await rollups.add_rows(session, won_sales + imported)
        counts.sales = len(won_sales) + len(imported)

        # interactions over the last year; planned ones ahead
        interactions = []
        deals_of: dict[int, list[dict[str, Any]]] = {}
        for c, deal, _, _ in deal_specs:
            deals_of.setdefault(c.id, []).append(deal)
        for c in specs:
            interactions += _interactions(gen, c, deals_of.get(c.id, []))
        await _insert_plain(session, Interaction, interactions)
        counts.interactions = len(interactions)
        last: dict[int, datetime] = {}
        for row in interactions:
            company_id, at = row["company_id"], row["occurred_at"]
            if row["status"] == "done" and (company_id not in last or at > last[company_id]):
                last[company_id] = at
        if last:
            await session.execute(
                update(Company),
                [{"id": cid, "last_interaction_at": at} for cid, at in last.items()],
            )

        # inbound inquiries, some turned into deals
        inquiries = _inquiries(gen, specs, deals_of)
        await _insert_plain(session, Inquiry, inquiries)
        counts.inquiries = len(inquiries)

        # the search index, as the services write it
        rows = []
        for c in specs:
            s = c.spec
            rows.append(
                _search_row(
                    SearchKind.COMPANY, c.id, s["curator_id"], s["name"],
                    [s["name"], s["inn"], s["industry"], s["territory"], *s["tags"]],
                )
            )  # fmt: skip
            for contact_id, row in c.contacts:
                rows.append(
                    _search_row(
                        SearchKind.CONTACT, contact_id, row["curator_id"],
                        f"{row['name']}, {s['name']}",
                        [row["name"], row["position"], row["email"], row["tg_username"], s["name"]],
                        [row["phone"]],
                    )
                )  # fmt: skip
        for c, deal, _, _ in deal_specs:
            rows.append(
                _search_row(
                    SearchKind.DEAL, deal["id"], deal["curator_id"],
                    deal["title"],
                    [deal["title"], c.spec["name"]],
                )
            )  # fmt: skip
        await _insert_plain(session, SearchEntry, rows)
        await search.add_terms(session, (row["text"] for row in rows))
        counts.search_rows = len(rows)
        await uow.commit()
    return counts
