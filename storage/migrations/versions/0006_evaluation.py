"""evaluation: ratings with bad-review verification and rectification, call-backs, grassroots and third-party scores

Revision ID: 0006
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None

_id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table('ratings',
    sa.Column('id', _id, autoincrement=True, nullable=False),
    sa.Column('appeal_id', _id, nullable=False),
    sa.Column('round', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('tag_version', sa.String(length=32), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('solved', sa.String(length=8), nullable=False),
    sa.Column('enterprise_id', _id, nullable=False),
    sa.Column('unit_id', sa.String(length=64), nullable=True),
    _ts('rated_at', nullable=False),
    sa.Column('bad', sa.Boolean(), nullable=False),
    _ts('verify_due_at'),
    sa.Column('verdict', sa.String(length=8), nullable=True),
    sa.Column('verdict_kind', sa.String(length=8), nullable=True),
    sa.Column('verdict_note', sa.Text(), nullable=True),
    sa.Column('verified_by', sa.String(length=64), nullable=True),
    _ts('verified_at'),
    sa.Column('rectify_unit_id', sa.String(length=64), nullable=True),
    _ts('rectify_due_at'),
    sa.Column('rectify_holding_id', _id, nullable=True),
    _ts('verify_reminded_at'),
    _ts('rectify_reminded_at'),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_ratings_appeal_id_appeals')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_ratings_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_ratings_unit_id_org_units')),
    sa.ForeignKeyConstraint(['rectify_unit_id'], ['org_units.id'], name=op.f('fk_ratings_rectify_unit_id_org_units')),
    sa.ForeignKeyConstraint(['rectify_holding_id'], ['appeal_holdings.id'], name=op.f('fk_ratings_rectify_holding_id_appeal_holdings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings'))
    )
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index('uq_ratings_appeal_round', ['appeal_id', 'round'], unique=True)
        batch_op.create_index('ix_ratings_verdict', ['bad', 'verdict'], unique=False)

    op.create_table('callbacks',
    sa.Column('id', _id, autoincrement=True, nullable=False),
    sa.Column('appeal_id', _id, nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('seed', sa.String(length=64), nullable=False),
    _ts('created_at', nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('satisfied', sa.Boolean(), nullable=True),
    sa.Column('method', sa.String(length=8), nullable=True),
    sa.Column('done_by', sa.String(length=64), nullable=True),
    _ts('done_at'),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_callbacks_appeal_id_appeals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callbacks'))
    )
    with op.batch_alter_table('callbacks', schema=None) as batch_op:
        batch_op.create_index('uq_callbacks_appeal_reason', ['appeal_id', 'reason'], unique=True)

    op.create_table('grassroots_ratings',
    sa.Column('id', _id, autoincrement=True, nullable=False),
    sa.Column('appeal_id', _id, nullable=False),
    sa.Column('rater_unit_id', sa.String(length=64), nullable=False),
    sa.Column('rated_unit_id', sa.String(length=64), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('rated_by', sa.String(length=64), nullable=False),
    _ts('rated_at', nullable=False),
    sa.ForeignKeyConstraint(['appeal_id'], ['appeals.id'], name=op.f('fk_grassroots_ratings_appeal_id_appeals')),
    sa.ForeignKeyConstraint(['rater_unit_id'], ['org_units.id'], name=op.f('fk_grassroots_ratings_rater_unit_id_org_units')),
    sa.ForeignKeyConstraint(['rated_unit_id'], ['org_units.id'], name=op.f('fk_grassroots_ratings_rated_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grassroots_ratings'))
    )
    with op.batch_alter_table('grassroots_ratings', schema=None) as batch_op:
        batch_op.create_index('uq_grassroots_ratings_appeal_rater', ['appeal_id', 'rater_unit_id'], unique=True)

    op.create_table('third_party_scores',
    sa.Column('unit_id', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    _ts('imported_at', nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_third_party_scores_unit_id_org_units')),
    sa.PrimaryKeyConstraint('unit_id', 'period', 'source', name=op.f('pk_third_party_scores'))
    )

    op.create_table('evaluation_state',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_evaluation_state'))
    )


def downgrade() -> None:
    op.drop_table('evaluation_state')
    op.drop_table('third_party_scores')
    with op.batch_alter_table('grassroots_ratings', schema=None) as batch_op:
        batch_op.drop_index('uq_grassroots_ratings_appeal_rater')
    op.drop_table('grassroots_ratings')
    with op.batch_alter_table('callbacks', schema=None) as batch_op:
        batch_op.drop_index('uq_callbacks_appeal_reason')
    op.drop_table('callbacks')
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index('ix_ratings_verdict')
        batch_op.drop_index('uq_ratings_appeal_round')
    op.drop_table('ratings')
