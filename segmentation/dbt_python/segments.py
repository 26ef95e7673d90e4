"""Arrow glue of the primary-segment assignment (``int_users_segmented``)."""

from __future__ import annotations

import pyarrow as pa

from segmentation.methods.segments import (
    SEGMENTS_SCHEMA,
    SegmentRules,
    assign_segments,
    profile_columns,
    with_propensity,
)


def profiles_needed(profiles, settings: str) -> pa.Table:
    """The rows of ``profiles`` (the relation of int_users_profiled) with
    only the columns the assignment reads with these settings
    (:func:`~segmentation.methods.segments.profile_columns`)."""
    columns = profile_columns(profiles.columns, SegmentRules.from_json(settings))
    quoted = ", ".join('"' + column.replace('"', '""') + '"' for column in columns)
    return profiles.project(quoted).to_arrow_table()


def segments_table(
    profiles: pa.Table,
    clusters: pa.Table,
    settings: str,
    propensity: pa.Table | None = None,
) -> pa.Table:
    """Arrow in, Arrow out: the rows of user_segments. propensity: the
    scores, deciles and tier per user (int_users_propensity_tiered), joined
    to the profiles so that rules may test them."""
    rules = SegmentRules.from_json(settings)
    frame = profiles.to_pandas()
    if propensity is not None:
        frame = with_propensity(frame, propensity.to_pandas())
    frame = assign_segments(frame, clusters.to_pandas(), rules)
    frame["cluster_id"] = frame["cluster_id"].astype("Int32")
    return pa.Table.from_pandas(frame, schema=SEGMENTS_SCHEMA, preserve_index=False)
