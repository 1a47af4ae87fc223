"""Command menus and keyboards: what each role is offered, within Telegram's limits."""

from __future__ import annotations

import pytest

from bot.i18n import create_i18n
from crm.models.enums import Role
from handlers.commands import commands_for
from handlers.settings import SettingsCb, main_menu, time_menu, timezone_menu


@pytest.mark.parametrize("role", [Role.HEAD, Role.DIRECTOR])
def test_approvals_in_the_command_menu_of_leaders_only(role: Role) -> None:
    assert "approvals" in [c.name for c in commands_for(role)]
    assert "approvals" not in [c.name for c in commands_for(Role.MANAGER)]


def test_every_settings_button_fits_telegram_limit() -> None:
    i18n = create_i18n()
    with i18n.context(), i18n.use_locale("ru"):
        markups = (main_menu(), timezone_menu(), time_menu())
    for markup in markups:
        for row in markup.inline_keyboard:
            for button in row:
                assert button.callback_data is not None
                assert len(button.callback_data.encode()) <= 64, button.callback_data
                SettingsCb.unpack(button.callback_data)
