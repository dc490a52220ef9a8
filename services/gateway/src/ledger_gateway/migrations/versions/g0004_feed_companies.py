"""A calendar feed may be limited to some of the tenant's companies: ``companies`` (a JSON list of USCCs;
null for every company, as feeds made before).

Revision ID: g0004
Revises: g0003
"""

import sqlalchemy as sa
from alembic import op

revision = "g0004"
down_revision = "g0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("gateway_feed_tokens") as batch:
        batch.add_column(sa.Column("companies", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("gateway_feed_tokens") as batch:
        batch.drop_column("companies")
