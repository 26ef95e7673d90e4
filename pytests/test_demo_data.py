"""The demo-data generator: deterministic, realistic, and scalable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
from conftest import DEMO_DIR, PROJECT_DIR

from segmentation import demo_data


def test_committed_seeds_are_exactly_what_the_generator_writes(tmp_path: Path) -> None:
    demo_data.write_demo(tmp_path)
    for name in ("users.csv", "orders.csv", "events.csv", "_manifest.json"):
        assert (tmp_path / name).read_bytes() == (DEMO_DIR / name).read_bytes(), name


def test_demo_seeds_stay_small() -> None:
    total = sum(path.stat().st_size for path in DEMO_DIR.glob("*.csv"))
    assert total < 8_000_000


def test_demo_data_has_the_expected_shape() -> None:
    orders = f"'{DEMO_DIR / 'orders.csv'}'"
    users = f"'{DEMO_DIR / 'users.csv'}'"
    per_user = duckdb.sql(
        f"""
        with clean as (
            select user_id, try_cast(amount as double) as amount
            from read_csv({orders}, all_varchar = true)
            where user_id like 'U%'
        )
        select
            count(*) filter (where orders = 1) as one_time_buyers,
            count(*) filter (where orders >= 5) as repeat_buyers,
            max(spend) / median(spend) as spend_tail
        from (
            select user_id, count(*) as orders, sum(amount) as spend
            from clean group by 1
        )
        """
    ).fetchall()[0]
    one_time, repeat, tail = per_user
    assert one_time > 500
    assert repeat > 200
    assert tail > 20  # heavy-tailed spend
    buyers = duckdb.sql(
        f"select count(distinct user_id) from read_csv({orders}, all_varchar = true)"
    ).fetchall()[0][0]
    users_total = duckdb.sql(
        f"select count(distinct user_id) from read_csv({users}, all_varchar = true)"
    ).fetchall()[0][0]
    assert buyers < users_total  # never-buyers exist
    ages = duckdb.sql(
        f"""
        select
            min(date_diff('year', try_cast(birth_date as date), date '2026-10-01')),
            max(date_diff('year', try_cast(birth_date as date), date '2026-10-01'))
        from read_csv({users}, all_varchar = true)
        """
    ).fetchall()[0]
    assert 15 <= ages[0] <= 17
    assert 74 <= ages[1] <= 76


def test_parquet_mode_writes_clean_typed_files_with_progress(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmentation.demo_data",
            "--format",
            "parquet",
            "--users",
            "1200",
            "--out",
            str(tmp_path),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "[1,200/1,200 users]" in completed.stderr
    users = duckdb.sql(
        f"select count(*), count(distinct user_id) from '{tmp_path}/users.parquet'"
    ).fetchall()[0]
    assert users == (1200, 1200)
    types = {
        name: kind
        for name, kind, *_ in duckdb.sql(
            f"describe select * from '{tmp_path}/orders.parquet'"
        ).fetchall()
    }
    assert types["ordered_at"].startswith("TIMESTAMP")
    assert types["amount"] == "DOUBLE"
    nan_durations = duckdb.sql(
        f"select count(*) from '{tmp_path}/events.parquet'"
        " where isnan(duration_seconds)"
    ).fetchall()[0][0]
    assert nan_durations == 0


def test_same_seed_same_parquet(tmp_path: Path) -> None:
    first = demo_data.write_parquet(tmp_path / "a", 300, progress=None)
    second = demo_data.write_parquet(tmp_path / "b", 300, progress=None)
    assert first == second
    for name in ("users", "orders", "events"):
        assert (
            duckdb.sql(
                f"select * from '{tmp_path}/a/{name}.parquet'"
                f" except select * from '{tmp_path}/b/{name}.parquet'"
            ).fetchall()
            == []
        )
