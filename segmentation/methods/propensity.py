"""Purchase and churn propensity classifiers: pure functions behind the dbt
Python models ``int_propensity_examples_predicted``,
``int_propensity_features_importance`` and ``int_users_propensity_scored``
(marts ``propensity_evaluation``, ``propensity_feature_importance`` and the
scores of ``user_profiles``).

The examples (``int_propensity_examples``) are the profile's features as of
a snapshot date and a label from the orders after it. Every column after
the key columns (:data:`KEY_COLUMNS`) is a feature; text columns are
categorical, the others numeric. Two models:

``gradient_boosting``
    scikit-learn ``HistGradientBoostingClassifier`` with fixed
    hyperparameters (:data:`GRADIENT_BOOSTING_PARAMETERS`): at most 200
    boosting iterations of trees with at most 15 leaves and 40 rows per
    leaf, learning rate 0.1, L2 regularisation 1; early stopping on the
    log loss of a stratified 10% validation split (10 iterations without
    improvement) when each class has at least
    :data:`EARLY_STOPPING_MIN_CLASS_ROWS` rows. Missing values are native
    (a learned direction at each split); categorical features are native
    (encoded as category codes, at most 254 categories per feature, the
    rarer ones grouped; a category unseen in training counts as missing).
``logistic_regression``
    the baseline: numeric features imputed with the training median (plus
    a missing-value indicator for each feature with gaps) and
    standardised, categorical ones one-hot encoded (a missing value is its
    own category, an unseen one is all zeros), L2-regularised logistic
    regression (lbfgs, C = 1, at most 1,000 iterations).

Deterministic: rows are sorted by user id before a fit, every random step
takes the ``propensity_random_state`` var, so the same examples give the
same predictions (also whatever the number of threads). Fits, predictions
and importance run on one thread (:data:`THREADS`). A fit on a single
class raises :class:`SingleClassError` (the SQL gate
``int_propensity_windows_checked`` never lets such a window through; the
error says what went wrong if one gets here anyway).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler
from threadpoolctl import threadpool_limits

#: The columns of int_propensity_examples that are not features, in order.
KEY_COLUMNS = (
    "window_kind",
    "label",
    "horizon_days",
    "role",
    "snapshot_date",
    "label_end_date",
    "user_id",
    "user_key",
    "label_value",
)

#: The key columns of int_user_features_accumulated (the scoring rows).
SCORING_KEY_COLUMNS = ("as_of_date", "user_id", "user_key")

GRADIENT_BOOSTING = "gradient_boosting"
LOGISTIC_REGRESSION = "logistic_regression"
#: The classifiers, in the order they are reported.
MODELS = (GRADIENT_BOOSTING, LOGISTIC_REGRESSION)

#: Fixed hyperparameters of the gradient boosting model (random_state comes
#: from the var). Small trees and L2 keep it from memorising a few thousand
#: rows; early stopping ends the fit when the validation loss stalls.
GRADIENT_BOOSTING_PARAMETERS = {
    "learning_rate": 0.1,
    "max_iter": 200,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "validation_fraction": 0.1,
    "n_iter_no_change": 10,
    "scoring": "loss",
}

#: Early stopping needs a stratified validation split with both classes:
#: it is used when each class has at least this many training rows.
EARLY_STOPPING_MIN_CLASS_ROWS = 50

#: Permutation importance: repeats per feature.
IMPORTANCE_REPEATS = 5

#: Threads of the OpenMP/BLAS pools while fitting and predicting. One: on
#: a busy 2-core machine a second thread made a 5,000-row fit ten times
#: slower (5.2 s against 0.46 s), and the results are the same.
THREADS = 1

#: Text put in place of a missing categorical value (its own category).
MISSING_CATEGORY = "(missing)"

#: Native categorical support allows at most 255 bins, one of which is kept
#: for missing values.
MAX_CATEGORIES = 254


class SingleClassError(ValueError):
    """The training rows have a single label value: no classifier can be
    fitted."""


@dataclass(frozen=True)
class Features:
    """The feature columns of an examples frame.

    Attributes:
        numeric: numeric (and boolean) feature columns, in frame order.
        categorical: text feature columns, in frame order.
    """

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        """Every feature column: numeric first, then categorical."""
        return [*self.numeric, *self.categorical]


def split_features(
    frame: pd.DataFrame, keys: tuple[str, ...] = KEY_COLUMNS
) -> Features:
    """The features of ``frame``: every column after the last key column
    (``keys``), categorical when its values are text (object, string or
    category dtype), numeric otherwise."""
    present = [column for column in frame.columns if column in keys]
    start = frame.columns.get_loc(present[-1]) + 1 if present else 0
    numeric, categorical = [], []
    for column in frame.columns[start:]:
        dtype = frame[column].dtype
        is_text = (
            pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
        )
        (categorical if is_text else numeric).append(column)
    return Features(tuple(numeric), tuple(categorical))


def design_matrix(frame: pd.DataFrame, features: Features) -> pd.DataFrame:
    """The feature columns of ``frame`` as the models take them: numeric as
    float (missing = NaN), categorical as text (missing = its own category
    :data:`MISSING_CATEGORY`)."""
    matrix = pd.DataFrame(index=frame.index)
    for column in features.numeric:
        matrix[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    for column in features.categorical:
        values = frame[column].astype(object)
        matrix[column] = values.where(values.notna(), MISSING_CATEGORY).astype(str)
    return matrix


def _gradient_boosting(
    features: Features, labels: np.ndarray, random_state: int
) -> Pipeline:
    encode = ColumnTransformer(
        [
            ("numeric", "passthrough", list(features.numeric)),
            (
                "categorical",
                OrdinalEncoder(
                    handle_unknown="use_encoded_value",
                    unknown_value=np.nan,
                    max_categories=MAX_CATEGORIES,
                    dtype=float,
                ),
                list(features.categorical),
            ),
        ],
        verbose_feature_names_out=False,
    )
    is_categorical = [False] * len(features.numeric) + [True] * len(
        features.categorical
    )
    smaller_class = int(min((labels == 1).sum(), (labels == 0).sum()))
    classifier = HistGradientBoostingClassifier(
        **GRADIENT_BOOSTING_PARAMETERS,
        early_stopping=smaller_class >= EARLY_STOPPING_MIN_CLASS_ROWS,
        categorical_features=is_categorical if features.categorical else None,
        random_state=random_state,
    )
    return Pipeline([("encode", encode), ("classify", classifier)])


def _logistic_regression(features: Features, random_state: int) -> Pipeline:
    encode = ColumnTransformer(
        [
            (
                "numeric",
                Pipeline(
                    [
                        (
                            "impute",
                            SimpleImputer(
                                strategy="median",
                                add_indicator=True,
                                keep_empty_features=True,
                            ),
                        ),
                        ("scale", StandardScaler()),
                    ]
                ),
                list(features.numeric),
            ),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                list(features.categorical),
            ),
        ]
    )
    classifier = LogisticRegression(
        solver="lbfgs", C=1.0, max_iter=1000, random_state=random_state
    )
    return Pipeline([("encode", encode), ("classify", classifier)])


@dataclass
class FittedModel:
    """A fitted classifier and the features it takes.

    Attributes:
        model: ``gradient_boosting`` or ``logistic_regression``.
        features: the feature columns.
        pipeline: the scikit-learn pipeline (encoding + classifier), fed
            :func:`design_matrix`.
        train_rows: rows it was fitted on.
    """

    model: str
    features: Features
    pipeline: Pipeline
    train_rows: int

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Probability of the positive label (``label_value`` true) for each
        row of ``frame`` (any frame with the feature columns), in its row
        order."""
        if len(frame) == 0:
            return np.empty(0, dtype=float)
        matrix = design_matrix(frame, self.features)
        with threadpool_limits(limits=THREADS):
            probabilities = self.pipeline.predict_proba(matrix)
        return probabilities[:, 1].astype(float)


def sorted_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` sorted by user id (then snapshot date when present), with a
    fresh index: the row order every fit uses, so a fit never depends on
    the order rows arrive in."""
    order = [c for c in ("user_id", "snapshot_date") if c in frame.columns]
    return frame.sort_values(order, kind="stable").reset_index(drop=True)


def labels_of(frame: pd.DataFrame) -> np.ndarray:
    """``label_value`` as 0/1 integers (a missing label is an error)."""
    values = frame["label_value"]
    if values.isna().any():
        raise ValueError("label_value has missing values: every example needs a label")
    return values.astype(bool).astype(int).to_numpy()


def fit(
    train: pd.DataFrame,
    model: str,
    random_state: int,
    features: Features | None = None,
) -> FittedModel:
    """Fit ``model`` (one of :data:`MODELS`) on the ``train`` examples
    (feature columns + ``label_value``). ``features`` defaults to
    :func:`split_features` of ``train``; numeric features without a value
    in ``train`` are left out. Raises :class:`SingleClassError`
    when the rows hold a single label value (or none)."""
    if model not in MODELS:
        raise ValueError(f"unknown propensity model {model!r}: use one of {MODELS}")
    features = features or split_features(train)
    # A numeric feature with no value in the training rows (probability
    # alive when the BG/NBD fit fell back, behaviour before the events
    # start, data without events) has nothing to learn from, and the
    # gradient boosting cannot bin it: left out of this fit.
    features = Features(
        tuple(column for column in features.numeric if train[column].notna().any()),
        features.categorical,
    )
    if not features.columns:
        raise ValueError("the examples have no feature columns")
    train = sorted_rows(train)
    labels = labels_of(train)
    positives = int(labels.sum())
    if positives == 0 or positives == len(labels):
        raise SingleClassError(
            f"cannot fit {model} on {len(labels):,} rows with a single class"
            f" ({positives:,} positives, {len(labels) - positives:,} negatives):"
            " a window needs both purchasers and non-purchasers"
        )
    if model == GRADIENT_BOOSTING:
        pipeline = _gradient_boosting(features, labels, random_state)
    else:
        pipeline = _logistic_regression(features, random_state)
    with warnings.catch_warnings(), threadpool_limits(limits=THREADS):
        # lbfgs not fully converged in 1,000 iterations still ranks well;
        # the fit is reported by its evaluation, not by a warning.
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipeline.fit(design_matrix(train, features), labels)
    return FittedModel(model, features, pipeline, len(train))


def fit_and_predict(
    train: pd.DataFrame, evaluate: pd.DataFrame, model: str, random_state: int
) -> pd.DataFrame:
    """Fit ``model`` on ``train`` and predict ``evaluate``: the evaluation
    rows sorted by user id with ``predicted_probability`` added."""
    fitted = fit(train, model, random_state)
    evaluate = sorted_rows(evaluate)
    return evaluate.assign(predicted_probability=fitted.predict(evaluate))


def importance(
    fitted: FittedModel,
    evaluate: pd.DataFrame,
    random_state: int,
    repeats: int = IMPORTANCE_REPEATS,
) -> pd.DataFrame:
    """Permutation importance of each feature of ``fitted`` on the
    ``evaluate`` rows: the decrease in ROC-AUC when the feature's values
    are shuffled (``repeats`` shuffles, seeded). Columns feature,
    importance_mean, importance_std, importance_rank (1 = largest mean
    decrease; ties by feature name). Needs both classes in ``evaluate``
    (else :class:`SingleClassError`)."""
    evaluate = sorted_rows(evaluate)
    labels = labels_of(evaluate)
    positives = int(labels.sum())
    if positives == 0 or positives == len(labels):
        raise SingleClassError(
            f"cannot measure ROC-AUC on {len(labels):,} rows with a single class"
        )
    matrix = design_matrix(evaluate, fitted.features)
    estimator = fitted.pipeline
    if fitted.model == GRADIENT_BOOSTING:
        # Its encoding maps each feature to one column, so shuffling the
        # encoded column is shuffling the feature: encode once, not once
        # per shuffle (five times faster).
        matrix = fitted.pipeline[:-1].transform(matrix)
        estimator = fitted.pipeline[-1]
    with threadpool_limits(limits=THREADS):
        result = permutation_importance(
            estimator,
            matrix,
            labels,
            scoring="roc_auc",
            n_repeats=repeats,
            random_state=random_state,
        )
    table = pd.DataFrame(
        {
            "feature": fitted.features.columns,
            "importance_mean": result.importances_mean.astype(float),
            "importance_std": result.importances_std.astype(float),
        }
    )
    table = table.sort_values(
        ["importance_mean", "feature"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
    table["importance_rank"] = np.arange(1, len(table) + 1)
    return table


def in_churn_population(recency_days: pd.Series, horizon_days: int) -> pd.Series:
    """Users who can churn within ``horizon_days``: those who bought in the
    previous ``horizon_days`` (recency_days <= horizon; a null recency, no
    purchase, is outside). The population of int_propensity_examples' will_churn
    rows, applied to the users scored."""
    recency = pd.to_numeric(recency_days, errors="coerce")
    return recency.le(horizon_days) & recency.notna()
