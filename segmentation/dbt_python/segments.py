"""Arrow glue of the primary-segment assignment (``int_users_segmented``)."""

from __future__ import annotations

import pyarrow as pa

from segmentation.methods.segments import (
    SEGMENTS_SCHEMA,
    SegmentRules,
    assign_segments,
)


def segments_table(profiles: pa.Table, clusters: pa.Table, settings: str) -> pa.Table:
    """Arrow in, Arrow out: the rows of user_segments."""
    rules = SegmentRules.from_json(settings)
    frame = assign_segments(profiles.to_pandas(), clusters.to_pandas(), rules)
    frame["cluster_id"] = frame["cluster_id"].astype("Int32")
    return pa.Table.from_pandas(frame, schema=SEGMENTS_SCHEMA, preserve_index=False)
