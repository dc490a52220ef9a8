"""entry order: obligation entries lose their stored position

The evaluation orders a company's obligations by (due, rule, about, id); the entries already hold those
columns, so the credit estimate reads that order from them. A stored index made every obligation born
before others move all the later ones (tens of thousands of updates per batch for a company with
hundreds of numbers).

Revision ID: entry_order
Revises: partitions
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'entry_order'
down_revision: str | None = 'partitions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('projector_obligation_entries', schema=None) as batch_op:
        batch_op.drop_column('position')


def downgrade() -> None:
    # the position is the evaluation's order, which the columns hold: number the rows again from them
    with op.batch_alter_table('projector_obligation_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position', sa.Integer(), nullable=False, server_default='0'))
    op.execute(
        "UPDATE projector_obligation_entries SET position = (SELECT count(*) FROM projector_obligation_entries o "
        "WHERE o.company_key = projector_obligation_entries.company_key AND (o.due, o.rule, o.about, o.obligation_id) "
        "< (projector_obligation_entries.due, projector_obligation_entries.rule, projector_obligation_entries.about, "
        "projector_obligation_entries.obligation_id))")
