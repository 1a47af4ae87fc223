"""outbox pending queue: a claim reads its batch, not the whole backlog

A claim takes the oldest due rows. Served by ix_outbound_emails_status_next_attempt it
read and sorted every pending row to keep 200: 55–63 ms a claim with 100,000 queued
(SQLite and PostgreSQL), 1.2–3.3 ms with this partial index, which holds only the pending
rows in the order they were queued (a row leaves it when claimed, so claims and marks do
not write it).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 21:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        'ix_outbound_emails_pending_queue',
        'outbound_emails',
        ['created_at', 'id'],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index('ix_outbound_emails_pending_queue', table_name='outbound_emails')
