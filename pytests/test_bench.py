"""make bench: the comparisons it makes are right, not how fast it is.

One run of ``make bench SIZE=S`` (10,000 users; about two minutes, with its
folders and BENCHMARKS.md in a temporary directory; the history backfill
step with 1 monthly date instead of 12, ``BENCH_HISTORY_MONTHS``, to stay
cheap) feeds the tests below; the other tests feed a known fault to a check
and expect it to be reported.
Nothing is skipped: without the generator's ``--append-day`` the run and
the incremental test fail.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import PROJECT_DIR, Build

from segmentation import cli
from tools import bench, digest, floor

LABEL = "S"
HISTORY_MONTHS = 1


@dataclass
class BenchRun:
    returncode: int
    output: str
    root: Path
    markdown: Path

    @property
    def work(self) -> Path:
        return self.root / "work" / LABEL

    @property
    def results(self) -> dict:
        path = self.work / "results.json"
        assert path.exists(), self.output[-5000:]
        return json.loads(path.read_text())


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory: pytest.TempPathFactory) -> BenchRun:
    root = tmp_path_factory.mktemp("bench")
    markdown = root / "BENCHMARKS.md"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMENTS_")}
    env["BENCH_HISTORY_MONTHS"] = str(HISTORY_MONTHS)
    completed = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "bench",
            "SIZE=S",
            f"BENCH_ROOT={root}",
            f"BENCH_OUTPUT={markdown}",
            f"PYTHON={sys.executable}",
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return BenchRun(
        completed.returncode, completed.stdout + completed.stderr, root, markdown
    )


def test_the_benchmark_passes_every_check(bench_run: BenchRun) -> None:
    assert bench_run.results["failures"] == [], bench_run.output[-3000:]
    assert bench_run.returncode == 0, bench_run.output[-3000:]


def test_the_floor_is_timed_between_the_builds_and_agrees(bench_run: BenchRun) -> None:
    results = bench_run.results
    floor_results = results["floor"]
    runs = floor_results["runs"]
    # Before the full build, after it, after the incremental full refresh.
    assert [run["run"] for run in runs] == [
        "before_full",
        "after_full",
        "after_refresh",
    ]
    assert all(run["wall_seconds"] > 0 and run["peak_rss_bytes"] > 0 for run in runs)
    assert all(set(run["phases"]) == set(floor.PHASES) for run in runs)
    # The two runs with a build's dates agree with its user_profiles, for
    # every user (the refresh's data has the appended day).
    for run in runs[1:]:
        agreement = run["agreement"]
        assert agreement["agrees"], floor.disagreement_text(agreement)
        assert agreement["columns_compared"] == list(floor.OUTPUT_COLUMNS)
        assert agreement["users_compared"] == run["users"] > 9_000
    assert runs[2]["as_of_date"] > runs[1]["as_of_date"]
    assert floor_results["agrees"]
    wall = sorted(run["wall_seconds"] for run in runs)[1]
    assert floor_results["wall_seconds"] == pytest.approx(wall, abs=1e-3)
    assert floor_results["ratio"] == pytest.approx(
        results["full_build"]["wall_seconds"] / wall, abs=1e-2
    )
    times = {node["unique_id"]: node["execution_time"] for node in results["nodes"]}
    for area, models in bench.STAGING_MODELS.items():
        staging = floor_results["staging"][area]
        ids = [f"model.segmentation_warehouse.{model}" for model in models]
        # The models and at least one test on them were counted.
        assert staging["nodes"] > len(models)
        assert staging["seconds"] > sum(times[uid] for uid in ids) > 0
        assert staging["ratio"] == pytest.approx(
            staging["seconds"] / staging["floor_seconds"], abs=1e-2
        )
    phases = results["full_build_phases"]
    assert all(value > 0 for value in phases.values()), phases
    assert sum(phases.values()) == pytest.approx(
        results["full_build"]["wall_seconds"], abs=0.05
    )
    text = bench_run.markdown.read_text()
    assert "## Where the time goes" in text and f"\n### {LABEL}\n" in text
    assert f"| {floor_results['ratio']:.2f} |" in text
    assert "floor (DuckDB alone)" in bench_run.output


def test_the_marts_at_size_s_have_the_recorded_content(bench_run: BenchRun) -> None:
    """fixtures/mart_digests.json: the reshapes behind the marts change no
    output at size S either (the demo is checked in test_outputs_unchanged)."""
    recorded = json.loads(
        (Path(__file__).parent / "fixtures" / "mart_digests.json").read_text()
    )["S"]
    built = bench_run.results["output_fingerprints"]
    assert digest.changed_fingerprints(recorded, built) == []


def test_our_btyd_summary_equals_lifetimes(bench_run: BenchRun) -> None:
    summary = bench_run.results["btyd"]["summary"]
    assert summary["values_equal"], summary["problems"]
    assert summary["users"] > 100
    assert summary["runs"] == {"ours": 3, "lifetimes": 3}


def test_our_fits_agree_with_lifetimes(bench_run: BenchRun) -> None:
    fits = bench_run.results["btyd"]["fits"]
    assert fits["bgnbd"]["ours_converged"] and fits["gamma_gamma"]["ours_converged"]
    assert fits["params_agree"], (fits["bgnbd"], fits["gamma_gamma"])
    # Pareto/NBD (issue 19): lifetimes' Nelder-Mead stops at its default
    # tolerance, so the bench's general tolerance, not the L target's.
    pareto = fits["pareto_nbd"]
    assert pareto["ours_converged"], pareto
    assert pareto["max_relative_difference"] <= bench.PARAM_TOLERANCE, pareto


def test_the_incremental_rerun_equals_a_full_refresh(bench_run: BenchRun) -> None:
    incremental = bench_run.results["incremental"]
    assert "error" not in incremental, incremental.get("error")
    assert incremental["marts_equal"], incremental["differing_tables"]
    assert incremental["data_after"]["events"] > bench_run.results["data"]["events"]
    # The new day's events are new files: the rerun adds their session rows
    # and leaves every earlier file's as they were (issue 17).
    session_rows = incremental["session_rows"]
    assert session_rows["only_new_files"], session_rows
    assert session_rows["new_files"] >= 1 and session_rows["rows_added"] > 0
    assert session_rows["rows_after"] > session_rows["rows_before"] > 0


def test_the_history_backfill_is_timed_and_checked(bench_run: BenchRun) -> None:
    results = bench_run.results
    backfill = results["backfill"]
    assert "error" not in backfill, backfill.get("error")
    assert backfill["months"] == HISTORY_MONTHS
    wall = backfill["build"]["wall_seconds"]
    # The ratio divides the whole build with history by the plain full build.
    assert backfill["ratio"] == pytest.approx(
        wall / results["full_build"]["wall_seconds"], abs=1e-3
    )
    assert backfill["cpu_ratio"] == pytest.approx(
        backfill["build"]["cpu_seconds"] / results["full_build"]["cpu_seconds"],
        abs=1e-3,
    )
    # Building the history costs more than the plain build, never less.
    assert backfill["ratio"] > 1 and backfill["cpu_ratio"] > 1
    # One timed line per backfilled date, in order, each within the build.
    dates = [entry["as_of_date"] for entry in backfill["per_date"]]
    assert len(dates) == HISTORY_MONTHS and dates == sorted(dates)
    assert all(0 < entry["seconds"] < wall for entry in backfill["per_date"])
    phases = backfill["phases"]
    assert phases["dates"] > 0 and phases["final_build_dbt"] > 0
    assert phases["rest"] > 0
    assert sum(phases.values()) == pytest.approx(wall, abs=0.01)
    compared = backfill["history"]
    assert compared["dates"] == [*dates, compared["final_date"]]
    assert dates[0] == backfill["history_from"]
    assert compared["final_date_rows"] == compared["plain_final_date_rows"] > 100
    assert compared["final_date_rows_differing"] == 0


def test_benchmarks_md_has_the_backfill_row(bench_run: BenchRun) -> None:
    text = bench_run.markdown.read_text()
    backfill = bench_run.results["backfill"]
    row = next(
        line
        for line in text.splitlines()
        if line.startswith(f"| {LABEL} | {HISTORY_MONTHS} |")
    )
    assert f"| {backfill['ratio']:.2f} | {backfill['cpu_ratio']:.2f} |" in row
    assert "## Segment history backfill" in text


def test_the_results_hold_every_node_of_run_results(bench_run: BenchRun) -> None:
    run_results = json.loads((bench_run.work / "full_run_results.json").read_text())
    expected = {result["unique_id"] for result in run_results["results"]}
    recorded = {node["unique_id"] for node in bench_run.results["nodes"]}
    assert recorded == expected
    assert all("execution_time" in node for node in bench_run.results["nodes"])


def test_the_campaigns_cost_is_measured_on_the_full_build(bench_run: BenchRun) -> None:
    results = bench_run.results
    campaigns = results["campaigns"]
    manifest = json.loads((bench_run.work / "full_manifest.json").read_text())
    nodes = bench.node_timings(bench_run.work / "full_run_results.json")
    wall = results["full_build"]["wall_seconds"]
    assert campaigns == bench.campaign_share(manifest, nodes, wall)
    # The campaigns' staging is in every build; its node time is counted.
    assert "model.segmentation_warehouse.stg_app__campaigns" in (
        bench.campaign_node_ids(manifest)
    )
    assert campaigns["models"] >= 1
    assert 0 < campaigns["seconds"] < campaigns["node_seconds"]
    assert bench.campaign_text(campaigns) in bench_run.output
    text = bench_run.markdown.read_text()
    assert "## Campaign assignment and measurement" in text
    assert (
        f"\n| {LABEL} | {results['data']['campaigns']} | {campaigns['models']} |"
        in (text)
    )


def test_the_behaviour_cost_is_measured_on_the_backfill_build(
    bench_run: BenchRun,
) -> None:
    results = bench_run.results
    behaviour = results["behaviour"]
    manifest = json.loads((bench_run.work / "backfill_manifest.json").read_text())
    nodes = bench.node_timings(bench_run.work / "backfill_run_results.json")
    run_results = json.loads((bench_run.work / "backfill_run_results.json").read_text())
    share = bench.behaviour_share(manifest, nodes, run_results["elapsed_time"])
    assert behaviour == {**share, "peak_rss_bytes": behaviour["peak_rss_bytes"]}
    assert behaviour["peak_rss_bytes"] == results["backfill"]["build"]["peak_rss_bytes"]
    # The affinity, next-best, lookalike and funnel models, all timed.
    assert behaviour["models"] >= 10 and behaviour["tests"] > 0
    assert 0 < behaviour["seconds"] < behaviour["node_seconds"]
    assert behaviour["session_days_seconds"] > 0
    assert bench.behaviour_text(behaviour) in bench_run.output
    text = bench_run.markdown.read_text()
    assert "## Behaviour and affinity" in text
    assert f"\n| {LABEL} | {behaviour['models']} | {behaviour['tests']} |" in text


def test_benchmarks_md_has_the_row_of_the_size(bench_run: BenchRun) -> None:
    # Written only by a run whose checks all passed.
    assert (bench_run.root / "results" / f"{LABEL}.json").exists(), bench_run.results[
        "failures"
    ]
    text = bench_run.markdown.read_text()
    users = bench_run.results["data"]["users"]
    assert f"\n| {LABEL} | {users:,} |" in text
    assert "## Targets" in text and "## Machine" in text


# ---------------------------------------------------------------------------
# The floor on a small build (quick, without make bench)
# ---------------------------------------------------------------------------


def test_the_floor_agrees_with_a_small_build_and_reports_a_change(
    small_parquet_build: Build, small_parquet_dir: Path, tmp_path: Path
) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy2(small_parquet_build.database, warehouse)
    out = tmp_path / "floor.parquet"
    timings = floor.run_floor(
        small_parquet_dir, *floor.build_dates(warehouse), out, 1, "1GB"
    )
    assert set(timings["phases"]) == set(floor.PHASES)
    compared = floor.compare_with_profiles(warehouse, out)
    assert compared["agrees"], floor.disagreement_text(compared)
    assert compared["users_compared"] == timings["users"] > 1_000
    # The floor's numbers are not all empty: something to compare.
    with duckdb.connect() as connection:
        filled = connection.execute(
            "select count(recency_score), count(ctr_30d), sum(sessions_90d)"
            f" from read_parquet('{out}')"
        ).fetchone()
    assert filled[0] > 100 and filled[1] > 100 and filled[2] > 1_000

    # One user's value changed on each side, and a user left out.
    altered = tmp_path / "altered.parquet"
    with duckdb.connect() as connection:
        user = connection.execute(
            f"select min(user_id) from read_parquet('{out}') where order_count > 0"
        ).fetchone()[0]
        connection.execute(
            f"copy (select * replace (case when user_id = '{user}'"
            " then sessions_30d + 1 else sessions_30d end as sessions_30d)"
            f" from read_parquet('{out}') where user_id <> (select max(user_id)"
            f" from read_parquet('{out}'))) to '{altered}' (format parquet)"
        )
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "update marts.user_profiles set monetary = monetary + 0.01,"
            " browse_minutes_90d = browse_minutes_90d * (1 + 1e-6)"
            " where user_id = ?",
            [user],
        )
    compared = floor.compare_with_profiles(warehouse, altered)
    assert not compared["agrees"]
    assert compared["differing_columns"] == [
        "browse_minutes_90d",
        "monetary",
        "sessions_30d",
    ]
    assert compared["columns"]["sessions_30d"]["differing_users"] == 1
    assert compared["columns"]["sessions_30d"]["examples"][0]["user_id"] == user
    assert compared["only_in_profiles"]["count"] == 1
    assert compared["only_in_floor"]["count"] == 0
    text = floor.disagreement_text(compared)
    assert "sessions_30d: 1 users" in text and "1 users only in profiles" in text


def test_a_double_within_the_tolerance_agrees(tmp_path: Path) -> None:
    """Browsing minutes summed in another order differ in the last bits."""
    warehouse = tmp_path / "w.duckdb"
    columns = ", ".join(
        f"{value} as {name}"
        for name, value in zip(
            floor.OUTPUT_COLUMNS,
            [
                *("3", "2", "10.50::decimal(38,2)", "1", "2", "3", "2"),
                *("10.50::decimal(38,2)", "5.25", "1", "2", "{m}", "{m}"),
                *("0.5", "null"),
            ],
            strict=True,
        )
    )
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.user_profiles as select 'u1' as user_id, "
            + columns.format(m="1.0 / 3")
        )
        for name, value in (("near", "(1.0 / 3) * (1 + 1e-12)"), ("far", "0.3334")):
            connection.execute(
                f"copy (select 'u1' as user_id, {columns.format(m=value)})"
                f" to '{tmp_path / name}.parquet' (format parquet)"
            )
    assert floor.compare_with_profiles(warehouse, tmp_path / "near.parquet")["agrees"]
    far = floor.compare_with_profiles(warehouse, tmp_path / "far.parquet")
    assert far["differing_columns"] == ["browse_minutes_30d", "browse_minutes_90d"]


def test_the_staging_nodes_and_the_build_phases() -> None:
    manifest = {
        "nodes": {
            "model.p.base_app__orders": _node("base_app__orders", "m/b.sql"),
            "model.p.stg_app__orders": _node(
                "stg_app__orders", "m/s.sql", parents=("base_app__orders",)
            ),
            "test.p.unique_order": _node(
                "unique_order", "m/t.yml", "test", ("stg_app__orders",)
            ),
            "test.p.other": _node("other", "m/t.yml", "test", ("int_x",)),
            "model.p.int_x": _node("int_x", "m/x.sql", parents=("stg_app__orders",)),
        },
        "unit_tests": {
            "unit_test.p.base": _node(
                "base", "m/u.yml", "unit_test", ("base_app__orders",)
            )
        },
    }
    assert bench.staging_node_ids(manifest, bench.STAGING_MODELS["orders"]) == {
        "model.p.base_app__orders",
        "model.p.stg_app__orders",
        "test.p.unique_order",
        "unit_test.p.base",
    }
    started = dt.datetime(2026, 12, 1, 5, 0, 0, tzinfo=dt.UTC).timestamp()
    measured = bench.Measured(0, 60.0, 0, 0, 10.0, started)
    run_results = {
        "metadata": {
            "invocation_started_at": "2026-12-01T05:00:06Z",
            "generated_at": "2026-12-01T05:00:58.500000Z",
        },
        "elapsed_time": 47.5,
    }
    assert bench.build_phases(measured, run_results) == {
        "before_dbt": 6.0,
        "parse": 5.0,
        "dbt_run": 47.5,
        "after": 1.5,
    }
    nodes = [
        {"resource_type": "model", "execution_time": 3.0},
        {"resource_type": "test", "execution_time": 1.0},
        {"resource_type": "unit_test", "execution_time": 0.5},
    ]
    assert bench.node_totals(nodes) == {"models": 3.0, "tests": 1.5, "all": 4.5}


def test_skip_backfill_and_backfill_only_exclude_each_other(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        bench.main(
            [
                "--size",
                "S",
                "--root",
                str(tmp_path),
                "--backfill-only",
                "--skip-backfill",
            ]
        )
    assert not (tmp_path / "work").exists()


# ---------------------------------------------------------------------------
# Each check catches its fault
# ---------------------------------------------------------------------------


def _summaries() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Our summary (weeks) and lifetimes' (days) for three customers."""
    ours = pd.DataFrame(
        {
            "frequency": [0, 2, 5],
            "recency": [0.0, 10 / 7, 30 / 7],
            "customer_age": [3 / 7, 20 / 7, 40 / 7],
            "monetary_value": [0.0, 12.5, 40.1],
        },
        index=pd.Index(["u1", "u2", "u3"], name="user_id"),
    )
    theirs = pd.DataFrame(
        {
            "frequency": [0.0, 2.0, 5.0],
            "recency": [0.0, 10.0, 30.0],
            "T": [3.0, 20.0, 40.0],
            "monetary_value": [0.0, 12.5, 40.1],
        },
        index=pd.Index(["u1", "u2", "u3"], name="user_id"),
    ).loc[["u3", "u1", "u2"]]  # lifetimes' order is not ours
    return ours, theirs


def test_the_summary_comparison_accepts_equal_values() -> None:
    ours, theirs = _summaries()
    assert bench.compare_summaries(ours, theirs, days_per_unit=7.0) == []


def test_the_summary_comparison_reports_an_altered_frequency() -> None:
    ours, theirs = _summaries()
    theirs.loc["u2", "frequency"] = 3.0
    problems = bench.compare_summaries(ours, theirs, days_per_unit=7.0)
    assert len(problems) == 1
    assert problems[0].startswith("frequency: 1 users differ, e.g. u2")


def test_the_summary_comparison_reports_times_money_and_missing_users() -> None:
    ours, theirs = _summaries()
    theirs.loc["u3", "T"] += 1e-6
    theirs.loc["u2", "monetary_value"] *= 1 + 1e-7
    problems = bench.compare_summaries(ours, theirs.drop(index="u1"), 7.0)
    assert [problem.split(":")[0] for problem in problems] == [
        "1 users missing from lifetimes' summary (e.g. u1)",
        "T",
        "monetary_value",
    ]
    # The same summary read in days is not the same summary.
    ours, theirs = _summaries()
    assert bench.compare_summaries(ours, theirs, days_per_unit=1.0)


def _mart_warehouse(path: Path, amount: float, seconds: float) -> Path:
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema marts")
        connection.execute(
            "create table marts.users as select * from"
            " (values ('u1', 1.5), ('u2', 2.25)) as t(user_id, spend)"
        )
        connection.execute(
            "create table marts.fits as select 'bgnbd' as model,"
            f" cast({amount} as double) as alpha, {seconds} as fit_seconds"
        )
    return path


def test_the_mart_hash_comparison_reports_the_table_that_differs(
    tmp_path: Path,
) -> None:
    left = digest.table_hashes(_mart_warehouse(tmp_path / "a.duckdb", 4.4358, 0.01))
    same = digest.table_hashes(_mart_warehouse(tmp_path / "b.duckdb", 4.4358, 9.9))
    # Run metadata (*_seconds) and the last bits of a double are no result.
    close = digest.table_hashes(
        _mart_warehouse(tmp_path / "c.duckdb", 4.4358 + 1e-12, 0.01)
    )
    other = digest.table_hashes(_mart_warehouse(tmp_path / "d.duckdb", 4.4359, 0.01))
    assert sorted(left) == ["marts.fits", "marts.users"]
    assert digest.differing_tables(left, same) == []
    assert digest.differing_tables(left, close) == []
    assert digest.differing_tables(left, other) == ["marts.fits"]
    missing = {name: value for name, value in left.items() if name != "marts.users"}
    assert digest.differing_tables(left, missing) == ["marts.users"]


def test_the_hash_ignores_row_order_but_not_duplicates(tmp_path: Path) -> None:
    hashes = []
    for name, rows in (
        ("a", "('u1', 1), ('u2', 2)"),
        ("b", "('u2', 2), ('u1', 1)"),
        ("c", "('u1', 1), ('u2', 2), ('u2', 2)"),
    ):
        with duckdb.connect(str(tmp_path / f"{name}.duckdb")) as connection:
            connection.execute("create schema marts")
            connection.execute(
                f"create table marts.t as select * from (values {rows}) as t(k, v)"
            )
        hashes.append(digest.table_hashes(tmp_path / f"{name}.duckdb"))
    assert hashes[0] == hashes[1]
    assert hashes[0] != hashes[2]


def test_the_work_copy_keeps_the_cache_unchanged(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (cache / "events").mkdir(parents=True)
    (cache / "events" / "part-0000.parquet").write_bytes(b"events")
    (cache / "orders.parquet").write_bytes(b"orders")
    (cache / "_manifest.json").write_text('{"days": 1}')
    before = bench.fingerprint(cache)
    copy = tmp_path / "copy"
    bench.make_work_copy(cache, copy)
    assert (copy / "events" / "part-0000.parquet").is_symlink()
    assert not (copy / "_manifest.json").is_symlink()
    # What --append-day does: new files, a rewritten manifest.
    (copy / "events" / "part-0001-2026-10-01.parquet").write_bytes(b"new")
    (copy / "_manifest.json").write_text('{"days": 2}')
    assert bench.fingerprint(cache) == before
    assert (copy / "events" / "part-0000.parquet").read_bytes() == b"events"


def test_run_passes_full_refresh_to_dbt() -> None:
    assert cli.dbt_commands("/data", {}, full_refresh=True) == [
        ["build", "--exclude-resource-type", "unit_test", "--full-refresh"]
    ]
    assert cli.dbt_commands(None, {}, full_refresh=True)[1][-1] == "--full-refresh"
    assert "--full-refresh" not in cli.dbt_commands("/data", {})[0]


def _backfill(months: int, ratio: float, wall: float) -> dict:
    """The backfill entry of a results file, reduced to what BENCHMARKS.md
    reads."""
    return {
        "months": months,
        "build": {"wall_seconds": wall * ratio, "cpu_seconds": 1.0},
        "ratio": ratio,
        "cpu_ratio": ratio - 0.5,
        "per_date_mean_seconds": 6.0,
        "phases": {"dates": 6.0 * months, "final_build_dbt": wall, "rest": 5.0},
        "history": {
            "dates": [f"2026-{month:02d}-01" for month in range(1, months + 2)],
            "final_date_rows_differing": 0,
            "final_date_rows_differing_with_clusters": 3,
        },
    }


def _row(
    size: str,
    wall: float,
    peak_gb: float,
    floor_ratio: float,
    rerun: float,
    backfill: float | None = None,
) -> dict:
    """A results file reduced to what BENCHMARKS.md reads."""
    fit = {"ratio": 20.0, "max_relative_difference": 1e-6}
    extra = {} if backfill is None else {"backfill": _backfill(12, backfill, wall)}
    return {
        **extra,
        "size": size,
        "date": "2026-11-27T10:00:00+00:00",
        "machine": {
            "cpu": "cpu",
            "cores": 2,
            "memory_bytes": 24 * 2**30,
            "os": "os",
            "python": "3.11",
            "duckdb": "2.0.1",
            "dbt_core": "1.11",
            "dbt_duckdb": "1.11",
            "lifetimes": "0.11.3",
        },
        "data": {"users": 1, "orders": 2, "events": 3},
        "full_build": {"wall_seconds": wall, "peak_rss_bytes": int(peak_gb * 1e9)},
        "floor": {
            "wall_seconds": wall / floor_ratio,
            "ratio": floor_ratio,
            "staging": {
                area: {"seconds": 1.0, "floor_seconds": 0.5, "nodes": 3, "ratio": 2.0}
                for area in ("events", "orders")
            },
            "phases": {"users": 0.1},
            "runs": [{}, {}, {}],
            "agrees": True,
            "users_compared": [1, 1],
        },
        "btyd": {
            "summary": {"ratio": 12.0, "values_equal": True},
            "fits": {
                "bgnbd": fit,
                "gamma_gamma": fit,
                "combined_ratio": 20.0,
                "max_relative_difference": 1e-6,
            },
        },
        "incremental": {
            "rerun": {"wall_seconds": wall * rerun, "peak_rss_bytes": 0},
            "full_refresh": {"wall_seconds": wall, "peak_rss_bytes": 0},
            "ratio": rerun,
        },
        "nodes": [],
    }


def _campaigns(seconds: float, wall: float) -> dict:
    """The campaigns entry of a results file (campaign_share's keys)."""
    return {
        "models": 9,
        "tests": 30,
        "seconds": seconds,
        "node_seconds": 4 * wall,
        "wall_seconds": wall,
        "share_of_node_time": seconds / (4 * wall),
        "added_share": seconds / (wall - seconds),
    }


def test_the_targets_are_computed_from_the_recorded_rows(tmp_path: Path) -> None:
    rows = {
        "M": _row("M", 100.0, 2.0, 1.2, 0.3, backfill=3.5),
        "L": _row("L", 1300.0, 6.5, 1.1, 0.2),
    }
    status = {text: state for text, state, _ in bench.evaluate_targets(rows)}
    assert status == {
        "L peak memory <= 6 GB": "not met",
        "project / floor <= 3 on M and L": "met",
        "Pareto/NBD fit >= 5x faster than lifetimes at L, parameters within"
        " 0.0001 relative": "not measured",
        "BTYD summary >= 10x faster than lifetimes on M, identical values": "met",
        "Time(L) / Time(M) <= 12": "not met",
        "incremental rerun <= 0.25 of a full rebuild on L": "met",
        "BG/NBD + Gamma-Gamma fit >= 5x faster than lifetimes (every size)": "met",
        "the floor agrees with user_profiles (every size measured)": "met",
        "campaign assignment and measurement <= 10% of a full build at L": (
            "not measured"
        ),
        "propensity training and scoring add <= 60 s to a full build at L": (
            "not measured"
        ),
        "behaviour and affinity (issue 17) add <= 20% to a full build at L": (
            "not measured"
        ),
        "daily rerun adds only the new files' session rows at L": "not measured",
        "behaviour and affinity build at L peak memory <= 6 GB": "not measured",
        "backfill of 12 monthly dates <= 4x one full build at M": "met",
    }
    pareto_target = (
        "Pareto/NBD fit >= 5x faster than lifetimes at L, parameters within"
        " 0.0001 relative"
    )
    for ratio, difference, state in (
        (6.0, 5e-5, "met"),
        (4.0, 5e-5, "not met"),
        (6.0, 2e-4, "not met"),
    ):
        rows["L"]["btyd"]["fits"]["pareto_nbd"] = {
            "ratio": ratio,
            "max_relative_difference": difference,
        }
        assert dict((t, (s, d)) for t, s, d in bench.evaluate_targets(rows))[
            pareto_target
        ] == (state, f"L: {ratio:.1f}x, max rel. diff {difference:.1e}")
    del rows["L"]["btyd"]["fits"]["pareto_nbd"]
    campaign_target = "campaign assignment and measurement <= 10% of a full build at L"
    for seconds, state, added in ((100.0, "met", "8.3%"), (130.0, "not met", "11.1%")):
        rows["L"]["campaigns"] = _campaigns(seconds, 1300.0)
        assert dict((t, (s, d)) for t, s, d in bench.evaluate_targets(rows))[
            campaign_target
        ] == (
            state,
            f"L: {added} added ({seconds:.1f} s of campaign nodes, full build"
            " 1300.0 s)",
        )
    # A build without campaign nodes measures nothing.
    rows["L"]["campaigns"] = bench.campaign_share({"nodes": {}}, [], 1300.0)
    assert (
        dict((t, s) for t, s, _ in bench.evaluate_targets(rows))[campaign_target]
        == "not measured"
    )
    backfill_target = "backfill of 12 monthly dates <= 4x one full build at M"
    rows["M"] = _row("M", 100.0, 2.0, 1.2, 0.3, backfill=4.2)
    assert dict((t, (s, d)) for t, s, d in bench.evaluate_targets(rows))[
        backfill_target
    ] == ("not met", "M: 4.20 (CPU time: 3.70); 6.0 s per date")
    # Fewer months (a quick run) or no backfill step: not the target's.
    rows["M"]["backfill"] = _backfill(2, 1.5, 100.0)
    assert (
        dict((t, s) for t, s, _ in bench.evaluate_targets(rows))[backfill_target]
        == "not measured"
    )
    only_small = bench.evaluate_targets({"S": _row("S", 10.0, 0.5, 2.0, 0.5)})
    assert {state for _, state, _ in only_small[:5]} == {"not measured"}
    assert only_small[-1] == (backfill_target, "not measured", only_small[0][2])

    # Re-running a size replaces its row and keeps the others.
    results = tmp_path / "results"
    results.mkdir()
    for size, wall in (("S", 10.0), ("M", 100.0)):
        (results / f"{size}.json").write_text(json.dumps(_row(size, wall, 1, 2, 0.5)))
    (results / "M.json").write_text(json.dumps(_row("M", 90.0, 1, 2, 0.5)))
    output = tmp_path / "BENCHMARKS.md"
    bench.write_benchmarks(results, output)
    text = output.read_text()
    assert text.count("\n| S | 1 |") == 1 and text.count("\n| M | 1 |") == 1
    # Results from before the Pareto/NBD fitter say so in its table.
    assert "\n| S | not measured | | | | | 2026-11-27 |" in text
    assert "| 90.0 |" in text and "| 100.0 |" not in text
    # No backfill measured yet: said, not a row.
    assert "Not measured for S, M: their results predate" in text
    (results / "M.json").write_text(json.dumps(_row("M", 90.0, 1, 2, 0.5, 3.25)))
    bench.write_benchmarks(results, output)
    text = output.read_text()
    assert "Not measured for S: their results predate" in text
    assert (
        "\n| M | 12 | 90.0 | 292.5 | 3.25 | 2.75 | 6.00 | 72.0 | 90.0 | 5.00 | 13"
        " | yes | no | 2026-11-27 |"
    ) in text
    # Measured again alone (--backfill-only): its own full build, marked.
    alone = _row("M", 90.0, 1, 2, 0.5, 3.25)
    alone["backfill"].update(
        alone=True,
        measured_at="2026-11-30T16:00:00+00:00",
        full_build={"wall_seconds": 80.0},
    )
    (results / "M.json").write_text(json.dumps(alone))
    bench.write_benchmarks(results, output)
    text = output.read_text()
    assert "| 90.0 |" in text
    assert "\n| M | 12 | 80.0 | 292.5 | 3.25 |" in text
    assert " | yes | no | 2026-11-30 (alone) |" in text


def test_backfill_only_needs_recorded_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing is built: the missing results file stops it first.
    assert bench.main(["--size", "S", "--root", str(tmp_path), "--backfill-only"]) == 1
    assert "run the whole benchmark of S first" in capsys.readouterr().err
    assert not (tmp_path / "work").exists()


def _history_warehouse(path: Path, rows: str) -> Path:
    with duckdb.connect(str(path)) as connection:
        connection.execute("create schema intermediate")
        connection.execute(
            "create table intermediate.int_user_snapshots_accumulated as"
            " select as_of_date::date as as_of_date, user_id, primary_segment,"
            " cluster_id, probability_alive::double as probability_alive from (values "
            + rows
            + ") as t("
            "as_of_date, user_id, primary_segment, cluster_id, probability_alive)"
        )
    return path


def test_the_history_comparison_reports_rows_and_cluster_ids_that_differ(
    tmp_path: Path,
) -> None:
    final = "('2026-10-01', 'u1', 'champions', 1, 0.5), "
    plain = _history_warehouse(
        tmp_path / "plain.duckdb", final + "('2026-10-01', 'u2', 'at_risk', 2, 0.25)"
    )
    earlier = "('2026-09-01', 'u1', 'loyal', 1, 0.6), "
    same = _history_warehouse(
        tmp_path / "same.duckdb",
        # The last bits of a double are no different result.
        earlier + final + "('2026-10-01', 'u2', 'at_risk', 2, 0.25 + 1e-12)",
    )
    compared = bench.compare_final_snapshot(plain, same, dt.date(2026, 10, 1))
    assert compared["dates"] == ["2026-09-01", "2026-10-01"]
    assert compared["rows_per_date"] == [1, 2]
    assert compared["final_date_rows"] == compared["plain_final_date_rows"] == 2
    assert compared["final_date_rows_differing"] == 0
    assert compared["final_date_rows_differing_with_clusters"] == 0

    relabelled = _history_warehouse(
        tmp_path / "relabelled.duckdb",
        earlier + final + "('2026-10-01', 'u2', 'at_risk', 3, 0.25)",
    )
    compared = bench.compare_final_snapshot(plain, relabelled, dt.date(2026, 10, 1))
    assert compared["final_date_rows_differing"] == 0
    # The plain build's row and the backfill build's, each counted.
    assert compared["final_date_rows_differing_with_clusters"] == 2

    other = _history_warehouse(
        tmp_path / "other.duckdb",
        earlier + final + "('2026-10-01', 'u2', 'dormant', 2, 0.25)",
    )
    compared = bench.compare_final_snapshot(plain, other, dt.date(2026, 10, 1))
    assert compared["final_date_rows_differing"] == 2


def _node(name: str, path: str, kind: str = "model", parents: tuple = ()) -> dict:
    return {
        "name": name,
        "resource_type": kind,
        "original_file_path": path,
        "depends_on": {"nodes": [f"model.p.{parent}" for parent in parents]},
    }


def test_the_campaign_nodes_and_their_share_of_a_build() -> None:
    manifest = {
        "nodes": {
            "model.p.stg_app__campaigns": _node(
                "stg_app__campaigns", "models/staging/app/stg_app__campaigns.sql"
            ),
            "model.p.stg_app__orders": _node(
                "stg_app__orders", "models/staging/app/stg_app__orders.sql"
            ),
            "model.p.int_campaign_assignments": _node(
                "int_campaign_assignments",
                "models/intermediate/campaigns/int_campaign_assignments.sql",
            ),
            "model.p.campaign_results": _node(
                "campaign_results", "models/marts/campaigns/campaign_results.sql"
            ),
            "model.p.user_segments": _node(
                "user_segments", "models/marts/segments/user_segments.sql"
            ),
            "test.p.not_null_campaign_results": _node(
                "not_null_campaign_results",
                "models/marts/campaigns/_campaigns.yml",
                "test",
                ("campaign_results",),
            ),
            "test.p.holdouts_never_exported": _node(
                "holdouts_never_exported",
                "tests/holdouts_never_exported.sql",
                "test",
                ("user_segments", "int_campaign_assignments"),
            ),
            "test.p.not_null_user_segments": _node(
                "not_null_user_segments",
                "models/marts/segments/_segments.yml",
                "test",
                ("user_segments",),
            ),
        }
    }
    assert bench.campaign_node_ids(manifest) == {
        "model.p.stg_app__campaigns",
        "model.p.int_campaign_assignments",
        "model.p.campaign_results",
        "test.p.not_null_campaign_results",
        "test.p.holdouts_never_exported",
    }
    seconds = {
        "model.p.stg_app__campaigns": 0.5,
        "model.p.stg_app__orders": 20.0,
        "model.p.int_campaign_assignments": 3.0,
        "model.p.campaign_results": 1.5,
        "model.p.user_segments": 14.0,
        "test.p.not_null_campaign_results": 0.25,
        "test.p.holdouts_never_exported": 0.75,
        "test.p.not_null_user_segments": 0.0,
    }
    nodes = [
        {"unique_id": uid, "resource_type": uid.split(".")[0], "execution_time": time}
        for uid, time in seconds.items()
    ]
    share = bench.campaign_share(manifest, nodes, wall_seconds=26.0)
    assert share == {
        "models": 3,
        "tests": 2,
        "seconds": 6.0,
        "node_seconds": 40.0,
        "wall_seconds": 26.0,
        "share_of_node_time": 0.15,
        "added_share": 0.3,
    }
    assert bench.campaign_text(share) == (
        "campaigns: 6.00 s of 40.0 s (15.0%) of node time, 3 models and 2 tests;"
        " 30.0% added to the full build's 26.0 s"
    )
    # Before the campaign models exist: said, and no share to compare.
    before = bench.campaign_share({"nodes": {}}, nodes, wall_seconds=26.0)
    assert before["seconds"] == 0 and before["added_share"] is None
    assert bench.campaign_text(before) == (
        "campaigns: no campaigns (no campaign model in the build)"
    )
    # BENCHMARKS.md: the row of a size that measured it, a note for the others.
    measured = _row("L", 26.0, 1, 2, 0.5)
    measured["data"]["campaigns"] = 5
    measured["campaigns"] = share
    text = bench.render_benchmarks([_row("M", 10.0, 1, 2, 0.5), measured])
    assert "## Campaign assignment and measurement" in text
    assert (
        "\n| L | 5 | 3 | 2 | 6.00 | 40.0 | 15.0% | 26.0 | 30.0% | 2026-11-27 |"
    ) in text
    assert "Not measured for M: their results predate the campaigns" in text


# ---------------------------------------------------------------------------
# The propensity models' share of a build (issue 16)
# ---------------------------------------------------------------------------


def test_the_propensity_nodes_and_their_share_of_a_build() -> None:
    folder = "models/intermediate/propensity/"
    manifest = {
        "nodes": {
            "model.p.int_user_features_accumulated": _node(
                "int_user_features_accumulated",
                folder + "int_user_features_accumulated.sql",
            ),
            "model.p.int_propensity_examples_predicted": _node(
                "int_propensity_examples_predicted",
                folder + "int_propensity_examples_predicted.py",
            ),
            "model.p.propensity_evaluation": _node(
                "propensity_evaluation",
                "models/marts/propensity/propensity_evaluation.sql",
            ),
            "model.p.int_users_profiled": _node(
                "int_users_profiled",
                "models/intermediate/users/int_users_profiled.sql",
            ),
            # Not propensity: the campaigns' staging, and the cluster rules.
            "model.p.stg_app__campaigns": _node(
                "stg_app__campaigns", "models/staging/app/stg_app__campaigns.sql"
            ),
            "model.p.int_clusters_explained": _node(
                "int_clusters_explained",
                "models/intermediate/clustering/int_clusters_explained.py",
            ),
            "test.p.not_null_propensity_evaluation_model": _node(
                "not_null_propensity_evaluation_model",
                "models/marts/propensity/_propensity.yml",
                "test",
                ("propensity_evaluation",),
            ),
            "test.p.not_null_int_users_profiled_user_id": _node(
                "not_null_int_users_profiled_user_id",
                "models/intermediate/users/_users.yml",
                "test",
                ("int_users_profiled",),
            ),
        },
        "unit_tests": {
            "unit_test.p.int_propensity_examples_predicted.sorted": {
                "resource_type": "unit_test",
                "depends_on": {"nodes": ["model.p.int_propensity_examples_predicted"]},
            }
        },
    }
    chosen = {
        "model.p.int_user_features_accumulated",
        "model.p.int_propensity_examples_predicted",
        "model.p.propensity_evaluation",
        "test.p.not_null_propensity_evaluation_model",
        "unit_test.p.int_propensity_examples_predicted.sorted",
    }
    assert bench.propensity_node_ids(manifest) == chosen
    # The campaigns' selection is unchanged by sharing its code.
    assert bench.campaign_node_ids(manifest) == {"model.p.stg_app__campaigns"}
    seconds = {
        "model.p.int_user_features_accumulated": 4.0,
        "model.p.int_propensity_examples_predicted": 30.0,
        "model.p.propensity_evaluation": 1.5,
        "model.p.int_users_profiled": 50.0,
        "model.p.stg_app__campaigns": 0.25,
        "model.p.int_clusters_explained": 10.0,
        "test.p.not_null_propensity_evaluation_model": 0.5,
        "test.p.not_null_int_users_profiled_user_id": 3.75,
    }
    nodes = [
        {"unique_id": uid, "resource_type": uid.split(".")[0], "execution_time": time}
        for uid, time in seconds.items()
    ]
    share = bench.propensity_share(manifest, nodes, wall_seconds=100.0)
    assert share == {
        "models": 3,
        "tests": 1,
        "seconds": 36.0,
        "node_seconds": 100.0,
        "wall_seconds": 100.0,
        "share_of_node_time": 0.36,
        "added_share": 0.5625,
        "per_model": {
            "int_propensity_examples_predicted": 30.0,
            "int_user_features_accumulated": 4.0,
            "propensity_evaluation": 1.5,
        },
        "test_seconds": 0.5,
        "within_target": True,
    }
    assert bench.propensity_text(share) == (
        "propensity: 36.0 s of 100.0 s (36.0%) of node time, 3 models and 1 tests"
        " (slowest: int_propensity_examples_predicted 30.0 s,"
        " int_user_features_accumulated 4.00 s, propensity_evaluation 1.50 s);"
        " 56.2% added to the build's 100.0 s (within the 60 s target)"
    )
    # Over the target: 61 s of propensity nodes.
    nodes[1]["execution_time"] = 55.0
    slow = bench.propensity_share(manifest, nodes, wall_seconds=125.0)
    assert slow["seconds"] == 61.0 and slow["within_target"] is False
    assert bench.propensity_text(slow).endswith("(over the 60 s target)")
    # Before the propensity models exist: said, nothing to compare.
    before = bench.propensity_share({"nodes": {}}, nodes, wall_seconds=125.0)
    assert before["per_model"] == {} and before["within_target"] is None
    assert bench.propensity_text(before) == (
        "propensity: no propensity model in the build"
    )
    # BENCHMARKS.md: the row and the target of L, a note for the sizes without.
    windows = [
        {
            "window_kind": "out_of_time",
            "label": label,
            "horizon_days": horizon,
            "status": "fallback"
            if horizon == 90 and label == "will_churn"
            else "ready",
            "train_rows": 50_000,
            "eval_rows": 48_000 if label == "will_purchase" else 20_000,
            "is_scoring_window": (label, horizon)
            in (("will_purchase", 30), ("will_churn", 90)),
        }
        for label in ("will_purchase", "will_churn")
        for horizon in (30, 90)
    ]
    measured = _row("L", 100.0, 1, 2, 0.5)
    measured["propensity"] = {**share, "windows": windows, "scored_users": 1_004_000}
    text = bench.render_benchmarks([_row("M", 10.0, 1, 2, 0.5), measured])
    assert "## Propensity training and scoring" in text
    assert (
        "\n| L | 3 | 1 | 36.0 | 0.50 | `int_propensity_examples_predicted` 30.0,"
        " `int_user_features_accumulated` 4.00, `propensity_evaluation` 1.50"
        " | 100.0 | 56.2% | 3 of 4 | 50,000 / 48,000 | 1,004,000 | 2026-11-27 |"
    ) in text
    assert "Not measured for M: their results predate the propensity models" in text
    status = {t: (s, d) for t, s, d in bench.evaluate_targets({"L": measured})}
    assert status[
        "propensity training and scoring add <= 60 s to a full build at L"
    ] == (
        "met",
        "L: 36.0 s of propensity nodes (56.2% added to a build of 100.0 s)",
    )
    measured["propensity"] = {**slow, "windows": windows}
    status = {t: s for t, s, _ in bench.evaluate_targets({"L": measured})}
    assert status[
        "propensity training and scoring add <= 60 s to a full build at L"
    ] == ("not met")


# ---------------------------------------------------------------------------
# Behaviour and affinity (issue 17): their share of a build, and the daily
# rerun's session rows
# ---------------------------------------------------------------------------


def test_the_behaviour_nodes_and_their_share_of_a_build() -> None:
    manifest = {
        "nodes": {
            "model.p.int_users_categories_aggregated": _node(
                "int_users_categories_aggregated",
                "models/intermediate/affinity/int_users_categories_aggregated.sql",
            ),
            "model.p.int_users_categories_recommended": _node(
                "int_users_categories_recommended",
                "models/intermediate/recommendations/"
                "int_users_categories_recommended.py",
            ),
            "model.p.lookalike_scores": _node(
                "lookalike_scores", "models/marts/lookalike/lookalike_scores.sql"
            ),
            "model.p.segment_funnels": _node(
                "segment_funnels", "models/marts/behaviour/segment_funnels.sql"
            ),
            "model.p.int_session_days_joined_to_segments": _node(
                "int_session_days_joined_to_segments",
                "models/intermediate/events/int_session_days_joined_to_segments.sql",
            ),
            # Older models: the session days (timed apart), the propensity.
            "model.p.int_events_aggregated_to_session_days": _node(
                "int_events_aggregated_to_session_days",
                "models/intermediate/events/int_events_aggregated_to_session_days.sql",
            ),
            "model.p.int_users_propensity_scored": _node(
                "int_users_propensity_scored",
                "models/intermediate/propensity/int_users_propensity_scored.py",
            ),
            "test.p.funnel_sessions_never_increase": _node(
                "funnel_sessions_never_increase",
                "tests/funnel_sessions_never_increase.sql",
                "test",
                ("segment_funnels",),
            ),
            "test.p.not_null_session_days": _node(
                "not_null_session_days",
                "models/intermediate/events/_events__models.yml",
                "test",
                ("int_events_aggregated_to_session_days",),
            ),
        }
    }
    assert bench.behaviour_node_ids(manifest) == {
        "model.p.int_users_categories_aggregated",
        "model.p.int_users_categories_recommended",
        "model.p.lookalike_scores",
        "model.p.segment_funnels",
        "model.p.int_session_days_joined_to_segments",
        "test.p.funnel_sessions_never_increase",
    }
    assert bench.propensity_node_ids(manifest) == {
        "model.p.int_users_propensity_scored"
    }
    seconds = {
        "model.p.int_users_categories_aggregated": 6.0,
        "model.p.int_users_categories_recommended": 8.0,
        "model.p.lookalike_scores": 4.0,
        "model.p.segment_funnels": 1.5,
        "model.p.int_events_aggregated_to_session_days": 20.0,
        "model.p.int_users_propensity_scored": 10.0,
        "test.p.funnel_sessions_never_increase": 0.5,
        "test.p.not_null_session_days": 10.0,
    }
    nodes = [
        {"unique_id": uid, "resource_type": uid.split(".")[0], "execution_time": time}
        for uid, time in seconds.items()
    ]
    share = bench.behaviour_share(manifest, nodes, wall_seconds=120.0)
    assert share == {
        "models": 4,
        "tests": 1,
        "seconds": 20.0,
        "node_seconds": 60.0,
        "wall_seconds": 120.0,
        "share_of_node_time": 0.3333,
        "added_share": 0.2,
        "per_model": {
            "int_users_categories_recommended": 8.0,
            "int_users_categories_aggregated": 6.0,
            "lookalike_scores": 4.0,
            "segment_funnels": 1.5,
        },
        "test_seconds": 0.5,
        "session_days_seconds": 20.0,
        "within_target": True,
    }
    assert bench.behaviour_text(share) == (
        "behaviour and affinity: 20.0 s of 60.0 s (33.3%) of node time, 4 models"
        " and 1 tests (slowest: int_users_categories_recommended 8.00 s,"
        " int_users_categories_aggregated 6.00 s, lookalike_scores 4.00 s);"
        " session days 20.0 s; 20.0% added to the build's 120.0 s (within the"
        " 20% target)"
    )
    # Over the target: 20 s added to 99 s.
    slow = bench.behaviour_share(manifest, nodes, wall_seconds=99.0)
    assert slow["added_share"] == 0.2532 and slow["within_target"] is False
    assert bench.behaviour_text(slow).endswith("(over the 20% target)")
    before = bench.behaviour_share({"nodes": {}}, nodes, wall_seconds=99.0)
    assert before["within_target"] is None and before["per_model"] == {}
    assert bench.behaviour_text(before) == (
        "behaviour and affinity: no behaviour model in the build"
    )

    # BENCHMARKS.md: the row and the targets of L, a note for the others.
    session_rows = bench.compare_file_rows(
        {"a": [10, "1"], "b": [5, "2"]},
        {"a": [10, "1"], "b": [5, "2"], "c": [3, "3"]},
    )
    measured = _row("L", 100.0, 1, 2, 0.5)
    measured["behaviour"] = {
        **share,
        "peak_rss_bytes": 5_500_000_000,
        "session_rows": session_rows,
    }
    text = bench.render_benchmarks([_row("M", 10.0, 1, 2, 0.5), measured])
    assert "## Behaviour and affinity" in text
    assert (
        "\n| L | 4 | 1 | 20.0 | 0.50 | `int_users_categories_recommended` 8.00,"
        " `int_users_categories_aggregated` 6.00, `lookalike_scores` 4.00,"
        " `segment_funnels` 1.50 | 20.0 | 120.0 | 20.0% | 5.50 | 3 of 18 | yes"
        " | 2026-11-27 |"
    ) in text
    assert (
        "Not measured for M: their results predate the behaviour and affinity models"
    ) in text
    status = {t: (s, d) for t, s, d in bench.evaluate_targets({"L": measured})}
    assert status[
        "behaviour and affinity (issue 17) add <= 20% to a full build at L"
    ] == ("met", "L: 20.0% added (20.0 s of behaviour nodes, build 120.0 s)")
    assert status["daily rerun adds only the new files' session rows at L"] == (
        "met",
        "L: 3 rows added, 3 of 1 new files; earlier files changed: 0",
    )
    assert status["behaviour and affinity build at L peak memory <= 6 GB"] == (
        "met",
        "L: 5.50 GB",
    )
    measured["behaviour"] = {
        **slow,
        "peak_rss_bytes": 6_500_000_000,
        "session_rows": bench.compare_file_rows(
            {"a": [10, "1"]}, {"a": [11, "4"], "c": [3, "3"]}
        ),
    }
    status = {t: s for t, s, _ in bench.evaluate_targets({"L": measured})}
    assert status[
        "behaviour and affinity (issue 17) add <= 20% to a full build at L"
    ] == ("not met")
    assert status["daily rerun adds only the new files' session rows at L"] == (
        "not met"
    )
    assert status["behaviour and affinity build at L peak memory <= 6 GB"] == (
        "not met"
    )


def test_the_session_rows_of_a_rerun_are_compared_per_file(tmp_path: Path) -> None:
    def warehouse(name: str, rows: str) -> Path:
        path = tmp_path / name
        with duckdb.connect(str(path)) as connection:
            connection.execute("create schema intermediate")
            connection.execute(
                f"create table {bench.SESSION_DAYS_RELATION} as"
                " select * from (values " + rows + ")"
                " as t(source_file, user_id, session_id, event_count)"
            )
        return path

    earlier = (
        "('day1', 'u1', 's1', 3), ('day1', 'u2', 's2', 1), ('day2', 'u1', 's3', 2)"
    )
    before = bench.file_rows(warehouse("before.duckdb", earlier))
    assert {name: count for name, (count, _) in before.items()} == {
        "day1": 2,
        "day2": 1,
    }
    # A rerun that adds the new file's rows only.
    added = bench.file_rows(
        warehouse("added.duckdb", earlier + ", ('day3', 'u2', 's4', 5)")
    )
    compared = bench.compare_file_rows(before, added)
    assert compared == {
        "files_before": 2,
        "new_files": 1,
        "rows_before": 3,
        "rows_after": 4,
        "rows_added": 1,
        "new_file_rows": 1,
        "files_changed": [],
        "files_gone": [],
        "only_new_files": True,
    }
    # An earlier file rebuilt with other values (same row count), or gone.
    rebuilt = bench.file_rows(
        warehouse(
            "rebuilt.duckdb",
            "('day1', 'u1', 's1', 4), ('day1', 'u2', 's2', 1), ('day3', 'u2', 's4', 5)",
        )
    )
    compared = bench.compare_file_rows(before, rebuilt)
    assert compared["files_changed"] == ["day1"]
    assert compared["files_gone"] == ["day2"]
    assert compared["only_new_files"] is False
    # Nothing new at all is no daily run either.
    assert bench.compare_file_rows(before, before)["only_new_files"] is False
    # Before the table exists: nothing to compare.
    duckdb.connect(str(tmp_path / "empty.duckdb")).close()
    assert bench.file_rows(tmp_path / "empty.duckdb") == {}
