from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from crm import search
from crm.access import Actor
from crm.models import Company, SearchEntry, SearchTerm
from crm.models.enums import Role, SearchKind
from crm.services import companies
from crm.services.companies import CompanyInput
from crm.storage import Database
from tests.fixtures import factories

CONTACT_ID = 501


@dataclass
class Team:
    anna: Actor
    boris: Actor
    head: Actor
    outsider_head: Actor
    director: Actor


async def _team(db: Database) -> Team:
    dept = await factories.department(db)
    other = await factories.department(db, "Other")
    return Team(
        anna=await factories.staff(db, department_id=dept.id),
        boris=await factories.staff(db, department_id=dept.id, name="Boris"),
        head=await factories.staff(db, Role.HEAD, department_id=dept.id),
        outsider_head=await factories.staff(db, Role.HEAD, department_id=other.id),
        director=await factories.staff(db, Role.DIRECTOR),
    )


async def _contact(
    db: Database,
    owner: Actor,
    contact_id: int,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    company: str | None = None,
) -> None:
    """What crm.services.contacts indexes for a contact."""
    async with db.uow() as uow:
        await search.index(
            uow.session,
            SearchKind.CONTACT,
            contact_id,
            owner.id,
            f"{name}, {company}" if company else name,
            [name, "Коммерческий директор", email, company],
            [phone],
        )
        await uow.commit()


async def _find(db: Database, actor: Actor, query: str, **kwargs: object) -> list[search.Hit]:
    async with db.uow().read_only() as uow:
        return await search.search(uow.session, actor, query, **kwargs)  # type: ignore[arg-type]


async def _people(db: Database, team: Team) -> None:
    await _contact(
        db,
        team.anna,
        CONTACT_ID,
        "Петров Иван Сергеевич",
        phone="+79123456789",
        email="ivan.petrov@mail.ru",
        company="ООО Ромашка",
    )
    await _contact(db, team.anna, 502, "Петренко Ольга Ивановна", phone="+79161112233")
    await _contact(db, team.anna, 503, "Сидоров Пётр Иванович", email="sidorov@yandex.ru")
    await _contact(db, team.anna, 504, "Петрова Анна Сергеевна", phone="+79031234567")


NAME_QUERIES = [
    "петров",
    "Петров",
    "ПЕТРОВ",
    "петрв",  # one letter missing
    "пеитров",  # one letter too many
    "петорв",  # two letters swapped
    "Petrov",  # transliteration
    "petrv",
    "Петров Иван",
    "Иван Петров",
    "Петрв Иван Сергеевич",
    "Петров Иван Никифорович",  # a word the record lacks: all words but one match
]


async def test_finds_a_person_by_name_with_case_typos_and_transliteration(db: Database) -> None:
    team = await _team(db)
    await _people(db, team)
    for query in NAME_QUERIES:
        hits = await _find(db, team.anna, query)
        assert hits, query
        assert (hits[0].kind, hits[0].entity_id) == (SearchKind.CONTACT, CONTACT_ID), query
        assert hits[0].title == "Петров Иван Сергеевич, ООО Ромашка"


async def test_finds_a_phone_by_any_usual_spelling(db: Database) -> None:
    team = await _team(db)
    await _people(db, team)
    for query in (
        "+7 912 345-67-89",
        "89123456789",
        "912 345 67 89",
        "9123456789",
        "8 (912) 345-67-89",
        "345-67-89",
    ):
        hits = await _find(db, team.anna, query)
        assert [h.entity_id for h in hits] == [CONTACT_ID], query


async def test_finds_an_email_by_its_start(db: Database) -> None:
    team = await _team(db)
    await _people(db, team)
    for query in ("ivan.pe", "ivan.petrov@mail.ru", "sidorov@"):
        hits = await _find(db, team.anna, query)
        assert hits, query
    assert (await _find(db, team.anna, "ivan.pe"))[0].entity_id == CONTACT_ID
    assert (await _find(db, team.anna, "sidorov@"))[0].entity_id == 503


async def test_finds_companies_through_the_service_and_follows_renames(db: Database) -> None:
    team = await _team(db)
    romashka = await companies.create(db.uow(), team.anna, CompanyInput(name="ООО «Ромашка»"))
    granit = await companies.create(
        db.uow(), team.anna, CompanyInput(name="ГранитСнаб", industry="Строительство")
    )
    await companies.create(db.uow(), team.anna, CompanyInput(name="Ромашкин и партнёры"))

    assert (await _find(db, team.anna, "ромашка"))[0].entity_id == romashka.id
    assert (await _find(db, team.anna, "ромашкв"))[0].entity_id == romashka.id
    assert (await _find(db, team.anna, "romashka"))[0].entity_id == romashka.id
    assert (await _find(db, team.anna, "снаб"))[0].entity_id == granit.id  # inside a word
    assert (await _find(db, team.anna, "гранитснб"))[0].entity_id == granit.id

    await companies.update(db.uow(), team.anna, granit.id, name="Базальт")
    assert await _find(db, team.anna, "гранитснаб") == []
    assert [h.entity_id for h in await _find(db, team.anna, "базальт")] == [granit.id]


async def test_kinds_filter_and_deals(db: Database) -> None:
    team = await _team(db)
    company = await companies.create(db.uow(), team.anna, CompanyInput(name="Ромашка"))
    async with db.uow() as uow:
        await search.index(
            uow.session,
            SearchKind.DEAL,
            77,
            team.anna.id,
            "Поставка кирпича",
            ["Поставка кирпича", company.name],
        )
        await uow.commit()
    deals = await _find(db, team.anna, "ромашка", kinds=[SearchKind.DEAL])
    assert [(h.kind, h.entity_id) for h in deals] == [(SearchKind.DEAL, 77)]
    both = await _find(db, team.anna, "ромашка")
    assert (both[0].kind, both[0].entity_id) == (SearchKind.COMPANY, company.id)
    assert (await _find(db, team.anna, "кирпчиа"))[0].entity_id == 77

    async with db.uow() as uow:
        await search.unindex(uow.session, SearchKind.DEAL, 77)
        await uow.commit()
    assert await _find(db, team.anna, "кирпича") == []


METACHARACTERS = [
    "%",
    "_",
    "'; DROP TABLE companies; --",
    '"',
    '"Ромашка',
    "*",
    "Ром*",
    "NEAR(",
    "NEAR(ромашка петров, 2)",
    "ромашка OR петров",
    "ромашка AND NOT петров",
    "^ромашка",
    "a:b",
    "{text}: x",
    "100%_",
    "\\",
    "\x00",
]


async def test_sql_and_fts_metacharacters_are_harmless(db: Database) -> None:
    team = await _team(db)
    await companies.create(db.uow(), team.anna, CompanyInput(name="Ромашка"))
    await _people(db, team)
    for query in METACHARACTERS:
        hits = await _find(db, team.anna, query)
        if query in ("%", "_", "*", "100%_", "\\", '"', "\x00"):
            assert hits == [], query  # a wildcard must not match everything
    assert (await _find(db, team.anna, '"Ромашка'))[0].title == "Ромашка"
    assert (await _find(db, team.anna, "Ром*"))[0].title == "Ромашка"
    async with db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Company)) == 1


async def test_query_is_cut_at_100_characters(db: Database) -> None:
    team = await _team(db)
    await companies.create(db.uow(), team.anna, CompanyInput(name="Ромашка"))
    assert await _find(db, team.anna, "ромашка " + "ы" * 5000)
    assert await _find(db, team.anna, "ы" * 100 + " ромашка") == []


async def test_each_role_finds_only_what_it_may_see(db: Database) -> None:
    team = await _team(db)
    mine = await companies.create(db.uow(), team.anna, CompanyInput(name="Ромашка Анны"))
    his = await companies.create(db.uow(), team.boris, CompanyInput(name="Ромашка Бориса"))
    await _contact(db, team.boris, 900, "Ромашкин Борис Борисович")

    def found(hits: list[search.Hit]) -> set[tuple[SearchKind, int]]:
        return {(h.kind, h.entity_id) for h in hits}

    assert found(await _find(db, team.anna, "ромашка")) == {(SearchKind.COMPANY, mine.id)}
    assert found(await _find(db, team.anna, "ромашкп")) == {(SearchKind.COMPANY, mine.id)}
    assert found(await _find(db, team.anna, "бориса")) == set()
    assert found(await _find(db, team.boris, "ромашк")) == {
        (SearchKind.COMPANY, his.id),
        (SearchKind.CONTACT, 900),
    }
    everything = {(SearchKind.COMPANY, mine.id), (SearchKind.COMPANY, his.id)}
    everything.add((SearchKind.CONTACT, 900))
    assert found(await _find(db, team.head, "ромашк")) == everything
    assert found(await _find(db, team.director, "ромашк")) == everything
    assert found(await _find(db, team.outsider_head, "ромашк")) == set()


async def test_short_queries_scan_without_error(db: Database) -> None:
    team = await _team(db)
    await companies.create(db.uow(), team.anna, CompanyInput(name="ИП Ли"))
    assert [h.title for h in await _find(db, team.anna, "ли")] == ["ИП Ли"]
    assert await _find(db, team.anna, "") == []
    assert await _find(db, team.anna, "   ") == []


async def test_vocabulary_holds_the_words_and_their_deletions(db: Database) -> None:
    team = await _team(db)
    await companies.create(db.uow(), team.anna, CompanyInput(name="Ромашка"))
    await companies.create(db.uow(), team.anna, CompanyInput(name="Ромашка Север"))
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(SearchTerm.variant).where(SearchTerm.word == "ромашка")
        )
        variants = set(rows.scalars())
        indexed = await uow.session.scalar(select(func.count()).select_from(SearchEntry))
    assert variants == {
        "ромашка",
        "омашка",
        "рмашка",
        "роашка",
        "ромшка",
        "ромака",
        "ромаша",
        "ромашк",
    }
    assert indexed == 2
