"""outbox attempts: next_attempt_at and claimed_at instead of overloading sent_at

Until now a row that was not sent yet kept the moment of its last attempt in `sent_at`
(read by the backoff and the stuck check). Now `next_attempt_at` says when a pending row
may next be tried (NULL: at once), `claimed_at` when a worker took it, and `sent_at` only
when it was sent. Existing rows are carried over both ways.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 18:30:00
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

import crm.models.base


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# the outbox's backoff when this revision was written (wait after the n-th failed attempt)
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
)

emails = sa.table(
    'outbound_emails',
    sa.column('id', sa.Integer()),
    sa.column('status', sa.String(16)),
    sa.column('attempts', sa.Integer()),
    sa.column('next_attempt_at', crm.models.base.UTCDateTime(timezone=True)),
    sa.column('claimed_at', crm.models.base.UTCDateTime(timezone=True)),
    sa.column('sent_at', crm.models.base.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table('outbound_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', crm.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', crm.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_index('ix_outbound_emails_status_created')
        batch_op.create_index('ix_outbound_emails_status_next_attempt', ['status', 'next_attempt_at'], unique=False)

    bind = op.get_bind()
    unsent = emails.c.status != 'sent'
    # the last attempt of a row not sent yet was its last claim
    bind.execute(sa.update(emails).where(unsent).values(claimed_at=emails.c.sent_at))
    retried = bind.execute(
        sa.select(emails.c.id, emails.c.attempts, emails.c.sent_at).where(
            emails.c.status == 'pending', emails.c.attempts > 0, emails.c.sent_at.is_not(None)
        )
    ).all()
    for row in retried:
        wait = BACKOFF[min(max(row.attempts, 1), len(BACKOFF)) - 1]
        bind.execute(
            sa.update(emails)
            .where(emails.c.id == row.id)
            .values(next_attempt_at=row.sent_at + wait)
        )
    bind.execute(sa.update(emails).where(unsent).values(sent_at=None))


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(
        sa.update(emails).where(emails.c.status != 'sent').values(sent_at=emails.c.claimed_at)
    )
    with op.batch_alter_table('outbound_emails', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_emails_status_next_attempt')
        batch_op.create_index('ix_outbound_emails_status_created', ['status', 'created_at'], unique=False)
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('next_attempt_at')
