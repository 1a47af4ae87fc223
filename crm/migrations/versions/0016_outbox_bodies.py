"""outbox bodies: the text, HTML and .ics of each email in a table of their own

The worker updates an outbox row twice per email (claimed, then sent). SQLite writes a
whole record again on every update, so with the bodies (about 12 KB an invitation) in
the row each claim and mark rewrote them, overflow pages and all: the claim and mark
statements alone ran at about 2,000 rows/s, against 7,400 with the bodies apart
(bench/bench_outbox_floor.py). The subject stays in the row (300 characters at most).

SQLite drops the columns with ALTER TABLE … DROP COLUMN (3.35+), not by a batch copy.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 18:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

BODIES = ('body_text', 'body_html', 'ics')


def upgrade() -> None:
    op.create_table('outbound_email_bodies',
    sa.Column('email_id', sa.Integer(), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=True),
    sa.Column('ics', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['email_id'], ['outbound_emails.id'], name=op.f('fk_outbound_email_bodies_email_id_outbound_emails'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('email_id', name=op.f('pk_outbound_email_bodies'))
    )
    op.execute(
        'INSERT INTO outbound_email_bodies (email_id, body_text, body_html, ics)'
        ' SELECT id, body_text, body_html, ics FROM outbound_emails'
    )
    for column in BODIES:
        op.drop_column('outbound_emails', column)


def downgrade() -> None:
    # NOT NULL needs a default to be added to a filled table; the bodies are copied back
    op.add_column('outbound_emails', sa.Column('body_text', sa.Text(), server_default='', nullable=False))
    op.add_column('outbound_emails', sa.Column('body_html', sa.Text(), nullable=True))
    op.add_column('outbound_emails', sa.Column('ics', sa.Text(), nullable=True))
    op.execute(
        'UPDATE outbound_emails SET'
        ' body_text = COALESCE((SELECT b.body_text FROM outbound_email_bodies b'
        '  WHERE b.email_id = outbound_emails.id), \'\'),'
        ' body_html = (SELECT b.body_html FROM outbound_email_bodies b'
        '  WHERE b.email_id = outbound_emails.id),'
        ' ics = (SELECT b.ics FROM outbound_email_bodies b WHERE b.email_id = outbound_emails.id)'
    )
    if op.get_bind().dialect.name == 'postgresql':
        op.alter_column('outbound_emails', 'body_text', server_default=None)
    op.drop_table('outbound_email_bodies')
