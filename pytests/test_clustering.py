"""The pure functions behind the clustering and segment Python models."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sklearn
from sklearn.metrics import silhouette_score

from segmentation.methods import clustering, segments
from segmentation.project import project_vars

VARS = project_vars(Path(__file__).resolve().parents[1])


def clustering_settings(**overrides) -> dict:
    """The clustering settings as the models' config.meta carries them:
    field x is var cluster_x (committed values), then the overrides."""
    names = [field.name for field in dataclasses.fields(clustering.ClusteringConfig)]
    return {name: VARS[f"cluster_{name}"] for name in names} | overrides


def config_from_vars(**overrides) -> clustering.ClusteringConfig:
    return clustering.ClusteringConfig.from_json(
        json.dumps(clustering_settings(**overrides))
    )


FEATURES = ("recency_days", "frequency", "monetary", "ctr_90d")
CONFIG = config_from_vars(
    features=FEATURES,
    log_features=("recency_days", "frequency", "monetary"),
    k_min=2,
    k_max=6,
    sample_size=400,
)


def blobs(per_cluster: int = 150, seed: int = 0) -> pd.DataFrame:
    """Four well separated groups of purchasers."""
    rng = np.random.default_rng(seed)
    centres = [
        (10, 12, 2000, 0.30),
        (40, 4, 400, 0.20),
        (200, 2, 120, 0.10),
        (600, 1, 30, 0.03),
    ]
    rows = []
    for number, (recency, frequency, monetary, ctr) in enumerate(centres):
        for index in range(per_cluster):
            rows.append(
                {
                    "user_id": f"u{number}{index:04d}",
                    "recency_days": recency * rng.uniform(0.9, 1.1),
                    "frequency": max(1.0, frequency * rng.uniform(0.9, 1.1)),
                    "monetary": monetary * rng.uniform(0.9, 1.1),
                    "ctr_90d": ctr * rng.uniform(0.9, 1.1),
                }
            )
    return pd.DataFrame(rows)


def test_config_reads_the_json_the_models_carry() -> None:
    config = config_from_vars(features=["a", "b"], log_features=["a"], k_min=1)
    assert config.features == ("a", "b")
    assert config.k_min == 2  # silhouette needs two clusters at least


def test_config_values_come_only_from_the_vars() -> None:
    """No second set of defaults: the committed vars are the values, and a
    setting missing from the JSON is an error, not a silent default."""
    config = config_from_vars()
    assert config.k_min == VARS["cluster_k_min"]
    assert config.features == tuple(VARS["cluster_features"])
    assert config.keep_k_tolerance == VARS["cluster_keep_k_tolerance"]
    settings = clustering_settings()
    del settings["k_min"]
    with pytest.raises(KeyError, match="k_min"):
        clustering.ClusteringConfig.from_json(json.dumps(settings))
    with pytest.raises(TypeError):
        clustering.ClusteringConfig(features=("a",))  # type: ignore[call-arg]
    with pytest.raises(KeyError, match="cluster_precedence"):
        segments.SegmentRules.from_json(json.dumps({"rules": []}))


def test_prepare_imputes_logs_scales_and_ignores_row_order() -> None:
    frame = blobs()
    frame["sessions_90d"] = None
    frame.loc[frame.index % 7 == 0, "ctr_90d"] = None
    config = dataclasses.replace(CONFIG, features=(*FEATURES, "sessions_90d"))
    prepared = clustering.prepare_features(frame, config)
    assert prepared.dropped == ["sessions_90d"]
    assert prepared.columns == list(FEATURES)
    assert any("sessions_90d" in note for note in prepared.notes)
    assert not np.isnan(prepared.standardised).any()
    assert np.allclose(prepared.standardised.mean(axis=0), 0, atol=1e-9)
    shuffled = clustering.prepare_features(frame.sample(frac=1, random_state=3), config)
    assert np.array_equal(prepared.user_ids, shuffled.user_ids)
    assert np.allclose(prepared.standardised, shuffled.standardised)


def test_original_units_round_trip() -> None:
    frame = blobs()
    prepared = clustering.prepare_features(frame, CONFIG)
    back = prepared.to_original_units(prepared.standardised[:5])
    ordered = frame.set_index("user_id").loc[prepared.user_ids[:5]]
    assert np.allclose(back[:, :3], ordered[["recency_days", "frequency", "monetary"]])


def test_pca_only_with_many_features() -> None:
    frame = blobs()
    few = clustering.prepare_features(frame, CONFIG)
    assert "pca" not in few.pipeline.named_steps
    many_config = dataclasses.replace(CONFIG, pca_min_features=3)
    many = clustering.prepare_features(frame, many_config)
    assert "pca" in many.pipeline.named_steps
    assert many.model_space.shape[1] <= len(FEATURES)


def test_choose_k_finds_the_four_groups_on_a_bounded_sample() -> None:
    prepared = clustering.prepare_features(blobs(), CONFIG)
    choice = clustering.choose_k(prepared.model_space, CONFIG)
    assert choice.fallback_reason is None
    assert choice.k == 4
    assert list(choice.scores["k"]) == [2, 3, 4, 5, 6]
    assert (choice.scores["sample_rows"] == CONFIG.sample_size).all()
    assert choice.scores["is_chosen"].sum() == 1
    best = choice.scores.set_index("k").loc[4]
    assert best["silhouette"] == choice.scores["silhouette"].max()
    assert {"davies_bouldin", "calinski_harabasz", "inertia"} <= set(choice.scores)


def test_choose_k_silhouettes_are_those_of_the_sample_itself() -> None:
    """choose_k computes the sample's distances once for every k
    (sample_distances): each k's silhouette must equal, to the bit, the
    silhouette scikit-learn computes from the sample and that k's labels."""
    prepared = clustering.prepare_features(blobs(), CONFIG)
    sample = prepared.model_space[clustering._sample_rows(len(blobs()), CONFIG)]
    scores = clustering.choose_k(prepared.model_space, CONFIG).scores
    for k, silhouette in zip(scores["k"], scores["silhouette"], strict=True):
        labels = clustering._kmeans(k, len(sample), CONFIG).fit(sample).labels_
        assert silhouette == silhouette_score(sample, labels)
    # Beyond scikit-learn's working memory in one chunk, no matrix is kept.
    assert clustering.sample_distances(sample) is not None
    with sklearn.config_context(working_memory=1):
        assert clustering.sample_distances(sample) is None


def test_choose_k_keeps_the_previous_k_when_nearly_as_good() -> None:
    prepared = clustering.prepare_features(blobs(), CONFIG)
    scores = clustering.choose_k(prepared.model_space, CONFIG).scores.set_index("k")
    close = scores.index[
        (scores["silhouette"] >= scores["silhouette"].max() - CONFIG.keep_k_tolerance)
        & (scores.index != 4)
    ]
    far = scores.index[
        scores["silhouette"] < scores["silhouette"].max() - CONFIG.keep_k_tolerance
    ]
    for previous in close:
        assert clustering.choose_k(prepared.model_space, CONFIG, previous).k == previous
    for previous in far:
        assert clustering.choose_k(prepared.model_space, CONFIG, previous).k == 4


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (pd.DataFrame(columns=["user_id", *FEATURES]), "no purchasers"),
        (blobs().head(1), "only one purchaser"),
        (
            pd.DataFrame(
                {
                    "user_id": [f"u{i}" for i in range(20)],
                    "recency_days": 5.0,
                    "frequency": 2.0,
                    "monetary": 80.0,
                    "ctr_90d": 0.1,
                }
            ),
            "identical features",
        ),
        (blobs().iloc[[0, 200]], "too few"),
    ],
)
def test_degenerate_data_falls_back_to_one_cluster(
    frame: pd.DataFrame, reason: str
) -> None:
    prepared = clustering.prepare_features(frame, CONFIG)
    choice = clustering.choose_k(prepared.model_space, CONFIG)
    assert choice.k == 1
    assert reason in choice.fallback_reason
    assert choice.scores["is_chosen"].tolist() == [True]
    labels = clustering.fit_clusters(prepared, choice.k, CONFIG)
    result = clustering.assign(prepared, labels, np.ones(len(frame)))
    assert len(result.cluster_ids) == len(frame)
    assert set(result.cluster_ids) <= {1}


def test_first_run_orders_ids_by_monetary() -> None:
    frame = blobs()
    prepared = clustering.prepare_features(frame, CONFIG)
    labels = clustering.fit_clusters(prepared, 4, CONFIG)
    monetary = frame.set_index("user_id").loc[prepared.user_ids, "monetary"].to_numpy()
    result = clustering.assign(prepared, labels, monetary)
    means = [monetary[result.cluster_ids == cluster].mean() for cluster in (1, 2, 3, 4)]
    assert means == sorted(means, reverse=True)


def test_later_runs_keep_the_previous_ids() -> None:
    frame = blobs()
    prepared = clustering.prepare_features(frame, CONFIG)
    labels = clustering.fit_clusters(prepared, 4, CONFIG)
    monetary = frame.set_index("user_id").loc[prepared.user_ids, "monetary"].to_numpy()
    first = clustering.assign(prepared, labels, monetary).cluster_ids
    # A previous run that numbered the same groups differently.
    renumber = {1: 3, 2: 4, 3: 1, 4: 2}
    previous = np.array([renumber[cluster] for cluster in first])
    previous[:10] = 0  # users who are new since then
    again = clustering.assign(prepared, labels, monetary, previous).cluster_ids
    assert np.array_equal(again[10:], previous[10:])


def test_ids_survive_a_small_shift_in_the_data() -> None:
    frame = blobs()
    prepared = clustering.prepare_features(frame, CONFIG)
    monetary = frame.set_index("user_id").loc[prepared.user_ids, "monetary"].to_numpy()
    first = clustering.assign(
        prepared, clustering.fit_clusters(prepared, 4, CONFIG), monetary
    ).cluster_ids
    shifted = blobs(seed=1)
    shifted["recency_days"] += 7  # a week later
    prepared_shifted = clustering.prepare_features(shifted, CONFIG)
    monetary_shifted = (
        shifted.set_index("user_id")
        .loc[prepared_shifted.user_ids, "monetary"]
        .to_numpy()
    )
    previous = clustering.previous_assignments(
        prepared_shifted.user_ids, dict(zip(prepared.user_ids, first, strict=True))
    )
    second = clustering.assign(
        prepared_shifted,
        clustering.fit_clusters(prepared_shifted, 4, CONFIG),
        monetary_shifted,
        previous,
    ).cluster_ids
    assert (second == previous).mean() > 0.95


def cloud(rows: int = 1200, seed: int = 0) -> pd.DataFrame:
    """Purchasers with no clear groups (one broad cloud), where a fresh
    K-Means lands on one of several near-equal local optima."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "user_id": [f"u{index:05d}" for index in range(rows)],
            "recency_days": rng.lognormal(4.5, 1.0, rows),
            "frequency": 1.0 + rng.poisson(1.5, rows),
            "monetary": rng.lognormal(4.5, 0.8, rows),
            "ctr_90d": rng.uniform(0.0, 0.4, rows),
        }
    )


def test_warm_centroids_are_the_previous_clusters_in_the_current_space() -> None:
    points = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [20.0, 0.0], [5.0, 5.0]])
    previous = np.array([1, 1, 2, 0, 2])
    assert np.array_equal(
        clustering.warm_centroids(points, previous, 2),
        np.array([[1.0, 0.0], [7.5, 7.5]]),
    )
    # A previous cluster with no member left starts at the point farthest
    # from the other starting centroids.
    start = clustering.warm_centroids(points, np.array([1, 1, 3, 0, 3]), 3)
    assert np.array_equal(start[1], points[3])
    # Nothing to start from: no previous ids, none known, another k.
    assert clustering.warm_centroids(points, None, 2) is None
    assert clustering.warm_centroids(points, np.zeros(5, dtype=int), 2) is None
    assert clustering.warm_centroids(points, previous, 3) is None


def test_a_warm_start_continues_the_previous_clustering() -> None:
    """A month later (recency + 30 days, a little noise elsewhere), the
    warm-started fit keeps nearly every purchaser in its cluster, with the
    same ids, and repeats itself exactly; a fresh fit does not."""
    first_frame = cloud()
    first = clustering.prepare_features(first_frame, CONFIG)
    monetary = first_frame["monetary"].to_numpy()
    ids = clustering.assign(
        first, clustering.fit_clusters(first, 4, CONFIG), monetary
    ).cluster_ids
    later_frame = first_frame.assign(
        recency_days=first_frame["recency_days"] + 30,
        ctr_90d=first_frame["ctr_90d"]
        * np.random.default_rng(1).uniform(0.95, 1.05, len(first_frame)),
    )
    later = clustering.prepare_features(later_frame, CONFIG)
    previous = clustering.previous_assignments(
        later.user_ids, dict(zip(first.user_ids, ids, strict=True))
    )
    runs = []
    for _ in range(2):
        init = clustering.warm_centroids(later.model_space, previous, 4)
        labels = clustering.fit_clusters(later, 4, CONFIG, init)
        runs.append(
            clustering.assign(
                later, labels, monetary, previous, warm_started=True
            ).cluster_ids
        )
    assert np.array_equal(runs[0], runs[1])
    assert (runs[0] == previous).mean() > 0.97
    # Where it matters: a fresh fit, even with its ids matched to the
    # previous ones, lands elsewhere on this cloud.
    fresh = clustering.assign(
        later, clustering.fit_clusters(later, 4, CONFIG), monetary, previous
    ).cluster_ids
    assert (fresh == previous).mean() < 0.9


def test_the_previous_k_is_scored_with_the_warm_started_fit() -> None:
    """The silhouette of the previous k is that of the clustering the
    assignment then makes (the warm-started fit), not of a fresh fit."""
    frame = cloud(rows=500)
    config = dataclasses.replace(CONFIG, sample_size=500)
    prepared = clustering.prepare_features(frame, config)
    previous = (np.arange(500) % 3) + 1  # a poor previous split, k = 3
    init = clustering.warm_centroids(prepared.model_space, previous, 3)
    labels = clustering.fit_clusters(prepared, 3, config, init)
    warm_score = silhouette_score(
        prepared.model_space, labels, random_state=config.random_state
    )
    scores = clustering.choose_k(prepared.model_space, config, 3, previous).scores
    fresh = clustering.choose_k(prepared.model_space, config, 3).scores
    row = scores.set_index("k").loc[3]
    assert row["silhouette"] == pytest.approx(warm_score)
    assert row["silhouette"] != pytest.approx(fresh.set_index("k").loc[3, "silhouette"])
    # The other k are fitted afresh, as without a previous snapshot.
    others = scores[scores["k"] != 3].reset_index(drop=True)
    assert others.drop(columns="is_chosen").equals(
        fresh[fresh["k"] != 3].reset_index(drop=True).drop(columns="is_chosen")
    )


def test_profile_labels_describe_spend_frequency_and_recency() -> None:
    reference = pd.DataFrame(
        {
            "monetary": np.arange(1, 301, dtype=float),
            "frequency": np.repeat([1.0, 2.0, 6.0], 100),
            "recency_days": np.arange(300, 0, -1, dtype=float),
        }
    )
    summary = pd.DataFrame(
        {
            "cluster_id": [1, 2, 3],
            "monetary": [290.0, 150.0, 20.0],
            "frequency": [6.0, 2.0, 1.0],
            "recency_days": [10.0, 150.0, 290.0],
        }
    )
    assert clustering.profile_labels(summary, reference) == {
        1: "high spend, frequent, recent",
        2: "mid spend, occasional, lapsing",
        3: "low spend, one-time, lapsed",
    }
    twins = summary.assign(monetary=290.0, frequency=6.0, recency_days=10.0)
    labels = clustering.profile_labels(twins, reference)
    assert labels[2] == "high spend, frequent, recent (cluster 2)"


def _profiles() -> pd.DataFrame:
    base = {
        "recency_days": None,
        "historical_ltv": 0.0,
        "ctr_30d": None,
        "sessions_90d": 0,
        "rfm_segment": None,
    }
    rows = [
        {
            "user_id": "lost_vip",
            "lifecycle_stage": "churned",
            "value_tier": "high",
            "activity_tier": "low",
            "recency_days": 400,
            "historical_ltv": 900.0,
            "rfm_segment": "Can't Lose Them",
        },
        {
            "user_id": "vip",
            "lifecycle_stage": "active",
            "value_tier": "high",
            "activity_tier": "high",
            "recency_days": 3,
            "historical_ltv": 800.0,
            "ctr_30d": 0.3,
            "sessions_90d": 9,
            "rfm_segment": "Champions",
        },
        {
            "user_id": "fan",
            "lifecycle_stage": "active",
            "value_tier": "low",
            "activity_tier": "medium",
            "recency_days": 5,
            "historical_ltv": 20.0,
            "sessions_90d": 4,
        },
        {
            "user_id": "window_shopper",
            "lifecycle_stage": "prospect",
            "value_tier": "none",
            "activity_tier": "low",
            "sessions_90d": 3,
        },
        {
            "user_id": "sleeper",
            "lifecycle_stage": "prospect",
            "value_tier": "none",
            "activity_tier": "low",
        },
    ]
    return pd.DataFrame([{**base, **row} for row in rows]).assign(
        as_of_date=pd.Timestamp("2026-01-01"), is_opted_in_to_marketing=True
    )


CLUSTERS = pd.DataFrame(
    {
        "user_id": ["lost_vip", "vip", "fan"],
        "cluster_id": [2, 1, 3],
        "cluster_label": ["mid spend, occasional, lapsed", "high spend", "low spend"],
    }
)
RULES = [
    {"segment": "dormant", "when": {"lifecycle_stage": ["dormant", "churned"]}},
    {"segment": "high_value", "when": {"value_tier": ["high"]}},
    {
        "segment": "active",
        "when": {"lifecycle_stage": ["active"], "activity_tier": ["high", "medium"]},
    },
    {
        "segment": "potential",
        "when": {"lifecycle_stage": ["prospect"], "is_engaged": [True]},
    },
]


def _assign(precedence: str = "after_rules", rules=RULES) -> pd.DataFrame:
    settings = segments.SegmentRules.from_json(
        json.dumps({"rules": rules, "cluster_precedence": precedence})
    )
    return segments.assign_segments(_profiles(), CLUSTERS, settings).set_index(
        "user_id"
    )


def test_first_matching_rule_wins_and_says_why() -> None:
    result = _assign()
    assert result.loc["lost_vip", "primary_segment"] == "dormant"
    assert result.loc["vip", "primary_segment"] == "high_value"
    assert result.loc["fan", "primary_segment"] == "active"
    assert result.loc["window_shopper", "primary_segment"] == "potential"
    assert result.loc["sleeper", "primary_segment"] == "unassigned"
    assert result.loc["sleeper", "segment_source"] == "unassigned"
    assert result.loc["lost_vip", "segment_reason"] == (
        "dormant: lifecycle churned (last purchase 400 days ago);"
        " RFM Can't Lose Them; cluster mid spend, occasional, lapsed"
    )
    assert result.loc["window_shopper", "segment_reason"] == (
        "potential: lifecycle prospect (never purchased) and engaged"
        " (3 sessions in 90 days)"
    )
    assert "value tier high (LTV 800.00)" in result.loc["vip", "segment_reason"]


def test_clusters_before_rules_name_every_clustered_purchaser() -> None:
    result = _assign("before_rules")
    assert result.loc["vip", "primary_segment"] == "cluster 1: high spend"
    assert result.loc["vip", "segment_source"] == "cluster"
    assert result.loc["window_shopper", "primary_segment"] == "potential"


def test_clusters_after_rules_fill_only_the_gaps() -> None:
    result = _assign("after_rules", RULES[:1])
    assert result.loc["lost_vip", "primary_segment"] == "dormant"
    assert result.loc["fan", "primary_segment"] == "cluster 3: low spend"
    assert result.loc["sleeper", "primary_segment"] == "unassigned"


def test_bad_rule_settings_are_refused_with_a_message() -> None:
    with pytest.raises(ValueError, match="cluster_precedence"):
        segments.SegmentRules.from_json(
            json.dumps({"rules": [], "cluster_precedence": "x"})
        )
    with pytest.raises(ValueError, match="unknown column 'tier'"):
        _assign(rules=[{"segment": "x", "when": {"tier": ["a"]}}])


def test_the_assignment_reads_only_the_profile_columns_it_needs() -> None:
    """int_users_segmented loads only profile_columns of the profiles (a
    million users' 70 columns were most of its memory): with every rule and
    precedence the result on those columns equals the one on all of them
    (extra columns added), and a rule on a column the profiles lack still
    fails with its message."""
    extra = _profiles().assign(
        gender="f", city="Lyon", tenure_days=3, net_revenue=1.5, region="x"
    )
    for precedence in ("after_rules", "before_rules"):
        for rules in (RULES, RULES[1:], [*RULES, {"segment": "r", "when": {}}]):
            settings = segments.SegmentRules.from_json(
                json.dumps({"rules": rules, "cluster_precedence": precedence})
            )
            needed = segments.profile_columns(list(extra.columns), settings)
            assert "gender" not in needed and "net_revenue" not in needed
            full = segments.assign_segments(extra, CLUSTERS, settings)
            projected = segments.assign_segments(extra[needed], CLUSTERS, settings)
            pd.testing.assert_frame_equal(full, projected)
    by_region = segments.SegmentRules.from_json(
        json.dumps(
            {
                "rules": [{"segment": "x", "when": {"region": ["x"]}}],
                "cluster_precedence": "after_rules",
            }
        )
    )
    assert "region" in segments.profile_columns(list(extra.columns), by_region)
    unknown = segments.SegmentRules.from_json(
        json.dumps(
            {
                "rules": [{"segment": "x", "when": {"tier": ["a"]}}],
                "cluster_precedence": "after_rules",
            }
        )
    )
    needed = segments.profile_columns(list(extra.columns), unknown)
    with pytest.raises(ValueError, match="unknown column 'tier'"):
        segments.assign_segments(extra[needed], CLUSTERS, unknown)


@pytest.mark.parametrize(
    "values",
    [
        [0.0, -0.0, float("nan"), 1e20, 5.5, 2.5, 0.125, 5.5, 0.004],
        [1, 2, 1_000_000, 2],
        ["1", "x", None, "2.5"],
        [],
    ],
)
def test_reason_numbers_are_each_value_formatted(values: list) -> None:
    """The reasons' numbers format each distinct value once (a speed-up at
    a million users): the texts must be those of formatting every value,
    '' for a missing one, -0.0 apart from 0.0 and halves rounded alike."""
    series = pd.Series(values, index=range(10, 10 + len(values)), dtype=object)
    numbers = pd.to_numeric(series, errors="coerce")
    for pattern in ("{:,.0f}", "{:,.2f}", "{:.0%}"):
        expected = [
            "" if pd.isna(value) else pattern.format(value)
            for value in numbers.tolist()
        ]
        texts = segments._number(series, pattern)
        assert texts.tolist() == expected
        assert list(texts.index) == list(series.index)


def test_the_clustering_models_prepare_equal_features_once() -> None:
    """The four clustering models of a build share one preparation of the
    features (segmentation.dbt_python.clustering._prepare): equal input
    and settings give the cached result, any other input a fresh one equal
    to what a first call computes."""
    from segmentation.dbt_python import clustering as glue

    settings = json.dumps(clustering_settings(features=list(FEATURES)))
    table = pa.Table.from_pandas(blobs(), preserve_index=False)
    first = glue._prepare(table, settings)
    again = glue._prepare(pa.Table.from_pandas(blobs(), preserve_index=False), settings)
    assert again[2] is first[2] and again[1] is first[1]
    changed = blobs()
    changed.loc[0, "monetary"] += 1.0
    other = glue._prepare(pa.Table.from_pandas(changed, preserve_index=False), settings)
    assert other[2] is not first[2]
    fresh = glue._prepared_afresh(
        pa.Table.from_pandas(changed, preserve_index=False), settings
    )
    assert np.array_equal(other[2].model_space, fresh[2].model_space)
    pd.testing.assert_frame_equal(other[1], fresh[1])
    assert glue._prepare(table, settings)[2] is not first[2]  # one entry only
    # Dropped once the four clustering models of a build have had it.
    glue._PREPARED.clear()
    served = [glue._prepare(table, settings)[2] for _ in range(glue.PREPARED_USES)]
    assert all(prepared is served[0] for prepared in served)
    assert glue._prepare(table, settings)[2] is not served[0]
