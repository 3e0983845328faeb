"""dispatch and handling: holder spells, extension requests, external references

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0001'
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('appeal_holdings',
    sa.Column('id', _id, autoincrement=True, nullable=False),
    sa.Column('appeal_id', _id, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('signoff_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('calendar_gap', sa.Boolean(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by', sa.String(length=64), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('report', sa.Text(), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_appeal_holdings_appeal_id_appeals')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_appeal_holdings_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeal_holdings'))
    )
    with op.batch_alter_table('appeal_holdings', schema=None) as batch_op:
        batch_op.create_index('ix_appeal_holdings_appeal', ['appeal_id', 'id'], unique=False)
        batch_op.create_index('ix_appeal_holdings_unit_open', ['unit_id', 'ended_at'], unique=False)

    op.create_table('extension_requests',
    sa.Column('id', _id, autoincrement=True, nullable=False),
    sa.Column('appeal_id', _id, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('old_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('new_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_extension_requests_appeal_id_appeals')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_extension_requests_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_extension_requests'))
    )
    with op.batch_alter_table('extension_requests', schema=None) as batch_op:
        batch_op.create_index('ix_extension_requests_appeal', ['appeal_id', 'status'], unique=False)

    op.create_table('external_refs',
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('appeal_id', _id, nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_external_refs_appeal_id_appeals')),
    sa.PrimaryKeyConstraint('source', 'ref', name=op.f('pk_external_refs'))
    )


def downgrade() -> None:
    op.drop_table('external_refs')
    with op.batch_alter_table('extension_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_extension_requests_appeal')
    op.drop_table('extension_requests')
    with op.batch_alter_table('appeal_holdings', schema=None) as batch_op:
        batch_op.drop_index('ix_appeal_holdings_unit_open')
        batch_op.drop_index('ix_appeal_holdings_appeal')
    op.drop_table('appeal_holdings')
