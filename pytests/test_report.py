"""The HTML segment report: self-contained, and its numbers match the marts."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import PROJECT_DIR, Build

from segmentation import report, summary
from segmentation.report import loaders, sections

CHART_IDS = (
    "segment-sizes",
    "rfm-heatmap",
    "value-activity",
    "cluster-profiles",
    "segment-history",
    "migration",
    "clv",
    "lifecycle-trend",
    "arpu-trend",
    "activity",
    "playbook",
    "segment-conversion",
    "campaigns",
    "affinity",
    "next-best",
    "lookalike",
    "funnels",
)
JSON_BLOCK = re.compile(
    r'<script type="application/json" id="data-([a-z0-9-]+)">(.*?)</script>',
    re.S,
)


def chart_data(document: str) -> dict[str, Any]:
    """Every embedded JSON block of the report, by chart id."""
    return {name: json.loads(text) for name, text in JSON_BLOCK.findall(document)}


def write(build: Build, out: Path) -> str:
    """Run the command line on a build and return the HTML it wrote."""
    code = report.main(["--db", str(build.database), "--out", str(out)])
    assert code == 0
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def demo_report(demo_build: Build, tmp_path_factory: pytest.TempPathFactory) -> str:
    return write(demo_build, tmp_path_factory.mktemp("report") / "report.html")


@pytest.fixture(scope="module")
def demo_data(demo_report: str) -> dict[str, Any]:
    return chart_data(demo_report)


@pytest.fixture(scope="module")
def orders_only_report(
    orders_only_build: Build, tmp_path_factory: pytest.TempPathFactory
) -> str:
    return write(orders_only_build, tmp_path_factory.mktemp("report") / "orders.html")


def test_report_is_one_self_contained_file(demo_report: str) -> None:
    assert demo_report.startswith("<!DOCTYPE html>")
    assert "<style>" in demo_report
    assert not re.search(r"<script[^>]*\bsrc\s*=", demo_report, re.I)
    assert not re.search(r"<link\b", demo_report, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", demo_report, re.I)
    remote = re.compile(r"\b(?:src|href)\s*=\s*['\"]?\s*(?:https?:)?//", re.I)
    assert not remote.search(demo_report)
    for attribute in re.findall(
        r"\b(?:src|href)\s*=\s*['\"]([^'\"]*)", demo_report, re.I
    ):
        assert not attribute.lower().startswith(("http://", "https://", "//"))
    # Only the JSON data blocks are scripts: the page runs no code.
    scripts = re.findall(r"<script\b[^>]*>", demo_report)
    assert scripts
    assert all('type="application/json"' in tag for tag in scripts)


def test_every_chart_embeds_its_data(demo_report: str, demo_data: dict) -> None:
    assert set(CHART_IDS) <= set(demo_data)
    for chart_id in ("segment-sizes", "rfm-users", "value-activity", "activity"):
        assert f'id="chart-{chart_id}"' in demo_report
    assert demo_report.count("<svg") >= 8
    assert demo_report.count("<title") >= demo_report.count("<svg")


def test_header_shows_as_of_date_and_population(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    as_of, source = demo_build.query(
        "select as_of_date, as_of_date_source from intermediate.int_as_of_date"
    )[0]
    population = demo_build.scalar("select count(*) from marts.user_segments")
    assert "Segment report" in demo_report
    assert str(as_of) in demo_report
    assert source in demo_report
    assert f"{population:,}" in demo_report
    assert demo_data["header"]["population"] == population
    assert demo_data["header"]["as_of_date"] == str(as_of)


def test_segment_sizes_match_the_profiles(demo_build: Build, demo_data: dict) -> None:
    rows = demo_build.query(
        "select segment, user_count, user_share from marts.segment_profiles"
        " where segment_dimension = 'primary_segment'"
        " order by user_count desc, segment"
    )
    data = demo_data["segment-sizes"]["segments"]
    assert [(item["segment"], item["user_count"]) for item in data] == [
        (segment, count) for segment, count, _ in rows
    ]
    for item, (_, _, share) in zip(data, rows, strict=True):
        assert item["user_share"] == pytest.approx(share, abs=1e-6)
    population = demo_build.scalar("select count(*) from marts.user_segments")
    assert sum(item["user_count"] for item in data) == population
    assert demo_data["segment-sizes"]["total_users"] == population


def test_rfm_heatmap_counts_every_purchaser(demo_build: Build, demo_data: dict) -> None:
    data = demo_data["rfm-heatmap"]
    assert data["recency_scores"] == [5, 4, 3, 2, 1]
    assert data["frequency_scores"] == [1, 2, 3, 4, 5]
    purchasers, revenue = demo_build.query(
        "select count(*), sum(net_revenue) from marts.user_profiles"
        " where order_count > 0"
    )[0]
    assert sum(map(sum, data["users"])) == purchasers == data["purchasers"]
    assert sum(map(sum, data["net_revenue"])) == pytest.approx(float(revenue))
    for recency, frequency, count, cell_revenue in demo_build.query(
        "select recency_score, frequency_score, count(*), sum(net_revenue)"
        " from marts.user_profiles where order_count > 0 group by all"
    ):
        row, column = 5 - recency, frequency - 1
        assert data["users"][row][column] == count
        assert data["net_revenue"][row][column] == pytest.approx(float(cell_revenue))


def test_value_activity_counts_every_user(demo_build: Build, demo_data: dict) -> None:
    data = demo_data["value-activity"]
    assert data["value_tiers"][:4] == ["high", "medium", "low", "none"]
    assert data["activity_tiers"][:3] == ["high", "medium", "low"]
    population = demo_build.scalar("select count(*) from marts.user_segments")
    assert sum(map(sum, data["users"])) == population == data["total_users"]
    for value, activity, count in demo_build.query(
        "select value_tier, activity_tier, count(*) from marts.user_segments"
        " group by all"
    ):
        row = data["value_tiers"].index(value)
        column = data["activity_tiers"].index(activity)
        assert data["users"][row][column] == count


def test_cluster_profiles_and_scatter(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    data = demo_data["cluster-profiles"]
    expected = demo_build.query(
        "select cluster_id, cluster_label, user_count,"
        " max(mean_value) filter (where feature = 'monetary')"
        " from marts.cluster_centroids group by all order by cluster_id"
    )
    assert [
        (item["cluster_id"], item["cluster_label"], item["user_count"])
        for item in data["clusters"]
    ] == [row[:3] for row in expected]
    for item, row in zip(data["clusters"], expected, strict=True):
        assert item["mean_monetary"] == pytest.approx(row[3], abs=1e-3)
    clustered = demo_build.scalar("select count(*) from marts.user_clusters")
    scatter = data["scatter"]
    assert len(scatter["points"]) == scatter["sample_size"] == min(2_000, clustered)
    cluster_ids = {item["cluster_id"] for item in data["clusters"]}
    assert {point[2] for point in scatter["points"]} <= cluster_ids
    assert all(len(point) == 3 for point in scatter["points"])
    assert 0 < sum(scatter["explained_variance_ratio"]) <= 1 + 1e-9
    assert "ctr_90d" in scatter["features"]
    # The shareable file carries no user ids.
    for (user_id,) in demo_build.query(
        "select user_id from marts.user_clusters order by user_id limit 20"
    ):
        assert user_id not in demo_report


def test_trends_match_the_monthly_marts(demo_build: Build, demo_data: dict) -> None:
    lifecycle = demo_data["lifecycle-trend"]
    rows = demo_build.query(
        "select date_month, new_users, retained_users, resurrected_users,"
        " dormant_users from marts.monthly_lifecycle order by date_month"
    )
    assert lifecycle["months"] == [str(row[0]) for row in rows]
    assert lifecycle["new_users"] == [row[1] for row in rows]
    assert lifecycle["retained_users"] == [row[2] for row in rows]
    assert lifecycle["resurrected_users"] == [row[3] for row in rows]
    assert lifecycle["dormant_users"] == [row[4] for row in rows]

    arpu = demo_data["arpu-trend"]
    rows = demo_build.query(
        "select date_month, arpu_active, arpu_registered, arppu"
        " from marts.monthly_arpu order by date_month"
    )
    assert arpu["months"] == [str(row[0]) for row in rows]
    for position, name in enumerate(("arpu_active", "arpu_registered", "arppu"), 1):
        assert arpu[name] == pytest.approx(
            [row[position] for row in rows], abs=0.006, nan_ok=False
        )


def test_activity_with_behaviour_data(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    data = demo_data["activity"]
    assert data["has_behaviour_data"] is True
    assert report.NO_BEHAVIOUR_SENTENCE not in demo_report
    counts = dict(
        demo_build.query(
            "select activity_tier, count(*) from marts.user_segments group by 1"
        )
    )
    assert {item["activity_tier"]: item["user_count"] for item in data["tiers"]} == (
        counts
    )
    assert sum(item["user_count"] for item in data["tiers"]) == sum(counts.values())
    assert {item["activity_tier"] for item in data["behaviour"]} == set(counts)


def test_playbook_lists_every_primary_segment(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    rows = demo_build.query(
        "select profiles.segment, profiles.user_count, playbook.marketing"
        " from marts.segment_profiles as profiles"
        " left join lookups.segment_playbook as playbook"
        " on profiles.segment = playbook.primary_segment"
        " where profiles.segment_dimension = 'primary_segment'"
        " order by profiles.user_count desc, profiles.segment"
    )
    data = demo_data["playbook"]["segments"]
    assert [
        (item["segment"], item["user_count"], item["marketing"]) for item in data
    ] == rows
    for _, _, marketing in rows:
        assert marketing is not None
        assert html.escape(marketing) in demo_report


def test_orders_only_report_says_there_is_no_behaviour_data(
    orders_only_report: str,
) -> None:
    assert report.NO_BEHAVIOUR_SENTENCE in orders_only_report
    assert report.NO_BEHAVIOUR_SENTENCE.startswith("No behaviour data")
    data = chart_data(orders_only_report)
    assert set(CHART_IDS) <= set(data)
    assert data["activity"]["has_behaviour_data"] is False
    assert data["activity"]["behaviour"] == []
    assert data["activity"]["tiers"]
    scatter = data["cluster-profiles"]["scatter"]
    assert scatter is not None
    assert "ctr_90d" not in scatter["features"]
    # Built without HISTORY_FROM: the history holds the one as-of date.
    assert data["segment-history"]["dates"] == [data["header"]["as_of_date"]]
    assert report.ONE_SNAPSHOT_SENTENCE in html.unescape(orders_only_report)
    assert report.NO_MIGRATION_SENTENCE in html.unescape(orders_only_report)
    assert data["migration"] == {
        "has_migrations": True,
        "from_as_of_date": None,
        "to_as_of_date": None,
        "dimensions": [],
    }
    assert 'id="chart-segment-history"' not in orders_only_report
    assert '<table class="heat"' not in orders_only_report


def history_sizes(build: Build, column: str) -> pd.DataFrame:
    """Users per as-of date and value of ``column`` in the history, counted
    here (a missing value is the migrations' (none))."""
    with duckdb.connect(str(build.database), read_only=True) as connection:
        return connection.execute(
            f"select as_of_date::varchar as as_of_date,"
            f" coalesce({column}, '(none)') as segment, count(*) as users"
            " from marts.segment_history group by all"
        ).df()


def test_segments_over_time_match_the_history(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    data = demo_data["segment-history"]
    sizes = history_sizes(demo_build, "primary_segment")
    dates = sorted(sizes["as_of_date"].unique())
    assert len(dates) == 13  # make run on the demo: a year of monthly dates
    assert data["has_history"] is True
    assert data["dates"] == dates
    table = sizes.pivot(index="segment", columns="as_of_date", values="users")
    table = table.reindex(columns=dates).fillna(0).astype(int)
    assert {item["segment"] for item in data["segments"]} == set(table.index)
    for item in data["segments"]:
        assert item["user_counts"] == table.loc[item["segment"]].tolist()
    assert data["totals"] == table.sum().tolist()
    population = demo_build.scalar("select count(*) from marts.user_segments")
    assert data["totals"][-1] == population
    latest = [item["user_counts"][-1] for item in data["segments"]]
    assert latest == sorted(latest, reverse=True)
    assert 'id="chart-segment-history"' in demo_report
    assert f"Change since {dates[-2]}" in demo_report


def test_migration_matrices_add_up_to_the_segment_sizes(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    data = demo_data["migration"]
    dates = sorted(history_sizes(demo_build, "primary_segment")["as_of_date"].unique())
    assert (data["from_as_of_date"], data["to_as_of_date"]) == tuple(dates[-2:])
    assert [item["dimension"] for item in data["dimensions"]] == [
        "primary_segment",
        "rfm_segment",
    ]
    # Users of the later date who were not in the earlier one: the (new) row.
    (joined,) = demo_build.query(
        "select count(*) from marts.segment_history as later"
        " where later.as_of_date = ?::date and not exists (select 1"
        " from marts.segment_history as earlier where earlier.as_of_date = ?::date"
        " and earlier.user_id = later.user_id)",
        [dates[-1], dates[-2]],
    )[0]
    for matrix in data["dimensions"]:
        dimension = matrix["dimension"]
        sizes = history_sizes(demo_build, dimension)
        before = sizes[sizes["as_of_date"] == dates[-2]].set_index("segment")["users"]
        after = sizes[sizes["as_of_date"] == dates[-1]].set_index("segment")["users"]
        users = np.array(matrix["users"])
        rows = dict(zip(matrix["from_segments"], users.sum(axis=1), strict=True))
        columns = dict(zip(matrix["to_segments"], users.sum(axis=0), strict=True))
        assert rows.pop("(new)", 0) == joined
        assert rows == before.to_dict()
        assert columns.pop("(gone)", 0) == 0  # one data set: nobody leaves
        assert columns == after.to_dict()
        assert matrix["from_sizes"] == users.sum(axis=1).tolist()
        # Each cell is the mart's, and the shares of a row add up to 1.
        cells = {
            (source, target): (count, share, float(revenue), stayed)
            for source, target, count, share, revenue, stayed in demo_build.query(
                "select from_segment, to_segment, user_count, from_segment_share,"
                " revenue_between, is_stayed from marts.segment_migrations"
                " where dimension = ? and to_as_of_date = ?::date",
                [dimension, dates[-1]],
            )
        }
        assert users.sum() == sum(count for count, *_ in cells.values())
        for i, source in enumerate(matrix["from_segments"]):
            shares = matrix["from_segment_shares"][i]
            if source == "(new)":
                assert shares == [None] * len(shares)
            else:
                assert sum(shares) == pytest.approx(1.0, abs=1e-5)
            for j, target in enumerate(matrix["to_segments"]):
                count, share, revenue, stayed = cells.get(
                    (source, target), (0, 0.0, 0.0, False)
                )
                assert matrix["users"][i][j] == count
                assert matrix["revenue_between"][i][j] == pytest.approx(revenue)
                assert matrix["stayed"][i][j] is stayed
                if source != "(new)":
                    assert shares[j] == pytest.approx(share or 0.0, abs=1e-6)
        # Of the users present at both dates, the share who stayed, counted
        # here from the history (a missing value counts as a value).
        (stayed,) = demo_build.query(
            f"select avg((coalesce(earlier.{dimension}, '')"
            f" = coalesce(later.{dimension}, ''))::int)"
            " from marts.segment_history as earlier"
            " join marts.segment_history as later using (user_id)"
            " where earlier.as_of_date = ?::date and later.as_of_date = ?::date",
            [dates[-2], dates[-1]],
        )[0]
        assert matrix["stayed_share"] == pytest.approx(stayed, abs=1e-6)
        assert f"{stayed:.1%} of the users present at both dates stayed" in (
            demo_report
        )
        # Segments that drifted are named (none on the demo's last month).
        assert matrix["drifted"] == []
        # Staying users run down the diagonal.
        for i, source in enumerate(matrix["from_segments"]):
            if source in matrix["to_segments"]:
                assert matrix["stayed"][i][matrix["to_segments"].index(source)]
    # Users and revenue, for both dimensions.
    assert demo_report.count('<table class="heat"') == 4
    assert report.NO_HISTORY_SENTENCE not in html.unescape(demo_report)


def test_clv_by_segment_matches_the_profiles(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    with duckdb.connect(str(demo_build.database), read_only=True) as connection:
        users = connection.execute(
            "select segments.primary_segment, profiles.predicted_clv,"
            " profiles.probability_alive from marts.user_segments as segments"
            " join marts.user_profiles as profiles using (user_id)"
        ).df()
    grouped = users.groupby("primary_segment")
    data = demo_data["clv"]
    assert [item["segment"] for item in data["segments"]] == [
        item["segment"] for item in demo_data["segment-sizes"]["segments"]
    ]
    for item in data["segments"]:
        group = grouped.get_group(item["segment"])
        assert item["user_count"] == len(group)
        assert item["users_with_clv"] == group["predicted_clv"].notna().sum()
        if item["users_with_clv"]:
            clv = group["predicted_clv"].dropna()
            assert item["mean_predicted_clv"] == pytest.approx(clv.mean(), abs=0.006)
            assert item["median_predicted_clv"] == pytest.approx(
                clv.median(), abs=0.006
            )
            assert item["mean_probability_alive"] == pytest.approx(
                group["probability_alive"].mean(), abs=1e-4
            )
        else:
            assert item["mean_predicted_clv"] is None
    assert sum(item["users_with_clv"] for item in data["segments"]) > 0
    assert 'id="chart-clv-segments"' in demo_report
    # The caption names the transaction model behind the CLV and why
    # (issue 19: btyd_model auto, the lowest AIC on the demo).
    (chosen,) = demo_build.query(
        "select model, choice_reason from marts.clv_model_fits where is_chosen"
    )
    assert (data["model"], data["choice_reason"]) == chosen
    label = {"bg_nbd": "BG/NBD", "mbg_nbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}
    assert (
        f"from the {label[chosen[0]]} and Gamma-Gamma models ({chosen[1]})"
        in html.unescape(demo_report)
    )
    # The demo builds without calibration and holdout mode.
    assert data["holdout"] is None
    assert report.HOLDOUT_OFF_SENTENCE in html.unescape(demo_report)
    assert "clv_calibration_end_date" in report.HOLDOUT_OFF_SENTENCE


def test_clv_section_draws_the_holdout_comparison_when_the_mode_is_on(
    cdnow_build: Build,
) -> None:
    with duckdb.connect(str(cdnow_build.database), read_only=True) as connection:
        holdout = loaders.load_clv_holdout(connection)
    assert holdout is not None
    expected = cdnow_build.query(
        "select calibration_frequency_bucket, customers, actual_purchases,"
        " predicted_purchases_per_customer from marts.clv_holdout_comparison"
        " order by bucket_order"
    )
    assert [
        (
            item["bucket"],
            item["customers"],
            item["actual_purchases"],
            item["predicted_purchases_per_customer"],
        )
        for item in holdout["buckets"]
    ] == [
        (bucket, customers, actual, pytest.approx(predicted, abs=1e-4))
        for bucket, customers, actual, predicted in expected
    ]
    assert holdout["calibration_end_date"] == "1997-09-30"
    document = sections.clv_section({"segments": [], "holdout": holdout})
    assert 'id="chart-clv-holdout"' in document
    assert report.HOLDOUT_OFF_SENTENCE not in html.unescape(document)
    # The chart draws the eight buckets, not the total row.
    assert "8 periods" in document
    assert chart_data(document)["clv"]["holdout"] == holdout


def test_short_or_missing_history_is_a_sentence_not_a_failure(
    demo_build: Build, tmp_path: Path
) -> None:
    database = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_build.database, database)
    # One snapshot left: the latest date, and so no pair of dates.
    with duckdb.connect(str(database)) as connection:
        for table in ("segment_history", "primary_segment_sizes_over_time"):
            connection.execute(
                f"delete from marts.{table}"
                f" where as_of_date < (select max(as_of_date) from marts.{table})"
            )
        connection.execute("delete from marts.segment_migrations")
        connection.execute("delete from marts.segment_stability")
    one = report.write_report(database, tmp_path / "one.html").read_text()
    text = html.unescape(one)
    assert report.ONE_SNAPSHOT_SENTENCE in text
    assert report.NO_MIGRATION_SENTENCE in text
    assert 'id="chart-segment-history"' not in one
    assert '<table class="heat"' not in one
    assert len(chart_data(one)["segment-history"]["dates"]) == 1
    printed = summary.render(database)
    assert "Flows since" not in printed
    assert "Primary segments" in printed
    # A warehouse built before the history marts existed.
    with duckdb.connect(str(database)) as connection:
        connection.execute("drop table marts.segment_history")
        connection.execute("drop table marts.primary_segment_sizes_over_time")
        connection.execute("drop table marts.segment_migrations")
        connection.execute("drop table marts.segment_stability")
    older = html.unescape(
        report.write_report(database, tmp_path / "old.html").read_text()
    )
    assert older.count(report.NO_HISTORY_SENTENCE) == 2
    assert report.NO_MIGRATION_SENTENCE not in older
    assert "Flows since" not in summary.render(database)


def test_migration_section_names_drifted_segments() -> None:
    matrix = {
        "dimension": "primary_segment",
        "from_segments": ["dormant", "(new)"],
        "to_segments": ["dormant", "active"],
        "users": [[90, 10], [0, 5]],
        "from_segment_shares": [[0.9, 0.1], [None, None]],
        "revenue_between": [[0.0, 120.5], [0.0, 40.0]],
        "stayed": [[True, False], [False, False]],
        "from_sizes": [100, 5],
        "to_sizes": [90, 15],
        "stayed_share": 0.9,
        "drifted": [{"segment": "active", "share_change_points": 14.29}],
    }
    document = sections.migration_section(
        {
            "has_migrations": True,
            "from_as_of_date": "2026-09-01",
            "to_as_of_date": "2026-10-01",
            "dimensions": [matrix],
        }
    )
    assert "active +14.3 points" in document
    assert "90.0% of the users present at both dates stayed" in document
    assert document.count('<table class="heat"') == 2
    assert document.count('class="num stay"') == 2  # users and revenue
    assert "120.50" in document
    assert "90<small>90.0%</small>" in document
    # An empty cell shows nothing, (new) has no share.
    assert document.count('<td class="num empty"></td>') == 2
    assert "5<small>" not in document


def test_missing_database_is_one_line_and_exit_code_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    code = report.main(["--db", str(tmp_path / "absent.duckdb"), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert "absent.duckdb" in captured.err
    assert not out.exists()
    assert not (tmp_path / "absent.duckdb").exists()


def test_unreadable_database_is_one_line_and_exit_code_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "garbage.duckdb"
    database.write_text("this is not a database\n" * 200)
    code = report.main(["--db", str(database), "--out", str(tmp_path / "r.html")])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_module_command_line_fails_without_traceback(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "segmentation.report",
            "--db",
            str(tmp_path / "absent.duckdb"),
            "--out",
            str(tmp_path / "report.html"),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1


def test_write_report_is_deterministic(demo_build: Build, tmp_path: Path) -> None:
    first = report.write_report(demo_build.database, tmp_path / "a" / "r.html")
    second = report.write_report(demo_build.database, tmp_path / "b" / "r.html")
    assert first.read_bytes() == second.read_bytes()


def test_json_blocks_cannot_end_the_script_early() -> None:
    block = report.json_script("x", {"label": "</script><b>&"})
    assert block.count("</script>") == 1
    assert json.loads(JSON_BLOCK.findall(block)[0][1]) == {"label": "</script><b>&"}


def test_chart_text_is_escaped() -> None:
    svg = report.bar_chart_svg(
        "t",
        [report.Bar("<b>bold</b>", 3, "3 & more")],
        title="A <title>",
        x_label="x",
        y_label="y",
        legend_label="users",
    )
    assert "<b>" not in svg
    assert "&lt;b&gt;bold&lt;/b&gt;" in svg
    assert "3 &amp; more" in svg


def test_no_clusters_shows_a_sentence() -> None:
    html = report.cluster_section({"clusters": [], "scatter": None})
    assert report.NO_CLUSTERS_SENTENCE in html
    assert "<svg" not in html
    assert 'id="data-cluster-profiles"' in html


def test_projection_handles_gaps_and_degenerate_input() -> None:
    matrix = np.array(
        [[1.0, np.nan, 5.0], [2.0, np.nan, np.nan], [3.0, np.nan, 7.0], [9, np.nan, 1]]
    )
    points, ratios = report.project_to_2d(matrix)
    assert points.shape == (4, 2)
    assert np.isfinite(points).all()
    assert sum(ratios) == pytest.approx(1.0)
    empty, ratios = report.project_to_2d(np.zeros((0, 3)))
    assert empty.shape == (0, 2)
    single, _ = report.project_to_2d(np.array([[1.0, 2.0]]))
    assert single.shape == (1, 2)


def test_exposure_lists_exactly_the_marts_the_report_reads() -> None:
    exposures = yaml.safe_load(
        (PROJECT_DIR / "models" / "_exposures.yml").read_text(encoding="utf-8")
    )["exposures"]
    (entry,) = [item for item in exposures if item["name"] == "segment_report"]
    refs = set()
    for dependency in entry["depends_on"]:
        match = re.fullmatch(r"ref\('(\w+)'\)", dependency)
        assert match, dependency
        refs.add(match.group(1))
    assert refs == {
        loaders.MODEL_OF_TABLE.get(table, table) for table in report.TABLES.values()
    }
    assert not any(name.startswith(("int_", "stg_", "util_")) for name in refs)


def test_reporting_marts_are_documented_roll_ups() -> None:
    folder = PROJECT_DIR / "models" / "marts" / "reporting"
    models = yaml.safe_load(
        (folder / "_reporting__models.yml").read_text(encoding="utf-8")
    )["models"]
    documented = {model["name"]: model for model in models}
    assert {path.stem for path in folder.glob("*.sql")} == set(documented)
    for name, model in documented.items():
        assert model["config"]["meta"]["rollup_of_final_tables"] is True, name
        # A roll-up reads marts that are not roll-ups: never another one.
        sql = (folder / f"{name}.sql").read_text(encoding="utf-8")
        for other in set(documented) - {name}:
            assert f"ref('{other}')" not in sql, (name, other)
    assert set(documented) <= set(report.TABLES.values())


def test_number_formats_for_people() -> None:
    assert report.format_count(1234567) == "1,234,567"
    assert report.format_share(0.4978) == "49.8%"
    assert report.format_money(1234.5) == "1,234.50"
    assert report.nice_ticks(0, 2489) == [0, 500, 1000, 1500, 2000, 2500]
    assert report.format_tick(-7.5, 2.5) == "-7.5"


def campaign_fixture(**changes: Any) -> dict[str, Any]:
    """One measured campaign as load_campaigns returns it, built by hand."""

    def group(users: int, converters: int, revenue: float) -> dict[str, Any]:
        return {
            "users": users,
            "converters": converters,
            "conversion_rate": converters / users,
            "orders": converters,
            "revenue": revenue,
            "revenue_per_user": round(revenue / users, 2),
        }

    comparison = {
        "conversion_lift": 0.1,
        "conversion_lift_lower": 0.062,
        "conversion_lift_upper": 0.139,
        "conversion_lift_relative": 1.0,
        "conversion_lift_relative_lower": 0.55,
        "conversion_lift_relative_upper": 1.58,
        "conversion_p_value": 0.00001,
        "revenue_per_user_lift": 4.5,
        "revenue_per_user_lift_lower": 1.25,
        "revenue_per_user_lift_upper": 7.75,
        "revenue_per_user_p_value": 0.0071,
        "sample_ratio_p_value": 0.41,
        "is_sample_ratio_mismatch": False,
        "minimum_detectable_lift": 0.041,
        "is_interim": False,
        "verdict": "significant lift",
    }
    campaign = {
        "campaign_id": "winback_<b>",
        "campaign_name": "Win-back <script>",
        "channel": "email",
        "priority": None,
        "target_primary_segments": ["dormant"],
        "target_rfm_segments": [],
        "target_lifecycle_stages": [],
        "target_value_tiers": [],
        "start_date": "2026-07-01",
        "end_date": None,
        "campaign_end_date": "2026-07-30",
        "conversion_window_end": "2026-07-31",
        "holdout_share": 0.2,
        "campaign_status": "ended",
        "is_interim": False,
        "eligibility_as_of_date": "2026-07-01",
        "eligible_users": 1_300,
        "users_eligible_elsewhere": 12,
        "excluded_users": 0,
        "treatment_users": 1_000,
        "holdout_users": 250,
        "realised_holdout_share": 0.2,
        "status_note": "assigned",
        "results": [
            {
                "target_segment": "(all)",
                "treatment": group(1_000, 200, 9_000.0),
                "holdout": group(250, 25, 1_125.0),
                **comparison,
            },
            {
                "target_segment": "dormant",
                "treatment": group(1_000, 200, 9_000.0),
                "holdout": group(250, 25, 1_125.0),
                **comparison,
            },
        ],
    }
    campaign.update(changes)
    return campaign


def campaigns_data(*campaigns: dict[str, Any]) -> dict[str, Any]:
    counts = {status: 0 for status in loaders.CAMPAIGN_STATUSES}
    for campaign in campaigns:
        counts[campaign["campaign_status"]] += 1
    return {
        "has_campaigns": True,
        "status_counts": counts,
        "campaigns": list(campaigns),
        "overlaps": [
            {
                "campaign_id": "vip",
                "other_campaign_id": "crosssell",
                "channel": "email",
                "users_eligible_for_both": 321,
                "users_assigned_to_both": 0,
            }
        ],
    }


def test_campaigns_section_without_campaigns_says_how_to_define_them() -> None:
    empty = {
        "has_campaigns": True,
        "status_counts": {"running": 0, "ended": 0, "scheduled": 0},
        "campaigns": [],
        "overlaps": [],
    }
    document = html.unescape(sections.campaigns_section(empty))
    assert sections.NO_CAMPAIGNS_SENTENCE in document
    assert "campaigns.csv" in sections.NO_CAMPAIGNS_SENTENCE
    assert "seeds/demo/campaigns.csv" in sections.NO_CAMPAIGNS_SENTENCE
    assert "<svg" not in document
    older = html.unescape(sections.campaigns_section(empty | {"has_campaigns": False}))
    assert sections.NO_CAMPAIGN_MARTS_SENTENCE in older
    assert sections.NO_CAMPAIGNS_SENTENCE not in older


def test_campaign_block_shows_groups_lift_mde_verdict_and_srm() -> None:
    document = sections.campaigns_section(campaigns_data(campaign_fixture()))
    text = html.unescape(document)
    # Escaped: the names are data.
    assert "Win-back <script>" not in document
    assert "winback_<b>" not in document
    assert "Win-back &lt;script&gt;" in document
    assert "Status: ended." in text
    assert "priority none (last)" in text
    assert "targets primary segment in dormant, opted-in users only" in text
    assert "segment snapshot of 2026-07-01" in text
    # Sizes before and after priority, planned and realised holdout share.
    for cell in ("1,300", "12", "1,000", "250", "20.0%"):
        assert f"<td class=num>{cell}</td>" in document
    # Conversion by group and the lift with its interval, per segment.
    assert 'id="chart-campaign-winback_&lt;b&gt;-conversion"' in document
    assert 'id="chart-campaign-winback_&lt;b&gt;-lift"' in document
    assert "+10.0 pts [+6.2 pts, +13.9 pts]" in text
    assert "20.0% / 10.0%" in text
    assert "100.0% [55.0%, 158.0%]" in text
    assert "4.50 [1.25, 7.75]" in text
    assert "4.1 pts" in text
    assert "< 0.001" in text and "0.007" in text
    assert "Significant lift: the treatment converted +10.0 pts more" in text
    assert "Sample ratio check passed: 1,000 treatment and 250 holdout" in text
    # The overlap table: before and after priority.
    assert "321" in text and "crosssell" in text
    data = chart_data(document)["campaigns"]
    assert data["campaigns"][0]["results"][0]["conversion_lift"] == 0.1


def test_campaign_verdicts_in_words() -> None:
    result = campaign_fixture()["results"][0]
    too_small = result | {
        "verdict": "too small to tell (MDE 4.1 pts)",
        "conversion_lift": 0.01,
    }
    assert sections.verdict_sentence(too_small).startswith(
        "Too small to tell: the holdout can only show lifts above 4.1 points"
    )
    none = too_small | {"minimum_detectable_lift": None}
    assert "n/a" not in sections.verdict_sentence(none)
    assert sections.verdict_sentence(none).startswith("Too small to tell")
    flat = result | {
        "verdict": "no detectable difference",
        "conversion_lift_lower": -0.02,
    }
    assert "(-2.0 pts to +13.9 pts) includes zero" in sections.verdict_sentence(flat)
    assert "above 4.1 points" in sections.verdict_sentence(flat)
    drop = result | {"verdict": "significant drop", "conversion_lift": -0.05}
    assert "converted -5.0 pts less" in sections.verdict_sentence(drop)
    assert sections.verdict_sentence(result | {"verdict": "interim"}).startswith(
        "Interim"
    )
    broken = result | {
        "verdict": "sample ratio mismatch",
        "sample_ratio_p_value": 0.00002,
        "is_sample_ratio_mismatch": True,
    }
    assert "p = < 0.001" in sections.verdict_sentence(broken)
    campaign = campaign_fixture(
        results=[broken, broken | {"target_segment": "dormant"}],
        campaign_status="running",
        is_interim=True,
    )
    text = html.unescape(sections.campaigns_section(campaigns_data(campaign)))
    assert "Sample ratio check FAILED" in text
    assert "running, interim (conversion window open until 2026-07-31" in text


def test_unmeasured_campaign_shows_its_status_note() -> None:
    waiting = campaign_fixture(
        campaign_status="running",
        eligibility_as_of_date=None,
        eligible_users=None,
        results=[],
        status_note="no segment snapshot on or before the start date: backfill",
    )
    text = html.unescape(sections.campaigns_section(campaigns_data(waiting)))
    assert "no segment snapshot on or before the start date: backfill" in text
    assert "<svg" not in text
    assert "Eligible users" not in text


def test_interval_chart_draws_error_bars_and_the_reference_line() -> None:
    svg = report.interval_chart_svg(
        "t",
        ["all <b>", "dormant"],
        [
            report.EstimateSeries(
                "lift",
                [report.Estimate(0.1, 0.05, 0.15), report.Estimate(-0.02)],
                "#000000",
            ),
            report.EstimateSeries("other", [None, report.Estimate(0.3)], "#111111"),
        ],
        title="Lift",
        x_label="x",
        y_label="y",
        value_format=lambda value: f"{value:.2f}",
        reference=0.0,
        reference_label="no effect",
    )
    assert "&lt;b&gt;" in svg and "<b>" not in svg
    assert svg.count('r="4.5"') == 3  # the dots, not the legend
    assert "lift, all &lt;b&gt;: 0.10 (95% interval 0.05 to 0.15)" in svg
    assert "lift, dormant: -0.02</title>" in svg
    assert 'stroke-dasharray="4 3"' in svg
    assert "no effect" in svg


def test_campaigns_section_matches_the_campaign_marts(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    data = demo_data["campaigns"]
    assert data["has_campaigns"] is True
    expected = demo_build.query(
        "select campaign_id, campaign_status, is_interim,"
        " eligibility_as_of_date::varchar, eligible_users, excluded_users,"
        " treatment_users, holdout_users from marts.campaigns"
        " order by start_date, priority nulls last, campaign_id"
    )
    assert len(expected) == 6  # the demo seed's campaigns
    assert [
        (
            item["campaign_id"],
            item["campaign_status"],
            item["is_interim"],
            item["eligibility_as_of_date"],
            item["eligible_users"],
            item["excluded_users"],
            item["treatment_users"],
            item["holdout_users"],
        )
        for item in data["campaigns"]
    ] == expected
    statuses = [item["campaign_status"] for item in data["campaigns"]]
    assert data["status_counts"] == {
        status: statuses.count(status) for status in ("running", "ended", "scheduled")
    }
    text = html.unescape(demo_report)
    results = {
        (campaign_id, segment, group): row
        for campaign_id, segment, group, *row in demo_build.query(
            "select campaign_id, target_segment, campaign_group, users, converters,"
            " conversion_rate, conversion_lift, conversion_lift_lower,"
            " conversion_lift_upper, minimum_detectable_lift, verdict"
            " from marts.campaign_results"
        )
    }
    measured = 0
    for campaign in data["campaigns"]:
        segments = {key[1] for key in results if key[0] == campaign["campaign_id"]}
        assert {item["target_segment"] for item in campaign["results"]} == segments
        if not segments:
            assert campaign["status_note"] in text
            continue
        measured += 1
        assert campaign["results"][0]["target_segment"] == "(all)"
        for item in campaign["results"]:
            key = (campaign["campaign_id"], item["target_segment"])
            for group in ("treatment", "holdout"):
                users, converters, rate, *_ = results[(*key, group)]
                assert item[group]["users"] == users
                assert item[group]["converters"] == converters
                assert item[group]["conversion_rate"] == pytest.approx(rate)
                # The group's Wilson interval holds its rate.
                lower = item[group]["conversion_rate_lower"]
                upper = item[group]["conversion_rate_upper"]
                assert 0 <= lower <= rate <= upper <= 1
            *_, lift, lift_lower, lift_upper, mde, verdict = results[
                (*key, "treatment")
            ]
            assert item["conversion_lift"] == pytest.approx(lift)
            assert item["conversion_lift_lower"] == pytest.approx(lift_lower)
            assert item["conversion_lift_upper"] == pytest.approx(lift_upper)
            assert item["minimum_detectable_lift"] == pytest.approx(mde)
            assert item["verdict"] == verdict
        chart = f'id="chart-campaign-{campaign["campaign_id"]}-lift"'
        assert chart in demo_report
        overall = campaign["results"][0]
        assert sections.verdict_sentence(overall) in text
        assert "Sample ratio check" in text
    assert measured >= 3  # the ended win-back, VIP and cross-sell campaigns
    # The demo's overlap: VIP preview and cross-sell share users before
    # priority and none after it.
    overlaps = {
        (item["campaign_id"], item["other_campaign_id"]): item
        for item in data["overlaps"]
    }
    pair = overlaps[("vip_preview_2026_08", "crosssell_2026_08")]
    assert pair["users_eligible_for_both"] > 0
    assert pair["users_assigned_to_both"] == 0
    assert sections.NO_CAMPAIGNS_SENTENCE not in text


def test_conversion_by_segment_matches_the_mart(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    data = demo_data["segment-conversion"]
    assert data["has_segment_conversion"] is True
    rows = demo_build.query(
        "select month_start::varchar, primary_segment, users, converters,"
        " conversion_rate, campaign_users from marts.segment_conversion_monthly"
    )
    assert data["months"] == sorted({row[0] for row in rows})
    cells = {(month, segment): row for month, segment, *row in rows}
    assert {item["segment"] for item in data["segments"]} == {row[1] for row in rows}
    for item in data["segments"]:
        for index, month in enumerate(data["months"]):
            users, converters, rate, campaign_users = cells.get(
                (month, item["segment"]), (None,) * 4
            )
            assert item["users"][index] == users
            assert item["converters"][index] == converters
            assert item["campaign_users"][index] == campaign_users
            assert item["conversion_rate"][index] == pytest.approx(rate)
    # The demo's campaigns treated users in the months they started.
    assert sum(sum(item["campaign_users"]) for item in data["segments"]) > 0
    assert 'id="chart-segment-conversion"' in demo_report


def test_a_data_folder_without_campaigns_says_how_to_define_them(
    orders_only_report: str,
) -> None:
    text = html.unescape(orders_only_report)
    assert sections.NO_CAMPAIGNS_SENTENCE in text
    assert sections.NO_CAMPAIGN_MARTS_SENTENCE not in text
    data = chart_data(orders_only_report)["campaigns"]
    assert data["has_campaigns"] is True
    assert data["campaigns"] == []
    assert 'id="chart-campaign-' not in orders_only_report


def propensity_window(**changes: Any) -> dict[str, Any]:
    """One ready propensity window as load_propensity returns it."""
    deciles = [
        {
            "decile": decile,
            "users": 100,
            "positives": 30 - 2 * decile,
            "positive_rate": (30 - 2 * decile) / 100,
            "lift": (30 - 2 * decile) / 19.0,
            "cumulative_positives": sum(30 - 2 * d for d in range(1, decile + 1)),
            "cumulative_capture": sum(30 - 2 * d for d in range(1, decile + 1)) / 190,
        }
        for decile in range(1, 11)
    ]
    calibration = [
        {
            "bin": index,
            "users": 100,
            "mean_predicted_probability": index / 20,
            "observed_rate": index / 21,
        }
        for index in range(1, 11)
    ]
    window = {
        "window_kind": "out_of_time",
        "label": "will_purchase",
        "horizon_days": 30,
        "status": "ready",
        "fallback_reason": None,
        "fallback_note": None,
        "train_snapshot_date": "2026-07-01",
        "eval_snapshot_date": "2026-08-01",
        "eval_label_end_date": "2026-08-31",
        "eval_label_days": 30,
        "train_rows": 5000,
        "eval_rows": 1000,
        "eval_positives": 190,
        "base_rate": 0.19,
        "best_ranker_roc_auc": 0.71,
        "is_scoring_window": True,
        "models": [
            {
                "model": "gradient_boosting",
                "model_kind": "classifier",
                "roc_auc": 0.7834,
                "pr_auc": 0.41,
                "log_loss": 0.42,
                "brier_score": 0.13,
                "top_decile_lift": 2.9,
                "top_decile_capture": 0.29,
                "roc_auc_gain_over_best_ranker": 0.0734,
                "is_scoring_model": True,
            },
            {
                "model": "probability_alive",
                "model_kind": "ranker",
                "roc_auc": 0.71,
                "pr_auc": 0.33,
                "log_loss": None,
                "brier_score": None,
                "top_decile_lift": 2.1,
                "top_decile_capture": 0.21,
                "roc_auc_gain_over_best_ranker": None,
                "is_scoring_model": False,
            },
        ],
        "deciles": {"gradient_boosting": deciles, "probability_alive": deciles},
        "calibration": {"gradient_boosting": calibration},
        "importance": [
            {
                "model": "gradient_boosting",
                "feature": "recency_days",
                "importance_mean": 0.08,
                "importance_std": 0.01,
                "importance_rank": 1,
            },
            {
                "model": "gradient_boosting",
                "feature": "sessions_30d",
                "importance_mean": 0.02,
                "importance_std": 0.005,
                "importance_rank": 2,
            },
        ],
    }
    return window | changes


def fallback_window(**changes: Any) -> dict[str, Any]:
    return (
        propensity_window(
            label="will_churn",
            horizon_days=90,
            status="fallback",
            fallback_reason="no_history",
            fallback_note="no feature snapshot between 2026-04-04 and 2026-07-03: "
            "backfill the history (make run HISTORY_FROM=2026-03-01)",
            train_snapshot_date=None,
            eval_snapshot_date=None,
            eval_label_end_date=None,
            train_rows=0,
            eval_rows=0,
            eval_positives=0,
            base_rate=None,
            best_ranker_roc_auc=None,
            deciles={},
            calibration={},
            importance=[],
        )
        | {
            "models": [
                {
                    "model": model,
                    "model_kind": "classifier",
                    "roc_auc": None,
                    "pr_auc": None,
                    "log_loss": None,
                    "brier_score": None,
                    "top_decile_lift": None,
                    "top_decile_capture": None,
                    "roc_auc_gain_over_best_ranker": None,
                    "is_scoring_model": model == "gradient_boosting",
                }
                for model in ("gradient_boosting", "logistic_regression")
            ]
        }
        | changes
    )


def propensity_data(*windows: dict[str, Any]) -> dict[str, Any]:
    return {
        "has_propensity": True,
        "windows": list(windows),
        "scores": {
            "users": 5000,
            "scored_users": {"purchase_propensity": 5000, "churn_risk": None},
            "tier_users": {"high": 1000, "medium": 1500, "low": 2500},
        },
    }


def test_propensity_section_compares_the_classifier_with_the_rankers() -> None:
    other = propensity_window(horizon_days=90, is_scoring_window=False)
    other["models"] = [dict(model, is_scoring_model=False) for model in other["models"]]
    document = sections.propensity_section(
        propensity_data(propensity_window(), other, fallback_window())
    )
    text = html.unescape(document)
    # A table per ready window, each model with its metrics; the scoring
    # window first (with its charts), then the other one.
    assert text.count("<table>") == 2
    assert text.count("<tr>") == (1 + 2) * 2
    assert text.index("Will purchase within 30 days") < text.index(
        "Will purchase within 90 days"
    )
    assert "gradient boosting (scores the users)" in text
    assert "probability alive (the CLV model's)" in text
    assert "0.783" in text and "+0.073" in text and "29.0%" in text
    assert (
        "Trained on the snapshot of 2026-07-01 (5,000 users), evaluated on the "
        "1,000 users of 2026-08-01 and what they did until 2026-08-31: 190 "
        "positives (19.0%)."
    ) in text
    # Charts only for the scoring window: capture, lift, calibration, features.
    for chart in ("capture", "lift", "calibration", "features"):
        assert f'id="chart-propensity-out-of-time-will-purchase-30-{chart}"' in text
        assert f'id="chart-propensity-out-of-time-will-purchase-90-{chart}"' not in (
            text
        )
    assert ">recency days</text>" in text
    # The fallback window is a notice with its reason and note, no table row.
    assert (
        '<p class="notice">Will churn (recent buyers who stop) within 90 days (no '
        "history): no feature snapshot between 2026-04-04 and "
        "2026-07-03: backfill the history (make run HISTORY_FROM=2026-03-01)</p>"
    ) in text
    assert "5,000 have a purchase propensity" in text
    assert "high 1,000, medium 1,500, low 2,500" in text
    assert chart_data(document)["propensity"]["windows"][0]["models"][0][
        "roc_auc"
    ] == pytest.approx(0.7834)


def test_propensity_section_without_any_model_says_why() -> None:
    data = propensity_data(
        fallback_window(label="will_purchase", horizon_days=30), fallback_window()
    )
    data["scores"]["scored_users"] = {"purchase_propensity": 0, "churn_risk": 0}
    document = sections.propensity_section(data)
    text = html.unescape(document)
    assert text.count('class="notice"') == 3
    assert sections.NO_PROPENSITY_MODEL_SENTENCE in text
    assert "<table" not in text and "<svg" not in text
    assert "Will purchase within 30 days (no history): no feature snapshot" in text
    assert "have a purchase propensity" not in text
    # A warehouse built before the propensity marts.
    older = sections.propensity_section(
        {"has_propensity": False, "windows": [], "scores": None}
    )
    assert sections.NO_PROPENSITY_MARTS_SENTENCE in html.unescape(older)
    assert "<table" not in older


def test_calibration_holdout_window_is_named_by_its_end() -> None:
    window = propensity_window(
        window_kind="calibration_holdout",
        eval_snapshot_date="1997-10-01",
        eval_label_end_date="1998-07-01",
        is_scoring_window=False,
    )
    assert sections.propensity_window_title(window) == (
        "Will purchase by 1998-07-01 (calibration holdout, 30-day training labels)"
    )
    # Drawn like a scoring window: it is the validation the README reports.
    document = sections.propensity_section(propensity_data(window))
    assert 'id="chart-propensity-calibration-holdout-will-purchase-30-lift"' in (
        document
    )


def test_propensity_section_matches_the_propensity_marts(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    data = demo_data["propensity"]
    assert data["has_propensity"] is True
    rows = demo_build.query(
        "select window_kind, label, horizon_days, model, status, roc_auc,"
        " is_scoring_model from marts.propensity_evaluation"
    )
    shown = {
        (w["window_kind"], w["label"], w["horizon_days"], m["model"]): (
            w["status"],
            m["roc_auc"],
            m["is_scoring_model"],
        )
        for w in data["windows"]
        for m in w["models"]
    }
    assert set(shown) == {row[:4] for row in rows}
    for *key, status, auc, scoring in rows:
        assert shown[tuple(key)][0] == status
        assert shown[tuple(key)][2] is scoring
        if auc is None:
            assert shown[tuple(key)][1] is None
        else:
            assert shown[tuple(key)][1] == pytest.approx(auc, abs=1e-7)
    # Windows run out of time first, will_purchase before will_churn.
    kinds = [w["window_kind"] for w in data["windows"]]
    assert kinds == sorted(kinds, key=lambda kind: kind != "out_of_time")
    (users, purchase, churn, high) = demo_build.query(
        "select count(*), count(purchase_propensity), count(churn_risk),"
        " count(*) filter (where propensity_tier = 'high') from marts.user_profiles"
    )[0]
    scores = data["scores"]
    assert scores["users"] == users
    assert scores["scored_users"] == {
        "purchase_propensity": purchase,
        "churn_risk": churn,
    }
    assert scores["tier_users"]["high"] == high
    # Every ready scoring window is drawn, with the mart's deciles.
    drawn = 0
    for window in data["windows"]:
        chart = sections._propensity_chart_id(window, "capture")
        if window["status"] == "ready" and window["is_scoring_window"]:
            assert f'id="chart-{chart}"' in demo_report
            capture = demo_build.query(
                "select cumulative_capture from marts.propensity_deciles"
                " where window_kind = ? and label = ? and horizon_days = ?"
                " and model = 'gradient_boosting' order by decile",
                [window["window_kind"], window["label"], window["horizon_days"]],
            )
            assert [
                row["cumulative_capture"]
                for row in window["deciles"]["gradient_boosting"]
            ] == pytest.approx([value for (value,) in capture], abs=1e-7)
            drawn += 1
        elif window["status"] != "ready":
            assert window["fallback_note"]
    # The demo has the year of history the purchase window needs.
    assert drawn >= 1


def test_orders_only_report_says_why_there_is_no_propensity_model(
    orders_only_build: Build, orders_only_report: str
) -> None:
    # Built without HISTORY_FROM: no feature snapshot before the as-of date.
    data = chart_data(orders_only_report)["propensity"]
    notes = orders_only_build.query(
        "select distinct window_kind, label, horizon_days, fallback_reason,"
        " fallback_note from marts.propensity_evaluation where status = 'fallback'"
    )
    assert notes
    assert {note[3] for note in notes} == {"no_history"}
    text = html.unescape(orders_only_report)
    for window in data["windows"]:
        assert window["status"] == "fallback"
        assert sections.propensity_fallback_sentence(window) in text
    assert sections.NO_PROPENSITY_MODEL_SENTENCE in text
    assert data["scores"]["scored_users"] == {
        "purchase_propensity": 0,
        "churn_risk": 0,
    }


# --- behaviour and affinity (issue 17) ---------------------------------------


def affinity_data(**changes: Any) -> dict[str, Any]:
    """Category affinity as load_affinity returns it: two segments, three
    categories, one pair without purchases."""
    data = {
        "has_affinity": True,
        "segments": [
            {"segment": "high_value", "users": 400},
            {"segment": "at_risk", "users": 150},
        ],
        "categories": [
            {"category": "electronics", "population_spend_share": 0.5},
            {"category": "books", "population_spend_share": 0.3},
            {"category": "garden", "population_spend_share": 0.2},
        ],
        "lift": [[1.25, 0.8, 2.75], [0.5, 1.9, None]],
        "purchaser_share": [[0.4, 0.2, 0.1], [0.1, 0.3, None]],
        "rules": [
            {
                "antecedent": "electronics",
                "consequent": "gaming_gear",
                "users_with_both": 321,
                "support": 0.0642,
                "antecedent_support": 0.3,
                "consequent_support": 0.1,
                "confidence": 0.214,
                "lift": 2.14,
            }
        ],
        "rule_count": 17,
    }
    return data | changes


def test_affinity_section_draws_the_lift_heatmap_and_the_rules() -> None:
    document = sections.affinity_section(affinity_data())
    text = html.unescape(document)
    assert 'id="chart-affinity-lift"' in document
    # Every cell is drawn with its lift; the pair without a purchase is n/a.
    for value in ("1.25", "0.80", "2.75", "0.50", "1.90", "n/a"):
        assert f">{value}</text>" in text
    # Categories are the rows (largest share of revenue first), segments
    # the columns.
    assert text.index(">electronics<") < text.index(">books<") < text.index(">garden<")
    assert "high value" in text and "at risk" in text
    assert "gaming gear" in text
    assert "321" in text and "6.4%" in text and "21.4%" in text and "2.14" in text
    assert "The 1 strongest of 17 association rules" in text
    assert chart_data(document)["affinity"] == affinity_data()


def test_affinity_section_without_categories_or_rules_says_why() -> None:
    one = affinity_data(
        categories=[{"category": "uncategorized", "population_spend_share": 1.0}],
        lift=[[1.0], [1.0]],
        purchaser_share=[[0.9], [0.8]],
        rules=[],
        rule_count=0,
    )
    document = html.unescape(sections.affinity_section(one))
    assert sections.ONE_CATEGORY_SENTENCE in document
    assert 'id="chart-affinity-lift"' not in document
    none = affinity_data(segments=[], categories=[], lift=[], purchaser_share=[])
    assert sections.NO_PURCHASES_SENTENCE in html.unescape(
        sections.affinity_section(none)
    )
    missing = affinity_data(has_affinity=False)
    assert sections.NO_AFFINITY_MARTS_SENTENCE in html.unescape(
        sections.affinity_section(missing)
    )
    no_rules = html.unescape(sections.affinity_section(affinity_data(rules=[])))
    assert 'id="chart-affinity-lift"' in no_rules
    assert "No association rule" in no_rules
    assert "affinity_min_support" in no_rules


def next_best_data(**changes: Any) -> dict[str, Any]:
    """Next-best category as load_next_best returns it."""
    rates = {("item_item", 1): 0.21, ("popularity", 1): 0.12}
    rates |= {("item_item", 3): 0.43, ("popularity", 3): 0.31}
    evaluation = [
        {
            "method": method,
            "k": k,
            "users_evaluated": 1000,
            "hits": round(rate * 1000),
            "hit_rate": rate,
            "coverage": 0.9 if method == "item_item" else 0.25,
            "categories": 12,
            "repeat_buyers": 1600,
            "repeat_buyers_last_category_known": 600,
        }
        for (method, k), rate in sorted(
            rates.items(), key=lambda item: (item[0][1], item[0][0] != "item_item")
        )
    ]
    data = {
        "has_next_best": True,
        "ks": [1, 3],
        "methods": ["item_item", "popularity"],
        "evaluation": evaluation,
        "recommended_users": 2345,
        "top_categories": [
            {"product_category": "kitchen", "users": 900},
            {"product_category": "toys", "users": 400},
        ],
    }
    return data | changes


def test_next_best_section_compares_with_the_popularity_baseline() -> None:
    document = sections.next_best_section(next_best_data())
    text = html.unescape(document)
    assert 'id="chart-next-best-hit-rate"' in document
    assert 'id="chart-next-best-categories"' in document
    for rate in ("21.0%", "12.0%", "43.0%", "31.0%", "90.0%", "25.0%"):
        assert rate in text
    assert "item-item collaborative filtering" in text
    assert "popularity baseline" in text
    assert "1,600 repeat buyers; 600 of them are left out" in text
    assert "1,000 are evaluated" in text
    assert "2,345 purchasers have at least one recommendation" in text
    # The baseline is the dashed line.
    assert text.count('stroke-dasharray="6 4"') >= 1
    assert chart_data(document)["next-best"] == next_best_data()


def test_next_best_section_without_an_evaluation_says_why() -> None:
    empty = next_best_data(ks=[], methods=[], evaluation=[], top_categories=[])
    text = html.unescape(sections.next_best_section(empty))
    assert sections.NO_NEXT_BEST_SENTENCE in text
    assert 'id="chart-next-best-hit-rate"' not in text
    missing = next_best_data(has_next_best=False)
    assert sections.NO_NEXT_BEST_MARTS_SENTENCE in html.unescape(
        sections.next_best_section(missing)
    )


def lookalike_data(**changes: Any) -> dict[str, Any]:
    """Lookalikes as load_lookalike returns them: scores and a ready
    evaluation."""
    deciles = [
        {
            "lookalike_decile": decile,
            "users": 100,
            "joined": 11 - decile,
            "join_rate": (11 - decile) / 100,
            "lift": (11 - decile) / 5.5,
        }
        for decile in range(1, 11)
    ]
    data = {
        "has_lookalike": True,
        "seed_column": "primary_segment",
        "seed_value": "high_value",
        "snapshot_date": "2026-06-01",
        "evaluated_at": "2026-09-15",
        "horizon_days": 90,
        "status": "ready",
        "fallback_reason": None,
        "note": None,
        "seed_users_at_snapshot": 700,
        "non_members_at_snapshot": 1000,
        "overall_join_rate": 0.055,
        "top_decile_join_rate": 0.1,
        "bottom_half_join_rate": 0.03,
        "scoring_status": "ready",
        "scoring_fallback_reason": None,
        "scoring_note": None,
        "seed_users": 800,
        "non_members": 4200,
        "audience_users": 300,
        "deciles": deciles,
        "scored_users": 4200,
        "opted_in_users": 3000,
    }
    return data | changes


def test_lookalike_section_draws_the_join_rate_by_decile() -> None:
    document = sections.lookalike_section(lookalike_data())
    text = html.unescape(document)
    assert 'id="chart-lookalike-join-rate"' in document
    assert "Seed: primary_segment = high_value, 800 users as of 2026-09-15" in text
    assert "4,200 users outside it are scored" in text
    assert "3,000 of whom accept marketing" in text
    assert "the audience holds 300" in text
    assert "10.0% of 100 (lift 1.82)" in text
    assert "1.0% of 100 (lift 0.18)" in text
    assert "in the top decile 10.0%" in text and "in the bottom half 3.0%" in text
    assert "2026-06-01" in text
    assert '<p class="notice">' not in document
    assert sections.lookalike_fallback_sentences(lookalike_data()) == []
    assert chart_data(document)["lookalike"] == lookalike_data()


def test_lookalike_fallback_shows_the_notes() -> None:
    note = (
        "No lookalikes: 3 of 5000 users have primary_segment = vip on"
        " 2026-09-15, fewer than 30 (lookalike_min_seed_size): choose a larger"
        " seed (var lookalike_seed)"
    )
    both = lookalike_data(
        seed_value="vip",
        status="fallback",
        fallback_reason="seed_too_small",
        note=note,
        scoring_status="fallback",
        scoring_fallback_reason="seed_too_small",
        scoring_note=note,
        deciles=[],
        scored_users=0,
        opted_in_users=0,
        audience_users=None,
    )
    document = sections.lookalike_section(both)
    text = html.unescape(document)
    # One note shared by the scores and the evaluation is given once.
    assert sections.lookalike_fallback_sentences(both) == [
        f"Scores (seed too small): {note}"
    ]
    assert JSON_BLOCK.sub("", text).count(note) == 1
    assert 'id="chart-lookalike-join-rate"' not in document
    assert "users outside it are scored" not in text
    # Scores without an evaluation (no history yet): the scores and the note.
    history = "No evaluation: no segment snapshot on or before 2026-06-17"
    scores_only = lookalike_data(
        status="fallback",
        fallback_reason="no_history",
        note=history,
        deciles=[],
        top_decile_join_rate=None,
        bottom_half_join_rate=None,
    )
    text = html.unescape(sections.lookalike_section(scores_only))
    assert "4,200 users outside it are scored" in text
    assert f"Evaluation (no history): {history}" in text
    assert 'id="chart-lookalike-join-rate"' not in text
    missing = lookalike_data(has_lookalike=False)
    assert sections.NO_LOOKALIKE_MARTS_SENTENCE in html.unescape(
        sections.lookalike_section(missing)
    )


def funnels_data(**changes: Any) -> dict[str, Any]:
    """Funnels as load_funnels returns them."""
    data = {
        "has_funnels": True,
        "has_behaviour_data": True,
        "month": "2026-08-01",
        "is_complete_month": True,
        "steps": ["impression", "click", "purchase"],
        "segments": [
            {
                "segment": "high_value",
                "sessions": [1000, 400, 50],
                "step_conversion": [None, 0.4, 0.125],
                "conversion_from_first": [1.0, 0.4, 0.05],
            },
            {
                "segment": "at_risk",
                "sessions": [500, 100, 5],
                "step_conversion": [None, 0.2, 0.05],
                "conversion_from_first": [1.0, 0.2, 0.01],
            },
        ],
        "months": ["2026-07-01", "2026-08-01"],
        "monthly_conversion": [
            {"segment": "high_value", "conversion_from_first": [0.04, 0.05]},
            {"segment": "at_risk", "conversion_from_first": [None, 0.01]},
        ],
        "totals": [
            {
                "step_number": 1,
                "step": "impression",
                "sessions": 3000,
                "events_without_session": 0,
            },
            {
                "step_number": 3,
                "step": "purchase",
                "sessions": 110,
                "events_without_session": 7,
            },
        ],
        "paths": [
            {
                "path_rank": 1,
                "path": "impression > click > page_view",
                "steps": 3,
                "sessions": 800,
                "session_share": 0.4,
                "purchase_sessions": 8,
                "purchase_rate": 0.01,
            }
        ],
        "behaviour": [
            {
                "primary_segment": "high_value",
                "users": 400,
                "users_with_events": 390,
                "sessions": 2000,
                "impressions": 10000,
                "clicks": 450,
                "ctr": 0.045,
                "add_to_cart_sessions": 300,
                "checkout_sessions": 120,
                "purchase_sessions": 100,
                "session_purchase_rate": 0.05,
                "events_without_session": 12,
            }
        ],
    }
    return data | changes


def test_funnels_section_draws_the_funnel_paths_and_ctr() -> None:
    document = sections.funnels_section(funnels_data())
    text = html.unescape(document)
    for chart_id in ("funnel-conversion", "funnel-monthly", "segment-ctr"):
        assert f'id="chart-{chart_id}"' in document
    # Sessions per step with the conversion from the step before.
    assert "1,000</td>" in text
    assert "400 (40.0%)" in text and "50 (12.5%)" in text
    assert "(2026-08)" in text and "partial)" not in text.split("<figcaption>")[0]
    assert "impression > click > page_view" in text
    assert "4.5%" in text
    assert "100 (5.0%)" in text
    assert ">12</td>" in text
    assert chart_data(document)["funnels"] == funnels_data()
    partial = html.unescape(
        sections.funnels_section(funnels_data(is_complete_month=False))
    )
    assert "2026-08 (partial)" in partial


def test_funnels_without_events_say_there_is_no_behaviour_data() -> None:
    empty = funnels_data(
        has_behaviour_data=False,
        month=None,
        steps=[],
        segments=[],
        months=[],
        monthly_conversion=[],
        totals=[],
        paths=[],
        behaviour=[],
    )
    document = sections.funnels_section(empty)
    assert sections.NO_FUNNEL_BEHAVIOUR_SENTENCE in html.unescape(document)
    assert sections.NO_FUNNEL_BEHAVIOUR_SENTENCE.startswith("No behaviour data")
    assert "<svg" not in document
    missing = funnels_data(has_funnels=False)
    assert sections.NO_FUNNEL_MARTS_SENTENCE in html.unescape(
        sections.funnels_section(missing)
    )


def test_affinity_section_matches_the_affinity_marts(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    data = demo_data["affinity"]
    assert data["has_affinity"] is True
    rows = demo_build.query(
        "select primary_segment, product_category, lift, population_spend_share"
        " from marts.segment_category_affinity"
    )
    segments = [item["segment"] for item in data["segments"]]
    categories = [item["category"] for item in data["categories"]]
    # The demo's orders carry several categories: the heatmap is drawn.
    assert len(categories) >= 2
    assert 'id="chart-affinity-lift"' in demo_report
    assert {(segment, category) for segment, category, *_ in rows} <= {
        (segment, category) for segment in segments for category in categories
    }
    assert len(set(segments)) == len(segments)
    found = {(segment, category): lift for segment, category, lift, _ in rows}
    for row, segment in zip(data["lift"], segments, strict=True):
        for value, category in zip(row, categories, strict=True):
            expected = found.get((segment, category))
            if expected is None:
                assert value is None
            else:
                assert value == pytest.approx(expected, abs=1e-7)
    shares = [item["population_spend_share"] for item in data["categories"]]
    assert shares == sorted(shares, reverse=True)
    (count, top_lift) = demo_build.query(
        "select count(*), max(lift) from marts.category_association_rules"
    )[0]
    assert data["rule_count"] == count
    assert 1 <= len(data["rules"]) <= loaders.AFFINITY_TOP_RULES
    assert data["rules"][0]["lift"] == pytest.approx(top_lift, abs=1e-7)
    lifts = [rule["lift"] for rule in data["rules"]]
    assert lifts == sorted(lifts, reverse=True)


def test_next_best_section_matches_the_evaluation_mart(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    data = demo_data["next-best"]
    assert data["has_next_best"] is True
    rows = demo_build.query(
        "select method, k, users_evaluated, hits, hit_rate, coverage"
        " from marts.next_best_category_evaluation"
    )
    shown = {(row["method"], row["k"]): row for row in data["evaluation"]}
    assert set(shown) == {(method, k) for method, k, *_ in rows}
    for method, k, users, hits, rate, coverage in rows:
        row = shown[(method, k)]
        assert (row["users_evaluated"], row["hits"]) == (users, hits)
        assert row["hit_rate"] == pytest.approx(rate, abs=1e-7)
        assert row["coverage"] == pytest.approx(coverage, abs=1e-7)
    assert data["methods"][0] == loaders.NEXT_BEST_METHOD
    assert 'id="chart-next-best-hit-rate"' in demo_report
    recommended, first = demo_build.query(
        "select count(distinct user_id), count(*) filter (where"
        " recommendation_rank = 1) from marts.user_next_best_categories"
    )[0]
    assert data["recommended_users"] == recommended == first > 0
    assert sum(row["users"] for row in data["top_categories"]) <= first


def test_lookalike_section_matches_the_lookalike_marts(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    data = demo_data["lookalike"]
    assert data["has_lookalike"] is True
    scored, audience = demo_build.query(
        "select count(*), count(*) filter (where in_audience)"
        " from marts.lookalike_scores"
    )[0]
    assert (data["scored_users"], data["audience_users"]) == (scored, audience)
    rows = demo_build.query(
        "select lookalike_decile, users, joined, join_rate"
        " from marts.lookalike_evaluation where lookalike_decile is not null"
        " order by lookalike_decile"
    )
    assert [
        (row["lookalike_decile"], row["users"], row["joined"])
        for row in data["deciles"]
    ] == [row[:3] for row in rows]
    # The demo's history lets the evaluation run: the chart is drawn.
    assert len(rows) == 10
    assert 'id="chart-lookalike-join-rate"' in demo_report
    assert data["top_decile_join_rate"] > data["bottom_half_join_rate"]


def test_funnels_section_matches_the_behaviour_marts(
    demo_build: Build, demo_report: str, demo_data: dict
) -> None:
    data = demo_data["funnels"]
    assert data["has_behaviour_data"] is True
    steps = [
        step
        for _, step in demo_build.query(
            "select distinct step_number, step from marts.segment_funnels order by 1"
        )
    ]
    assert data["steps"] == steps
    assert len(steps) >= 2
    rows = demo_build.query(
        "select primary_segment, step, sessions from marts.segment_funnels"
        " where activity_month = ?::date",
        [data["month"]],
    )
    cells = {(segment, step): sessions for segment, step, sessions in rows}
    assert data["segments"]
    for item in data["segments"]:
        assert item["sessions"] == [
            cells.get((item["segment"], step)) for step in steps
        ]
        # Sessions never increase along the funnel.
        counts = [count or 0 for count in item["sessions"]]
        assert counts == sorted(counts, reverse=True)
    totals = demo_build.query(
        "select step, sum(sessions) from marts.segment_funnels"
        " group by step_number, step order by step_number"
    )
    assert [(row["step"], row["sessions"]) for row in data["totals"]] == [
        (step, int(count)) for step, count in totals
    ]
    paths = demo_build.query(
        "select path, sessions from marts.session_paths order by path_rank"
    )
    assert [(row["path"], row["sessions"]) for row in data["paths"]] == paths
    ctr = dict(
        demo_build.query("select primary_segment, ctr from marts.segment_behaviour")
    )
    assert {row["primary_segment"] for row in data["behaviour"]} == set(ctr)
    for row in data["behaviour"]:
        if ctr[row["primary_segment"]] is None:
            assert row["ctr"] is None
        else:
            assert row["ctr"] == pytest.approx(ctr[row["primary_segment"]], abs=1e-7)
    for chart_id in ("funnel-conversion", "segment-ctr"):
        assert f'id="chart-{chart_id}"' in demo_report


def test_orders_only_report_has_no_funnels_but_category_affinity(
    orders_only_build: Build, orders_only_report: str
) -> None:
    data = chart_data(orders_only_report)
    text = html.unescape(orders_only_report)
    assert sections.NO_FUNNEL_BEHAVIOUR_SENTENCE in text
    assert data["funnels"]["has_funnels"] is True
    assert data["funnels"]["has_behaviour_data"] is False
    assert orders_only_build.scalar("select count(*) from marts.segment_funnels") == 0
    assert 'id="chart-funnel-conversion"' not in orders_only_report
    # The demo's orders.csv carries product_category: affinity is there.
    assert len(data["affinity"]["categories"]) >= 2
    assert 'id="chart-affinity-lift"' in orders_only_report
