"""Lookalike audiences: a pure function behind the dbt Python model
``int_lookalike_scored`` (marts ``lookalike_scores`` and
``lookalike_evaluation``).

A seed-vs-rest classifier: the propensity models' gradient boosting
(:func:`segmentation.methods.propensity.fit`, the same fixed
hyperparameters, one thread, a fixed seed) fitted on the users of one date
with the label "in the seed on that date", on the point-in-time features
of ``int_user_features_accumulated`` (every column after its key columns,
as the propensity models take them) minus the seed column itself when it
is a feature (a seed of value_tier = high would otherwise be learnt from
value_tier alone). Its predicted probability for a user outside the seed
is the lookalike score: how much the user's features look like the seed's.

The non-members scored are among the rows the classifier was fitted on
(as negatives), as in any positive-unlabelled set-up: with leaves of at
least 40 users and L2 regularisation the model cannot single a user out,
and the evaluation (fitted at an earlier snapshot, checked against who
joined the seed later) measures the ranking this gives.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmentation.methods import propensity

#: The columns of a population frame (int_lookalike_population).
MEMBER_COLUMN = "is_seed_member"
SAMPLE_COLUMN = "is_in_fit_sample"

#: Non-members are scored this many at a time, so the encoded copy of the
#: features the classifier reads stays small at any population size.
PREDICT_CHUNK_ROWS = 200_000


def seed_features(features: pd.DataFrame, seed_column: str) -> propensity.Features:
    """The feature columns of a frame laid out like
    int_user_features_accumulated (every column after its keys, as the
    propensity models split them), without ``seed_column``."""
    split = propensity.split_features(features, propensity.SCORING_KEY_COLUMNS)
    return propensity.Features(
        tuple(column for column in split.numeric if column != seed_column),
        tuple(column for column in split.categorical if column != seed_column),
    )


def scores(
    features: pd.DataFrame,
    population: pd.DataFrame,
    seed_column: str,
    random_state: int,
) -> pd.DataFrame:
    """The lookalike score of every non-member of the seed.

    Args:
        features: the feature rows of one date (the layout of
            int_user_features_accumulated: as_of_date, user_id, user_key,
            then the features).
        population: user_id, ``is_seed_member`` and ``is_in_fit_sample``
            for the users of that date (int_user_features_accumulated
            users without a row here are left out).
        seed_column: the column the seed is defined on; left out of the
            features when it is one.
        random_state: the seed of the gradient boosting.

    Returns:
        user_id, user_key and lookalike_score (the fitted probability of
        being in the seed) of every non-member, sorted by user id. Raises
        :class:`segmentation.methods.propensity.SingleClassError` when the
        fit sample holds only members or only non-members.
    """
    columns = seed_features(features, seed_column)
    # Flags looked up by user id rather than a merge, so the (possibly
    # million-row) feature frame is not copied whole: only the fit sample
    # and the non-members are taken out of it.
    flags = population.set_index("user_id").reindex(features["user_id"].to_numpy())
    known = flags[MEMBER_COLUMN].notna().to_numpy()
    member = flags[MEMBER_COLUMN].eq(True).to_numpy()
    in_sample = flags[SAMPLE_COLUMN].eq(True).to_numpy()
    train = features[known & in_sample].assign(label_value=member[known & in_sample])
    fitted = propensity.fit(
        train, propensity.GRADIENT_BOOSTING, random_state, features=columns
    )
    outside = propensity.sorted_rows(features[known & ~member])
    score = np.concatenate(
        [
            fitted.predict(outside.iloc[start : start + PREDICT_CHUNK_ROWS])
            for start in range(0, len(outside), PREDICT_CHUNK_ROWS)
        ]
        or [np.empty(0, dtype=float)]
    )
    return pd.DataFrame(
        {
            "user_id": outside["user_id"].astype(str),
            "user_key": outside["user_key"].astype(str),
            "lookalike_score": score,
        }
    )
