"""What each demo company gets: contacts, deals with lines and stage history,
monthly sales, interactions, inquiries."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from crm.demo.companies import _Company, _Staff
from crm.demo.organisation import (
    EN_DEAL_TITLES,
    EN_FIRST,
    EN_INQUIRIES,
    EN_LAST,
    EN_LOST,
    EN_SUMMARIES,
    INTERACTION_KINDS,
    INTERACTION_WEIGHTS,
    MONTHS,
    POSITIONS,
    RU_DEAL_TITLES,
    RU_FEMALE,
    RU_INQUIRIES,
    RU_LOST,
    RU_MALE,
    RU_SUMMARIES,
    RU_SURNAMES,
    SOURCES,
    DemoCounts,
)
from crm.demo.rows import _at, _female, _line_total, _month_start, _phone, _slug
from crm.models.enums import DEFAULT_PROBABILITY, CompanyStage, DealStage


class _Generator:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.today = now.date()
        self.counts = DemoCounts()

    def contacts(self, company: _Company) -> list[dict[str, Any]]:
        rng = self.rng
        rows = []
        name = company.spec["name"]
        domain = _slug("".join(name.split()[:-1]) if company.english else name.split("«")[-1])
        domain = (domain or "mail") + (".com" if company.english else ".ru")
        for position in rng.sample(POSITIONS, k=rng.choice((1, 1, 2, 2, 3))):
            if company.english:
                first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
            elif rng.random() < 0.5:
                first, last = rng.choice(RU_FEMALE), _female(rng.choice(RU_SURNAMES))
            else:
                first, last = rng.choice(RU_MALE), rng.choice(RU_SURNAMES)
            name = f"{first} {last}"
            local = f"{_slug(first)}.{_slug(last)}" or "info"
            username = f"{_slug(first)}_{_slug(last)}"[:32]
            rows.append(
                {
                    "company_id": company.id,
                    "curator_id": company.spec["curator_id"],
                    "name": name,
                    "position": position[1] if company.english else position[0],
                    "phone": _phone(rng) if rng.random() < 0.9 else None,
                    "email": f"{local}@{domain}" if rng.random() < 0.85 else None,
                    "tg_username": username if rng.random() < 0.2 and len(username) >= 4 else None,
                    "tg_user_id": None,
                    "decision_role": position[2],
                    "notes": None,
                    "birthday": date(
                        rng.randint(1960, 1998), rng.randint(1, 12), rng.randint(1, 28)
                    )
                    if rng.random() < 0.3
                    else None,
                    "email_opt_out": rng.random() < 0.05,
                    "created_at": company.spec["created_at"],
                    "updated_at": company.spec["created_at"],
                }
            )
        return rows

    def deal_stages(self, company: _Company, missing: list[DealStage]) -> list[DealStage]:
        """The stages of the deals of one company; the first companies cover every stage."""
        rng = self.rng
        weights = {
            CompanyStage.POTENTIAL: (30, 25, 15, 10, 0, 20),
            CompanyStage.ONE_TIME: (5, 5, 10, 5, 55, 20),
            CompanyStage.REGULAR: (8, 10, 14, 12, 46, 10),
            CompanyStage.LOST: (0, 0, 0, 0, 30, 70),
        }[CompanyStage(company.spec["stage"])]
        stages = list(DealStage)
        if company.spec["stage"] == CompanyStage.ONE_TIME:
            result = [DealStage.WON]
        elif company.spec["stage"] == CompanyStage.LOST:
            result = [DealStage.LOST]
        else:
            result = []
        result += rng.choices(stages, weights=weights, k=rng.choice((0, 1, 1, 2, 3)))
        result = result[:3]
        for stage in result:
            if stage in missing:
                missing.remove(stage)
        fitting = [s for s in missing if weights[stages.index(s)] > 0]
        for stage in fitting:
            missing.remove(stage)
        return result + fitting

    def stage_path(self, stage: DealStage) -> list[DealStage]:
        order = list(DealStage)[:4]
        if stage is DealStage.WON:
            return [*order, DealStage.WON]
        if stage is DealStage.LOST:
            return [*order[: self.rng.randint(1, 4)], DealStage.LOST]
        return order[: order.index(stage) + 1]

    def monthly_sales(self, company: _Company) -> list[tuple[date, float]]:
        """A year of purchases whose regularity varies (X, Y and Z clients for XYZ)."""
        rng = self.rng
        stage = CompanyStage(company.spec["stage"])
        base = rng.lognormvariate(11.8, 1.4)  # median ≈ 130 000 ₽ a month, with a long tail
        sales = []
        if stage is CompanyStage.REGULAR:
            company.profile = rng.choices("XYZ", weights=(40, 35, 25))[0]
            spread, gap = {"X": (0.06, 0.0), "Y": (0.17, 0.0), "Z": (0.7, 0.3)}[company.profile]
            # the last MONTHS full months (the period of XYZ) and this month so far
            for back in range(MONTHS, -1, -1):
                if rng.random() < gap:
                    continue
                factor = max(0.05, rng.gauss(1, spread))
                sales.append((_month_start(self.today, back), base * factor))
        elif stage is CompanyStage.ONE_TIME:
            sales.append((_month_start(self.today, rng.randint(1, MONTHS - 1)), base * 2))
        elif stage is CompanyStage.LOST:
            last = rng.randint(4, MONTHS - 1)
            for back in range(MONTHS - 1, last - 1, -1):
                if rng.random() < 0.7:
                    sales.append((_month_start(self.today, back), base * rng.uniform(0.5, 1.3)))
        result = []
        for month, amount in sales:
            last_day = min(self.today, (month + timedelta(days=32)).replace(day=1) - timedelta(1))
            day = month + timedelta(days=rng.randint(0, (last_day - month).days))
            result.append((day, amount))
        return result


def _deal(
    gen: _Generator,
    company: _Company,
    stage: DealStage,
    products: list[dict[str, Any]],
    staff: dict[int, _Staff],
    heads: dict[str | None, _Staff],
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    rng, now = gen.rng, gen.now
    curator = staff[company.spec["curator_id"]]
    closed = stage.is_closed
    created = now - timedelta(days=rng.randint(20, 330) if closed else rng.randint(1, 120))
    created = max(created, company.spec["created_at"] + timedelta(days=1))
    created = created.replace(hour=rng.randint(6, 15), minute=rng.randint(0, 59), second=0)
    path = gen.stage_path(stage)
    gaps = [rng.uniform(2, 25) for _ in path[1:]]
    room = (now - created).total_seconds() / 86400 * 0.95
    if sum(gaps) > room:
        gaps = [g * room / sum(gaps) for g in gaps]
    history, at, previous = [], created, None
    for step, gap in zip(path, [0.0, *gaps], strict=True):
        at = (at + timedelta(days=gap)).replace(microsecond=0)
        history.append(
            {"from_stage": previous, "to_stage": step.value, "changed_at": at,
             "manager_id": curator.id}
        )  # fmt: skip
        previous = step.value

    lines = []
    for product in rng.sample(products, k=rng.choice((1, 1, 2, 3))):
        price = product["price"]
        if price > 100_000:
            quantity = rng.choice((1, 1, 2))
        elif price > 10_000:
            quantity = rng.randint(1, 6)
        else:
            quantity = rng.randint(2, 80) * 5
        discount = Decimal(rng.choices((0, 5, 10, 15, 20), weights=(60, 18, 12, 6, 4))[0])
        approval, approved_by = "not_needed", None
        if discount > curator.max_discount:
            head = heads.get(curator.department)
            if closed or rng.random() < 0.5:
                approval, approved_by = "approved", head.id if head else None
            else:
                approval = "pending"
        lines.append(
            {
                "product_id": product["id"],
                "quantity": Decimal(quantity),
                "unit_price": price,
                "unit_cost": product["cost"],
                "discount_pct": discount,
                "approval": approval,
                "approved_by_id": approved_by,
            }
        )
    amount = sum(
        (_line_total(ln["quantity"], ln["unit_price"], ln["discount_pct"]) for ln in lines),
        Decimal(0),
    )
    english = company.english
    regular = company.spec["stage"] == CompanyStage.REGULAR
    deal = {
        "company_id": company.id,
        "contact_id": rng.choice(company.contacts)[0] if company.contacts else None,
        "curator_id": curator.id,
        "title": rng.choice(EN_DEAL_TITLES if english else RU_DEAL_TITLES),
        "stage": stage.value,
        "amount": amount,
        "probability": DEFAULT_PROBABILITY[stage],
        "expected_close": at.date() if closed else gen.today + timedelta(days=rng.randint(7, 90)),
        "source": "repeat" if regular and rng.random() < 0.5 else rng.choice(SOURCES),
        "lost_reason": rng.choice(EN_LOST if english else RU_LOST)
        if stage is DealStage.LOST
        else None,
        "closed_at": at if closed else None,
        "created_at": created,
        "updated_at": at,
    }
    return deal, lines, history


def _interactions(
    gen: _Generator, company: _Company, deals: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    rng, now = gen.rng, gen.now
    low, high = {
        CompanyStage.POTENTIAL: (1, 4),
        CompanyStage.ONE_TIME: (2, 7),
        CompanyStage.REGULAR: (5, 18),
        CompanyStage.LOST: (2, 6),
    }[CompanyStage(company.spec["stage"])]
    start = max(company.spec["created_at"], now - timedelta(days=365))
    end = now - timedelta(hours=1)
    if rng.random() < 0.1:  # a forgotten client: nobody called for two months or more
        end = now - timedelta(days=rng.randint(60, 120))
    summaries = EN_SUMMARIES if company.english else RU_SUMMARIES
    contact_ids = [cid for cid, _ in company.contacts]
    rows = []

    def row(kind: str, status: str, at: datetime, deal_id: int | None) -> dict[str, Any]:
        return {
            "kind": kind,
            "direction": "out" if rng.random() < 0.65 else "in",
            "status": status,
            "occurred_at": at,
            "summary": rng.choice(summaries[kind]),
            "company_id": company.id,
            "contact_id": rng.choice(contact_ids) if contact_ids else None,
            "deal_id": deal_id,
            "manager_id": company.spec["curator_id"],
            "created_at": min(at, now),
        }

    if end > start:
        span = (end - start).total_seconds()
        for _ in range(rng.randint(low, high)):
            day = (start + timedelta(seconds=rng.uniform(0, span))).date()
            at = min(max(_at(day, rng), start), end)
            kind = rng.choices(INTERACTION_KINDS, weights=INTERACTION_WEIGHTS)[0]
            open_then = [d["id"] for d in deals if d["created_at"] <= at]
            deal_id = rng.choice(open_then) if open_then and rng.random() < 0.35 else None
            rows.append(row(kind, "done", at, deal_id))
    if company.spec["stage"] != CompanyStage.LOST and rng.random() < 0.2:
        at = _at(gen.today + timedelta(days=rng.randint(1, 14)), rng)
        rows.append(row(rng.choice(("call", "meeting", "visit")), "planned", at, None))
    return rows


def _inquiries(
    gen: _Generator, companies: list[_Company], deals_of: dict[int, list[dict[str, Any]]]
) -> list[dict[str, Any]]:
    rng, now = gen.rng, gen.now
    rows = []
    for company in companies:
        texts = EN_INQUIRIES if company.english else RU_INQUIRIES
        contact_id = company.contacts[0][0] if company.contacts else None
        for deal in deals_of.get(company.id, []):
            if deal["source"] in ("repeat", "cold_call") or rng.random() < 0.5:
                continue
            rows.append(
                {
                    "source": deal["source"],
                    "text": rng.choice(texts),
                    "company_id": company.id,
                    "contact_id": deal["contact_id"],
                    "manager_id": deal["curator_id"],
                    "deal_id": deal["id"],
                    "received_at": deal["created_at"] - timedelta(hours=rng.randint(1, 72)),
                }
            )
        if company.spec["stage"] == CompanyStage.POTENTIAL and rng.random() < 0.4:
            rows.append(
                {
                    "source": rng.choice(SOURCES[:6]),
                    "text": rng.choice(texts),
                    "company_id": company.id,
                    "contact_id": contact_id,
                    "manager_id": company.spec["curator_id"],
                    "deal_id": None,
                    "received_at": now
                    - timedelta(days=rng.randint(1, 300), hours=rng.randint(0, 23)),
                }
            )
    for _ in range(max(1, len(companies) // 30)):  # not yet assigned to anybody
        rows.append(
            {
                "source": rng.choice(SOURCES[:6]),
                "text": rng.choice(RU_INQUIRIES),
                "company_id": None,
                "contact_id": None,
                "manager_id": None,
                "deal_id": None,
                "received_at": now - timedelta(hours=rng.randint(1, 24 * 14)),
            }
        )
    return rows
