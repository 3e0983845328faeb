"""staff_lookups: a staff member's DingTalk / 浙政钉 userid found by mobile, once (issue 15 §13)

Revision ID: 0022
Revises: 0021
"""

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'staff_lookups',
        sa.Column('staff_id', sa.String(64), sa.ForeignKey('staff.id', name='fk_staff_lookups_staff_id_staff'),
                  primary_key=True),
        sa.Column('channel', sa.String(32), primary_key=True),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('user_id', sa.String(128), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('tried_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('next_at', sa.DateTime(timezone=True)),
        sa.Column('detail', sa.Text()),
    )


def downgrade() -> None:
    op.drop_table('staff_lookups')
