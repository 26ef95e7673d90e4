"""Glue of ``int_campaign_results_measured``: the statistics of
segmentation.methods.campaigns applied to each campaign x target segment
pair of ``int_campaign_groups_measured`` (a treatment row and a holdout
row). The comparison of treatment with holdout goes on the treatment row;
the holdout row carries its own counts and nulls there. Settings (alpha,
power, SRM threshold) come from the model's ``config.meta``.
"""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa

from segmentation.methods import campaigns as stats

GROUP_COLUMNS = [
    ("campaign_id", pa.string()),
    ("target_segment", pa.string()),
    ("campaign_group", pa.string()),
    ("as_of_date", pa.date32()),
    ("start_date", pa.date32()),
    ("conversion_window_end", pa.date32()),
    ("measured_until", pa.date32()),
    ("is_interim", pa.bool_()),
    ("planned_holdout_share", pa.float64()),
    ("users", pa.int64()),
    ("converters", pa.int64()),
    ("conversion_rate", pa.float64()),
    ("orders", pa.int64()),
    ("revenue", pa.float64()),
    ("revenue_per_user", pa.float64()),
]

COMPARISON_COLUMNS = [
    ("conversion_lift", pa.float64()),
    ("conversion_lift_lower", pa.float64()),
    ("conversion_lift_upper", pa.float64()),
    ("conversion_lift_relative", pa.float64()),
    ("conversion_lift_relative_lower", pa.float64()),
    ("conversion_lift_relative_upper", pa.float64()),
    ("conversion_p_value", pa.float64()),
    ("revenue_per_user_lift", pa.float64()),
    ("revenue_per_user_lift_lower", pa.float64()),
    ("revenue_per_user_lift_upper", pa.float64()),
    ("revenue_per_user_p_value", pa.float64()),
    ("sample_ratio_p_value", pa.float64()),
    ("is_sample_ratio_mismatch", pa.bool_()),
    ("minimum_detectable_lift", pa.float64()),
    ("verdict", pa.string()),
]

RESULTS_SCHEMA = pa.schema(GROUP_COLUMNS + COMPARISON_COLUMNS)


def compare(
    treatment: dict, holdout: dict, alpha: float, power: float, srm_p_value: float
) -> dict:
    """The comparison columns of one treatment row against its holdout
    (dicts with users, converters, revenue, revenue_sum_of_squares,
    planned_holdout_share, is_interim)."""
    counts = (
        int(treatment["converters"]),
        int(treatment["users"]),
        int(holdout["converters"]),
        int(holdout["users"]),
    )
    lift_interval = stats.difference_interval(*counts, alpha=alpha)
    relative = stats.relative_lift(*counts, alpha=alpha)
    p_value = stats.two_proportion_p_value(*counts)
    welch = stats.welch(
        stats.Moments(
            counts[1], treatment["revenue"], treatment["revenue_sum_of_squares"]
        ),
        stats.Moments(counts[3], holdout["revenue"], holdout["revenue_sum_of_squares"]),
        alpha=alpha,
    )
    srm = stats.sample_ratio_p_value(
        counts[1], counts[3], float(treatment["planned_holdout_share"])
    )
    is_mismatch = srm is not None and srm < srm_p_value
    base = stats.base_rate(*counts)
    mde = stats.minimum_detectable_lift(counts[1], counts[3], base, alpha, power)
    lift = (
        counts[0] / counts[1] - counts[2] / counts[3]
        if counts[1] > 0 and counts[3] > 0
        else None
    )
    return {
        "conversion_lift": lift,
        "conversion_lift_lower": lift_interval[0] if lift_interval else None,
        "conversion_lift_upper": lift_interval[1] if lift_interval else None,
        "conversion_lift_relative": relative[0] if relative else None,
        "conversion_lift_relative_lower": relative[1] if relative else None,
        "conversion_lift_relative_upper": relative[2] if relative else None,
        "conversion_p_value": p_value,
        "revenue_per_user_lift": welch.difference,
        "revenue_per_user_lift_lower": welch.lower,
        "revenue_per_user_lift_upper": welch.upper,
        "revenue_per_user_p_value": welch.p_value,
        "sample_ratio_p_value": srm,
        "is_sample_ratio_mismatch": is_mismatch,
        "minimum_detectable_lift": mde,
        "verdict": stats.verdict(
            is_interim=bool(treatment["is_interim"]),
            is_sample_ratio_mismatch=is_mismatch,
            lift=lift,
            p_value=p_value,
            minimum_detectable=mde,
            base=base,
            alpha=alpha,
        ),
    }


def results_table(groups: pa.Table, settings: str) -> pa.Table:
    """Arrow in (int_campaign_groups_measured), Arrow out: the rows of
    int_campaign_results_measured, same grain, comparison columns added."""
    options = json.loads(settings)
    alpha = float(options["alpha"])
    power = float(options["power"])
    srm_p_value = float(options["srm_p_value"])
    frame = groups.to_pandas()
    empty = {name: None for name, _ in COMPARISON_COLUMNS}
    rows = []
    for _, pair in frame.groupby(["campaign_id", "target_segment"], sort=True):
        by_group = {row["campaign_group"]: row for row in pair.to_dict("records")}
        treatment = by_group.get("treatment")
        holdout = by_group.get("holdout")
        for group, row in (("treatment", treatment), ("holdout", holdout)):
            if row is None:
                continue
            if group == "treatment" and holdout is not None:
                comparison = compare(treatment, holdout, alpha, power, srm_p_value)
            else:
                comparison = empty
            rows.append({name: row[name] for name, _ in GROUP_COLUMNS} | comparison)
    result = pd.DataFrame(rows, columns=RESULTS_SCHEMA.names)
    return pa.Table.from_pandas(result, schema=RESULTS_SCHEMA, preserve_index=False)
