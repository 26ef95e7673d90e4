"""The summary printed after a build: rows per layer, rejects, segments,
purchase and churn propensity, behaviour and affinity (top association
rule, next-best category against popularity, lookalike audience, funnel
conversion), the campaigns and their lift, and the main flows between
segments since the previous as-of date."""

from __future__ import annotations

from pathlib import Path

import duckdb

from segmentation.methods.btyd.models import TRANSACTION_MODELS
from segmentation.report.formatting import format_p_value, format_points
from segmentation.report.loaders import (
    ALL_SEGMENTS,
    CAMPAIGN_STATUSES,
    GONE,
    NEW,
    NEXT_BEST_BASELINE,
    NEXT_BEST_METHOD,
    PROPENSITY_SCORES,
    funnel_totals,
    is_featured_window,
    latest_migrations,
    load_affinity,
    load_campaigns,
    load_lookalike,
    load_next_best,
    load_propensity,
    next_best_hit_rates,
)
from segmentation.report.sections import lookalike_fallback_sentences

LAYERS = ("raw", "staging", "intermediate", "marts")

# Segment-size sections shown once the marts that hold them exist:
# (title, schema, table, label column).
SEGMENT_SECTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("Primary segments", "marts", "user_segments", "primary_segment"),
    ("RFM segments (purchasers)", "marts", "user_profiles", "rfm_segment"),
    ("Value tiers", "marts", "user_profiles", "value_tier"),
    ("Activity tiers", "marts", "user_profiles", "activity_tier"),
    ("Lifecycle stages", "marts", "user_profiles", "lifecycle_stage"),
    ("Age bands", "marts", "user_profiles", "age_band"),
    ("Clusters (purchasers)", "marts", "user_clusters", "cluster_label"),
)


# How many of the largest flows between primary segments the Flows block lists.
FLOW_LINES = 5


class SummaryError(Exception):
    """The warehouse cannot be summarised (missing or locked file)."""


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.exists():
        raise SummaryError(f"No warehouse at {path}: run `make run` first.")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise SummaryError(f"Cannot open {path}: {error}") from None


def _tables(connection: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    placeholders = ", ".join("?" for _ in LAYERS)
    return connection.execute(
        "select table_schema, table_name, table_type"
        " from information_schema.tables"
        f" where table_schema in ({placeholders})"
        " order by table_schema, table_name",
        list(LAYERS),
    ).fetchall()


def _count(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    return connection.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[
        0
    ]


def _warnings(
    connection: duckdb.DuckDBPyConnection, known: set[tuple[str, str]]
) -> list[str]:
    """The Warnings block: every data-quality warning of the build, each a
    sentence with its fix, written once in the warehouse
    (marts.data_quality_warnings: rejected shares above warn_rejected_share
    or, on few rows, above max_rejected_share; columns whose values were
    mostly cleared)."""
    if ("marts", "data_quality_warnings") not in known:
        return []
    messages = connection.execute(
        "select message from marts.data_quality_warnings"
        " order by source_table, column_name nulls first, warning_kind"
    ).fetchall()
    if not messages:
        return []
    lines = ["", "Warnings"]
    lines += [f"  {message}" for (message,) in messages]
    lines.append(
        "  (pass a var with make run VARS='{name: value}', e.g."
        " VARS='{decimal_separator: \",\"}')"
    )
    return lines


def _campaign_line(campaign: dict) -> str:
    """One running or ended campaign: its lift over the holdout with the
    95% interval, the p-value and the verdict (marts.campaign_results, the
    whole audience), or why it has none yet (marts.campaigns)."""
    status = campaign["campaign_status"]
    if campaign["is_interim"]:
        status += ", interim"
    overall = next(
        (row for row in campaign["results"] if row["target_segment"] == ALL_SEGMENTS),
        None,
    )
    if overall is None:
        return f"  {campaign['campaign_id']} ({status}): {campaign['status_note']}"
    if overall["conversion_lift"] is None:
        return f"  {campaign['campaign_id']} ({status}): {overall['verdict']}"
    treatment = (overall["treatment"] or {}).get("conversion_rate")
    holdout = (overall["holdout"] or {}).get("conversion_rate")
    rates = (
        ""
        if treatment is None or holdout is None
        else f"{treatment:.1%} vs holdout {holdout:.1%}, "
    )
    lower = format_points(overall["conversion_lift_lower"]).removesuffix(" pts")
    upper = format_points(overall["conversion_lift_upper"]).removesuffix(" pts")
    return (
        f"  {campaign['campaign_id']} ({status}): {rates}"
        f"lift {format_points(overall['conversion_lift'])} [{lower}, {upper}],"
        f" p {format_p_value(overall['conversion_p_value'])}: {overall['verdict']}"
    )


def _campaigns(
    connection: duckdb.DuckDBPyConnection, known: set[tuple[str, str]]
) -> list[str]:
    """The Campaigns block: how many campaigns are defined per status and,
    for each running or ended one, its lift (read with the report's loader,
    so both show the same numbers). One line when none is defined; nothing
    on a warehouse built before the campaign marts."""
    if ("marts", "campaigns") not in known:
        return []
    data = load_campaigns(connection)
    campaigns = data["campaigns"]
    if not campaigns:
        return ["", "Campaigns: none defined (campaigns.csv in the DATA folder)"]
    counts = ", ".join(
        f"{status} {data['status_counts'].get(status, 0)}"
        for status in CAMPAIGN_STATUSES
    )
    lines = ["", f"Campaigns: {len(campaigns)} defined ({counts})"]
    lines += [
        _campaign_line(campaign)
        for campaign in campaigns
        if campaign["campaign_status"] != "scheduled"
    ]
    return lines


# The rankers the Propensity block compares the classifier with.
PROPENSITY_RANKERS = {
    "probability_alive": "probability alive",
    "rfm_score": "RFM score",
}


def _lifetime_value(
    connection: duckdb.DuckDBPyConnection, known: set[tuple[str, str]]
) -> list[str]:
    """Which transaction model the CLV comes from and why, every model's
    fit (AIC, or why it did not converge), and the purchasers' predicted
    CLV with the median width of its parameter-uncertainty interval."""
    if not {("marts", "clv_model_fits"), ("marts", "user_clv")} <= known:
        return []
    lines = ["", "Lifetime value (marts.clv_model_fits; per purchaser in user_clv)"]
    chosen = connection.execute(
        "select model, choice_reason from marts.clv_model_fits where is_chosen"
    ).fetchall()
    if chosen:
        model, reason = chosen[0]
        lines.append(f"  model: {_model_label(model)} + Gamma-Gamma ({reason})")
    else:
        lines.append("  model: none usable, predicted CLV is historical LTV")
    fits = connection.execute(
        "select model, converged, aic, fallback_reason from marts.clv_model_fits"
        " where fit_purpose = 'prediction' and model <> 'gamma_gamma' order by aic"
    ).fetchall()
    lines.append(
        "  fits: "
        + ", ".join(
            f"{_model_label(model)} AIC {aic:,.1f}"
            if converged
            else f"{_model_label(model)} not fitted ({reason})"
            for model, converged, aic, reason in fits
        )
    )
    purchasers, total, median, width = connection.execute(
        "select count(*), sum(predicted_clv), median(predicted_clv),"
        " median((predicted_clv_p90 - predicted_clv_p10)"
        " / nullif(predicted_clv_p50, 0))"
        " from marts.user_clv"
    ).fetchone()
    if purchasers:
        interval = (
            f"; p10-p90 parameter-uncertainty width {width:.1%} of the CLV (median)"
            if width is not None
            else ""
        )
        lines.append(
            f"  {purchasers:,} purchasers: predicted CLV total {total:,.0f},"
            f" median {median:,.2f}{interval}"
        )
    return lines


def _model_label(model: str) -> str:
    """A transaction model's name for people (BG/NBD), from the registry."""
    entry = TRANSACTION_MODELS.get(model)
    return entry.label if entry else model


def _propensity_line(window: dict, scores: dict | None) -> str:
    """One scoring (or calibration holdout) window: the scoring model's
    out-of-time ROC-AUC beside the rankers' on the same users and the users
    it scored, or the fallback reason and note (marts.propensity_evaluation,
    read with the report's loader)."""
    name = f"{window['label']} {window['horizon_days']} days"
    if window["window_kind"] != "out_of_time":
        name += f" ({window['window_kind'].replace('_', ' ')})"
    if window["status"] != "ready":
        return f"  {name} ({window['fallback_reason']}): {window['fallback_note']}"
    models = {model["model"]: model for model in window["models"]}
    scoring = next(
        (model for model in window["models"] if model["is_scoring_model"]),
        next(
            (m for m in window["models"] if m["model_kind"] == "classifier"),
            window["models"][0],
        ),
    )
    rankers = ", ".join(
        f"{title} {models[model]['roc_auc']:.3f}"
        for model, title in PROPENSITY_RANKERS.items()
        if model in models and models[model]["roc_auc"] is not None
    )
    auc = scoring["roc_auc"]
    line = (
        f"  {name}: {scoring['model']} ROC-AUC "
        f"{'n/a' if auc is None else f'{auc:.3f}'}"
        + (f" vs {rankers}" if rankers else "")
        + f", evaluated {window['eval_snapshot_date']} to"
        f" {window['eval_label_end_date']}"
    )
    column = PROPENSITY_SCORES.get(window["label"])
    scored = ((scores or {}).get("scored_users") or {}).get(column)
    if window["is_scoring_window"] and scored is not None:
        line += f"; {scored:,} users scored ({column})"
    return line


def _propensity(
    connection: duckdb.DuckDBPyConnection, known: set[tuple[str, str]]
) -> list[str]:
    """The Propensity block: per scoring label (and calibration holdout
    window) the classifier's out-of-time ROC-AUC against probability alive
    and the RFM score, and the users scored, or why there is no model.
    Nothing on a warehouse built before the propensity marts."""
    if ("marts", "propensity_evaluation") not in known:
        return []
    data = load_propensity(connection)
    windows = [window for window in data["windows"] if is_featured_window(window)]
    if not windows:
        return []
    lines = ["", "Propensity (marts.propensity_evaluation; scores in user_profiles)"]
    lines += [_propensity_line(window, data["scores"]) for window in windows]
    return lines


def _rule_line(data: dict) -> str | None:
    """The strongest association rule (load_affinity: by lift, then
    confidence), or None without one."""
    if not data["rules"]:
        return None
    rule = data["rules"][0]
    return (
        f"  top association rule: {rule['antecedent']} -> {rule['consequent']}"
        f" (lift {rule['lift']:.2f}, confidence {rule['confidence']:.1%},"
        f" support {rule['support']:.1%}; {data['rule_count']:,} rules)"
    )


def _next_best_line(data: dict) -> str | None:
    """Next-best category: the hit rate of the recommending method against
    the popularity baseline at every evaluated k, or None without an
    evaluation."""
    by_k = next_best_hit_rates(data)
    rates = [
        f"@{k} {rows[NEXT_BEST_METHOD]['hit_rate']:.1%} vs"
        f" {rows[NEXT_BEST_BASELINE]['hit_rate']:.1%}"
        for k, rows in sorted(by_k.items())
        if NEXT_BEST_METHOD in rows
        and NEXT_BEST_BASELINE in rows
        and rows[NEXT_BEST_METHOD]["hit_rate"] is not None
        and rows[NEXT_BEST_BASELINE]["hit_rate"] is not None
    ]
    if not rates:
        return None
    evaluated = data["evaluation"][0]["users_evaluated"]
    return (
        f"  next-best category hit rate, {NEXT_BEST_METHOD} vs"
        f" {NEXT_BEST_BASELINE}: {', '.join(rates)} ({evaluated:,} repeat buyers)"
    )


def _lookalike_line(data: dict) -> str | None:
    """The lookalike seed and audience, and the evaluation's top decile
    against the bottom half, or the fallback notes (the report's
    sentences)."""
    if not data["has_lookalike"] or data["status"] is None:
        return None
    parts = []
    if data["scoring_status"] == "ready":
        parts.append(
            f"audience {data['audience_users']:,} of {data['scored_users']:,}"
            f" users scored ({data['opted_in_users']:,} accept marketing)"
        )
    top, bottom = data["top_decile_join_rate"], data["bottom_half_join_rate"]
    if data["deciles"] and top is not None and bottom is not None:
        parts.append(
            f"joined by {data['evaluated_at']}: top decile {top:.1%}"
            f" vs bottom half {bottom:.1%}"
        )
    parts += lookalike_fallback_sentences(data)
    return (
        f"  lookalikes of {data['seed_column']} = {data['seed_value']}: "
        + "; ".join(parts)
    )


def _funnel_line(connection: duckdb.DuckDBPyConnection) -> str | None:
    """Sessions reaching the first and the last funnel step, every segment
    and month together (funnel_totals), or None without events."""
    totals = funnel_totals(connection)
    if not totals or not totals[0]["sessions"]:
        return None
    first, last = totals[0], totals[-1]
    return (
        f"  funnel {first['step']} -> {last['step']}: {last['sessions']:,} of"
        f" {first['sessions']:,} sessions ({last['sessions'] / first['sessions']:.1%})"
    )


def _behaviour(
    connection: duckdb.DuckDBPyConnection, known: set[tuple[str, str]]
) -> list[str]:
    """The Behaviour and affinity block, read with the report's loaders:
    the strongest association rule, next-best category against the
    popularity baseline, the lookalike audience (or its fallback note) and
    the funnel's overall conversion; a line saying there are no events
    without behaviour data. Nothing on a warehouse built before these
    marts."""
    if ("marts", "segment_category_affinity") not in known:
        return []
    lines = [
        _rule_line(load_affinity(connection)),
        _next_best_line(load_next_best(connection)),
        _lookalike_line(load_lookalike(connection)),
        _funnel_line(connection)
        or "  funnel: no behaviour data (no events), so no sessions or funnels",
    ]
    return ["", "Behaviour and affinity"] + [line for line in lines if line]


def _flows(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """The Flows block: the largest moves between primary segments from the
    previous as-of date of the segment history to the latest one (from
    marts.segment_migrations, as the report's migration matrix), and how
    many users joined in between. Nothing when the history has one date or
    the warehouse predates the mart."""
    rows = latest_migrations(connection, ("primary_segment",))
    if not rows:
        return []
    from_date, to_date = rows[0][1], rows[0][2]
    # Rows come largest first: (dimension, from date, to date, from, to,
    # users, share of from, revenue between, is_stayed).
    moves = [
        (source, target, users)
        for _, _, _, source, target, users, _, _, stayed in rows
        if not stayed and source != NEW and target != GONE
    ]
    joined = sum(users for _, _, _, source, _, users, *_ in rows if source == NEW)
    lines = ["", f"Flows since {from_date} (primary segment, to {to_date})"]
    lines += [
        f"  {source} -> {target}: {users:,} users"
        for source, target, users in moves[:FLOW_LINES]
    ]
    if not moves:
        lines.append("  no user changed primary segment")
    lines.append(f"  new users: {joined:,} joined")
    return lines


def render(path: Path, data_dir: str | None = None) -> str:
    """The summary as text."""
    connection = _connect(path)
    try:
        return "\n".join(_lines(connection, path, data_dir))
    finally:
        connection.close()


def _lines(
    connection: duckdb.DuckDBPyConnection, path: Path, data_dir: str | None
) -> list[str]:
    tables = _tables(connection)
    known = {(schema, name) for schema, name, _ in tables}
    lines = [f"Segmentation warehouse: {path}"]
    lines.append(f"  data:        {data_dir or 'demo seeds (seeds/demo)'}")
    if ("intermediate", "int_as_of_date") in known:
        as_of, source = connection.execute(
            "select as_of_date, as_of_date_source from intermediate.int_as_of_date"
        ).fetchone()
        lines.append(f"  as of:       {as_of} ({source})")
    if ("staging", "base_app__data_horizon") in known:
        horizon, rule = connection.execute(
            "select horizon_date, horizon_rule from staging.base_app__data_horizon"
        ).fetchone()
        lines.append(f"  data horizon: {horizon} ({rule})")

    lines += ["", "Rows per layer"]
    for layer in LAYERS:
        entries = [(name, kind) for schema, name, kind in tables if schema == layer]
        if not entries:
            continue
        lines.append(f"  {layer}")
        for name, kind in entries:
            marker = " (view)" if kind == "VIEW" else ""
            count = _count(connection, layer, name)
            lines.append(f"    {name:<40} {count:>12,}{marker}")

    if ("marts", "data_quality_reasons") in known:
        lines += ["", "Rejected rows per reason"]
        # Counted once, in the warehouse (int_rejected_rows_aggregated_to_reasons).
        rows = connection.execute(
            "select source_table, reject_reason, rejected_row_count"
            " from marts.data_quality_reasons where rejected_row_count > 0"
            " order by 1, 3 desc, 2"
        ).fetchall()
        if not rows:
            lines.append("  none")
        for source_table, reason, count in rows:
            lines.append(f"  {source_table:<8} {reason:<32} {count:>10,}")
        if ("marts", "data_quality") in known:
            lines.append("")
            for table, raw, staged, rejected, share in connection.execute(
                "select source_table, raw_row_count, staged_row_count,"
                " rejected_row_count, rejected_share from marts.data_quality"
                " order by source_table"
            ).fetchall():
                percent = f"{share:.2%}" if share is not None else "n/a"
                lines.append(
                    f"  {table:<8} raw {raw:>10,} = staged {staged:>10,}"
                    f" + rejected {rejected:>8,} ({percent})"
                )
    lines += _warnings(connection, known)

    for title, schema, table, column in SEGMENT_SECTIONS:
        if (schema, table) not in known:
            continue
        rows = connection.execute(
            f'select "{column}", count(*) from "{schema}"."{table}"'
            f' where "{column}" is not null group by 1 order by 2 desc, 1'
        ).fetchall()
        total = sum(count for _, count in rows) or 1
        lines += ["", title]
        for label, count in rows:
            lines.append(f"  {label!s:<32} {count:>10,} ({count / total:6.1%})")
    lines += _lifetime_value(connection, known)
    lines += _propensity(connection, known)
    lines += _behaviour(connection, known)
    lines += _campaigns(connection, known)
    lines += _flows(connection)
    lines += _history_warnings(connection, known)
    return lines


def _history_warnings(
    connection: duckdb.DuckDBPyConnection, known: set[tuple[str, str]]
) -> list[str]:
    """The drift and label-flip warnings of the latest pair of as-of dates
    (what the warn-severity tests on segment_stability and cluster_stability
    report), each a sentence written once in the warehouse."""
    queries = (
        (
            ("marts", "segment_stability"),
            "select drift_message from marts.segment_stability"
            " where is_drifted and to_as_of_date ="
            " (select max(to_as_of_date) from marts.segment_stability)"
            " order by dimension, abs(share_change_points) desc, segment",
        ),
        (
            ("marts", "cluster_stability"),
            "select label_flip_message from marts.cluster_stability"
            " where has_many_label_flips and to_as_of_date ="
            " (select max(to_as_of_date) from marts.cluster_stability)",
        ),
    )
    messages = [
        message
        for table, sql in queries
        if table in known
        for (message,) in connection.execute(sql).fetchall()
    ]
    if not messages:
        return []
    return ["", "Segment drift since the previous as-of date (warnings)"] + [
        f"  {message}" for message in messages
    ]
