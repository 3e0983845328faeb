"""tag corrections: a dispatcher's tag change stored with the appeal text

Revision ID: 0007
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('tag_corrections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('appeal_number', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('old_category', sa.String(length=32), nullable=True),
    sa.Column('new_category', sa.String(length=32), nullable=False),
    sa.Column('by_staff_id', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag_corrections'))
    )
    op.create_index('ix_tag_corrections_appeal', 'tag_corrections', ['appeal_number', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tag_corrections_appeal', table_name='tag_corrections')
    op.drop_table('tag_corrections')
