"""End to end over HTTP: the real bot main loop long-polls the local Bot API stub."""

from __future__ import annotations

import aiohttp
from sqlalchemy import func, select

from crm.models import Manager
from crm.services import people
from crm.storage import Database
from tests.fixtures.botapi_stub import TgUser, callback_update, message_update, press
from tests.fixtures.running_bot import BOSS, running_bot

ANNA = TgUser(9002, "Anna", None, "anna", "en-US")
BORIS = TgUser(9003, "Boris", None, None, "ru")
STRANGER = TgUser(9004, "Eve", None, None, "en")


async def managers(db: Database) -> int:
    async with db.uow() as uow:
        return int(await uow.session.scalar(select(func.count()).select_from(Manager)) or 0)


async def test_registration_help_and_language_over_http(db: Database) -> None:
    async with running_bot(db) as (stub, settings):
        # the bot set its command menu in both languages
        menus = {c.params.get("language_code") for c in stub.calls_of("setMyCommands")}
        assert menus == {None, "ru"}

        # a stranger gets one polite line and nothing else, whatever they send
        [hint] = await stub.ask(message_update(STRANGER, "/company Romashka"), STRANGER.id)
        assert hint.text == (
            "This bot is for staff only. Ask your manager for an invite link, "
            "then open it to start."
        )
        stub.push_update(callback_update(STRANGER, "st:lang:en"))
        await stub.wait_calls("answerCallbackQuery")
        assert stub.calls_of("answerCallbackQuery")[0].params["show_alert"] is True
        [refused] = await stub.ask(message_update(STRANGER, "/start"), STRANGER.id)
        assert "invite link" in refused.text
        assert len(stub.sent_to(STRANGER.id)) == 2
        assert await managers(db) == 0

        # the director from ADMIN_IDS registers with a bare /start, greeted in Russian
        [welcome] = await stub.ask(message_update(BOSS, "/start"), BOSS.id)
        assert welcome.text.startswith("Добро пожаловать, Olga Ivanova! Ваша роль: директор.")
        assert "/invite" in welcome.text
        boss = await people.actor_for(db.uow(), BOSS.id)
        assert boss is not None and boss.is_director

        # an invite; the deep link payload registers Anna as a manager, in her language
        invite = await people.create_invite(db.uow(), boss, "manager")
        [hello] = await stub.ask(message_update(ANNA, f"/start {invite.code}"), ANNA.id)
        assert hello.text.startswith("Welcome, Anna! You are registered as manager.")
        assert "/invite" not in hello.text
        # a manager has no daily digest: neither the welcome nor /help promises a digest time
        assert "/settings — language and timezone\n" in hello.text
        assert "digest" not in hello.text
        assert "digest time" not in (await stub.ask(message_update(ANNA, "/help"), ANNA.id))[0].text
        assert "/settings — язык, часовой пояс и время ежедневной сводки" in welcome.text
        [used] = await stub.ask(message_update(BORIS, f"/start {invite.code}"), BORIS.id)
        assert used.text == ("Этот код приглашения уже использован. Попросите новую ссылку.")
        assert await managers(db) == 2

        # /help differs by role
        [anna_help] = await stub.ask(message_update(ANNA, "/help"), ANNA.id)
        assert "/company" in anna_help.text and "/deals" in anna_help.text
        assert "/invite" not in anna_help.text and "/reassign" not in anna_help.text
        [boss_help] = await stub.ask(message_update(BOSS, "/help"), BOSS.id)
        assert "Что я умею" in boss_help.text
        assert "/invite" in boss_help.text and "/reassign" in boss_help.text
        # option words in Russian where the parsers take Russian ones, else in English
        assert "/invite <i>менеджер|руководитель|директор</i>" in boss_help.text
        assert "/log <i>кто; звонок|встреча|письмо|сообщение|визит; вх|исх;" in boss_help.text
        assert "/report <i>abc|xyz|matrix|funnel|" in boss_help.text

        # /settings: the director switches to English; the confirmation and what follows are English
        [menu] = await stub.ask(message_update(BOSS, "/settings"), BOSS.id)
        assert "Язык: Русский" in menu.text
        [edited] = await stub.ask(press(BOSS, menu, "English"), BOSS.id)
        assert edited.method == "editMessageText" and "Language: English" in edited.text
        await stub.wait_calls("answerCallbackQuery", 2)
        assert stub.alerts()[-1] == "Language: English. Saved."
        [english_help] = await stub.ask(message_update(BOSS, "/help"), BOSS.id)
        assert english_help.text.startswith("<b>What I can do</b>")
        assert "/invite <i>manager|head|director</i>" in english_help.text

        # the bot's own HTTP server answers its health check
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{settings.http_port}/healthz") as response:
                assert response.status == 200
                body = await response.json()
        assert body["status"] == "ok"


async def test_unknown_code_is_refused_in_the_users_language(sqlite_db: Database) -> None:
    async with running_bot(sqlite_db) as (stub, _settings):
        [answer] = await stub.ask(message_update(ANNA, f"/start {'x' * 64}"), ANNA.id)
        assert answer.text == "This invite code is not valid. Ask for a new invite link."
        assert await managers(sqlite_db) == 0


async def test_webhook_mode_checks_the_secret(sqlite_db: Database) -> None:
    async with running_bot(sqlite_db, webhook=True) as (stub, settings):
        [hook] = stub.calls_of("setWebhook")
        assert hook.params["url"] == settings.webhook_url
        secret = hook.params["secret_token"]
        assert settings.bot_token is not None
        assert settings.bot_token.get_secret_value() not in secret
        update = message_update(BOSS, "/start")
        async with aiohttp.ClientSession() as http:
            assert settings.webhook_url is not None
            async with http.post(settings.webhook_url, json=update) as forged:
                assert forged.status == 401
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
            async with http.post(settings.webhook_url, json=update, headers=headers) as real:
                assert real.status == 200
        [welcome] = await stub.wait_sent(BOSS.id)
        assert welcome.text.startswith("Добро пожаловать")
        assert stub.calls_of("getUpdates") == []
