"""Contacts: the people at client companies — within the actor's reach.

A contact belongs to the curator of its company (so that reassigning a company's
clients moves its people too); a contact without a company belongs to whoever
added it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, func, or_, select

from crm import validation
from crm.access import Actor, visible_owner
from crm.errors import AccessDenied, InvalidInput
from crm.models import Company, Contact
from crm.models.enums import DecisionRole
from crm.services import companies
from crm.services.companies import CompanyInput
from crm.services.contact_index import TITLE_MAX as TITLE_MAX
from crm.services.contact_index import reindex
from crm.services.duplicates import door
from crm.uow import UnitOfWork

TELEGRAM_MATCHES_MAX = 20
_USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{3,31}")
_TG_LINK = re.compile(r"^(?:https?://)?(?:www\.)?(?:t\.me|telegram\.me)/", re.IGNORECASE)


@dataclass
class ContactInput:
    name: str
    phone: str | None = None
    email: str | None = None
    company_id: int | None = None
    company_name: str | None = None
    position: str | None = None
    tg_username: str | None = None
    tg_user_id: int | None = None
    decision_role: str | None = None
    notes: str | None = None
    birthday: date | None = None
    email_opt_out: bool = False


def tg_username(value: str | None) -> str | None:
    """'@Ivan_P', 't.me/ivan_p' -> 'ivan_p' (Telegram usernames ignore case)."""
    if value is None or not value.strip():
        return None
    name = _TG_LINK.sub("", value.strip()).lstrip("@")
    if not _USERNAME.fullmatch(name):
        raise InvalidInput("tg_username", "invalid")
    return name.lower()


def _tg_user_id(value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**53:
        raise InvalidInput("tg_user_id", "invalid")
    return value


def _decision_role(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    return validation.choice("decision_role", value, DecisionRole).value


def _flag(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(field, "invalid")
    return value


def clean(data: ContactInput) -> dict[str, object]:
    """Validated column values (plus `company_name`); raises before anything is written."""
    company_name = validation.optional_text("company_name", data.company_name)
    if company_name is not None and data.company_id is not None:
        raise InvalidInput("company_name", "ambiguous")
    return {
        "name": validation.text("name", data.name),
        "phone": validation.phone(data.phone),
        "email": validation.email(data.email),
        "company_id": data.company_id,
        "company_name": company_name,
        "position": validation.optional_text("position", data.position),
        "tg_username": tg_username(data.tg_username),
        "tg_user_id": _tg_user_id(data.tg_user_id),
        "decision_role": _decision_role(data.decision_role),
        "notes": validation.optional_text("notes", data.notes, validation.TEXT_MAX),
        "birthday": validation.birthday(data.birthday),
        "email_opt_out": _flag("email_opt_out", data.email_opt_out),
    }


async def get(uow: UnitOfWork, actor: Actor, contact_id: int) -> Contact:
    """The contact (its company loaded) if the actor may see it; AccessDenied alike otherwise."""
    contact = await uow.session.scalar(
        select(Contact).where(Contact.id == contact_id, visible_owner(actor, Contact.curator_id))
    )
    if contact is None:
        raise AccessDenied("contact")
    return contact


async def _company(
    uow: UnitOfWork, actor: Actor, company_id: int | None, company_name: str | None
) -> Company | None:
    """The company to link: a visible one by id, by name (or one like it), or a new one
    of that name; a name matching a client out of the actor's reach is refused.

    A new company is created in the caller's transaction, audited and indexed.
    """
    if company_id is not None:
        return await companies.get(uow, actor, company_id)
    if company_name is None:
        return None
    values = companies.clean(CompanyInput(name=company_name))
    match = await door.company_match(uow.session, actor, company_name)
    door.refuse_foreign(match)
    if match is not None:
        return await uow.session.get(Company, match.entity_id)
    company = Company(**values, curator_id=actor.id)
    uow.session.add(company)
    await uow.flush()
    uow.audit_created(actor.id, company)
    await companies.reindex(uow, company)
    return company


async def create(uow: UnitOfWork, actor: Actor, data: ContactInput) -> Contact:
    values = clean(data)
    company_id, company_name = values.pop("company_id"), values.pop("company_name")
    async with uow:
        company = await _company(uow, actor, company_id, company_name)  # type: ignore[arg-type]
        door.refuse_foreign(
            await door.contact_match(
                uow.session,
                actor,
                str(values["name"]),
                values["phone"],  # type: ignore[arg-type]
                values["email"],  # type: ignore[arg-type]
                company.id if company is not None else None,
            )
        )
        contact = Contact(
            **values,
            company_id=company.id if company is not None else None,
            curator_id=company.curator_id if company is not None else actor.id,
        )
        uow.session.add(contact)
        await uow.flush()
        uow.audit_created(actor.id, contact)
        await reindex(uow, contact, company)
        await uow.session.refresh(contact, ["company"])
        await uow.commit()
    return contact


async def update(uow: UnitOfWork, actor: Actor, contact_id: int, **changes: object) -> Contact:
    """Change some fields; a new company (by id or name) also makes its curator the contact's."""
    allowed = set(ContactInput.__dataclass_fields__)
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(sorted(unknown)[0], "unknown_field")
    async with uow:
        contact = await get(uow, actor, contact_id)
        current = ContactInput(
            **{k: getattr(contact, k) for k in allowed - {"company_name"}}  # type: ignore[arg-type]
        )
        if "company_name" in changes and "company_id" not in changes:
            current.company_id = None
        for key, value in changes.items():
            setattr(current, key, value)
        cleaned = clean(current)
        company_id, company_name = cleaned.pop("company_id"), cleaned.pop("company_name")
        values = {k: v for k, v in cleaned.items() if k in changes}
        company = contact.company
        if "company_id" in changes or "company_name" in changes:
            company = await _company(uow, actor, company_id, company_name)  # type: ignore[arg-type]
            values["company_id"] = company.id if company is not None else None
            if company is not None:
                values["curator_id"] = company.curator_id
        if uow.apply(actor.id, contact, **values):
            await uow.flush()
            await uow.session.refresh(contact, ["company"])
            await reindex(uow, contact, company)
        await uow.commit()
    return contact


async def set_email_opt_out(
    uow: UnitOfWork, actor: Actor, contact_id: int, opt_out: bool = True
) -> Contact:
    return await update(uow, actor, contact_id, email_opt_out=opt_out)


async def list_for_company(
    uow: UnitOfWork, actor: Actor, company_id: int, offset: int = 0, limit: int = 10
) -> tuple[list[Contact], int]:
    async with uow.read_only():
        await companies.get(uow, actor, company_id)
        scope = and_(Contact.company_id == company_id, visible_owner(actor, Contact.curator_id))
        total = await uow.session.scalar(select(func.count()).select_from(Contact).where(scope))
        rows = await uow.session.scalars(
            select(Contact)
            .where(scope)
            .order_by(Contact.name, Contact.id)
            .offset(offset)
            .limit(limit)
        )
        return list(rows), int(total or 0)


async def find_by_telegram(
    uow: UnitOfWork,
    actor: Actor,
    tg_user_id: int | None = None,
    username: str | None = None,
    phone: str | None = None,
) -> list[Contact]:
    """Visible contacts matching any of a Telegram id, username or phone; best match first.

    Made for forwarded messages and shared contact cards, so an unusable username
    or phone is simply no criterion rather than an error.
    """
    wanted: list[ColumnElement[bool]] = []
    if tg_user_id is not None:
        wanted.append(Contact.tg_user_id == tg_user_id)
    try:
        username_key = tg_username(username)
    except InvalidInput:
        username_key = None
    if username_key is not None:
        wanted.append(Contact.tg_username == username_key)
    try:
        phone_key = validation.phone(phone)
    except InvalidInput:
        phone_key = None
    if phone_key is not None:
        wanted.append(Contact.phone == phone_key)
    if not wanted:
        return []
    async with uow.read_only():
        rows = list(
            await uow.session.scalars(
                select(Contact)
                .where(or_(*wanted), visible_owner(actor, Contact.curator_id))
                .order_by(Contact.id)
                .limit(TELEGRAM_MATCHES_MAX)
            )
        )

    def strength(contact: Contact) -> tuple[bool, bool, bool]:
        return (
            tg_user_id is not None and contact.tg_user_id == tg_user_id,
            username_key is not None and contact.tg_username == username_key,
            phone_key is not None and contact.phone == phone_key,
        )

    rows.sort(key=strength, reverse=True)
    return rows


async def remember_telegram(
    uow: UnitOfWork, actor: Actor, contact_id: int, tg_user_id: int | None
) -> bool:
    """A visible contact without a Telegram user id keeps this one (met on a shared
    contact card, a forwarded message or a linked business chat); audited. One that has an
    id keeps its own. True if it changed."""
    if tg_user_id is None:
        return False
    value = _tg_user_id(tg_user_id)
    async with uow:
        contact = await get(uow, actor, contact_id)
        if contact.tg_user_id is not None or not uow.apply(actor.id, contact, tg_user_id=value):
            return False
        await uow.commit()
    return True
