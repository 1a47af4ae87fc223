"""A timezone as people write it: `asia/almaty`, `Moscow`, `New York`, `Москва`, `Питер`.

`resolve(text)` gives the IANA name (`Europe/Moscow`) or None. Tried in turn: the exact
IANA name, the same name in any case, the city part of an IANA name ("moscow", "new york"
for America/New_York), then the common cities below, in English and Russian, whose IANA
zone is named after another city.
"""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# city (lower case, "ё" as "е", hyphens and underscores as spaces) -> IANA zone
CITIES: dict[str, str] = {
    # Russia, in Russian
    "калининград": "Europe/Kaliningrad",
    "москва": "Europe/Moscow",
    "мск": "Europe/Moscow",
    "санкт петербург": "Europe/Moscow",
    "петербург": "Europe/Moscow",
    "спб": "Europe/Moscow",
    "питер": "Europe/Moscow",
    "казань": "Europe/Moscow",
    "нижний новгород": "Europe/Moscow",
    "воронеж": "Europe/Moscow",
    "ростов на дону": "Europe/Moscow",
    "краснодар": "Europe/Moscow",
    "сочи": "Europe/Moscow",
    "волгоград": "Europe/Volgograd",
    "самара": "Europe/Samara",
    "ижевск": "Europe/Samara",
    "саратов": "Europe/Saratov",
    "ульяновск": "Europe/Ulyanovsk",
    "екатеринбург": "Asia/Yekaterinburg",
    "челябинск": "Asia/Yekaterinburg",
    "уфа": "Asia/Yekaterinburg",
    "пермь": "Asia/Yekaterinburg",
    "тюмень": "Asia/Yekaterinburg",
    "омск": "Asia/Omsk",
    "новосибирск": "Asia/Novosibirsk",
    "томск": "Asia/Tomsk",
    "барнаул": "Asia/Barnaul",
    "кемерово": "Asia/Novokuznetsk",
    "новокузнецк": "Asia/Novokuznetsk",
    "красноярск": "Asia/Krasnoyarsk",
    "иркутск": "Asia/Irkutsk",
    "чита": "Asia/Chita",
    "якутск": "Asia/Yakutsk",
    "хабаровск": "Asia/Vladivostok",
    "владивосток": "Asia/Vladivostok",
    "магадан": "Asia/Magadan",
    "сахалин": "Asia/Sakhalin",
    "южно сахалинск": "Asia/Sakhalin",
    "камчатка": "Asia/Kamchatka",
    "петропавловск камчатский": "Asia/Kamchatka",
    # Russia, in English, where the zone is named after another city
    "saint petersburg": "Europe/Moscow",
    "st petersburg": "Europe/Moscow",
    "st. petersburg": "Europe/Moscow",
    "petersburg": "Europe/Moscow",
    "kazan": "Europe/Moscow",
    "nizhny novgorod": "Europe/Moscow",
    "sochi": "Europe/Moscow",
    "chelyabinsk": "Asia/Yekaterinburg",
    "ufa": "Asia/Yekaterinburg",
    "perm": "Asia/Yekaterinburg",
    "tyumen": "Asia/Yekaterinburg",
    "khabarovsk": "Asia/Vladivostok",
    # neighbours and the usual business cities
    "минск": "Europe/Minsk",
    "киев": "Europe/Kyiv",
    "kiev": "Europe/Kyiv",
    "алматы": "Asia/Almaty",
    "алма ата": "Asia/Almaty",
    "астана": "Asia/Almaty",
    "astana": "Asia/Almaty",
    "ташкент": "Asia/Tashkent",
    "бишкек": "Asia/Bishkek",
    "душанбе": "Asia/Dushanbe",
    "тбилиси": "Asia/Tbilisi",
    "ереван": "Asia/Yerevan",
    "баку": "Asia/Baku",
    "стамбул": "Europe/Istanbul",
    "дубай": "Asia/Dubai",
    "лондон": "Europe/London",
    "берлин": "Europe/Berlin",
    "париж": "Europe/Paris",
    "пекин": "Asia/Shanghai",
    "beijing": "Asia/Shanghai",
    "шанхай": "Asia/Shanghai",
    "нью йорк": "America/New_York",
}


def _key(text: str) -> str:
    s = text.strip().lower().replace("ё", "е")
    return " ".join(re.split(r"[\s_\-]+", s)).strip()


@cache
def _by_lower() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


@cache
def _by_city() -> dict[str, str]:
    """The last part of each region/city zone name, as a reader writes it; a city named by
    several zones keeps none (it is not guessed)."""
    found: dict[str, set[str]] = {}
    for name in available_timezones():
        region, _, city = name.rpartition("/")
        if region.split("/")[0] not in {
            "Africa",
            "America",
            "Antarctica",
            "Asia",
            "Atlantic",
            "Australia",
            "Europe",
            "Indian",
            "Pacific",
        }:
            continue
        found.setdefault(_key(city), set()).add(name)
    return {city: names.pop() for city, names in found.items() if len(names) == 1}


def resolve(text: str) -> str | None:
    """The IANA name `text` means, or None."""
    name = (text or "").strip()
    if not name or len(name) > 64 or name.startswith("/") or ".." in name:
        return None
    try:
        ZoneInfo(name)
        return name
    except (ZoneInfoNotFoundError, ValueError):
        pass
    exact = _by_lower().get(name.lower())
    if exact is not None:
        return exact
    key = _key(name)
    return CITIES.get(key) or _by_city().get(key)
