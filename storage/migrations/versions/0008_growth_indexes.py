"""growth: the dispatcher's pool (待分派) reads submitted appeals oldest first through one index

Revision ID: 0008
Revises: 0004
"""

from alembic import op

revision = '0008'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Without it SQLite walks ix_appeals_submitted_status from the oldest appeal, past every closed
    # one, to find 30 submitted ones: 173 ms at 1M appeals (docs/benchmarks.md).
    op.create_index('ix_appeals_status_submitted', 'appeals', ['status', 'submitted_at', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_appeals_status_submitted', table_name='appeals')
