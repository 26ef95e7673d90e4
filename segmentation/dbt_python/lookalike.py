"""Glue of the lookalike model ``int_lookalike_scored``: the seed-vs-rest
classifier of segmentation.methods.lookalike fitted for every purpose of
``int_lookalike_seed_checked`` whose status is 'ready' (that model is the
one place the fallback rule lives; a purpose it does not pass is never
fitted here) on the users of ``int_lookalike_population`` and their
features of the purpose's snapshot date (``int_user_features_accumulated``).

Only the rows of one purpose and one date cross into Python at a time
(relation filters); results go back as a typed Arrow table (an empty
result keeps its column types). The random state comes from the model's
``config.meta``.
"""

from __future__ import annotations

import json
import time

import pandas as pd
import pyarrow as pa

from segmentation.dbt_python import log
from segmentation.methods import lookalike, propensity

SCORED_SCHEMA = pa.schema(
    [
        ("purpose", pa.string()),
        ("snapshot_date", pa.date32()),
        ("user_id", pa.string()),
        ("user_key", pa.string()),
        ("lookalike_score", pa.float64()),
    ]
)

#: The purposes of int_lookalike_seed_checked, in the order they are fitted.
PURPOSES = ("scoring", "evaluation")


def scored_table(checked: pa.Table, population, features, settings: str) -> pa.Table:
    """Rows of int_lookalike_scored: for every ready purpose, the lookalike
    score of each non-member of the seed on the purpose's snapshot date.
    ``population`` and ``features`` are the relations of
    int_lookalike_population and int_user_features_accumulated."""
    random_state = int(json.loads(settings)["random_state"])
    parts = []
    rows = checked.to_pandas().to_dict("records")
    for row in sorted(rows, key=lambda r: PURPOSES.index(r["purpose"])):
        if row["status"] != "ready":
            log(f"lookalike {row['purpose']}: {row['fallback_note']}")
            continue
        started = time.perf_counter()
        day = pd.Timestamp(row["snapshot_date"]).date()
        members = population.filter(f"purpose = '{row['purpose']}'").to_df()
        frame = features.filter(f"as_of_date = date '{day.isoformat()}'").to_df()
        try:
            scored = lookalike.scores(
                frame, members, str(row["seed_column"]), random_state
            )
        except propensity.SingleClassError as error:
            log(f"lookalike {row['purpose']}: no scores ({error})")
            continue
        log(
            f"lookalike {row['purpose']}: seed {row['seed_column']} ="
            f" {row['seed_value']} on {day} ({int(row['seed_users']):,} users),"
            f" {len(scored):,} non-members scored in"
            f" {time.perf_counter() - started:.1f} s"
        )
        parts.append(scored.assign(purpose=row["purpose"], snapshot_date=day))
    if not parts:
        return SCORED_SCHEMA.empty_table()
    frame = pd.concat(parts, ignore_index=True).reindex(columns=SCORED_SCHEMA.names)
    return pa.Table.from_pandas(frame, schema=SCORED_SCHEMA, preserve_index=False)
