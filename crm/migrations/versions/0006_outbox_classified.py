"""outbox classified: what each email is and whom it concerns, its Message-ID and SMTP
code, mailings, and events that are cancelled or whose failures were told

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 09:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import crm.models.base


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mailings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('segment', sa.String(length=300), nullable=False),
    sa.Column('queued', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['managers.id'], name=op.f('fk_mailings_author_id_managers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailings'))
    )
    with op.batch_alter_table('mailings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mailings_author_id'), ['author_id'], unique=False)

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', crm.models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failures_notified_at', crm.models.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table('outbound_emails', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='invitation', nullable=False))
        batch_op.add_column(sa.Column('event_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('invitee_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('contact_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('mailing_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('message_id', sa.String(length=250), nullable=True))
        batch_op.add_column(sa.Column('error_code', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sender_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('unsubscribe_token', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_outbound_emails_event_status', ['event_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbound_emails_mailing_id'), ['mailing_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_outbound_emails_unsubscribe_token'), ['unsubscribe_token'])
        batch_op.create_foreign_key(batch_op.f('fk_outbound_emails_event_id_events'), 'events', ['event_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_outbound_emails_invitee_id_event_invitees'), 'event_invitees', ['invitee_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_outbound_emails_contact_id_contacts'), 'contacts', ['contact_id'], ['id'], ondelete='SET NULL')
        batch_op.create_foreign_key(batch_op.f('fk_outbound_emails_mailing_id_mailings'), 'mailings', ['mailing_id'], ['id'], ondelete='SET NULL')

    # invitations queued before: their event and invitee are in the dedupe key
    # ("event:<event id>:inv:<invitee id>:seq:<n>")
    emails = sa.table(
        'outbound_emails',
        sa.column('id', sa.Integer()),
        sa.column('dedupe_key', sa.String(200)),
        sa.column('event_id', sa.Integer()),
        sa.column('invitee_id', sa.Integer()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(emails.c.id, emails.c.dedupe_key).where(emails.c.dedupe_key.like('event:%:inv:%'))
    ).all()
    for row in rows:
        parts = row.dedupe_key.split(':')
        if len(parts) >= 4 and parts[1].isdigit() and parts[3].isdigit():
            bind.execute(
                sa.update(emails)
                .where(emails.c.id == row.id)
                .values(event_id=int(parts[1]), invitee_id=int(parts[3]))
            )


def downgrade() -> None:
    with op.batch_alter_table('outbound_emails', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbound_emails_mailing_id_mailings'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_outbound_emails_contact_id_contacts'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_outbound_emails_invitee_id_event_invitees'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_outbound_emails_event_id_events'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_outbound_emails_unsubscribe_token'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_outbound_emails_mailing_id'))
        batch_op.drop_index('ix_outbound_emails_event_status')
        batch_op.drop_column('unsubscribe_token')
        batch_op.drop_column('sender_name')
        batch_op.drop_column('error_code')
        batch_op.drop_column('message_id')
        batch_op.drop_column('mailing_id')
        batch_op.drop_column('contact_id')
        batch_op.drop_column('invitee_id')
        batch_op.drop_column('event_id')
        batch_op.drop_column('kind')

    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('failures_notified_at')
        batch_op.drop_column('cancelled_at')

    with op.batch_alter_table('mailings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mailings_author_id'))

    op.drop_table('mailings')
