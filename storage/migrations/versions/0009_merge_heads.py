"""Join the branches of issues 5, 6, 7 and 8 into one head

Revision ID: 0009
Revises: 0005, 0006, 0007, 0008
"""

revision = "0009"
down_revision = ("0005", "0006", "0007", "0008")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
