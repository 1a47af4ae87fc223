"""Realistic, reproducible Russian and English names for companies and contacts."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

MALE = (
    "Александр Алексей Андрей Антон Артём Борис Вадим Валентин Валерий Василий Виктор "
    "Виталий Владимир Владислав Вячеслав Геннадий Георгий Глеб Григорий Даниил Денис "
    "Дмитрий Евгений Егор Иван Игорь Илья Кирилл Константин Леонид Максим Матвей Михаил "
    "Никита Николай Олег Павел Пётр Роман Руслан Семён Сергей Станислав Степан Тимофей "
    "Тимур Фёдор Юрий Ярослав"
).split()
FEMALE = (
    "Александра Алина Алла Анастасия Анна Антонина Валентина Валерия Вера Виктория "
    "Галина Дарья Евгения Екатерина Елена Елизавета Жанна Зоя Инна Ирина Карина Кристина "
    "Ксения Лариса Лидия Любовь Людмила Маргарита Марина Мария Надежда Наталья Нина Оксана "
    "Ольга Полина Светлана Софья Тамара Татьяна Ульяна Юлия Яна"
).split()
PATRONYMIC_ROOTS = (
    "Александров Алексеев Андреев Антонов Борисов Вадимов Викторов Владимиров Геннадьев "
    "Георгиев Дмитриев Евгеньев Иванов Игорев Константинов Леонидов Максимов Михайлов "
    "Николаев Олегов Павлов Петров Романов Сергеев Степанов Фёдоров Юрьев Ярославов"
).split()
SURNAMES = (
    "Смирнов Иванов Кузнецов Соколов Попов Лебедев Козлов Новиков Морозов Петров Волков "
    "Соловьёв Васильев Зайцев Павлов Семёнов Голубев Виноградов Богданов Воробьёв Фёдоров "
    "Михайлов Беляев Тарасов Белов Комаров Орлов Киселёв Макаров Андреев Ковалёв Ильин "
    "Гусев Титов Кузьмин Кудрявцев Баранов Куликов Алексеев Степанов Яковлев Сорокин "
    "Сергеев Романов Захаров Борисов Королёв Герасимов Пономарёв Григорьев Лазарев "
    "Медведев Ершов Никитин Соболев Рябов Поляков Цветков Данилов Жуков Фролов Журавлёв "
    "Николаев Крылов Максимов Сидоров Осипов Белоусов Федотов Дорофеев Егоров Матвеев "
    "Бобров Дмитриев Калинин Анисимов Петухов Антонов Тимофеев Никифоров Веселов Филиппов "
    "Марков Большаков Суханов Миронов Ширяев Александров Коновалов Шестаков Казаков "
    "Ефимов Денисов Громов Фомин Давыдов Мельников Щербаков Блинов Колесников Карпов "
    "Афанасьев Власов Маслов Исаков Тихонов Аксёнов Гаврилов Родионов Котов Горбунов "
    "Кудряшов Быков Зуев Третьяков Савельев Панов Рыбаков Суворов Абрамов Воронов Мухин "
    "Архипов Трофимов Мартынов Емельянов Горшков Чернов Овчинников Селезнёв Панфилов "
    "Копылов Михеев Галкин Назаров Лобанов Лукин Беляков Потапов Некрасов Хохлов Жданов "
    "Наумов Шилов Воронцов Ермаков Дроздов Игнатьев Савин Логинов Сафонов Капустин "
    "Кириллов Моисеев Елисеев Кошелев Костин Горбачёв Орехов Ефремов Исаев Евдокимов "
    "Калашников Кабанов Носков Юдин Кулагин Лапин Прохоров Нестеров Харитонов Агафонов"
).split()
EN_FIRST = (
    "James John Robert Michael William David Richard Joseph Thomas Charles Christopher "
    "Daniel Matthew Anthony Mark Donald Steven Paul Andrew Joshua Mary Patricia Jennifer "
    "Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Margaret Sandra "
    "Ashley Kimberly Emily Donna Michelle Olivia Emma Sophia Noah Liam Oliver Lucas Ethan"
).split()
EN_LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell "
    "Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes "
    "Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson "
    "Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood "
    "James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers"
).split()
FORMS = ("ООО", "АО", "ЗАО", "ПАО", "ИП")
CO_HEAD = (
    "Альфа Бета Гамма Гранит Сибирь Волга Техно Строй Агро Энерго Мега Нефте Транс Инвест "
    "Север Юг Восток Запад Лидер Прайм Вектор Орион Атлант Байкал Кедр Альянс Эко Био Медиа "
    "Инфо Росс Евро Глобал Меридиан Горизонт Феникс Сокол Рубин Янтарь Полюс"
).split()
CO_TAIL = (
    "Сервис Торг Пром Лайн Групп Маркет Снаб Логистик Холдинг Систем Софт Строй Трейд "
    "Капитал Ресурс Комплект Монтаж Проект Консалт Дизайн Транзит Экспорт Импорт Хим Мет "
    "Лес Агро Фарм Мед Тех Сталь Пласт Электро Авто Нефть Газ Телеком Инжиниринг Девелопмент"
).split()
CITIES = (
    "Москва Петербург Казань Новосибирск Екатеринбург Самара Омск Челябинск Ростов Уфа "
    "Пермь Воронеж Волгоград Краснодар Саратов Тюмень Ижевск Барнаул Иркутск Хабаровск "
    "Ярославль Владивосток Томск Оренбург Кемерово Рязань Астрахань Пенза Липецк Тула "
    "Киров Калининград Курск Сочи Тверь Брянск Иваново Белгород Сургут Владимир"
).split()
EN_CO_HEAD = (
    "Northwind Blue Ocean Silver Lake Red Rock Green Valley Bright Star Iron Bridge Golden "
    "Gate Pacific Atlantic Summit Pioneer Vertex Quantum Nova Apex Horizon Evergreen"
).split()
EN_CO_TAIL = (
    "Trading Logistics Systems Solutions Partners Holdings Labs Foods Energy Capital "
    "Consulting Software Industries Works Group Networks Media Supply Medical Motors"
).split()
EN_CO_END = ("Ltd", "Inc", "LLC", "GmbH", "Corp", "PLC")
INDUSTRIES = (
    "Розничная торговля",
    "Оптовая торговля",
    "Строительство",
    "Производство",
    "IT",
    "Логистика",
    "Медицина",
    "Образование",
    "Energy",
    "Retail",
)
POSITIONS = (
    "Генеральный директор",
    "Коммерческий директор",
    "Менеджер по закупкам",
    "Главный бухгалтер",
    "Head of Procurement",
    "CEO",
    "Инженер",
)
DOMAINS = ("mail.ru", "yandex.ru", "gmail.com", "inbox.ru", "bk.ru", "outlook.com")

_LATIN = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
        "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
        "я": "ya",
    }
)  # fmt: skip


def latin(word: str) -> str:
    return word.lower().translate(_LATIN)


@dataclass(frozen=True, slots=True)
class PersonName:
    full: str
    first: str
    last: str


def _female_surname(surname: str) -> str:
    return surname + "а"


def people(rng: random.Random, count: int, english_share: float = 0.1) -> Iterator[PersonName]:
    """`count` distinct full names: «Фамилия Имя Отчество» or "First M. Last"."""
    seen: set[str] = set()
    while len(seen) < count:
        if rng.random() < english_share:
            first, last = rng.choice(EN_FIRST), rng.choice(EN_LAST)
            middle = rng.choice(EN_FIRST)
            full = f"{first} {middle} {last}"
        else:
            female = rng.random() < 0.45
            first = rng.choice(FEMALE if female else MALE)
            root = rng.choice(PATRONYMIC_ROOTS)
            patronymic = root[:-2] + ("овна" if female else "ович")
            if root.endswith("ев"):
                patronymic = root[:-2] + ("евна" if female else "евич")
            last = rng.choice(SURNAMES)
            if female:
                last = _female_surname(last)
            full = f"{last} {first} {patronymic}"
        if full in seen:
            continue
        seen.add(full)
        yield PersonName(full, first, last)


def companies(rng: random.Random, count: int, english_share: float = 0.1) -> Iterator[str]:
    """`count` distinct company names like «ООО ГранитСнаб Казань» or "Northwind Logistics Ltd"."""
    seen: set[str] = set()
    while len(seen) < count:
        if rng.random() < english_share:
            name = (
                f"{rng.choice(EN_CO_HEAD)} {rng.choice(EN_CO_HEAD)} "
                f"{rng.choice(EN_CO_TAIL)} {rng.choice(EN_CO_END)}"
            )
        else:
            tail = rng.choice(CO_TAIL)
            name = f"{rng.choice(FORMS)} {rng.choice(CO_HEAD)}{tail.lower()} {rng.choice(CITIES)}"
        if name in seen:
            continue
        seen.add(name)
        yield name


def email_for(person: PersonName, serial: int, rng: random.Random) -> str:
    return f"{latin(person.first)}.{latin(person.last)}{serial}@{rng.choice(DOMAINS)}"


def phone_for(serial: int) -> str:
    """A distinct valid Russian mobile number in E.164 per serial."""
    return f"+79{(serial * 7919 + 12_345_678) % 1_000_000_000:09d}"


def typo(word: str, rng: random.Random) -> str:
    """One edit (delete, substitute, insert or swap) away from `word`, never at its first letter."""
    if len(word) < 4:
        return word
    pos = rng.randrange(1, len(word) - 1)
    alphabet = "абвгдеиклмнопрстуя" if any("а" <= c <= "я" for c in word.lower()) else "aeiounrst"
    op = rng.choice(("delete", "substitute", "insert", "swap"))
    if op == "delete":
        return word[:pos] + word[pos + 1 :]
    if op == "substitute":
        other = rng.choice([c for c in alphabet if c != word[pos].lower()])
        return word[:pos] + other + word[pos + 1 :]
    if op == "insert":
        return word[:pos] + rng.choice(alphabet) + word[pos:]
    return word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]


def with_typo(name: str, rng: random.Random) -> str:
    """`name` with one typo in one of its words of four letters or more."""
    words = name.split()
    candidates = [i for i, w in enumerate(words) if len(w) >= 4]
    if not candidates:
        return name
    i = rng.choice(candidates)
    words[i] = typo(words[i], rng)
    return " ".join(words)
