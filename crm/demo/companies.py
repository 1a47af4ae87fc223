"""The staff and the catalogue written first, then the companies' specs and holdings."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm import search
from crm.demo.organisation import (
    DEPARTMENTS,
    EN_FORMS,
    EN_INDUSTRIES,
    EN_ROOTS,
    EN_TAGS,
    EN_TAILS,
    EXPORT,
    PRODUCTS,
    RU_FORMS,
    RU_INDUSTRIES,
    RU_ROOTS,
    RU_TAGS,
    RU_TAILS,
    STAFF,
    TERRITORIES,
    TG_BASE,
)
from crm.demo.rows import _inn, _insert
from crm.models import Department, Manager, Product
from crm.models.enums import CompanyStage, Role


@dataclass
class _Staff:
    id: int
    name: str
    role: Role
    department: str | None
    max_discount: Decimal


@dataclass
class _Company:
    spec: dict[str, Any]
    department: str
    english: bool
    profile: str = ""
    id: int = 0
    contacts: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


async def _organisation(session: AsyncSession, now: datetime) -> list[_Staff]:
    """Departments, staff and products: reused when a previous demo run created them."""
    departments: dict[str, int] = {}
    for name in DEPARTMENTS:
        dept_id = await session.scalar(select(Department.id).where(Department.name == name))
        if dept_id is None:
            [dept_id] = await _insert(session, Department, [{"name": name, "created_at": now}])
        departments[name] = dept_id

    staff: list[_Staff] = []
    for i, (name, role, dept, language, tz, plan) in enumerate(STAFF, start=1):
        max_discount = {Role.MANAGER: 10, Role.HEAD: 25, Role.DIRECTOR: 100}[role]
        manager_id = await session.scalar(select(Manager.id).where(Manager.tg_id == TG_BASE + i))
        if manager_id is None:
            row = {
                "tg_id": TG_BASE + i,
                "name": name,
                "username": None,
                "role": role.value,
                "department_id": departments[dept] if dept else None,
                "timezone": tz,
                "language": language,
                "sales_plan": Decimal(plan),
                "commission_pct": Decimal("3.00") if role is Role.MANAGER else Decimal("1.00"),
                "max_discount_pct": Decimal(max_discount),
                "created_at": now - timedelta(days=700),
            }
            [manager_id] = await _insert(session, Manager, [row])
        staff.append(_Staff(manager_id, name, role, dept, Decimal(max_discount)))
    return staff


async def _products(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    result = await session.execute(select(Product.name, Product.id))
    existing: dict[str, int] = {name: product_id for name, product_id in result}
    missing: list[dict[str, Any]] = [
        {
            "name": name,
            "unit_price": Decimal(price),
            "unit_cost": Decimal(cost),
            "description": description,
            "active": True,
            "created_at": now - timedelta(days=700),
        }
        for name, price, cost, description in PRODUCTS
        if name not in existing
    ]
    for row, new_id in zip(missing, await _insert(session, Product, missing), strict=True):
        existing[row["name"]] = new_id
    return [
        {"id": existing[name], "price": Decimal(price), "cost": Decimal(cost)}
        for name, price, cost, _ in PRODUCTS
    ]


def _company_specs(rng: random.Random, count: int, staff: list[_Staff], now: datetime) -> list:
    used: set[str] = set()
    companies: list[_Company] = []
    for _ in range(count):
        department = rng.choices(DEPARTMENTS, weights=(45, 35, 20))[0]
        english = department == EXPORT
        team = [s for s in staff if s.department == department]
        managers = [s for s in team if s.role is Role.MANAGER]
        curator = rng.choice(team) if rng.random() < 0.08 else rng.choice(managers)
        for attempt in range(20):
            if english:
                core = f"{rng.choice(EN_ROOTS)} {rng.choice(EN_TAILS)}"
                name = f"{core} {rng.choice(EN_FORMS)}"
            else:
                core = rng.choice(RU_ROOTS) + rng.choice(RU_TAILS)
                name = f"{rng.choice(RU_FORMS)} «{core}»"
            if attempt == 19:
                name = f"{name} ({rng.choice(TERRITORIES[department])})"
            if name not in used:
                break
        used.add(name)
        stage = rng.choices(
            (
                CompanyStage.POTENTIAL,
                CompanyStage.ONE_TIME,
                CompanyStage.REGULAR,
                CompanyStage.LOST,
            ),
            weights=(28, 20, 42, 10),
        )[0]
        client = stage in (CompanyStage.REGULAR, CompanyStage.ONE_TIME)
        age = rng.randint(20, 900) if stage is CompanyStage.POTENTIAL else rng.randint(380, 1100)
        created = now - timedelta(days=age)
        tags = rng.sample(EN_TAGS if english else RU_TAGS, k=rng.choice((0, 0, 1, 1, 2)))
        spec = {
            "name": name,
            "name_key": search.normalise(name),
            "inn": None if english or rng.random() < 0.1 else _inn(rng),
            "industry": rng.choice(EN_INDUSTRIES if english else RU_INDUSTRIES),
            "territory": rng.choice(TERRITORIES[department]),
            "parent_id": None,
            "curator_id": curator.id,
            "stage": stage.value,
            "credit_limit": Decimal(rng.choice((100, 250, 500, 1000, 3000)) * 1000)
            if client and rng.random() < 0.6
            else None,
            "payment_deferral_days": rng.choice((0, 14, 30, 45, 60)) if client else None,
            "tags": tags,
            "notes": None,
            "created_at": created,
            "updated_at": created,
            "last_interaction_at": None,
        }
        companies.append(_Company(spec, department, english))
    return companies


def _holdings(rng: random.Random, companies: list[_Company]) -> list[tuple[int, list[int]]]:
    """Pick some holdings: (parent index, child indexes) within one department."""
    candidates = [i for i, c in enumerate(companies) if not c.spec["name"].startswith("ИП")]
    parents = rng.sample(candidates, k=min(len(candidates), len(companies) // 16))
    taken = set(parents)
    result = []
    for parent in parents:
        pool = [
            i
            for i, c in enumerate(companies)
            if i not in taken and c.department == companies[parent].department
        ]
        children = rng.sample(pool, k=min(len(pool), rng.randint(1, 3)))
        taken.update(children)
        result.append((parent, children))
        tag = "holding" if companies[parent].english else "холдинг"
        companies[parent].spec["tags"] = [*companies[parent].spec["tags"], tag]
    return result
