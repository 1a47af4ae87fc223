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
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm import search
from crm.analytics import rollups
from crm.models import (
    Company,
    Contact,
    Deal,
    DealLine,
    DealStageChange,
    Department,
    Inquiry,
    Interaction,
    Manager,
    Product,
    Sale,
    SearchEntry,
)
from crm.models.enums import DEFAULT_PROBABILITY, CompanyStage, DealStage, Role, SearchKind
from crm.storage import Database

CENT = Decimal("0.01")
TG_BASE = 7_100_000_000
MONTHS = 12


class DemoRefused(Exception):
    """The database already holds companies and `force` was not given."""


@dataclass
class DemoCounts:
    departments: int = 0
    managers: int = 0
    products: int = 0
    companies: int = 0
    contacts: int = 0
    deals: int = 0
    deal_lines: int = 0
    stage_changes: int = 0
    interactions: int = 0
    sales: int = 0
    inquiries: int = 0
    search_rows: int = 0
    deals_by_stage: dict[str, int] = field(default_factory=dict)


# --- the organisation -------------------------------------------------------------------

MOSCOW, SPB, EXPORT = "Москва", "Санкт-Петербург", "Export"
DEPARTMENTS = (MOSCOW, SPB, EXPORT)

# (name, role, department, language, timezone, monthly plan)
STAFF: tuple[tuple[str, Role, str | None, str, str, int], ...] = (
    # the monthly plans are near what each one sells in the demo (managers' report ≈ 100 %);
    # heads and the director do not sell themselves: no personal plan
    ("Ирина Соколова", Role.DIRECTOR, None, "ru", "Europe/Moscow", 0),
    ("Алексей Морозов", Role.HEAD, MOSCOW, "ru", "Europe/Moscow", 0),
    ("Ольга Лебедева", Role.HEAD, SPB, "ru", "Europe/Moscow", 0),
    ("James Carter", Role.HEAD, EXPORT, "en", "Europe/Berlin", 0),
    ("Анна Смирнова", Role.MANAGER, MOSCOW, "ru", "Europe/Moscow", 3_500_000),
    ("Дмитрий Козлов", Role.MANAGER, MOSCOW, "ru", "Europe/Moscow", 4_500_000),
    ("Екатерина Новикова", Role.MANAGER, MOSCOW, "ru", "Europe/Moscow", 5_500_000),
    ("Сергей Волков", Role.MANAGER, MOSCOW, "ru", "Europe/Moscow", 2_000_000),
    ("Мария Павлова", Role.MANAGER, MOSCOW, "ru", "Europe/Moscow", 1_000_000),
    ("Николай Фёдоров", Role.MANAGER, SPB, "ru", "Europe/Moscow", 4_000_000),
    ("Татьяна Егорова", Role.MANAGER, SPB, "ru", "Europe/Moscow", 4_500_000),
    ("Павел Орлов", Role.MANAGER, SPB, "ru", "Europe/Moscow", 3_500_000),
    ("Юлия Андреева", Role.MANAGER, SPB, "ru", "Europe/Moscow", 5_000_000),
    ("Emily Clark", Role.MANAGER, EXPORT, "en", "Europe/Berlin", 1_500_000),
    ("Michael Brown", Role.MANAGER, EXPORT, "en", "Europe/London", 3_000_000),
    ("Sofia Martinez", Role.MANAGER, EXPORT, "en", "Europe/Madrid", 3_000_000),
)

# (name, unit price, unit cost, description)
PRODUCTS: tuple[tuple[str, int, int, str], ...] = (
    ("Стрейч-плёнка 500 мм, 17 мкм", 1_150, 780, "Ручная, рулон 300 м"),
    ("Стрейч-плёнка машинная 500 мм", 2_400, 1_650, "Для паллетообмотчиков, рулон 1500 м"),
    ("Скотч упаковочный 48 мм", 95, 52, "Прозрачный, 66 м"),
    ("Коробка гофрированная 600×400×400", 86, 49, "Трёхслойный гофрокартон Т-23"),
    ("Коробка гофрированная 400×300×200", 42, 23, "Трёхслойный гофрокартон Т-23"),
    ("Поддон деревянный 1200×800", 650, 470, "Евро, новый"),
    ("Воздушно-пузырьковая плёнка 1,5×100 м", 1_900, 1_240, "Двухслойная"),
    ("Термоэтикетка 58×40, 1000 шт.", 310, 170, "Эко, втулка 40 мм"),
    ("Паллетообмотчик Робот S6", 385_000, 290_000, "Самоходный, до 2,2 м"),
    ("Паллетообмотчик ProWrap 2000", 720_000, 545_000, "Стационарный, с весами"),
    ("Стреппинг-машина SM-10", 145_000, 104_000, "Полуавтомат, ПП-лента 5–15 мм"),
    ("Термоусадочный туннель TS-450", 260_000, 188_000, "С L-образным запайщиком"),
    ("Принтер этикеток TP-300", 38_500, 27_900, "300 dpi, Ethernet"),
    ("Сканер штрихкодов BS-20", 12_900, 8_400, "2D, беспроводной"),
    ("Монтаж и пусконаладка", 35_000, 18_000, "Выезд инженера, до 1 дня"),
    ("Сервисный контракт (месяц)", 24_000, 9_500, "Плановое ТО и приоритетный ремонт"),
    ("Обучение персонала", 18_000, 6_000, "Группа до 8 человек"),
    ("Pallet wrapper PW-200", 415_000, 311_000, "Export model, CE certified"),
    ("Stretch film cast 23 µm", 2_900, 2_050, "Machine roll, 1500 m"),
    ("Spare parts kit SPK-1", 15_500, 9_100, "Belts, rollers, sensors"),
)

RU_FORMS = ("ООО", "ООО", "ООО", "АО", "ПАО", "ИП")
RU_ROOTS = (
    "Альфа", "Вектор", "Ромашка", "Север", "Техно", "Строй", "Агро", "Транс", "Мега",
    "Гранит", "Волга", "Урал", "Сибирь", "Балтика", "Лидер", "Профи", "Нева", "Алмаз",
    "Феникс", "Орион", "Восток", "Кристалл", "Зенит", "Янтарь", "Атлант", "Меридиан",
)  # fmt: skip
RU_TAILS = (
    "Снаб", "Пром", "Торг", "Сервис", "Логистик", "Маркет", "Инвест", "Трейд", "Групп",
    "Пак", "Продукт", "Склад", "Комплект", "Стандарт", "Ресурс", "Опт",
)  # fmt: skip
EN_ROOTS = (
    "Northwind", "Blue River", "Silverline", "Oakridge", "Atlas", "Pioneer", "Summit",
    "Harbor", "Evergreen", "Redwood", "Crescent", "Falcon", "Meridian", "Polaris",
    "Granite", "Bright Star", "Seaside", "Highland", "Sterling", "Nordic",
)  # fmt: skip
EN_TAILS = (
    "Trading", "Logistics", "Foods", "Industries", "Packaging", "Retail", "Systems",
    "Distribution", "Supply", "Group",
)  # fmt: skip
EN_FORMS = ("Ltd", "GmbH", "LLC", "Inc.", "B.V.", "LLP")

TERRITORIES = {
    MOSCOW: ("Москва", "Москва", "Московская область", "Тула", "Рязань", "Калуга", "Тверь"),
    SPB: ("Санкт-Петербург", "Санкт-Петербург", "Ленинградская область", "Великий Новгород",
          "Псков", "Мурманск"),
    EXPORT: ("Kazakhstan", "Belarus", "Germany", "UAE", "Uzbekistan", "Armenia", "Serbia"),
}  # fmt: skip
RU_INDUSTRIES = (
    "Розничная торговля", "Пищевое производство", "Логистика", "Строительство",
    "Фармацевтика", "Дистрибуция", "Машиностроение", "Интернет-торговля", "HoReCa",
    "Сельское хозяйство", "Химическая промышленность",
)  # fmt: skip
EN_INDUSTRIES = (
    "Retail", "Food production", "Logistics", "Construction", "Pharma", "Distribution",
    "E-commerce", "Manufacturing",
)  # fmt: skip
RU_TAGS = ("vip", "опт", "дилер", "тендер", "сеть", "новый", "отсрочка")
EN_TAGS = ("vip", "dealer", "tender", "chain", "new")

RU_MALE = ("Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Артём",
           "Илья", "Кирилл", "Михаил", "Никита", "Роман", "Игорь", "Владимир", "Евгений",
           "Олег")  # fmt: skip
RU_FEMALE = ("Анна", "Мария", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана",
             "Юлия", "Екатерина", "Дарья", "Алина", "Ксения", "Виктория")  # fmt: skip
RU_SURNAMES = ("Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Васильев", "Соколов",
               "Михайлов", "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев",
               "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев", "Орлов",
               "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв", "Борисов",
               "Белов", "Григорьев", "Тарасов", "Комаров", "Киселёв", "Жуковский",
               "Ковальский")  # fmt: skip
EN_FIRST = ("John", "Emma", "Oliver", "Sophie", "Lukas", "Anna", "Ahmed", "Fatima", "Daniel",
            "Laura", "Timur", "Aigerim", "Marko", "Elena", "Peter", "Nina")  # fmt: skip
EN_LAST = ("Smith", "Müller", "Schmidt", "Johnson", "Nazarbayev", "Petrović", "Hoffmann",
           "Khan", "Wagner", "Brown", "Abdullayev", "Novak", "Weber", "Taylor")  # fmt: skip

# (Russian position, English position, decision role)
POSITIONS = (
    ("Генеральный директор", "CEO", "decision_maker"),
    ("Коммерческий директор", "Commercial director", "decision_maker"),
    ("Финансовый директор", "CFO", "influencer"),
    ("Менеджер по закупкам", "Purchasing manager", "influencer"),
    ("Главный инженер", "Chief engineer", "influencer"),
    ("Начальник склада", "Warehouse manager", "user"),
    ("Технолог", "Process engineer", "user"),
    ("Офис-менеджер", "Office manager", "gatekeeper"),
)

RU_SUMMARIES = {
    "call": ("Обсудили условия поставки", "Уточнили объёмы на следующий квартал",
             "Клиент просит скидку 5%", "Напомнили об оплате счёта", "Не дозвонились, перезвонить",
             "Договорились о встрече"),
    "email": ("Отправили коммерческое предложение", "Выслали счёт и договор",
              "Ответили на вопросы по гарантии", "Отправили прайс-лист"),
    "message": ("Клиент подтвердил получение товара", "Прислали фото упаковки на складе",
                "Согласовали время доставки"),
    "meeting": ("Презентация оборудования у клиента", "Переговоры по годовому контракту",
                "Встреча с закупщиком: обсудили тендер"),
    "visit": ("Выезд на склад клиента, замеры", "Пусконаладка паллетообмотчика",
              "Аудит упаковочной линии"),
}  # fmt: skip
EN_SUMMARIES = {
    "call": ("Discussed delivery terms", "Client asks for a 5% discount",
             "Reminded about the overdue invoice", "No answer, call back"),
    "email": ("Sent the proposal", "Sent invoice and contract", "Answered warranty questions"),
    "message": ("Client confirmed the delivery", "Agreed on the shipping date"),
    "meeting": ("Equipment demo at the client's site", "Negotiated the annual contract"),
    "visit": ("Site survey at the warehouse", "Commissioning of the pallet wrapper"),
}  # fmt: skip
RU_DEAL_TITLES = ("Поставка расходников", "Годовой контракт на плёнку", "Оснащение склада",
                  "Паллетообмотчик для нового цеха", "Сервисный контракт", "Модернизация линии",
                  "Пробная партия", "Тендер на упаковку")  # fmt: skip
EN_DEAL_TITLES = ("Annual film supply", "Warehouse equipment", "Pallet wrapper for new plant",
                  "Service contract", "Trial order", "Packaging line upgrade")  # fmt: skip
RU_LOST = ("Дорого", "Выбрали конкурента", "Нет бюджета", "Проект отложен", "Не отвечают")
EN_LOST = ("Too expensive", "Chose a competitor", "No budget", "Project postponed")
SOURCES = ("website", "phone", "email", "exhibition", "referral", "telegram", "cold_call")
RU_INQUIRIES = ("Запрос цены на стрейч-плёнку", "Нужен паллетообмотчик, пришлите КП",
                "Интересует сервисное обслуживание", "Сколько стоит доставка в регион?",
                "Нужны коробки под маркетплейс")  # fmt: skip
EN_INQUIRIES = ("Price request for stretch film", "Need a quote for a pallet wrapper",
                "Do you ship to our country?")  # fmt: skip

INTERACTION_KINDS = ("call", "email", "message", "meeting", "visit")
INTERACTION_WEIGHTS = (40, 20, 15, 15, 10)


# --- helpers ------------------------------------------------------------------------------


def _slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", search.transliterate(value.lower().replace("ё", "е")))


def _inn(rng: random.Random) -> str:
    digits = [rng.randint(1, 9), *(rng.randint(0, 9) for _ in range(8))]
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11 % 10
    return "".join(map(str, digits)) + str(check)


def _phone(rng: random.Random) -> str:
    return f"+79{rng.randint(0, 99):02d}{rng.randint(0, 9_999_999):07d}"


def _female(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин")):
        return surname + "а"
    if surname.endswith("ский"):
        return surname[:-2] + "ая"
    return surname


def _line_total(quantity: Decimal, price: Decimal, discount: Decimal) -> Decimal:
    return (quantity * price * (100 - discount) / 100).quantize(CENT)


def _month_start(today: date, back: int) -> date:
    month = today.year * 12 + today.month - 1 - back
    return date(month // 12, month % 12 + 1, 1)


def _at(day: date, rng: random.Random) -> datetime:
    """A working-hours moment of that day (UTC, Moscow office hours)."""
    return datetime.combine(day, time(rng.randint(6, 15), rng.randint(0, 59)), UTC)


async def _insert(session: AsyncSession, model: type, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Bulk INSERT returning the new ids in the order of `rows`."""
    if not rows:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list((await session.scalars(stmt, list(rows))).all())


async def _insert_plain(session: AsyncSession, model: type, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert(model.__table__), list(rows))  # type: ignore[attr-defined]


def _search_row(
    kind: SearchKind,
    entity_id: int,
    owner_id: int,
    title: str,
    parts: Sequence[str | None],
    phones: Sequence[str | None] = (),
) -> dict[str, Any]:
    return {
        "kind": kind.value,
        "entity_id": entity_id,
        "owner_id": owner_id,
        "title": title[:300],
        "text": search.document(parts, phones),
    }


# --- the generator ------------------------------------------------------------------------


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
