"""GET /metrics of the running bot (webhook mode, over HTTP): the counters match the work
the test made it do; a malformed webhook body is a 400 and counts nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import aiohttp

from crm.access import Actor
from crm.models import Task, utcnow
from crm.models.enums import Role
from crm.services import imports, outbox
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.botapi_stub import TgUser, message_update
from tests.fixtures.cluster import deliver, metric, parse_metrics
from tests.fixtures.running_bot import running_bot

ANNA = TgUser(7801, "Anna", language_code="en")


async def scrape(http: aiohttp.ClientSession, port: int) -> dict:  # type: ignore[type-arg]
    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse_metrics(await response.text())


async def arrange(db: Database) -> Actor:
    anna = await factories.staff(db, Role.MANAGER, name="Anna", tg_id=ANNA.id)
    async with db.uow() as uow:
        uow.session.add(  # fell due while no bot ran: delivered when it starts
            Task(
                title="Call Romashka",
                due_at=utcnow() - timedelta(minutes=5),
                assignee_id=anna.id,
                status="open",
                kind="manual",
                reminded_late=False,
                snooze_count=0,
            )
        )
        for n in range(2):  # no SMTP_HOST: they wait in the outbox
            await outbox.queue(
                uow,
                dedupe_key=f"m{n}",
                to_addr=f"c{n}@example.com",
                subject="Hi",
                body_text="Hi",
                kind="test",
            )
        await uow.commit()
    return anna


async def test_metrics_count_what_the_bot_did(db: Database, tmp_path: Path) -> None:
    anna = await arrange(db)
    async with (
        running_bot(db, webhook=True) as (stub, settings),
        aiohttp.ClientSession() as http,
    ):
        await stub.wait_sent(ANNA.id)  # the overdue reminder
        stub.fail_next(1, retry_after=1, methods={"sendMessage"})  # one 429, waited out
        for text in ("/help", "/today", "/help"):
            before = len(stub.delivered_to(ANNA.id))
            assert await deliver(stub, message_update(ANNA, text), http) == 200
            await stub.wait_for(lambda b=before: len(stub.delivered_to(ANNA.id)) > b)
        hook = stub.calls_of("setWebhook")[-1].params
        headers = {"X-Telegram-Bot-Api-Secret-Token": hook["secret_token"]}
        for body in (b"{not json", b'{"message": 5}', b"[]"):
            async with http.post(str(hook["url"]), data=body, headers=headers) as answer:
                assert answer.status == 400
                assert "Traceback" not in await answer.text()
        csv = tmp_path / "companies.csv"
        csv.write_text("name\nRomashka\n", encoding="utf-8")
        runs = imports.RUNS["ok"]
        await imports.import_path(db.uow(), anna, csv)

        samples = await scrape(http, settings.http_port)

    assert metric(samples, "chatcrm_updates_total", type="message") == 3
    assert metric(samples, "chatcrm_update_errors_total", type="message") == 0
    assert metric(samples, "chatcrm_update_seconds_count", type="message") == 3
    assert metric(samples, "chatcrm_update_seconds_bucket", type="message", le="+Inf") == 3
    assert metric(samples, "chatcrm_bot_api_calls_total", method="sendMessage", result="429") == 1
    sent = metric(samples, "chatcrm_bot_api_calls_total", method="sendMessage", result="ok")
    assert sent == len([s for s in stub.delivered_to(ANNA.id) if s.method == "sendMessage"])
    assert metric(samples, "chatcrm_bot_api_calls_total", method="setWebhook", result="ok") == 1
    assert metric(samples, "chatcrm_reminders_sent_total") == 1
    assert metric(samples, "chatcrm_reminders", state="overdue") == 0
    assert metric(samples, "chatcrm_outbox_emails", state="pending") == 2
    assert metric(samples, "chatcrm_outbox_emails", state="sent") == 0
    assert metric(samples, "chatcrm_leader", role="scheduler") == 1
    assert metric(samples, "chatcrm_leader", role="outbox") == 1
    assert metric(samples, "chatcrm_import_runs_total", result="ok") == runs + 1
