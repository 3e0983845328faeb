"""initial schema

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('appeal_counters',
    sa.Column('day', sa.String(length=16), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_appeal_counters'))
    )
    op.create_table('conversations',
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.String(length=128), nullable=False),
    sa.Column('step', sa.String(length=48), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'user_id', name=op.f('pk_conversations'))
    )
    op.create_table('inbound_messages',
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('message_id', sa.String(length=191), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'message_id', name=op.f('pk_inbound_messages'))
    )
    op.create_table('org_units',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_org_units'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.String(length=128), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.Column('appeal_number', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_recipient', ['channel', 'recipient', 'id'], unique=False)
        batch_op.create_index('ix_outbox_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('enterprises',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('contact', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('area_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['org_units.id'], name=op.f('fk_enterprises_area_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprises')),
    sa.UniqueConstraint('uscc', name=op.f('uq_enterprises_uscc'))
    )
    op.create_table('staff',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('mobile', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_staff_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff'))
    )
    op.create_table('appeals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('enterprise_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('enterprise_name', sa.String(length=100), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('contact', sa.String(length=50), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('area_id', sa.String(length=64), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('type', sa.String(length=8), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('tag_evidence', sa.JSON(), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('difficulty', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('promised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('calendar_gap', sa.Boolean(), nullable=False),
    sa.Column('lead_unit_id', sa.String(length=64), nullable=True),
    sa.Column('co_unit_ids', sa.JSON(), nullable=False),
    sa.Column('handler_staff_id', sa.String(length=64), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('repeat_of', sa.String(length=32), nullable=True),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('filer_channel', sa.String(length=32), nullable=True),
    sa.Column('filer_external_id', sa.String(length=128), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['area_id'], ['org_units.id'], name=op.f('fk_appeals_area_id_org_units')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_appeals_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['handler_staff_id'], ['staff.id'], name=op.f('fk_appeals_handler_staff_id_staff')),
    sa.ForeignKeyConstraint(['lead_unit_id'], ['org_units.id'], name=op.f('fk_appeals_lead_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals')),
    sa.UniqueConstraint('number', name=op.f('uq_appeals_number'))
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index('ix_appeals_enterprise_status', ['enterprise_id', 'status'], unique=False)
        batch_op.create_index('ix_appeals_status_lead', ['status', 'lead_unit_id'], unique=False)
        batch_op.create_index('ix_appeals_submitted_status', ['submitted_at', 'status', 'lead_unit_id'], unique=False)

    op.create_table('bind_codes',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_bind_codes_staff_id_staff')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_bind_codes'))
    )
    op.create_table('identities',
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('staff_id', sa.String(length=64), nullable=True),
    sa.Column('enterprise_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('display_name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_identities_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_identities_staff_id_staff')),
    sa.PrimaryKeyConstraint('channel', 'external_id', name=op.f('pk_identities'))
    )
    op.create_table('appeal_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('appeal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_kind', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=True),
    sa.Column('to_status', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_appeal_events_appeal_id_appeals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal_events'))
    )
    with op.batch_alter_table('appeal_events', schema=None) as batch_op:
        batch_op.create_index('ix_appeal_events_appeal', ['appeal_id', 'id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('appeal_events', schema=None) as batch_op:
        batch_op.drop_index('ix_appeal_events_appeal')

    op.drop_table('appeal_events')
    op.drop_table('identities')
    op.drop_table('bind_codes')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index('ix_appeals_submitted_status')
        batch_op.drop_index('ix_appeals_status_lead')
        batch_op.drop_index('ix_appeals_enterprise_status')

    op.drop_table('appeals')
    op.drop_table('staff')
    op.drop_table('enterprises')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next')
        batch_op.drop_index('ix_outbox_recipient')

    op.drop_table('outbox')
    op.drop_table('org_units')
    op.drop_table('inbound_messages')
    op.drop_table('conversations')
    op.drop_table('appeal_counters')

