"""call-backs by staff: a rating records its source (电话回访 / 现场回访; NULL = the enterprise itself)

Revision ID: 0019
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A dispatcher's call-back result is stored as the enterprise's rating; the KPIs count it by source.
    with op.batch_alter_table('ratings') as batch:
        batch.add_column(sa.Column('source', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ratings') as batch:
        batch.drop_column('source')
