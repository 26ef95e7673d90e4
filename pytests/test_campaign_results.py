"""The campaign measurement marts on the demo build (with its year of
segment history): campaign_results adds up (rates, the '(all)' row, the
assigned users), its statistics are the methods' on its own counts, the
conversion counts match the orders, segment_conversion_monthly counts each
month's snapshot; and the sample ratio mismatch warning fires on a copy
whose split is broken. The simulated demo effects are tested with the
demo generator (test_demo_data)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import Build, copy_build, run_dbt

from segmentation.methods import campaigns as stats

COUNTS = ("users", "converters", "orders", "revenue")


def _rows(build: Build, sql: str) -> list[dict]:
    with duckdb.connect(str(build.database), read_only=True) as connection:
        cursor = connection.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _results(build: Build) -> list[dict]:
    return _rows(
        build,
        "select * from marts.campaign_results"
        " order by campaign_id, target_segment, campaign_group",
    )


def test_every_launched_campaign_is_measured_in_pairs(demo_build: Build) -> None:
    results = _results(demo_build)
    launched = {
        campaign
        for (campaign,) in demo_build.query(
            "select distinct campaign_id from marts.campaign_assignments"
            " where campaign_group in ('treatment', 'holdout')"
        )
    }
    assert launched, "the demo assigns campaigns"
    assert {row["campaign_id"] for row in results} == launched
    pairs: dict[tuple, set] = {}
    for row in results:
        key = (row["campaign_id"], row["target_segment"])
        pairs.setdefault(key, set()).add(row["campaign_group"])
    assert set(map(frozenset, pairs.values())) == {frozenset({"treatment", "holdout"})}
    assert {campaign for campaign, segment in pairs if segment == "(all)"} == launched


def test_rates_are_counts_over_users(demo_build: Build) -> None:
    for row in _results(demo_build):
        if row["users"] == 0:
            assert row["conversion_rate"] is None
            continue
        assert row["converters"] <= row["users"]
        assert row["conversion_rate"] == pytest.approx(row["converters"] / row["users"])
        assert row["revenue_per_user"] == pytest.approx(row["revenue"] / row["users"])


def test_the_all_row_sums_the_segments(demo_build: Build) -> None:
    totals: dict[tuple, dict] = {}
    all_rows: dict[tuple, dict] = {}
    for row in _results(demo_build):
        key = (row["campaign_id"], row["campaign_group"])
        if row["target_segment"] == "(all)":
            all_rows[key] = row
            continue
        summed = totals.setdefault(key, dict.fromkeys(COUNTS, 0))
        for column in COUNTS:
            summed[column] += row[column]
    assert all_rows.keys() == totals.keys()
    for key, row in all_rows.items():
        for column in COUNTS:
            assert row[column] == pytest.approx(totals[key][column]), (key, column)


def test_measured_users_are_the_assigned_users(demo_build: Build) -> None:
    assigned = dict(
        ((campaign, group), users)
        for campaign, group, users in demo_build.query(
            "select campaign_id, campaign_group, count(*)"
            " from marts.campaign_assignments"
            " where campaign_group in ('treatment', 'holdout') group by 1, 2"
        )
    )
    measured = {
        (row["campaign_id"], row["campaign_group"]): row["users"]
        for row in _results(demo_build)
        if row["target_segment"] == "(all)"
    }
    assert measured == {key: assigned.get(key, 0) for key in measured}
    assert sum(measured.values()) == sum(assigned.values())


def test_converters_and_revenue_match_the_orders_in_the_window(
    demo_build: Build,
) -> None:
    # Counted here straight from the orders, not through the models.
    expected = {
        (campaign, group): (converters, orders, float(revenue))
        for campaign, group, converters, orders, revenue in demo_build.query(
            """
            select
                assignments.campaign_id,
                assignments.campaign_group,
                count(distinct orders.user_id),
                count(orders.order_id),
                coalesce(sum(orders.amount), 0)
            from intermediate.int_campaign_assignments as assignments
            inner join intermediate.int_campaigns_scheduled as campaigns
                on assignments.campaign_id = campaigns.campaign_id
            left join staging.stg_app__orders as orders
                on orders.user_id = assignments.user_id
                and orders.status in ('completed', 'paid')
                and cast(orders.ordered_at as date) >= campaigns.start_date
                and cast(orders.ordered_at as date)
                    < least(campaigns.conversion_window_end, campaigns.as_of_date)
            where assignments.campaign_group in ('treatment', 'holdout')
            group by 1, 2
            """
        )
    }
    measured = {
        (row["campaign_id"], row["campaign_group"]): (
            row["converters"],
            row["orders"],
            row["revenue"],
        )
        for row in _results(demo_build)
        if row["target_segment"] == "(all)"
    }
    assert measured.keys() == expected.keys()
    for key, (converters, orders, revenue) in measured.items():
        assert (converters, orders) == expected[key][:2], key
        assert revenue == pytest.approx(expected[key][2]), key
    assert any(converters > 0 for converters, _, _ in measured.values())


def test_comparison_is_the_methods_on_the_marts_counts(demo_build: Build) -> None:
    rows = _results(demo_build)
    by_key = {
        (r["campaign_id"], r["target_segment"], r["campaign_group"]): r for r in rows
    }
    for row in rows:
        if row["campaign_group"] == "holdout":
            assert row["verdict"] is None
            assert row["conversion_lift"] is None
            assert row["sample_ratio_p_value"] is None
            continue
        holdout = by_key[(row["campaign_id"], row["target_segment"], "holdout")]
        counts = (
            row["converters"],
            row["users"],
            holdout["converters"],
            holdout["users"],
        )
        if row["users"] and holdout["users"]:
            assert row["conversion_lift"] == pytest.approx(
                row["conversion_rate"] - holdout["conversion_rate"]
            )
            lower, upper = stats.difference_interval(*counts)
            assert row["conversion_lift_lower"] == pytest.approx(lower)
            assert row["conversion_lift_upper"] == pytest.approx(upper)
            assert lower <= row["conversion_lift"] <= upper
            assert row["revenue_per_user_lift"] == pytest.approx(
                row["revenue_per_user"] - holdout["revenue_per_user"]
            )
        assert row["sample_ratio_p_value"] == pytest.approx(
            stats.sample_ratio_p_value(
                row["users"], holdout["users"], row["planned_holdout_share"]
            )
        )
        assert row["is_sample_ratio_mismatch"] == (row["sample_ratio_p_value"] < 0.001)
        assert row["verdict"]
        if row["is_interim"]:
            assert row["verdict"] in ("interim", "sample ratio mismatch")
        assert row["is_interim"] == (row["conversion_window_end"] > row["as_of_date"])


def test_an_interim_and_a_finished_campaign_on_the_demo(demo_build: Build) -> None:
    verdicts = {
        row["campaign_id"]: row["verdict"]
        for row in _results(demo_build)
        if row["target_segment"] == "(all)" and row["campaign_group"] == "treatment"
    }
    # potential_welcome_2026_10 starts on the as-of date: nothing measured yet.
    assert verdicts["potential_welcome_2026_10"] == "interim"
    assert verdicts["winback_2026_07"] not in ("interim", "sample ratio mismatch")


def test_the_demo_split_has_no_sample_ratio_mismatch(demo_build: Build) -> None:
    assert (
        demo_build.scalar(
            "select count(*) from marts.campaign_results where is_sample_ratio_mismatch"
        )
        == 0
    )
    assert "campaign_results__no_sample_ratio_mismatch" in demo_build.output
    assert not _warned(demo_build.output, "campaign_results__no_sample_ratio_mismatch")


def _warned(output: str, test_name: str) -> bool:
    return any(
        "WARN" in line and test_name in line and "PASS" not in line
        for line in output.splitlines()
    )


def test_a_broken_split_is_flagged_and_warned(
    demo_build: Build, tmp_path: Path
) -> None:
    """Most of winback_2026_07's holdout lost after assignment (as a bad
    export or a deletion would): the rebuilt results flag the campaign and
    the warning test names it, without failing the build."""
    workdir = copy_build(demo_build, tmp_path / "broken")
    with duckdb.connect(str(workdir / "warehouse.duckdb")) as connection:
        connection.execute(
            "delete from intermediate.int_campaign_assignments"
            " where campaign_id = 'winback_2026_07' and campaign_group = 'holdout'"
            " and assignment_bucket >= 0.05"
        )
        kept = connection.execute(
            "select count(*) from intermediate.int_campaign_assignments"
            " where campaign_id = 'winback_2026_07' and campaign_group = 'holdout'"
        ).fetchone()[0]
    assert kept > 0
    rebuilt = run_dbt(workdir, "build", "--select", "int_campaign_groups_measured+")
    assert rebuilt.returncode == 0, rebuilt.output[-3000:]
    assert _warned(rebuilt.output, "campaign_results__no_sample_ratio_mismatch")
    flagged = {
        (row["campaign_id"], row["target_segment"]): row
        for row in _results(rebuilt)
        if row["is_sample_ratio_mismatch"]
    }
    assert ("winback_2026_07", "(all)") in flagged
    assert {campaign for campaign, _ in flagged} == {"winback_2026_07"}
    row = flagged[("winback_2026_07", "(all)")]
    assert row["verdict"] == "sample ratio mismatch"
    assert row["sample_ratio_p_value"] < 0.001


def test_segment_conversion_monthly_counts_each_months_snapshot(
    demo_build: Build,
) -> None:
    rows = _rows(
        demo_build,
        "select * from marts.segment_conversion_monthly order by 1, 2",
    )
    assert rows
    snapshot_sizes = dict(
        ((day, segment), users)
        for day, segment, users in demo_build.query(
            "select as_of_date, primary_segment, count(*)"
            " from marts.segment_history group by 1, 2"
        )
    )
    as_of = demo_build.scalar("select max(as_of_date) from marts.segment_history")
    months = sorted({row["month_start"] for row in rows})
    first_snapshot = demo_build.scalar(
        "select min(as_of_date) from marts.segment_history"
    )
    assert months[0] == first_snapshot.replace(day=1)
    assert months[-1] < as_of
    for row in rows:
        assert row["snapshot_date"] <= row["month_start"]
        assert (
            row["users"]
            == snapshot_sizes[(row["snapshot_date"], row["primary_segment"])]
        )
        assert row["conversion_rate"] == pytest.approx(row["converters"] / row["users"])
        assert row["revenue_per_user"] == pytest.approx(
            float(row["revenue"]) / row["users"]
        )
        assert row["converters"] <= min(row["users"], row["orders"])
        assert row["campaign_users"] <= row["users"]
    # The winback campaign's treatment users are in its start month's row.
    treatment = demo_build.scalar(
        "select count(*) from marts.campaign_assignments"
        " where campaign_id = 'winback_2026_07' and campaign_group = 'treatment'"
    )
    july = {
        row["primary_segment"]: row["campaign_users"]
        for row in rows
        if str(row["month_start"]) == "2026-07-01"
    }
    assert sum(july.values()) == treatment > 0
    assert all(
        row["campaign_users"] == 0 for row in rows if row["month_start"].month == 6
    )
