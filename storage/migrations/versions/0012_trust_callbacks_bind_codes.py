"""trust: bind codes stored as hashes only; the DingTalk callback's seen (timestamp, sign) pairs

Existing bind codes are kept: each stored code is replaced by its hash (the same PBKDF2 as
bot.services.binding.code_hash at the time of writing), so a code already handed out still works.
A downgrade cannot recover the codes from their hashes: it empties bind_codes (issue new codes).
callback_signatures starts empty; a pair is kept for the clock-skew window (issue 14 §3).

Revision ID: 0012
Revises: 0011
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = "0011"
branch_labels = None
depends_on = None


def _hash(code: str) -> str:
    # Frozen copy of bot.services.binding.code_hash: a migration must not change when that module does.
    return hashlib.pbkdf2_hmac("sha256", code.encode(), b"qihu-bind-code-v1", 20_000).hex()


def _bind_codes(code_column: str, length: int) -> list:
    return [
        sa.Column(code_column, sa.String(length=length), nullable=False),
        sa.Column('staff_id', sa.String(length=64), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_bind_codes_staff_id_staff')),
        sa.PrimaryKeyConstraint(code_column, name=op.f('pk_bind_codes')),
    ]


def upgrade() -> None:
    conn = op.get_bind()
    # Raw values in and out: the timestamps keep exactly the form the application stored.
    rows = [dict(r._mapping) for r in conn.execute(sa.text(
        "SELECT code, staff_id, expires_at, used_at FROM bind_codes"))]
    op.drop_table('bind_codes')
    op.create_table('bind_codes', *_bind_codes('code_hash', 64))
    op.create_index('ix_bind_codes_staff', 'bind_codes', ['staff_id'], unique=False)
    if rows:
        conn.execute(sa.text("INSERT INTO bind_codes (code_hash, staff_id, expires_at, used_at) "
                             "VALUES (:code_hash, :staff_id, :expires_at, :used_at)"),
                     [{"code_hash": _hash(r["code"]), "staff_id": r["staff_id"], "expires_at": r["expires_at"],
                       "used_at": r["used_at"]} for r in rows])
    op.create_table('callback_signatures',
        sa.Column('channel', sa.String(length=32), nullable=False),
        sa.Column('timestamp', sa.String(length=16), nullable=False),
        sa.Column('sign', sa.String(length=64), nullable=False),
        sa.Column('message_id', sa.String(length=191), nullable=False),
        sa.Column('keep_until', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('channel', 'timestamp', 'sign', name=op.f('pk_callback_signatures')),
    )
    op.create_index('ix_callback_signatures_keep', 'callback_signatures', ['keep_until'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_callback_signatures_keep', table_name='callback_signatures')
    op.drop_table('callback_signatures')
    op.drop_index('ix_bind_codes_staff', table_name='bind_codes')
    op.drop_table('bind_codes')
    op.create_table('bind_codes', *_bind_codes('code', 16))
