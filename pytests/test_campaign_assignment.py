"""Campaign assignment: windows, frozen groups, the salted hash split and
same-channel priority, checked on the demo build (13 monthly snapshots,
as of 2026-10-01) and on one copy of it built again: without the older
snapshots, with them back, and at a later as-of date with --full-refresh.

Expected values are recounted here from the definitions, the segment
history and the users' consent, not read back from the models' logic.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest
from conftest import Build, copy_build, run_dbt

ASSIGNMENTS = "intermediate.int_campaign_assignments"
COLUMNS = (
    "campaign_id, user_id, user_key, eligibility_as_of_date,"
    " assigned_as_of_date, target_segment, rfm_segment, lifecycle_stage,"
    " value_tier, assignment_bucket, planned_holdout_share, campaign_group,"
    " excluded_by_campaign_id"
)
ASSIGNED = ("treatment", "holdout")
# Two-sided 99.9% quantile of the standard normal.
Z_999 = 3.2905
LATER = "2026-11-01"
WAITING_NOTE = (
    "no segment snapshot on or before the start date: backfill the history"
    " (HISTORY_FROM)"
)


def _rows(build: Build) -> list[tuple]:
    return build.query(f"select {COLUMNS} from {ASSIGNMENTS} order by 1, 2")


def _campaigns(build: Build) -> dict[str, dict]:
    rows = build.query("select * from marts.campaigns")
    names = [
        row[0]
        for row in build.query("select column_name from (describe marts.campaigns)")
    ]
    return {row[0]: dict(zip(names, row, strict=True)) for row in rows}


def _overlap(first: dict, second: dict) -> bool:
    return (
        first["channel"] == second["channel"]
        and first["start_date"] <= second["campaign_end_date"]
        and second["start_date"] <= first["campaign_end_date"]
    )


def test_windows_and_status_follow_the_definitions(demo_build: Build) -> None:
    campaigns = _campaigns(demo_build)
    as_of = dt.date(2026, 10, 1)
    snapshots = sorted(
        row[0]
        for row in demo_build.query(
            "select distinct as_of_date from marts.segment_history"
        )
    )
    for campaign in campaigns.values():
        start, days = campaign["start_date"], campaign["conversion_window_days"]
        if days is not None:
            window_end = start + dt.timedelta(days=days)
        elif campaign["end_date"] is not None:
            window_end = campaign["end_date"] + dt.timedelta(days=1)
        else:
            window_end = start + dt.timedelta(days=30)
        assert campaign["conversion_window_end"] == window_end
        last_day = campaign["end_date"] or window_end - dt.timedelta(days=1)
        assert campaign["campaign_end_date"] == last_day
        status = (
            "scheduled"
            if start > as_of
            else "running"
            if as_of <= last_day
            else "ended"
        )
        assert campaign["campaign_status"] == status, campaign["campaign_id"]
        assert campaign["is_interim"] == (window_end > as_of)
        before = [day for day in snapshots if day <= start]
        assert campaign["eligibility_as_of_date"] == (before[-1] if before else None)
    # The demo's campaigns (seeds/demo/campaigns.csv) cover every status,
    # and the one starting between snapshots reads the snapshot before.
    assert {c["campaign_status"] for c in campaigns.values()} == {
        "scheduled",
        "running",
        "ended",
    }
    assert campaigns["at_risk_nudge_2026_09"]["eligibility_as_of_date"] == dt.date(
        2026, 9, 1
    )
    assert campaigns["holiday_2026_11"]["eligible_users"] is None
    assert campaigns["holiday_2026_11"]["status_note"].startswith("scheduled")


def test_eligible_users_are_the_opted_in_matching_users_of_the_snapshot(
    demo_build: Build,
) -> None:
    """Recount each campaign's eligible users from its definition, the
    segment history at the snapshot and the users' consent (the demo build
    assigned every campaign, so consent as of now is what it knew)."""
    definitions = demo_build.query(
        "select campaign_id, target_primary_segments, target_rfm_segments,"
        " target_lifecycle_stages, target_value_tiers, eligibility_as_of_date"
        " from intermediate.int_campaigns_scheduled"
        " where campaign_status != 'scheduled'"
    )
    consent = dict(
        demo_build.query(
            "select user_id, is_opted_in_to_marketing from marts.user_segments"
        )
    )
    history = demo_build.query(
        "select as_of_date, user_id, primary_segment, rfm_segment,"
        " lifecycle_stage, value_tier from intermediate.int_user_snapshots_accumulated"
    )
    by_date = defaultdict(list)
    for as_of_date, user_id, *values in history:
        by_date[as_of_date].append((user_id, values))
    assigned = defaultdict(set)
    for campaign_id, user_id in demo_build.query(
        f"select campaign_id, user_id from {ASSIGNMENTS}"
    ):
        assigned[campaign_id].add(user_id)
    assert len(definitions) == 5
    for campaign_id, *targets, snapshot in definitions:
        expected = {
            user_id
            for user_id, values in by_date[snapshot]
            if consent.get(user_id)
            and all(
                not target or value in target
                for target, value in zip(targets, values, strict=True)
            )
        }
        assert expected, campaign_id
        assert assigned[campaign_id] == expected, campaign_id
    opted_out = {user for user, opted_in in consent.items() if not opted_in}
    assert opted_out
    assert not opted_out & set().union(*assigned.values())


def test_bucket_is_the_salted_md5_and_decides_the_group(demo_build: Build) -> None:
    rows = demo_build.query(
        "select campaign_id, user_key, assignment_bucket, planned_holdout_share,"
        f" campaign_group from {ASSIGNMENTS}"
    )
    assert len(rows) > 3000
    for campaign_id, user_key, bucket, share, group in rows:
        digest = hashlib.md5(f"{user_key}|{campaign_id}".encode()).hexdigest()
        assert bucket == int(digest[:8], 16) / 2**32, (campaign_id, user_key)
        assert 0 <= bucket < 1
        if group != "excluded":
            assert group == ("holdout" if bucket < share else "treatment")


def test_bucket_is_independent_across_campaigns(demo_build: Build) -> None:
    """Over the users eligible for both of the two campaigns sharing the
    most users, the buckets are uncorrelated (within the 99.9% bound of a
    zero correlation), so one campaign's holdout is not another's."""
    pairs = demo_build.query(
        "select first.campaign_id, second.campaign_id, count(*) as users"
        f" from {ASSIGNMENTS} as first inner join {ASSIGNMENTS} as second"
        " on first.user_id = second.user_id"
        " and first.campaign_id < second.campaign_id"
        " group by all order by users desc limit 1"
    )
    first, second, users = pairs[0]
    assert users > 300
    correlation = demo_build.scalar(
        "select corr(first.assignment_bucket, second.assignment_bucket)"
        f" from {ASSIGNMENTS} as first inner join {ASSIGNMENTS} as second"
        " on first.user_id = second.user_id"
        f" where first.campaign_id = '{first}' and second.campaign_id = '{second}'"
    )
    assert abs(correlation) < Z_999 / math.sqrt(users)


def test_holdout_share_holds_within_each_target_segment(demo_build: Build) -> None:
    rows = demo_build.query(
        "select campaign_id, target_segment, any_value(planned_holdout_share),"
        " count(*), count(*) filter (where campaign_group = 'holdout')"
        f" from {ASSIGNMENTS} where campaign_group in ('treatment', 'holdout')"
        " group by all"
    )
    assert len(rows) >= 5
    for campaign_id, segment, share, users, holdout in rows:
        bound = Z_999 * math.sqrt(users * share * (1 - share)) + 1
        assert abs(holdout - users * share) <= bound, (campaign_id, segment)
    campaigns = _campaigns(demo_build)
    for campaign in campaigns.values():
        if campaign["treatment_users"]:
            total = campaign["treatment_users"] + campaign["holdout_users"]
            assert campaign["realised_holdout_share"] == pytest.approx(
                campaign["holdout_users"] / total
            )


def test_priority_keeps_users_out_of_two_overlapping_campaigns(
    demo_build: Build,
) -> None:
    campaigns = _campaigns(demo_build)
    members = defaultdict(dict)
    for campaign_id, user_id, group, excluded_by in demo_build.query(
        f"select campaign_id, user_id, campaign_group, excluded_by_campaign_id"
        f" from {ASSIGNMENTS}"
    ):
        members[campaign_id][user_id] = (group, excluded_by)
    overlaps = {
        (row[0], row[1]): row[2:]
        for row in demo_build.query(
            "select campaign_id, other_campaign_id, users_eligible_for_both,"
            " users_assigned_to_both from marts.campaign_overlaps"
        )
    }
    expected_pairs = set()
    elsewhere = defaultdict(set)
    for first in campaigns.values():
        for second in campaigns.values():
            if first is second or not _overlap(first, second):
                continue
            one, other = members[first["campaign_id"]], members[second["campaign_id"]]
            both = one.keys() & other.keys()
            elsewhere[first["campaign_id"]] |= both
            assigned = {
                user
                for user in both
                if one[user][0] in ASSIGNED and other[user][0] in ASSIGNED
            }
            assert not assigned, (first["campaign_id"], second["campaign_id"])
            pair = (first["campaign_id"], second["campaign_id"])
            if pair in overlaps:
                expected_pairs.add(pair)
                assert overlaps[pair] == (len(both), 0)
    # Every overlapping pair is reported once.
    assert set(overlaps) == expected_pairs
    assert 2 * len(expected_pairs) == sum(
        _overlap(a, b)
        for a in campaigns.values()
        for b in campaigns.values()
        if a is not b
    )
    for campaign_id, campaign in campaigns.items():
        if campaign["eligible_users"] is None:
            continue
        groups = [group for group, _ in members[campaign_id].values()]
        assert campaign["users_eligible_elsewhere"] == len(elsewhere[campaign_id])
        assert campaign["excluded_users"] == groups.count("excluded")
        assert campaign["eligible_users"] == len(groups)
    # The demo's overlap: vip_preview and crosssell start the same day on
    # email, and high-value users are in both targets; vip_preview has
    # priority 1, so crosssell loses exactly the users both want.
    vip, crosssell = members["vip_preview_2026_08"], members["crosssell_2026_08"]
    both = vip.keys() & crosssell.keys()
    assert len(both) > 50
    assert overlaps[("vip_preview_2026_08", "crosssell_2026_08")][0] == len(both)
    assert {
        user for user, (group, _) in crosssell.items() if group == "excluded"
    } == both
    assert {
        excluded_by for group, excluded_by in crosssell.values() if group == "excluded"
    } == {"vip_preview_2026_08"}
    assert all(group in ASSIGNED for group, _ in vip.values())


def _query(database: Path, sql: str, parameters: list | None = None) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(sql, parameters or []).fetchall()


@pytest.fixture(scope="module")
def rebuilt(demo_build: Build, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A copy of the demo build, its assignments dropped and rebuilt twice
    at the same as-of date (first without the snapshots before the as-of
    date, then with them back), then built at a later as-of date with
    --full-refresh. Returns what each step left."""
    workdir = copy_build(demo_build, tmp_path_factory.mktemp("campaigns") / "copy")
    database = workdir / "warehouse.duckdb"
    history = "intermediate.int_user_snapshots_accumulated"
    with duckdb.connect(str(database)) as connection:
        connection.execute(f"drop table {ASSIGNMENTS}")
        connection.execute(
            f"create table main.older as select * from {history}"
            " where as_of_date < '2026-10-01'"
        )
        connection.execute(f"delete from {history} where as_of_date < '2026-10-01'")
    no_history = run_dbt(workdir, "build", "--select", "int_campaigns_scheduled+")
    copy = Build(0, "", "", database)
    steps = {
        "no_history": no_history,
        "without_rows": _rows(copy),
        "without_campaigns": _campaigns(copy),
    }
    with duckdb.connect(str(database)) as connection:
        connection.execute(f"insert into {history} select * from main.older")
        connection.execute("drop table main.older")
    steps["restored"] = run_dbt(
        workdir, "build", "--select", "int_campaigns_scheduled+"
    )
    steps["restored_rows"] = _rows(copy)
    # The later build: dbt's build of make run --as-of-date LATER
    # --full-refresh (the demo's seeds are in the copy), of the assignments,
    # what they read and what reads them, not of the unrelated marts.
    steps["later"] = run_dbt(
        workdir,
        "build",
        "--select",
        "+int_campaign_assignments+",
        "--exclude",
        "path:seeds/demo",
        "--exclude-resource-type",
        "unit_test",
        "--indirect-selection",
        "cautious",
        "--full-refresh",
        "--vars",
        json.dumps({"as_of_date": LATER}),
    )
    steps["later_rows"] = _rows(copy)
    steps["later_build"] = copy
    return steps


def test_without_older_snapshots_only_the_campaign_starting_now_is_assigned(
    rebuilt: dict, demo_build: Build
) -> None:
    assert rebuilt["no_history"].returncode == 0, rebuilt["no_history"].output[-3000:]
    campaigns = rebuilt["without_campaigns"]
    assigned = {row[0] for row in rebuilt["without_rows"]}
    assert assigned == {"potential_welcome_2026_10"}
    for campaign_id, campaign in campaigns.items():
        if campaign["campaign_status"] == "scheduled":
            continue
        if campaign_id == "potential_welcome_2026_10":
            assert campaign["status_note"].endswith("(frozen)")
        else:
            assert campaign["eligibility_as_of_date"] is None
            assert campaign["status_note"] == WAITING_NOTE, campaign_id
            assert campaign["eligible_users"] is None
    # The campaign frozen alone is the same as in the full demo build.
    assert rebuilt["without_rows"] == [
        row for row in _rows(demo_build) if row[0] == "potential_welcome_2026_10"
    ]


def test_assignments_are_identical_when_rebuilt_and_when_assigned_late(
    rebuilt: dict, demo_build: Build
) -> None:
    """Assigned again from scratch at the same date, first one campaign,
    then the others in a later build: the same rows as the demo's build,
    which assigned all at once."""
    assert rebuilt["restored"].returncode == 0, rebuilt["restored"].output[-3000:]
    assert rebuilt["restored_rows"] == _rows(demo_build)


def test_frozen_groups_survive_a_later_full_refresh_build(
    rebuilt: dict, demo_build: Build
) -> None:
    later = rebuilt["later"]
    assert later.returncode == 0, later.output[-3000:]
    build = rebuilt["later_build"]
    assert build.scalar("select as_of_date from intermediate.int_as_of_date") == (
        dt.date.fromisoformat(LATER)
    )
    assert rebuilt["later_rows"] == _rows(demo_build)
    # ... while users moved on: in the later snapshot, many assigned users
    # are in another primary segment than the one they were assigned in.
    moved = build.scalar(
        f"select count(*) from {ASSIGNMENTS} as assignments"
        " inner join intermediate.int_user_snapshots_accumulated as snapshots"
        " on assignments.user_id = snapshots.user_id"
        f" and snapshots.as_of_date = '{LATER}'"
        " where snapshots.primary_segment != assignments.target_segment"
    )
    assert moved > 100
    statuses = {
        campaign_id: campaign["campaign_status"]
        for campaign_id, campaign in _campaigns(build).items()
    }
    assert statuses["at_risk_nudge_2026_09"] == "ended"
    assert statuses["holiday_2026_11"] == "scheduled"
