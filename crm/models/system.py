"""Tables that serve the system rather than the sales process."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.models.base import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """Append-only: who changed what, when, old and new value."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OutboundEmail(Base):
    """The outbox: every email is a row first, then sent.

    `next_attempt_at`: when a pending row may next be tried (NULL or past: due now; set
    to now + backoff after a failed attempt). `claimed_at`: when a worker last claimed the
    row (pending → sending); a row in "sending" claimed too long ago is put back.
    `sent_at`: when the row was sent (NULL until then).

    The message's text, HTML and .ics (about 12 KB for an invitation) live in
    `OutboundEmailBody`, a table of their own: a claim and a mark change this row, and
    SQLite writes a whole record again on every update, overflow pages and all
    (bench/bench_outbox_floor.py). `body_text`, `body_html` and `ics` read and write them
    through `body` for code that holds an ORM object (the worker reads them by SQL).
    """

    __tablename__ = "outbound_emails"
    # the worker's queue: pending rows in the order they were queued, so that a claim reads
    # its batch and no more however long the backlog (the query names 'pending' literally)
    __table_args__ = (
        Index("ix_outbound_emails_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_outbound_emails_event_status", "event_id", "status"),
        Index(
            "ix_outbound_emails_pending_queue",
            "created_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    to_addr: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # what the email is (invitation | update | cancel | mailing | test) and whom it concerns
    kind: Mapped[str] = mapped_column(String(16), default="invitation", server_default="invitation")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    invitee_id: Mapped[int | None] = mapped_column(
        ForeignKey("event_invitees.id", ondelete="SET NULL")
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    mailing_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailings.id", ondelete="SET NULL"), index=True
    )
    # set when queued and never changed: every attempt carries the same Message-ID
    message_id: Mapped[str | None] = mapped_column(String(250))
    # the SMTP reply code of the last failure (None: no reply, e.g. the connection failed)
    error_code: Mapped[int | None] = mapped_column(Integer)
    # the display name of the From header (the company setting), SMTP_FROM's when None
    sender_name: Mapped[str | None] = mapped_column(String(200))
    # the unsubscribe link of an email that is not an invitation (a mailing)
    unsubscribe_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    body: Mapped[OutboundEmailBody | None] = relationship(
        lazy="selectin", cascade="all, delete-orphan", passive_deletes=True
    )
    body_text: AssociationProxy[str] = association_proxy(
        "body", "body_text", creator=lambda value: OutboundEmailBody(body_text=value)
    )
    body_html: AssociationProxy[str | None] = association_proxy(
        "body", "body_html", creator=lambda value: OutboundEmailBody(body_text="", body_html=value)
    )
    ics: AssociationProxy[str | None] = association_proxy(
        "body", "ics", creator=lambda value: OutboundEmailBody(body_text="", ics=value)
    )


class OutboundEmailBody(Base):
    """What an outbox row sends: one row per email, written in the same transaction."""

    __tablename__ = "outbound_email_bodies"

    email_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_emails.id", ondelete="CASCADE"), primary_key=True
    )
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    ics: Mapped[str | None] = mapped_column(Text)


class Mailing(Base):
    """A personalised email to a segment of contacts: the template as written, the
    segment it went to; each recipient's email is a row of the outbox."""

    __tablename__ = "mailings"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("managers.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    segment: Mapped[str] = mapped_column(String(300))
    queued: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SearchEntry(Base):
    """One row per searchable record, its text normalised for fuzzy matching.

    SQLite indexes `text` with an FTS5 trigram table kept in step by triggers;
    PostgreSQL with a pg_trgm GIN index. Both are created by the migrations.
    """

    __tablename__ = "search_index"
    __table_args__ = (UniqueConstraint("kind", "entity_id", name="uq_search_index_kind_entity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int] = mapped_column(ForeignKey("managers.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)


class SearchTerm(Base):
    """The words of the search index, each also under its one-letter-deleted variants.

    Looking up a query word and its own deletions here finds every indexed word one
    typo away from it (the symmetric-delete method) with a few primary-key probes,
    whatever the size of the index; search then asks for those exact words.
    """

    __tablename__ = "search_terms"

    variant: Mapped[str] = mapped_column(String(40), primary_key=True)
    word: Mapped[str] = mapped_column(String(40), primary_key=True)


class AppSetting(Base):
    """Company-wide settings a director changes from the bot."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class FSMRecord(Base):
    """aiogram dialog state kept in the database so that it survives a restart."""

    __tablename__ = "fsm_states"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class DigestLog(Base):
    """One row per daily digest sent: a manager gets at most one per local day.

    The scheduler claims (manager_id, local_date) with an insert-or-skip before sending,
    so a restart or a second process never sends the same day's digest twice.
    """

    __tablename__ = "digest_log"
    __table_args__ = (
        UniqueConstraint("manager_id", "local_date", name="uq_digest_log_manager_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    manager_id: Mapped[int] = mapped_column(ForeignKey("managers.id", ondelete="CASCADE"))
    local_date: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
