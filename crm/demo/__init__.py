"""Demo data: a realistic sales organisation to try ChatCRM without real clients.

Rows are written with bulk INSERTs (one statement per table), not through the
services, so that the default set loads in a second or two. They are the rows
the services would write: `name_key` and E.164 phones as the validators make
them, a `search_index` row for every company, contact and deal built with
`crm.search.document`, the stage history of every deal, a Sale for every won
deal, `last_interaction_at` of every company. What is deliberately missing is
the audit log: seeding is not a change anybody made, so it writes no audit
entries.

Deterministic: the same seed gives the same data (relative to `now`).

The package: organisation.py (the people, products and words the data is made of),
rows.py (row helpers), companies.py (the staff, catalogue and company specs),
generator.py (contacts, deals, sales, interactions and inquiries of a company), fill.py
(`generate`, the one transaction).
"""

from __future__ import annotations

from crm.demo.fill import generate
from crm.demo.organisation import (
    CENT,
    DEPARTMENTS,
    EN_DEAL_TITLES,
    EN_FIRST,
    EN_FORMS,
    EN_INDUSTRIES,
    EN_INQUIRIES,
    EN_LAST,
    EN_LOST,
    EN_ROOTS,
    EN_SUMMARIES,
    EN_TAGS,
    EN_TAILS,
    EXPORT,
    INTERACTION_KINDS,
    INTERACTION_WEIGHTS,
    MONTHS,
    MOSCOW,
    POSITIONS,
    PRODUCTS,
    RU_DEAL_TITLES,
    RU_FEMALE,
    RU_FORMS,
    RU_INDUSTRIES,
    RU_INQUIRIES,
    RU_LOST,
    RU_MALE,
    RU_ROOTS,
    RU_SUMMARIES,
    RU_SURNAMES,
    RU_TAGS,
    RU_TAILS,
    SOURCES,
    SPB,
    STAFF,
    TERRITORIES,
    TG_BASE,
    DemoCounts,
    DemoRefused,
)

__all__ = [
    "CENT",
    "DEPARTMENTS",
    "EN_DEAL_TITLES",
    "EN_FIRST",
    "EN_FORMS",
    "EN_INDUSTRIES",
    "EN_INQUIRIES",
    "EN_LAST",
    "EN_LOST",
    "EN_ROOTS",
    "EN_SUMMARIES",
    "EN_TAGS",
    "EN_TAILS",
    "EXPORT",
    "INTERACTION_KINDS",
    "INTERACTION_WEIGHTS",
    "MONTHS",
    "MOSCOW",
    "POSITIONS",
    "PRODUCTS",
    "RU_DEAL_TITLES",
    "RU_FEMALE",
    "RU_FORMS",
    "RU_INDUSTRIES",
    "RU_INQUIRIES",
    "RU_LOST",
    "RU_MALE",
    "RU_ROOTS",
    "RU_SUMMARIES",
    "RU_SURNAMES",
    "RU_TAGS",
    "RU_TAILS",
    "SOURCES",
    "SPB",
    "STAFF",
    "TERRITORIES",
    "TG_BASE",
    "DemoCounts",
    "DemoRefused",
    "generate",
]
