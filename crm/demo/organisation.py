"""The demo organisation: its departments and staff, the catalogue, and the names,
words and weights the generated rows are drawn from."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from crm.models.enums import Role

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
