"""Reruns and row order change nothing; a killed build harms nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
from conftest import PROJECT_DIR, Build, build_env, copy_build, run_build

from segmentation import publish
from tools.digest import table_hashes


def content_hashes(database: Path) -> dict[str, str]:
    """The marts' content hashes (tools.digest, the benchmark's too): one per
    table, independent of row order."""
    return table_hashes(database, schemas=("marts",))


def test_two_builds_give_identical_marts(
    small_parquet_dir: Path, small_parquet_build: Build, tmp_path: Path
) -> None:
    first = small_parquet_build
    assert first.returncode == 0, first.output[-3000:]
    before = content_hashes(first.database)
    assert len(before) >= 10
    # The second build runs on top of (a copy of) the first.
    workdir = copy_build(first, tmp_path / "run")
    second = run_build(workdir, "--data", str(small_parquet_dir))
    assert second.returncode == 0, second.output[-3000:]
    assert content_hashes(second.database) == before


def test_the_row_order_of_the_input_changes_no_result(
    small_parquet_dir: Path, small_parquet_build: Build, tmp_path: Path
) -> None:
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for table in ("users", "orders", "events"):
        duckdb.sql(
            f"copy (select * from '{small_parquet_dir / table}.parquet'"
            f" order by hash(*columns(*)) desc)"
            f" to '{shuffled / table}.parquet' (format parquet)"
        )
    original = small_parquet_build
    reordered = run_build(tmp_path / "reordered", "--data", str(shuffled))
    assert original.returncode == 0 and reordered.returncode == 0
    assert content_hashes(reordered.database) == content_hashes(original.database)


def test_the_hash_catches_a_changed_value(demo_build: Build, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(demo_build.database.read_bytes())
    before = content_hashes(copy)
    with duckdb.connect(str(copy)) as connection:
        connection.execute(
            "update marts.user_segments set primary_segment = 'dormant'"
            " where user_id = (select min(user_id) from marts.user_segments"
            " where primary_segment != 'dormant')"
        )
    after = content_hashes(copy)
    assert after["marts.user_segments"] != before["marts.user_segments"]
    assert {k: v for k, v in after.items() if k != "marts.user_segments"} == {
        k: v for k, v in before.items() if k != "marts.user_segments"
    }


# Where the builds below are killed: in the SQL models, then in the Python
# models (each after the one before, on what the kill before left).
KILL_AFTER_LINES = ("START sql table model intermediate.", "START python table model")


def test_a_killed_build_leaves_published_data_readable_and_the_next_succeeds(
    small_parquet_dir: Path, small_parquet_build: Build, tmp_path: Path
) -> None:
    """A build killed in its SQL models, then the next one killed in its
    Python models: each leaves the published release untouched and
    readable, and the build after them succeeds with the same marts. (One
    warehouse for both kills: a full build after each would cost one more
    build each, and the last build runs on what both kills left.)"""
    first = small_parquet_build
    assert first.returncode == 0, first.output[-3000:]
    # The killed builds and the next one run on top of a copy of the first.
    workdir = copy_build(first, tmp_path / "run")
    root = workdir / "published"
    current = publish.current_database(root).resolve()
    expected = content_hashes(current)

    for number, kill_after_line in enumerate(KILL_AFTER_LINES):
        log_path = workdir / f"killed-{number}.log"
        with log_path.open("w") as log:
            build = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "segmentation",
                    "run",
                    "--data",
                    str(small_parquet_dir),
                ],
                cwd=PROJECT_DIR,
                env=build_env(workdir),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            deadline = time.monotonic() + 300
            while kill_after_line not in log_path.read_text():
                assert build.poll() is None, log_path.read_text()[-2000:]
                assert time.monotonic() < deadline
                time.sleep(0.05)
            os.killpg(build.pid, signal.SIGKILL)
            build.wait()
        assert "Published for BI" not in log_path.read_text(), kill_after_line

        # The published release is untouched, complete and readable.
        assert publish.current_database(root).resolve() == current, kill_after_line
        assert content_hashes(current) == expected, kill_after_line

    again = run_build(workdir, "--data", str(small_parquet_dir))
    assert again.returncode == 0, again.output[-3000:]
    assert content_hashes(again.database) == content_hashes(first.database)
