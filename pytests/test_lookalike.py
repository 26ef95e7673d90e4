"""Lookalike audiences (issue 17): the seed-vs-rest classifier
(segmentation.methods.lookalike and its glue) on generated frames, the
marts of the shared demo build (a year of monthly segment history), and the
fallback of a bad seed on a copy of it. The SQL fallback rule itself
(int_lookalike_seed_checked) is covered reason by reason by dbt unit tests
in models/intermediate/lookalike/_lookalike__models.yml.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from conftest import Build, copy_build, run_dbt

from segmentation.dbt_python import lookalike as glue
from segmentation.methods import lookalike
from segmentation.methods import propensity as p

SEED = 42
SETTINGS = json.dumps({"random_state": SEED})
# The defaults of dbt_project.yml the demo build runs with.
SEED_COLUMN, SEED_VALUE = "primary_segment", "high_value"
AUDIENCE_SHARE = 0.1


# --- the pure function --------------------------------------------------------


def feature_rows(users: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Feature rows laid out like int_user_features_accumulated (keys, then
    numeric and categorical features) and a population: the seed is the
    users with a high ``monetary`` (x0 + noise > 1.2), and value_tier is
    'high' exactly for them (a feature that would give the seed away).
    Half the users are in the fit sample."""
    rng = np.random.default_rng(seed)
    ids = [f"user-{i:05d}" for i in range(users)]
    monetary = rng.normal(size=users)
    features = pd.DataFrame(
        {
            "as_of_date": pd.Timestamp("2026-07-01"),
            "user_id": ids,
            "user_key": [f"key-{i}" for i in range(users)],
            "monetary": monetary,
            "sessions_90d": rng.normal(size=users),
            "age": np.where(rng.random(users) < 0.2, np.nan, rng.normal(size=users)),
        }
    )
    member = monetary + rng.normal(scale=0.3, size=users) > 1.2
    features["value_tier"] = pd.Series(np.where(member, "high", "low"), dtype="str")
    features["region"] = pd.Series(
        rng.choice(["north", "south", None], size=users), dtype="str"
    )
    population = pd.DataFrame(
        {
            "user_id": ids,
            "is_seed_member": member,
            "is_in_fit_sample": rng.random(users) < 0.5,
        }
    )
    return features, population


def test_the_seed_column_is_left_out_of_the_features_only_when_it_is_one():
    features, _ = feature_rows(50, 1)
    every = p.split_features(features, p.SCORING_KEY_COLUMNS)
    assert "value_tier" in every.categorical
    without = lookalike.seed_features(features, "value_tier")
    assert without.columns == [c for c in every.columns if c != "value_tier"]
    assert lookalike.seed_features(features, "primary_segment") == every
    assert not {"as_of_date", "user_id", "user_key"} & set(every.columns)


def test_non_members_are_scored_and_the_signal_ranks_lookalikes_first():
    features, population = feature_rows(3000, 2)
    scored = lookalike.scores(features, population, "value_tier", SEED)
    outside = population.loc[~population["is_seed_member"], "user_id"]
    assert scored["user_id"].tolist() == sorted(outside)
    assert list(scored.columns) == ["user_id", "user_key", "lookalike_score"]
    assert scored["lookalike_score"].between(0, 1).all()
    # Without value_tier, only monetary tells the seed apart: among the
    # non-members, those closest to the threshold look most like the seed.
    monetary = features.set_index("user_id").loc[scored["user_id"], "monetary"]
    near = scored.loc[monetary.to_numpy() > 0.8, "lookalike_score"]
    far = scored.loc[monetary.to_numpy() < 0, "lookalike_score"]
    assert len(near) > 30
    assert near.mean() > 5 * far.mean()


def test_scores_are_identical_whatever_the_row_order():
    features, population = feature_rows(2000, 3)
    first = lookalike.scores(features, population, "value_tier", SEED)
    shuffled = lookalike.scores(
        features.sample(frac=1, random_state=7),
        population.sample(frac=1, random_state=8),
        "value_tier",
        SEED,
    )
    pd.testing.assert_frame_equal(first, shuffled, check_exact=True)
    other_seed = lookalike.scores(features, population, "value_tier", SEED + 1)
    assert other_seed["user_id"].tolist() == first["user_id"].tolist()


def test_scoring_in_chunks_gives_the_same_scores(monkeypatch):
    features, population = feature_rows(1000, 6)
    whole = lookalike.scores(features, population, "value_tier", SEED)
    monkeypatch.setattr(lookalike, "PREDICT_CHUNK_ROWS", 97)
    chunked = lookalike.scores(features, population, "value_tier", SEED)
    assert len(whole) > 3 * 97
    pd.testing.assert_frame_equal(whole, chunked, check_exact=True)


def test_a_fit_sample_without_seed_members_raises_a_clear_error():
    features, population = feature_rows(300, 4)
    population["is_in_fit_sample"] = ~population["is_seed_member"]
    with pytest.raises(p.SingleClassError, match="single class"):
        lookalike.scores(features, population, "value_tier", SEED)


# --- the glue -------------------------------------------------------------------


def checked_rows(**status: str) -> pa.Table:
    """Rows of int_lookalike_seed_checked with the given status per
    purpose (value_tier = high on 2026-07-01)."""
    return pa.Table.from_pandas(
        pd.DataFrame(
            [
                {
                    "purpose": purpose,
                    "seed_column": "value_tier",
                    "seed_value": "high",
                    "snapshot_date": pd.Timestamp("2026-07-01").date(),
                    "seed_users": 1,
                    "status": value,
                    "fallback_note": None if value == "ready" else "a note",
                }
                for purpose, value in status.items()
            ]
        ),
        preserve_index=False,
    )


def test_glue_fits_ready_purposes_only_and_types_its_tables():
    features, population = feature_rows(1500, 5)
    database = duckdb.connect()
    try:
        database.register("features", features)
        database.register(
            "population",
            pd.concat(
                [population.assign(purpose=purpose) for purpose in glue.PURPOSES],
                ignore_index=True,
            ),
        )
        relations = (database.table("population"), database.table("features"))
        none = glue.scored_table(
            checked_rows(scoring="fallback", evaluation="fallback"),
            *relations,
            SETTINGS,
        )
        assert none.num_rows == 0
        assert none.schema == glue.SCORED_SCHEMA
        one = glue.scored_table(
            checked_rows(scoring="ready", evaluation="fallback"),
            *relations,
            SETTINGS,
        )
        assert one.schema == glue.SCORED_SCHEMA
        frame = one.to_pandas()
        assert set(frame["purpose"]) == {"scoring"}
        expected = lookalike.scores(features, population, "value_tier", SEED)
        pd.testing.assert_frame_equal(
            frame[["user_id", "user_key", "lookalike_score"]], expected
        )
    finally:
        database.close()


# --- the demo build ---------------------------------------------------------------


def test_demo_top_decile_joins_the_seed_more_than_the_bottom_half(
    demo_build: Build,
) -> None:
    """The issue's done-when: fitted at the snapshot 90 days back, the most
    similar tenth of the non-members joined high_value by the as-of date
    more often than the least similar half (and more than average)."""
    rows = demo_build.query(
        "select status, seed_column, seed_value, snapshot_date, evaluated_at,"
        " lookalike_decile, users, joined, join_rate, lift,"
        " top_decile_join_rate, bottom_half_join_rate"
        " from marts.lookalike_evaluation order by lookalike_decile"
    )
    assert [row[5] for row in rows] == list(range(1, 11))
    status, column, value, snapshot, evaluated_at = rows[0][:5]
    assert (status, column, value) == ("ready", SEED_COLUMN, SEED_VALUE)
    assert (evaluated_at - snapshot).days >= 90
    users = {row[5]: row[6] for row in rows}
    joined = {row[5]: row[7] for row in rows}
    top = joined[1] / users[1]
    bottom = sum(joined[d] for d in range(6, 11)) / sum(users[d] for d in range(6, 11))
    assert rows[0][10] == pytest.approx(top)
    assert rows[0][11] == pytest.approx(bottom)
    assert top > bottom
    assert rows[0][9] > 1  # decile 1's lift
    assert max(users.values()) - min(users.values()) <= 1


def test_demo_scores_cover_every_non_member_and_the_audience_is_the_top_share(
    demo_build: Build,
) -> None:
    """One row per current non-member of the seed; the audience is the top
    lookalike_audience_share (rounded up) of the consenting non-members by
    score, ties by user_key, recomputed here."""
    scores = pd.DataFrame(
        demo_build.query(
            "select user_id, user_key, lookalike_score, lookalike_percentile,"
            " lookalike_decile, marketing_opt_in, in_audience, seed_column,"
            " seed_value from marts.lookalike_scores"
        ),
        columns=[
            "user_id",
            "user_key",
            "score",
            "percentile",
            "decile",
            "opt_in",
            "in_audience",
            "seed_column",
            "seed_value",
        ],
    )
    segments = dict(
        demo_build.query(
            "select user_id, primary_segment = 'high_value'"
            " and primary_segment is not null from marts.user_segments"
        )
    )
    consent = dict(
        demo_build.query(
            "select user_id, is_opted_in_to_marketing from marts.user_segments"
        )
    )
    assert sorted(scores["user_id"]) == sorted(u for u, m in segments.items() if not m)
    assert set(scores["seed_column"]) == {SEED_COLUMN}
    assert set(scores["seed_value"]) == {SEED_VALUE}
    assert scores["opt_in"].tolist() == [consent[u] for u in scores["user_id"]]
    consenting = scores[scores["opt_in"]].sort_values(
        ["score", "user_key"], ascending=[False, True]
    )
    size = math.ceil(AUDIENCE_SHARE * len(consenting))
    assert size > 100
    expected = set(consenting["user_id"].head(size))
    assert set(scores.loc[scores["in_audience"], "user_id"]) == expected
    # The percentile: 1 minus the share of the others scoring higher (1.0
    # for the highest score, ties included).
    higher = scores["score"].rank(method="min", ascending=False) - 1
    expected_percentile = 1 - higher / (len(scores) - 1)
    assert np.allclose(scores["percentile"], expected_percentile)
    assert scores.loc[scores["score"].idxmax(), "percentile"] == 1.0
    top = scores.loc[scores["decile"] == 1, "score"]
    rest = scores.loc[scores["decile"] > 1, "score"]
    assert top.min() >= rest.max()
    audience = demo_build.scalar(
        "select max(audience_users) from marts.lookalike_evaluation"
    )
    assert audience == size


def test_a_bad_seed_column_gives_a_fallback_row_and_a_warning(
    demo_build: Build, tmp_path: Path
) -> None:
    """lookalike_seed naming a column that is no segment column: the build
    exits 0, the warn test prints each note, the scores are empty and the
    evaluation is one fallback row."""
    workdir = copy_build(demo_build, tmp_path / "bad_seed")
    build = run_dbt(
        workdir,
        "build",
        "--select",
        "int_lookalike_seed_checked+",
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        json.dumps({"lookalike_seed": {"column": "favourite_colour", "value": "x"}}),
    )
    output = re.sub(r"\x1b\[[0-9;]*m", "", build.output)
    assert build.returncode == 0, output[-3000:]
    assert "WARN 2 lookalike_evaluation__fallback_listed" in output
    for purpose in ("scores", "evaluation"):
        assert (
            f"lookalike fallback: no lookalike {purpose}: lookalike_seed column"
            " 'favourite_colour' is not one of primary_segment, rfm_segment,"
            " lifecycle_stage, value_tier, activity_tier" in output
        ), purpose
    assert "Traceback" not in output
    assert build.scalar("select count(*) from marts.lookalike_scores") == 0
    assert build.query(
        "select status, fallback_reason, scoring_status, scoring_fallback_reason,"
        " lookalike_decile from marts.lookalike_evaluation"
    ) == [("fallback", "unknown_seed_column", "fallback", "unknown_seed_column", None)]


def test_orders_only_data_has_no_history_to_evaluate_on(
    orders_only_build: Build,
) -> None:
    """A build without segment history still scores lookalikes (orders give
    value tiers), and the evaluation falls back with no_history and a note
    saying which history to backfill."""
    ((status, reason, note, scoring),) = orders_only_build.query(
        "select status, fallback_reason, note, scoring_status"
        " from marts.lookalike_evaluation"
    )
    assert (status, reason) == ("fallback", "no_history")
    assert "lookalike_horizon_days" in note and "HISTORY_FROM=" in note
    assert scoring == "ready"
    assert orders_only_build.scalar("select count(*) from marts.lookalike_scores") > 0
