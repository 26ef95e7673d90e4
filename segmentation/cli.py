"""Command line behind ``make run``: check the inputs, build, summarise.

``python -m segmentation run [--data FOLDER] [--as-of-date YYYY-MM-DD]
[--full-refresh]``

1. checks the arguments and fails at once with a plain message when the
   date is malformed or the data folder lacks a required table's file (the
   raw-data contract is read from the ``app`` source YAML, its one source
   of truth, which the dbt hook ``register_raw_files`` reads too);
2. loads the demo seeds (only without ``--data``) and runs ``dbt build``
   (with ``--full-refresh``, incremental models are rebuilt from all the
   data instead of adding only what is new);
3. publishes the BI-facing marts as a new read-only release
   (segmentation.publish), so BI readers never block or see a build;
4. prints a summary of the warehouse: rows per layer, rejected rows per
   reason and segment sizes.

Every problem ends in a message and a non-zero exit code, never a Python
traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from segmentation import publish, summary
from segmentation.project import project_dir, resolve

DEFAULT_DB_PATH = "warehouse/segments.duckdb"
DEFAULT_TEMP_DIR = "warehouse/tmp"
DEFAULT_PUBLISH_DIR = "warehouse/published"
# The raw-data contract: source `app` of this YAML, in the project folder.
RAW_SOURCES_YAML = Path("models/staging/app/_app__sources.yml")
RAW_SOURCE = "app"


class UsageError(Exception):
    """A problem with the user's input, reported as a one-line message."""


def parse_as_of_date(value: str | None) -> str | None:
    """Return the date as YYYY-MM-DD, or raise UsageError."""
    if value is None or value.strip() == "":
        return None
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise UsageError(
            f"AS_OF_DATE must be a date written YYYY-MM-DD, got {value!r}."
        ) from None


def _meta(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry's meta, under config (dbt 1.10+) or, as dbt still accepts,
    at the top level."""
    return {
        **(entry.get("meta") or {}),
        **((entry.get("config") or {}).get("meta") or {}),
    }


def raw_data_contract(folder: Path | None = None) -> dict[str, Any]:
    """The raw-data contract as the ``app`` source YAML of the project
    folder defines it: the accepted file extensions (source meta
    ``file_extensions``, in the order they are looked for) and the raw
    tables, in YAML order, each with whether it is required (meta
    ``required``)."""
    path = (folder or project_dir()) / RAW_SOURCES_YAML
    sources = yaml.safe_load(path.read_text())["sources"]
    source = next(source for source in sources if source["name"] == RAW_SOURCE)
    return {
        "file_extensions": list(_meta(source)["file_extensions"]),
        "tables": [
            {"name": table["name"], "required": bool(_meta(table).get("required"))}
            for table in source["tables"]
        ],
    }


def _listed(names: list[str]) -> str:
    """a; a and b; a, b and c."""
    return " and ".join(filter(None, [", ".join(names[:-1]), *names[-1:]]))


def check_data_dir(value: str | None) -> str | None:
    """Return the absolute data folder, or raise UsageError when it lacks
    the file of a table the raw-data contract requires."""
    if value is None or value.strip() == "":
        return None
    folder = Path(value.strip()).expanduser().resolve()
    if not folder.is_dir():
        raise UsageError(f"DATA folder {folder} does not exist.")
    contract = raw_data_contract()
    extensions = contract["file_extensions"]
    tables = contract["tables"]
    optional = [table["name"] for table in tables if not table["required"]]
    optional_note = (
        f"; {_listed(optional)} {'are' if len(optional) > 1 else 'is'} optional"
        if optional
        else ""
    )
    for name in (table["name"] for table in tables if table["required"]):
        subfolder = folder / name
        files = [folder / f"{name}.{ext}" for ext in extensions]
        if subfolder.is_dir():
            files += [path for ext in extensions for path in subfolder.glob(f"*.{ext}")]
        if not any(path.is_file() for path in files):
            raise UsageError(
                f"DATA folder {folder} has no {name} file: expected {name}.csv or "
                f"{name}.parquet, or a folder {name}/ of such files (the {name} "
                f"table is required{optional_note})."
            )
    return str(folder)


def dbt_vars(data_dir: str | None, as_of_date: str | None) -> dict[str, str]:
    """The dbt vars for a run: only those the user set."""
    chosen = {"data_dir": data_dir, "as_of_date": as_of_date}
    return {name: value for name, value in chosen.items() if value is not None}


def dbt_commands(
    data_dir: str | None, variables: dict[str, str], full_refresh: bool = False
) -> list[list[str]]:
    """The dbt invocations of one build, in order."""
    var_args = ["--vars", json.dumps(variables)] if variables else []
    refresh_args = ["--full-refresh"] if full_refresh else []
    # Unit tests check the models' logic on fixed rows with the default vars:
    # they belong to CI (make test runs them), not to a build on the user's
    # data and settings, where a changed threshold would fail them.
    build_args = ["--exclude-resource-type", "unit_test", *var_args, *refresh_args]
    if data_dir is None:
        return [
            ["seed", "--select", "path:seeds/demo", *var_args, *refresh_args],
            ["build", "--exclude", "path:seeds/demo", *build_args],
        ]
    return [["build", *build_args]]


def prepare_environment() -> dict[str, str]:
    """Environment for dbt: no tracking, and the warehouse folders exist."""
    env = dict(os.environ)
    env.setdefault("DO_NOT_TRACK", "1")
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    for variable, default in (
        ("SEGMENTS_DB_PATH", DEFAULT_DB_PATH),
        ("SEGMENTS_TEMP_DIR", DEFAULT_TEMP_DIR),
    ):
        path = resolve(env.get(variable, default), env)
        target = path if variable == "SEGMENTS_TEMP_DIR" else path.parent
        target.mkdir(parents=True, exist_ok=True)
    return env


def _project_path(env: dict[str, str], variable: str, default: str) -> Path:
    return resolve(env.get(variable, default), env)


def database_path(env: dict[str, str]) -> Path:
    return _project_path(env, "SEGMENTS_DB_PATH", DEFAULT_DB_PATH)


def publish_path(env: dict[str, str]) -> Path:
    """Where BI-facing releases go: SEGMENTS_PUBLISH_DIR, or beside the
    warehouse file (warehouse/published by default)."""
    if "SEGMENTS_PUBLISH_DIR" in env:
        return _project_path(env, "SEGMENTS_PUBLISH_DIR", DEFAULT_PUBLISH_DIR)
    return database_path(env).parent / "published"


def run_dbt(arguments: list[str], env: dict[str, str]) -> int:
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt) if dbt.exists() else "dbt", *arguments]
    print(f"$ dbt {' '.join(arguments)}", flush=True)
    return subprocess.run(
        command, cwd=project_dir(env), env=env, check=False
    ).returncode


def run(data: str | None, as_of_date: str | None, full_refresh: bool = False) -> int:
    """Build the warehouse and print its summary; return the exit code."""
    data_dir = check_data_dir(data)
    as_of = parse_as_of_date(as_of_date)
    env = prepare_environment()
    variables = dbt_vars(data_dir, as_of)
    for arguments in dbt_commands(data_dir, variables, full_refresh):
        code = run_dbt(arguments, env)
        if code != 0:
            print(
                f"\nThe build stopped: `dbt {arguments[0]}` failed (exit {code})."
                " The error above says which model or test and why.",
                file=sys.stderr,
            )
            return code
    release = publish.publish(database_path(env), publish_path(env))
    print()
    print(summary.render(database_path(env), data_dir))
    print()
    print(f"Published for BI (read-only): {publish_path(env) / 'current'}")
    print(f"  this release: {release}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m segmentation",
        description="Build the segmentation warehouse and summarise it.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="build and print a summary")
    run_parser.add_argument("--data", help="folder with orders.csv|parquet, ...")
    run_parser.add_argument("--as-of-date", help="YYYY-MM-DD")
    run_parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild incremental models from all the data (dbt --full-refresh)",
    )
    summary_parser = commands.add_parser("summary", help="print the summary")
    summary_parser.add_argument("--data", help="folder the build read")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return run(args.data, args.as_of_date, args.full_refresh)
        env = prepare_environment()
        print(summary.render(database_path(env), args.data))
        return 0
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (summary.SummaryError, publish.PublishError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
