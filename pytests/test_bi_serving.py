"""BI reads published releases: never blocked by a build, never partial."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import sqlalchemy
from conftest import PROJECT_DIR, Build, build_env, copy_build, run_dbt

from segmentation import publish


def _compiled_analyses(workdir: Path) -> list[str]:
    compiled = run_dbt(workdir, "compile", "--select", "path:analyses")
    assert compiled.returncode == 0, compiled.output[-3000:]
    folder = workdir / "target" / "compiled" / "segmentation_warehouse" / "analyses"
    queries = [path.read_text() for path in sorted(folder.glob("*.sql"))]
    assert len(queries) >= 8
    return queries


def _engine(database: Path) -> sqlalchemy.Engine:
    """What Superset, Metabase's JDBC-less path or pandas would do."""
    return sqlalchemy.create_engine(
        f"duckdb:///{database}", connect_args={"read_only": True}
    )


def test_demo_build_publishes_a_complete_release(demo_build: Build) -> None:
    root = demo_build.database.parent / "published"
    database = publish.current_database(root)
    assert database is not None and database.name == demo_build.database.name
    assert (root / "current" / "manifest.json").exists()
    for table in ("user_segments", "user_profiles", "segment_profiles"):
        parquet = root / "current" / "parquet" / f"{table}.parquet"
        rows = duckdb.sql(f"select count(*) from '{parquet}'").fetchall()[0][0]
        assert rows == demo_build.scalar(f"select count(*) from marts.{table}")
    with duckdb.connect(str(database), read_only=True) as connection:
        schemas = {
            row[0]
            for row in connection.execute(
                "select distinct table_schema from information_schema.tables"
            ).fetchall()
        }
    assert schemas == {"marts", "lookups"}  # nothing from staging (personal data)


def test_bi_reads_during_a_build_and_a_held_reader_does_not_block_it(
    demo_build: Build, tmp_path: Path
) -> None:
    # The demo rebuilt on top of a copy: the shared build stays as it is.
    workdir = copy_build(demo_build, tmp_path / "demo")
    queries = _compiled_analyses(workdir)
    root = workdir / "published"
    before = publish.current_database(root).resolve()

    held = _engine(publish.current_database(root)).connect()  # a BI tool's pool
    held_rows = held.execute(sqlalchemy.text(queries[0])).fetchall()

    log = (workdir / "concurrent_build.log").open("w")
    build = subprocess.Popen(
        [sys.executable, "-m", "segmentation", "run"],
        cwd=PROJECT_DIR,
        env=build_env(workdir),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    reads_during_build = 0
    deadline = time.monotonic() + 600
    while build.poll() is None and time.monotonic() < deadline:
        engine = _engine(publish.current_database(root))
        with engine.connect() as connection:
            for query in queries:
                rows = connection.execute(sqlalchemy.text(query)).fetchall()
                assert rows, query[:200]
        engine.dispose()
        if build.poll() is None:
            reads_during_build += 1
        time.sleep(0.2)
    build.wait(timeout=60)
    log.close()
    output = (workdir / "concurrent_build.log").read_text()
    assert build.returncode == 0, output[-3000:]
    assert "Published for BI" in output
    assert reads_during_build >= 3

    # The held reader still reads its release; new readers get the new one.
    assert held.execute(sqlalchemy.text(queries[0])).fetchall() == held_rows
    held.close()
    after = publish.current_database(root).resolve()
    assert after != before
    with _engine(after).connect() as connection:
        for query in queries:
            assert connection.execute(sqlalchemy.text(query)).fetchall()


def test_publish_keeps_a_few_releases_and_switches_atomically(
    demo_build: Build, tmp_path: Path
) -> None:
    root = tmp_path / "published"
    releases = [publish.publish(demo_build.database, root, keep=2) for _ in range(3)]
    assert (root / "current").resolve() == releases[-1].resolve()
    kept = sorted(path.name for path in (root / "releases").iterdir())
    assert kept == sorted(release.name for release in releases[-2:])


def test_publishing_a_missing_warehouse_says_so(tmp_path: Path) -> None:
    code = publish.main(["--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path)])
    assert code == 1
