"""Command line behind ``make run``: check the inputs, build, summarise.

``python -m segmentation run [--data FOLDER] [--as-of-date YYYY-MM-DD]
[--full-refresh] [--vars YAML] [--history-from YYYY-MM-DD|auto]
[--history-every month|week]``

1. checks the arguments and fails at once with a plain message when the
   date is malformed or the data folder cannot be read as it is: the
   intake planner (segmentation.intake, which the dbt hook
   ``register_raw_files`` calls too) finds each raw table's files, detects
   how they are written and names each problem with its fix; what it
   assumed is printed per table (the raw-data contract is read from the
   ``app`` source YAML, its one source of truth);
2. loads the demo seeds (only without ``--data``) and runs ``dbt build``
   (with ``--full-refresh``, incremental models are rebuilt from all the
   data instead of adding only what is new);
   with ``--history-from``, the segment history is backfilled first
   (segmentation.history): staging and the as-of date are built and
   tested, then the history's models for every earlier as-of date on the
   staged data, then the build as usual adds the last one; every dbt
   command runs in this process, on one parse of the project
   (segmentation.dbt_runner);
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
import sys
from pathlib import Path
from typing import Any

import yaml

from segmentation import history, intake, publish, summary
from segmentation.dbt_runner import Dbt
from segmentation.project import project_dir, project_vars, resolve

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
    ``file_extensions``) and the raw tables, in YAML order, each with
    whether it is required (meta ``required``) and its columns, each with
    whether it is required and its kind (``data_type``)."""
    path = (folder or project_dir()) / RAW_SOURCES_YAML
    sources = yaml.safe_load(path.read_text())["sources"]
    source = next(source for source in sources if source["name"] == RAW_SOURCE)
    return {
        "file_extensions": list(_meta(source)["file_extensions"]),
        "tables": [
            {
                "name": table["name"],
                "required": bool(_meta(table).get("required")),
                "columns": [
                    {
                        "name": column["name"],
                        "required": bool(_meta(column).get("required")),
                        "data_type": column.get("data_type", "varchar"),
                    }
                    for column in table.get("columns", [])
                ],
            }
            for table in source["tables"]
        ],
    }


def parse_vars(value: str | None) -> dict[str, Any]:
    """The dbt vars given on the command line (``VARS='{decimal_separator:
    ","}'``), a YAML or JSON mapping, or raise UsageError."""
    if value is None or value.strip() == "":
        return {}
    try:
        variables = yaml.safe_load(value)
    except yaml.YAMLError:
        variables = None
    if not isinstance(variables, dict):
        raise UsageError(
            "VARS must be a mapping of dbt vars written in YAML or JSON, e.g."
            f" VARS='{{decimal_separator: \",\"}}', got {value!r}."
        )
    return variables


def read_settings(variables: dict[str, Any], folder: Path | None = None) -> dict:
    """The reading settings of the intake planner: the contract's file
    extensions and the vars that override what it detects (the project's
    vars, overridden by those given on the command line), as the loader
    hook passes them (macro raw_read_settings)."""
    values = {**project_vars(), **variables}
    settings = {name: values.get(name) for name in intake.SETTING_VARS}
    settings["file_extensions"] = raw_data_contract(folder)["file_extensions"]
    return settings


def check_data_dir(
    value: str | None,
    variables: dict[str, Any] | None = None,
    database: Path | None = None,
) -> str | None:
    """Return the absolute data folder after planning how its files are
    read (segmentation.intake, as the loader hook does in dbt), printing
    what the plan assumed per table; raise UsageError with the planner's
    message when a file cannot be read as it is."""
    if value is None or value.strip() == "":
        return None
    folder = Path(value.strip()).expanduser().resolve()
    if not folder.is_dir():
        raise UsageError(f"DATA folder {folder} does not exist.")
    contract = raw_data_contract()
    try:
        plan = intake.plan_raw_files(
            str(folder),
            contract["tables"],
            read_settings(variables or {}),
            str(intake.copy_dir_for(str(database) if database else None)),
        )
    except intake.IntakeError as error:
        raise UsageError(str(error)) from None
    print(f"Reading DATA folder {folder}:")
    for table in contract["tables"]:
        print(f"  {plan['tables'][table['name']]['description']}")
    for note in plan["notes"]:
        print(f"  note: {note}")
    print(flush=True)
    return str(folder)


def dbt_vars(
    data_dir: str | None,
    as_of_date: str | None,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The dbt vars for a run: only those the user set (DATA and
    AS_OF_DATE win over the same names in VARS)."""
    chosen = {"data_dir": data_dir, "as_of_date": as_of_date}
    return {
        **(variables or {}),
        **{name: value for name, value in chosen.items() if value is not None},
    }


def dbt_commands(
    data_dir: str | None, variables: dict[str, Any], full_refresh: bool = False
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


# How DuckDB words the error a model raises on purpose (macro
# raise_data_error: a data gate) in dbt's run results.
DATA_ERROR_PREFIX = "Invalid Input Error: "


def stop_messages(env: dict[str, str]) -> list[str]:
    """The messages of the data gates that stopped the last dbt command
    (from dbt's run_results.json), without dbt's and DuckDB's framing."""
    target = _project_path(env, "DBT_TARGET_PATH", "target")
    try:
        results = json.loads((target / "run_results.json").read_text())["results"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    messages = []
    for result in results:
        message = result.get("message") or ""
        if result.get("status") == "error" and DATA_ERROR_PREFIX in message:
            text = message.split(DATA_ERROR_PREFIX, 1)[1].strip()
            if text not in messages:
                messages.append(text)
    return messages


def run_dbt(dbt: Dbt, arguments: list[str], env: dict[str, str]) -> int:
    """Run ``dbt ARGUMENTS`` (printed, with its output) in this process
    (segmentation.dbt_runner); when it fails, say why; return its exit
    code."""
    code, _ = dbt.invoke(arguments)
    if code != 0:
        _report_stop(dbt.last_command, code, env)
    return code


def _report_stop(arguments: list[str], code: int, env: dict[str, str]) -> None:
    # dbt parse runs no data gate and writes no run results.
    messages = stop_messages(env) if arguments[0] != "parse" else []
    if messages:
        print("\nThe build stopped:", file=sys.stderr)
        for message in messages:
            print(f"  {message}", file=sys.stderr)
    else:
        print(
            f"\nThe build stopped: `dbt {arguments[0]}` failed (exit"
            f" {code}). The error above says which model or test and why.",
            file=sys.stderr,
        )


def parse_history_from(value: str | None) -> str | None:
    """HISTORY_FROM as YYYY-MM-DD or ``auto``; None (or ``none``) = no
    backfill; else raise UsageError."""
    if value is None or value.strip().lower() in ("", "none"):
        return None
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise UsageError(
            "HISTORY_FROM must be a date written YYYY-MM-DD (or auto: a year"
            f" before the as-of date), got {value!r}."
        ) from None


def backfill_history(
    dbt: Dbt,
    data_dir: str | None,
    variables: dict[str, Any],
    history_from: str,
    every: str,
    env: dict[str, str],
) -> int:
    """Backfill the segment history before the build (``--history-from``):
    build and test staging and the as-of date, list the earlier as-of
    dates, then build the history's models for each (segmentation.history)
    on the staged data. Return an exit code."""
    var_args = ["--vars", json.dumps(variables)] if variables else []
    # The lookups, staging and the as-of date, with the tests on them alone
    # (the data gates); the build after the backfill runs the others.
    selection = [
        "--select",
        "resource_type:seed,path:seeds/lookups",
        "+path:models/staging,resource_type:model",
        "+int_as_of_date",
        "--exclude",
        "path:seeds/demo",
    ]
    arguments = [
        "build",
        *selection,
        "--indirect-selection",
        "cautious",
        "--exclude-resource-type",
        "unit_test",
        *var_args,
    ]
    code = run_dbt(dbt, arguments, env)
    if code != 0:
        return code
    as_of, first_order_date, first_event_date = history.read_calendar(
        database_path(env)
    )
    try:
        dates, notes = history.backfill_dates(
            history_from, every, as_of, first_order_date
        )
    except history.HistoryError as error:
        raise UsageError(str(error)) from None
    window = {**project_vars(), **variables}["activity_window_long_days"]
    coverage = history.behaviour_coverage_note(dates, first_event_date, int(window))
    if coverage:
        notes.append(coverage)
    print(
        f"\nBackfilling the segment history: {len(dates)} {every}ly as-of date(s)"
        f" before {as_of}"
        + (f", {dates[0]} to {dates[-1]}" if dates else "")
        + " (the build then adds "
        f"{as_of}).",
        flush=True,
    )
    for note in notes:
        print(f"  note: {note}", flush=True)
    if not dates:
        return 0
    code = history.backfill(dbt, [day.isoformat() for day in dates], variables)
    if code != 0:
        print(
            "\nThe build stopped: the history backfill failed (the error above"
            " says on which date and why).",
            file=sys.stderr,
        )
    print(flush=True)
    return code


def export_contacts_enabled(given: dict[str, Any]) -> bool:
    """Var campaign_export_contacts (dbt_project.yml, overridden by VARS):
    whether publish also writes the campaigns' contact fields."""
    value = {**project_vars(), **given}.get("campaign_export_contacts", False)
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


def run(
    data: str | None,
    as_of_date: str | None,
    full_refresh: bool = False,
    extra_vars: str | None = None,
    history_from: str | None = None,
    history_every: str = "month",
) -> int:
    """Build the warehouse and print its summary; return the exit code."""
    given = parse_vars(extra_vars)
    as_of = parse_as_of_date(as_of_date)
    backfill_from = parse_history_from(history_from)
    every = (history_every or "month").strip().lower()
    if every not in history.STEPS:
        raise UsageError(f"HISTORY_EVERY must be month or week, got {history_every!r}.")
    env = prepare_environment()
    data_dir = check_data_dir(data, given, database_path(env))
    variables = dbt_vars(data_dir, as_of, given)
    commands = dbt_commands(data_dir, variables, full_refresh)
    # Every dbt command of the build in this process (segmentation.dbt_runner),
    # on one parse of the project when there are several.
    with Dbt(env, variables) as dbt:
        if len(commands) > 1 or backfill_from:
            code = dbt.parse()
            if code != 0:
                _report_stop(dbt.last_command, code, env)
                return code
        for number, arguments in enumerate(commands):
            if backfill_from and number == len(commands) - 1:
                code = backfill_history(
                    dbt, data_dir, variables, backfill_from, every, env
                )
                if code != 0:
                    return code
            code = run_dbt(dbt, arguments, env)
            if code != 0:
                return code
    release = publish.publish(
        database_path(env),
        publish_path(env),
        export_contacts=export_contacts_enabled(given),
    )
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
        "--vars",
        help="more dbt vars, a YAML or JSON mapping (e.g. '{csv_delimiter: \";\"}')",
    )
    run_parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild incremental models from all the data (dbt --full-refresh)",
    )
    run_parser.add_argument(
        "--history-from",
        help="backfill the segment history from this date (YYYY-MM-DD, or auto:"
        " a year before the as-of date; none: no backfill)",
    )
    run_parser.add_argument(
        "--history-every",
        default="month",
        help="the step between backfilled as-of dates: month (default) or week",
    )
    commands.add_parser(
        "clear-history",
        help="drop the segment history (the next build starts a new one)",
    )
    summary_parser = commands.add_parser("summary", help="print the summary")
    summary_parser.add_argument("--data", help="folder the build read")
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return run(
                args.data,
                args.as_of_date,
                args.full_refresh,
                args.vars,
                args.history_from,
                args.history_every,
            )
        env = prepare_environment()
        if args.command == "clear-history":
            dropped = history.clear(database_path(env))
            print(
                f"Cleared the segment history ({', '.join(dropped)}); the next"
                " build starts a new one."
                if dropped
                else f"No segment history in {database_path(env)}: nothing to clear."
            )
            return 0
        print(summary.render(database_path(env), args.data))
        return 0
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (summary.SummaryError, publish.PublishError, history.HistoryError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
