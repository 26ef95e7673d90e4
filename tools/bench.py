"""Benchmark behind ``make bench SIZE=S|M|L``: speed and memory against the
floor (the core job by DuckDB alone), and our BTYD numbers against
lifetimes.

``python -m tools.bench --size S|M|L [--users N] [--memory-limit 4GB]
[--root bench] [--output BENCHMARKS.md] [--history-months 12]
[--backfill-only | --skip-backfill]``

One run measures, on the same data:

1. **Data**: ``<root>/data/<size>`` comes from ``tools.demo_data``
   (``--size X``; ``--users N`` for a custom size). It is reused while its
   stamp file ``<root>/data/<size>.stamp.json`` (generator arguments, hash
   of the generator's source, hash of ``_manifest.json``, the file list)
   still matches, regenerated otherwise. The run works on a copy in
   ``<root>/work/<size>/data`` made of symlinks to the cached files plus a
   copied manifest, so appending a day never modifies the cache (checked).
2. **Full build**: ``python -m segmentation run --data <copy>`` from scratch
   (fresh warehouse file and dbt target folder), as a subprocess with its
   wall time and peak memory: the largest resident set of the process tree
   (``os.wait4``; dbt runs in that process) and the peak of the
   tree's summed resident sets, sampled from ``/proc``; the larger is
   reported. Every node's time comes from dbt's ``run_results.json``.
   **Campaigns**: the summed node time of the campaigns' models and their
   tests (:func:`campaign_node_ids`) against every node's and the wall
   time (``campaigns: X s of Y s (Z%)``; "no campaigns" without them).
   **Propensity**: the same for the propensity models and their tests
   (:func:`propensity_node_ids`), measured on the final build of the
   history backfill below (the only build of the run with a feature
   history to train on), with each model's time, the training windows and
   how many users each trained on (:func:`propensity_share`,
   :func:`propensity_trained`); target: at most 60 s added at L.
   **Behaviour and affinity** (issue 17): the same for the affinity,
   next-best category, lookalike and funnel models and their tests
   (:func:`behaviour_node_ids`), on the same build (the lookalike
   evaluation needs an earlier snapshot), with the time of the events'
   session-days model beside it (the funnel columns are computed in that
   incremental pass) and the build's peak memory (:func:`behaviour_share`);
   target: at most 20% added to a full build at L.
   **History backfill**: then ``python -m segmentation run --data <copy>
   --history-from <as-of date - 12 months>`` from scratch (fresh warehouse
   and target; ``--history-months N`` or ``BENCH_HISTORY_MONTHS`` for
   another count), measured the same way. Its ratio is that whole build's
   wall time over the full build's (the final date's build included), with
   the same ratio of CPU times beside it; the times the backfill prints per
   date are recorded. Checked: the history holds the 12 dates and the as-of
   date, and its rows of the as-of date equal the full build's (doubles
   rounded as in tools.digest; the cluster columns compared separately).
   ``--backfill-only`` runs only the full build and this step and replaces
   the backfill of the recorded results (for a measure disturbed by other
   work on the machine); the rest of the recorded results stays.
   ``--skip-backfill`` is the inverse: everything but this step, the
   backfill, propensity and behaviour results recorded for the size kept.
3. **Floor**: the core job by DuckDB alone (:mod:`tools.floor`), as its
   own measured subprocess (wall time, peak memory), three times,
   alternating with the builds: right before the full build (with the
   dates the data's manifest implies), right after it and after the
   incremental step's full refresh (each with that build's as-of date and
   horizon, and its per-user table compared with that build's
   ``user_profiles``: a disagreement fails the run). The median is
   reported, with project / floor for the full build and for the staging
   of events and of orders (:func:`floor_summary`), and where the full
   build's time goes (:func:`build_phases`, :func:`node_totals`). It
   replaced the engine-alone replay of dbt's compiled SQL, which measured
   dbt's overhead over the same SQL but not whether it does more work than
   the job needs, at the cost of a full build per run.
4. **BTYD summary vs lifetimes**: the purchases ``int_users_btyd_summarized``
   reads, summarised by ``lifetimes.utils.summary_data_from_transaction_data``
   and by our compiled SQL (best of 3 each); every user's values must be
   identical.
5. **BG/NBD and Gamma-Gamma fits vs lifetimes** on that summary (best of 3).
6. **Incremental daily rerun**: the generator's ``--append-day`` on the
   copy, the same command again on the same warehouse, timed; then a
   ``--full-refresh`` build must give identical marts. It runs on a copy of
   the warehouse as the rerun found it: a full refresh keeps the segment
   history (issue 14), so both end with the same dates in it. The rerun
   must add exactly the new files' rows to the session-days table and
   leave every earlier file's rows as they were (:func:`file_rows`,
   :func:`compare_file_rows`): funnels and paths follow the events'
   incremental path.
7. **Results**: a printed summary, ``<root>/work/<size>/results.json``
   always and, when every check passed, ``<root>/results/<size>.json`` and
   ``BENCHMARKS.md`` regenerated from every results file (one row per size).

A failed check makes the run exit 1 after writing the work folder's
results, so committed results only ever hold passing runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import yaml

from segmentation import history
from segmentation.project import project_vars
from tools import floor
from tools.digest import (
    comparable_values,
    differing_tables,
    table_fingerprints,
    table_hashes,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
GENERATOR = PROJECT_DIR / "tools" / "demo_data.py"
DEFAULT_ROOT = PROJECT_DIR / "bench"
DEFAULT_OUTPUT = PROJECT_DIR / "BENCHMARKS.md"
# Users per size when the generator has no --size yet (--users N instead).
SIZES = {"S": 10_000, "M": 100_000, "L": 1_000_000}
DEFAULT_MEMORY_LIMIT = "4GB"
THREADS = "2"
REPEATS = 3
# Stop repeating a timed call once its runs took this long (lifetimes on L).
REPEAT_BUDGET_SECONDS = 120.0
# Per-user BTYD values must agree this closely (relative for money).
VALUE_TOLERANCE = 1e-9
# Fitted parameters count as agreeing within this relative difference.
PARAM_TOLERANCE = 1e-3
# Issue 19: Pareto/NBD at L at least this many times faster than lifetimes'
# ParetoNBDFitter, its parameters within PARETO_PARAM_TOLERANCE (relative).
PARETO_TARGET_RATIO = 5.0
PARETO_PARAM_TOLERANCE = 1e-4
# Share of a second between two samples of the process tree's memory.
SAMPLE_SECONDS = 0.1
# The segment history backfill: this many monthly as-of dates before the
# full build's (issue 14: 12 at M cost at most BACKFILL_TARGET_RATIO full
# builds). BENCH_HISTORY_MONTHS sets fewer for a quick check (the pytest).
HISTORY_MONTHS = 12
BACKFILL_TARGET_RATIO = 4.0
# Issue 18: a full build within this many times the floor at M and L.
FLOOR_TARGET_RATIO = 3.0
# Columns of the history left out when the final date's rows of the backfill
# build are compared with the plain build's: the cluster ids may follow the
# earlier snapshots (stable ids), which the plain build does not have; the
# comparison reports separately whether they are equal too.
CLUSTER_COLUMNS = ("cluster_id", "cluster_label")
# Campaign assignment and measurement (issue 15): the nodes under these
# model folders, the campaigns' staging (base_ and stg_app__campaigns) and
# every test on one of them. Their summed node time, against the full
# build's, is the campaigns' cost (at L: at most CAMPAIGN_TARGET_SHARE added
# to a full build).
CAMPAIGN_MODEL_FOLDERS = ("models/intermediate/campaigns/", "models/marts/campaigns/")
CAMPAIGN_STAGING_MODEL = re.compile(r"^(base|stg)_app__campaigns")
CAMPAIGN_TARGET_SHARE = 0.10
# Propensity training and scoring (issue 16): the nodes under these model
# folders (the feature history, the training windows and examples, the
# classifiers' fits, permutation importance, the scores and their tiers, the
# evaluation marts) and every test on one of them. Their summed node time
# is what they add to a full build (at L: at most PROPENSITY_TARGET_SECONDS).
# It is measured on the final build of the backfill step, the one build of a
# run whose feature history reaches back far enough to train on.
PROPENSITY_MODEL_FOLDERS = (
    "models/intermediate/propensity/",
    "models/marts/propensity/",
)
PROPENSITY_TARGET_SECONDS = 60.0
PROPENSITY_WINDOWS = "intermediate.int_propensity_windows_checked"
PROPENSITY_SCORES = "intermediate.int_users_propensity_scored"
# Behaviour and affinity (issue 17): category affinity, next-best category,
# lookalikes, funnels and paths. Their nodes: the models under these
# folders, the funnel marts' input in the events folder
# (BEHAVIOUR_EVENT_MODELS) and every test on one of them; measured, like
# propensity, on the final build of the backfill step (the lookalike
# evaluation needs an earlier snapshot). At L they add at most
# BEHAVIOUR_TARGET_SHARE to a full build.
# The funnels' per-session columns are computed in the events' incremental
# pass (SESSION_DAYS_MODEL, an existing model), so its own time is shown
# beside them, and a daily rerun must add only the new files' session rows
# to it (incremental_step).
BEHAVIOUR_MODEL_FOLDERS = (
    "models/intermediate/affinity/",
    "models/intermediate/recommendations/",
    "models/intermediate/lookalike/",
    "models/marts/affinity/",
    "models/marts/recommendations/",
    "models/marts/lookalike/",
    "models/marts/behaviour/",
)
BEHAVIOUR_EVENT_MODELS = re.compile(r"^int_session_days_joined_to_segments$")
BEHAVIOUR_TARGET_SHARE = 0.20
SESSION_DAYS_MODEL = "int_events_aggregated_to_session_days"
SESSION_DAYS_RELATION = f"intermediate.{SESSION_DAYS_MODEL}"
PROGRESS_LINE = re.compile(
    r"history (\d+)/(\d+): as of (\d{4}-\d{2}-\d{2}) \.\.\. done in ([\d.]+) s"
)
GB = 1e9


class BenchError(Exception):
    """A step could not run at all (a failed build, a missing tool)."""


# ---------------------------------------------------------------------------
# Running and measuring subprocesses
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """Wall time and memory of one subprocess tree.

    Attributes:
        returncode: exit code of the subprocess.
        wall_seconds: wall-clock time from start to exit.
        max_rss_bytes: largest resident set of any single process of the tree
            (``ru_maxrss`` from ``os.wait4``: Linux folds in the maximum of
            every descendant the child waited for, so dbt is covered).
        tree_rss_bytes: peak of the summed resident sets of the live tree,
            sampled every ``SAMPLE_SECONDS`` (shared pages counted once per
            process, so it leans high).
        cpu_seconds: user + system CPU time of the tree (``os.wait4``'s
            rusage, which includes the descendants waited for): less
            disturbed than the wall time by other work on the machine.
        started_at: when the subprocess started (seconds since the epoch),
            to place dbt's own timestamps in its wall time.
    """

    returncode: int
    wall_seconds: float
    max_rss_bytes: int
    tree_rss_bytes: int
    cpu_seconds: float = 0.0
    started_at: float = 0.0

    @property
    def peak_rss_bytes(self) -> int:
        return max(self.max_rss_bytes, self.tree_rss_bytes)

    def as_dict(self) -> dict[str, float | int]:
        return {
            "wall_seconds": round(self.wall_seconds, 3),
            "peak_rss_bytes": self.peak_rss_bytes,
            "max_process_rss_bytes": self.max_rss_bytes,
            "peak_tree_rss_bytes": self.tree_rss_bytes,
            "cpu_seconds": round(self.cpu_seconds, 3),
            "started_at": round(self.started_at, 3),
        }


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            found.extend(
                int(child) for child in (task / "children").read_text().split()
            )
        except OSError:
            continue
    return found


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class _TreeSampler(threading.Thread):
    """Samples the summed resident memory of a process and its descendants."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            total, pending = 0, [self.pid]
            while pending:
                pid = pending.pop()
                total += _rss_bytes(pid)
                pending.extend(_children(pid))
            self.peak = max(self.peak, total)
            self._done.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._done.set()
        self.join()


def measure(command: list[str], env: dict[str, str], log_path: Path) -> Measured:
    """Run ``command`` from the project folder, its output going to
    ``log_path``; return its wall time and peak memory."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        started_at = time.time()
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        sampler = _TreeSampler(process.pid)
        sampler.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        finally:
            sampler.stop()
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in kilobytes on Linux.
    return Measured(
        process.returncode,
        wall,
        usage.ru_maxrss * 1024,
        sampler.peak,
        usage.ru_utime + usage.ru_stime,
        started_at,
    )


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_env(run_dir: Path, memory_limit: str) -> dict[str, str]:
    """Environment of a build whose files all live in run_dir."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "tmp").mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "SEGMENTS_DB_PATH": str(run_dir / "warehouse.duckdb"),
            "DBT_TARGET_PATH": str(run_dir / "target"),
            "DBT_LOG_PATH": str(run_dir / "logs"),
            "SEGMENTS_TEMP_DIR": str(run_dir / "tmp"),
            "SEGMENTS_PUBLISH_DIR": str(run_dir / "published"),
            "SEGMENTS_THREADS": THREADS,
            "SEGMENTS_MEMORY_LIMIT": memory_limit,
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    return env


def segmentation_run(data_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "segmentation",
        "run",
        "--data",
        str(data_dir),
        *extra,
    ]


# ---------------------------------------------------------------------------
# Data: generate or reuse, and the work copy
# ---------------------------------------------------------------------------


def generator_flags() -> set[str]:
    """Which of the generator's newer options exist on this branch."""
    completed = subprocess.run(
        [sys.executable, "-m", "tools.demo_data", "--help"],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return {
        flag
        for flag in ("--size", "--append-day")
        if re.search(rf"(?<![\w-]){flag}\b", completed.stdout)
    }


def generator_arguments(size: str, users: int | None, flags: set[str]) -> list[str]:
    """The generator's arguments for a size (without ``--out``)."""
    if users is None and "--size" in flags:
        return ["--size", size]
    return ["--format", "parquet", "--users", str(users or SIZES[size])]


def _sha256(path: Path) -> str | None:
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(folder: Path) -> dict[str, list[int]]:
    """Every file under folder: relative path -> [size, mtime in ns]."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            found[str(path.relative_to(folder))] = [stat.st_size, stat.st_mtime_ns]
    return found


def _stamp(folder: Path, arguments: list[str]) -> dict[str, Any]:
    return {
        "arguments": arguments,
        "generator_sha256": _sha256(GENERATOR),
        "manifest_sha256": _sha256(folder / "_manifest.json"),
        "files": {name: size for name, (size, _) in fingerprint(folder).items()},
    }


def ensure_data(folder: Path, arguments: list[str], log_path: Path) -> dict[str, Any]:
    """Generate the data into folder unless the cached copy still matches."""
    stamp_path = folder.with_name(folder.name + ".stamp.json")
    if folder.is_dir() and stamp_path.is_file():
        recorded = json.loads(stamp_path.read_text())
        if recorded == _stamp(folder, arguments):
            return {"reused": True, "generator_arguments": arguments}
    shutil.rmtree(folder, ignore_errors=True)
    stamp_path.unlink(missing_ok=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "tools.demo_data",
        *arguments,
        "--out",
        str(folder),
    ]
    measured = measure(command, dict(os.environ), log_path)
    if measured.returncode != 0:
        raise BenchError(
            f"the generator failed (exit {measured.returncode}):\n{_tail(log_path)}"
        )
    stamp_path.write_text(json.dumps(_stamp(folder, arguments), indent=2) + "\n")
    return {
        "reused": False,
        "generator_arguments": arguments,
        "generate_seconds": round(measured.wall_seconds, 3),
    }


def make_work_copy(source: Path, destination: Path) -> None:
    """Mirror source into destination: symlinks to the data files, copies of
    the JSON files (the manifest), so writing to the copy never touches the
    source."""
    destination.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.rglob("*")):
        target = destination / path.relative_to(source)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.suffix == ".json":
            shutil.copy2(path, target)
        else:
            target.symlink_to(path.resolve())


# ---------------------------------------------------------------------------
# Quoting
# ---------------------------------------------------------------------------


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# ---------------------------------------------------------------------------
# The floor: the core job by DuckDB alone (tools.floor), and where the
# build's time goes
# ---------------------------------------------------------------------------

# The project's staging of events and of orders (each with every test on
# these models), against the floor's phase doing the same work.
STAGING_MODELS = {
    "events": ("base_app__events", "stg_app__events", "base_app__event_days"),
    "orders": ("base_app__orders", "stg_app__orders"),
}
TEST_TYPES = ("test", "unit_test")


def data_dates(data_dir: Path) -> tuple[dt.date, dt.date]:
    """The as-of date and horizon the generator's data implies (the day
    after its last day, and that day), for the floor run before the full
    build: the build's own dates are only known after it."""
    last_day = dt.date.fromisoformat(
        json.loads((data_dir / "_manifest.json").read_text())["last_day"]
    )
    return last_day + dt.timedelta(days=1), last_day


def floor_run(
    name: str,
    work_data: Path,
    work: Path,
    memory_limit: str,
    dates: tuple[dt.date, dt.date],
    warehouse: Path | None = None,
) -> dict[str, Any]:
    """One run of ``python -m tools.floor`` as a measured subprocess (like
    the builds); with ``warehouse``, its per-user table compared with that
    build's user_profiles (:func:`tools.floor.compare_with_profiles`)."""
    folder = work / "floor"
    folder.mkdir(parents=True, exist_ok=True)
    out, timings = folder / f"{name}.parquet", folder / f"{name}.json"
    as_of, horizon = dates
    measured = _build(
        [
            sys.executable,
            "-m",
            "tools.floor",
            str(work_data),
            "--as-of-date",
            as_of.isoformat(),
            "--horizon-date",
            horizon.isoformat(),
            "--out",
            str(out),
            "--timings",
            str(timings),
            "--threads",
            THREADS,
            "--memory-limit",
            memory_limit,
        ],
        dict(os.environ),
        work / "logs" / f"floor_{name}.log",
        f"the floor ({name})",
    )
    timed = json.loads(timings.read_text())
    run = {
        "run": name,
        **measured.as_dict(),
        "phases": {
            phase: values["wall_seconds"] for phase, values in timed["phases"].items()
        },
        "phase_cpu_seconds": {
            phase: values["cpu_seconds"] for phase, values in timed["phases"].items()
        },
        "as_of_date": as_of.isoformat(),
        "horizon_date": horizon.isoformat(),
        "users": timed["users"],
    }
    if warehouse is not None:
        run["agreement"] = floor.compare_with_profiles(warehouse, out)
    out.unlink()
    return run


def staging_node_ids(manifest: dict[str, Any], models: tuple[str, ...]) -> set[str]:
    """The nodes of the models named and of every test on one of them."""
    named = {
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["name"] in models
    }
    tests = {
        uid
        for uid, node in {**manifest["nodes"], **manifest.get("unit_tests", {})}.items()
        if node["resource_type"] in TEST_TYPES
        and named & set(node.get("depends_on", {}).get("nodes", []))
    }
    return named | tests


def floor_summary(
    runs: list[dict[str, Any]],
    full: Measured,
    manifest: dict[str, Any],
    nodes: list[dict[str, Any]],
) -> tuple[dict[str, Any], list[str]]:
    """Every floor run and their medians; project / floor for the full build
    and for the staging of events and orders; whether every compared run
    agreed with user_profiles (a failure names what differs)."""
    median = statistics.median(run["wall_seconds"] for run in runs)
    times = {node["unique_id"]: node["execution_time"] for node in nodes}
    staging = {}
    for area, models in STAGING_MODELS.items():
        ids = staging_node_ids(manifest, models)
        seconds = sum(times.get(uid, 0.0) for uid in ids)
        floor_seconds = statistics.median(run["phases"][area] for run in runs)
        staging[area] = {
            "models": list(models),
            "nodes": len(ids & set(times)),
            "seconds": round(seconds, 3),
            "floor_seconds": round(floor_seconds, 3),
            "ratio": round(seconds / floor_seconds, 3) if floor_seconds else None,
        }
    compared = [run for run in runs if "agreement" in run]
    failures = [
        f"the floor ({run['run']}) disagrees with user_profiles: "
        + floor.disagreement_text(run["agreement"])
        for run in compared
        if not run["agreement"]["agrees"]
    ]
    if not compared:
        failures.append("no floor run was compared with user_profiles")
    return {
        "runs": runs,
        "wall_seconds": round(median, 3),
        "phases": {
            phase: round(statistics.median(run["phases"][phase] for run in runs), 3)
            for phase in floor.PHASES
        },
        "peak_rss_bytes": max(run["peak_rss_bytes"] for run in runs),
        "ratio": round(full.wall_seconds / median, 3),
        "staging": staging,
        "agrees": bool(compared) and not failures,
        "users_compared": [run["agreement"]["users_compared"] for run in compared],
    }, failures


def _utc_seconds(stamp: str) -> float:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def build_phases(measured: Measured, run_results: dict[str, Any]) -> dict[str, float]:
    """Where a build's wall time went, from dbt's run results: before dbt
    starts (Python imports, reading the data folder), dbt's start and parse
    (up to the first node), dbt's run of the nodes, and after it (publish,
    summary)."""
    started = _utc_seconds(run_results["metadata"]["invocation_started_at"])
    finished = _utc_seconds(run_results["metadata"]["generated_at"])
    run = run_results["elapsed_time"]
    return {
        "before_dbt": round(started - measured.started_at, 3),
        "parse": round(finished - run - started, 3),
        "dbt_run": round(run, 3),
        "after": round(measured.started_at + measured.wall_seconds - finished, 3),
    }


def node_totals(nodes: list[dict[str, Any]]) -> dict[str, float]:
    """Summed node time of the models (and seeds, hooks) and of the tests."""
    tests = sum(n["execution_time"] for n in nodes if n["resource_type"] in TEST_TYPES)
    every = sum(n["execution_time"] for n in nodes)
    return {
        "models": round(every - tests, 3),
        "tests": round(tests, 3),
        "all": round(every, 3),
    }


# ---------------------------------------------------------------------------
# BTYD summary and fits against lifetimes
# ---------------------------------------------------------------------------


def best_of(
    call: Callable[[], Any],
    repeats: int = REPEATS,
    budget: float = REPEAT_BUDGET_SECONDS,
) -> tuple[float, int, Any]:
    """Best wall time of up to ``repeats`` calls (fewer once ``budget``
    seconds are spent), the number of calls, and the last result."""
    best, spent, result, runs = float("inf"), 0.0, None, 0
    while runs < repeats and (runs == 0 or spent < budget):
        started = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - started
        best, spent, runs = min(best, seconds), spent + seconds, runs + 1
    return best, runs, result


def compare_summaries(
    ours: pd.DataFrame,
    theirs: pd.DataFrame,
    days_per_unit: float,
    tolerance: float = VALUE_TOLERANCE,
) -> list[str]:
    """Problems found comparing our BTYD summary with lifetimes', user by user.

    Args:
        ours: indexed by user, columns frequency, recency, customer_age and
            monetary_value, times in units of ``days_per_unit`` days.
        theirs: lifetimes' ``summary_data_from_transaction_data`` with
            ``freq='D'`` (times in days): frequency, recency, T,
            monetary_value.
        days_per_unit: 7 when our unit is weeks, 1 for days.
        tolerance: absolute for times, relative for monetary values.

    Returns:
        One line per kind of difference (empty: identical): frequency must be
        equal, recency and T within ``tolerance`` days, monetary value within
        ``tolerance`` relative.
    """
    problems = []
    for label, missing in (
        ("lifetimes'", ours.index.difference(theirs.index)),
        ("our", theirs.index.difference(ours.index)),
    ):
        if len(missing):
            problems.append(
                f"{len(missing)} users missing from {label} summary (e.g. {missing[0]})"
            )
    common = ours.index.intersection(theirs.index)
    a, b = ours.loc[common], theirs.loc[common]
    pairs = {
        "frequency": (a["frequency"].to_numpy(float), b["frequency"].to_numpy(float)),
        "recency": (
            a["recency"].to_numpy(float) * days_per_unit,
            b["recency"].to_numpy(float),
        ),
        "T": (
            a["customer_age"].to_numpy(float) * days_per_unit,
            b["T"].to_numpy(float),
        ),
        "monetary_value": (
            a["monetary_value"].to_numpy(float),
            b["monetary_value"].to_numpy(float),
        ),
    }
    for column, (left, right) in pairs.items():
        gap = np.abs(left - right)
        if column == "frequency":
            bad = ~(gap == 0)
        elif column == "monetary_value":
            bad = ~(gap <= tolerance * np.maximum(np.abs(left), np.abs(right)))
        else:
            bad = ~(gap <= tolerance)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            problems.append(
                f"{column}: {int(bad.sum())} users differ, e.g. {common[first]}:"
                f" ours {float(left[first])!r} vs lifetimes {float(right[first])!r}"
                + (" (ours in days)" if column in ("recency", "T") else "")
            )
    return problems


def relative_differences(
    ours: dict[str, float], theirs: dict[str, float]
) -> dict[str, float]:
    return {
        name: abs(ours[name] - theirs[name]) / abs(theirs[name])
        if theirs[name]
        else abs(ours[name])
        for name in theirs
    }


def _btyd_time_unit(results: dict[str, Any]) -> str:
    unit = project_vars(PROJECT_DIR)["btyd_time_unit"]
    cli_vars = results.get("args", {}).get("vars") or {}
    if isinstance(cli_vars, str):
        cli_vars = yaml.safe_load(cli_vars) or {}
    return str(cli_vars.get("btyd_time_unit", unit))


def _relation(manifest: dict[str, Any], name: str) -> str:
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"] == name:
            return node["relation_name"]
    raise BenchError(f"model {name} is not in dbt's manifest")


def _summary_against_lifetimes(
    connection: duckdb.DuckDBPyConnection,
    summary_sql: str,
    orders: str,
    as_of_relation: str,
    unit: str,
) -> dict[str, Any]:
    """Step 4: our summary SQL and lifetimes' summary on the same purchases."""
    from lifetimes.utils import summary_data_from_transaction_data

    as_of = connection.execute(f"select as_of_date from {as_of_relation}").fetchall()
    as_of_date = as_of[0][0]
    # as_of_date is exclusive; lifetimes' observation_period_end is the last
    # day observed (inclusive): T = (as_of - 1 day) - first purchase day.
    observation_end = pd.Timestamp(as_of_date) - pd.Timedelta(days=1)
    transactions = connection.execute(
        "select user_id, ordered_at, cast(amount as double) as amount"
        f" from {orders} where is_purchase"
    ).df()

    def ours_summary() -> None:
        connection.execute(
            f"create or replace temp table bench_btyd_summary as (\n{summary_sql}\n)"
        )

    def lifetimes_summary() -> pd.DataFrame:
        return summary_data_from_transaction_data(
            transactions,
            "user_id",
            "ordered_at",
            monetary_value_col="amount",
            observation_period_end=observation_end,
            freq="D",
        )

    ours_seconds, ours_runs, _ = best_of(ours_summary)
    ours = connection.execute("select * from bench_btyd_summary").df()
    lifetimes_seconds, lifetimes_runs, theirs = best_of(lifetimes_summary)
    problems = compare_summaries(
        ours.set_index("user_id"), theirs, {"weeks": 7.0, "days": 1.0}[unit]
    )
    return {
        "transactions": len(transactions),
        "users": len(ours),
        "time_unit": unit,
        "as_of_date": str(as_of_date),
        "observation_period_end": observation_end.date().isoformat(),
        "ours_seconds": round(ours_seconds, 5),
        "lifetimes_seconds": round(lifetimes_seconds, 5),
        "runs": {"ours": ours_runs, "lifetimes": lifetimes_runs},
        "ratio": round(lifetimes_seconds / ours_seconds, 2),
        "values_equal": not problems,
        "problems": problems,
    }


def _fit_row(
    ours: tuple[float, int, dict[str, float], bool],
    theirs: tuple[float, int, dict[str, float]],
) -> dict[str, Any]:
    ours_seconds, ours_runs, ours_params, converged = ours
    theirs_seconds, theirs_runs, theirs_params = theirs
    differences = relative_differences(ours_params, theirs_params)
    return {
        "ours_seconds": round(ours_seconds, 5),
        "lifetimes_seconds": round(theirs_seconds, 5),
        "runs": {"ours": ours_runs, "lifetimes": theirs_runs},
        "ratio": round(theirs_seconds / ours_seconds, 2),
        "ours_converged": converged,
        "params_ours": ours_params,
        "params_lifetimes": theirs_params,
        "max_relative_difference": max(differences.values()),
    }


def _fits_against_lifetimes(stored: pd.DataFrame) -> dict[str, Any]:
    """Step 5: our BG/NBD and Gamma-Gamma fitters (as clv_model_fits calls
    them) against lifetimes' on the stored summary.

    Both sides run with one BLAS thread: on a busy machine OpenBLAS threads
    on these small vectors stall (a 5 ms fit took 250 ms with two threads
    while other processes held the cores), which would measure the
    machine's load, not the fitters.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _time_fits(stored)


def _time_fits(stored: pd.DataFrame) -> dict[str, Any]:
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

    from segmentation.methods import btyd

    frequency = stored["frequency"].to_numpy(float)
    recency = stored["recency"].to_numpy(float)
    age = stored["customer_age"].to_numpy(float)
    monetary = stored["monetary_value"].to_numpy(float)
    # Gamma-Gamma needs repeat buyers with a positive mean value; ours
    # leaves the others out itself.
    repeat = (frequency > 0) & (monetary > 0)

    seconds, runs, bg = best_of(lambda: btyd.fit_bgnbd(frequency, recency, age))
    ours_bg = (seconds, runs, {"r": bg.r, "alpha": bg.alpha, "a": bg.a, "b": bg.b})
    seconds, runs, gg = best_of(lambda: btyd.fit_gamma_gamma(frequency, monetary))
    ours_gg = (seconds, runs, {"p": gg.p, "q": gg.q, "v": gg.v})
    seconds, runs, fitted = best_of(
        lambda: BetaGeoFitter().fit(frequency, recency, age)
    )
    theirs_bg = (seconds, runs, {k: float(fitted.params_[k]) for k in ours_bg[2]})
    seconds, runs, fitted = best_of(
        lambda: GammaGammaFitter().fit(frequency[repeat], monetary[repeat])
    )
    theirs_gg = (seconds, runs, {k: float(fitted.params_[k]) for k in ours_gg[2]})

    # Pareto/NBD (issue 19): lifetimes' Nelder-Mead takes minutes at L and
    # seconds at S: one run of it, the best of up to 3 of ours.
    seconds, runs, pareto = best_of(
        lambda: btyd.fit_pareto_nbd(frequency, recency, age)
    )
    ours_pareto = (
        seconds,
        runs,
        {"r": pareto.r, "alpha": pareto.alpha, "s": pareto.s, "beta": pareto.beta},
    )
    seconds, runs, fitted = best_of(
        lambda: ParetoNBDFitter().fit(frequency, recency, age), repeats=1
    )
    theirs_pareto = (
        seconds,
        runs,
        {k: float(fitted.params_[k]) for k in ours_pareto[2]},
    )

    bgnbd = _fit_row((*ours_bg, bg.converged), theirs_bg)
    gamma_gamma = _fit_row((*ours_gg, gg.converged), theirs_gg)
    pareto_nbd = _fit_row((*ours_pareto, pareto.converged), theirs_pareto)
    worst = max(
        bgnbd["max_relative_difference"], gamma_gamma["max_relative_difference"]
    )
    return {
        "purchasers": len(stored),
        "repeat_purchasers": int(repeat.sum()),
        "bgnbd": bgnbd,
        "gamma_gamma": gamma_gamma,
        "pareto_nbd": pareto_nbd,
        "combined_ratio": round(
            (theirs_bg[0] + theirs_gg[0]) / (ours_bg[0] + ours_gg[0]), 2
        ),
        "max_relative_difference": worst,
        "params_agree": bool(worst <= PARAM_TOLERANCE),
    }


def compare_btyd(
    target_dir: Path, warehouse: Path, memory_limit: str
) -> dict[str, Any]:
    """Steps 4 and 5 on dbt's warehouse: our summary SQL and fitters against
    lifetimes."""
    manifest = json.loads((target_dir / "manifest.json").read_text())
    results = json.loads((target_dir / "run_results.json").read_text())
    summary_id = "model.segmentation_warehouse.int_users_btyd_summarized"
    summary_sql = next(
        result["compiled_code"]
        for result in results["results"]
        if result["unique_id"] == summary_id
    )
    with duckdb.connect(
        str(warehouse),
        read_only=True,
        config={"memory_limit": memory_limit, "threads": int(THREADS)},
    ) as connection:
        connection.execute("set TimeZone = 'UTC'")
        summary = _summary_against_lifetimes(
            connection,
            summary_sql,
            _relation(manifest, "int_orders_filtered_to_as_of"),
            _relation(manifest, "int_as_of_date"),
            _btyd_time_unit(results),
        )
        gc.collect()
        stored = connection.execute(
            "select * from"
            f" {_relation(manifest, 'int_users_btyd_summarized')} order by user_id"
        ).df()
    return {"summary": summary, "fits": _fits_against_lifetimes(stored)}


# ---------------------------------------------------------------------------
# Machine, results, BENCHMARKS.md
# ---------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    with_model = Path("/proc/cpuinfo")
    if with_model.exists():
        for line in with_model.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    system = platform.platform()
    os_release = Path("/etc/os-release")
    if os_release.exists():
        for line in os_release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = (
                    f"{line.split('=', 1)[1].strip(chr(34))} ({platform.release()})"
                )

    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "os": system,
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "dbt_core": version("dbt-core"),
        "dbt_duckdb": version("dbt-duckdb"),
        "lifetimes": version("lifetimes"),
    }


def _count_rows(warehouse: Path) -> dict[str, int]:
    counts = {}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        for table in ("users", "orders", "events", "campaigns"):
            found = connection.execute(
                "select count(*) from information_schema.tables"
                " where table_schema = 'raw' and table_name = ?",
                [table],
            ).fetchall()[0][0]
            counts[table] = (
                connection.execute(f"select count(*) from raw.{table}").fetchall()[0][0]
                if found
                else 0
            )
    return counts


def node_timings(run_results: Path) -> list[dict[str, Any]]:
    """Every node of dbt's run_results.json, in execution order."""
    results = json.loads(run_results.read_text())
    return [
        {
            "unique_id": result["unique_id"],
            "resource_type": result["unique_id"].split(".", 1)[0],
            "status": result["status"],
            "execution_time": round(result["execution_time"], 4),
            "failures": result.get("failures"),
        }
        for result in results["results"]
    ]


def area_node_ids(
    manifest: dict[str, Any],
    folders: tuple[str, ...],
    name: re.Pattern[str] | None = None,
) -> set[str]:
    """The nodes of one area of a dbt manifest: the models under ``folders``
    or whose name ``name`` matches, and every data or unit test that depends
    on one of them."""
    models = {
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
        and (
            node["original_file_path"].startswith(folders)
            or (name is not None and name.match(node["name"]) is not None)
        )
    }
    tests = {
        uid
        for uid, node in {
            **manifest["nodes"],
            **manifest.get("unit_tests", {}),
        }.items()
        if node["resource_type"] in ("test", "unit_test")
        and models & set(node.get("depends_on", {}).get("nodes", []))
    }
    return models | tests


def campaign_node_ids(manifest: dict[str, Any]) -> set[str]:
    """The campaigns' nodes of a dbt manifest: models under
    CAMPAIGN_MODEL_FOLDERS or named like the campaigns' staging, and every
    data or unit test that depends on one of them."""
    return area_node_ids(manifest, CAMPAIGN_MODEL_FOLDERS, CAMPAIGN_STAGING_MODEL)


def propensity_node_ids(manifest: dict[str, Any]) -> set[str]:
    """The propensity nodes of a dbt manifest: models under
    PROPENSITY_MODEL_FOLDERS and every data or unit test on one of them."""
    return area_node_ids(manifest, PROPENSITY_MODEL_FOLDERS)


def node_share(
    chosen: set[str], nodes: list[dict[str, Any]], wall_seconds: float
) -> dict[str, Any]:
    """What the ``chosen`` nodes cost in a build: their summed execution
    time (dbt's run_results, ``nodes`` as node_timings gives them) against
    every node's and against the build's wall time. ``added_share`` is what
    they add to the build without them: their time over the wall time
    less their time (their nodes run on the build's threads like any
    other; none when the build has none of them)."""
    timed = [node for node in nodes if node["unique_id"] in chosen]
    seconds = sum(node["execution_time"] for node in timed)
    node_seconds = sum(node["execution_time"] for node in nodes)
    return {
        "models": sum(node["resource_type"] == "model" for node in timed),
        "tests": sum(node["resource_type"] != "model" for node in timed),
        "seconds": round(seconds, 3),
        "node_seconds": round(node_seconds, 3),
        "wall_seconds": round(wall_seconds, 3),
        "share_of_node_time": round(seconds / node_seconds, 4)
        if timed and node_seconds
        else None,
        "added_share": round(seconds / (wall_seconds - seconds), 4)
        if timed and wall_seconds > seconds
        else None,
    }


def campaign_share(
    manifest: dict[str, Any], nodes: list[dict[str, Any]], wall_seconds: float
) -> dict[str, Any]:
    """What the campaigns' nodes cost in a build (:func:`node_share`)."""
    return node_share(campaign_node_ids(manifest), nodes, wall_seconds)


def propensity_share(
    manifest: dict[str, Any], nodes: list[dict[str, Any]], wall_seconds: float
) -> dict[str, Any]:
    """What the propensity nodes cost in a build (:func:`node_share`), with
    each propensity model's own time (``per_model``: name -> seconds, the
    slowest first) and the seconds of their tests; ``within_target``: the
    added seconds are at most PROPENSITY_TARGET_SECONDS (none without
    propensity nodes)."""
    chosen = propensity_node_ids(manifest)
    share = node_share(chosen, nodes, wall_seconds)
    models = sorted(
        (
            (node["unique_id"].split(".", 2)[-1], node["execution_time"])
            for node in nodes
            if node["unique_id"] in chosen and node["resource_type"] == "model"
        ),
        key=lambda item: (-item[1], item[0]),
    )
    model_seconds = sum(seconds for _, seconds in models)
    return {
        **share,
        "per_model": dict(models),
        "test_seconds": round(share["seconds"] - model_seconds, 3),
        "within_target": share["seconds"] <= PROPENSITY_TARGET_SECONDS
        if share["models"] + share["tests"]
        else None,
    }


def _area_text(
    name: str, noun: str, area: dict[str, Any] | None, extra: str, target: str
) -> str:
    """``<name>: X s of Y s (Z%)``, an area's nodes' time in a build, its
    slowest models, ``extra`` and whether it is within the target (the
    propensity and the behaviour and affinity rows)."""
    if not area or not (area["models"] + area["tests"]):
        return f"{name}: no {noun} model in the build"
    slowest = ", ".join(
        f"{model} {_seconds(seconds)} s"
        for model, seconds in list(area["per_model"].items())[:3]
    )
    return (
        f"{name}: {_seconds(area['seconds'])} s of"
        f" {_seconds(area['node_seconds'])} s"
        f" ({area['share_of_node_time']:.1%}) of node time,"
        f" {area['models']} models and {area['tests']} tests"
        f" (slowest: {slowest}){extra};"
        f" {_share(area['added_share'])} added to the build's"
        f" {_seconds(area['wall_seconds'])} s"
        f" ({'within' if area['within_target'] else 'over'} the {target} target)"
    )


def propensity_text(propensity: dict[str, Any] | None) -> str:
    """``propensity: X s of Y s (Z%)``, the propensity nodes' time in a
    build, its slowest models, and whether it is within the target."""
    return _area_text(
        "propensity",
        "propensity",
        propensity,
        "",
        f"{PROPENSITY_TARGET_SECONDS:g} s",
    )


def propensity_trained(warehouse: Path) -> dict[str, Any]:
    """What a built warehouse trained and scored: its training windows
    (PROPENSITY_WINDOWS: per window kind, label and horizon, the status and
    how many users it trained and evaluated on) and the users of the as-of
    date given each score (PROPENSITY_SCORES); empty before the propensity
    models exist."""

    def exists(connection: duckdb.DuckDBPyConnection, name: str) -> bool:
        schema, table = name.split(".")
        return bool(
            connection.execute(
                "select count(*) from information_schema.tables"
                " where table_schema = ? and table_name = ?",
                [schema, table],
            ).fetchall()[0][0]
        )

    found: dict[str, Any] = {"windows": []}
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        if exists(connection, PROPENSITY_WINDOWS):
            rows = connection.execute(
                "select window_kind, label, horizon_days, status, fallback_reason,"
                " cast(train_snapshot_date as varchar),"
                " cast(eval_snapshot_date as varchar), train_rows, eval_rows,"
                f" is_scoring_window from {PROPENSITY_WINDOWS}"
                " order by window_kind, label, horizon_days"
            ).fetchall()
            keys = (
                "window_kind",
                "label",
                "horizon_days",
                "status",
                "fallback_reason",
                "train_snapshot_date",
                "eval_snapshot_date",
                "train_rows",
                "eval_rows",
                "is_scoring_window",
            )
            found["windows"] = [dict(zip(keys, row, strict=True)) for row in rows]
        if exists(connection, PROPENSITY_SCORES):
            users, purchase, churn = connection.execute(
                "select count(*), count(purchase_propensity), count(churn_risk)"
                f" from {PROPENSITY_SCORES}"
            ).fetchall()[0]
            found.update(
                scored_users=users,
                users_with_purchase_propensity=purchase,
                users_with_churn_risk=churn,
            )
    return found


def behaviour_node_ids(manifest: dict[str, Any]) -> set[str]:
    """The nodes of issue 17 in a dbt manifest: models under
    BEHAVIOUR_MODEL_FOLDERS or named like the funnel models of the events
    folder (BEHAVIOUR_EVENT_MODELS), and every data or unit test on one of
    them."""
    return area_node_ids(manifest, BEHAVIOUR_MODEL_FOLDERS, BEHAVIOUR_EVENT_MODELS)


def behaviour_share(
    manifest: dict[str, Any], nodes: list[dict[str, Any]], wall_seconds: float
) -> dict[str, Any]:
    """What the behaviour and affinity nodes (issue 17) cost in a build
    (:func:`node_share`), with each model's own time (``per_model``, the
    slowest first), the seconds of their tests, the time of the events'
    session-days model that also computes the funnel columns
    (``session_days_seconds``; none when the build did not run it) and
    ``within_target``: their added share is at most BEHAVIOUR_TARGET_SHARE
    (none without behaviour nodes)."""
    chosen = behaviour_node_ids(manifest)
    share = node_share(chosen, nodes, wall_seconds)
    models = sorted(
        (
            (node["unique_id"].split(".", 2)[-1], node["execution_time"])
            for node in nodes
            if node["unique_id"] in chosen and node["resource_type"] == "model"
        ),
        key=lambda item: (-item[1], item[0]),
    )
    session_days = [
        node["execution_time"]
        for node in nodes
        if node["resource_type"] == "model"
        and node["unique_id"].split(".", 2)[-1] == SESSION_DAYS_MODEL
    ]
    return {
        **share,
        "per_model": dict(models),
        "test_seconds": round(share["seconds"] - sum(s for _, s in models), 3),
        "session_days_seconds": session_days[0] if session_days else None,
        "within_target": share["added_share"] <= BEHAVIOUR_TARGET_SHARE
        if share["added_share"] is not None
        else None,
    }


def behaviour_text(behaviour: dict[str, Any] | None) -> str:
    """``behaviour and affinity: X s of Y s (Z%)``, the issue 17 nodes' time
    in a build, its slowest models, the session-days model's time, and
    whether the added share is within the target."""
    extra = (
        f"; session days {_seconds(behaviour['session_days_seconds'])} s"
        if behaviour
        else ""
    )
    return _area_text(
        "behaviour and affinity",
        "behaviour",
        behaviour,
        extra,
        f"{BEHAVIOUR_TARGET_SHARE:.0%}",
    )


def file_rows(warehouse: Path, relation: str = SESSION_DAYS_RELATION) -> dict:
    """Rows of a table built incrementally by file, per source file: file ->
    [row count, sum of one 64-bit hash per row], so a file whose rows were
    rebuilt differently shows (empty when the table does not exist)."""
    schema, table = relation.split(".")
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        found = connection.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
        if not found:
            return {}
        rows = connection.execute(
            "select source_file, count(*), sum(hash(t)::hugeint)"
            f" from {_quote(schema)}.{_quote(table)} as t group by 1"
        ).fetchall()
    return {str(name): [count, str(total)] for name, count, total in rows}


def compare_file_rows(before: dict, after: dict) -> dict[str, Any]:
    """What a daily rerun did to a table built by file (:func:`file_rows`
    before and after it): rows added, the rows of the new files, and the
    earlier files whose rows changed or went (``only_new_files``: none did
    and the rows added are exactly the new files')."""
    new_files = sorted(set(after) - set(before))
    changed = sorted(
        name for name in before if name in after and after[name] != before[name]
    )
    gone = sorted(set(before) - set(after))
    rows_before = sum(count for count, _ in before.values())
    rows_after = sum(count for count, _ in after.values())
    new_file_rows = sum(after[name][0] for name in new_files)
    return {
        "files_before": len(before),
        "new_files": len(new_files),
        "rows_before": rows_before,
        "rows_after": rows_after,
        "rows_added": rows_after - rows_before,
        "new_file_rows": new_file_rows,
        "files_changed": changed,
        "files_gone": gone,
        "only_new_files": bool(new_files)
        and not changed
        and not gone
        and rows_after - rows_before == new_file_rows,
    }


def campaign_text(campaigns: dict[str, Any] | None) -> str:
    """``campaigns: X s of Y s (Z%)``, the campaigns' node time of a build
    against all of its node time, and what it adds to the wall time."""
    if not campaigns or not (campaigns["models"] + campaigns["tests"]):
        return "campaigns: no campaigns (no campaign model in the build)"
    return (
        f"campaigns: {_seconds(campaigns['seconds'])} s of"
        f" {_seconds(campaigns['node_seconds'])} s"
        f" ({campaigns['share_of_node_time']:.1%}) of node time,"
        f" {campaigns['models']} models and {campaigns['tests']} tests;"
        f" {_share(campaigns['added_share'])} added to the full build's"
        f" {_seconds(campaigns['wall_seconds'])} s"
    )


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


SIZE_ORDER = {"S": 0, "M": 1, "L": 2}


def _sort_key(label: str) -> tuple[int, str]:
    return (SIZE_ORDER.get(label, 3), label)


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return numerator / denominator


def _project_peak(result: dict[str, Any]) -> int:
    runs = [result["full_build"]]
    incremental = result.get("incremental") or {}
    runs += [
        incremental[key] for key in ("rerun", "full_refresh") if key in incremental
    ]
    return max(run["peak_rss_bytes"] for run in runs)


# What bounds the targets that depend on the project's shape rather than on
# a slow model; printed under the targets table.
TARGET_LIMITS = """\
What bounds four of them, whatever the machine:

- **project / floor** adds to the floor's work everything the project
  does beyond the core outputs (the rejects table with each rejected raw
  row, the quality gates, the data tests, the other marts: clusters, CLV,
  propensity, campaigns, behaviour) and dbt's fixed cost, which does not
  shrink with the data: the CLI's start before dbt, dbt's start and parse
  of the project (129 models, about 300 data tests, from a fresh target
  folder) and some tens of milliseconds per node for about 435 nodes. At M the
  floor is a few seconds, so the fixed cost alone is several times the
  floor; at L it is a small share of a floor near 100 s (measured below).
- **incremental rerun / full rebuild**: a daily run reads only the new
  event files, but as_of_date moves with the data, so everything computed
  per user as of that day is recomputed for every user: recency, RFM,
  lifecycle, activity windows over the session days, clusters, CLV,
  segments, profiles, and the staging of every order. At L that work, not
  the events, makes up most of the rerun.
- **BTYD summary vs lifetimes**: the summary is two hash aggregations
  (user-day, then user) over every purchase, about 0.08 s for a million
  orders on two cores; lifetimes' pandas summary costs about ten times
  that at M and more at L, so the ratio sits near the 10x line at M.
- **history backfill / full build**: staging is built and tested once;
  each date then reruns the 20 models that depend on the as-of date, for
  every user of that date (recency, RFM, lifecycle, the BTYD fit and CLV,
  features, the choice of k, clusters, segments, profiles) and adds its
  rows to the history. At M that is about 9 s of node time per date on
  two threads (5 to 10 s of wall time): the Python models (choosing k
  about 1.7 s, segments 1.0 s, clusters 0.9 s, BTYD fit and CLV 0.8 s)
  are about half of it. dbt's own cost per date is small: the backfill
  loads the project once, with the build's vars, so it and the build
  after it reuse the staging build's parse."""


def fixed_cost_lines(results: list[dict[str, Any]]) -> list[str]:
    """dbt's fixed cost per size, measured: the time before its run of the
    nodes (the CLI before dbt, dbt's start and parse) against the floor."""
    lines = []
    for result in results:
        phases, floor_results = result.get("full_build_phases"), result.get("floor")
        if not phases or not floor_results:
            continue
        fixed = phases["before_dbt"] + phases["parse"]
        nodes = len(result["nodes"]) or 1
        outside = phases["dbt_run"] * int(THREADS) - node_totals(result["nodes"])["all"]
        lines.append(
            f"  - {result['size']}: before dbt {_seconds(phases['before_dbt'])} s"
            f" + start and parse {_seconds(phases['parse'])} s ="
            f" {_seconds(fixed)} s, {_times(fixed / floor_results['wall_seconds'])}"
            f" the floor ({_seconds(floor_results['wall_seconds'])} s); in dbt's"
            f" run, {THREADS} threads x {_seconds(phases['dbt_run'])} s less the"
            f" node time leaves {_seconds(outside)} s in no node (dbt's cost per"
            f" node and threads waiting on dependencies), {1000 * outside / nodes:.0f}"
            f" ms for each of {len(result['nodes'])} nodes."
        )
    if lines:
        lines.insert(0, "\nMeasured (full build):\n")
    return lines


def evaluate_targets(rows: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The issue's targets: (target, met / not met / not measured, detail)."""
    medium, large = rows.get("M"), rows.get("L")
    targets: list[tuple[str, str, str]] = []

    def add(
        text: str, needed: list[dict | None], check: Callable[[], tuple[bool, str]]
    ):
        if any(row is None for row in needed):
            targets.append((text, "not measured", "needs the rows of the sizes named"))
            return
        met, detail = check()
        targets.append((text, "met" if met else "not met", detail))

    add(
        "L peak memory <= 6 GB",
        [large],
        lambda: (
            _project_peak(large) <= 6 * GB,
            f"L: {_project_peak(large) / GB:.2f} GB",
        ),
    )

    floors = {key: (rows.get(key) or {}).get("floor") for key in ("M", "L")}

    def against_floor() -> tuple[bool, str]:
        ratios = {k: floors[k]["ratio"] for k in ("M", "L")}
        return (
            all(value <= FLOOR_TARGET_RATIO for value in ratios.values()),
            ", ".join(f"{k}: {v:.2f}" for k, v in ratios.items()),
        )

    add(
        f"project / floor <= {FLOOR_TARGET_RATIO:g} on M and L",
        [floors["M"], floors["L"]],
        against_floor,
    )
    large_pareto = ((large or {}).get("btyd") or {}).get("fits", {}).get("pareto_nbd")
    add(
        f"Pareto/NBD fit >= {PARETO_TARGET_RATIO:g}x faster than lifetimes at L,"
        f" parameters within {PARETO_PARAM_TOLERANCE:g} relative",
        [large_pareto],
        lambda: (
            large_pareto["ratio"] >= PARETO_TARGET_RATIO
            and large_pareto["max_relative_difference"] <= PARETO_PARAM_TOLERANCE,
            f"L: {large_pareto['ratio']:.1f}x, max rel. diff"
            f" {large_pareto['max_relative_difference']:.1e}",
        ),
    )
    add(
        "BTYD summary >= 10x faster than lifetimes on M, identical values",
        [medium],
        lambda: (
            medium["btyd"]["summary"]["ratio"] >= 10
            and medium["btyd"]["summary"]["values_equal"],
            f"M: {medium['btyd']['summary']['ratio']:.1f}x, identical:"
            f" {'yes' if medium['btyd']['summary']['values_equal'] else 'no'}",
        ),
    )

    def scaling() -> tuple[bool, str]:
        ratio = (
            large["full_build"]["wall_seconds"] / medium["full_build"]["wall_seconds"]
        )
        return ratio <= 12, f"{ratio:.1f}"

    add("Time(L) / Time(M) <= 12", [medium, large], scaling)
    add(
        "incremental rerun <= 0.25 of a full rebuild on L",
        [large],
        lambda: (
            (large["incremental"].get("ratio") or float("inf")) <= 0.25,
            f"L: {large['incremental'].get('ratio', float('nan')):.2f}",
        ),
    )
    measured = [row for key, row in rows.items() if key in SIZE_ORDER]

    def fits() -> tuple[bool, str]:
        ratios = {
            row["size"]: row["btyd"]["fits"]["combined_ratio"] for row in measured
        }
        return (
            all(value >= 5 for value in ratios.values()),
            ", ".join(
                f"{k}: {v:.1f}x"
                for k, v in sorted(ratios.items(), key=lambda i: _sort_key(i[0]))
            ),
        )

    add(
        "BG/NBD + Gamma-Gamma fit >= 5x faster than lifetimes (every size)",
        [measured[0] if measured else None],
        fits,
    )
    measured_floors = {
        key: row["floor"] for key, row in rows.items() if row.get("floor")
    }
    add(
        "the floor agrees with user_profiles (every size measured)",
        [measured_floors or None],
        lambda: (
            all(value["agrees"] for value in measured_floors.values()),
            ", ".join(
                f"{k}: {'yes' if v['agrees'] else 'no'}"
                f" ({', '.join(f'{users:,}' for users in v['users_compared'])} users)"
                for k, v in sorted(
                    measured_floors.items(), key=lambda i: _sort_key(i[0])
                )
            ),
        ),
    )
    large_campaigns = (large or {}).get("campaigns") or {}
    add(
        "campaign assignment and measurement <= 10% of a full build at L",
        [large_campaigns if large_campaigns.get("added_share") is not None else None],
        lambda: (
            large_campaigns["added_share"] <= CAMPAIGN_TARGET_SHARE,
            f"L: {_share(large_campaigns['added_share'])} added"
            f" ({_seconds(large_campaigns['seconds'])} s of campaign nodes,"
            f" full build {_seconds(large_campaigns['wall_seconds'])} s)",
        ),
    )
    large_propensity = (large or {}).get("propensity") or {}
    add(
        f"propensity training and scoring add <= {PROPENSITY_TARGET_SECONDS:g} s"
        " to a full build at L",
        [
            large_propensity
            if large_propensity.get("within_target") is not None
            else None
        ],
        lambda: (
            large_propensity["within_target"],
            f"L: {_seconds(large_propensity['seconds'])} s of propensity nodes"
            f" ({_share(large_propensity['added_share'])} added to a build of"
            f" {_seconds(large_propensity['wall_seconds'])} s)",
        ),
    )
    large_behaviour = (large or {}).get("behaviour") or {}
    add(
        f"behaviour and affinity (issue 17) add <= {BEHAVIOUR_TARGET_SHARE:.0%}"
        " to a full build at L",
        [large_behaviour if large_behaviour.get("within_target") is not None else None],
        lambda: (
            large_behaviour["within_target"],
            f"L: {_share(large_behaviour['added_share'])} added"
            f" ({_seconds(large_behaviour['seconds'])} s of behaviour nodes,"
            f" build {_seconds(large_behaviour['wall_seconds'])} s)",
        ),
    )
    large_sessions = _session_rows(large or {})
    add(
        "daily rerun adds only the new files' session rows at L",
        [large_sessions],
        lambda: (
            large_sessions["only_new_files"],
            f"L: {large_sessions['rows_added']:,} rows added,"
            f" {large_sessions['new_file_rows']:,} of"
            f" {large_sessions['new_files']} new files; earlier files changed:"
            f" {len(large_sessions['files_changed'])}",
        ),
    )
    behaviour_peak = large_behaviour.get("peak_rss_bytes")
    add(
        "behaviour and affinity build at L peak memory <= 6 GB",
        [large_behaviour if behaviour_peak is not None else None],
        lambda: (behaviour_peak <= 6 * GB, f"L: {behaviour_peak / GB:.2f} GB"),
    )
    backfill = (medium or {}).get("backfill") or {}

    def backfilled() -> tuple[bool, str]:
        return (
            backfill["ratio"] <= BACKFILL_TARGET_RATIO,
            f"M: {backfill['ratio']:.2f} (CPU time: {backfill['cpu_ratio']:.2f});"
            f" {backfill['per_date_mean_seconds']:.1f} s per date",
        )

    add(
        f"backfill of {HISTORY_MONTHS} monthly dates <= {BACKFILL_TARGET_RATIO:g}x"
        " one full build at M",
        [backfill if backfill.get("months") == HISTORY_MONTHS else None],
        backfilled,
    )
    return targets


def _seconds(value: float | None) -> str:
    if value is None:
        return "n/a"
    return (
        f"{value:.1f}"
        if value >= 10
        else f"{value:.2f}"
        if value >= 0.1
        else f"{value:.4f}"
    )


def _times(value: float | None) -> str:
    return (
        "n/a" if value is None else f"{value:.2f}x" if value < 10 else f"{value:.1f}x"
    )


def _floor_ratio(floor_results: dict[str, Any] | None, area: str | None) -> str:
    if not floor_results:
        return "not measured"
    ratio = (
        floor_results["ratio"]
        if area is None
        else floor_results["staging"][area]["ratio"]
    )
    return "n/a" if ratio is None else f"{ratio:.2f}"


def _row(result: dict[str, Any]) -> str:
    data = result["data"]
    floor_results = result.get("floor")
    incremental = result.get("incremental") or {}
    rerun = incremental.get("rerun", {}).get("wall_seconds")
    rerun_ratio = incremental.get("ratio")
    return (
        f"| {result['size']} | {data['users']:,} | {data['orders']:,}"
        f" | {data['events']:,}"
        f" | {_seconds(result['full_build']['wall_seconds'])}"
        + (
            f" | {_seconds(floor_results['wall_seconds'])}"
            if floor_results
            else " | not measured"
        )
        + f" | {_floor_ratio(floor_results, None)}"
        f" | {_floor_ratio(floor_results, 'events')}"
        f" | {_floor_ratio(floor_results, 'orders')}"
        + (
            " | not measured"
            if not floor_results
            else f" | {'yes' if floor_results['agrees'] else 'NO'}"
        )
        + f" | {_project_peak(result) / GB:.2f}"
        f" | {_seconds(rerun)}"
        f" | {'n/a' if rerun_ratio is None else f'{rerun_ratio:.2f}'}"
        f" | {result['date'][:10]} |"
    )


def _btyd_row(result: dict[str, Any]) -> str:
    summary = result["btyd"]["summary"]
    fits = result["btyd"]["fits"]
    return (
        f"| {result['size']}"
        f" | {_times(summary['ratio'])} | {'yes' if summary['values_equal'] else 'no'}"
        f" | {_times(fits['bgnbd']['ratio'])} | {_times(fits['gamma_gamma']['ratio'])}"
        f" | {fits['max_relative_difference']:.1e} | {result['date'][:10]} |"
    )


def _pareto_row(result: dict[str, Any]) -> str:
    fits = result["btyd"]["fits"]
    pareto = fits.get("pareto_nbd")
    if pareto is None:
        return f"| {result['size']} | not measured | | | | | {result['date'][:10]} |"
    return (
        f"| {result['size']} | {fits['purchasers']:,}"
        f" | {_seconds(pareto['ours_seconds'])}"
        f" | {_seconds(pareto['lifetimes_seconds'])}"
        f" | {_times(pareto['ratio'])} | {pareto['max_relative_difference']:.1e}"
        f" | {result['date'][:10]} |"
    )


def _time_section(result: dict[str, Any], top: int = 15) -> list[str]:
    """Where the full build's time goes: outside dbt's run, models against
    tests, the top nodes with their share of node time."""
    nodes = sorted(result["nodes"], key=lambda node: -node["execution_time"])
    totals = result.get("node_totals") or node_totals(nodes)
    phases = result.get("full_build_phases")
    lines = [f"### {result['size']}", ""]
    if phases:
        lines += [
            f"Full build {_seconds(result['full_build']['wall_seconds'])} s of wall"
            f" time: before dbt starts {_seconds(phases['before_dbt'])} s (Python"
            f" imports, reading the data folder), dbt's start and parse"
            f" {_seconds(phases['parse'])} s, dbt's run of the nodes"
            f" {_seconds(phases['dbt_run'])} s, after it"
            f" {_seconds(phases['after'])} s (publish, summary).",
            "",
        ]
    every = totals["all"] or 1.0
    lines += [
        f"Node time {_seconds(totals['all'])} s on {THREADS} threads: models"
        f" {_seconds(totals['models'])} s ({_share(totals['models'] / every)}),"
        f" tests {_seconds(totals['tests'])} s ({_share(totals['tests'] / every)}).",
        "",
        "| node | type | seconds | share of node time |",
        "|---|---|---:|---:|",
    ]
    lines += [
        f"| `{node['unique_id'].split('.', 2)[-1]}` | {node['resource_type']}"
        f" | {node['execution_time']:.2f} | {_share(node['execution_time'] / every)} |"
        for node in nodes[:top]
    ]
    floor_results = result.get("floor")
    if floor_results:
        phases_text = ", ".join(
            f"{phase.replace('_', '-')} {_seconds(seconds)} s"
            for phase, seconds in floor_results["phases"].items()
        )
        staging = "; ".join(
            f"{area} staging {_seconds(values['seconds'])} s of node time"
            f" ({values['nodes']} nodes) / the floor's {area}"
            f" {_seconds(values['floor_seconds'])} s"
            for area, values in floor_results["staging"].items()
        )
        lines += [
            "",
            f"The floor: {_seconds(floor_results['wall_seconds'])} s (median of"
            f" {len(floor_results['runs'])} runs; {phases_text}); {staging}.",
        ]
    return [*lines, ""]


def _backfill_row(result: dict[str, Any]) -> str | None:
    backfill = result.get("backfill") or {}
    if "ratio" not in backfill:
        return None
    phases, compared = backfill["phases"], backfill["history"]
    clusters_equal = not compared["final_date_rows_differing_with_clusters"]
    full = backfill.get("full_build") or result["full_build"]
    measured_at = backfill.get("measured_at") or result["date"]
    return (
        f"| {result['size']} | {backfill['months']}"
        f" | {_seconds(full['wall_seconds'])}"
        f" | {_seconds(backfill['build']['wall_seconds'])}"
        f" | {backfill['ratio']:.2f} | {backfill['cpu_ratio']:.2f}"
        f" | {_seconds(backfill['per_date_mean_seconds'])}"
        f" | {_seconds(phases['dates'])} | {_seconds(phases['final_build_dbt'])}"
        f" | {_seconds(phases['rest'])}"
        f" | {len(compared['dates'])}"
        f" | {'yes' if not compared['final_date_rows_differing'] else 'no'}"
        f" | {'yes' if clusters_equal else 'no'}"
        f" | {measured_at[:10]}{' (alone)' if backfill.get('alone') else ''} |"
    )


def _campaign_row(result: dict[str, Any]) -> str | None:
    campaigns = result.get("campaigns")
    if campaigns is None:
        return None
    return (
        f"| {result['size']} | {result['data'].get('campaigns', 'n/a')}"
        f" | {campaigns['models']} | {campaigns['tests']}"
        f" | {_seconds(campaigns['seconds'])} | {_seconds(campaigns['node_seconds'])}"
        f" | {_share(campaigns['share_of_node_time'])}"
        f" | {_seconds(campaigns['wall_seconds'])}"
        f" | {_share(campaigns['added_share'])}"
        f" | {campaigns.get('date', result['date'])[:10]} |"
    )


def _propensity_row(result: dict[str, Any]) -> str | None:
    propensity = result.get("propensity")
    if propensity is None:
        return None
    ready = [
        window
        for window in propensity.get("windows", [])
        if window["status"] == "ready"
    ]
    trained = (
        max((window["train_rows"] for window in ready), default=None),
        # The scores' model fits on its scoring window's evaluation rows.
        max(
            (window["eval_rows"] for window in ready if window["is_scoring_window"]),
            default=None,
        ),
    )
    slowest = ", ".join(
        f"`{name}` {_seconds(seconds)}"
        for name, seconds in list(propensity["per_model"].items())[:4]
    )
    return (
        f"| {result['size']} | {propensity['models']} | {propensity['tests']}"
        f" | {_seconds(propensity['seconds'])}"
        f" | {_seconds(propensity['test_seconds'])} | {slowest or 'n/a'}"
        f" | {_seconds(propensity['wall_seconds'])}"
        f" | {_share(propensity['added_share'])}"
        f" | {len(ready)} of {len(propensity.get('windows', []))}"
        f" | {' / '.join('n/a' if rows is None else f'{rows:,}' for rows in trained)}"
        f" | {propensity.get('scored_users', 0):,}"
        f" | {propensity.get('date', result['date'])[:10]} |"
    )


def _session_rows(result: dict[str, Any]) -> dict[str, Any] | None:
    """The daily rerun's session rows (:func:`compare_file_rows`): measured
    with the behaviour nodes, or by the run's incremental step."""
    return (result.get("behaviour") or {}).get("session_rows") or (
        result.get("incremental") or {}
    ).get("session_rows")


def _behaviour_row(result: dict[str, Any]) -> str | None:
    behaviour = result.get("behaviour")
    if behaviour is None:
        return None
    slowest = ", ".join(
        f"`{name}` {_seconds(seconds)}"
        for name, seconds in list(behaviour["per_model"].items())[:4]
    )
    session_rows = _session_rows(result)
    peak = behaviour.get("peak_rss_bytes")
    return (
        f"| {result['size']} | {behaviour['models']} | {behaviour['tests']}"
        f" | {_seconds(behaviour['seconds'])}"
        f" | {_seconds(behaviour['test_seconds'])} | {slowest or 'n/a'}"
        f" | {_seconds(behaviour['session_days_seconds'])}"
        f" | {_seconds(behaviour['wall_seconds'])}"
        f" | {_share(behaviour['added_share'])}"
        f" | {'n/a' if peak is None else f'{peak / GB:.2f}'}"
        + (
            " | n/a | n/a"
            if not session_rows
            else f" | {session_rows['rows_added']:,} of"
            f" {session_rows['rows_after']:,}"
            f" | {'yes' if session_rows['only_new_files'] else 'no'}"
        )
        + f" | {behaviour.get('date', result['date'])[:10]} |"
    )


def _node_table(result: dict[str, Any], slowest_tests: int = 15) -> list[str]:
    nodes = sorted(result["nodes"], key=lambda node: -node["execution_time"])
    tests = [n for n in nodes if n["resource_type"] in ("test", "unit_test")]
    shown = [n for n in nodes if n["resource_type"] not in ("test", "unit_test")]
    shown += tests[:slowest_tests]
    shown.sort(key=lambda node: -node["execution_time"])
    lines = [
        "| node | type | status | seconds |",
        "|---|---|---|---:|",
    ]
    lines += [
        f"| `{node['unique_id'].split('.', 2)[-1]}` | {node['resource_type']}"
        f" | {node['status']} | {node['execution_time']:.2f} |"
        for node in shown
    ]
    rest = tests[slowest_tests:]
    if rest:
        seconds = sum(node["execution_time"] for node in rest)
        lines.append(f"| {len(rest)} other tests | test | | {seconds:.2f} |")
    return lines


def _section_rows(
    results: list[dict[str, Any]],
    key: str,
    row_of: Any,
    predate: str,
) -> list[str]:
    """The table rows of a measured section (``key`` of each size's
    results, one row per size by ``row_of``, None when not measured), each
    size's ``measured_in`` note, and which sizes were not measured."""
    rows = [row_of(result) for result in results]
    lines = [row for row in rows if row]
    lines += [
        f"\n{result['size']}: {result[key]['measured_in']}"
        for result in results
        if (result.get(key) or {}).get("measured_in")
    ]
    missing = [
        result["size"] for result, row in zip(results, rows, strict=True) if row is None
    ]
    if missing:
        lines += [
            "",
            f"Not measured for {', '.join(missing)}: their results predate"
            f" {predate} (run `make bench` for that size again).",
        ]
    return lines


def render_benchmarks(results: list[dict[str, Any]]) -> str:
    """BENCHMARKS.md from every recorded results file."""
    results = sorted(results, key=lambda result: _sort_key(result["size"]))
    rows = {result["size"]: result for result in results}
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench SIZE=S|M|L` (`python -m tools.bench`) from",
        "`bench/results/<size>.json`; re-running one size replaces its row. Do not",
        "edit by hand.",
        "",
        "## How to run",
        "",
        "```sh",
        "make bench SIZE=S    # M and L the same way; MEMORY_LIMIT=4GB by default",
        "```",
        "",
        "Each run, on the same generated data (`bench/data/<size>`, reused while",
        "it matches the generator): a full build from scratch with",
        "`python -m segmentation run` (2 threads, DuckDB memory limit 4 GB); the",
        "floor, `python -m tools.floor`: the core job done by DuckDB alone, no",
        "dbt, no rejects table, no tests (read the raw files, drop invalid rows,",
        "deduplicate orders and events by id, drop unknown users and rows after",
        "the data horizon, compute per user the RFM values and scores, revenue",
        "and AOV, 30/90-day sessions, browsing minutes and CTR), timed as its own",
        "subprocess right before the full build, right after it and after the",
        "incremental step's full refresh (the median is reported), and checked",
        "to agree with `user_profiles` on those columns for every user (after",
        "the full build and after the full refresh; a disagreement fails the",
        "run); a build with 12 monthly dates of segment history backfilled;",
        "our BTYD summary SQL and BG/NBD + Gamma-Gamma fits against lifetimes",
        "(values must be identical; best of 3 timings each, the fits with one",
        "BLAS thread on both sides); and an incremental rerun after the",
        "generator's `--append-day`, whose marts must equal a `--full-refresh`",
        "build's (on a copy of the warehouse before the rerun: a full refresh",
        "keeps the segment history). `--skip-backfill` (make `SKIP_BACKFILL=1`)",
        "runs all but the backfill and keeps the backfill, propensity and",
        "behaviour results recorded for the size; `--backfill-only` the inverse.",
        "",
        "The floor replaced the engine-alone replay of dbt's compiled SQL",
        "(issue 18): the replay measured dbt's overhead over the same SQL, not",
        "whether that SQL does more work than the job needs, and cost as much",
        "as a full build per run (262 s at L).",
        "",
        "Peak RSS is the larger of the largest process of the build's process",
        "tree (`wait4`) and the peak of the tree's summed resident memory",
        "(sampled every 0.1 s), over the full build, the rerun and the full",
        "refresh. Ratios: **project / floor** is the full build's wall time over",
        "the floor's (median); **events staging** is the node time of the",
        "project's staging of events (`base_app__events`, `stg_app__events`,",
        "`base_app__event_days` and every test on them) over the floor's events",
        "phase (read, check, deduplicate, and sum per user and session: the",
        "floor never stores the events); **orders staging** the same for",
        "`base_app__orders`, `stg_app__orders` and their tests against the",
        "floor's orders phase.",
        "",
        "## Results",
        "",
        "| size | users | orders | events | full build (s) | floor (s)"
        " | project / floor | events staging: project / floor"
        " | orders staging: project / floor | floor = user_profiles"
        " | peak RSS (GB) | incremental rerun (s) | rerun / full | date |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    lines += [_row(result) for result in results]
    if not results:
        lines += ["", "No size measured yet: run `make bench SIZE=S` (then M and L)."]
    lines += ["", "## Where the time goes", ""]
    for result in results:
        lines += _time_section(result)
    lines += [
        "## BTYD against lifetimes",
        "",
        "Ratios are lifetimes' time over ours.",
        "",
        "| size | summary: lifetimes / ours | summary identical"
        " | BG/NBD fit: lifetimes / ours | Gamma-Gamma fit: lifetimes / ours"
        " | params max rel. diff | date |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    lines += [_btyd_row(result) for result in results]
    lines += [
        "",
        "### Pareto/NBD against lifetimes",
        "",
        "Our Pareto/NBD fit (`segmentation.methods.btyd.fit_pareto_nbd`, issue",
        "19) against lifetimes' `ParetoNBDFitter` on the same stored summary,",
        "one BLAS thread each (ours the best of up to 3 runs, lifetimes'",
        "Nelder-Mead one run: minutes at L); the parameters' largest relative",
        "difference.",
        "",
        "| size | purchasers | ours (s) | lifetimes (s) | lifetimes / ours"
        " | params max rel. diff | date |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    lines += [_pareto_row(result) for result in results]
    lines += [
        "",
        "## Segment history backfill",
        "",
        "On the same data, a build from scratch (fresh warehouse and target",
        "folder) with `python -m segmentation run --data <folder> --history-from",
        "<as-of date - N months>` (N = 12; the months column): staging and the",
        "as-of date built and tested once, then the history's models for each",
        "of the N monthly dates on the staged data (`segmentation.history`),",
        "then the full build, which adds the as-of date itself (N + 1 dates in",
        "the history). **backfill / full** is that whole build's wall time",
        "divided by the wall time of the plain full build of the same run, so",
        "it includes the build of the final date (`--backfill-only` measures",
        "that pair again, alone, and replaces only this row: marked (alone)); the",
        "CPU-time ratio (user + system of the process tree) is less disturbed",
        "by other work on the machine. Per date: the mean of the times the",
        "backfill prints per date (one dbt run each); final build: dbt's own",
        "time of the full build after the backfill; rest: the staging build",
        "before it, dbt's one parse of the project (every dbt command runs in",
        "the build's process), the publish step and the summary. The checks:",
        "the history holds every date, and its rows of the final date equal",
        "the plain build's (the cluster columns left out: the ids may follow",
        "earlier snapshots; the last column says whether they are equal too).",
        "",
        "| size | months | full build (s) | build with backfill (s)"
        " | backfill / full | CPU time: backfill / full | per date (s)"
        " | dates (s) | final build (s) | rest (s) | dates in history"
        " | final date = plain build | cluster ids too | date |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    backfill_rows = [_backfill_row(result) for result in results]
    lines += [row for row in backfill_rows if row]
    missing = [
        result["size"]
        for result, row in zip(results, backfill_rows, strict=True)
        if row is None
    ]
    if missing:
        lines += [
            "",
            f"Not measured for {', '.join(missing)}: their results predate the"
            " backfill step (run `make bench` for that size again).",
        ]
    lines += [
        "",
        "## Campaign assignment and measurement",
        "",
        "In the full build above, the nodes of the campaigns (issue 15): the",
        "models under `models/intermediate/campaigns` and `models/marts/campaigns`,",
        "the campaigns' staging (`stg_app__campaigns`) and every test on them.",
        "Their node time is the sum of their execution times in dbt's run",
        "results, against every node's (share of node time); **added** is their",
        "time over the full build's wall time less their time: what they add to",
        "a build without them (campaigns: rows of the raw campaigns table).",
        "",
        "| size | campaigns | models | tests | campaign node time (s)"
        " | all node time (s) | share of node time | full build (s) | added"
        " | date |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += _section_rows(results, "campaigns", _campaign_row, "the campaigns")
    lines += [
        "",
        "## Propensity training and scoring",
        "",
        "The nodes of the purchase and churn propensity (issue 16): the models",
        "under `models/intermediate/propensity` and `models/marts/propensity`",
        "(the feature history, the training windows and examples, the fits and",
        "predictions of both classifiers, permutation importance, the scores of",
        "every user and their tiers, the evaluation marts) and every test on",
        "them, measured in the final build of the backfill step: the plain full",
        "build has no feature history, so it trains nothing. Node time as for",
        "the campaigns; **added** is against that build's dbt time. Windows:",
        "the training windows ready to fit (the others fall back); trained on:",
        "the most users one fit trained on, for the evaluation fits (a window's",
        "training rows) / the scores' fit (a scoring window's evaluation rows),",
        "each sampled to `propensity_sample_size`; scored: the users of the",
        "as-of date scored.",
        "",
        "| size | models | tests | propensity node time (s) | of which tests (s)"
        " | slowest models (s) | build (s) | added | windows ready"
        " | trained on | scored | date |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    lines += _section_rows(
        results, "propensity", _propensity_row, "the propensity models"
    )
    lines += [
        "",
        "## Behaviour and affinity",
        "",
        "The nodes of issue 17: the models under `models/intermediate/affinity`,",
        "`recommendations` and `lookalike` and `models/marts/affinity`,",
        "`recommendations`, `lookalike` and `behaviour` (category affinity and",
        "association rules, next-best category and its evaluation, lookalike",
        "scores and their evaluation, funnels, paths and behaviour per segment)",
        "and every test on them, measured like the propensity models in the",
        "final build of the backfill step (the lookalike evaluation fits on an",
        "earlier snapshot). Node time and **added** as for the propensity",
        "models. The funnel columns of each session (funnel depth, checkout,",
        "path) are computed in the events' incremental pass, an older model",
        f"(`{SESSION_DAYS_MODEL}`): its time is shown",
        "apart (session days). Peak RSS: that build's. Daily rerun: the session",
        "rows the incremental rerun after `--append-day` added, of the table's",
        "rows, and whether they are exactly the new files' rows with every",
        "earlier file's rows unchanged.",
        "",
        "| size | models | tests | behaviour node time (s) | of which tests (s)"
        " | slowest models (s) | session days (s) | build (s) | added"
        " | peak RSS (GB) | daily rerun: session rows added | new files' rows only"
        " | date |",
        "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---|",
    ]
    lines += _section_rows(
        results, "behaviour", _behaviour_row, "the behaviour and affinity models"
    )
    lines += [
        "",
        "## Targets",
        "",
        "| target | status | measured |",
        "|---|---|---|",
    ]
    lines += [
        f"| {text} | {status} | {detail} |"
        for text, status, detail in evaluate_targets(rows)
    ]
    lines += ["", *TARGET_LIMITS.splitlines(), *fixed_cost_lines(results)]
    lines += ["", "## Machine", ""]
    machines: dict[str, list[str]] = {}
    for result in results:
        key = json.dumps(result["machine"], sort_keys=True)
        machines.setdefault(key, []).append(result["size"])
    for key, sizes in machines.items():
        described = json.loads(key)
        lines += [
            f"Sizes {', '.join(sizes)}: {described['cpu']}, {described['cores']} cores,"
            f" {described['memory_bytes'] / 2**30:.0f} GiB RAM, {described['os']};"
            f" Python {described['python']}, DuckDB {described['duckdb']},"
            f" dbt-core {described['dbt_core']}, dbt-duckdb {described['dbt_duckdb']},"
            f" lifetimes {described['lifetimes']}. Dates: see the results table.",
            "",
        ]
    lines += ["## Time per node of the full build", ""]
    for result in results:
        lines += [
            "<details>",
            f"<summary>{result['size']}: every model and seed, the slowest tests"
            "</summary>",
            "",
            *_node_table(result),
            "",
            "</details>",
            "",
        ]
    return "\n".join(lines)


def write_benchmarks(results_dir: Path, output: Path) -> None:
    results = [
        json.loads(path.read_text()) for path in sorted(results_dir.glob("*.json"))
    ]
    output.write_text(render_benchmarks(results))


def print_summary(result: dict[str, Any], top: int = 10) -> None:
    data = result["data"]
    full = result["full_build"]
    floor_results = result.get("floor")
    summary = result["btyd"]["summary"]
    fits = result["btyd"]["fits"]
    incremental = result.get("incremental") or {}
    print()
    print(
        f"Benchmark {result['size']}: {data['users']:,} users,"
        f" {data['orders']:,} orders, {data['events']:,} events; {THREADS} threads,"
        f" memory limit {result['settings']['memory_limit']}"
    )
    table = [
        (
            "full build",
            f"{_seconds(full['wall_seconds'])} s",
            f"peak RSS {full['peak_rss_bytes'] / GB:.2f} GB",
        ),
        (
            f"BTYD summary ({_best_of(summary['runs'])})",
            f"ours {_seconds(summary['ours_seconds'])} s",
            f"lifetimes {_seconds(summary['lifetimes_seconds'])} s"
            f" = {_times(summary['ratio'])}; identical for {summary['users']:,}"
            f" users: {'yes' if summary['values_equal'] else 'NO'}",
        ),
    ]
    if floor_results:
        runs = ", ".join(
            f"{run['run']} {_seconds(run['wall_seconds'])}"
            for run in floor_results["runs"]
        )
        table.insert(
            1,
            (
                "floor (DuckDB alone)",
                f"{_seconds(floor_results['wall_seconds'])} s",
                f"project / floor {floor_results['ratio']:.2f}; median of {runs} s;"
                f" agrees with user_profiles:"
                f" {'yes' if floor_results['agrees'] else 'NO'}",
            ),
        )
        for offset, (area, values) in enumerate(floor_results["staging"].items()):
            table.insert(
                2 + offset,
                (
                    f"{area} staging",
                    f"{_seconds(values['seconds'])} s",
                    f"project / floor {_floor_ratio(floor_results, area)}"
                    f" (floor's {area} phase {_seconds(values['floor_seconds'])} s)",
                ),
            )
    for name, key in (("BG/NBD fit", "bgnbd"), ("Gamma-Gamma fit", "gamma_gamma")):
        fit = fits[key]
        table.append(
            (
                f"{name} ({_best_of(fit['runs'])})",
                f"ours {_seconds(fit['ours_seconds'])} s",
                f"lifetimes {_seconds(fit['lifetimes_seconds'])} s"
                f" = {_times(fit['ratio'])}; params max rel. diff"
                f" {fit['max_relative_difference']:.1e}",
            )
        )
    if incremental.get("rerun"):
        table.append(
            (
                "incremental rerun",
                f"{_seconds(incremental['rerun']['wall_seconds'])} s",
                f"rerun / full {incremental['ratio']:.2f}; marts = full refresh:"
                f" {'yes' if incremental.get('marts_equal') else 'NO'}",
            )
        )
    else:
        table.append(("incremental rerun", "not run", incremental.get("error", "")))
    backfill = result.get("backfill") or {}
    if "ratio" in backfill:
        compared = backfill["history"]
        table.append(
            (
                f"history backfill, {backfill['months']} months",
                f"{_seconds(backfill['build']['wall_seconds'])} s",
                f"backfill / full {backfill['ratio']:.2f} (CPU time"
                f" {backfill['cpu_ratio']:.2f}); per date"
                f" {_seconds(backfill['per_date_mean_seconds'])} s;"
                f" {len(compared['dates'])} dates; final date = plain build:"
                f" {'yes' if not compared['final_date_rows_differing'] else 'NO'}",
            )
        )
    else:
        table.append(("history backfill", "not run", backfill.get("error", "")))
    for key, label, text in (
        ("campaigns", "campaigns (assignment, measurement)", campaign_text),
        ("propensity", "propensity (training, scoring)", propensity_text),
        ("behaviour", "behaviour and affinity (issue 17)", behaviour_text),
    ):
        area = result.get(key)
        table.append(
            (
                label,
                "none"
                if not area or area["added_share"] is None
                else f"{_seconds(area['seconds'])} s",
                text(area),
            )
        )
    session_rows = incremental.get("session_rows")
    if session_rows:
        table.append(
            (
                "rerun: session rows added",
                f"{session_rows['rows_added']:,}",
                f"of {session_rows['new_files']} new file(s):"
                f" {session_rows['new_file_rows']:,}; earlier files unchanged:"
                f" {'yes' if not session_rows['files_changed'] else 'NO'}",
            )
        )
    width = max(len(row[0]) for row in table)
    for name, value, detail in table:
        print(f"  {name:<{width}}  {value:>16}  {detail}")
    print(f"Slowest nodes of the full build (all in {result['paths']['results']}):")
    for node in sorted(result["nodes"], key=lambda n: -n["execution_time"])[:top]:
        print(
            f"  {node['execution_time']:8.2f} s  {node['resource_type']:<9}"
            f" {node['unique_id'].split('.', 2)[-1]}"
        )
    sys.stdout.flush()
    for failure in result["failures"]:
        print(f"FAILED: {failure}", file=sys.stderr)


# ---------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------


def _best_of(runs: dict[str, int]) -> str:
    counts = sorted(set(runs.values()))
    return "best of " + " / ".join(str(count) for count in counts) + " runs"


def _step(label: str, text: str) -> None:
    print(f"[bench {label}] {text}", flush=True)


def _build(
    command: list[str], env: dict[str, str], log_path: Path, what: str
) -> Measured:
    measured = measure(command, env, log_path)
    if measured.returncode != 0:
        raise BenchError(
            f"{what} failed (exit {measured.returncode}); log {log_path}:\n"
            + _tail(log_path)
        )
    return measured


def incremental_step(
    label: str,
    cache: Path,
    work_data: Path,
    work: Path,
    memory_limit: str,
    full: Measured,
    full_dir: Path,
    flags: set[str],
    after_refresh: Callable[[Path], dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Step 6: append a day, rerun on the same warehouse, compare with a
    full refresh of a copy of the warehouse before the rerun; then
    ``after_refresh`` (the floor's third run) on the refreshed warehouse,
    its result returned as ``floor_run``."""
    if "--append-day" not in flags:
        message = (
            "tools.demo_data has no --append-day option yet, so the"
            " incremental daily rerun cannot be measured (merge the generator"
            " that adds it)"
        )
        return {"error": message}, [message]
    failures = []
    before = fingerprint(cache)
    append = measure(
        [
            sys.executable,
            "-m",
            "tools.demo_data",
            "--append-day",
            str(work_data),
        ],
        dict(os.environ),
        work / "logs" / "append_day.log",
    )
    if append.returncode != 0:
        log = work / "logs" / "append_day.log"
        message = f"--append-day failed (exit {append.returncode}):\n{_tail(log)}"
        return {"error": message}, [message]
    if fingerprint(cache) != before:
        failures.append(f"--append-day modified the cached data in {cache}")
    # The full refresh runs on a copy of the warehouse as the rerun finds
    # it: a full refresh rebuilds everything but the segment history, which
    # it keeps (issue 14), so both end with the same history (the full
    # build's date and the new one) and every mart made from it compares.
    refresh_dir = work / "refresh"
    refresh_dir.mkdir(parents=True, exist_ok=True)
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        if (full_dir / name).exists():
            shutil.copy2(full_dir / name, refresh_dir / name)
    # The session rows per file before the rerun: it must add the new
    # files' rows and leave every earlier file's as they were (issue 17:
    # the funnels and paths follow the events' incremental pass).
    session_rows_before = file_rows(full_dir / "warehouse.duckdb")
    _step(label, "incremental rerun on the same warehouse")
    rerun = _build(
        segmentation_run(work_data),
        run_env(full_dir, memory_limit),
        work / "logs" / "rerun.log",
        "the incremental rerun",
    )
    rerun_nodes = node_timings(full_dir / "target" / "run_results.json")
    session_rows = compare_file_rows(
        session_rows_before, file_rows(full_dir / "warehouse.duckdb")
    )
    if not session_rows["only_new_files"]:
        failures.append(
            f"the incremental rerun did not add only the new files' rows to"
            f" {SESSION_DAYS_MODEL}: {session_rows['rows_added']:,} rows added,"
            f" {session_rows['new_file_rows']:,} of {session_rows['new_files']}"
            f" new files; earlier files changed: {session_rows['files_changed']},"
            f" gone: {session_rows['files_gone']}"
        )
    rerun_behaviour = behaviour_share(
        json.loads((full_dir / "target" / "manifest.json").read_text()),
        rerun_nodes,
        rerun.wall_seconds,
    )
    _step(
        label,
        f"  {rerun.wall_seconds:.1f} s; full refresh of a copy of the warehouse"
        " before the rerun",
    )
    refresh = _build(
        segmentation_run(work_data, "--full-refresh"),
        run_env(refresh_dir, memory_limit),
        work / "logs" / "full_refresh.log",
        "the full refresh",
    )
    differing = differing_tables(
        table_hashes(full_dir / "warehouse.duckdb"),
        table_hashes(refresh_dir / "warehouse.duckdb"),
    )
    if differing:
        failures.append(
            "the incremental rerun's marts differ from a full refresh's: "
            + ", ".join(differing)
        )
    extra = {}
    if after_refresh is not None:
        _step(label, "floor again, after the full refresh, checked against it")
        extra["floor_run"] = after_refresh(refresh_dir / "warehouse.duckdb")
        _step(label, f"  {extra['floor_run']['wall_seconds']:.1f} s")
    if not differing:
        (refresh_dir / "warehouse.duckdb").unlink()
    return {
        **extra,
        "append_day_seconds": round(append.wall_seconds, 3),
        "data_after": _count_rows(full_dir / "warehouse.duckdb"),
        "rerun": rerun.as_dict(),
        "full_refresh": refresh.as_dict(),
        "ratio": round(rerun.wall_seconds / full.wall_seconds, 3),
        "marts_equal": not differing,
        "differing_tables": differing,
        "rerun_nodes": rerun_nodes,
        "session_rows": session_rows,
        "rerun_behaviour": rerun_behaviour,
    }, failures


def compare_final_snapshot(
    plain: Path, backfilled: Path, as_of: dt.date
) -> dict[str, Any]:
    """The history of the backfill build against the plain build's: its
    dates and row counts, and how many of the final date's rows differ
    (doubles rounded as in tools.digest), with and without the cluster
    columns."""
    schema, table = "intermediate", history.HISTORY_MODEL
    with duckdb.connect() as connection:
        for name, path in (("plain", plain), ("backfilled", backfilled)):
            connection.execute(f"attach {_sql_string(str(path))} as {name} (read_only)")
        dates = connection.execute(
            f"select as_of_date, count(*) from backfilled.{schema}.{table}"
            " group by all order by 1"
        ).fetchall()
        plain_rows = connection.execute(
            f"select count(*) from plain.{schema}.{table} where as_of_date = ?",
            [as_of],
        ).fetchone()[0]

        def differing(leave_out: tuple[str, ...]) -> int:
            layouts, selects = [], []
            for catalog in ("plain", "backfilled"):
                columns, values = comparable_values(
                    connection, schema, table, catalog, leave_out
                )
                layouts.append(columns)
                selects.append(
                    f"select {', '.join(values)} from {catalog}.{schema}.{table}"
                    f" where as_of_date = {_sql_string(as_of.isoformat())}"
                )
            if layouts[0] != layouts[1]:
                raise BenchError(
                    f"{table} has other columns in the backfill build than in"
                    f" the plain build: {layouts[1]} vs {layouts[0]}"
                )
            left, right = selects
            return connection.execute(
                f"select count(*) from (({left} except all {right})"
                f" union all ({right} except all {left}))"
            ).fetchone()[0]

        without_clusters = differing(CLUSTER_COLUMNS)
        with_clusters = differing(())
    return {
        "dates": [day.isoformat() for day, _ in dates],
        "rows_per_date": [rows for _, rows in dates],
        "final_date": as_of.isoformat(),
        "final_date_rows": dict(dates).get(as_of, 0),
        "plain_final_date_rows": plain_rows,
        # Rows in one build and not the other (each side counted).
        "final_date_rows_differing": without_clusters,
        "final_date_rows_differing_with_clusters": with_clusters,
        "cluster_columns": list(CLUSTER_COLUMNS),
    }


def backfill_step(
    label: str,
    work_data: Path,
    work: Path,
    memory_limit: str,
    full: Measured,
    full_dir: Path,
    months: int,
) -> tuple[dict[str, Any], list[str]]:
    """After the full build: a build from scratch that backfills the segment
    history for the months before the full build's as-of date, timed
    against the full build; its history must hold every date and, for the
    final date, the plain build's rows."""
    as_of, _, _ = history.read_calendar(full_dir / "warehouse.duckdb")
    history_from = history.add_months(as_of, -months)
    run_dir = work / "backfill"
    log_path = work / "logs" / "backfill_build.log"
    measured = _build(
        segmentation_run(
            work_data,
            "--history-from",
            history_from.isoformat(),
            "--history-every",
            "month",
        ),
        run_env(run_dir, memory_limit),
        log_path,
        "the build with the history backfill",
    )
    per_date = [
        {"as_of_date": match[3], "seconds": float(match[4])}
        for match in PROGRESS_LINE.finditer(log_path.read_text(errors="replace"))
    ]
    run_results = json.loads((run_dir / "target" / "run_results.json").read_text())
    compared = compare_final_snapshot(
        full_dir / "warehouse.duckdb", run_dir / "warehouse.duckdb", as_of
    )
    failures = []
    if len(per_date) != months:
        failures.append(
            f"the backfill reported {len(per_date)} dates, not {months}"
            f" (log {log_path})"
        )
    if len(compared["dates"]) != months + 1 or compared["dates"][-1] != str(as_of):
        failures.append(
            f"the backfill build's history holds {len(compared['dates'])} dates"
            f" ({', '.join(compared['dates'])}), not the {months} backfilled"
            f" and {as_of}"
        )
    if (
        compared["final_date_rows_differing"]
        or compared["final_date_rows"] != compared["plain_final_date_rows"]
    ):
        failures.append(
            f"the backfill build's history rows of {as_of} differ from the plain"
            f" build's: {compared['final_date_rows_differing']} rows differ"
            f" ({compared['final_date_rows']} vs"
            f" {compared['plain_final_date_rows']} rows)"
        )
    per_date_seconds = sum(entry["seconds"] for entry in per_date)
    final_build = run_results["elapsed_time"]
    # The propensity models train only on this build (the plain one has no
    # feature history): their cost against its final build's dbt time.
    for name in ("run_results.json", "manifest.json"):
        shutil.copy2(run_dir / "target" / name, work / f"backfill_{name}")
    propensity = {
        **propensity_share(
            json.loads((work / "backfill_manifest.json").read_text()),
            node_timings(work / "backfill_run_results.json"),
            final_build,
        ),
        **propensity_trained(run_dir / "warehouse.duckdb"),
    }
    # So do the lookalikes' evaluation (issue 17): the behaviour and affinity
    # nodes are measured on the same build.
    behaviour = {
        **behaviour_share(
            json.loads((work / "backfill_manifest.json").read_text()),
            node_timings(work / "backfill_run_results.json"),
            final_build,
        ),
        "peak_rss_bytes": measured.peak_rss_bytes,
    }
    if not failures:
        (run_dir / "warehouse.duckdb").unlink()
    return {
        "months": months,
        "history_from": history_from.isoformat(),
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        # The plain full build the ratio divides by (the run's full build).
        "full_build": full.as_dict(),
        "build": measured.as_dict(),
        # What the target divides: the whole build with the backfill (the
        # staging build and its tests, every backfilled date, then the full
        # build of the final date) over the plain full build of this run.
        "ratio": round(measured.wall_seconds / full.wall_seconds, 3),
        "cpu_ratio": round(measured.cpu_seconds / full.cpu_seconds, 3)
        if full.cpu_seconds
        else None,
        "per_date": per_date,
        "per_date_mean_seconds": round(per_date_seconds / len(per_date), 3)
        if per_date
        else None,
        # Where the wall time went: the dates (each one dbt run, as printed),
        # dbt's own time of the final build, and the rest (the staging build
        # before the backfill, the backfill's parse, starting the processes,
        # the publish step and the summary).
        "phases": {
            "dates": round(per_date_seconds, 3),
            "final_build_dbt": round(final_build, 3),
            "rest": round(measured.wall_seconds - per_date_seconds - final_build, 3),
        },
        "history": compared,
        "propensity": propensity,
        "behaviour": behaviour,
    }, failures


def _record_backfill_alone(
    work: Path,
    recorded_path: Path,
    backfill: dict[str, Any],
    failures: list[str],
    output: Path,
    label: str,
) -> int:
    """--backfill-only: the backfill measured again with its own full build
    replaces the backfill of the recorded results (when its checks pass)."""
    backfill = {**backfill, "alone": True}
    propensity = backfill.pop("propensity", None)
    behaviour = backfill.pop("behaviour", None)
    (work / "results.json").write_text(
        json.dumps({"backfill": backfill, "failures": failures}, indent=1) + "\n"
    )
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    if failures:
        print(
            f"\n{len(failures)} check(s) failed; results in {work / 'results.json'}"
            " (the committed results and BENCHMARKS.md were left unchanged).",
            file=sys.stderr,
        )
        return 1
    recorded = json.loads(recorded_path.read_text())
    recorded["backfill"] = backfill
    if propensity is not None:
        recorded["propensity"] = propensity
    if behaviour is not None:
        recorded["behaviour"] = behaviour
    recorded_path.write_text(json.dumps(recorded, indent=1) + "\n")
    write_benchmarks(recorded_path.parent, output)
    print(
        f"\nBackfill of {label} measured alone: {backfill['ratio']:.2f} x the full"
        f" build (CPU time {backfill['cpu_ratio']:.2f}); replaced in"
        f" {recorded_path}; table: {output}"
    )
    return 0


def record_btyd_alone(label: str, memory_limit: str, root: Path, output: Path) -> int:
    """--btyd-only: steps 4 and 5 measured again on the full build the size's
    last run left in its work folder replace the recorded BTYD results (when
    our summary still equals lifetimes')."""
    recorded_path = root / "results" / f"{label}.json"
    full_dir = root / "work" / label / "full"
    target, warehouse = full_dir / "target", full_dir / "warehouse.duckdb"
    missing = [
        str(path)
        for path in (recorded_path, target / "manifest.json", warehouse)
        if not path.exists()
    ]
    if missing:
        raise BenchError(
            f"--btyd-only needs the results and the full build of a whole run of"
            f" {label} (missing: {', '.join(missing)}): run make bench SIZE={label}"
        )
    _step(label, "BTYD summary and fits against lifetimes, on the last full build")
    btyd_results = compare_btyd(target, warehouse, memory_limit)
    summary = btyd_results["summary"]
    if not summary["values_equal"]:
        print(
            "FAILED: our BTYD summary differs from lifetimes': "
            + "; ".join(summary["problems"])
            + " (the recorded results were left unchanged)",
            file=sys.stderr,
        )
        return 1
    recorded = json.loads(recorded_path.read_text())
    recorded["btyd"] = btyd_results
    recorded_path.write_text(json.dumps(recorded, indent=1) + "\n")
    write_benchmarks(recorded_path.parent, output)
    print(f"\n{_pareto_row(recorded)}\nreplaced in {recorded_path}; table: {output}")
    return 0


def run_benchmark(
    size: str,
    users: int | None,
    memory_limit: str,
    root: Path,
    output: Path,
    history_months: int = HISTORY_MONTHS,
    backfill_only: bool = False,
    skip_backfill: bool = False,
) -> int:
    label = size if users is None else f"users-{users}"
    work = root / "work" / label
    cache = root / "data" / label
    results_dir = root / "results"
    recorded_path = results_dir / f"{label}.json"
    if backfill_only and not recorded_path.is_file():
        raise BenchError(
            f"--backfill-only replaces the backfill of {recorded_path}, which"
            f" does not exist: run the whole benchmark of {label} first"
        )
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    failures: list[str] = []
    flags = generator_flags()

    arguments = generator_arguments(size, users, flags)
    _step(label, f"data: {cache} (tools.demo_data {' '.join(arguments)})")
    _step(label, f"  logs of every step: {work / 'logs'}")
    data = ensure_data(cache, arguments, work / "logs" / "generate.log")
    work_data = work / "data"
    make_work_copy(cache, work_data)

    floor_runs: list[dict[str, Any]] = []
    if not backfill_only:
        _step(label, "floor (DuckDB alone, tools.floor), before the full build")
        floor_runs.append(
            floor_run("before_full", work_data, work, memory_limit, data_dates(cache))
        )
        _step(label, f"  {floor_runs[-1]['wall_seconds']:.1f} s")

    _step(label, "full build from scratch: python -m segmentation run")
    full_dir = work / "full"
    full = _build(
        segmentation_run(work_data),
        run_env(full_dir, memory_limit),
        work / "logs" / "full_build.log",
        "the full build",
    )
    target = full_dir / "target"
    warehouse = full_dir / "warehouse.duckdb"
    for name in ("run_results.json", "manifest.json"):
        shutil.copy2(target / name, work / f"full_{name}")
    data.update(_count_rows(warehouse))
    campaigns = campaign_share(
        json.loads((work / "full_manifest.json").read_text()),
        node_timings(work / "full_run_results.json"),
        full.wall_seconds,
    )
    _step(
        label,
        f"  {full.wall_seconds:.1f} s, peak RSS {full.peak_rss_bytes / GB:.2f} GB;"
        f" {campaign_text(campaigns)}",
    )

    built_hashes = table_hashes(warehouse)
    # Compared with the recorded ones by pytests (S), on any machine.
    built_fingerprints = table_fingerprints(warehouse)
    if not backfill_only:
        _step(label, "floor again, right after the full build, checked against it")
        floor_runs.append(
            floor_run(
                "after_full",
                work_data,
                work,
                memory_limit,
                floor.build_dates(warehouse),
                warehouse,
            )
        )
        _step(
            label,
            f"  {floor_runs[-1]['wall_seconds']:.1f} s; agrees with user_profiles:"
            f" {'yes' if floor_runs[-1]['agreement']['agrees'] else 'NO'}",
        )

    recorded = (
        json.loads(recorded_path.read_text())
        if skip_backfill and recorded_path.is_file()
        else {}
    )
    if skip_backfill:
        _step(
            label,
            "history backfill skipped (--skip-backfill): its results, the"
            " propensity's and the behaviour's stay as recorded"
            + ("" if recorded else " (none recorded)"),
        )
        backfill = recorded.get("backfill") or {}
        backfill_failures: list[str] = []
    else:
        _step(
            label,
            f"build from scratch with {history_months} monthly dates of segment"
            " history backfilled: python -m segmentation run --history-from ...",
        )
        try:
            backfill, backfill_failures = backfill_step(
                label, work_data, work, memory_limit, full, full_dir, history_months
            )
            _step(
                label,
                f"  {backfill['build']['wall_seconds']:.1f} s ="
                f" {backfill['ratio']:.2f} x the full build;"
                f" {backfill['per_date_mean_seconds'] or 0:.1f} s per date",
            )
            _step(label, f"  {propensity_text(backfill.get('propensity'))}")
            _step(label, f"  {behaviour_text(backfill.get('behaviour'))}")
        except BenchError as error:
            backfill, backfill_failures = {"error": str(error)}, [str(error)]
    failures += backfill_failures
    if backfill_only:
        return _record_backfill_alone(
            work, recorded_path, backfill, failures, output, label
        )

    _step(label, "BTYD summary and BG/NBD + Gamma-Gamma fits against lifetimes")
    btyd_results = compare_btyd(target, warehouse, memory_limit)
    gc.collect()
    summary = btyd_results["summary"]
    if not summary["values_equal"]:
        failures.append(
            "our BTYD summary differs from lifetimes': "
            + "; ".join(summary["problems"])
        )

    _step(label, "incremental daily rerun (--append-day)")
    try:
        incremental, incremental_failures = incremental_step(
            label,
            cache,
            work_data,
            work,
            memory_limit,
            full,
            full_dir,
            flags,
            lambda refreshed: floor_run(
                "after_refresh",
                work_data,
                work,
                memory_limit,
                floor.build_dates(refreshed),
                refreshed,
            ),
        )
    except BenchError as error:
        incremental, incremental_failures = {"error": str(error)}, [str(error)]
    failures += incremental_failures
    if "floor_run" in incremental:
        floor_runs.append(incremental.pop("floor_run"))
    manifest = json.loads((work / "full_manifest.json").read_text())
    nodes = node_timings(work / "full_run_results.json")
    floor_results, floor_failures = floor_summary(floor_runs, full, manifest, nodes)
    failures += floor_failures

    result = {
        "size": label,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"threads": int(THREADS), "memory_limit": memory_limit},
        "data": data,
        "full_build": full.as_dict(),
        # Content of every output table (tools.digest), so a change that
        # alters a mart at this size shows (pytests compare it for S).
        "output_hashes": built_hashes,
        "output_fingerprints": built_fingerprints,
        # The floor (tools.floor): every run, alternating with the builds,
        # their medians and the ratios (see floor_summary).
        "floor": floor_results,
        # Where the full build's wall time went (before dbt, parse, run,
        # after) and its node time (models, tests).
        "full_build_phases": build_phases(
            full, json.loads((work / "full_run_results.json").read_text())
        ),
        "node_totals": node_totals(nodes),
        "btyd": btyd_results,
        "incremental": incremental,
        "backfill": backfill,
        "campaigns": campaigns,
        "propensity": recorded.get("propensity")
        if skip_backfill
        else backfill.pop("propensity", None),
        "behaviour": recorded.get("behaviour")
        if skip_backfill
        else backfill.pop("behaviour", None),
        "nodes": nodes,
        "failures": failures,
        "paths": {"work": str(work), "results": str(results_dir / f"{label}.json")},
    }
    (work / "results.json").write_text(json.dumps(result, indent=1) + "\n")
    if failures:
        result["paths"]["results"] = str(work / "results.json")
    else:
        results_dir.mkdir(parents=True, exist_ok=True)
        (results_dir / f"{label}.json").write_text(json.dumps(result, indent=1) + "\n")
        write_benchmarks(results_dir, output)
    print_summary(result)
    if failures:
        print(
            f"\n{len(failures)} check(s) failed; results in {work / 'results.json'}"
            " (the committed results and BENCHMARKS.md were left unchanged).",
            file=sys.stderr,
        )
        return 1
    print(f"\nResults: {results_dir / f'{label}.json'}; table: {output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench",
        description="Benchmark a full build against the floor (the core job by"
        " DuckDB alone), the BTYD summary and fits against lifetimes, a history"
        " backfill and an incremental rerun.",
    )
    parser.add_argument(
        "--size", choices=sorted(SIZES, key=SIZE_ORDER.get), default="S"
    )
    parser.add_argument(
        "--users",
        type=int,
        help="custom size instead of --size: N users (generator --users N)",
    )
    parser.add_argument(
        "--memory-limit",
        default=os.environ.get("SEGMENTS_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT),
        help="DuckDB memory limit of every build and of the floor (default 4GB)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=DEFAULT_ROOT,
        help="folder of data/, work/ and results/ (default bench/)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="Markdown file regenerated from <root>/results (default BENCHMARKS.md)",
    )
    parser.add_argument(
        "--history-months",
        type=int,
        default=int(os.environ.get("BENCH_HISTORY_MONTHS", HISTORY_MONTHS)),
        help="monthly as-of dates the history backfill step builds before the"
        f" full build's (default {HISTORY_MONTHS}, or BENCH_HISTORY_MONTHS)",
    )
    parser.add_argument(
        "--backfill-only",
        action="store_true",
        help="measure only the full build and the build with the history"
        " backfill again (on a busy machine, say) and replace the backfill of"
        " the recorded results of the size",
    )
    parser.add_argument(
        "--skip-backfill",
        action="store_true",
        help="run everything but the history backfill step, keeping the"
        " backfill, propensity and behaviour results recorded for the size"
        " (the inverse of --backfill-only; at L it saves most of the run)",
    )
    parser.add_argument(
        "--btyd-only",
        action="store_true",
        help="measure only the BTYD summary and fits against lifetimes again,"
        " on the warehouse the size's last run left in <root>/work, and replace"
        " them in its recorded results",
    )
    args = parser.parse_args(argv)
    if args.backfill_only and args.skip_backfill:
        parser.error("--backfill-only and --skip-backfill exclude each other")
    if args.btyd_only and (args.backfill_only or args.skip_backfill):
        parser.error("--btyd-only runs no build: leave the other steps' flags unset")
    if args.users is not None and args.users < 1:
        parser.error("--users must be at least 1")
    if args.history_months < 1:
        parser.error("--history-months must be at least 1")
    if args.backfill_only and args.history_months != HISTORY_MONTHS:
        parser.error(
            f"--backfill-only records the target's {HISTORY_MONTHS} months:"
            " leave --history-months (and BENCH_HISTORY_MONTHS) unset"
        )
    try:
        if args.btyd_only:
            return record_btyd_alone(
                args.size if args.users is None else f"users-{args.users}",
                args.memory_limit,
                args.root.resolve(),
                args.output,
            )
        return run_benchmark(
            args.size,
            args.users,
            args.memory_limit,
            args.root.resolve(),
            args.output,
            args.history_months,
            args.backfill_only,
            args.skip_backfill,
        )
    except BenchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
