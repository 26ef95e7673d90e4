"""The incremental events path: a rerun loads only new or changed files, and
always gives what a full build on the same files gives.

Data: a small benchmark-shaped folder from the generator (orders/ and events/
folders of Parquet files), to which ``append_day`` adds the next day as new
files, as a daily job would.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import duckdb
import pytest
from conftest import (
    Build,
    build_selection,
    copy_build,
    copy_project,
    made_once,
    run_build,
)

from segmentation import history
from tools import demo_data
from tools.digest import table_hashes

USERS = 1_500


def _loaded_files(build: Build) -> list[tuple[str, str]]:
    return build.query(
        "select source_file, count(*) from staging.base_app__events"
        " group by 1 order by 1"
    )


def _copy(source: Path, destination: Path) -> Path:
    shutil.copytree(source, destination)
    return destination


def _repeat_an_old_event_in_a_new_file(data: Path, build: Build) -> str:
    """A new events file repeating the id of an event the build kept (one
    whose id occurs once), with another event type; returns the id."""
    event_id = build.scalar(
        "select event_id from staging.base_app__events group by 1"
        " having count(*) = 1 and count(reject_reason) = 0 order by 1 limit 1"
    )
    first = data / "events" / "part-0000.parquet"
    new = data / "events" / "part-0001-repeat.parquet"
    duckdb.execute(
        f"copy (select * replace ('login' as event_type)"
        f" from read_parquet('{first}') where event_id = $id)"
        f" to '{new}' (format parquet)",
        {"id": event_id},
    )
    return event_id


@pytest.fixture(scope="session")
def base_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written once per run for both xdist workers; tests copy it."""
    folder = made_once(
        tmp_path_factory,
        "incremental_data",
        lambda folder: demo_data.write_size(
            folder / "data", "S", users=USERS, progress=None
        ),
    )
    return folder / "data"


@pytest.fixture(scope="module")
def daily_rerun(
    base_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict, Build, Path]:
    """A build, then the next day appended and a rerun on the same warehouse
    (returns what the first build held, the rerun and the data folder).
    That the rerun's marts equal a full refresh's is checked on every make
    test by the benchmark's run (test_bench.py), on the same kind of data."""
    data = _copy(base_data, tmp_path_factory.mktemp("daily") / "data")
    workdir = tmp_path_factory.mktemp("daily_build")
    first = run_build(workdir, "--data", str(data))
    assert first.returncode == 0, first.output[-5000:]
    before = {
        "files": dict(_loaded_files(first)),
        "as_of_date": first.scalar(
            "select as_of_date from intermediate.int_as_of_date"
        ),
        # The next day also repeats an event the first build kept.
        "repeated_event_id": _repeat_an_old_event_in_a_new_file(data, first),
    }
    demo_data.append_day(data, progress=None)
    rerun = run_build(workdir, "--data", str(data))
    assert rerun.returncode == 0, rerun.output[-5000:]
    return before, rerun, data


def test_a_daily_rerun_loads_only_the_new_files(daily_rerun) -> None:
    before, rerun, data = daily_rerun
    for model in (
        "base_app__events",
        "base_app__event_days",
        "int_events_aggregated_to_session_days",
    ):
        assert (
            f"incremental {model}: 2 new or changed file(s) of raw.events to load,"
            " 1 unchanged" in rerun.output
        ), model
    files = dict(_loaded_files(rerun))
    new_file = sorted(path.name for path in (data / "events").iterdir())[-1]
    assert set(files) == {"part-0000.parquet", "part-0001-repeat.parquet", new_file}
    # The first file's rows were not touched: the same count as before.
    assert files["part-0000.parquet"] == before["files"]["part-0000.parquet"]
    raw = duckdb.sql(
        f"select count(*) from read_parquet('{data}/events/{new_file}')"
    ).fetchall()[0][0]
    assert files[new_file] == raw
    # A new row repeating a kept event id is a duplicate; the kept row stays.
    assert rerun.query(
        "select source_file, reject_reason from staging.base_app__events"
        " where event_id = ? order by source_file",
        [before["repeated_event_id"]],
    ) == [
        ("part-0000.parquet", None),
        ("part-0001-repeat.parquet", "duplicate_event_id"),
    ]
    # The day moved forward: as_of_date is the day after the new day.
    assert (
        rerun.scalar("select as_of_date from intermediate.int_as_of_date")
        > before["as_of_date"]
    )


def test_changed_and_removed_files_are_replaced_not_added(
    daily_rerun, tmp_path: Path
) -> None:
    # On copies of what the daily rerun left (its warehouse and its folder:
    # the first file, the repeat file and the appended day, each loaded file
    # by file), a build fewer than a first build of its own. Its history is
    # cleared (make clear-history): the build compared below is a first
    # build, which has no earlier snapshot to carry cluster ids over from.
    _, daily, daily_data = daily_rerun
    data = _copy(daily_data, tmp_path / "data")
    workdir = copy_build(daily, tmp_path / "build")
    assert history.clear(workdir / "warehouse.duckdb")
    events = sorted((data / "events").iterdir())
    # The day's file is rewritten with half its rows, then it and the
    # repeat file are removed again: the rerun must mirror the folder exactly.
    day_file = events[-1]
    repeat_file = data / "events" / "part-0001-repeat.parquet"
    assert repeat_file in events and day_file != repeat_file
    duckdb.sql(
        f"copy (select * from read_parquet('{day_file}') where event_id like '%0'"
        f" or event_id like '%2' or event_id like '%4' or event_id like '%6'"
        f" or event_id like '%8') to '{day_file}.tmp' (format parquet)"
    )
    Path(f"{day_file}.tmp").replace(day_file)
    rerun = run_build(workdir, "--data", str(data))
    assert rerun.returncode == 0, rerun.output[-5000:]
    assert (
        "incremental base_app__events: 1 new or changed file(s) of raw.events to"
        " load, 2 unchanged" in rerun.output
    )
    full = run_build(tmp_path / "full", "--data", str(data))
    assert full.returncode == 0, full.output[-5000:]
    assert table_hashes(rerun.database) == table_hashes(full.database)

    day_file.unlink()
    repeat_file.unlink()
    # Only the events' loading is what this step is about: the files' rows
    # go from base_app__events (and the marts were compared above).
    removed = build_selection(workdir, data, "+base_app__events")
    assert removed.returncode == 0, removed.output[-5000:]
    assert day_file.name not in dict(_loaded_files(removed))
    assert repeat_file.name not in dict(_loaded_files(removed))
    assert "0 new or changed file(s) of raw.events to load, 1 unchanged" in (
        removed.output
    )


def test_without_removing_changed_files_rows_would_be_counted_twice(
    base_data: Path, tmp_path: Path
) -> None:
    """The fault the pre-hook exists for: a project whose incremental models
    keep the old rows of a changed file loads them a second time, and the
    rows_conserved test (raw = clean + rejected) stops the build."""
    project = copy_project(tmp_path / "project")
    macros = project / "macros" / "incremental_by_file.sql"
    text = macros.read_text()
    marker = (
        "{% macro delete_unkept_source_files(table_name, listing_model=none,"
        " rules=none) %}"
    )
    assert marker in text
    macros.write_text(text.replace(marker, marker + "\n    {{ return('') }}", 1))
    data = _copy(base_data, tmp_path / "data")
    workdir = tmp_path / "build"
    # Only the check and what it reads: the events' staging, not the marts.
    # The uniqueness test of base_app__event_days (one row per file and
    # day) catches the kept rows too, and first: left out, so that what is
    # shown is rows_conserved's own catch, not its SKIP line.
    selected = "+rows_conserved_stg_app__events*"
    day_test = "unique_combination_of_columns_base_app__event_days*"
    first = build_selection(
        workdir, data, selected, project_dir=project, exclude=(day_test,)
    )
    assert first.returncode == 0, first.output[-5000:]
    assert "PASS rows_conserved_stg_app__events" in first.stdout
    events = data / "events" / "part-0000.parquet"
    duckdb.sql(
        f"copy (select * from read_parquet('{events}') limit 1000000)"
        f" to '{events}.tmp' (format parquet)"
    )
    Path(f"{events}.tmp").replace(events)
    rerun = build_selection(
        workdir, data, selected, project_dir=project, exclude=(day_test,)
    )
    assert rerun.returncode != 0
    assert "rows_conserved_stg_app__events" in rerun.output
    assert re.search(r"FAIL \d+ rows_conserved_stg_app__events", rerun.stdout)


def test_the_daily_uniqueness_test_catches_a_repeat_the_model_let_through(
    base_data: Path, tmp_path: Path
) -> None:
    """The event tests check the rows a run loads; when the model ranks a
    new row repeating a kept id but no longer makes it a duplicate, the
    repeated id gets in, and unique_where_loaded_now (this run's ranked ids
    against the whole table) stops the build. (Without the lookup of kept
    ids, the row would not be ranked at all: tests/macros/
    deduplicate__on_literal_rows catches that, test_staging_dedupe.py.)"""
    project = copy_project(tmp_path / "project")
    # The rank is in the deduplication macro base_app__events calls.
    macro = project / "macros" / "deduplicate.sql"
    text = macro.read_text()
    check = "when loaded_{{ ids }}.{{ key }} is not null then 1 else 0"
    assert check in text
    macro.write_text(text.replace(check, check.replace("then 1", "then 0")))
    data = _copy(base_data, tmp_path / "data")
    workdir = tmp_path / "build"
    # Only the check and what it reads: the events' staging, not the marts.
    selected = "+unique_where_loaded_now_stg_app__events_event_id*"
    first = build_selection(workdir, data, selected, project_dir=project)
    assert first.returncode == 0, first.output[-5000:]
    assert "PASS unique_where_loaded_now_stg_app__events_event_id" in first.stdout
    _repeat_an_old_event_in_a_new_file(data, first)
    rerun = build_selection(workdir, data, selected, project_dir=project)
    assert rerun.returncode != 0
    assert "unique_where_loaded_now_stg_app__events_event_id" in rerun.output
    assert re.search(
        r"FAIL \d+ unique_where_loaded_now_stg_app__events_event_id", rerun.stdout
    )


def test_the_session_days_uniqueness_test_sees_a_changed_files_old_rows(
    daily_rerun, tmp_path: Path
) -> None:
    """The session days' uniqueness test checks the files a run loads, all
    their rows (where: files_loaded_by_this_run), not only the rows loaded
    now: when a changed file's old rows are not removed (the pre-hook
    skipped), they repeat the reloaded rows' keys and the test stops the
    build, on a daily run as on a full one."""
    _, daily, daily_data = daily_rerun
    project = copy_project(tmp_path / "project")
    macros = project / "macros" / "incremental_by_file.sql"
    text = macros.read_text()
    marker = (
        "{% macro delete_unkept_source_files(table_name, listing_model=none,"
        " rules=none) %}"
    )
    assert marker in text
    macros.write_text(text.replace(marker, marker + "\n    {{ return('') }}", 1))
    data = _copy(daily_data, tmp_path / "data")
    workdir = copy_build(daily, tmp_path / "build")
    # A new version of the appended day's file (its modification time),
    # same rows: the model loads the file again, next to its old rows.
    day_file = sorted((data / "events").iterdir())[-1]
    stat = day_file.stat()
    os.utime(day_file, (stat.st_atime, stat.st_mtime + 60))
    model = "int_events_aggregated_to_session_days"
    rerun = build_selection(workdir, data, model, project_dir=project)
    # The day's file is loaded again (the repeat file too: its one event
    # was rejected, so the model holds no row of it and loads it each run).
    assert re.search(
        rf"incremental {model}: 2 new or changed file\(s\) of raw.events to"
        r" load, 1 unchanged",
        rerun.output,
    )
    assert rerun.returncode != 0
    assert re.search(
        rf"FAIL \d+ unique_combination_of_columns_{model}_source_file", rerun.stdout
    )
