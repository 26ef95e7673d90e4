"""dbt docs generate, and the check that everything is described."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import Build, copy_build, copy_project, run_dbt

from tools import docs_check


def test_docs_generate_and_everything_is_described(
    demo_build: Build, tmp_path: Path
) -> None:
    # dbt opens the warehouse to write: on a copy, so the shared build stays
    # readable by the tests running beside this one.
    workdir = copy_build(demo_build, tmp_path / "demo")
    generated = run_dbt(workdir, "docs", "generate")
    assert generated.returncode == 0, generated.output[-3000:]
    target = workdir / "target"
    assert docs_check.check(target) == []
    manifest = json.loads((target / "manifest.json").read_text())
    # The lineage runs sources -> staging -> intermediate -> marts -> exposures.
    exposure = manifest["exposures"][
        "exposure.segmentation_warehouse.segment_dashboard"
    ]
    assert (
        "model.segmentation_warehouse.user_segments" in exposure["depends_on"]["nodes"]
    )
    assert "__overview__" in str(manifest["docs"])
    index = target / "index.html"
    assert index.exists() and "<script" in index.read_text()[:200_000]


def test_the_check_fails_on_a_model_without_descriptions(
    demo_build: Build, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")
    (project / "models" / "marts" / "quality" / "undocumented_fixture.sql").write_text(
        "select 1 as some_column\n"
    )
    yml = project / "models" / "marts" / "quality" / "_quality__models.yml"
    text = yml.read_text()
    # A documented model whose YAML forgets one real column.
    assert "      - name: horizon_date\n" in text
    yml.write_text(
        text.replace(
            "      - name: horizon_date\n",
            "      - name: horizon_date_forgotten\n",
        )
    )
    workdir = tmp_path / "run"
    workdir.mkdir()
    shutil.copy(demo_build.database, workdir / "warehouse.duckdb")
    built = run_dbt(
        workdir, "run", "--select", "undocumented_fixture", project_dir=project
    )
    assert built.returncode == 0, built.output[-3000:]
    generated = run_dbt(workdir, "docs", "generate", project_dir=project)
    assert generated.returncode == 0, generated.output[-3000:]
    problems = docs_check.check(workdir / "target")
    assert "model undocumented_fixture: no description" in problems
    assert (
        "model undocumented_fixture: column some_column has no description" in problems
    )
    assert "model data_quality: column horizon_date has no description" in problems
    assert docs_check.main(["--target", str(workdir / "target")]) == 1
