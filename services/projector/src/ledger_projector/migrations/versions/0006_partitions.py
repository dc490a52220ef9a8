"""partition checkpoints: the partitioned projector's per-partition checkpoint and fencing epoch

Revision ID: partitions
Revises: alert_settle
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel types)
from alembic import op


revision: str = 'partitions'
down_revision: str | None = 'alert_settle'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('projector_partitions',
    sa.Column('partitions', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('partition', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('stream_sequence', sa.BigInteger(), nullable=False),
    sa.Column('ledger_sequence', sa.BigInteger(), nullable=False),
    sa.Column('covered_sequence', sa.BigInteger(), nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=False),
    sa.Column('owner', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('generation', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('partitions', 'partition')
    )


def downgrade() -> None:
    op.drop_table('projector_partitions')
