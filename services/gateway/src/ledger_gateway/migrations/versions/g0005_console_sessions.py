"""Web-console sessions (token hashed; the API key's id, never the key; the form token).

Revision ID: g0005
Revises: g0004
"""

import sqlalchemy as sa
from alembic import op

revision = "g0005"
down_revision = "g0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gateway_console_sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(32), sa.ForeignKey("gateway_tenants.id"), nullable=False),
        sa.Column("key_id", sa.String(32), sa.ForeignKey("gateway_api_keys.id"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_gateway_console_sessions_tenant_id", "gateway_console_sessions", ["tenant_id"])
    op.create_index("ix_gateway_console_sessions_expires_at", "gateway_console_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_gateway_console_sessions_expires_at", "gateway_console_sessions")
    op.drop_index("ix_gateway_console_sessions_tenant_id", "gateway_console_sessions")
    op.drop_table("gateway_console_sessions")
