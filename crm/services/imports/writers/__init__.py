"""Writing the checked rows of an import, batch after batch, in the one transaction of the file.

Records already present are not created again: a company of the same name among those
the importer sees or with the same INN, a contact with the same phone, email or name at
the same company, a sale with the same document number. What a batch looks up (companies
by name or INN, products, existing contacts and document numbers) is asked in chunks and
remembered for the next batches; rows of the file itself are duplicates of each other by
the same keys. Every company and contact created is audited and made searchable (the
search vocabulary is written once, at the end).

- statements.py: bulk INSERTs and their ids, audit rows;
- lookups.py: companies by name or INN, whose clients the importer sees;
- base.py: what every writer does; companies.py, contacts.py, sales.py: one per kind.
"""

from __future__ import annotations

from crm.services.imports.writers.base import Rows, Writer
from crm.services.imports.writers.companies import CompaniesWriter
from crm.services.imports.writers.contacts import ContactsWriter
from crm.services.imports.writers.sales import SalesWriter

WRITERS: dict[str, type[Writer]] = {
    "companies": CompaniesWriter,
    "contacts": ContactsWriter,
    "sales": SalesWriter,
}

__all__ = ["WRITERS", "CompaniesWriter", "ContactsWriter", "Rows", "SalesWriter", "Writer"]
