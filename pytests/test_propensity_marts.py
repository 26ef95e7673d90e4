"""The propensity metrics, evaluation marts and scores (issue 16).

The ranking metrics live once, as SQL macros (macros/propensity.sql): here
they are checked against sklearn, on the literal tie-heavy rows of their
dbt test (no build needed) and on the demo's built predictions. Then the
deciles and the users' scores on the demo, and a primary-segment rule that
tests the propensity tier.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import PROJECT_DIR, Build
from sklearn.metrics import (
    average_precision_score,
    brier_score_loss,
    log_loss,
    roc_auc_score,
)

from segmentation.methods import segments

MACRO_TEST = (
    PROJECT_DIR
    / "tests"
    / "macros"
    / "propensity_metrics__match_sklearn_on_literal_rows.sql"
)
WINDOW = ("window_kind", "label", "horizon_days")
PROPENSITY_COLUMNS = (
    "purchase_propensity",
    "purchase_propensity_decile",
    "churn_risk",
    "churn_risk_decile",
    "propensity_tier",
)


def _cte(text: str, name: str) -> str:
    """The body of one CTE of the macro test."""
    match = re.search(rf"^{name} as \((.*?)^\),?$", text, re.S | re.M)
    assert match, name
    return match.group(1)


def _literal_cases(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The literal rows and the expected metrics written in the macro test."""
    text = path.read_text()
    rows = re.findall(r"\('(\w+)', (true|false), ([0-9.]+)\)", _cte(text, "cases"))
    cases = pd.DataFrame(
        [(group, flag == "true", float(score)) for group, flag, score in rows],
        columns=["group_name", "label_value", "score"],
    )
    expected_rows = re.findall(
        r"\('(\w+)',\s*([0-9.e-]+|null),\s*([0-9.e-]+|null),"
        r"\s*([0-9.e-]+),\s*([0-9.e-]+)\)",
        _cte(text, "expected"),
    )
    expected = pd.DataFrame(
        [
            [group, *(np.nan if value == "null" else float(value) for value in values)]
            for group, *values in expected_rows
        ],
        columns=["group_name", "roc_auc", "pr_auc", "log_loss", "brier_score"],
    ).set_index("group_name")
    return cases, expected


def test_the_macro_tests_expected_values_are_sklearns() -> None:
    """The dbt test tests/macros/propensity_metrics__match_sklearn_on_literal_rows
    holds the macros to these expected values (every build runs it); here
    they are recomputed with sklearn from the same literal rows."""
    cases, expected = _literal_cases(MACRO_TEST)
    assert set(cases["group_name"]) == set(expected.index)
    # Tie-heavy: most scores are shared by several rows, one group entirely.
    assert cases.duplicated(["group_name", "score"]).sum() >= len(cases) // 2
    for group, rows in cases.groupby("group_name"):
        labels, scores = rows["label_value"].to_numpy(), rows["score"].to_numpy()
        row = expected.loc[group]
        if labels.all() or not labels.any():
            # One class: no ROC-AUC nor PR-AUC (sklearn refuses or warns).
            assert np.isnan(row["roc_auc"]) and np.isnan(row["pr_auc"])
        else:
            assert row["roc_auc"] == pytest.approx(
                roc_auc_score(labels, scores), abs=1e-12
            )
            assert row["pr_auc"] == pytest.approx(
                average_precision_score(labels, scores), abs=1e-12
            )
        assert row["log_loss"] == pytest.approx(
            log_loss(labels, scores, labels=[False, True]), abs=1e-12
        )
        assert row["brier_score"] == pytest.approx(
            brier_score_loss(labels, scores), abs=1e-12
        )


def _frame(build: Build, sql: str) -> pd.DataFrame:
    import duckdb

    with duckdb.connect(str(build.database), read_only=True) as connection:
        return connection.execute(sql).df()


def test_the_evaluation_metrics_match_sklearn_on_the_demo(demo_build: Build) -> None:
    """Every ready window and model of the demo: the mart's ROC-AUC, PR-AUC,
    log loss, Brier score and top-decile figures are sklearn's on the
    ranked evaluation rows (rfm_score is tie-heavy: few distinct sums)."""
    assert demo_build.returncode == 0, demo_build.output[-3000:]
    ranked = _frame(
        demo_build, "select * from intermediate.int_propensity_examples_ranked"
    )
    evaluation = _frame(
        demo_build, "select * from marts.propensity_evaluation where status = 'ready'"
    ).set_index([*WINDOW, "model"])
    assert set(evaluation.reset_index()["model"]) == {
        "gradient_boosting",
        "logistic_regression",
        "probability_alive",
        "rfm_score",
    }
    assert ranked.groupby([*WINDOW, "model"]).ngroups == len(evaluation)
    rfm = ranked[ranked["model"] == "rfm_score"]
    assert rfm["score"].nunique() < len(rfm) / 50
    for key, rows in ranked.groupby([*WINDOW, "model"]):
        row = evaluation.loc[key]
        labels, scores = rows["label_value"].to_numpy(), rows["score"].to_numpy()
        assert row["eval_positives"] == labels.sum()
        assert row["base_rate"] == pytest.approx(labels.mean(), abs=1e-12)
        assert row["roc_auc"] == pytest.approx(roc_auc_score(labels, scores), abs=1e-9)
        assert row["pr_auc"] == pytest.approx(
            average_precision_score(labels, scores), abs=1e-9
        )
        if row["model_kind"] == "classifier":
            assert row["log_loss"] == pytest.approx(log_loss(labels, scores), abs=1e-9)
            assert row["brier_score"] == pytest.approx(
                brier_score_loss(labels, scores), abs=1e-9
            )
        else:
            assert pd.isna(row["log_loss"]) and pd.isna(row["brier_score"])
        top = rows["score_decile"].to_numpy() == 1
        assert top.sum() == int(np.ceil(len(rows) / 10))
        assert row["top_decile_capture"] == pytest.approx(
            labels[top].sum() / labels.sum(), abs=1e-12
        )
        assert row["top_decile_lift"] == pytest.approx(
            labels[top].mean() / labels.mean(), abs=1e-12
        )
    windows = evaluation.reset_index().groupby(list(WINDOW))
    for _, rows in windows:
        rankers = rows[rows["model_kind"] == "ranker"]
        classifiers = rows[rows["model_kind"] == "classifier"]
        assert (rows["best_ranker_roc_auc"] == rankers["roc_auc"].max()).all()
        assert np.allclose(
            classifiers["roc_auc_gain_over_best_ranker"],
            classifiers["roc_auc"] - rankers["roc_auc"].max(),
        )
        assert rankers["roc_auc_gain_over_best_ranker"].isna().all()


def test_deciles_rank_the_scores_and_capture_every_positive(demo_build: Build) -> None:
    deciles = _frame(demo_build, "select * from marts.propensity_deciles")
    assert not deciles.empty
    for _, rows in deciles.groupby([*WINDOW, "model"]):
        rows = rows.sort_values("decile")
        assert rows["decile"].tolist() == list(range(1, 11))
        # Decile 1 holds the highest scores: no score below it is higher.
        assert (
            rows["min_score"].to_numpy()[:-1] >= rows["max_score"].to_numpy()[1:]
        ).all()
        assert rows["users"].max() - rows["users"].min() <= 1
        assert (
            rows["cumulative_positives"].tolist() == rows["positives"].cumsum().tolist()
        )
        assert rows["cumulative_capture"].iloc[-1] == pytest.approx(1.0, abs=1e-12)
        assert rows["cumulative_capture"].is_monotonic_increasing
        base_rate = rows["positives"].sum() / rows["users"].sum()
        assert np.allclose(rows["lift"], rows["positive_rate"] / base_rate)
    calibration = _frame(demo_build, "select * from marts.propensity_calibration")
    assert set(calibration["model"]) == {"gradient_boosting", "logistic_regression"}
    for _, rows in calibration.groupby([*WINDOW, "model"]):
        rows = rows.sort_values("bin")
        assert rows["bin"].tolist() == list(range(1, 11))
        # Bins in order of predicted probability (tied means may differ by
        # rounding only).
        assert (np.diff(rows["mean_predicted_probability"]) >= -1e-12).all()


def test_every_user_has_the_propensity_scores_of_the_demo(demo_build: Build) -> None:
    """user_profiles and user_segments carry the scores, deciles and tier;
    every user still exactly once; the scores are the scoring windows'."""
    profiles = _frame(
        demo_build,
        "select user_id, user_key, recency_days, "
        + ", ".join(PROPENSITY_COLUMNS)
        + " from marts.user_profiles",
    )
    assert profiles["user_id"].is_unique
    segmented = _frame(
        demo_build,
        "select user_id, "
        + ", ".join(PROPENSITY_COLUMNS)
        + " from marts.user_segments",
    )
    assert sorted(segmented["user_id"]) == sorted(profiles["user_id"])
    merged = profiles.merge(segmented, on="user_id", suffixes=("", "_segments"))
    for column in PROPENSITY_COLUMNS:
        assert merged[column].equals(merged[f"{column}_segments"]), column
    ready = dict(
        demo_build.query(
            "select label, status from marts.propensity_evaluation"
            " where is_scoring_model"
        )
    )
    assert ready == {"will_purchase": "ready", "will_churn": "ready"}
    # Every user has a purchase propensity; churn risk only the recent buyers.
    assert profiles["purchase_propensity"].notna().all()
    churn_horizon = demo_build.scalar(
        "select horizon_days from marts.propensity_evaluation"
        " where is_scoring_model and label = 'will_churn'"
    )
    recent = profiles["recency_days"] <= churn_horizon
    assert profiles.loc[recent, "churn_risk"].notna().all()
    assert profiles.loc[~recent, "churn_risk"].isna().all()
    for score in ("purchase_propensity", "churn_risk"):
        scored = profiles[profiles[score].notna()].sort_values(
            [score, "user_key"], ascending=[False, True]
        )
        expected = np.floor(np.arange(len(scored)) * 10 / len(scored)) + 1
        # ntile: the first len % 10 deciles get one user more.
        sizes = scored[f"{score}_decile"].value_counts().sort_index()
        assert sizes.index.tolist() == list(range(1, 11))
        assert sizes.max() - sizes.min() <= 1
        assert scored[f"{score}_decile"].is_monotonic_increasing
        assert abs(scored[f"{score}_decile"].to_numpy() - expected).max() <= 1
    shares = profiles["propensity_tier"].value_counts(normalize=True)
    assert shares["high"] == pytest.approx(0.2, abs=0.02)
    assert shares["medium"] == pytest.approx(0.3, abs=0.02)
    tiers = profiles.groupby("propensity_tier")["purchase_propensity"]
    assert tiers.min()["high"] >= tiers.max()["medium"] >= tiers.max()["low"]


def test_fallback_windows_are_listed_with_their_notes(demo_build: Build) -> None:
    """A fallback window has one row per classifier with its reason and
    note and no metrics; ready windows have rankers too."""
    rows = demo_build.query(
        "select status, model_kind, count(*), count(roc_auc),"
        " count(fallback_note), count(distinct model)"
        " from marts.propensity_evaluation group by 1, 2 order by 1, 2"
    )
    for status, kind, count, with_auc, with_note, models in rows:
        if status == "fallback":
            assert kind == "classifier" and with_auc == 0 and with_note == count
            assert models == 2
        else:
            assert with_auc == count and with_note == 0


PROFILES = pd.DataFrame(
    {
        "user_id": ["keen", "lukewarm", "cold", "unscored"],
        "lifecycle_stage": ["at_risk", "at_risk", "at_risk", "prospect"],
        "value_tier": ["low", "low", "low", "none"],
        "activity_tier": ["low"] * 4,
        "recency_days": [40, 50, 60, None],
        "historical_ltv": [30.0, 20.0, 10.0, 0.0],
        "ctr_30d": [None] * 4,
        "sessions_90d": [0] * 4,
        "rfm_segment": ["At Risk", "At Risk", "At Risk", None],
        "as_of_date": pd.Timestamp("2026-01-01"),
        "is_opted_in_to_marketing": True,
    }
)
PROPENSITY = pd.DataFrame(
    {
        "user_id": ["keen", "lukewarm", "cold"],
        "purchase_propensity": [0.62, 0.31, 0.05],
        "purchase_propensity_decile": [1, 4, 10],
        "churn_risk": [0.2, 0.5, 0.9],
        "churn_risk_decile": [10, 5, 1],
        "propensity_tier": ["high", "medium", "low"],
    }
)


def test_a_rule_may_test_the_propensity_tier_and_deciles() -> None:
    rules = segments.SegmentRules.from_json(
        json.dumps(
            {
                "rules": [
                    {
                        "segment": "save_now",
                        "when": {
                            "churn_risk_decile": [1, 2],
                            "lifecycle_stage": ["at_risk"],
                        },
                    },
                    {"segment": "hot_lead", "when": {"propensity_tier": ["high"]}},
                    {"segment": "nurture", "when": {"propensity_tier": ["medium"]}},
                ],
                "cluster_precedence": "after_rules",
            }
        )
    )
    no_clusters = pd.DataFrame(columns=["user_id", "cluster_id", "cluster_label"])
    profiles = segments.with_propensity(PROFILES, PROPENSITY)
    assert len(profiles) == len(PROFILES)
    result = segments.assign_segments(profiles, no_clusters, rules).set_index("user_id")
    assert result["primary_segment"].to_dict() == {
        "cold": "save_now",
        "keen": "hot_lead",
        "lukewarm": "nurture",
        "unscored": "unassigned",
    }
    assert result.loc["keen", "segment_reason"].startswith(
        "hot_lead: propensity tier high (purchase propensity 62%)"
    )
    assert result.loc["cold", "segment_reason"].startswith(
        "save_now: churn risk decile 1 (90%) and lifecycle at_risk"
    )
    # Without the propensity joined, a rule on it is refused with a message.
    with pytest.raises(ValueError, match="unknown column 'churn_risk_decile'"):
        segments.assign_segments(PROFILES, no_clusters, rules)
