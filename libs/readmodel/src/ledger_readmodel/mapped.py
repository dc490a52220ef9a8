"""The table behind a mapped model class (SQLModel's ``table=True`` models), typed.

SQLModel sets ``__table__`` on such a class but does not declare it to type checkers; reading it
through SQLAlchemy's inspection gives the same table with its type.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapper


def table_of(model: type) -> sa.Table:
    """``model.__table__``; raises for a class that is not mapped to a table."""
    mapper: Mapper[Any] = sa.inspect(model)
    table = mapper.local_table
    if not isinstance(table, sa.Table):
        raise TypeError(f"{model.__name__} is not mapped to a table")
    return table
