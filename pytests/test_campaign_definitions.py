"""Campaign definitions (raw table campaigns): every bad definition stops the
build with one line naming the campaign, its row and the field; valid ones
reach stg_app__campaigns normalised; without a campaigns file the build has
no campaigns.

One full build on a tiny DATA folder whose campaigns.csv has a row per
problem, one dbt build of the campaign models alone on a valid
campaigns.parquet (typed columns), and the shared orders-only build.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import duckdb
from conftest import DEMO_DIR, Build, run_build, run_dbt

COLUMNS = [
    "campaign_id",
    "campaign_name",
    "target_primary_segments",
    "target_rfm_segments",
    "target_lifecycle_stages",
    "target_value_tiers",
    "start_date",
    "end_date",
    "conversion_window_days",
    "holdout_share",
    "channel",
    "priority",
]

VALID = {
    "campaign_name": "",
    "target_primary_segments": "dormant",
    "target_rfm_segments": "",
    "target_lifecycle_stages": "",
    "target_value_tiers": "",
    "start_date": "2026-07-01",
    "end_date": "",
    "conversion_window_days": "30",
    "holdout_share": "0.1",
    "channel": "email",
    "priority": "1",
}

# One row per problem: (campaign_id, the fields that differ from VALID, the
# text its line must hold after "campaign '<id>' (row N): ").
BAD_ROWS = [
    ("bad/name", {}, "field campaign_id: 'bad/name' cannot name the export"),
    (".hidden", {}, "field campaign_id: '.hidden' cannot name the export"),
    ("twice", {}, "field campaign_id: 'twice' is also the id of row 6"),
    ("TWICE", {}, "field campaign_id: 'TWICE' is also the id of row 5"),
    ("no_start", {"start_date": ""}, "field start_date: missing"),
    (
        "bad_start",
        {"start_date": "2026-13-01"},
        "field start_date: '2026-13-01' is not a date",
    ),
    ("bad_end", {"end_date": "someday"}, "field end_date: 'someday' is not a date"),
    (
        "end_first",
        {"end_date": "2026-06-30"},
        "field end_date: 2026-06-30 is before start_date 2026-07-01",
    ),
    (
        "bad_window",
        {"conversion_window_days": "2.5"},
        "field conversion_window_days: '2.5' is not a whole number of days >= 1",
    ),
    (
        "zero_window",
        {"conversion_window_days": "0"},
        "field conversion_window_days: '0' is not a whole number",
    ),
    (
        "share_high",
        {"holdout_share": "1.5"},
        "field holdout_share: 1.5 is not strictly between 0 and 1",
    ),
    (
        "share_zero",
        {"holdout_share": "0"},
        "field holdout_share: 0 is not strictly between 0 and 1",
    ),
    (
        "share_text",
        {"holdout_share": "ten"},
        "field holdout_share: 'ten' is not a number",
    ),
    (
        "no_target",
        {"target_primary_segments": ""},
        "fields target_primary_segments, target_rfm_segments,"
        " target_lifecycle_stages, target_value_tiers: all empty",
    ),
    (
        "bad_segment",
        {"target_primary_segments": "vip|Dormant|gold"},
        "field target_primary_segments: unknown values 'vip', 'gold' (accepted:"
        " dormant, high_value,",
    ),
    (
        "bad_rfm",
        {"target_primary_segments": "", "target_rfm_segments": "Sleepy|At Risk"},
        "field target_rfm_segments: unknown value 'Sleepy' (accepted: About To"
        " Sleep, At Risk,",
    ),
    (
        "bad_stage",
        {"target_lifecycle_stages": "zombie"},
        "field target_lifecycle_stages: unknown value 'zombie' (accepted:"
        " prospect, new, reactivated, active, at_risk, dormant, churned)",
    ),
    (
        "bad_tier",
        {"target_value_tiers": "platinum"},
        "field target_value_tiers: unknown value 'platinum' (accepted: high,"
        " medium, low, none)",
    ),
    ("no_channel", {"channel": ""}, "field channel: missing"),
    (
        "bad_priority",
        {"priority": "first"},
        "field priority: 'first' is not a whole number",
    ),
]


def _write_orders(folder: Path, rows: int = 300) -> None:
    """The first demo orders: enough for a build, small enough to be quick."""
    lines = (DEMO_DIR / "orders.csv").read_text().splitlines()[: rows + 1]
    (folder / "orders.csv").write_text("\n".join(lines) + "\n")


def test_bad_definitions_stop_the_build_naming_campaign_row_and_field(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _write_orders(data)
    rows = [{"campaign_id": "good_one", **VALID, "target_primary_segments": "Dormant"}]
    rows.append({"campaign_id": "", **VALID, "campaign_name": "Nameless"})
    rows += [{"campaign_id": cid, **VALID, **changes} for cid, changes, _ in BAD_ROWS]
    with (data / "campaigns.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)

    build = run_build(tmp_path / "build", "--data", str(data))

    assert build.returncode != 0, build.output[-3000:]
    assert "Traceback" not in build.stderr, build.stderr[-3000:]
    assert "The build stopped:" in build.stderr, build.stderr[-3000:]
    assert (
        f"The campaign definitions (raw table campaigns) have {len(BAD_ROWS) + 1}"
        " problems" in build.stderr
    ), build.stderr[-3000:]
    assert (
        "campaign without an id ('Nameless') (row 2): field campaign_id: missing"
        in build.stderr
    ), build.stderr[-3000:]
    for row, (campaign_id, _, text) in enumerate(BAD_ROWS, start=3):
        line = f"campaign '{campaign_id}' (row {row}): {text}"
        assert line in build.stderr, f"{line!r} missing:\n{build.stderr[-4000:]}"
    assert "good_one" not in build.stderr
    # The checks ran before anything was passed on: staging holds no campaign,
    # while the parsed definitions (with their problems) stay inspectable.
    with duckdb.connect(str(build.database), read_only=True) as connection:
        assert connection.execute(
            "select count(*) from information_schema.tables"
            " where table_name = 'stg_app__campaigns'"
        ).fetchone() == (0,)
        assert connection.execute(
            "select target_primary_segments, len(problems)"
            " from staging.base_app__campaigns where campaign_id = 'good_one'"
        ).fetchall() == [(["dormant"], 0)]


def test_valid_parquet_definitions_are_normalised(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    _write_orders(data, rows=50)
    with duckdb.connect() as connection:
        connection.execute(
            """
            copy (
                select * from (values
                    ('winback', null, ' Dormant | HIGH VALUE ||dormant', null,
                     null, null, date '2026-07-01', null, 30, null, 'Email',
                     null),
                    ('rfm_mix', 'RFM and stages', null,
                     'at risk|can''t-lose-them', 'At_Risk|dormant', 'High',
                     date '2026-08-01', date '2026-08-31', null, 0.25, ' SMS ',
                     2)
                ) as campaigns(
                    campaign_id, campaign_name, target_primary_segments,
                    target_rfm_segments, target_lifecycle_stages,
                    target_value_tiers, start_date, end_date,
                    conversion_window_days, holdout_share, channel, priority
                )
            ) to '"""
            + str(data / "campaigns.parquet")
            + "' (format parquet)"
        )

    build = run_dbt(
        tmp_path / "build",
        "build",
        "--select",
        "+stg_app__campaigns",
        "--indirect-selection",
        "cautious",
        "--vars",
        json.dumps({"data_dir": str(data)}),
    )

    assert build.returncode == 0, build.output[-3000:]
    assert build.query(
        "select * from staging.stg_app__campaigns order by campaign_id"
    ) == [
        (
            "rfm_mix",
            "RFM and stages",
            [],
            ["At Risk", "Can't Lose Them"],
            ["at_risk", "dormant"],
            ["high"],
            dt.date(2026, 8, 1),
            dt.date(2026, 8, 31),
            None,
            0.25,
            "sms",
            2,
        ),
        (
            "winback",
            "winback",
            ["dormant", "high_value"],
            [],
            [],
            [],
            dt.date(2026, 7, 1),
            None,
            30,
            0.1,
            "email",
            None,
        ),
    ]


def test_no_campaigns_file_means_no_campaigns(orders_only_build: Build) -> None:
    assert orders_only_build.returncode == 0, orders_only_build.output[-3000:]
    assert orders_only_build.scalar("select count(*) from raw.campaigns") == 0
    assert (
        orders_only_build.scalar("select count(*) from staging.stg_app__campaigns") == 0
    )
