"""task interaction: the reminder of a planned interaction points at it by a foreign key

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 19:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('interaction_id', sa.Integer(), nullable=True))
        batch_op.create_index(op.f('ix_tasks_interaction_id'), ['interaction_id'], unique=False)
        batch_op.create_foreign_key(op.f('fk_tasks_interaction_id_interactions'), 'interactions', ['interaction_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_tasks_interaction_id_interactions'), type_='foreignkey')
        batch_op.drop_index(op.f('ix_tasks_interaction_id'))
        batch_op.drop_column('interaction_id')
