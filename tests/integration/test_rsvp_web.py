"""The RSVP and unsubscribe pages through the bot's real HTTP app (aiohttp test client)."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update

from bot.web import create_web_app
from crm.models import Contact, Event, EventInvitee, utcnow
from crm.models.enums import Role
from crm.services import events
from crm.services.events import EventInput, Segment
from crm.settings import Settings
from crm.storage import Database
from tests.fixtures import factories
from tests.fixtures.events import company, contact

BASE = "https://crm.example.com"


async def invitation(db: Database, language: str = "en") -> tuple[Event, EventInvitee]:
    anna = await factories.staff(db, name="Anna", language=language)
    firm = await company(db, anna, "Steel")
    await contact(db, anna, "Ivan <Petrov>", "ivan@steel.example", firm.id)
    view = await events.create(
        db.uow(),
        anna,
        EventInput(
            title="Seminar & <Coffee>",
            starts_at=(utcnow() + timedelta(days=3)).replace(microsecond=0),
            place="Hall A",
        ),
    )
    await events.add_invitees(db.uow(), anna, view.event.id, Segment())
    async with db.uow() as uow:
        invitee = (await uow.session.scalars(select(EventInvitee))).one()
    return view.event, invitee


def client_for(db: Database) -> TestClient:
    settings = Settings(_env_file=None, public_base_url=BASE)  # type: ignore[call-arg]
    return TestClient(TestServer(create_web_app(settings, db)))


async def status_of(db: Database, invitee_id: int) -> str:
    async with db.uow() as uow:
        value = await uow.session.scalar(
            select(EventInvitee.status).where(EventInvitee.id == invitee_id)
        )
    return str(value)


async def test_get_shows_post_records_head_changes_nothing(db):
    """A mail scanner fetches every link (HEAD, GET): only the person's POST answers."""
    _event, invitee = await invitation(db)
    async with client_for(db) as client:
        for path in (f"/rsvp/{invitee.token}/yes", f"/rsvp/{invitee.token}/no"):
            assert (await client.head(path)).status == 200
            resp = await client.get(path)
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/html")
            assert resp.headers["Cache-Control"] == "no-store"
            page = await resp.text()
            assert "Seminar &amp; &lt;Coffee&gt;" in page and "Hall A" in page
            assert f'<form method="post" action="{path}">' in page
        assert await status_of(db, invitee.id) == "invited"
        page = await (await client.get(f"/rsvp/{invitee.token}/yes")).text()
        assert "Ivan &lt;Petrov&gt;, will you come?" in page and "Yes, I will come" in page
        resp = await client.post(f"/rsvp/{invitee.token}/yes")
        assert resp.status == 200
        page = await resp.text()
        assert "Thank you, Ivan &lt;Petrov&gt;!" in page and "you will come" in page
        assert f'href="{BASE}/rsvp/{invitee.token}/no"' in page
        assert await status_of(db, invitee.id) == "accepted"
        # the person changes their mind: the page says what they answered before
        page = await (await client.get(f"/rsvp/{invitee.token}/no")).text()
        assert "Your answer now: you will come." in page
        assert await status_of(db, invitee.id) == "accepted"
        resp = await client.post(f"/rsvp/{invitee.token}/no")
        assert resp.status == 200 and "will not come" in await resp.text()
    assert await status_of(db, invitee.id) == "declined"


async def test_the_page_shows_the_event_as_it_is_now(db):
    from crm.services import event_changes

    event, invitee = await invitation(db)
    anna = await factories.staff(db, name="Boss", role=Role.DIRECTOR)
    await event_changes.change(
        db.uow(),
        anna,
        event.id,
        event_changes.EventChanges(title="Winter seminar", place="Hall B"),
        base_url=BASE,
        sender="events@example.com",
    )
    async with client_for(db) as client:
        page = await (await client.get(f"/rsvp/{invitee.token}/yes")).text()
        assert "Winter seminar" in page and "Hall B" in page and "Hall A" not in page
        await event_changes.cancel(
            db.uow(), anna, event.id, base_url=BASE, sender="events@example.com"
        )
        resp = await client.get(f"/rsvp/{invitee.token}/yes")
        assert resp.status == 410 and "cancelled" in await resp.text()
        resp = await client.post(f"/rsvp/{invitee.token}/yes")
        assert resp.status == 410
    assert await status_of(db, invitee.id) == "invited"


async def test_pages_are_in_the_inviters_language(db):
    _event, invitee = await invitation(db, language="ru")
    async with client_for(db) as client:
        page = await (await client.get(f"/rsvp/{invitee.token}/yes")).text()
        assert "вы придёте?" in page and "Да, приду" in page
        page = await (await client.post(f"/rsvp/{invitee.token}/yes")).text()
        assert "Спасибо" in page and "вы придёте" in page
        page = await (await client.get(f"/unsubscribe/{invitee.token}")).text()
        assert "Отписаться" in page


async def test_after_the_start_the_answer_is_refused(db):
    _event, invitee = await invitation(db)
    async with db.uow() as uow:
        await uow.session.execute(update(Event).values(starts_at=utcnow() - timedelta(minutes=5)))
        await uow.commit()
    async with client_for(db) as client:
        for send in (client.get, client.post):
            resp = await send(f"/rsvp/{invitee.token}/no")
            assert resp.status == 409
            assert "already started" in await resp.text()
    assert await status_of(db, invitee.id) == "invited"


async def test_unknown_token_is_a_plain_404(db):
    await invitation(db)
    async with client_for(db) as client:
        for path in (
            "/rsvp/not-a-real-token-not-a-real/yes",
            "/unsubscribe/not-a-real-token-not-a-real",
            "/rsvp/x/yes",
        ):
            resp = await client.get(path)
            assert resp.status == 404
            page = await resp.text()
            assert "not valid" in page and "Traceback" not in page
        assert (await client.post("/unsubscribe/not-a-real-token-xx")).status == 404
        assert (await client.post("/rsvp/not-a-real-token-not-a-real/yes")).status == 404
        assert (await client.get("/rsvp/whatever-token-here-123/maybe")).status == 404


async def test_unsubscribe_confirmation_and_one_click_post(db):
    _event, invitee = await invitation(db)
    async with client_for(db) as client:
        resp = await client.get(f"/unsubscribe/{invitee.token}")
        page = await resp.text()
        assert resp.status == 200
        assert f'action="/unsubscribe/{invitee.token}"' in page and 'method="post"' in page
        async with db.uow() as uow:  # showing the page changes nothing
            person = await uow.session.get(Contact, invitee.contact_id)
            assert person is not None and not person.email_opt_out
        # RFC 8058: the mail client posts List-Unsubscribe=One-Click
        resp = await client.post(
            f"/unsubscribe/{invitee.token}", data={"List-Unsubscribe": "One-Click"}
        )
        assert resp.status == 200 and "unsubscribed" in await resp.text()
        resp = await client.post(f"/unsubscribe/{invitee.token}")  # again: fine
        assert resp.status == 200
    async with db.uow() as uow:
        person = await uow.session.get(Contact, invitee.contact_id)
        assert person is not None and person.email_opt_out


async def test_pages_may_not_be_framed_nor_load_anything(db):
    """A framed RSVP button is a clickjacking target; the page needs nothing from elsewhere."""
    _event, invitee = await invitation(db)
    async with client_for(db) as client:
        for path in (f"/rsvp/{invitee.token}/yes", "/rsvp/not-a-token/yes"):
            resp = await client.get(path)
            policy = resp.headers["Content-Security-Policy"]
            assert "frame-ancestors 'none'" in policy
            assert "default-src 'none'" in policy and "form-action 'self'" in policy
            assert resp.headers["X-Frame-Options"] == "DENY"
