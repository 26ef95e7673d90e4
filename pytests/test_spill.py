"""A build larger than DuckDB's memory limit spills to disk instead of failing.

The data (3,000 users, about 300,000 events) needs more than the 60 MB the
build is given here, as size L needs more than the default 4 GB: DuckDB
spills to SEGMENTS_TEMP_DIR. The profile sets the memory limit and the
temporary directory when the database opens; set per connection (dbt opens
one per thread), DuckDB refuses to switch the temporary directory after the
first spill and the build stops, which the second test shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import copy_project, made_once, run_build

from tools import demo_data

MEMORY_LIMIT = "60MB"


@pytest.fixture(scope="session")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written once per run, so the two builds can run on both xdist workers."""
    folder = made_once(
        tmp_path_factory,
        "spill_data",
        lambda folder: demo_data.write_size(
            folder / "data", "S", users=3_000, progress=None
        ),
    )
    return folder / "data"


def test_a_build_beyond_the_memory_limit_spills_and_succeeds(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENTS_MEMORY_LIMIT", MEMORY_LIMIT)
    build = run_build(tmp_path / "build", "--data", str(data))
    assert build.returncode == 0, build.output[-5000:]
    assert build.scalar("select count(*) from marts.user_segments") > 2_900


def test_setting_the_temporary_directory_per_connection_fails_after_a_spill(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_project(tmp_path / "project")
    profile = project / "profiles.yml"
    text = profile.read_text()
    opened, per_connection = "      config_options:\n", "      settings:\n"
    assert opened in text and per_connection in text
    # The profile as it was: every setting applied to each new connection.
    text = text.replace(per_connection, "").replace(opened, per_connection)
    profile.write_text(text)
    monkeypatch.setenv("SEGMENTS_MEMORY_LIMIT", MEMORY_LIMIT)
    build = run_build(tmp_path / "build", "--data", str(data), project_dir=project)
    assert build.returncode != 0
    assert "Cannot switch temporary directory" in build.output
