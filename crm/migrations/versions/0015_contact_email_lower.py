"""contacts: an index on lower(email) for the duplicate check at the door

A new contact's email is compared with every stored one in any capitals; without this
index that comparison read the whole contacts table at every check.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 15:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_contacts_email_lower', 'contacts', [sa.text('lower(email)')], unique=False)


def downgrade() -> None:
    op.drop_index('ix_contacts_email_lower', table_name='contacts')
