"""digests and recipients: e-mail recipient lists, daily delivery, catch-up, tenant delivery settings

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ledger_notifier.tables

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notifier_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipients', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('delivery', sa.String(), nullable=False, server_default='immediate'))
        batch_op.add_column(sa.Column('catch_up', sa.String(), nullable=True))
    with op.batch_alter_table('notifier_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest_id', sa.String(), nullable=True))
    op.create_table('notifier_tenant_settings',
                    sa.Column('tenant', sa.String(), nullable=False),
                    sa.Column('digest_hour', sa.Integer(), nullable=False),
                    sa.Column('changed_at', ledger_notifier.tables.UtcInstant(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('tenant'))


def downgrade() -> None:
    op.drop_table('notifier_tenant_settings')
    with op.batch_alter_table('notifier_deliveries', schema=None) as batch_op:
        batch_op.drop_column('digest_id')
    with op.batch_alter_table('notifier_subscriptions', schema=None) as batch_op:
        batch_op.drop_column('catch_up')
        batch_op.drop_column('delivery')
        batch_op.drop_column('recipients')
