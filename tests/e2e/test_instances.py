"""Two `chatcrm run` processes in webhook mode on one PostgreSQL and one Redis, behind the
shipped nginx site (tests/fixtures/nginx.py; the round-robin Balancer where nginx is not
installed): one scheduler leader; every reminder, digest, claim escalation and email once;
a dialog that goes on across the instances, its messages handled in order; the leader's
SIGKILL taken over within 15 s with nothing due in the gap lost; /metrics scraped and
checked against the updates the test sent; JSON logs without the token."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import time as dt_time
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select, text

from crm.models import Company, DigestLog, Manager, Task, utcnow
from crm.models.enums import Role
from crm.services import outbox
from crm.storage import Database
from tests.fixtures import claims, factories
from tests.fixtures.botapi_stub import BotAPIStub, TgUser, message_update
from tests.fixtures.cluster import Instance, deliver, instance_env, metric
from tests.fixtures.nginx import front
from tests.fixtures.services import REDIS_URL, service_missing
from tests.fixtures.smtp_server import SmtpServer

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ANNA = TgUser(7701, "Anna", language_code="en")
HEAD = TgUser(7702, "Helen", language_code="en")
TEAM = [TgUser(7710 + n, f"Manager{n}", language_code="en") for n in range(4)]
TAKEOVER_SECONDS = 15.0


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(postgres_url)
    async with database.engine.begin() as conn:
        names = await conn.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        tables = ", ".join(f'"{n}"' for n in names if n != "alembic_version")
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    client = Redis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.flushdb(), 5)
    except Exception as exc:
        service_missing("Redis", f"{REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    yield REDIS_URL


async def reminders(db: Database, people: list[int], each: int, due_in: float, tag: str) -> None:
    due = utcnow() + timedelta(seconds=due_in)
    async with db.uow() as uow:
        uow.session.add_all(
            Task(
                title=f"{tag}-{person}-{n}",
                due_at=due + timedelta(milliseconds=100 * n),
                assignee_id=person,
                status="open",
                kind="manual",
                reminded_late=False,
                snooze_count=0,
            )
            for n in range(each)
            for person in people
        )
        await uow.commit()


async def emails(db: Database, tag: str, count: int) -> None:
    async with db.uow() as uow:
        for n in range(count):
            await outbox.queue(
                uow,
                dedupe_key=f"{tag}-{n}",
                to_addr=f"client{n}@example.com",
                subject=f"{tag} {n}",
                body_text="Hello",
                kind="test",
            )
        await uow.commit()


def reminded(stub: BotAPIStub, tag: str) -> Counter[str]:
    """How many times each reminder titled `tag-…` reached its user."""
    seen: Counter[str] = Counter()
    for user in TEAM:
        for sent in stub.delivered_to(user.id):
            for word in sent.text.replace("<b>", " ").replace("</b>", " ").split():
                if word.startswith(f"{tag}-"):
                    seen[word] += 1
    return seen


def escalations(stub: BotAPIStub) -> list[str]:
    return [s.text for s in stub.delivered_to(HEAD.id) if "Claim #" in s.text]


async def leaders(*instances: Instance) -> list[float]:
    return [metric(await i.metrics(), "chatcrm_leader", role="scheduler") for i in instances]


async def eventually(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.1)


async def test_two_instances_share_the_work_and_survive_the_leaders_death(
    pg: Database, redis_url: str, postgres_url: str, tmp_path: Path
) -> None:
    sales = await factories.department(pg)
    head = await factories.staff(pg, Role.HEAD, sales.id, name="Helen", tg_id=HEAD.id)
    async with pg.uow() as uow:  # today's digest is due (a head since the day before)
        manager = await uow.session.get(Manager, head.id)
        assert manager is not None
        manager.digest_time = dt_time(0, 0)
        manager.created_at = utcnow() - timedelta(days=2)
        await uow.commit()
    await factories.staff(pg, Role.MANAGER, sales.id, name="Anna", tg_id=ANNA.id)
    team = [
        (await factories.staff(pg, Role.MANAGER, sales.id, name=u.first_name, tg_id=u.id)).id
        for u in TEAM
    ]
    # a claim long overdue: escalated to the head by the leader, once (its task's
    # reminder goes to the one who filed it, not to Anna, whose dialog is watched)
    filer = await factories.staff(pg, Role.MANAGER, sales.id, name="Filer", tg_id=7799)
    steel = await factories.raw_company(pg, filer, "Steel Works")
    await claims.file(pg, filer, steel.id, now=utcnow() - timedelta(days=10))
    smtp = SmtpServer().start()
    try:
        async with contextlib.AsyncExitStack() as stack:
            stub = await stack.enter_async_context(BotAPIStub())
            http = await stack.enter_async_context(
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
            )
            env = instance_env(
                stub,
                postgres_url,
                redis_url,
                "",  # the front's, once its backends are known
                LEADER_RETRY_SECONDS="1",
                REMINDER_SWEEP_SECONDS="1",
                SMTP_HOST="127.0.0.1",
                SMTP_PORT=str(smtp.port),
                SMTP_TLS="false",
                LOG_FORMAT="json",
            )
            first, second = Instance(env, tmp_path, "a"), Instance(env, tmp_path, "b")
            proxy = await stack.enter_async_context(front([first.base, second.base], tmp_path))
            for instance in (first, second):
                instance.env["WEBHOOK_URL"] = proxy.url + "/tg/hook"
            try:
                await asyncio.gather(first.start(), second.start())  # side by side: quicker
                await stub.wait_calls("setWebhook", 2, seconds=30)

                # one leader, whichever came first: `a` from now on
                elected = await leaders(first, second)
                assert sorted(elected) == [0.0, 1.0]
                a, b = (first, second) if elected[0] else (second, first)

                # a dialog started on one instance goes on on the other (state in Redis)
                sent = 0
                # as Telegram does: a chat's next update once the webhook answered the last,
                # not once the user saw the answer; the front alternates the instances
                rounds = [("/company", f"Romashka {n}", "/cancel") for n in range(3)]
                for steps in rounds:
                    for step in steps:
                        assert await deliver(stub, message_update(ANNA, step), http) == 200
                        sent += 1
                shown = await stub.wait_sent(ANNA.id, sent, seconds=30)
                for n in range(len(rounds)):  # each name was taken as the dialog's answer
                    assert "What is its name?" in shown[3 * n].text
                    assert "Industry?" in shown[3 * n + 1].text

                # every reminder once; the head's digest once; every email once
                await reminders(pg, team, 6, due_in=1, tag="first")
                await emails(pg, "first", 10)
                await eventually(
                    lambda: sum(reminded(stub, "first").values()) >= 24,
                    30,
                    "24 reminders delivered",
                )
                await eventually(lambda: smtp.count() >= 10, 30, "10 emails sent")
                await eventually(lambda: len(stub.delivered_to(HEAD.id)) >= 1, 30, "a digest")
                await eventually(lambda: bool(escalations(stub)), 30, "the claim escalated")

                # the counters of both instances add up to what was sent to them
                samples = [await a.metrics(), await b.metrics()]
                per_instance = [metric(s, "chatcrm_updates_total", type="message") for s in samples]
                assert sum(per_instance) == sent and min(per_instance) >= 1  # both served
                assert all(
                    metric(s, "chatcrm_update_seconds_count", type="message") > 0 for s in samples
                )
                claim_tasks = [s for s in stub.delivered_to(7799) if "Reminder:" in s.text]
                for _ in range(50):  # a send is counted when its answer is back: a moment
                    sent_by_a = metric(await a.metrics(), "chatcrm_reminders_sent_total")
                    if sent_by_a >= 24 + len(claim_tasks):
                        break
                    await asyncio.sleep(0.1)
                assert sent_by_a == 24 + len(claim_tasks)
                assert metric(samples[1], "chatcrm_reminders_sent_total") == 0
                assert (
                    sum(
                        metric(s, "chatcrm_bot_api_calls_total", method="sendMessage", result="ok")
                        for s in samples
                    )
                    >= 24 + sent
                )
                assert metric(samples[0], "chatcrm_outbox_emails", state="sent") == 10

                digest = len(stub.delivered_to(HEAD.id))

                # the leader killed: the other leads within 15 s; nothing due meanwhile lost
                await a.kill()
                killed = time.monotonic()
                await reminders(pg, team, 3, due_in=0, tag="gap")
                await emails(pg, "gap", 5)
                while (await leaders(b)) != [1.0]:
                    assert time.monotonic() - killed < TAKEOVER_SECONDS, "no takeover"
                    await asyncio.sleep(0.1)
                await eventually(
                    lambda: sum(reminded(stub, "gap").values()) >= 12,
                    30,
                    "12 reminders of the gap delivered",
                )
                await eventually(lambda: smtp.count() >= 15, 30, "15 emails sent")
                await asyncio.sleep(1.5)  # a sweep more: anything twice would show now

                # and the front sends the users to the survivor
                before = len(stub.sent_to(ANNA.id))
                assert await deliver(stub, message_update(ANNA, "/help"), http) == 200
                await stub.wait_sent(ANNA.id, before + 1, seconds=20)
                assert len(stub.delivered_to(HEAD.id)) == digest  # the new leader: no digest again
            finally:
                await asyncio.gather(first.stop(), second.stop())

            # structured logs: one JSON object a line, the token never in them
            records = [json.loads(line) for line in b.log.read_text().splitlines() if line]
            assert {"time", "level", "logger", "message"} <= set(records[0])
            assert any("now runs the scheduler" in r["message"] for r in records)
            assert stub.token not in b.log.read_text() + a.log.read_text()

            for tag, count in (("first", 24), ("gap", 12)):
                seen = reminded(stub, tag)
                assert len(seen) == count and set(seen.values()) == {1}, seen
            notices = Counter(escalations(stub))
            assert notices and set(notices.values()) == {1}, notices
            subjects = Counter(str(m["Subject"]) for m in smtp.messages)
            assert len(subjects) == 15 and set(subjects.values()) == {1}, subjects
            async with pg.uow() as uow:
                digests = await uow.session.scalar(select(func.count()).select_from(DigestLog))
                assert digests == 1
                names = select(func.count()).where(Company.name.like("Romashka%"))
                assert await uow.session.scalar(names) == 0  # every dialog was cancelled
    finally:
        smtp.stop()
