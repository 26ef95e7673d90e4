"""Glue between the dbt Python models and ``segmentation.methods``.

Each function takes and returns Arrow tables, reads its settings from the
model's ``config.meta`` (fed by the dbt vars) and reports problems with a
``[segmentation]`` log line and a fallback, never an exception.
"""

from __future__ import annotations

import sys

import pyarrow as pa


def log(message: str) -> None:
    """One line in the dbt output."""
    print(f"[segmentation] {message}", file=sys.stdout, flush=True)


def read_previous(session, this, *columns: str) -> pa.Table | None:
    """The given columns of this model's table from the previous run, or
    None on the first run."""
    found = session.execute(
        "select count(*) from information_schema.tables"
        " where table_schema = ? and table_name = ?",
        [this.schema, this.identifier],
    ).fetchall()[0][0]
    if not found:
        return None
    column_list = ", ".join(f'"{column}"' for column in columns)
    return session.sql(f"select {column_list} from {this}").to_arrow_table()
