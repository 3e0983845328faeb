"""enterprise identity: claims to an enterprise (enterprise_members) and appeals found by their filer

Identities already linked to an enterprise (identities.enterprise_id) become VERIFIED members of it
(method "migration"): before this revision a link was the only access there was, and nobody who
used the bot yesterday should lose sight of their appeals today. Their contact and phone are those
of the newest appeal they filed for that enterprise, else the enterprise's profile.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    id_type = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    op.create_table(
        'enterprise_members',
        sa.Column('id', id_type, autoincrement=True, nullable=False),
        sa.Column('enterprise_id', id_type, nullable=False),
        sa.Column('channel', sa.String(32), nullable=False),
        sa.Column('external_id', sa.String(128), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('contact', sa.String(50), nullable=False, server_default=''),
        sa.Column('phone', sa.String(20), nullable=False, server_default=''),
        sa.Column('method', sa.String(16)),
        sa.Column('claimed_at', UTC_TS, nullable=False),
        sa.Column('prompted_at', UTC_TS),
        sa.Column('decided_at', UTC_TS),
        sa.Column('decided_by', sa.String(200)),
        sa.Column('reason', sa.Text),
        sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'],
                                name=op.f('fk_enterprise_members_enterprise_id_enterprises')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise_members')),
    )
    op.create_index('uq_enterprise_members_member', 'enterprise_members',
                    ['enterprise_id', 'channel', 'external_id'], unique=True)
    op.create_index('ix_enterprise_members_key', 'enterprise_members', ['channel', 'external_id'])
    op.create_index('ix_enterprise_members_status', 'enterprise_members', ['status', 'id'])
    op.create_index('ix_appeals_filer', 'appeals', ['filer_channel', 'filer_external_id', 'status'])
    # Already linked identities become verified members (see the docstring).
    newest = ("(SELECT a.{col} FROM appeals a WHERE a.enterprise_id = i.enterprise_id "
              "AND a.filer_channel = i.channel AND a.filer_external_id = i.external_id ORDER BY a.id DESC LIMIT 1)")
    op.execute(
        "INSERT INTO enterprise_members (enterprise_id, channel, external_id, status, contact, phone, method, "
        "claimed_at, decided_at, decided_by) "
        f"SELECT i.enterprise_id, i.channel, i.external_id, 'verified', "
        f"COALESCE({newest.format(col='contact')}, e.contact), COALESCE({newest.format(col='phone')}, e.phone), "
        "'migration', i.created_at, i.created_at, 'migration 0011' "
        "FROM identities i JOIN enterprises e ON e.id = i.enterprise_id "
        "WHERE i.enterprise_id IS NOT NULL AND i.staff_id IS NULL")


def downgrade() -> None:
    op.drop_index('ix_appeals_filer', table_name='appeals')
    op.drop_table('enterprise_members')
