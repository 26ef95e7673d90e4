"""The deduplication of the base staging models (macro deduplicate) holds the
ids unique by construction: the id tests look up only the ids it ranked
(is_<key>_repeated), so the construction itself is tested, on literal rows,
by the singular test tests/macros/deduplicate__on_literal_rows (run in every
build). Here: that test catches each fault that would let a repeated id
through unranked, where the id tests no longer look (no build needed: dbt
test on a project copy with the fault).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import copy_project, run_dbt

TEST = "deduplicate__on_literal_rows"


@pytest.mark.parametrize(
    ("original", "broken"),
    [
        # The lookup of the ids an earlier run kept: a row repeating one
        # would be kept again (the file loaded first no longer wins).
        ("and {{ key_hash(key) }}\n", "and false and {{ key_hash(key) }}\n"),
        # The search for ids on several rows read now: an id on two rows
        # would not be ranked, and both kept.
        ("having count(*) > 1", "having count(*) > 2"),
    ],
    ids=["kept-ids-not-looked-up", "repeats-not-found"],
)
def test_the_construction_test_catches_a_repeated_id_left_unranked(
    tmp_path: Path, original: str, broken: str
) -> None:
    project = copy_project(tmp_path / "project")
    macro = project / "macros" / "deduplicate.sql"
    text = macro.read_text()
    assert text.count(original) == 1
    macro.write_text(text.replace(original, broken))
    tested = run_dbt(tmp_path / "build", "test", "--select", TEST, project_dir=project)
    assert tested.returncode != 0, tested.output[-3000:]
    assert re.search(rf"FAIL \d+ {TEST}", tested.stdout), tested.output[-3000:]
