"""other systems: API client keys (hashed, with scopes, entry source, rate) and their webhook subscriptions

Revision ID: 0016
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_clients',
    sa.Column('id', sa.String(length=24), nullable=False),
    sa.Column('key_prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('entry_source', sa.String(length=32), nullable=False),
    sa.Column('rate_per_minute', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_clients')),
    sa.UniqueConstraint('key_prefix', name=op.f('uq_api_clients_key_prefix'))
    )
    op.create_table('webhook_subscriptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('client_id', sa.String(length=24), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('secret', sa.String(length=128), nullable=False),
    sa.Column('all_appeals', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['api_clients.id'], name=op.f('fk_webhook_subscriptions_client_id_api_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriptions'))
    )
    op.create_index('ix_webhook_subscriptions_client', 'webhook_subscriptions', ['client_id', 'deleted_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_webhook_subscriptions_client', table_name='webhook_subscriptions')
    op.drop_table('webhook_subscriptions')
    op.drop_table('api_clients')
