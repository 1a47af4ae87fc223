"""Telegram Business: connected accounts, the client chats they log and their messages;
interactions get a channel ("telegram" for a logged chat)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crm.models.base import UTCDateTime

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('business_connections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('connection_id', sa.String(length=128), nullable=False),
    sa.Column('user_chat_id', sa.BigInteger(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('can_reply', sa.Boolean(), nullable=False),
    sa.Column('salt', sa.String(length=32), nullable=False),
    sa.Column('ignored', sa.JSON(), nullable=False),
    sa.Column('connected_at', UTCDateTime(), nullable=False),
    sa.Column('updated_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['manager_id'], ['managers.id'], name=op.f('fk_business_connections_manager_id_managers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_connections')),
    sa.UniqueConstraint('connection_id', name=op.f('uq_business_connections_connection_id')),
    sa.UniqueConstraint('manager_id', name=op.f('uq_business_connections_manager_id'))
    )
    op.add_column('interactions', sa.Column('channel', sa.String(length=16), nullable=True))
    op.create_table('business_chats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('last_message_at', UTCDateTime(), nullable=True),
    sa.Column('waiting_since', UTCDateTime(), nullable=True),
    sa.Column('waiting_reminded_at', UTCDateTime(), nullable=True),
    sa.Column('created_at', UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_business_chats_contact_id_contacts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['interactions.id'], name=op.f('fk_business_chats_conversation_id_interactions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['manager_id'], ['managers.id'], name=op.f('fk_business_chats_manager_id_managers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_chats')),
    sa.UniqueConstraint('manager_id', 'chat_id', name='uq_business_chats_manager_chat')
    )
    op.create_index('ix_business_chats_status_waiting', 'business_chats', ['status', 'waiting_since'], unique=False)
    op.create_index(op.f('ix_business_chats_contact_id'), 'business_chats', ['contact_id'], unique=False)
    op.create_table('business_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_ref', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=True),
    sa.Column('outgoing', sa.Boolean(), nullable=False),
    sa.Column('sent_at', UTCDateTime(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['chat_ref'], ['business_chats.id'], name=op.f('fk_business_messages_chat_ref_business_chats'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_business_messages_interaction_id_interactions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_business_messages')),
    sa.UniqueConstraint('chat_ref', 'message_id', name='uq_business_messages_chat_message')
    )
    op.create_index(op.f('ix_business_messages_interaction_id'), 'business_messages', ['interaction_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_business_messages_interaction_id'), table_name='business_messages')
    op.drop_table('business_messages')
    op.drop_index(op.f('ix_business_chats_contact_id'), table_name='business_chats')
    op.drop_index('ix_business_chats_status_waiting', table_name='business_chats')
    op.drop_table('business_chats')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_column('channel')
    op.drop_table('business_connections')
