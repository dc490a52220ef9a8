"""alert settle: a company's alerts wait until its facts are quiet

``projector_company_watch.alerts_pending`` marks a company whose new facts are applied but whose
alerts are not decided yet, so a restart decides them rather than forgetting them.

Revision ID: alert_settle
Revises: read_entries
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'alert_settle'
down_revision: str | None = 'read_entries'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('projector_company_watch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('alerts_pending', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('projector_company_watch', schema=None) as batch_op:
        batch_op.drop_column('alerts_pending')
