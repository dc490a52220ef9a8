"""Calendar-feed tokens (hashed, revocable).

Revision ID: g0002
Revises: g0001
"""

import sqlalchemy as sa
from alembic import op

revision = "g0002"
down_revision = "g0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_feed_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("gateway_tenants.id"), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_gateway_feed_tokens_tenant_id", "gateway_feed_tokens", ["tenant_id"])


def downgrade() -> None:
    op.drop_index("ix_gateway_feed_tokens_tenant_id", "gateway_feed_tokens")
    op.drop_table("gateway_feed_tokens")
