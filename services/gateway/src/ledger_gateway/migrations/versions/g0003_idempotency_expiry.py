"""Idempotency keys expire: each record holds the command id of its window, and may be a bare reservation.

``command_id`` is what every request with the key sends to the service while the key's window lasts;
a key used again after its window is reserved with a fresh one. Records kept from before sent the key
itself, so that is their command id. ``status`` and ``response`` become nullable: empty while a request
holds the key and no answer is stored. The expiry sweep walks ``ix_gateway_idempotency_created``
(created in g0001), oldest first.

SQLite cannot alter a column in place: batch mode copies the table there (PostgreSQL alters it).

Revision ID: g0003
Revises: g0002
"""

import sqlalchemy as sa
from alembic import op

revision = "g0003"
down_revision = "g0002"
branch_labels = None
depends_on = None

_records = sa.table("gateway_idempotency", sa.column("key", sa.String), sa.column("command_id", sa.String),
                    sa.column("status", sa.Integer))


def upgrade() -> None:
    with op.batch_alter_table("gateway_idempotency") as batch:
        batch.add_column(sa.Column("command_id", sa.String(255), nullable=True))
    op.execute(_records.update().values(command_id=_records.c.key))
    with op.batch_alter_table("gateway_idempotency") as batch:
        batch.alter_column("command_id", existing_type=sa.String(255), nullable=False)
        batch.alter_column("status", existing_type=sa.Integer, nullable=True)
        batch.alter_column("response", existing_type=sa.Text, nullable=True)


def downgrade() -> None:
    op.execute(_records.delete().where(_records.c.status.is_(None)))  # reservations without an answer
    with op.batch_alter_table("gateway_idempotency") as batch:
        batch.alter_column("response", existing_type=sa.Text, nullable=False)
        batch.alter_column("status", existing_type=sa.Integer, nullable=False)
        batch.drop_column("command_id")
