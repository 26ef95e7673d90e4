"""K-Means segmentation of purchasers: pure functions behind the dbt Python
models ``int_clustering_k_selected``, ``int_users_clustered`` and
``int_clusters_described`` (marts ``cluster_k_selection``, ``user_clusters``
and ``cluster_centroids``).

The pipeline, in order:

1. **Missing values**: a feature that is null for every user (behaviour
   features when the data has no events) is dropped; other gaps (a CTR
   without impressions) are filled with the feature's median over purchasers.
2. **Heavy tails**: ``log1p`` on the features listed as heavy-tailed (counts,
   money, days), after clipping negatives to 0.
3. **Scaling**: standardisation (zero mean, unit variance; a constant
   feature stays 0).
4. **PCA**, only when there are at least ``pca_min_features`` features,
   keeping ``pca_variance`` of the variance.
5. **K-Means** with ``k`` chosen in ``[k_min, k_max]`` by the silhouette
   score on a fixed-size random sample, so choosing k costs the same for a
   thousand or a million users; ``MiniBatchKMeans`` above
   ``minibatch_threshold`` rows; a fixed random state throughout.

Cluster ids are ordered by mean monetary value (1 = highest) on the first
snapshot. On a later snapshot that keeps the previous snapshot's k, K-Means
is warm-started: it starts once from the previous clusters' centroids
recomputed in the current feature space (the mean of the current features of
each previous cluster's members), so it converges near the previous solution
and cluster i keeps id i; users whose features barely moved keep their
cluster. The previous k is scored with that same warm-started fit, so a bad
local optimum of a fresh fit never makes k switch; k changes only when
another k is better by more than ``keep_k_tolerance``. When k changes, the
fit is fresh and ids are ordered afresh by mean monetary value.
(:func:`stable_ids` can also match a fresh fit's clusters to previous ids by
Hungarian matching on standardised centroids.)

Degenerate data never raises: no purchasers, one purchaser, fewer distinct
users than ``k_min + 1`` or identical features all fall back to a single
cluster, with the reason returned for the log and the tables.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment
from sklearn import get_config
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.metrics import (
    calinski_harabasz_score,
    davies_bouldin_score,
    pairwise_distances,
    silhouette_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from threadpoolctl import threadpool_limits


@dataclass(frozen=True)
class ClusteringConfig:
    """Settings of the clustering, from the dbt vars ``cluster_*`` (field
    ``x`` is var ``cluster_x``); no defaults here, so the vars are the only
    source of the values.

    Attributes:
        features: feature columns used, in order.
        log_features: the heavy-tailed ones, transformed with log1p.
        k_min: smallest number of clusters tried (at least 2).
        k_max: largest number of clusters tried.
        sample_size: rows of the random sample the k scores are computed on.
        minibatch_threshold: above this many rows, MiniBatchKMeans is used.
        pca_min_features: PCA is applied from this many features on.
        pca_variance: share of variance PCA keeps.
        random_state: seed of every random step.
        keep_k_tolerance: keep the previous snapshot's k (scored with its
            warm-started fit) unless another k's silhouette is better by
            more than this, so k does not flip-flop.
    """

    features: tuple[str, ...]
    log_features: tuple[str, ...]
    k_min: int
    k_max: int
    sample_size: int
    minibatch_threshold: int
    pca_min_features: int
    pca_variance: float
    random_state: int
    keep_k_tolerance: float

    @classmethod
    def from_json(cls, text: str) -> ClusteringConfig:
        """Build from the JSON the dbt model config carries (every key is
        required: the values come from the vars, never from defaults
        here)."""
        raw = json.loads(text)
        return cls(
            features=tuple(raw["features"]),
            log_features=tuple(raw["log_features"]),
            # Silhouette needs two clusters at least.
            k_min=max(2, int(raw["k_min"])),
            k_max=int(raw["k_max"]),
            sample_size=int(raw["sample_size"]),
            minibatch_threshold=int(raw["minibatch_threshold"]),
            pca_min_features=int(raw["pca_min_features"]),
            pca_variance=float(raw["pca_variance"]),
            random_state=int(raw["random_state"]),
            keep_k_tolerance=float(raw["keep_k_tolerance"]),
        )


def _log1p_columns(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.array(values, dtype=float, copy=True)
    out[:, mask] = np.log1p(np.clip(out[:, mask], 0.0, None))
    return out


def _expm1_columns(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.array(values, dtype=float, copy=True)
    out[:, mask] = np.expm1(out[:, mask])
    return out


@dataclass
class Prepared:
    """Features ready for K-Means, and how they were prepared.

    Attributes:
        user_ids: the users, in row order.
        columns: the features kept (all-null ones dropped).
        dropped: the features dropped because every value was null.
        standardised: features after imputation, log1p and scaling.
        model_space: what K-Means sees (``standardised``, or its PCA).
        pipeline: the fitted imputer, log1p, scaler (and PCA) steps.
    """

    user_ids: np.ndarray
    columns: list[str]
    dropped: list[str]
    standardised: np.ndarray
    model_space: np.ndarray
    pipeline: Pipeline | None
    notes: list[str] = field(default_factory=list)

    def to_original_units(self, standardised: np.ndarray) -> np.ndarray:
        """Map points of the standardised space back to feature units."""
        if self.pipeline is None or standardised.size == 0:
            return standardised
        scaled = self.pipeline.named_steps["scale"].inverse_transform(standardised)
        return self.pipeline.named_steps["log1p"].inverse_transform(scaled)


def prepare_features(frame: pd.DataFrame, config: ClusteringConfig) -> Prepared:
    """Impute, log-transform, scale and (optionally) reduce the features.

    ``frame`` holds ``user_id`` and the configured feature columns. Rows are
    sorted by user_id first, so the result never depends on input order.
    """
    frame = frame.sort_values("user_id", kind="stable").reset_index(drop=True)
    user_ids = frame["user_id"].astype(str).to_numpy()
    values = frame[list(config.features)].apply(pd.to_numeric, errors="coerce")
    values = values.astype(float)
    empty = [column for column in values.columns if values[column].isna().all()]
    kept = [column for column in values.columns if column not in empty]
    notes = []
    if empty and len(frame):
        notes.append(f"dropped features with no values: {', '.join(empty)}")
    if not kept or len(frame) == 0:
        blank = np.zeros((len(frame), 0))
        return Prepared(user_ids, kept, empty, blank, blank, None, notes)
    mask = np.array([column in config.log_features for column in kept])
    steps = [
        ("impute", SimpleImputer(strategy="median")),
        (
            "log1p",
            FunctionTransformer(
                _log1p_columns,
                inverse_func=_expm1_columns,
                kw_args={"mask": mask},
                inv_kw_args={"mask": mask},
                check_inverse=False,
            ),
        ),
        ("scale", StandardScaler()),
    ]
    pipeline = Pipeline(steps)
    standardised = pipeline.fit_transform(values[kept].to_numpy())
    model_space = standardised
    if len(kept) >= config.pca_min_features and len(frame) > len(kept):
        pca = PCA(n_components=config.pca_variance, random_state=config.random_state)
        model_space = pca.fit_transform(standardised)
        pipeline.steps.append(("pca", pca))
        notes.append(
            f"PCA kept {pca.n_components_} of {len(kept)} dimensions "
            f"({config.pca_variance:.0%} of variance)"
        )
    return Prepared(user_ids, kept, empty, standardised, model_space, pipeline, notes)


def _kmeans(
    k: int, rows: int, config: ClusteringConfig, init: np.ndarray | None = None
) -> KMeans | MiniBatchKMeans:
    """K-Means for k clusters: k-means++ restarts, or with ``init`` (a warm
    start from the previous snapshot's centroids) a single run from those
    centroids."""
    if rows > config.minibatch_threshold:
        if init is not None:
            return MiniBatchKMeans(
                n_clusters=k,
                init=init,
                random_state=config.random_state,
                batch_size=4096,
                n_init=1,
            )
        return MiniBatchKMeans(
            n_clusters=k,
            random_state=config.random_state,
            batch_size=4096,
            n_init=3,
        )
    if init is not None:
        return KMeans(
            n_clusters=k, init=init, random_state=config.random_state, n_init=1
        )
    return KMeans(n_clusters=k, random_state=config.random_state, n_init=4)


def _sample_rows(count: int, config: ClusteringConfig) -> np.ndarray:
    """Row numbers of the fixed-size random sample (all rows when fewer)."""
    if count <= config.sample_size:
        return np.arange(count)
    rng = np.random.default_rng(config.random_state)
    return np.sort(rng.choice(count, config.sample_size, replace=False))


def _sample(points: np.ndarray, config: ClusteringConfig) -> np.ndarray:
    if len(points) <= config.sample_size:
        return points
    return points[_sample_rows(len(points), config)]


def warm_centroids(
    points: np.ndarray, previous_ids: np.ndarray | None, k: int
) -> np.ndarray | None:
    """Starting centroids of a warm start: row i is the mean of the current
    ``points`` of the users whose previous cluster id was i + 1 (the
    previous snapshot's clusters expressed in the current feature space).

    A previous cluster with none of its users left starts at the point
    farthest from the centroids placed so far (the first such point in row
    order), so the start is deterministic. None when there is nothing to
    start from: no previous ids, none known, or a previous k other than k.
    """
    if previous_ids is None or len(points) == 0 or k < 2:
        return None
    known = previous_ids > 0
    if not known.any() or int(previous_ids.max()) != k:
        return None
    centroids = _means_by_label(points[known], previous_ids[known] - 1, k)
    present = np.bincount(previous_ids[known] - 1, minlength=k) > 0
    for cluster in np.flatnonzero(~present):
        nearest = np.full(len(points), np.inf)
        for placed in centroids[present]:
            nearest = np.minimum(nearest, np.linalg.norm(points - placed, axis=1))
        centroids[cluster] = points[int(np.argmax(nearest))]
        present[cluster] = True
    return centroids


K_SCORE_COLUMNS = [
    "k",
    "silhouette",
    "davies_bouldin",
    "calinski_harabasz",
    "inertia",
    "sample_rows",
    "is_chosen",
    "fallback_reason",
]


@dataclass
class KChoice:
    """The k tried, their scores, and the k chosen (1 = fallback)."""

    scores: pd.DataFrame
    k: int
    fallback_reason: str | None


def fallback_reason(points: np.ndarray, config: ClusteringConfig) -> str | None:
    """Why the data cannot be split into at least k_min clusters, if so."""
    if len(points) == 0:
        return "no purchasers"
    if points.shape[1] == 0:
        return "no feature has any value"
    if len(points) == 1:
        return "only one purchaser"
    distinct = len(np.unique(np.round(_sample(points, config), 9), axis=0))
    if distinct == 1:
        return "every purchaser has identical features"
    if distinct <= config.k_min:
        return (
            f"only {distinct} distinct purchasers, too few for "
            f"k_min = {config.k_min} clusters"
        )
    return None


def _score(
    sample: np.ndarray,
    k: int,
    config: ClusteringConfig,
    init: np.ndarray | None,
    distances: np.ndarray | None = None,
) -> dict | None:
    """Fit k-means for k on the sample (warm-started from ``init`` if given)
    and score it; None when the fit does not split the sample. ``distances``:
    the sample's pairwise Euclidean distances (:func:`sample_distances`),
    shared by every k, else computed here."""
    model = _kmeans(k, len(sample), config, init).fit(sample)
    labels = model.labels_
    if len(np.unique(labels)) < 2:
        return None
    if distances is None:
        silhouette = silhouette_score(sample, labels, random_state=config.random_state)
    else:
        silhouette = silhouette_score(
            distances, labels, metric="precomputed", random_state=config.random_state
        )
    return {
        "k": k,
        "silhouette": float(silhouette),
        "davies_bouldin": float(davies_bouldin_score(sample, labels)),
        "calinski_harabasz": float(calinski_harabasz_score(sample, labels)),
        "inertia": float(model.inertia_),
        "sample_rows": len(sample),
        "is_chosen": False,
        "fallback_reason": None,
    }


def sample_distances(sample: np.ndarray) -> np.ndarray | None:
    """The pairwise Euclidean distances of the sample's rows (zero on the
    diagonal): what ``silhouette_score(sample, labels)`` computes for every
    k, computed once and passed to it as ``metric="precomputed"`` (at the
    default sample size, 5,000 rows, it saves k_max - k_min computations
    of a 5,000 x 5,000 matrix). It is the same call as the silhouette's
    own (``pairwise_distances`` of the whole sample against itself), so
    the silhouettes are the same to the bit; None (each k computes its
    own, in chunks, as before) when the matrix would not fit in
    scikit-learn's working memory in one chunk, so the memory used never
    grows."""
    rows = len(sample)
    # The rows of one chunk of pairwise_distances_chunked (working_memory
    # is in MiB, a row of distances takes 8 bytes per sample row).
    if get_config()["working_memory"] * 2**20 // (8 * max(rows, 1)) < rows:
        return None
    distances = pairwise_distances(sample, metric="euclidean")
    np.fill_diagonal(distances, 0.0)
    return distances


def _score_every_k(
    sample: np.ndarray,
    distinct: int,
    config: ClusteringConfig,
    warm: tuple[int, np.ndarray] | None = None,
) -> list[dict]:
    """Fit k-means for every k of the range on the sample and score it; the
    k of ``warm`` (previous k, starting centroids) is fitted from those
    centroids instead of afresh."""
    rows = []
    ks = range(config.k_min, min(config.k_max, distinct - 1) + 1)
    distances = sample_distances(sample) if len(ks) > 1 else None
    for k in ks:
        init = warm[1] if warm is not None and warm[0] == k else None
        row = _score(sample, k, config, init, distances)
        if row is not None:
            rows.append(row)
    return rows


def choose_k(
    points: np.ndarray,
    config: ClusteringConfig,
    previous_k: int | None = None,
    previous_ids: np.ndarray | None = None,
) -> KChoice:
    """Score every k in the range on a sample and pick the best silhouette.

    With a previous snapshot, its k is scored fairly: when ``previous_ids``
    (each user's previous cluster id, 0 if none, in the rows of ``points``)
    are given, that k is fitted warm-started from the previous clusters'
    centroids in the current space (:func:`warm_centroids`), the fit the
    assignment then makes, rather than from a fresh random start whose bad
    local optimum could make k switch. The previous k is kept unless
    another k's silhouette is better by more than ``keep_k_tolerance``.
    """
    reason = fallback_reason(points, config)
    if reason is not None:
        row = dict.fromkeys(K_SCORE_COLUMNS)
        row.update(k=1, sample_rows=len(points), is_chosen=True, fallback_reason=reason)
        return KChoice(pd.DataFrame([row], columns=K_SCORE_COLUMNS), 1, reason)
    rows_sampled = _sample_rows(len(points), config)
    sample = points[rows_sampled]
    distinct = len(np.unique(np.round(sample, 9), axis=0))
    warm = None
    if previous_k is not None and previous_ids is not None:
        init = warm_centroids(points, previous_ids, previous_k)
        if init is not None:
            warm = (previous_k, init)
    # One thread: on the fixed-size sample a second thread only adds
    # synchronisation (k selection took 4.5 s with two threads and 1.6 s
    # with one on a busy 2-core machine).
    with threadpool_limits(limits=1):
        rows = _score_every_k(sample, distinct, config, warm)
    if not rows:
        reason = "no k in the range splits the purchasers"
        row = dict.fromkeys(K_SCORE_COLUMNS)
        row.update(k=1, sample_rows=len(sample), is_chosen=True, fallback_reason=reason)
        return KChoice(pd.DataFrame([row], columns=K_SCORE_COLUMNS), 1, reason)
    scores = pd.DataFrame(rows, columns=K_SCORE_COLUMNS)
    best = int(scores.loc[scores["silhouette"].idxmax(), "k"])
    chosen = best
    if previous_k is not None and previous_k in set(scores["k"]):
        best_score = scores["silhouette"].max()
        previous_score = scores.loc[scores["k"] == previous_k, "silhouette"].iloc[0]
        if previous_score >= best_score - config.keep_k_tolerance:
            chosen = previous_k
    scores["is_chosen"] = scores["k"] == chosen
    return KChoice(scores, chosen, None)


@dataclass
class Clustering:
    """Final assignment of every purchaser.

    Attributes:
        cluster_ids: stable cluster id (1..k) per user, in Prepared order.
        distances: distance of each user to its centroid in model space.
        centroids_standardised: per cluster id (row i = id i + 1), the mean
            of its members in the standardised space.
        k: number of clusters.
    """

    cluster_ids: np.ndarray
    distances: np.ndarray
    centroids_standardised: np.ndarray
    k: int


def fit_clusters(
    prepared: Prepared,
    k: int,
    config: ClusteringConfig,
    init: np.ndarray | None = None,
) -> np.ndarray:
    """Raw K-Means labels (0..k-1) for every user; zeros for k = 1.

    With ``init`` (k starting centroids in model space, from
    :func:`warm_centroids`) K-Means runs once from them and converges near
    the previous snapshot's solution, so label i is previous cluster i + 1;
    without it the fit is fresh.
    """
    points = prepared.model_space
    if k <= 1 or len(points) == 0:
        return np.zeros(len(points), dtype=int)
    return _kmeans(k, len(points), config, init).fit_predict(points)


def _means_by_label(points: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    sums = np.zeros((k, points.shape[1]))
    np.add.at(sums, labels, points)
    counts = np.bincount(labels, minlength=k).reshape(-1, 1)
    return sums / np.maximum(counts, 1)


def stable_ids(
    labels: np.ndarray,
    standardised: np.ndarray,
    monetary: np.ndarray,
    previous_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Map raw labels to stable cluster ids 1..k.

    First run (no previous ids): id 1 is the cluster with the highest mean
    monetary value, id k the lowest. Later runs: ``previous_ids`` holds each
    user's id from the previous run (0 for users new since then); the
    previous clusters' centroids are recomputed from the current
    standardised features of their members, and new clusters take the ids
    of the previous clusters they are closest to (Hungarian matching).
    Clusters left unmatched take the unused ids in monetary order.
    """
    k = int(labels.max()) + 1 if len(labels) else 0
    if k == 0:
        return np.zeros(0, dtype=int)
    mean_monetary = np.array(
        [monetary[labels == label].mean() for label in range(k)], dtype=float
    )
    by_value = list(np.argsort(-mean_monetary, kind="stable"))
    mapping = {label: rank + 1 for rank, label in enumerate(by_value)}
    if previous_ids is not None and (previous_ids > 0).any():
        known = previous_ids > 0
        previous_k = int(previous_ids.max())
        previous_centroids = _means_by_label(
            standardised[known], previous_ids[known] - 1, previous_k
        )
        present = np.bincount(previous_ids[known] - 1, minlength=previous_k) > 0
        new_centroids = _means_by_label(standardised, labels, k)
        cost = np.linalg.norm(
            new_centroids[:, None, :] - previous_centroids[None, :, :], axis=2
        )
        cost[:, ~present] = np.inf
        cost = np.where(np.isfinite(cost), cost, 1e12)
        rows, columns = linear_sum_assignment(cost)
        mapping = {}
        for label, previous in zip(rows, columns, strict=True):
            if present[previous]:
                mapping[int(label)] = int(previous) + 1
        used = set(mapping.values())
        free = (candidate for candidate in range(1, k + previous_k + 1))
        for label in by_value:
            if int(label) not in mapping:
                candidate = next(free)
                while candidate in used:
                    candidate = next(free)
                mapping[int(label)] = candidate
                used.add(candidate)
    return np.array([mapping[int(label)] for label in labels], dtype=int)


def assign(
    prepared: Prepared,
    labels: np.ndarray,
    monetary: np.ndarray,
    previous_ids: np.ndarray | None = None,
    warm_started: bool = False,
) -> Clustering:
    """Stable ids, distances to centroids and standardised centroids.

    After a warm start (``warm_started``) label i started from previous
    cluster i + 1, so the id is simply label + 1; otherwise ids come from
    :func:`stable_ids`."""
    if len(labels) == 0:
        empty = np.zeros((0, prepared.standardised.shape[1]))
        return Clustering(np.zeros(0, dtype=int), np.zeros(0), empty, 0)
    if warm_started:
        ids = np.asarray(labels, dtype=int) + 1
    else:
        ids = stable_ids(labels, prepared.standardised, monetary, previous_ids)
    k = int(ids.max())
    model_centroids = _means_by_label(prepared.model_space, ids - 1, k)
    distances = np.linalg.norm(prepared.model_space - model_centroids[ids - 1], axis=1)
    centroids = _means_by_label(prepared.standardised, ids - 1, k)
    return Clustering(ids, distances, centroids, k)


def profile_labels(summary: pd.DataFrame, reference: pd.DataFrame) -> dict[int, str]:
    """Human-readable profile of each cluster, e.g. "high spend, frequent,
    recent".

    ``summary`` has one row per cluster_id with the median ``monetary``,
    ``frequency`` and ``recency_days`` of its members; ``reference`` holds
    those columns for every purchaser, to place each median in the
    population's terciles. Duplicate profiles get the cluster id appended.
    """
    low_m, high_m = reference["monetary"].quantile([1 / 3, 2 / 3])
    high_f = reference["frequency"].quantile(2 / 3)
    low_r, high_r = reference["recency_days"].quantile([1 / 3, 2 / 3])
    labels: dict[int, str] = {}
    for row in summary.itertuples(index=False):
        spend = (
            "high spend"
            if row.monetary > high_m
            else "low spend"
            if row.monetary <= low_m
            else "mid spend"
        )
        frequency = (
            "one-time"
            if row.frequency <= 1
            else "frequent"
            if row.frequency > high_f
            else "occasional"
        )
        recency = (
            "recent"
            if row.recency_days <= low_r
            else "lapsed"
            if row.recency_days > high_r
            else "lapsing"
        )
        labels[int(row.cluster_id)] = f"{spend}, {frequency}, {recency}"
    counts = pd.Series(list(labels.values())).value_counts()
    return {
        cluster: label if counts[label] == 1 else f"{label} (cluster {cluster})"
        for cluster, label in labels.items()
    }


def previous_assignments(
    user_ids: Sequence[str], previous: Mapping[str, int] | None
) -> np.ndarray | None:
    """Each user's cluster id in the previous run (0 when unknown)."""
    if not previous:
        return None
    return np.array([int(previous.get(user, 0) or 0) for user in user_ids], dtype=int)
