"""Primary segment of every user: ordered rules over the rule-based tiers,
with clusters before or after them, and a reason a person can read.

Behind the dbt Python model ``int_users_segmented`` (mart
``user_segments``). The rules come from the dbt
var ``primary_segment_rules``: checked in order, the first rule whose
conditions all hold names the user's primary segment. A condition is a
column of ``user_profiles`` (or ``is_engaged``) and the values it may take,
the propensity tier and deciles included (``with_propensity``).
``cluster_precedence`` says whether clusters come after the rules (a
purchaser's cluster names its segment only when no rule matches) or before
them (every clustered purchaser's primary segment is its cluster). A user
nothing names is ``unassigned``, so every user still has exactly one row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

UNASSIGNED = "unassigned"

SEGMENTS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("user_key", pa.string()),
        ("as_of_date", pa.date32()),
        ("primary_segment", pa.string()),
        ("segment_source", pa.string()),
        ("segment_reason", pa.string()),
        ("lifecycle_stage", pa.string()),
        ("value_tier", pa.string()),
        ("activity_tier", pa.string()),
        ("rfm_segment", pa.string()),
        ("cluster_id", pa.int32()),
        ("cluster_label", pa.string()),
        ("is_engaged", pa.bool_()),
        ("is_opted_in_to_marketing", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class Rule:
    """One primary-segment rule: the segment and its conditions."""

    segment: str
    when: dict[str, tuple]


@dataclass(frozen=True)
class SegmentRules:
    """The ordered rules and where clusters stand among them (vars
    ``primary_segment_rules`` and ``cluster_precedence``; no defaults here)."""

    rules: tuple[Rule, ...]
    cluster_precedence: str

    @classmethod
    def from_json(cls, text: str) -> SegmentRules:
        raw = json.loads(text)
        precedence = raw["cluster_precedence"]
        if precedence not in ("after_rules", "before_rules"):
            raise ValueError(
                "var cluster_precedence must be after_rules or before_rules,"
                f" got {precedence!r}"
            )
        rules = tuple(
            Rule(
                segment=str(rule["segment"]),
                when={
                    field: tuple(values)
                    for field, values in (rule.get("when") or {}).items()
                },
            )
            for rule in raw["rules"]
        )
        return cls(rules, precedence)


PROPENSITY_COLUMNS = (
    "purchase_propensity",
    "purchase_propensity_decile",
    "churn_risk",
    "churn_risk_decile",
    "propensity_tier",
)

# The profile columns the assignment reads besides the rules' own: the
# output's (SEGMENTS_SCHEMA), engagement's and the readable conditions'.
PROFILE_COLUMNS = (
    "user_id",
    "user_key",
    "as_of_date",
    "lifecycle_stage",
    "value_tier",
    "activity_tier",
    "rfm_segment",
    "is_opted_in_to_marketing",
    "recency_days",
    "historical_ltv",
    "ctr_30d",
    "sessions_90d",
)


def profile_columns(available: list[str], rules: SegmentRules) -> list[str]:
    """The columns of the profiles (``available``, in their order) that
    :func:`assign_segments` reads with these rules: PROFILE_COLUMNS and
    every column a rule tests. Reading only these keeps a million users'
    profiles small; a rule testing a column the profiles lack still fails
    with its message."""
    wanted = set(PROFILE_COLUMNS) | {
        field for rule in rules.rules for field in rule.when
    }
    return [column for column in available if column in wanted]


def with_propensity(profiles: pd.DataFrame, propensity: pd.DataFrame) -> pd.DataFrame:
    """The profiles with each user's propensity scores, deciles and tier
    (``int_users_propensity_tiered``; null for a user it has no row for),
    so a rule may test them."""
    return profiles.merge(
        propensity[["user_id", *PROPENSITY_COLUMNS]], on="user_id", how="left"
    )


def engagement(profiles: pd.DataFrame) -> pd.Series:
    """A user is engaged with a session in the last 90 days or a medium or
    high activity tier."""
    sessions = pd.to_numeric(profiles["sessions_90d"], errors="coerce").fillna(0)
    return (sessions > 0) | profiles["activity_tier"].isin(["high", "medium"])


def _number(series: pd.Series, pattern: str) -> pd.Series:
    """Each value written with ``pattern`` ('' when missing). Each distinct
    value is formatted once (a million users have far fewer distinct
    recencies, deciles or CTRs): values with the same bits get the same
    text, so the result is the one of formatting every value."""
    numbers = pd.to_numeric(series, errors="coerce")
    numpy_numbers = isinstance(numbers.dtype, np.dtype) and numbers.dtype.kind in "fiu"
    if not numpy_numbers or len(numbers) == 0:
        return numbers.map(
            lambda value: "" if pd.isna(value) else pattern.format(value)
        )
    values = numbers.to_numpy()
    present = (
        ~np.isnan(values) if values.dtype.kind == "f" else np.ones(len(values), bool)
    )
    # Keys by bit pattern, so that -0.0 and 0.0 ('-0' and '0') stay apart.
    keys = values.view(f"i{values.itemsize}") if values.dtype.kind == "f" else values
    _, first, inverse = np.unique(keys[present], return_index=True, return_inverse=True)
    # tolist(): Python floats and ints, as Series.map passes them.
    texts = [pattern.format(value) for value in values[present][first].tolist()]
    out = np.full(len(values), "", dtype=object)
    out[present] = np.array(texts, dtype=object)[inverse]
    return pd.Series(out, index=series.index)


def describe_conditions(profiles: pd.DataFrame) -> dict[str, pd.Series]:
    """Readable text of each field a rule can test, per user."""
    recency = _number(profiles["recency_days"], "{:,.0f}")
    last_purchase = np.where(
        recency == "", "never purchased", "last purchase " + recency + " days ago"
    )
    ltv = _number(profiles["historical_ltv"], "{:,.2f}")
    ctr = _number(profiles["ctr_30d"], "{:.0%}")
    sessions = _number(profiles["sessions_90d"], "{:,.0f}")
    return {
        "lifecycle_stage": "lifecycle "
        + profiles["lifecycle_stage"].astype(str)
        + " ("
        + pd.Series(last_purchase, index=profiles.index)
        + ")",
        "value_tier": "value tier "
        + profiles["value_tier"].astype(str)
        + " (LTV "
        + ltv.replace("", "0.00")
        + ")",
        "activity_tier": "activity tier "
        + profiles["activity_tier"].astype(str)
        + np.where(ctr == "", "", " (CTR " + ctr + " in 30 days)"),
        "is_engaged": np.where(
            sessions.isin(["", "0"]),
            "engaged (medium or high activity)",
            "engaged (" + sessions + " sessions in 90 days)",
        ),
        "rfm_segment": "RFM " + profiles["rfm_segment"].fillna("none").astype(str),
        **describe_propensity(profiles),
    }


def describe_propensity(profiles: pd.DataFrame) -> dict[str, pd.Series]:
    """Readable text of the propensity fields a rule can test, per user
    (none when the profiles carry no propensity)."""
    if "propensity_tier" not in profiles:
        return {}
    purchase = _number(profiles["purchase_propensity"], "{:.0%}")
    churn = _number(profiles["churn_risk"], "{:.0%}")
    texts = {
        "propensity_tier": "propensity tier "
        + profiles["propensity_tier"].fillna("none").astype(str)
        + np.where(
            purchase == "", " (unscored)", " (purchase propensity " + purchase + ")"
        )
    }
    for field, name, score in (
        ("purchase_propensity_decile", "purchase propensity", purchase),
        ("churn_risk_decile", "churn risk", churn),
    ):
        decile = _number(profiles[field], "{:,.0f}")
        texts[field] = np.where(
            decile == "",
            name + " unscored",
            name + " decile " + decile + " (" + score + ")",
        )
    return texts


def assign_segments(
    profiles: pd.DataFrame, clusters: pd.DataFrame, rules: SegmentRules
) -> pd.DataFrame:
    """One row per user of ``profiles`` with the primary segment, where it
    came from (rule, cluster or unassigned), and the reason."""
    profiles = profiles.sort_values("user_id", kind="stable").reset_index(drop=True)
    frame = profiles.merge(
        clusters[["user_id", "cluster_id", "cluster_label"]], on="user_id", how="left"
    )
    frame["is_engaged"] = engagement(frame)
    texts = describe_conditions(frame)
    rule_masks, rule_segments = [], []
    for rule in rules.rules:
        mask = np.ones(len(frame), dtype=bool)
        for field, values in rule.when.items():
            if field not in frame:
                raise ValueError(
                    f"primary_segment_rules: rule {rule.segment!r} tests unknown"
                    f" column {field!r}"
                )
            mask &= frame[field].isin(values).to_numpy()
        rule_masks.append(mask)
        rule_segments.append(rule.segment)

    has_cluster = frame["cluster_id"].notna().to_numpy()
    cluster_segment = (
        "cluster "
        + frame["cluster_id"].astype("Int64").astype(str)
        + ": "
        + frame["cluster_label"].astype(str)
    ).to_numpy()
    cluster_reason = (
        "K-Means cluster " + frame["cluster_id"].astype("Int64").astype(str)
    ).to_numpy()
    rule_matched = np.logical_or.reduce(rule_masks) if rule_masks else None
    if rule_matched is None:
        rule_matched = np.zeros(len(frame), dtype=bool)
    segment_by_rule = np.select(rule_masks, rule_segments, default=UNASSIGNED)
    # Each rule's reason, written only for the users it names first (a
    # million users' texts for every rule would be most of the model's
    # memory): the conditions' texts joined with " and ".
    reason_by_rule = np.full(len(frame), "", dtype=object)
    unclaimed = np.ones(len(frame), dtype=bool)
    for rule, mask in zip(rules.rules, rule_masks, strict=True):
        rows = np.flatnonzero(mask & unclaimed)
        unclaimed &= ~mask
        if len(rows) == 0:
            continue
        reason = None
        for field in rule.when:
            text = texts.get(field)
            if text is None:
                text = f"{field} " + frame[field].astype(str)
            text = np.asarray(text, dtype=object)[rows]
            reason = text if reason is None else reason + " and " + text
        reason_by_rule[rows] = (
            np.full(len(rows), "", dtype=object) if reason is None else reason
        )

    clusters_first = rules.cluster_precedence == "before_rules"
    use_cluster = has_cluster & (clusters_first | ~rule_matched)
    use_rule = ~use_cluster & rule_matched
    frame["primary_segment"] = np.where(use_cluster, cluster_segment, segment_by_rule)
    frame["segment_source"] = np.where(
        use_cluster, "cluster", np.where(use_rule, "rule", UNASSIGNED)
    )
    main_reason = np.where(
        use_cluster,
        cluster_reason,
        np.where(use_rule, reason_by_rule, "no rule or cluster applies"),
    )
    context = np.where(
        frame["rfm_segment"].notna(), "; " + texts["rfm_segment"], ""
    ) + np.where(
        has_cluster & ~use_cluster,
        "; cluster " + frame["cluster_label"].astype(str),
        "",
    )
    frame["segment_reason"] = (
        frame["primary_segment"].astype(str) + ": " + main_reason + context
    )
    return frame.reindex(columns=SEGMENTS_SCHEMA.names)
