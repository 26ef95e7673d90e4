"""The command line behind make run: argument checks and dbt invocations."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from segmentation import cli

PROJECT_DIR = Path(__file__).resolve().parents[1]


def test_as_of_date_is_normalised_or_refused() -> None:
    assert cli.parse_as_of_date(None) is None
    assert cli.parse_as_of_date(" ") is None
    assert cli.parse_as_of_date("2026-01-31") == "2026-01-31"
    for bad in ("2026-02-30", "31/01/2026", "yesterday"):
        with pytest.raises(cli.UsageError, match="YYYY-MM-DD"):
            cli.parse_as_of_date(bad)


def test_data_dir_needs_an_orders_file(tmp_path: Path) -> None:
    assert cli.check_data_dir(None) is None
    with pytest.raises(cli.UsageError, match="does not exist"):
        cli.check_data_dir(str(tmp_path / "missing"))
    with pytest.raises(cli.UsageError, match="has no orders file") as refused:
        cli.check_data_dir(str(tmp_path))
    assert str(refused.value) == (
        f"DATA folder {tmp_path.resolve()} has no orders file: expected"
        " orders.csv or orders.parquet, or a folder orders/ of such files (the"
        " orders table is required; users and events are optional)."
    )
    (tmp_path / "orders.parquet").write_bytes(b"")
    assert cli.check_data_dir(str(tmp_path)) == str(tmp_path.resolve())


def test_the_raw_data_contract_is_read_from_the_sources_yaml() -> None:
    assert cli.raw_data_contract(PROJECT_DIR) == {
        "file_extensions": ["parquet", "csv", "csv.gz"],
        "tables": [
            {"name": "orders", "required": True},
            {"name": "users", "required": False},
            {"name": "events", "required": False},
        ],
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
    data = tmp_path / "data"
    (data / "orders").mkdir(parents=True)
    (data / "orders" / "part-0.parquet").write_bytes(b"")
    monkeypatch.setenv("SEGMENTS_PROJECT_DIR", str(project))
    assert cli.check_data_dir(str(data)) == str(data.resolve())

    document = yaml.safe_load(sources_yaml.read_text())
    (app,) = (source for source in document["sources"] if source["name"] == "app")
    app["config"]["meta"]["file_extensions"] = ["csv"]
    sources_yaml.write_text(yaml.safe_dump(document))
    with pytest.raises(cli.UsageError, match="has no orders file"):
        cli.check_data_dir(str(data))

    (data / "orders.csv").write_text("order_id\n")
    users = next(table for table in app["tables"] if table["name"] == "users")
    users["config"]["meta"]["required"] = True
    sources_yaml.write_text(yaml.safe_dump(document))
    with pytest.raises(cli.UsageError) as refused:
        cli.check_data_dir(str(data))
    assert str(refused.value).startswith(f"DATA folder {data.resolve()} has no users")
    assert str(refused.value).endswith(
        "(the users table is required; events is optional)."
    )


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
