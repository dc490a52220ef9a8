"""state changes of the change feed

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel types)
from alembic import op

import ledger_projector.tables

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('projector_state_seen',
    sa.Column('company_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.PrimaryKeyConstraint('company_key', 'kind', 'ref')
    )
    op.create_table('projector_state_changes',
    sa.Column('ledger_sequence', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('position', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('change_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('company_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('company', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('ref', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('before', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('after', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('at', ledger_projector.tables.UtcDateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('ledger_sequence', 'position'),
    sa.UniqueConstraint('change_id')
    )
    with op.batch_alter_table('projector_state_changes', schema=None) as batch_op:
        batch_op.create_index('ix_projector_state_changes_tenant', ['tenant', 'ledger_sequence', 'position'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('projector_state_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_projector_state_changes_tenant')
    op.drop_table('projector_state_changes')
    op.drop_table('projector_state_seen')
