"""tracked improvement items: 为企办实事, 改革任务, 薄弱环节跟进 with votes and progress (issue 17 §4–§6)

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'improvement_items',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('source', sa.String(16), nullable=False),
        sa.Column('source_key', sa.String(120)),
        sa.Column('appeal_numbers', sa.JSON(), nullable=False),
        sa.Column('category', sa.String(32)),
        sa.Column('period', sa.String(16)),
        sa.Column('facts', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('proposed_by', sa.String(64)),
        sa.Column('proposed_by_name', sa.String(100), nullable=False),
        sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by', sa.String(64)),
        sa.Column('decided_at', sa.DateTime(timezone=True)),
        sa.Column('decision_note', sa.Text()),
        sa.Column('owner_unit_id', sa.String(64), sa.ForeignKey('org_units.id',
                                                                name='fk_improvement_items_owner_unit_id_org_units')),
        sa.Column('deadline', sa.DateTime(timezone=True)),
        sa.Column('assigned_by', sa.String(64)),
        sa.Column('assigned_at', sa.DateTime(timezone=True)),
        sa.Column('closed_at', sa.DateTime(timezone=True)),
        sa.Column('closing_note', sa.Text()),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_improvement_items'),
    )
    op.create_index('uq_improvement_items_kind_seq', 'improvement_items', ['kind', 'seq'], unique=True)
    op.create_index('uq_improvement_items_kind_source_key', 'improvement_items', ['kind', 'source_key'], unique=True)
    op.create_index('ix_improvement_items_state_deadline', 'improvement_items', ['state', 'deadline'])
    op.create_table(
        'improvement_entries',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('item_id', Id, sa.ForeignKey('improvement_items.id',
                                               name='fk_improvement_entries_item_id_improvement_items'),
                  nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('staff_id', sa.String(64)),
        sa.Column('staff_name', sa.String(100), nullable=False),
        sa.Column('vote', sa.String(8)),
        sa.Column('text', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_improvement_entries'),
    )
    op.create_index('ix_improvement_entries_item', 'improvement_entries', ['item_id', 'id'])
    op.create_index('ix_improvement_entries_at', 'improvement_entries', ['at'])


def downgrade() -> None:
    op.drop_table('improvement_entries')
    op.drop_table('improvement_items')
