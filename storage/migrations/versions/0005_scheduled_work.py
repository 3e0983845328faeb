"""scheduled work: status_since on appeals, sweep indexes, the scheduled_sends ledger

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
_unsigned = sa.text('ended_at IS NULL AND accepted_at IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_since', sa.DateTime(timezone=True), nullable=True))
    # Existing appeals: the last event that moved them into their current status, else submission.
    op.execute(
        "UPDATE appeals SET status_since = COALESCE(("
        " SELECT MAX(e.at) FROM appeal_events e WHERE e.appeal_id = appeals.id AND e.to_status = appeals.status"
        " AND (e.from_status IS NULL OR e.from_status <> e.to_status)), submitted_at)"
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index('ix_appeals_status_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_appeals_status_since', ['status', 'status_since'], unique=False)
    op.create_index('ix_appeal_holdings_unsigned', 'appeal_holdings', ['signoff_due_at'], unique=False,
                    sqlite_where=_unsigned, postgresql_where=_unsigned)
    op.create_index('ix_appeal_events_at_action', 'appeal_events', ['at', 'action', 'to_status'], unique=False)
    op.create_table('scheduled_sends',
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=64), nullable=False),
    sa.Column('slot', sa.String(length=40), nullable=False),
    sa.Column('ref_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('appeal_id', _id, nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'subject', 'slot', name=op.f('pk_scheduled_sends'))
    )


def downgrade() -> None:
    op.drop_table('scheduled_sends')
    op.drop_index('ix_appeal_events_at_action', table_name='appeal_events')
    op.drop_index('ix_appeal_holdings_unsigned', table_name='appeal_holdings')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index('ix_appeals_status_since')
        batch_op.drop_index('ix_appeals_status_due')
        batch_op.drop_column('status_since')
