"""improvement loop: typical cases (典型服务判例) and the quarter's published positive/negative cases

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('typical_cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('appeal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('appeal_number', sa.String(length=32), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('units', sa.JSON(), nullable=False),
    sa.Column('workdays', sa.Integer(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('marked_by', sa.String(length=64), nullable=False),
    sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_typical_cases_appeal_id_appeals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_typical_cases'))
    )
    op.create_index('uq_typical_cases_appeal', 'typical_cases', ['appeal_id'], unique=True)
    op.create_index('ix_typical_cases_marked', 'typical_cases', ['marked_at'], unique=False)
    op.create_table('published_cases',
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('appeal_number', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('approved_by', sa.String(length=64), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('period', 'appeal_number', name=op.f('pk_published_cases'))
    )


def downgrade() -> None:
    op.drop_table('published_cases')
    op.drop_index('ix_typical_cases_marked', table_name='typical_cases')
    op.drop_index('uq_typical_cases_appeal', table_name='typical_cases')
    op.drop_table('typical_cases')
