"""Companies from a file: a company already stored (same INN, or the same name as the duplicate
check spells it) is skipped or refused; a parent named in the file is found or waited for."""

from __future__ import annotations

from typing import Any

from crm.access import Actor
from crm.models import Company, utcnow
from crm.services.imports.cells import Rejected
from crm.services.imports.writers.base import Rows, Writer
from crm.services.imports.writers.lookups import (
    Found,
    Reach,
    companies_by,
    companies_by_inn,
    visible_companies_by_key,
)
from crm.uow import UnitOfWork


class CompaniesWriter(Writer):
    """A company already stored (same INN, or the same name as the duplicate check spells
    it) is skipped when the importer sees it and refused, naming its curator, otherwise.

    A company gets its parent when the file names one (by name or INN): a company the
    importer sees, or one of the same file. A row whose parent is not created yet waits
    (rows of a later batch may create it); what still waits at the end is rejected."""

    def __init__(self, uow: UnitOfWork, actor: Actor, filename: str) -> None:
        super().__init__(uow, actor, filename)
        self.reach = Reach(uow, actor)
        self.by_key: Found = {}
        self.by_inn: Found = {}
        self.parents: dict[tuple[str, str], int] = {}  # ("name"|"inn", value) -> visible id
        self.asked: set[tuple[str, str]] = set()
        self.waiting: Rows = []

    async def _look_up_parents(self, values: list[dict[str, Any]]) -> None:
        refs = {v["parent_ref"] for v in values if v["parent_ref"]} - self.asked
        self.asked |= refs
        keys = [value for kind, value in refs if kind == "name"]
        inns = [value for kind, value in refs if kind == "inn"]
        for key, (cid, _curator, _name) in (
            await visible_companies_by_key(self.uow, self.actor, keys)
        ).items():
            self.parents.setdefault(("name", key), cid)
        for inn, (cid, _curator, _name) in (
            await companies_by_inn(self.uow, self.actor, inns)
        ).items():
            self.parents.setdefault(("inn", inn), cid)

    async def write(self, rows: Rows) -> None:
        values = [v for _, v in rows]
        keys = {str(v["match_key"]) for v in values} - set(self.by_key)
        inns = {str(v["inn"]) for v in values if v["inn"]} - set(self.by_inn)
        self.by_key.update(await companies_by(self.uow, Company.match_key, keys))
        self.by_inn.update(await companies_by(self.uow, Company.inn, inns))
        await self._look_up_parents(values)
        for number, v in rows:
            found = (self.by_inn.get(str(v["inn"])) if v["inn"] else None) or self.by_key.get(
                str(v["match_key"])
            )
            if found is not None:
                if await self.reach.sees(found[1]):
                    self.skipped += 1
                else:
                    self.rejected.append(await self.reach.refusal(number, "name", found[1]))
                continue
            mine = (0, self.actor.id, str(v["name"]))
            self.by_key[str(v["match_key"])] = mine
            if v["inn"]:
                self.by_inn[str(v["inn"])] = mine
            self.waiting.append((number, v))
        await self._create_ready()

    async def _create_ready(self) -> None:
        """Create the waiting rows whose parent exists, round after round (a parent of the
        same batch is created in the round before its subsidiaries)."""
        now = utcnow()
        while self.waiting:
            ready: Rows = []
            still: Rows = []
            for number, v in self.waiting:
                ref = v["parent_ref"]
                (ready if ref is None or ref in self.parents else still).append((number, v))
            if not ready:
                return
            self.waiting = still
            new = [
                {
                    **{k: x for k, x in v.items() if k != "parent_ref"},
                    "parent_id": self.parents[v["parent_ref"]] if v["parent_ref"] else None,
                    "curator_id": self.actor.id,
                    "created_at": now,
                    "updated_at": now,
                }
                for _, v in ready
            ]
            ids = await self._create_companies(new)
            for cid, row in zip(ids, new, strict=True):
                self.parents.setdefault(("name", row["name_key"]), cid)
                if row["inn"]:
                    self.parents.setdefault(("inn", row["inn"]), cid)
            self.created += len(new)

    async def finish(self) -> None:
        self.rejected += [Rejected(number, "parent", "not_found") for number, _ in self.waiting]
        self.waiting = []
        await super().finish()
