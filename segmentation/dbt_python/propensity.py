"""Glue of the propensity models (``int_propensity_examples_predicted``,
``int_propensity_features_importance``, ``int_users_propensity_scored``):
the classifiers of segmentation.methods.propensity fitted on the windows of
``int_propensity_windows_checked`` whose status is 'ready' (that model is
the one place the fallback rule lives; a window it does not pass is never
fitted here), on the examples of ``int_propensity_examples``.

Examples are read from DuckDB one window and role at a time (relation
filters), so only those rows cross into Python; results go back as typed
Arrow tables (an empty result keeps its column types). Settings (random
state, importance sample size) come from the model's ``config.meta``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from segmentation.dbt_python import log
from segmentation.methods import propensity

WINDOW_COLUMNS = [
    ("window_kind", pa.string()),
    ("label", pa.string()),
    ("horizon_days", pa.int32()),
    ("model", pa.string()),
]

PREDICTED_SCHEMA = pa.schema(
    [
        *WINDOW_COLUMNS,
        ("snapshot_date", pa.date32()),
        ("user_id", pa.string()),
        ("label_value", pa.bool_()),
        ("predicted_probability", pa.float64()),
    ]
)

IMPORTANCE_SCHEMA = pa.schema(
    [
        *WINDOW_COLUMNS,
        ("feature", pa.string()),
        ("importance_mean", pa.float64()),
        ("importance_std", pa.float64()),
        ("importance_rank", pa.int32()),
    ]
)

SCORED_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("purchase_propensity", pa.float64()),
        ("churn_risk", pa.float64()),
    ]
)

#: The sample order of int_propensity_examples (its first N rows of a
#: window and role are the sample): permutation importance takes the first
#: propensity_importance_sample_size evaluation rows of the same order.
SAMPLE_ORDER = "md5(user_key || '|' || cast(snapshot_date as varchar)), user_id"


@dataclass(frozen=True)
class Settings:
    """The propensity vars the fits use (``propensity_<field>``)."""

    random_state: int
    importance_sample_size: int

    @classmethod
    def from_json(cls, text: str) -> Settings:
        options = json.loads(text)
        return cls(
            random_state=int(options["random_state"]),
            importance_sample_size=int(options["importance_sample_size"]),
        )


@dataclass(frozen=True)
class Window:
    """A ready window of int_propensity_windows_checked."""

    window_kind: str
    label: str
    horizon_days: int
    is_scoring_window: bool

    def __str__(self) -> str:
        return f"{self.label} {self.horizon_days} d ({self.window_kind})"

    def rows_filter(self, role: str) -> str:
        """SQL filter of int_propensity_examples: this window's rows of
        ``role`` ('train' or 'eval')."""
        return (
            f"window_kind = '{self.window_kind}' and label = '{self.label}'"
            f" and horizon_days = {self.horizon_days} and role = '{role}'"
        )


def ready_windows(windows: pa.Table) -> list[Window]:
    """The windows of int_propensity_windows_checked whose status is
    'ready', in a fixed order."""
    frame = windows.to_pandas()
    ready = []
    for row in frame.sort_values(["window_kind", "label", "horizon_days"]).to_dict(
        "records"
    ):
        window = Window(
            str(row["window_kind"]),
            str(row["label"]),
            int(row["horizon_days"]),
            bool(row["is_scoring_window"]),
        )
        if row["status"] == "ready":
            ready.append(window)
    return ready


def _rows(examples, window: Window, role: str) -> pd.DataFrame:
    return examples.filter(window.rows_filter(role)).to_df()


def _table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    if frame.empty:
        return schema.empty_table()
    frame = frame.reindex(columns=schema.names)
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def _window_columns(window: Window, model: str) -> dict:
    return {
        "window_kind": window.window_kind,
        "label": window.label,
        "horizon_days": window.horizon_days,
        "model": model,
    }


def predicted_table(examples, windows: pa.Table, settings: str) -> pa.Table:
    """Rows of int_propensity_examples_predicted: for every ready window
    and each classifier, fitted on the window's train rows, the predicted
    probability of every eval row. ``examples`` is the relation of
    int_propensity_examples."""
    options = Settings.from_json(settings)
    for row in windows.to_pandas().query("status != 'ready'").to_dict("records"):
        log(
            f"propensity: {row['label']} {row['horizon_days']} d"
            f" ({row['window_kind']}): no model ({row['fallback_reason']}:"
            f" {row['fallback_note']})"
        )
    parts = []
    for window in ready_windows(windows):
        train = _rows(examples, window, "train")
        evaluate = _rows(examples, window, "eval")
        for model in propensity.MODELS:
            started = time.perf_counter()
            try:
                predicted = propensity.fit_and_predict(
                    train, evaluate, model, options.random_state
                )
            except propensity.SingleClassError as error:
                log(f"propensity: {window}: no {model} ({error})")
                continue
            log(
                f"propensity: {window}: {model} fitted on {len(train):,} rows,"
                f" {len(evaluate):,} predicted in"
                f" {time.perf_counter() - started:.1f} s"
            )
            parts.append(predicted.assign(**_window_columns(window, model)))
    if not parts:
        return _table(pd.DataFrame(), PREDICTED_SCHEMA)
    return _table(pd.concat(parts, ignore_index=True), PREDICTED_SCHEMA)


def importance_table(examples, windows: pa.Table, settings: str) -> pa.Table:
    """Rows of int_propensity_features_importance: for every ready scoring
    window (the windows of the published scores; the other windows are
    left out to keep the build cheap at scale), the gradient boosting model
    fitted on the train rows (the same fit as
    the predictions) and the permutation importance of each feature (ROC-AUC
    decrease) on the first propensity_importance_sample_size eval rows of
    the sample order."""
    options = Settings.from_json(settings)
    model = propensity.GRADIENT_BOOSTING
    parts = []
    for window in ready_windows(windows):
        if not window.is_scoring_window:
            continue
        started = time.perf_counter()
        train = _rows(examples, window, "train")
        evaluate = (
            examples.filter(window.rows_filter("eval"))
            .order(SAMPLE_ORDER)
            .limit(options.importance_sample_size)
            .to_df()
        )
        try:
            fitted = propensity.fit(train, model, options.random_state)
            ranked = propensity.importance(fitted, evaluate, options.random_state)
        except propensity.SingleClassError as error:
            log(f"propensity: {window}: no feature importance ({error})")
            continue
        top = ", ".join(ranked["feature"].head(3))
        log(
            f"propensity: {window}: importance on {len(evaluate):,} rows in"
            f" {time.perf_counter() - started:.1f} s (top: {top})"
        )
        parts.append(ranked.assign(**_window_columns(window, model)))
    if not parts:
        return _table(pd.DataFrame(), IMPORTANCE_SCHEMA)
    return _table(pd.concat(parts, ignore_index=True), IMPORTANCE_SCHEMA)


def _scores(examples, window: Window | None, users: pd.DataFrame, seed: int):
    """The gradient boosting probabilities of ``users`` from a fit on the
    eval rows of ``window`` (None when there is no window or no fit)."""
    if window is None:
        return None
    evaluate = _rows(examples, window, "eval")
    try:
        fitted = propensity.fit(evaluate, propensity.GRADIENT_BOOSTING, seed)
    except propensity.SingleClassError as error:
        log(f"propensity: {window}: no scores ({error})")
        return None
    return fitted.predict(users)


def scored_table(examples, windows: pa.Table, users: pa.Table, settings: str):
    """Rows of int_users_propensity_scored: every user of ``users`` (the
    feature rows of the build's as-of date) with purchase_propensity and
    churn_risk from the gradient boosting model fitted on the eval rows of
    the ready scoring window of each label (null when there is none;
    churn_risk null outside the churn population)."""
    options = Settings.from_json(settings)
    started = time.perf_counter()
    frame = propensity.sorted_rows(users.to_pandas())
    scoring = {w.label: w for w in ready_windows(windows) if w.is_scoring_window}
    purchase = scoring.get("will_purchase")
    churn = scoring.get("will_churn")
    out = pd.DataFrame({"user_id": frame["user_id"].astype(str)})
    out["purchase_propensity"] = _scores(
        examples, purchase, frame, options.random_state
    )
    if churn is not None:
        # Only the churn population is scored: churn_risk is null outside it.
        population = propensity.in_churn_population(
            frame["recency_days"], churn.horizon_days
        ).to_numpy()
        churn_risk = _scores(examples, churn, frame[population], options.random_state)
        if churn_risk is not None:
            out["churn_risk"] = float("nan")
            out.loc[population, "churn_risk"] = churn_risk
    missing = [
        label
        for label, window in (("will_purchase", purchase), ("will_churn", churn))
        if window is None
    ]
    note = f"; no scoring window ready for {', '.join(missing)}" if missing else ""
    log(
        f"propensity: {len(out):,} users scored in"
        f" {time.perf_counter() - started:.1f} s{note}"
    )
    return _table(out, SCORED_SCHEMA)
