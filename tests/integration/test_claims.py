from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from crm.access import Actor
from crm.errors import AccessDenied, Conflict, InvalidInput
from crm.models import (
    AuditEntry,
    Claim,
    ClaimCause,
    Company,
    Contact,
    Deal,
)
from crm.models.enums import Role
from crm.services import claims, playbooks
from crm.services.claims import AttachmentInput, PlanTaskInput
from crm.services.playbooks import PlaybookInput
from crm.storage import Database
from notifications import claims_escalation
from tests.fixtures import factories
from tests.fixtures.claims import T0, at, file, set_status, written
from tests.fixtures.queries import count
from tests.fixtures.worlds import two_departments

STATUSES = ["new", "investigating", "resolved", "rejected"]
ALLOWED = {
    ("new", "investigating"),
    ("new", "rejected"),
    ("investigating", "resolved"),
    ("investigating", "rejected"),
}
REOPEN = {("resolved", "investigating"), ("rejected", "investigating")}


async def company(db: Database, curator: Actor, name: str) -> Company:
    async with db.uow() as uow:
        row = Company(name=name, name_key=name.lower(), curator_id=curator.id, tags=[])
        uow.session.add(row)
        await uow.commit()
    return row


async def status_of(db: Database, claim_id: int) -> str:
    async with db.uow() as uow:
        return str(await uow.session.scalar(select(Claim.status).where(Claim.id == claim_id)))


# ---------------------------------------------------------------- filing


async def test_file_creates_claim_attachments_plan_and_audit(db: Database) -> None:
    w = await two_departments(db)
    async with db.uow() as uow:
        contact = Contact(name="Ivan", company_id=w.company.id, curator_id=w.anna.id)
        deal = Deal(company_id=w.company.id, curator_id=w.anna.id, title="Pallets")
        uow.session.add_all([contact, deal])
        await uow.commit()
    view = await file(
        db,
        w.anna,
        w.company.id,
        text="  Half of the pallets\nwere broken  ",
        contact_id=contact.id,
        deal_id=deal.id,
        cause="delivery",
        priority="high",
        compensation="1 500,5",
        attachments=[
            AttachmentInput("AgADphoto", "photo", 300_000),
            AttachmentInput("BQADdoc", "document", 20 * 1024 * 1024),
        ],
    )
    claim = view.claim
    assert (claim.status, claim.cause, claim.priority) == ("new", "delivery", "high")
    assert claim.text == "Half of the pallets\nwere broken"
    assert claim.compensation == Decimal("1500.50")
    assert claim.responsible_id == w.anna.id == view.responsible.id
    assert claim.due_at == T0 + timedelta(days=3)
    assert view.company.name == "Romashka" and view.contact is not None
    assert view.contact.name == "Ivan"
    assert [(a.file_id, a.kind, a.file_size) for a in view.attachments] == [
        ("AgADphoto", "photo", 300_000),
        ("BQADdoc", "document", 20 * 1024 * 1024),
    ]
    # filed 12:30 Moscow time: at once, then 09:00 Moscow (06:00 UTC) one and two days on
    assert [(t.title, t.due_at, t.assignee_id, t.kind, t.claim_id) for t in view.plan] == [
        ("Contact the client", T0, w.anna.id, "claim_plan", claim.id),
        ("Investigate the cause", at("2026-03-03 06:00"), w.anna.id, "claim_plan", claim.id),
        ("Propose a resolution", at("2026-03-04 06:00"), w.anna.id, "claim_plan", claim.id),
    ]
    again = await claims.get(db.uow(), w.anna, claim.id)  # shown again, from the database
    assert [a.file_id for a in again.attachments] == ["AgADphoto", "BQADdoc"]
    assert len(again.open_plan_tasks) == 3
    async with db.uow() as uow:
        audit = list(await uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(e.entity, e.action) for e in audit] == [
        ("claims", "create"),
        ("claim_attachments", "create"),
        ("claim_attachments", "create"),
        ("tasks", "create"),
        ("tasks", "create"),
        ("tasks", "create"),
    ]
    assert audit[0].changes["priority"] == [None, "high"]
    assert all(e.actor_id == w.anna.id for e in audit)


async def test_plan_steps_never_fall_after_the_claims_due_date(db: Database) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id, priority="critical")
    assert view.claim.due_at == T0 + timedelta(days=1)
    assert [t.due_at for t in view.plan] == [T0, at("2026-03-03 06:00"), T0 + timedelta(days=1)]


async def test_plan_titles_follow_the_language_of_who_files(db: Database) -> None:
    w = await two_departments(db)
    russian = Actor(w.anna.id, Role.MANAGER, w.dept_id, language="ru")
    view = await file(db, russian, w.company.id)
    assert view.plan[0].title == "Связаться с клиентом"


async def test_a_directors_claims_playbook_is_the_plan(db: Database) -> None:
    w = await two_departments(db)
    await playbooks.create(
        db.uow(),
        w.director,
        PlaybookInput(
            name="Claims",
            kind="claim",
            steps=[("Call back", 0), ("Lab test", 3), ("Report", 5)],
            is_default=True,
        ),
    )
    view = await file(db, w.anna, w.company.id, priority="high")  # due T0 + 3 days
    assert [(t.title, t.due_at, t.kind) for t in view.plan] == [
        ("Call back", T0, "claim_plan"),
        ("Lab test", at("2026-03-05 06:00"), "claim_plan"),
        ("Report", T0 + timedelta(days=3), "claim_plan"),  # 7 March capped to the due time
    ]


async def test_responsible_can_be_another_manager_of_the_team(db: Database) -> None:
    w = await two_departments(db)
    colleague = await factories.staff(db, department_id=w.dept_id, name="Vera")
    view = await file(db, w.head, w.company.id, responsible_id=colleague.id)
    assert view.claim.responsible_id == colleague.id
    assert {t.assignee_id for t in view.plan} == {colleague.id}
    with pytest.raises(AccessDenied):  # a manager of another department is out of reach
        await file(db, w.head, w.company.id, responsible_id=w.boris.id)


@pytest.mark.parametrize(
    ("data", "error", "field"),
    [
        ({"text": "   "}, InvalidInput, "text"),
        ({"text": "x" * 4001}, InvalidInput, "text"),
        ({"priority": "urgent"}, InvalidInput, "priority"),
        ({"cause": "weather"}, InvalidInput, "cause"),
        ({"compensation": "-1"}, InvalidInput, "compensation"),
        (
            {"attachments": [AttachmentInput("AgAD", "photo", 20 * 1024 * 1024 + 1)]},
            InvalidInput,
            "attachment",
        ),
        ({"attachments": [AttachmentInput("AgAD", "video", 10)]}, InvalidInput, "attachment"),
        ({"attachments": [AttachmentInput("  ", "photo", 10)]}, InvalidInput, "attachment"),
        ({"contact_id": 999_999}, InvalidInput, "contact"),
        ({"deal_id": 999_999}, InvalidInput, "deal"),
    ],
)
async def test_bad_input_is_refused_and_nothing_written(
    db: Database, data: dict[str, object], error: type[Exception], field: str
) -> None:
    w = await two_departments(db)
    with pytest.raises(error) as err:
        await file(db, w.anna, w.company.id, **data)
    assert getattr(err.value, "field", None) == field
    assert await written(db) == (0, 0, 0, 0)


async def test_too_large_photo_names_the_limit(db: Database) -> None:
    w = await two_departments(db)
    big = AttachmentInput("AgAD", "photo", 25_000_000)
    with pytest.raises(InvalidInput) as err:
        await file(db, w.anna, w.company.id, attachments=[big])
    assert (err.value.field, err.value.reason, err.value.params["max_mb"]) == (
        "attachment",
        "too_large",
        20,
    )


async def test_unknown_or_foreign_company_is_refused_alike(db: Database) -> None:
    w = await two_departments(db)
    with pytest.raises(AccessDenied) as unknown:
        await file(db, w.anna, w.company.id + 999)
    with pytest.raises(AccessDenied) as foreign:
        await file(db, w.boris, w.company.id)
    assert str(unknown.value) == str(foreign.value) == "company not found or not accessible"
    assert await written(db) == (0, 0, 0, 0)


async def test_contact_and_deal_must_belong_to_the_company(db: Database) -> None:
    w = await two_departments(db)
    elsewhere = await company(db, w.anna, "Lютик")
    async with db.uow() as uow:
        contact = Contact(name="Petr", company_id=elsewhere.id, curator_id=w.anna.id)
        deal = Deal(company_id=elsewhere.id, curator_id=w.anna.id, title="Other")
        uow.session.add_all([contact, deal])
        await uow.commit()
    with pytest.raises(InvalidInput, match="contact"):
        await file(db, w.anna, w.company.id, contact_id=contact.id)
    with pytest.raises(InvalidInput, match="deal"):
        await file(db, w.anna, w.company.id, deal_id=deal.id)
    assert await count(db, Claim) == 0


# ---------------------------------------------------------------- causes and SLA settings


async def test_default_causes_are_seeded_once_and_directors_add_more(db: Database) -> None:
    w = await two_departments(db)
    for _ in range(2):
        async with db.uow() as uow:
            await claims.ensure_default_causes(uow)
            await uow.commit()
    codes = [c.code for c in await claims.list_causes(db.uow())]
    assert codes == ["billing", "delivery", "quality", "service", "other"]  # the catch-all last
    with pytest.raises(AccessDenied):
        await claims.add_cause(db.uow(), w.head, "packaging", "Packaging")
    await claims.add_cause(db.uow(), w.director, "Packaging", "Packaging")
    with pytest.raises(Conflict):
        await claims.add_cause(db.uow(), w.director, "packaging", "Again")
    with pytest.raises(InvalidInput):
        await claims.add_cause(db.uow(), w.director, "bad code!", "Bad")
    assert await count(db, ClaimCause) == 6
    view = await file(db, w.anna, w.company.id, cause="packaging")
    assert view.claim.cause == "packaging"


@pytest.mark.parametrize(
    ("priority", "days"), [("critical", 1), ("high", 3), ("normal", 7), ("low", 14)]
)
async def test_due_date_follows_the_default_sla(db: Database, priority: str, days: int) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id, priority=priority)
    assert view.claim.due_at == T0 + timedelta(days=days)
    assert view.claim.created_at == T0


async def test_director_changes_the_sla(db: Database) -> None:
    w = await two_departments(db)
    with pytest.raises(AccessDenied):
        await claims.set_sla_days(db.uow(), w.head, {"normal": 2})
    with pytest.raises(InvalidInput):
        await claims.set_sla_days(db.uow(), w.director, {"normal": 0})
    assert await claims.sla_days(db.uow()) == {"critical": 1, "high": 3, "normal": 7, "low": 14}
    await claims.set_sla_days(db.uow(), w.director, {"normal": 5, "critical": 2})
    assert await claims.sla_days(db.uow()) == {"critical": 2, "high": 3, "normal": 5, "low": 14}
    assert (await file(db, w.anna, w.company.id)).claim.due_at == T0 + timedelta(days=5)
    async with db.uow() as uow:
        entry = (
            await uow.session.scalars(select(AuditEntry).where(AuditEntry.entity == "app_settings"))
        ).one()
    assert entry.actor_id == w.director.id
    assert entry.changes["claim_sla_days"][1]["normal"] == 5


@pytest.mark.parametrize(
    ("tz", "filed_local", "due_local"),
    [
        # Moscow has no DST: 1 day later, same wall-clock time.
        ("Europe/Moscow", "2026-03-07 23:30", "2026-03-08 23:30"),
        # New York moves its clocks on 2026-03-08: 24 hours later reads one hour later.
        ("America/New_York", "2026-03-07 12:00", "2026-03-08 13:00"),
        # Across midnight and the date line.
        ("Pacific/Auckland", "2026-03-08 10:00", "2026-03-09 10:00"),
    ],
)
async def test_due_date_in_the_users_timezone(
    db: Database, tz: str, filed_local: str, due_local: str
) -> None:
    w = await two_departments(db)
    zone = ZoneInfo(tz)
    filed = datetime.strptime(filed_local, "%Y-%m-%d %H:%M").replace(tzinfo=zone)
    view = await file(db, w.anna, w.company.id, priority="critical", now=filed.astimezone(UTC))
    stored = (await claims.get(db.uow(), w.anna, view.claim.id)).claim.due_at
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored.astimezone(zone).strftime("%Y-%m-%d %H:%M") == due_local
    assert stored - filed == timedelta(days=1)


# ---------------------------------------------------------------- the status machine


@pytest.mark.parametrize(("current", "target"), list(itertools.product(STATUSES, STATUSES)))
async def test_every_transition(db: Database, current: str, target: str) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id)
    claim_id = view.claim.id
    await set_status(db, claim_id, current, close_plan=True)
    before = await written(db)
    kwargs = {"resolution": "Replaced the pallets"} if target in ("resolved", "rejected") else {}

    if (current, target) in ALLOWED:
        changed = await claims.change_status(db.uow(), w.anna, claim_id, target, **kwargs)
        assert changed.claim.status == target == await status_of(db, claim_id)
        async with db.uow() as uow:
            last = (
                await uow.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()))
            ).first()
        assert last is not None
        assert (last.entity, last.entity_id, last.action, last.actor_id) == (
            "claims",
            claim_id,
            "update",
            w.anna.id,
        )
        assert last.changes["status"] == [current, target]
        return

    with pytest.raises(Conflict) as err:  # a manager may never do it
        await claims.change_status(db.uow(), w.anna, claim_id, target, **kwargs)
    assert err.value.reason == "transition"
    assert err.value.params["from_status"] == current
    assert await status_of(db, claim_id) == current
    assert await written(db) == before

    if (current, target) in REOPEN:  # ... but a head or director reopens a closed claim
        reopened = await claims.change_status(db.uow(), w.head, claim_id, target)
        assert reopened.claim.status == "investigating"
        assert reopened.claim.resolved_at is None
    else:
        with pytest.raises(Conflict):
            await claims.change_status(db.uow(), w.director, claim_id, target, **kwargs)
        assert await written(db) == before


async def test_allowed_transitions_for_the_buttons(db: Database) -> None:
    w = await two_departments(db)
    assert claims.allowed_transitions(w.anna, "new") == ["investigating", "rejected"]
    assert claims.allowed_transitions(w.anna, "investigating") == ["rejected", "resolved"]
    assert claims.allowed_transitions(w.anna, "resolved") == []
    assert claims.allowed_transitions(w.head, "rejected") == ["investigating"]


async def test_resolving_needs_a_resolution_and_closed_plan(db: Database) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id)
    claim_id = view.claim.id
    await claims.change_status(db.uow(), w.anna, claim_id, "investigating")
    before = await written(db)
    with pytest.raises(InvalidInput) as err:
        await claims.change_status(db.uow(), w.anna, claim_id, "resolved", resolution="  ")
    assert err.value.field == "resolution"
    with pytest.raises(Conflict) as open_tasks:
        await claims.change_status(db.uow(), w.anna, claim_id, "resolved", resolution="Done")
    assert (open_tasks.value.reason, open_tasks.value.params["count"]) == ("open_tasks", 3)
    with pytest.raises(AccessDenied):  # only a head or director may override
        await claims.change_status(
            db.uow(), w.anna, claim_id, "resolved", resolution="Done", override=True
        )
    assert await written(db) == before
    assert await status_of(db, claim_id) == "investigating"

    later = T0 + timedelta(hours=30)
    resolved = await claims.change_status(
        db.uow(),
        w.head,
        claim_id,
        "resolved",
        resolution="Replaced, 5% discount",
        compensation="1000",
        override=True,
        now=later,
    )
    assert resolved.claim.status == "resolved"
    assert resolved.claim.resolved_at == later
    assert resolved.claim.resolution == "Replaced, 5% discount"
    assert resolved.claim.compensation == Decimal("1000.00")
    assert {t.status for t in resolved.plan} == {"cancelled"}
    async with db.uow() as uow:
        actions = list(
            await uow.session.execute(
                select(AuditEntry.entity, AuditEntry.action, AuditEntry.actor_id)
                .where(AuditEntry.id > before[3])
                .order_by(AuditEntry.id)
            )
        )
    assert actions[:2] == [("claims", "update", w.head.id), ("claims", "override", w.head.id)]
    assert [a[:2] for a in actions[2:]] == [("tasks", "update")] * 3


async def test_resolving_with_the_plan_done_needs_no_override(db: Database) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id)
    await claims.change_status(db.uow(), w.anna, view.claim.id, "investigating")
    await set_status(db, view.claim.id, "investigating", close_plan=True)
    done = await claims.change_status(
        db.uow(), w.anna, view.claim.id, "resolved", resolution="Replaced"
    )
    assert done.claim.status == "resolved"
    assert {t.status for t in done.plan} == {"done"}


async def test_status_change_by_someone_without_access_writes_nothing(db: Database) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id)
    before = await written(db)
    for intruder in (w.boris, w.other_head):
        with pytest.raises(AccessDenied) as err:
            await claims.change_status(db.uow(), intruder, view.claim.id, "investigating")
        assert str(err.value) == "claim not found or not accessible"
    with pytest.raises(AccessDenied):
        await claims.change_status(db.uow(), w.anna, view.claim.id + 999, "investigating")
    assert await status_of(db, view.claim.id) == "new"
    assert await written(db) == before


# ---------------------------------------------------------------- access


async def test_manager_sees_only_claims_of_their_clients(db: Database) -> None:
    w = await two_departments(db)
    bcompany = await company(db, w.boris, "Lyutik")
    mine = await file(db, w.anna, w.company.id, priority="high")
    theirs = await file(db, w.boris, bcompany.id)

    with pytest.raises(AccessDenied) as foreign:
        await claims.get(db.uow(), w.anna, theirs.claim.id)
    with pytest.raises(AccessDenied) as missing:
        await claims.get(db.uow(), w.anna, theirs.claim.id + 999)
    assert str(foreign.value) == str(missing.value)
    assert (await claims.get(db.uow(), w.anna, mine.claim.id)).claim.id == mine.claim.id

    async def ids(actor: Actor, **kw: object) -> tuple[list[int], int]:
        rows, total = await claims.list_claims(db.uow(), actor, **kw)  # type: ignore[arg-type]
        return [r.claim.id for r in rows], total

    assert await ids(w.anna) == ([mine.claim.id], 1)
    assert await ids(w.boris) == ([theirs.claim.id], 1)
    assert await ids(w.head) == ([mine.claim.id], 1)
    assert await ids(w.other_head) == ([theirs.claim.id], 1)
    assert sorted((await ids(w.director))[0]) == sorted([mine.claim.id, theirs.claim.id])
    assert await ids(w.director, priority="high") == ([mine.claim.id], 1)
    assert await ids(w.director, status="resolved") == ([], 0)
    assert (await ids(w.director, status="open"))[1] == 2
    rows, _ = await claims.list_claims(db.uow(), w.anna)
    assert (rows[0].company_name, rows[0].responsible_name) == ("Romashka", "Anna")
    with pytest.raises(InvalidInput):
        await claims.list_claims(db.uow(), w.anna, status="lost")


async def test_curator_keeps_seeing_a_claim_handed_to_someone_else(db: Database) -> None:
    w = await two_departments(db)
    colleague = await factories.staff(db, department_id=w.dept_id, name="Vera")
    view = await file(db, w.head, w.company.id, responsible_id=colleague.id)
    assert (await claims.get(db.uow(), w.anna, view.claim.id)).responsible.name == "Vera"
    assert (await claims.get(db.uow(), colleague, view.claim.id)).claim.id == view.claim.id
    assert (await claims.list_claims(db.uow(), colleague))[1] == 1


# ---------------------------------------------------------------- plan and attachments


async def test_edit_plan_adds_and_cancels_tasks(db: Database) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id)
    first = view.plan[0].id
    later = T0 + timedelta(hours=5)
    edited = await claims.edit_plan(
        db.uow(),
        w.anna,
        view.claim.id,
        add=[PlanTaskInput("Visit the warehouse", 2)],
        remove=[first],
        now=later,
    )
    assert [(t.title, t.status) for t in edited.plan if t.id == first] == [
        ("Contact the client", "cancelled")
    ]
    added = [t for t in edited.plan if t.title == "Visit the warehouse"]
    assert len(added) == 1 and added[0].due_at == at("2026-03-04 06:00")
    assert len(edited.open_plan_tasks) == 3
    before = await written(db)
    with pytest.raises(Conflict):  # already cancelled
        await claims.edit_plan(db.uow(), w.anna, view.claim.id, remove=[first])
    with pytest.raises(InvalidInput):
        await claims.edit_plan(db.uow(), w.anna, view.claim.id, add=[PlanTaskInput(" ")])
    with pytest.raises(AccessDenied):
        await claims.edit_plan(db.uow(), w.boris, view.claim.id, add=[PlanTaskInput("X")])
    assert await written(db) == before


async def test_add_attachment_later(db: Database) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id)
    await claims.add_attachment(
        db.uow(), w.anna, view.claim.id, AttachmentInput("BQAD", "document", None)
    )
    with pytest.raises(InvalidInput):
        await claims.add_attachment(
            db.uow(), w.anna, view.claim.id, AttachmentInput("AgAD", "photo", 21 * 2**20)
        )
    with pytest.raises(AccessDenied):
        await claims.add_attachment(db.uow(), w.boris, view.claim.id, AttachmentInput("AgAD"))
    shown = await claims.get(db.uow(), w.head, view.claim.id)
    assert [(a.file_id, a.kind, a.file_size) for a in shown.attachments] == [
        ("BQAD", "document", None)
    ]


# ---------------------------------------------------------------- notification and escalation


async def test_urgent_claims_notify_the_manager_and_head_at_once(db: Database) -> None:
    w = await two_departments(db)
    second_head = await factories.staff(db, Role.HEAD, department_id=w.dept_id, name="Hugo")
    for priority in ("high", "critical"):
        view = await file(db, w.anna, w.company.id, priority=priority)
        targets = await claims.notify_targets_on_file(db.uow(), view.claim)
        assert targets == [w.anna.id, w.head.id, second_head.id]
        notice = await claims_escalation.on_filed(db.uow(), view.claim)
        assert notice is not None and (notice.level, notice.manager_ids) == (0, targets)
    for priority in ("low", "normal"):
        view = await file(db, w.anna, w.company.id, priority=priority)
        assert await claims.notify_targets_on_file(db.uow(), view.claim) == []
        assert await claims_escalation.on_filed(db.uow(), view.claim) is None


async def escalate(db: Database, now: datetime) -> list[tuple[int, int, list[int]]]:
    """What the scheduler's job does at `now`: select, mark each once, list the notices."""
    notices = await claims_escalation.due_escalations(db.uow(), now)
    return [(n.claim_id, n.level, n.manager_ids) for n in notices]


async def test_escalation_to_the_head_at_due_then_the_director_as_long_again(
    db: Database,
) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id)  # normal: 7 days, due T0 + 7 d
    cid = view.claim.id
    due = T0 + timedelta(days=7)
    assert await escalate(db, due - timedelta(seconds=1)) == []
    assert await escalate(db, due) == [(cid, 1, [w.head.id])]
    assert await escalate(db, due) == []
    assert await escalate(db, due + timedelta(days=3)) == []
    assert await claims.mark_escalated(db.uow(), cid, 1) == []  # a second scheduler: nothing
    director_at = due + timedelta(days=7)
    assert await escalate(db, director_at - timedelta(seconds=1)) == []
    assert await escalate(db, director_at) == [(cid, 2, [w.director.id])]
    assert await escalate(db, director_at + timedelta(days=30)) == []
    assert await claims.mark_escalated(db.uow(), cid, 2) == []
    async with db.uow() as uow:
        audit = list(
            await uow.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "escalate").order_by(AuditEntry.id)
            )
        )
    assert [e.changes["escalation_level"] for e in audit] == [[0, 1], [1, 2]]


async def test_escalation_after_downtime_jumps_to_the_director_and_tells_the_head(
    db: Database,
) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id, priority="critical")  # due T0 + 1 d
    assert await escalate(db, T0 + timedelta(days=5)) == [
        (view.claim.id, 2, [w.head.id, w.director.id])
    ]
    assert await escalate(db, T0 + timedelta(days=6)) == []


async def test_closed_claims_do_not_escalate_and_headless_departments_go_to_director(
    db: Database,
) -> None:
    w = await two_departments(db)
    closed = await file(db, w.anna, w.company.id, priority="critical")
    await claims.change_status(db.uow(), w.anna, closed.claim.id, "rejected", resolution="Dup")
    loner = await factories.staff(db, name="Lone")  # no department, so no head
    vasilek = await company(db, loner, "Vasilek")
    open_claim = await file(db, loner, vasilek.id, priority="critical")
    assert await escalate(db, T0 + timedelta(days=1)) == [(open_claim.claim.id, 1, [w.director.id])]
    assert await claims.mark_escalated(db.uow(), closed.claim.id, 1) == []


async def test_two_schedulers_racing_escalate_once(db: Database) -> None:
    w = await two_departments(db)
    view = await file(db, w.anna, w.company.id, priority="critical")
    results = await asyncio.gather(
        *(claims.mark_escalated(db.uow(), view.claim.id, 1) for _ in range(4))
    )
    assert sorted(results, key=len) == [[], [], [], [w.head.id]]
    async with db.uow() as uow:
        escalations = await uow.session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "escalate")
        )
    assert escalations == 1
