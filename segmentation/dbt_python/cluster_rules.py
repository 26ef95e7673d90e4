"""Glue between the dbt Python model ``int_clusters_explained`` and
:mod:`segmentation.methods.cluster_rules`.

The features are prepared by the clustering's own step
(:func:`segmentation.methods.clustering.prepare_features`: the configured
features, all-null ones dropped, rows ordered by user_id), and the tree
reads them in original units with the gaps filled by the clustering's
fitted median imputer, so rules and clusters see the same purchasers and the
same values.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from segmentation.dbt_python import log
from segmentation.dbt_python.clustering import _prepare
from segmentation.methods import cluster_rules

RULES_SCHEMA = pa.schema(
    [
        ("cluster_id", pa.int32()),
        ("cluster_label", pa.string()),
        ("rule_rank", pa.int32()),
        ("leaf_id", pa.int32()),
        ("rule", pa.string()),
        ("users_in_rule", pa.int64()),
        ("cluster_users_in_rule", pa.int64()),
        ("rule_precision", pa.float64()),
        ("rule_coverage", pa.float64()),
        ("cluster_users", pa.int64()),
        ("cluster_rule_coverage", pa.float64()),
        ("tree_agreement", pa.float64()),
        ("no_rule_reason", pa.string()),
    ]
)


def _table(frame: pd.DataFrame) -> pa.Table:
    frame = frame.reindex(columns=RULES_SCHEMA.names)
    frame = frame.astype(object).where(frame.notna(), None)
    return pa.Table.from_pandas(frame, schema=RULES_SCHEMA, preserve_index=False)


def _rules(count: int) -> str:
    return f"{count} rule" if count == 1 else f"{count} rules"


def rules_table(
    features: pa.Table, clusters: pa.Table, settings: str, max_depth: int
) -> pa.Table:
    """Rows of int_clusters_explained (mart cluster_rules): the rules of
    every cluster of the build's date, from ``features``
    (int_users_featurized) and ``clusters`` (the date's rows of
    int_users_clustered)."""
    config, frame, prepared = _prepare(features, settings)
    assigned = clusters.to_pandas().set_index("user_id")
    if len(frame) == 0 or len(assigned) == 0:
        log("cluster rules: no clusters, so no rules")
        return _table(pd.DataFrame())
    clustered = pd.Index(prepared.user_ids).isin(assigned.index)
    user_ids = prepared.user_ids[clustered]
    cluster_ids = assigned.loc[user_ids, "cluster_id"].to_numpy().astype(int)
    if prepared.columns:
        imputer = prepared.pipeline.named_steps["impute"]
        values = imputer.transform(frame[prepared.columns].to_numpy(dtype=float))
        values = values[clustered]
    else:
        values = frame[[]].to_numpy(dtype=float)[clustered]
    explanation = cluster_rules.explain_clusters(
        values, prepared.columns, cluster_ids, max_depth, config.random_state
    )
    rules = explanation.rules
    labels = assigned.groupby("cluster_id")["cluster_label"].first()
    rules["cluster_label"] = rules["cluster_id"].map(labels)
    if explanation.tree_agreement is not None:
        without = ", ".join(map(str, rules.loc[rules["rule"].isna(), "cluster_id"]))
        log(
            f"cluster rules: a depth-{max_depth} tree puts"
            f" {explanation.tree_agreement:.1%} of {len(cluster_ids):,} purchasers"
            f" in their own cluster ({_rules(int(rules['rule'].notna().sum()))}"
            + (f"; no rule for cluster {without}" if without else "")
            + ")"
        )
    return _table(rules)
