"""chain tips: each aggregate's last hash, for the projector's link check and signed checkpoints

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel types)
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('projector_chain_tips',
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('sequence', sa.BigInteger(), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('ledger_sequence', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('subject')
    )
    # A read model built before this table existed fills it on the projector's next start, from
    # LEDGER up to its applied sequence (ChainGuard.backfill), before it checks any new event.


def downgrade() -> None:
    op.drop_table('projector_chain_tips')
