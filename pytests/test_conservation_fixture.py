"""The row-conservation test catches a staging filter that drops rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import build_selection, copy_project

ORDERS = (
    "order_id,user_id,ordered_at,amount\n"
    "A1,u1,2025-01-05,10.00\n"
    "A2,u2,2025-02-05,900.00\n"
    "A3,u1,2025-03-05,-4.00\n"
    "A4,u3,2025-03-06,25.00\n"
)


def _build(project: Path, workdir: Path, data: Path):
    # The check and what it reads (the orders' staging), not the marts.
    return build_selection(
        workdir, data, "+rows_conserved_stg_app__orders*", project_dir=project
    )


def test_conservation_holds_and_fails_when_a_filter_drops_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A quarter of these rows is rejected on purpose: lift the stop gate.
    monkeypatch.setenv("SEGMENTS_MAX_REJECTED_SHARE", "1")
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text(ORDERS)
    project = copy_project(tmp_path / "project")

    honest = _build(project, tmp_path / "honest", data)
    assert honest.returncode == 0, honest.output[-3000:]
    assert "PASS rows_conserved_stg_app__orders" in honest.stdout

    model = project / "models" / "staging" / "app" / "stg_app__orders.sql"
    source = model.read_text()
    assert "where reject_reason is null" in source
    # The fault: a filter that silently drops a valid (large) order.
    model.write_text(
        source.replace(
            "where reject_reason is null",
            "where reject_reason is null and amount < 500",
        )
    )
    broken = _build(project, tmp_path / "broken", data)
    assert broken.returncode != 0
    assert "FAIL 1 rows_conserved_stg_app__orders" in broken.stdout
