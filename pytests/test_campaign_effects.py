"""The demo campaigns' simulated effects against what the warehouse measures
(issue 15).

The demo generator (tools/demo_data.py) gives every user in the treatment
group of the dormant win-back (winback_2026_07) one extra completed purchase
in its 30-day window with a known probability q (seeds/demo/_manifest.json,
``campaigns``), and the VIP preview (vip_preview_2026_08) none: a null
campaign. To know the treatment group it recomputes the warehouse's split
(the one deliberate mirror of it, a simulated outside marketing tool); the
first checks below need no build, the others read the shared demo build
(with its year of history, so both campaigns have a snapshot at their
start): both splits agree, and the 95% intervals of the measured conversion
lift cover the simulated effects.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import DEMO_DIR, PROJECT_DIR, Build

from tools import demo_data

MANIFEST = json.loads((DEMO_DIR / "_manifest.json").read_text())
WINBACK = "winback_2026_07"
NULL_CAMPAIGN = "vip_preview_2026_08"
DEFINITIONS = pd.read_csv(
    DEMO_DIR / "campaigns.csv", dtype=str, keep_default_na=False
).set_index("campaign_id")


def test_the_manifest_records_each_campaigns_simulated_effect() -> None:
    effects = MANIFEST["campaigns"]
    assert sorted(effects) == sorted(DEFINITIONS.index)
    winback = effects[WINBACK]
    assert 0 < winback["extra_purchase_probability"] < 1
    assert winback["window_days"] == int(
        DEFINITIONS.at[WINBACK, "conversion_window_days"]
    )
    # About q of the treated users bought once more (binomial, 4 sd).
    treated, q = winback["treated_users"], winback["extra_purchase_probability"]
    assert abs(winback["extra_orders"] - q * treated) < 4 * np.sqrt(
        treated * q * (1 - q)
    )
    for campaign_id, effect in effects.items():
        if campaign_id != WINBACK:
            assert effect["extra_purchase_probability"] == 0, campaign_id
            assert effect["extra_orders"] == 0, campaign_id


def test_the_generators_buckets_are_duckdbs_md5_of_the_salted_key() -> None:
    # The same formula in DuckDB's own md5 (the warehouse's engine), for a
    # few users and campaigns; the build test below compares with the
    # warehouse's macro itself.
    users = np.array(["U0000001", "U0000745", "U0004999"])
    for campaign_id in (WINBACK, NULL_CAMPAIGN):
        expected = [
            duckdb.execute(
                "select ('0x' || left(md5(md5(? || ?) || '|' || ?), 8))::ubigint"
                " / 2^32",
                [demo_data.DEMO_PSEUDONYM_SALT, user, campaign_id],
            ).fetchall()[0][0]  # all rows: fetchone would leave the
            # shared default connection busy for later tests of the worker
            for user in users
        ]
        assert demo_data.campaign_buckets(users, campaign_id) == pytest.approx(
            expected, abs=1e-12
        )


@pytest.fixture(scope="module")
def effects() -> demo_data.CampaignEffects:
    """The demo's simulated campaign effects, regenerated (a few seconds)."""
    return demo_data.demo_tables(project_dir=PROJECT_DIR)[2]


def test_the_extra_purchases_fall_in_the_window_of_treated_users(
    effects: demo_data.CampaignEffects,
) -> None:
    orders = effects.orders
    assert len(orders) == MANIFEST["campaigns"][WINBACK]["extra_orders"]
    assert orders["user_id"].is_unique  # one extra purchase at most
    treated = effects.treated[WINBACK]
    assert len(treated) == MANIFEST["campaigns"][WINBACK]["treated_users"]
    assert set(orders["user_id"]) <= set(treated)
    buckets = demo_data.campaign_buckets(treated, WINBACK)
    assert (buckets >= float(DEFINITIONS.at[WINBACK, "holdout_share"])).all()
    start = np.datetime64(DEFINITIONS.at[WINBACK, "start_date"], "s").astype(int)
    window = int(DEFINITIONS.at[WINBACK, "conversion_window_days"]) * 86_400
    assert orders["ordered_at"].between(start, start + window - 1).all()
    assert (orders["status"] == "completed").all()


# --- On the shared demo build ------------------------------------------------


def _relation_exists(build: Build, schema: str, name: str) -> bool:
    return bool(
        build.scalar(
            "select count(*) from information_schema.tables"
            f" where table_schema = '{schema}' and table_name = '{name}'"
        )
    )


def _require(build: Build, schema: str, name: str) -> None:
    if not _relation_exists(build, schema, name):
        pytest.fail(
            f"{schema}.{name} is missing from the demo build: the campaign"
            " assignment and measurement models (issue 15) must be built"
            f" before the demo's simulated effects can be checked"
            f" (build output tail: {build.output[-1500:]})"
        )


@pytest.fixture(scope="module")
def results(demo_build: Build) -> pd.DataFrame:
    """marts.campaign_results, the '(all)' rows, indexed by campaign and group."""
    _require(demo_build, "marts", "campaign_results")
    with duckdb.connect(str(demo_build.database), read_only=True) as connection:
        frame = connection.execute(
            "select * from marts.campaign_results where target_segment = '(all)'"
        ).df()
    return frame.set_index(["campaign_id", "campaign_group"])


def _treatment_row(results: pd.DataFrame, campaign_id: str) -> pd.Series:
    assert (campaign_id, "treatment") in results.index, (
        f"no '(all)' treatment row of {campaign_id} in marts.campaign_results"
    )
    return results.loc[(campaign_id, "treatment")]


def test_the_winback_lift_interval_covers_the_simulated_effect(
    results: pd.DataFrame,
) -> None:
    treatment = _treatment_row(results, WINBACK)
    holdout = results.loc[(WINBACK, "holdout")]
    q = MANIFEST["campaigns"][WINBACK]["extra_purchase_probability"]
    # A treated user converts when they would have anyway or, failing that,
    # with the extra purchase: rate = p + q (1 - p), so lift = q (1 - p),
    # with p the holdout's rate.
    expected = q * (1 - holdout["conversion_rate"])
    lower, upper = (
        treatment["conversion_lift_lower"],
        treatment["conversion_lift_upper"],
    )
    assert lower <= expected <= upper, (lower, expected, upper)
    assert lower > 0  # clearly powered: the win-back works
    assert treatment["conversion_lift"] == pytest.approx(
        treatment["conversion_rate"] - holdout["conversion_rate"], abs=1e-9
    )
    # At least about double the holdout's 30-day conversion.
    assert treatment["conversion_rate"] >= 2 * holdout["conversion_rate"]
    assert holdout["users"] >= 200  # a fair holdout (20% of the dormant)


def test_the_null_campaigns_lift_interval_covers_zero(results: pd.DataFrame) -> None:
    treatment = _treatment_row(results, NULL_CAMPAIGN)
    assert (NULL_CAMPAIGN, "holdout") in results.index
    assert (
        treatment["users"] > 0 and results.loc[(NULL_CAMPAIGN, "holdout")]["users"] > 0
    )
    lower, upper = (
        treatment["conversion_lift_lower"],
        treatment["conversion_lift_upper"],
    )
    assert lower <= 0 <= upper, (lower, upper)


def test_the_generators_split_is_the_warehouses(
    demo_build: Build, effects: demo_data.CampaignEffects
) -> None:
    _require(demo_build, "intermediate", "int_campaign_assignments")
    with duckdb.connect(str(demo_build.database), read_only=True) as connection:
        assigned = connection.execute(
            "select campaign_id, user_id, assignment_bucket, campaign_group,"
            " planned_holdout_share from intermediate.int_campaign_assignments"
        ).df()
    winback = assigned[assigned["campaign_id"] == WINBACK]
    assert len(winback) > 0, f"{WINBACK} assigned no user in the demo build"
    # The generator's treatment set, restricted to the users the warehouse
    # assigned to the win-back, is the warehouse's treatment group ...
    generator_treated = set(effects.treated[WINBACK])
    warehouse_treated = set(
        winback.loc[winback["campaign_group"] == "treatment", "user_id"]
    )
    split = winback[winback["campaign_group"] != "excluded"]
    assert warehouse_treated == generator_treated & set(split["user_id"])
    # ... so every treated user had the chance of the extra purchase.
    assert warehouse_treated <= generator_treated
    # And the buckets are the same numbers, for every campaign assigned.
    for campaign_id, rows in assigned.groupby("campaign_id"):
        buckets = demo_data.campaign_buckets(rows["user_id"].to_numpy(), campaign_id)
        np.testing.assert_allclose(
            rows["assignment_bucket"].to_numpy(), buckets, rtol=0, atol=1e-12
        )
        in_split = rows["campaign_group"] != "excluded"
        assert (
            (buckets < rows["planned_holdout_share"].to_numpy())[in_split.to_numpy()]
            == (rows.loc[in_split, "campaign_group"] == "holdout").to_numpy()
        ).all(), campaign_id
