"""The propensity classifiers (segmentation.methods.propensity) on synthetic
examples of int_propensity_examples' schema: determinism, chance on noise,
a planted signal found, categorical and missing values, a clear error on a
single class, and the permutation importance; then the glue the dbt
Python models call, on real in-memory DuckDB relations. No dbt build."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score

from segmentation.dbt_python import propensity as glue
from segmentation.methods import propensity as p

SEED = 42


def examples(
    rows: int, seed: int, signal: float = 0.0, role: str = "train"
) -> pd.DataFrame:
    """Examples with the key columns of int_propensity_examples, numeric
    features (one with gaps), boolean-as-double and categorical ones (with
    missing values). The label depends on ``signal`` x (x0 - x1) and on
    region 'north'; signal 0 = pure noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "window_kind": "out_of_time",
            "label": "will_purchase",
            "horizon_days": 30,
            "role": role,
            "snapshot_date": pd.Timestamp("2026-06-01"),
            "label_end_date": pd.Timestamp("2026-07-01"),
            "user_id": [f"user-{seed}-{i:06d}" for i in range(rows)],
            "user_key": [f"key-{seed}-{i}" for i in range(rows)],
        }
    )
    x = rng.normal(size=(rows, 6))
    region = rng.choice(["north", "south", "east", None], size=rows)
    logit = signal * (x[:, 0] - x[:, 1] + (region == "north"))
    frame["label_value"] = rng.random(rows) < 1 / (1 + np.exp(-logit))
    for column in range(6):
        frame[f"x{column}"] = x[:, column]
    frame.loc[rng.random(rows) < 0.3, "x0"] = np.nan
    frame["is_opted_in_to_marketing"] = (rng.random(rows) < 0.5).astype(float)
    frame["region"] = pd.Series(region, dtype="str")
    frame["gender"] = pd.Series(rng.choice(["f", "m", None], size=rows), dtype="str")
    return frame


def auc(model: str, train: pd.DataFrame, evaluate: pd.DataFrame) -> float:
    predicted = p.fit_and_predict(train, evaluate, model, SEED)
    return roc_auc_score(predicted["label_value"], predicted["predicted_probability"])


def test_features_are_the_columns_after_the_keys():
    frame = examples(50, 1)
    features = p.split_features(frame)
    assert features.numeric == (
        "x0",
        "x1",
        "x2",
        "x3",
        "x4",
        "x5",
        "is_opted_in_to_marketing",
    )
    assert features.categorical == ("region", "gender")
    # On the scoring rows (int_user_features_accumulated) the keys differ.
    scoring = frame.drop(columns=[*p.KEY_COLUMNS[:6], "label_value"])
    scoring.insert(0, "as_of_date", pd.Timestamp("2026-07-01"))
    assert p.split_features(scoring, p.SCORING_KEY_COLUMNS) == features


@pytest.mark.parametrize("model", p.MODELS)
def test_same_examples_give_identical_predictions(model):
    train, evaluate = examples(1500, 1, signal=1.0), examples(800, 2, signal=1.0)
    first = p.fit_and_predict(train, evaluate, model, SEED)
    # The same rows in another order, fitted again: identical output.
    shuffled = train.sample(frac=1.0, random_state=7)
    second = p.fit_and_predict(shuffled, evaluate.iloc[::-1], model, SEED)
    assert first["user_id"].tolist() == sorted(evaluate["user_id"])
    np.testing.assert_array_equal(
        first["predicted_probability"].to_numpy(),
        second["predicted_probability"].to_numpy(),
    )
    assert first["predicted_probability"].between(0, 1).all()


@pytest.mark.parametrize("model", p.MODELS)
def test_noise_only_features_rank_at_chance(model):
    score = auc(model, examples(3000, 3), examples(3000, 4))
    # 3,000 held-out rows: the AUC of a random ranking has sd ~0.011.
    assert abs(score - 0.5) < 0.04


@pytest.mark.parametrize("model", p.MODELS)
def test_a_planted_signal_ranks_well(model):
    score = auc(model, examples(3000, 5, signal=1.5), examples(3000, 6, signal=1.5))
    assert score > 0.8


def test_categorical_and_missing_values_are_used():
    # The signal is only in the categorical region and in the gaps of x0.
    rng = np.random.default_rng(8)

    def frame(seed):
        data = examples(3000, seed)
        region_signal = data["region"].eq("north").to_numpy()
        missing_signal = data["x0"].isna().to_numpy()
        logit = 2.5 * region_signal - 2.5 * missing_signal
        data["label_value"] = rng.random(len(data)) < 1 / (1 + np.exp(-logit))
        return data

    train, evaluate = frame(9), frame(10)
    for model in p.MODELS:
        assert auc(model, train, evaluate) > 0.75, model
    # Categories and gaps unseen in training do not break a prediction.
    unseen = evaluate.head(5).copy()
    unseen["region"] = ["west", None, "north", "somewhere", None]
    unseen["x2"] = np.nan
    for model in p.MODELS:
        predicted = p.fit(train, model, SEED).predict(unseen)
        assert np.isfinite(predicted).all()


@pytest.mark.parametrize("model", p.MODELS)
def test_a_single_class_raises_a_clear_error(model):
    train = examples(300, 11).assign(label_value=False)
    with pytest.raises(p.SingleClassError, match="single class"):
        p.fit(train, model, SEED)
    with pytest.raises(ValueError, match="unknown propensity model"):
        p.fit(examples(300, 11, signal=1.0), "random_forest", SEED)


@pytest.mark.parametrize("model", p.MODELS)
def test_a_feature_without_values_in_training_is_left_out(model):
    # Behaviour features before the events start (benchmark size L), or
    # data without events: every training value missing.
    train = examples(3000, 16, signal=1.5).assign(x5=np.nan)
    fitted = p.fit(train, model, SEED)
    assert "x5" not in fitted.features.columns
    assert "x4" in fitted.features.columns
    evaluate = examples(3000, 17, signal=1.5)
    predicted = fitted.predict(evaluate)
    assert roc_auc_score(evaluate["label_value"], predicted) > 0.8


def test_small_windows_fit_without_early_stopping():
    # Fewer rows of a class than early stopping needs: still a fit.
    train = examples(80, 12, signal=2.0)
    fitted = p.fit(train, p.GRADIENT_BOOSTING, SEED)
    assert not fitted.pipeline[-1].do_early_stopping_
    assert fitted.predict(examples(50, 13)).shape == (50,)


def test_permutation_importance_ranks_the_signal_first():
    train, evaluate = examples(3000, 14, signal=2.0), examples(2000, 15, signal=2.0)
    fitted = p.fit(train, p.GRADIENT_BOOSTING, SEED)
    ranked = p.importance(fitted, evaluate, SEED)
    assert sorted(ranked["feature"]) == sorted(fitted.features.columns)
    assert ranked["importance_rank"].tolist() == list(range(1, len(ranked) + 1))
    assert set(ranked["feature"].head(3)) == {"x0", "x1", "region"}
    assert (
        (ranked.set_index("feature").loc[["x3", "x4", "x5"], "importance_mean"])
        .abs()
        .max()
        < 0.01
    )
    again = p.importance(fitted, evaluate.iloc[::-1], SEED)
    pd.testing.assert_frame_equal(ranked, again)


def test_churn_population_is_recent_purchasers():
    recency = pd.Series([1, 90, 91, None, 0])
    assert p.in_churn_population(recency, 90).tolist() == [
        True,
        True,
        False,
        False,
        True,
    ]


# The glue (segmentation.dbt_python.propensity) on real DuckDB relations,
# as the dbt Python models call it: windows and examples in an in-memory
# database, no dbt build.

SETTINGS = '{"random_state": 42, "importance_sample_size": 300}'


def window_row(label: str, horizon: int, status: str, scoring: bool) -> dict:
    return {
        "window_kind": "out_of_time",
        "label": label,
        "horizon_days": horizon,
        "is_scoring_window": scoring,
        "status": status,
        "fallback_reason": None if status == "ready" else "no_history",
        "fallback_note": None if status == "ready" else "backfill the history",
    }


def window_examples(label: str, horizon: int, seed: int) -> pd.DataFrame:
    parts = []
    for role, offset in (("train", 0), ("eval", 1)):
        part = examples(600, seed + offset, signal=1.5, role=role)
        part = part.assign(label=label, horizon_days=horizon)
        part.insert(part.columns.get_loc("x0"), "recency_days", 0.0)
        part["recency_days"] = np.where(
            np.arange(len(part)) % 3 == 0, np.nan, np.arange(len(part)) % 150
        )
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


@pytest.fixture
def database():
    connection = duckdb.connect()
    yield connection
    connection.close()


def test_glue_gives_typed_empty_tables_and_null_scores_without_a_ready_window(
    database,
):
    rows = window_examples("will_purchase", 30, 20)
    windows = pd.DataFrame([window_row("will_purchase", 30, "fallback", True)])
    database.register("examples", rows)
    relation = database.table("examples")
    windows_table = pa_table(windows)
    predicted = glue.predicted_table(relation, windows_table, SETTINGS)
    assert predicted.num_rows == 0
    assert predicted.schema == glue.PREDICTED_SCHEMA
    ranked = glue.importance_table(relation, windows_table, SETTINGS)
    assert ranked.num_rows == 0
    assert ranked.schema == glue.IMPORTANCE_SCHEMA
    users = scoring_users(rows)
    scored = glue.scored_table(relation, windows_table, users, SETTINGS)
    assert scored.schema == glue.SCORED_SCHEMA
    assert scored.num_rows == users.num_rows
    assert scored["purchase_propensity"].null_count == users.num_rows
    assert scored["churn_risk"].null_count == users.num_rows


def test_glue_fits_ready_windows_and_scores_every_user(database):
    rows = pd.concat(
        [
            window_examples("will_purchase", 30, 30),
            window_examples("will_churn", 90, 40),
        ],
        ignore_index=True,
    )
    windows = pd.DataFrame(
        [
            window_row("will_purchase", 30, "ready", True),
            window_row("will_churn", 90, "ready", True),
            window_row("will_churn", 30, "fallback", False),
        ]
    )
    database.register("examples", rows)
    relation = database.table("examples")
    windows_table = pa_table(windows)
    predicted = glue.predicted_table(relation, windows_table, SETTINGS).to_pandas()
    counts = predicted.groupby(["label", "model"]).size()
    assert counts.to_dict() == {
        (label, model): 600
        for label in ("will_churn", "will_purchase")
        for model in p.MODELS
    }
    ranked = glue.importance_table(relation, windows_table, SETTINGS).to_pandas()
    assert set(ranked["model"]) == {p.GRADIENT_BOOSTING}
    assert ranked.groupby("label")["importance_rank"].max().to_dict() == {
        "will_churn": 10,
        "will_purchase": 10,
    }
    users = scoring_users(rows.query("label == 'will_purchase' and role == 'eval'"))
    scored = glue.scored_table(relation, windows_table, users, SETTINGS).to_pandas()
    assert scored["user_id"].tolist() == sorted(users["user_id"].to_pylist())
    assert scored["purchase_propensity"].notna().all()
    recency = users.to_pandas().set_index("user_id").loc[scored["user_id"]]
    in_population = recency["recency_days"].le(90).to_numpy()
    assert scored["churn_risk"].notna().to_numpy().tolist() == in_population.tolist()
    assert scored["churn_risk"].dropna().between(0, 1).all()
    again = glue.scored_table(relation, windows_table, users, SETTINGS).to_pandas()
    pd.testing.assert_frame_equal(scored, again)


def pa_table(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def scoring_users(rows: pd.DataFrame):
    """The feature rows of the as-of date, as snapshot_rows gives them."""
    users = rows.drop(columns=[*p.KEY_COLUMNS[:6], "label_value"])
    return pa_table(users.drop_duplicates("user_id"))
