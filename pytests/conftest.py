"""Shared fixtures: real dbt builds into temporary DuckDB files.

Each build runs the same command line as ``make run`` (``python -m
segmentation run``) in a subprocess, with the warehouse, dbt's target folder
and its logs in a temporary folder, so tests never touch warehouse/.

The suite runs on two pytest-xdist workers (``-n 2 --dist loadgroup`` in
pyproject.toml). A build that several tests need (the demo, the small Parquet
folder, the orders-only folder) is made once per run by whichever worker
needs it first, in the folder both workers share, while the other waits for
it (``made_once``); tests only read it. A test that runs a second build on
top of one works on its own copy (``copy_build``). The tests of a module that
share a module-scoped fixture run on one worker (``pytest_xdist_make_scheduler``
below), so that fixture is made once too.
"""

from __future__ import annotations

import fcntl
import gc
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pytest

from segmentation.dbt_runner import GC_THRESHOLD

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEMO_DIR = PROJECT_DIR / "seeds" / "demo"
CDNOW_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "cdnow_sample.csv"
PROJECT_FILES = (
    "dbt_project.yml",
    "profiles.yml",
    "models",
    "macros",
    "seeds",
    "tests",
    "analyses",
    "snapshots",
    "segmentation",
)


def pytest_configure(config: pytest.Config) -> None:
    """The tests' own processes (the xdist workers: queries, reports, model
    fits in process) collect garbage as seldom as make run's dbt does
    (segmentation.dbt_runner.GC_THRESHOLD)."""
    gc.set_threshold(*GC_THRESHOLD)


@dataclass
class Build:
    """The outcome of one build: exit code, output and the warehouse file."""

    returncode: int
    stdout: str
    stderr: str
    database: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def query(self, sql: str, parameters: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.database), read_only=True) as connection:
            return connection.execute(sql, parameters or []).fetchall()

    def scalar(self, sql: str) -> object:
        return self.query(sql)[0][0]

    @property
    def workdir(self) -> Path:
        """The folder of the build: warehouse, target, logs, published."""
        return self.database.parent


def build_env(workdir: Path) -> dict[str, str]:
    """Environment for a build whose files all live under workdir."""
    env = dict(os.environ)
    env.update(
        {
            "SEGMENTS_DB_PATH": str(workdir / "warehouse.duckdb"),
            "SEGMENTS_TEMP_DIR": str(workdir / "tmp"),
            "DBT_TARGET_PATH": str(workdir / "target"),
            "DBT_LOG_PATH": str(workdir / "logs"),
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
    )
    return env


def _run(workdir: Path, command: list[str], project_dir: Path) -> Build:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "tmp").mkdir(exist_ok=True)
    env = build_env(workdir)
    # The project the build is given, even when the calling shell set
    # another one (a copied project with a fault must be the one built).
    env["SEGMENTS_PROJECT_DIR"] = str(project_dir)
    completed = subprocess.run(
        command,
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return Build(
        completed.returncode,
        completed.stdout,
        completed.stderr,
        workdir / "warehouse.duckdb",
    )


def run_build(workdir: Path, *args: str, project_dir: Path = PROJECT_DIR) -> Build:
    """Run ``python -m segmentation run ARGS`` (what make run does)."""
    command = [sys.executable, "-m", "segmentation", "run", *args]
    return _run(workdir, command, project_dir)


# dbt's own command line (what its console script runs, dbt.cli.main:cli),
# with the garbage collector thresholds of make run's builds
# (segmentation.dbt_runner.GC_THRESHOLD): the same dbt at about 9% less CPU.
_DBT_SCRIPT = """
import gc, sys
from segmentation.dbt_runner import GC_THRESHOLD
gc.set_threshold(*GC_THRESHOLD)
from dbt.cli.main import cli
sys.argv[0] = "dbt"
sys.exit(cli())
"""


def run_dbt(workdir: Path, *args: str, project_dir: Path = PROJECT_DIR) -> Build:
    """Run dbt itself (not the wrapper) with the test's files."""
    return _run(workdir, [sys.executable, "-c", _DBT_SCRIPT, *args], project_dir)


def build_selection(
    workdir: Path,
    data: Path,
    *selectors: str,
    project_dir: Path = PROJECT_DIR,
    as_of_date: str | None = None,
    exclude: tuple[str, ...] = (),
) -> Build:
    """``dbt build --select SELECTORS`` on the raw files of a data folder
    (var data_dir, as make run's DATA; var as_of_date as its AS_OF_DATE),
    with only the data tests whose parents are all selected: for a test about
    one check, e.g. ``+rows_conserved_stg_app__orders*`` (the test and what
    it reads), at a fraction of the whole build's cost. dbt's own output,
    not make run's. exclude: nodes left out (e.g. another check that would
    catch the same fault first and skip the one the test is about)."""
    variables = {"data_dir": str(data)}
    if as_of_date is not None:
        variables["as_of_date"] = as_of_date
    return run_dbt(
        workdir,
        "build",
        "--select",
        *selectors,
        "--indirect-selection",
        "cautious",
        *(("--exclude", *exclude) if exclude else ()),
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        json.dumps(variables),
        project_dir=project_dir,
    )


def run_python(workdir: Path, *args: str, project_dir: Path = PROJECT_DIR) -> Build:
    """Run ``python ARGS`` (e.g. ``-m segmentation clear-history``) with the
    test's files."""
    return _run(workdir, [sys.executable, *args], project_dir)


def copy_project(destination: Path) -> Path:
    """A private copy of the dbt project, for tests that alter a model."""
    destination.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_FILES:
        source = PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(
                source,
                destination / name,
                ignore=shutil.ignore_patterns("__pycache__"),
            )
        else:
            shutil.copy2(source, destination / name)
    return destination


def write_cdnow_orders(folder: Path) -> Path:
    """The CDNOW sample (fixtures/README.md) as an orders.csv of the raw-data
    contract in folder: one completed order per transaction line (several
    lines of a customer on one day stay separate orders)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = CDNOW_FIXTURE.read_text().splitlines()[1:]
    rows = ["order_id,user_id,ordered_at,amount,status"]
    for number, line in enumerate(lines, start=1):
        customer, day, _cds, dollars = line.split(",")
        rows.append(f"cdnow-{number},{customer},{day},{dollars},completed")
    (folder / "orders.csv").write_text("\n".join(rows) + "\n")
    return folder


# --- builds shared by the tests and the xdist workers of a run -------------


def shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every worker of this run shares: under pytest-xdist the
    parent of the worker's base temporary folder (the pattern of the
    pytest-xdist docs), else the base temporary folder itself."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / "shared"
    folder.mkdir(exist_ok=True)
    return folder


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def made_once(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    make: Callable[[Path], object],
) -> Path:
    """The shared folder `name`, filled by ``make(folder)`` by the first
    worker that asks for it; the others wait on its lock, then reuse it. A
    folder left half-made (its maker died) is made again."""
    root = shared_folder(tmp_path_factory)
    folder = root / name
    done = root / f"{name}.done"
    with _locked(root / f"{name}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


def shared_build(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    *args: str,
    runner: Callable[..., Build] = run_build,
) -> Build:
    """``run_build(ARGS)`` (or ``runner(ARGS)``, e.g. ``run_dbt``) made once
    per run (``made_once``) and only read by the tests: a test that builds
    again on top of it uses ``copy_build``."""

    def make(workdir: Path) -> None:
        build = runner(workdir, *args)
        record = asdict(build)
        record["database"] = build.database.name
        (workdir / "build.json").write_text(json.dumps(record))

    workdir = made_once(tmp_path_factory, name, make)
    record = json.loads((workdir / "build.json").read_text())
    record["database"] = workdir / record["database"]
    build = Build(**record)
    assert build.returncode == 0, build.output[-5000:]
    return build


def copy_build(build: Build, workdir: Path) -> Path:
    """A private copy of a build (warehouse, dbt target folder, published
    releases) in workdir, for a test that runs dbt or another build on top
    of a shared one; returns workdir."""
    workdir.mkdir(parents=True)
    shutil.copy2(build.database, workdir / "warehouse.duckdb")
    for name in ("target", "published"):
        if (build.workdir / name).exists():
            shutil.copytree(build.workdir / name, workdir / name, symlinks=True)
    return workdir


def _has_module_fixture(module: Path) -> bool:
    source = module.read_text(encoding="utf-8") if module.is_file() else ""
    return re.search(r"@pytest\.fixture\(\s*scope=[\"']module[\"']", source) is not None


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """``--dist loadgroup``, where the group of a test is its module when the
    module has a module-scoped fixture (a build, a bench run), so that the
    fixture is made once, and the test itself otherwise.

    pytest-xdist 3.8.0 groups by ``xdist_group`` marks by renaming the tests,
    which pytest 9.2 no longer lets it do, so its own loadgroup spreads
    every test; this scheduler groups from the node ids alone."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class ModuleFixtureScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if _has_module_fixture(config.rootpath / module):
                return module
            return super()._split_scope(nodeid)

    return ModuleFixtureScheduling(config, log)


# A single test that calls one of these runs a build (or another
# subprocess) of its own: tens of seconds, where most others take less than
# one. So does, probably, one with its own temporary folder in a module that
# calls them (through a helper), and the first test to ask for a shared
# build that no worker makes first (FIRST_BUILDS).
_BUILDING_CALLS = re.compile(
    r"\b(?:run_build|run_dbt|run_python|build_selection|subprocess\.\w+)\("
)


def _runs_a_build(item: pytest.Item) -> bool:
    function = getattr(item, "function", None)
    try:
        source = inspect.getsource(function) if function else ""
    except (OSError, TypeError):
        source = ""
    if _BUILDING_CALLS.search(source):
        return True
    names = set(getattr(item, "fixturenames", ()))
    if "tmp_path" in names and _BUILDING_CALLS.search(item.path.read_text()):
        return True
    first = set(FIRST_BUILDS.values())
    return any(
        name.endswith("_build") and not name.startswith("_") and name not in first
        for name in names
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """The modules that run as one unit on one worker (a module-scoped
    fixture: a build, a bench run) first, then the single tests that run a
    build of their own, then the other single tests: the longest
    indivisible units start early and the short ones even out the two
    workers' ends. Under xdist, units are handed out in this order, the
    modules by their number of tests (pytest-xdist's loadscope reorder;
    it keeps this order among the single tests)."""
    grouped = {
        path: _has_module_fixture(path) for path in {item.path for item in items}
    }
    items.sort(
        key=lambda item: 0 if grouped[item.path] else 1 if _runs_a_build(item) else 2
    )


# The shared build each xdist worker makes first, so that neither waits for
# the other's at the start of the run.
FIRST_BUILDS = {"gw0": "demo_build", "gw1": "small_parquet_build"}


@pytest.fixture(scope="session", autouse=True)
def _first_build(request: pytest.FixtureRequest) -> None:
    name = FIRST_BUILDS.get(os.environ.get("PYTEST_XDIST_WORKER", ""))
    if name and any(name in item.fixturenames for item in request.session.items):
        # A failed build is reported by the tests that use it, not by all.
        with suppress(Exception):
            request.getfixturevalue(name)


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The demo data built once per test run, exactly as make run does: with
    a year of monthly segment history (HISTORY_FROM=auto)."""
    return shared_build(tmp_path_factory, "demo", "--history-from", "auto")


def _write_small_parquet(folder: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.demo_data",
            "--format",
            "parquet",
            "--users",
            "1500",
            "--out",
            str(folder),
        ],
        cwd=PROJECT_DIR,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def small_parquet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """orders/users/events Parquet files of 1,500 users from the generator."""
    return made_once(tmp_path_factory, "parquet_data", _write_small_parquet)


@pytest.fixture(scope="session")
def small_parquet_build(
    tmp_path_factory: pytest.TempPathFactory, small_parquet_dir: Path
) -> Build:
    """``make run DATA=small_parquet_dir``, built once per test run."""
    return shared_build(tmp_path_factory, "parquet", "--data", str(small_parquet_dir))


# The as-of date of the early replay of the small Parquet data, and the first
# date of the history backfilled by the later replay (test_segment_marts).
EARLY_AS_OF = "2026-03-15"


@pytest.fixture(scope="session")
def small_parquet_early_build(
    tmp_path_factory: pytest.TempPathFactory, small_parquet_dir: Path
) -> Build:
    """``make run DATA=small_parquet_dir AS_OF_DATE=EARLY_AS_OF``: a fresh
    build of an earlier day, built once per test run."""
    return shared_build(
        tmp_path_factory,
        "parquet_early",
        "--data",
        str(small_parquet_dir),
        "--as-of-date",
        EARLY_AS_OF,
    )


@pytest.fixture(scope="session")
def orders_only_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """A build on a folder holding only the demo orders.csv."""
    data = made_once(
        tmp_path_factory,
        "orders_only_data",
        lambda folder: shutil.copy(DEMO_DIR / "orders.csv", folder / "orders.csv"),
    )
    return shared_build(tmp_path_factory, "orders_only", "--data", str(data))


# --- the feature history of a build (issue 16: propensity) ------------------

# The models of the feature history (what the propensity windows train and
# evaluate on) per as-of date: those that depend on the as-of date and lead
# to it, a fraction of make run's backfill (no clustering, no segments).
FEATURE_HISTORY_SELECTOR = "int_as_of_date+,+int_user_features_accumulated"
# In one dbt process (one parse, with the vars of the final build): stage
# a data folder (lookups, staging and the as-of date, without tests: the
# final build runs them), build the feature history of each as-of date
# with the history's vars, then run the final dbt command. argv: the
# history's vars (JSON), the dates (comma-separated), the selector, then
# the final command's arguments (with its --vars).
_BACKFILL_SCRIPT = """
import json, os, sys
from segmentation.dbt_runner import Dbt
history_vars, dates, selector = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
final = sys.argv[4:]
variables = json.loads(final[final.index("--vars") + 1])
staging = ["build", "--select", "resource_type:seed,path:seeds/lookups",
    "+path:models/staging,resource_type:model", "+int_as_of_date",
    "--exclude", "path:seeds/demo", "--resource-type", "model",
    "--resource-type", "seed", "--vars", json.dumps(variables)]
with Dbt(dict(os.environ), variables) as dbt:
    code = dbt.parse() or dbt.invoke(staging)[0]
    for day in dates.split(","):
        code = code or dbt.invoke(["run", "--no-write-json", "--select", selector,
            "--vars", json.dumps({**history_vars, "as_of_date": day})])[0]
    code = code or dbt.invoke(final)[0]
sys.exit(code)
"""


def backfill_then(variables: dict, dates: tuple[str, ...]) -> Callable[..., Build]:
    """A ``shared_build`` runner: the feature history
    (``int_user_features_accumulated``, FEATURE_HISTORY_SELECTOR) of each
    date in dates, built with variables (no as-of date), then ``dbt ARGS``
    (which must give ``--vars``), in one process."""

    def runner(workdir: Path, *args: str) -> Build:
        return run_python(
            workdir,
            "-c",
            _BACKFILL_SCRIPT,
            json.dumps(variables),
            ",".join(dates),
            FEATURE_HISTORY_SELECTOR,
            *args,
        )

    return runner


# The CDNOW feature snapshots of the propensity windows: quarterly, so that
# 1997-10-01 (the day after the calibration) is the evaluation snapshot of
# the calibration-holdout window and 1997-07-01 its training snapshot
# (90-day horizon), and 1998-04-01 / 1998-01-01 those of the 90-day
# out-of-time windows at 1998-07-01.
CDNOW_FEATURE_SNAPSHOTS = ("1997-07-01", "1997-10-01", "1998-01-01", "1998-04-01")
CDNOW_PROPENSITY_VARS = {
    "propensity_horizons_days": [90],
    "propensity_purchase_horizon_days": 90,
    "propensity_churn_horizon_days": 90,
}


@pytest.fixture(scope="session")
def cdnow_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The CDNOW sample built once per test session (about 40 s).

    As in Fader, Hardie & Lee (2005): as_of_date 1998-07-01 (every purchase
    of the sample, to 1998-06-30), calibration to 1997-09-30 and a 39-week
    holdout, time in weeks (the project's default). Only the models the
    BTYD tests read: the summaries (``int_users_btyd_summarized``,
    ``int_users_btyd_holdout_summarized``), the fits and predictions
    (``clv_model_fits``, ``clv_holdout_comparison``, and issue 19's
    ``clv_model_comparison`` and ``user_clv``) and value tiers cut on
    predicted CLV (``int_users_valued``, var ``value_tier_metric``).

    And the propensity marts (issue 16, ``test_propensity_validation``):
    first the feature history of CDNOW_FEATURE_SNAPSHOTS, plain builds
    (without the calibration), then the marts at 1998-07-01 with one
    90-day horizon, whose calibration-holdout window is the papers' (labels
    from 1997-10-01 to 1998-06-30).

    And the next-best category models (issue 17, ``test_recommend``): the
    sample has no product_category column, so nothing to recommend.
    """
    data = made_once(tmp_path_factory, "cdnow_data", write_cdnow_orders)
    plain = {"data_dir": str(data), **CDNOW_PROPENSITY_VARS}
    variables = {
        "data_dir": str(data),
        "as_of_date": "1998-07-01",
        "clv_calibration_end_date": "1997-09-30",
        "value_tier_metric": "predicted_clv",
        **CDNOW_PROPENSITY_VARS,
    }
    return shared_build(
        tmp_path_factory,
        "cdnow",
        "build",
        "--select",
        "+clv_holdout_comparison",
        "+clv_model_fits",
        "+clv_model_comparison",
        "+user_clv",
        "+int_users_valued",
        "+propensity_evaluation",
        "+propensity_deciles",
        "+propensity_calibration",
        "+propensity_feature_importance",
        "+int_users_propensity_tiered",
        "+user_next_best_categories",
        "+next_best_category_evaluation",
        "+int_users_categories_picked",
        "--indirect-selection",
        "cautious",
        "--vars",
        json.dumps(variables),
        runner=backfill_then(plain, CDNOW_FEATURE_SNAPSHOTS),
    )
