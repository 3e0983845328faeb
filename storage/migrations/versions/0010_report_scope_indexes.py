"""growth: reports read only the appeals with activity in their period, found through these indexes

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A report (统计, 指数, qihu report) loads the appeals with an event, a lead spell due, a rating or a
    # call-back in its period: at 1M stored appeals, loading them all took most of a minute.
    op.create_index('ix_appeal_holdings_due', 'appeal_holdings', ['due_at'], unique=False)
    op.create_index('ix_ratings_rated', 'ratings', ['rated_at'], unique=False)
    op.create_index('ix_callbacks_done', 'callbacks', ['done_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_callbacks_done', table_name='callbacks')
    op.drop_index('ix_ratings_rated', table_name='ratings')
    op.drop_index('ix_appeal_holdings_due', table_name='appeal_holdings')
