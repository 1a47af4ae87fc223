"""duplicates: companies.match_key, client requests, the merge log, "not a duplicate" marks

`match_key` (crm/matching.py company_key) is what the duplicate check at the door and
/duplicates compare; it is filled here for the companies already stored.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 12:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm.matching import company_key

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def _backfill() -> None:
    bind = op.get_bind()
    companies = sa.table('companies', sa.column('id', sa.Integer), sa.column('name', sa.String),
                         sa.column('match_key', sa.String))
    rows = bind.execute(sa.select(companies.c.id, companies.c.name)).all()
    for start in range(0, len(rows), 1000):
        chunk = rows[start:start + 1000]
        bind.execute(
            companies.update().where(companies.c.id == sa.bindparam('cid'))
            .values(match_key=sa.bindparam('key')),
            [{'cid': cid, 'key': company_key(name or '')} for cid, name in chunk],
        )


def upgrade() -> None:
    with op.batch_alter_table('companies') as batch:
        batch.add_column(sa.Column('match_key', sa.String(length=200), nullable=True))
    _backfill()
    with op.batch_alter_table('companies') as batch:
        batch.alter_column('match_key', existing_type=sa.String(length=200), nullable=False)
        batch.create_index(batch.f('ix_companies_match_key'), ['match_key'], unique=False)
    op.create_table('client_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('requester_id', sa.Integer(), nullable=False),
    sa.Column('curator_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['curator_id'], ['managers.id'], name=op.f('fk_client_requests_curator_id_managers')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['managers.id'], name=op.f('fk_client_requests_decided_by_id_managers')),
    sa.ForeignKeyConstraint(['requester_id'], ['managers.id'], name=op.f('fk_client_requests_requester_id_managers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_requests'))
    )
    op.create_index('ix_client_requests_entity', 'client_requests', ['kind', 'entity_id', 'status'], unique=False)
    op.create_index(op.f('ix_client_requests_requester_id'), 'client_requests', ['requester_id'], unique=False)
    op.create_table('merge_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=False),
    sa.Column('loser_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('log', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['managers.id'], name=op.f('fk_merge_log_actor_id_managers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_merge_log'))
    )
    op.create_index('ix_merge_log_kind_survivor', 'merge_log', ['kind', 'survivor_id'], unique=False)
    op.create_table('not_duplicates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('first_id', sa.Integer(), nullable=False),
    sa.Column('second_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['managers.id'], name=op.f('fk_not_duplicates_actor_id_managers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_not_duplicates')),
    sa.UniqueConstraint('kind', 'first_id', 'second_id', name=op.f('uq_not_duplicates_kind'))
    )


def downgrade() -> None:
    op.drop_table('not_duplicates')
    op.drop_index('ix_merge_log_kind_survivor', table_name='merge_log')
    op.drop_table('merge_log')
    op.drop_index(op.f('ix_client_requests_requester_id'), table_name='client_requests')
    op.drop_index('ix_client_requests_entity', table_name='client_requests')
    op.drop_table('client_requests')
    with op.batch_alter_table('companies') as batch:
        batch.drop_index(batch.f('ix_companies_match_key'))
        batch.drop_column('match_key')
