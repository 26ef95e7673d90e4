"""The command line behind make run: argument checks and dbt invocations."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import Build

from segmentation import cli

PROJECT_DIR = Path(__file__).resolve().parents[1]


def test_as_of_date_is_normalised_or_refused() -> None:
    assert cli.parse_as_of_date(None) is None
    assert cli.parse_as_of_date(" ") is None
    assert cli.parse_as_of_date("2026-01-31") == "2026-01-31"
    for bad in ("2026-02-30", "31/01/2026", "yesterday"):
        with pytest.raises(cli.UsageError, match="YYYY-MM-DD"):
            cli.parse_as_of_date(bad)


def _orders_csv(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orders.csv").write_text(
        "order_id,user_id,ordered_at,amount\nA1,u1,2025-01-05,10\n"
    )


def test_data_dir_needs_an_orders_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.check_data_dir(None) is None
    with pytest.raises(cli.UsageError, match="does not exist"):
        cli.check_data_dir(str(tmp_path / "missing"))
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(cli.UsageError, match="has no orders file") as refused:
        cli.check_data_dir(str(data), database=tmp_path / "w.duckdb")
    assert str(refused.value).startswith(
        f"DATA folder {data.resolve()} has no orders file: expected"
        " orders.csv or orders.parquet"
    )
    assert "the orders table is required" in str(refused.value)
    _orders_csv(data)
    assert cli.check_data_dir(str(data), database=tmp_path / "w.duckdb") == str(
        data.resolve()
    )
    printed = capsys.readouterr().out
    assert f"Reading DATA folder {data.resolve()}:" in printed
    assert "orders: orders.csv (csv, UTF-8, ',')" in printed


def test_the_raw_data_contract_is_read_from_the_sources_yaml() -> None:
    contract = cli.raw_data_contract(PROJECT_DIR)
    assert contract["file_extensions"] == [
        "parquet", "csv", "tsv", "txt", "csv.gz", "tsv.gz", "txt.gz",
    ]  # fmt: skip
    assert [(t["name"], t["required"]) for t in contract["tables"]] == [
        ("orders", True),
        ("users", False),
        ("events", False),
        ("campaigns", False),
    ]
    orders = contract["tables"][0]["columns"]
    assert [(c["name"], c["required"], c["data_type"]) for c in orders] == [
        ("order_id", True, "varchar"),
        ("user_id", True, "varchar"),
        ("ordered_at", True, "timestamp"),
        ("amount", True, "decimal"),
        ("status", False, "varchar"),
        ("product_category", False, "varchar"),
    ]


def test_vars_are_a_mapping_or_refused() -> None:
    assert cli.parse_vars(None) == {}
    assert cli.parse_vars('{decimal_separator: ",", date_format: "%d.%m.%Y"}') == {
        "decimal_separator": ",",
        "date_format": "%d.%m.%Y",
    }
    for bad in ("[1, 2]", "{unclosed", "just text"):
        with pytest.raises(cli.UsageError, match="VARS must be a mapping"):
            cli.parse_vars(bad)
    # DATA and AS_OF_DATE win over the same names in VARS.
    assert cli.dbt_vars("/data", None, {"data_dir": "/other", "x": 1}) == {
        "data_dir": "/data",
        "x": 1,
    }


def test_data_dir_checks_follow_the_contract_of_the_project_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check reads the sources YAML of the project folder
    (SEGMENTS_PROJECT_DIR), not a copy of the contract in Python: make users
    required and accept only CSV, and the same folder is refused."""
    project = tmp_path / "project"
    sources_yaml = project / cli.RAW_SOURCES_YAML
    sources_yaml.parent.mkdir(parents=True)
    shutil.copy(PROJECT_DIR / cli.RAW_SOURCES_YAML, sources_yaml)
    shutil.copy(PROJECT_DIR / "dbt_project.yml", project / "dbt_project.yml")
    data = tmp_path / "data"
    (data / "orders").mkdir(parents=True)
    duckdb.sql(
        "copy (select 'A1' as order_id, 'u1' as user_id,"
        " date '2025-01-05' as ordered_at, 10.0 as amount)"
        f" to '{data / 'orders' / 'part-0.parquet'}' (format parquet)"
    )
    monkeypatch.setenv("SEGMENTS_PROJECT_DIR", str(project))
    database = tmp_path / "w.duckdb"
    assert cli.check_data_dir(str(data), database=database) == str(data.resolve())

    document = yaml.safe_load(sources_yaml.read_text())
    (app,) = (source for source in document["sources"] if source["name"] == "app")
    app["config"]["meta"]["file_extensions"] = ["csv"]
    sources_yaml.write_text(yaml.safe_dump(document))
    with pytest.raises(cli.UsageError, match=r"orders/part-0\.parquet"):
        cli.check_data_dir(str(data), database=database)

    shutil.rmtree(data / "orders")
    _orders_csv(data)
    users = next(table for table in app["tables"] if table["name"] == "users")
    users["config"]["meta"]["required"] = True
    sources_yaml.write_text(yaml.safe_dump(document))
    with pytest.raises(cli.UsageError) as refused:
        cli.check_data_dir(str(data), database=database)
    assert str(refused.value).startswith(f"DATA folder {data.resolve()} has no users")


def test_demo_runs_seed_the_raw_tables_before_building() -> None:
    commands = cli.dbt_commands(None, {})
    assert commands == [
        ["seed", "--select", "path:seeds/demo"],
        [
            "build",
            "--exclude",
            "path:seeds/demo",
            "--exclude-resource-type",
            "unit_test",
        ],
    ]


def test_data_runs_build_once_with_the_vars() -> None:
    variables = cli.dbt_vars("/data", "2026-01-01")
    assert variables == {"data_dir": "/data", "as_of_date": "2026-01-01"}
    assert cli.dbt_commands("/data", variables) == [
        [
            "build",
            "--exclude-resource-type",
            "unit_test",
            "--vars",
            '{"data_dir": "/data", "as_of_date": "2026-01-01"}',
        ]
    ]


def test_main_reports_usage_errors_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(["run", "--data", str(tmp_path)])
    assert code == 2
    assert capsys.readouterr().err.startswith("error: DATA folder")


def test_a_build_runs_its_dbt_commands_in_its_process_on_one_parse(
    demo_build: Build,
) -> None:
    """make run's dbt commands run in its own process (segmentation.dbt_runner)
    on one parse, and dbt-duckdb lets go of the warehouse after each: the
    history's calendar (read between the staging build and the backfill),
    publish and the summary open it in that process with settings of their
    own, which DuckDB refuses while dbt still holds the file."""
    output = demo_build.stdout
    commands = re.findall(r"^\$ dbt (\w+)", output, flags=re.MULTILINE)
    assert commands == ["parse", "seed", "build", "build"]
    # Only the parse parses; each command still runs the loader hook.
    assert output.count("Unable to do partial parsing") == 1
    assert output.index("Unable to do partial parsing") < output.index("$ dbt seed")
    assert output.count("OK hook: segmentation_warehouse.on-run-start") == 3
    assert "history 12/12: as of" in output
    assert f"Published for BI (read-only): {demo_build.workdir}" in output
    assert demo_build.scalar("select count(*) from marts.user_segments") > 0
