"""The command line behind make run: argument checks and dbt invocations."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentation import cli


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
    with pytest.raises(cli.UsageError, match="has no orders file"):
        cli.check_data_dir(str(tmp_path))
    (tmp_path / "orders.parquet").write_bytes(b"")
    assert cli.check_data_dir(str(tmp_path)) == str(tmp_path.resolve())


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
