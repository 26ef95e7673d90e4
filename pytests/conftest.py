"""Shared fixtures: real dbt builds into temporary DuckDB files.

Each build runs the same command line as ``make run`` (``python -m
segmentation run``) in a subprocess, with the warehouse, dbt's target folder
and its logs in a temporary folder, so tests never touch warehouse/ and never
share state.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

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
    completed = subprocess.run(
        command,
        cwd=project_dir,
        env=build_env(workdir),
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


def run_dbt(workdir: Path, *args: str, project_dir: Path = PROJECT_DIR) -> Build:
    """Run dbt itself (not the wrapper) with the test's files."""
    dbt = Path(sys.executable).with_name("dbt")
    return _run(workdir, [str(dbt), *args], project_dir)


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


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    """The demo data built once per test session, exactly as make run does."""
    build = run_build(tmp_path_factory.mktemp("demo"))
    assert build.returncode == 0, build.output[-5000:]
    yield build


@pytest.fixture(scope="session")
def small_parquet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """orders/users/events Parquet files of 1,500 users from the generator."""
    folder = tmp_path_factory.mktemp("parquet")
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
    return folder


@pytest.fixture(scope="session")
def orders_only_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """A build on a folder holding only the demo orders.csv."""
    data = tmp_path_factory.mktemp("orders_only_data")
    shutil.copy(DEMO_DIR / "orders.csv", data / "orders.csv")
    build = run_build(tmp_path_factory.mktemp("orders_only"), "--data", str(data))
    assert build.returncode == 0, build.output[-5000:]
    return build


@pytest.fixture(scope="session")
def cdnow_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """The CDNOW sample built once per test session (about 25 s).

    As in Fader, Hardie & Lee (2005): as_of_date 1998-07-01 (every purchase
    of the sample, to 1998-06-30), calibration to 1997-09-30 and a 39-week
    holdout, time in weeks (the project's default). Only the models the
    BTYD tests read: the summaries (``int_users_btyd_summarized``,
    ``int_users_btyd_holdout_summarized``), the fits and predictions
    (``clv_model_fits``, ``clv_holdout_comparison``) and value tiers cut on
    predicted CLV (``int_users_valued``, var ``value_tier_metric``).
    """
    data = write_cdnow_orders(tmp_path_factory.mktemp("cdnow_data"))
    variables = {
        "data_dir": str(data),
        "as_of_date": "1998-07-01",
        "clv_calibration_end_date": "1997-09-30",
        "value_tier_metric": "predicted_clv",
    }
    build = run_dbt(
        tmp_path_factory.mktemp("cdnow"),
        "build",
        "--select",
        "+clv_holdout_comparison",
        "+clv_model_fits",
        "+int_users_valued",
        "--indirect-selection",
        "cautious",
        "--vars",
        json.dumps(variables),
    )
    assert build.returncode == 0, build.output[-5000:]
    return build
