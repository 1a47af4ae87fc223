"""The option words /help shows (in either language) are words the commands' parsers accept."""

from __future__ import annotations

import pytest

from bot.i18n import create_i18n
from crm.models.enums import Role
from handlers import claim_settings, interactions, playbooks, reports, team
from handlers.commands import COMMANDS

USAGES = {c.name: c for c in COMMANDS}


def usage_text(name: str, locale: str, role: Role = Role.DIRECTOR) -> str:
    """The usage of /`name` as /help shows it to `role` in `locale`."""
    return create_i18n().gettext(USAGES[name].usage_for(role), locale=locale)


def usage(name: str, locale: str, role: Role = Role.DIRECTOR) -> list[str]:
    """The usage's `;`-separated fields."""
    return [field.strip() for field in usage_text(name, locale, role).split(";")]


def words(field: str) -> list[str]:
    return [word.strip() for word in field.split("|")]


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_every_option_word_in_help_is_accepted(locale: str) -> None:
    log = usage("log", locale)
    assert all(word in interactions.KIND_WORDS for word in words(log[1])), log
    assert all(word in interactions.DIRECTION_WORDS for word in words(log[2])), log
    invite = words(usage("invite", locale)[0])
    assert all(word in team.ROLE_WORDS for word in invite), invite
    assert len({team.ROLE_WORDS[word] for word in invite}) == 3
    playbook = words(usage("playbook", locale)[0])
    assert all(word in playbooks.KIND_WORDS for word in playbook), playbook
    for role in (Role.MANAGER, Role.DIRECTOR):
        names = words(usage("report", locale, role)[0])
        assert all(name in reports.REPORTS for name in names), names
    # "cause; name | sla; priority; days": two forms, each starting with its keyword
    forms = usage_text("claims_settings", locale).split("|")
    [cause, sla] = [form.split(";")[0].strip() for form in forms]
    assert cause in claim_settings.CAUSE_WORDS and sla in claim_settings.SLA_WORDS


def test_russian_help_shows_russian_words_where_they_work() -> None:
    assert usage("log", "ru")[1:3] == ["звонок|встреча|письмо|сообщение|визит", "вх|исх"]
    assert usage("invite", "ru") == ["менеджер|руководитель|директор"]
    # /report takes only its English names: they stay English in Russian too
    assert usage("report", "ru", Role.MANAGER)[0].startswith("abc|xyz|")
