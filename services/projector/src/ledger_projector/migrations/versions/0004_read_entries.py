"""read entries: the rows the lists, the timeline and the portfolio read

Derived from LEDGER like the obligation and finding rows: a read model upgraded from an older revision
gets them as the projector evaluates each company at start (ledger_projector.entries.backfill).

Revision ID: read_entries
Revises: 0003
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel  # noqa: F401  (autogenerate renders sqlmodel types)
from alembic import op


revision: str = 'read_entries'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('projector_company_summaries',
    sa.Column('company_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('company', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('tracked_from', sa.Date(), nullable=True),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('credit_inputs', sa.JSON(), nullable=False),
    sa.Column('finding_intervals', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('company_key')
    )
    with op.batch_alter_table('projector_company_summaries', schema=None) as batch_op:
        batch_op.create_index('ix_projector_company_summaries_tenant', ['tenant', 'company'], unique=False)

    op.create_table('projector_finding_entries',
    sa.Column('company_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('finding_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('severity', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('company_key', 'finding_id')
    )
    op.create_table('projector_obligation_entries',
    sa.Column('company_key', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('obligation_id', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('tenant', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('company', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('rule', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('confidence', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('informational', sa.Boolean(), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('legal_due', sa.Date(), nullable=False),
    sa.Column('born_on', sa.Date(), nullable=False),
    sa.Column('window_opens', sa.Date(), nullable=True),
    sa.Column('fulfilled_on', sa.Date(), nullable=True),
    sa.Column('waived_on', sa.Date(), nullable=True),
    sa.Column('cancelled_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('tracked_from', sa.Date(), nullable=True),
    sa.Column('title_zh', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('title_en', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('about', sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    sa.Column('body', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('company_key', 'obligation_id')
    )
    with op.batch_alter_table('projector_obligation_entries', schema=None) as batch_op:
        batch_op.create_index('ix_projector_obligation_entries_dated', ['company_key', 'due', 'obligation_id'], unique=False)
        batch_op.create_index('ix_projector_obligation_entries_list', ['company_key', 'due', 'rule', 'obligation_id'], unique=False)
        batch_op.create_index('ix_projector_obligation_entries_queue', ['tenant', 'due', 'company', 'obligation_id'], unique=False)
        batch_op.create_index('ix_projector_obligation_entries_summary', ['tenant', 'company_key', 'closed_on', 'due', 'born_on', 'informational', 'confidence', 'tracked_from', 'window_opens', 'obligation_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('projector_obligation_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_projector_obligation_entries_summary')
        batch_op.drop_index('ix_projector_obligation_entries_queue')
        batch_op.drop_index('ix_projector_obligation_entries_list')
        batch_op.drop_index('ix_projector_obligation_entries_dated')

    op.drop_table('projector_obligation_entries')
    op.drop_table('projector_finding_entries')
    with op.batch_alter_table('projector_company_summaries', schema=None) as batch_op:
        batch_op.drop_index('ix_projector_company_summaries_tenant')

    op.drop_table('projector_company_summaries')
