"""Section renderers (data dict -> HTML, purely) and the page around them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from segmentation.methods.btyd.models import TRANSACTION_MODELS
from segmentation.report.charts import (
    FONT_FAMILY,
    INK,
    MUTED,
    PALETTE,
    Bar,
    Estimate,
    EstimateSeries,
    Series,
    bar_chart_svg,
    format_tick,
    heat_colour,
    heatmap_svg,
    interval_chart_svg,
    line_chart_svg,
    percent_tick,
    readable_ink,
    scatter_svg,
)
from segmentation.report.formatting import (
    display_label,
    escape,
    format_count,
    format_money,
    format_number,
    format_p_value,
    format_points,
    format_share,
    json_script,
)
from segmentation.report.loaders import (
    ALL_SEGMENTS,
    CAMPAIGN_STATUSES,
    NEXT_BEST_BASELINE,
    PROPENSITY_TIERS,
    is_featured_window,
    load_activity,
    load_affinity,
    load_arpu_trend,
    load_campaigns,
    load_cluster_profiles,
    load_clv,
    load_funnels,
    load_header,
    load_lifecycle_trend,
    load_lookalike,
    load_migrations,
    load_next_best,
    load_playbook,
    load_propensity,
    load_rfm_grid,
    load_segment_conversion,
    load_segment_history,
    load_segment_sizes,
    load_value_activity,
    next_best_hit_rates,
)

NO_BEHAVIOUR_SENTENCE = (
    "No behaviour data: the data has no events, so activity tiers rest on "
    "purchases alone and CTR, browsing and sessions are empty."
)
NO_CLUSTERS_SENTENCE = (
    "No clusters: the warehouse has no purchasers to cluster, so there are no "
    "cluster profiles to show."
)
NO_CLUSTER_RULES_SENTENCE = (
    "No cluster rules: this warehouse was built before the mart cluster_rules "
    "existed; make run builds it."
)
NO_SCATTER_SENTENCE = (
    "No purchasers with cluster assignments and features, so there is no "
    "scatter plot to draw."
)
NO_HISTORY_SENTENCE = (
    "No segment history: this warehouse was built before the history marts "
    "existed; make run builds them (HISTORY_FROM=auto backfills a year)."
)
ONE_SNAPSHOT_SENTENCE = (
    "The segment history holds one as-of date, so there is no movement to "
    "show yet: make run HISTORY_FROM=auto backfills a year of monthly dates."
)
NO_MIGRATION_SENTENCE = (
    "No migration to show: the segment history holds fewer than two as-of "
    "dates (make run HISTORY_FROM=auto backfills a year of monthly dates)."
)
HOLDOUT_OFF_SENTENCE = (
    "The holdout check is off: set var clv_calibration_end_date (e.g. make run "
    "VARS='{clv_calibration_end_date: \"2025-06-30\"}') to also fit the models "
    "on the purchases up to that day and compare their predictions with what "
    "customers bought after it."
)
NO_CAMPAIGNS_SENTENCE = (
    "No campaigns defined: put a campaigns.csv (one row per campaign: "
    "campaign_id, start_date, channel, the segments it targets, holdout_share; "
    "see the README, Your own data) in the DATA folder, or edit the seed "
    "seeds/demo/campaigns.csv for the demo, and run make run again."
)
NO_CAMPAIGN_MARTS_SENTENCE = (
    "No campaign marts: this warehouse was built before campaigns existed; "
    "make run builds them."
)
NO_SEGMENT_CONVERSION_SENTENCE = (
    "No conversion by segment: this warehouse was built before the mart "
    "segment_conversion_monthly existed; make run builds it."
)
# Months the table under the conversion-by-segment chart shows, latest last.
CONVERSION_TABLE_MONTHS = 3
# Dates the table under the segments-over-time chart shows, latest last.
HISTORY_TABLE_DATES = 4
DIMENSION_TITLES = {"primary_segment": "Primary segment", "rfm_segment": "RFM segment"}


def _figure(chart: str, caption: str = "") -> str:
    if not caption:
        return f"<figure>{chart}</figure>"
    return f"<figure>{chart}<figcaption>{escape(caption)}</figcaption></figure>"


def _notice(sentence: str) -> str:
    return f'<p class="notice">{escape(sentence)}</p>'


def _section(section_id: str, heading: str, lead: str, body: str) -> str:
    return (
        f'<section id="{escape(section_id)}"><h2>{escape(heading)}</h2>'
        f'<p class="lead">{escape(lead)}</p>{body}</section>'
    )


def _table(headers: Sequence[tuple[str, bool]], rows: Sequence[Sequence[str]]) -> str:
    """A table; headers are (text, is_numeric) and cells are plain text."""
    head = "".join(
        f'<th scope="col"{" class=num" if numeric else ""}>{escape(text)}</th>'
        for text, numeric in headers
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if numeric else ''}>{escape(cell)}</td>"
            for cell, (_, numeric) in zip(row, headers, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def header_section(data: dict[str, Any]) -> str:
    """Title, as-of date and population figures."""
    as_of = data["as_of_date"] or "unknown"
    source = data["as_of_date_source"]
    population = data["population"]
    purchasers = data["purchasers"]
    share = purchasers / population if population else None
    kpis = (
        ("As of", as_of, source or ""),
        ("Population", format_count(population), "users in marts.user_segments"),
        (
            "Purchasers",
            format_count(purchasers),
            f"{format_share(share)} of the population",
        ),
    )
    cards = "".join(
        f'<div class="kpi"><div class="kpi-label">{escape(label)}</div>'
        f'<div class="kpi-value">{escape(value)}</div>'
        f'<div class="kpi-note">{escape(note)}</div></div>'
        for label, value, note in kpis
    )
    return (
        f'<header><h1>Segment report</h1><p class="lead">As of {escape(as_of)}'
        f"{f' ({escape(source)})' if source else ''}: "
        f"{escape(format_count(population))} users.</p>"
        f'<div class="kpis">{cards}</div></header>' + json_script("header", data)
    )


def segment_sizes_section(data: dict[str, Any]) -> str:
    """Bar chart of primary segment sizes."""
    bars = [
        Bar(
            display_label(item["segment"]),
            item["user_count"],
            f"{format_count(item['user_count'])} ({format_share(item['user_share'])})",
        )
        for item in data["segments"]
    ]
    chart = bar_chart_svg(
        "segment-sizes",
        bars,
        title="Users per primary segment",
        x_label="Users",
        y_label="Primary segment",
        legend_label="Users (share of population)",
    )
    body = _figure(
        chart,
        f"Every user is in exactly one primary segment; "
        f"{format_count(data['total_users'])} users in all.",
    )
    return _section(
        "segment-sizes",
        "Primary segments",
        "How the population splits into the segments the playbook acts on.",
        body + json_script("segment-sizes", data),
    )


def rfm_section(data: dict[str, Any]) -> str:
    """Two R x F heatmaps: purchasers per cell and net revenue per cell."""
    rows = [f"R{score}" for score in data["recency_scores"]]
    columns = [f"F{score}" for score in data["frequency_scores"]]
    users = heatmap_svg(
        "rfm-users",
        rows,
        columns,
        data["users"],
        title="Purchasers per R x F cell",
        x_label="Frequency score",
        y_label="Recency score",
        legend_label="Purchasers",
        cell_format=format_count,
        cell_width=78,
    )
    revenue = heatmap_svg(
        "rfm-revenue",
        rows,
        columns,
        data["net_revenue"],
        title="Net revenue per R x F cell",
        x_label="Frequency score",
        y_label="Recency score",
        legend_label="Net revenue",
        cell_format=format_money,
        cell_width=78,
    )
    note = (
        f"{format_count(data['purchasers'])} purchasers, net revenue "
        f"{format_money(data['total_net_revenue'])}. Score 5 is the most recent "
        "or most frequent fifth."
    )
    empty = [
        f"R{score}"
        for score, row in zip(data["recency_scores"], data["users"], strict=True)
        if not any(row)
    ] + [
        f"F{score}"
        for index, score in enumerate(data["frequency_scores"])
        if not any(row[index] for row in data["users"])
    ]
    if empty and data["purchasers"]:
        note += (
            " Scores are rank-based fifths in which tied users share a score, "
            f"so a score can be empty (here {', '.join(empty)})."
        )
    if data["unscored_purchasers"]:
        note += (
            f" {format_count(data['unscored_purchasers'])} purchasers without "
            "scores are left out."
        )
    body = (
        f'<div class="row">{_figure(users)}{_figure(revenue)}</div>'
        f'<p class="note">{escape(note)}</p>'
    )
    return _section(
        "rfm-heatmap",
        "Recency x frequency",
        "Purchasers on the RFM grid: recent, frequent buyers sit top right.",
        body + json_script("rfm-heatmap", data),
    )


def value_activity_section(data: dict[str, Any]) -> str:
    """Heatmap of users per value tier x activity tier."""
    chart = heatmap_svg(
        "value-activity",
        data["value_tiers"],
        data["activity_tiers"],
        data["users"],
        title="Users per value tier x activity tier",
        x_label="Activity tier",
        y_label="Value tier",
        legend_label="Users",
        cell_format=format_count,
        cell_width=110,
    )
    body = _figure(
        chart,
        f"All {format_count(data['total_users'])} users; value tier none means "
        "no purchases yet.",
    )
    return _section(
        "value-activity",
        "Value x activity",
        "Where spend and engagement meet: high value with low activity is a "
        "retention risk, low value with high activity a conversion opportunity.",
        body + json_script("value-activity", data),
    )


def _cluster_rules_table(data: dict[str, Any] | None) -> str:
    """The readable rules of every cluster under the cluster profile, with
    the tree's agreement with the clusters (marts.cluster_rules)."""
    if data is None:
        return _notice(NO_CLUSTER_RULES_SENTENCE)
    if not data["rules"]:
        return ""
    table = _table(
        (
            ("Cluster", False),
            ("Rule", False),
            ("Users in rule", True),
            ("Precision", True),
            ("Coverage of cluster", True),
        ),
        [
            (
                str(item["cluster_id"]),
                item["rule"] or f"no rule: {item['no_rule_reason']}",
                format_count(item["users_in_rule"]),
                format_share(item["rule_precision"]),
                format_share(item["rule_coverage"]),
            )
            for item in data["rules"]
        ],
    )
    return (
        "<h3>Cluster rules</h3>"
        '<p class="note">'
        + escape(
            "Each cluster described by the leaves of a shallow decision tree "
            "trained to reproduce it from the clustering features (a missing "
            "value counts as the median). Precision: share of the users a rule "
            "holds for that are in the cluster; coverage: share of the "
            "cluster's users it holds for. The tree puts "
            f"{format_share(data['tree_agreement'])} of clustered purchasers in "
            "their own cluster (segment accuracy)."
        )
        + "</p>"
        + table
    )


def cluster_section(data: dict[str, Any]) -> str:
    """Cluster profile table and the PCA scatter of a purchaser sample."""
    clusters = data["clusters"]
    if not clusters:
        return _section(
            "cluster-profiles",
            "Cluster profiles",
            "K-Means clusters of purchasers.",
            _notice(NO_CLUSTERS_SENTENCE) + json_script("cluster-profiles", data),
        )
    table = _table(
        (
            ("Cluster", False),
            ("Label", False),
            ("Users", True),
            ("Mean monetary", True),
            ("Mean frequency", True),
            ("Mean recency (days)", True),
        ),
        [
            (
                str(item["cluster_id"]),
                display_label(item["cluster_label"]),
                format_count(item["user_count"]),
                format_money(item["mean_monetary"]),
                format_number(item["mean_frequency"], 2),
                format_number(item["mean_recency_days"], 1),
            )
            for item in clusters
        ],
    )
    table += _cluster_rules_table(data.get("rules"))
    scatter = data["scatter"]
    if scatter is None:
        figure = _notice(NO_SCATTER_SENTENCE)
    else:
        groups = [
            (item["cluster_id"], f"{item['cluster_id']}: {item['cluster_label']}")
            for item in clusters
        ]
        known = {group_id for group_id, _ in groups}
        groups += [
            (group_id, f"{group_id}: unlabelled")
            for group_id in sorted({point[2] for point in scatter["points"]} - known)
        ]
        first, second = scatter["explained_variance_ratio"]
        chart = scatter_svg(
            "cluster-profiles",
            [tuple(point) for point in scatter["points"]],
            groups,
            title="Purchasers on the first two principal components",
            x_label=f"Principal component 1 ({format_share(first)} of variance)",
            y_label=f"Principal component 2 ({format_share(second)} of variance)",
        )
        figure = _figure(
            chart,
            f"A deterministic sample of {format_count(scatter['sample_size'])} "
            f"purchasers; features ({', '.join(scatter['features'])}) are "
            "median-filled, log1p-transformed and standardised before PCA.",
        )
    return _section(
        "cluster-profiles",
        "Cluster profiles",
        "K-Means clusters of purchasers: size and average recency, frequency "
        "and monetary value.",
        table + figure + json_script("cluster-profiles", data),
    )


def lifecycle_section(lifecycle: dict[str, Any], arpu: dict[str, Any]) -> str:
    """Monthly growth accounting and ARPU line charts."""
    months = [month[:7] for month in lifecycle["months"]]
    lifecycle_chart = line_chart_svg(
        "lifecycle-trend",
        months,
        [
            Series("new", lifecycle["new_users"], PALETTE[2]),
            Series("retained", lifecycle["retained_users"], PALETTE[0]),
            Series("resurrected", lifecycle["resurrected_users"], PALETTE[1]),
            Series(
                "dormant (negative)",
                [
                    None if value is None else -value
                    for value in lifecycle["dormant_users"]
                ],
                PALETTE[5],
                dashed=True,
            ),
        ],
        title="Purchasing users by lifecycle movement per month",
        x_label="Month",
        y_label="Users",
        value_format=lambda value: format_count(abs(value)),
    )
    arpu_months = [month[:7] for month in arpu["months"]]
    arpu_chart = line_chart_svg(
        "arpu-trend",
        arpu_months,
        [
            Series("ARPU, active users", arpu["arpu_active"], PALETTE[0]),
            Series("ARPU, registered users", arpu["arpu_registered"], PALETTE[2]),
            Series("ARPPU", arpu["arppu"], PALETTE[1], dashed=True),
        ],
        title="Average revenue per user per month",
        x_label="Month",
        y_label="Net revenue per user",
        value_format=format_money,
    )
    incomplete = [
        month
        for month, complete in zip(arpu_months, arpu["is_complete_month"], strict=True)
        if not complete
    ]
    arpu_caption = (
        "ARPU over active users (a purchase or any event that month), over "
        "registered users, and ARPPU over paying users."
    )
    if incomplete:
        arpu_caption += f" Incomplete months: {', '.join(incomplete)}."
    body = (
        _figure(
            lifecycle_chart,
            "Growth accounting of purchasers: new, retained and resurrected "
            "users add up to the month's purchasing users; dormant users "
            "(purchased the month before, not this month) are drawn below zero.",
        )
        + json_script("lifecycle-trend", lifecycle)
        + _figure(arpu_chart, arpu_caption)
        + json_script("arpu-trend", arpu)
    )
    return _section(
        "trends",
        "Trends",
        "How the active base and revenue per user move month by month.",
        body,
    )


def activity_section(data: dict[str, Any]) -> str:
    """Activity tier sizes and, when events exist, behaviour per tier."""
    bars = [
        Bar(
            item["activity_tier"],
            item["user_count"],
            f"{format_count(item['user_count'])} ({format_share(item['user_share'])})",
        )
        for item in data["tiers"]
    ]
    body = _figure(
        bar_chart_svg(
            "activity",
            bars,
            title="Users per activity tier",
            x_label="Users",
            y_label="Activity tier",
            legend_label="Users (share of population)",
        ),
        "Tiers over the last 30 days, on the published thresholds for CTR, "
        "browsing minutes and purchases.",
    )
    if not data["has_behaviour_data"]:
        body += _notice(NO_BEHAVIOUR_SENTENCE)
    else:
        measures = (
            ("mean_sessions_90d", "Sessions, last 90 days", "Sessions", format_tick),
            (
                "mean_browse_minutes_90d",
                "Browsing, last 90 days",
                "Minutes",
                format_tick,
            ),
            ("mean_ctr_90d", "CTR, last 90 days", "CTR", percent_tick),
        )
        charts = []
        for key, title, x_label, tick_format in measures:
            bars = [
                Bar(
                    item["activity_tier"],
                    item[key] or 0.0,
                    format_share(item[key])
                    if key == "mean_ctr_90d"
                    else format_number(item[key], 1),
                )
                for item in data["behaviour"]
            ]
            charts.append(
                bar_chart_svg(
                    f"activity-{key}",
                    bars,
                    title=title,
                    x_label=f"{x_label}, mean per user",
                    y_label="Activity tier",
                    legend_label="Mean per user",
                    tick_format=tick_format,
                    width=310,
                    colour=PALETTE[2],
                )
            )
        figures = "".join(_figure(chart) for chart in charts)
        body += f'<div class="row">{figures}</div>'
    return _section(
        "activity",
        "Behaviour and activity",
        "How engaged users are, from sessions, browsing, clicks and purchases.",
        body + json_script("activity", data),
    )


def playbook_section(data: dict[str, Any]) -> str:
    """Each primary segment's size and recommended use."""
    rows = [
        (
            display_label(item["segment"]),
            format_count(item["user_count"]),
            format_share(item["user_share"]),
            item["description"] or "No playbook entry.",
            item["marketing"] or "",
            item["service"] or "",
            item["product"] or "",
        )
        for item in data["segments"]
    ]
    table = _table(
        (
            ("Segment", False),
            ("Users", True),
            ("Share", True),
            ("Who", False),
            ("Marketing", False),
            ("Service", False),
            ("Product", False),
        ),
        rows,
    )
    return _section(
        "playbook",
        "Segment playbook",
        "What each primary segment is for, from lookups.segment_playbook.",
        f'<div class="table-wrap">{table}</div>' + json_script("playbook", data),
    )


def segment_history_section(data: dict[str, Any]) -> str:
    """Primary segment sizes per as-of date: a line chart and the last dates."""
    dates = data["dates"]
    lead = (
        "How many users each primary segment held at every as-of date of the "
        "segment history (marts.primary_segment_sizes_over_time, from"
        " marts.segment_history)."
    )
    if not data["has_history"] or not dates:
        return _section(
            "segment-history",
            "Segments over time",
            lead,
            _notice(NO_HISTORY_SENTENCE) + json_script("segment-history", data),
        )
    shown = dates[-HISTORY_TABLE_DATES:]
    offset = len(dates) - len(shown)
    headers: list[tuple[str, bool]] = [("Segment", False)]
    headers += [(date, True) for date in shown]
    if len(dates) > 1:
        headers.append((f"Change since {dates[-2]}", True))
    rows = []
    for item in [*data["segments"], {"segment": None, "user_counts": data["totals"]}]:
        counts = item["user_counts"]
        cells = [display_label(item["segment"]) if item["segment"] else "All users"]
        for index in range(offset, len(dates)):
            total = data["totals"][index]
            share = counts[index] / total if total else None
            cells.append(
                format_count(counts[index])
                if item["segment"] is None
                else f"{format_count(counts[index])} ({format_share(share)})"
            )
        if len(dates) > 1:
            cells.append(f"{counts[-1] - counts[-2]:+,}")
        rows.append(cells)
    table = f'<div class="table-wrap">{_table(headers, rows)}</div>'
    if len(dates) < 2:
        body = _notice(ONE_SNAPSHOT_SENTENCE) + table
    else:
        chart = line_chart_svg(
            "segment-history",
            dates,
            [
                Series(
                    display_label(item["segment"]),
                    item["user_counts"],
                    PALETTE[index % len(PALETTE)],
                )
                for index, item in enumerate(data["segments"])
            ],
            title="Users per primary segment at each as-of date",
            x_label="As-of date",
            y_label="Users",
            value_format=format_count,
        )
        body = (
            _figure(
                chart,
                f"{len(dates)} as-of dates from {dates[0]} to {dates[-1]}; "
                "every user of a date is in exactly one primary segment.",
            )
            + table
        )
    return _section(
        "segment-history",
        "Segments over time",
        lead,
        body + json_script("segment-history", data),
    )


def _heat_cell(text: str, fraction: float, tooltip: str, stayed: bool) -> str:
    fill = heat_colour(fraction)
    style = f"background:{fill};color:{readable_ink(fill)}"
    classes = "num stay" if stayed else "num"
    return (
        f'<td class="{classes}" style="{style}" title="{escape(tooltip)}">{text}</td>'
    )


def heat_table(
    matrix: dict[str, Any], measure: str, from_date: str, to_date: str
) -> str:
    """A migration matrix as an HTML table shaded like a heatmap.

    Rows are the segments at ``from_date``, columns those at ``to_date``;
    ``measure`` "users" shows users and their share of the row's segment
    (shaded by that share), "revenue" the net revenue the users brought
    between the dates (shaded against the largest cell). The diagonal, users
    who stayed, is outlined; the last column and row hold the totals.
    """
    sources = matrix["from_segments"]
    targets = matrix["to_segments"]
    users = matrix["users"]
    revenue = matrix["revenue_between"]
    largest = max((value for row in revenue for value in row), default=0.0)
    head = "".join(
        f'<th scope="col" class="num">{escape(display_label(label))}</th>'
        for label in targets
    )
    if measure == "users":
        row_total, column_total = f"Users at {to_date}", f"Users at {from_date}"
    else:
        row_total = column_total = "Total"
    body = []
    for row_index, source in enumerate(sources):
        size = matrix["from_sizes"][row_index]
        cells = []
        for column_index, target in enumerate(targets):
            count = users[row_index][column_index]
            if not count:
                cells.append('<td class="num empty"></td>')
                continue
            stayed = matrix["stayed"][row_index][column_index]
            move = f"{display_label(source)} -> {display_label(target)}"
            if measure == "users":
                share = matrix["from_segment_shares"][row_index][column_index]
                text = escape(format_count(count)) + (
                    ""
                    if share is None
                    else f"<small>{escape(format_share(share))}</small>"
                )
                tooltip = f"{move}: {format_count(count)} users" + (
                    "" if share is None else f" ({format_share(share)} of the row)"
                )
                fraction = count / size if size else 0.0
            else:
                value = revenue[row_index][column_index]
                text = escape(format_money(value))
                tooltip = (
                    f"{move}: {format_count(count)} users, "
                    f"revenue {format_money(value)}"
                )
                fraction = value / largest if largest > 0 else 0.0
            cells.append(_heat_cell(text, fraction, tooltip, stayed))
        total = (
            format_count(size)
            if measure == "users"
            else format_money(sum(revenue[row_index]))
        )
        body.append(
            f'<tr><th scope="row">{escape(display_label(source))}</th>'
            + "".join(cells)
            + f'<td class="num total">{escape(total)}</td></tr>'
        )
    if measure == "users":
        totals = [format_count(size) for size in matrix["to_sizes"]]
        grand = format_count(sum(matrix["to_sizes"]))
    else:
        totals = [
            format_money(sum(row[i] for row in revenue)) for i in range(len(targets))
        ]
        grand = format_money(sum(map(sum, revenue)))
    body.append(
        f'<tr class="total"><th scope="row">{escape(row_total)}</th>'
        + "".join(f'<td class="num total">{escape(text)}</td>' for text in totals)
        + f'<td class="num total">{escape(grand)}</td></tr>'
    )
    return (
        '<div class="table-wrap"><table class="heat">'
        f'<thead><tr><th scope="col">From {escape(from_date)}, to '
        f'{escape(to_date)}</th>{head}<th scope="col" class="num">'
        f"{escape(column_total)}</th></tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def migration_section(data: dict[str, Any]) -> str:
    """Migration matrices of the latest two as-of dates: users and revenue."""
    lead = (
        "Where the users of each segment at the previous as-of date are now "
        "(marts.segment_migrations). Rows are the segment at the earlier "
        "date, columns the segment at the later one; a row's shares add up "
        "to 100%, and the outlined diagonal holds the users who stayed. "
        "(new) users joined between the dates, (gone) users left, (none) "
        "means no value (no purchase yet)."
    )
    if not data["dimensions"]:
        sentence = (
            NO_MIGRATION_SENTENCE if data["has_migrations"] else NO_HISTORY_SENTENCE
        )
        return _section(
            "migration",
            "Migration",
            lead,
            _notice(sentence) + json_script("migration", data),
        )
    from_date, to_date = data["from_as_of_date"], data["to_as_of_date"]
    parts = []
    for matrix in data["dimensions"]:
        title = DIMENSION_TITLES.get(matrix["dimension"], matrix["dimension"])
        notes = []
        if matrix["stayed_share"] is not None:
            notes.append(
                f"{format_share(matrix['stayed_share'])} of the users present at "
                "both dates stayed in their segment."
            )
        if matrix["drifted"]:
            moves = ", ".join(
                f"{display_label(item['segment'])} "
                f"{item['share_change_points']:+.1f} points"
                for item in matrix["drifted"]
            )
            notes.append(
                f"Drift (share moved more than var segment_drift_max_points): {moves}."
            )
        parts.append(
            f"<h3>{escape(title)}: users, {escape(from_date)} to {escape(to_date)}</h3>"
            + heat_table(matrix, "users", from_date, to_date)
            + "".join(f'<p class="note">{escape(note)}</p>' for note in notes)
            + f"<h3>{escape(title)}: revenue between the dates</h3>"
            + heat_table(matrix, "revenue", from_date, to_date)
        )
    return _section(
        "migration",
        "Migration",
        lead,
        "".join(parts)
        + '<p class="note">Revenue is the net revenue the users of a cell '
        "brought between the two dates (their net revenue to date at the later "
        "date minus that at the earlier one).</p>" + json_script("migration", data),
    )


def clv_section(data: dict[str, Any]) -> str:
    """Predicted CLV and probability alive by primary segment, and the
    holdout comparison when that mode is on."""
    segments = data["segments"]
    bars = [
        Bar(
            display_label(item["segment"]),
            item["mean_predicted_clv"],
            f"{format_money(item['mean_predicted_clv'])} "
            f"(P(alive) {format_share(item['mean_probability_alive'])})",
        )
        for item in segments
        if item["mean_predicted_clv"] is not None
    ]
    table = _table(
        (
            ("Segment", False),
            ("Users", True),
            ("With a CLV", True),
            ("Mean CLV", True),
            ("Median CLV", True),
            ("Mean P(alive)", True),
            ("Total CLV", True),
        ),
        [
            (
                display_label(item["segment"]),
                format_count(item["user_count"]),
                format_count(item["users_with_clv"]),
                format_money(item["mean_predicted_clv"]),
                format_money(item["median_predicted_clv"]),
                format_share(item["mean_probability_alive"]),
                format_money(item["total_predicted_clv"]),
            )
            for item in segments
        ],
    )
    model = data.get("model")
    label = TRANSACTION_MODELS[model].label if model in TRANSACTION_MODELS else model
    source = (
        f"the {label} and Gamma-Gamma models ({data.get('choice_reason')})"
        if model
        else "historical LTV (no transaction model could be used)"
    )
    caption = (
        "Predicted CLV over the CLV horizon (var clv_horizon_months) from "
        f"{source}, for purchasers; users who never purchased have none "
        "(n/a). P(alive): probability the customer is still active."
    )
    body = ""
    if bars:
        chart = bar_chart_svg(
            "clv-segments",
            bars,
            title="Mean predicted CLV per primary segment",
            x_label="Predicted CLV, mean per purchaser",
            y_label="Primary segment",
            legend_label="Mean predicted CLV (mean probability alive)",
            colour=PALETTE[2],
        )
        body = _figure(chart, caption)
    body += f'<div class="table-wrap">{table}</div>'
    holdout = data["holdout"]
    if holdout is None:
        body += _notice(HOLDOUT_OFF_SENTENCE)
    else:
        buckets = [item for item in holdout["buckets"] if not item["is_total"]]
        unit = holdout["time_unit"]
        chart = line_chart_svg(
            "clv-holdout",
            [item["bucket"] for item in buckets],
            [
                Series(
                    "actual",
                    [item["actual_purchases_per_customer"] for item in buckets],
                    PALETTE[0],
                ),
                Series(
                    "predicted",
                    [item["predicted_purchases_per_customer"] for item in buckets],
                    PALETTE[1],
                    dashed=True,
                ),
            ],
            title="Holdout: repeat purchase days per customer, actual vs predicted",
            x_label="Repeat purchase days in the calibration period",
            y_label="Purchase days per customer",
            value_format=lambda value: format_number(value, 2),
        )
        rows = [
            (
                item["bucket"],
                format_count(item["customers"]),
                format_count(item["actual_purchases"]),
                format_number(item["predicted_purchases"], 1),
                format_share(item["purchases_error_share"]),
                format_money(item["actual_revenue"]),
                format_money(item["predicted_revenue"]),
            )
            for item in holdout["buckets"]
        ]
        body += _figure(
            chart,
            f"Models fitted on purchases to {holdout['calibration_end_date']}, "
            f"compared with the holdout to {holdout['holdout_end_date']} "
            f"(time unit: {unit}).",
        ) + _table(
            (
                ("Calibration bucket", False),
                ("Customers", True),
                ("Actual purchase days", True),
                ("Predicted", True),
                ("Error", True),
                ("Actual revenue", True),
                ("Predicted revenue", True),
            ),
            rows,
        )
    return _section(
        "clv",
        "Predicted CLV",
        "What purchasers are expected to be worth, per primary segment, and "
        "how likely they are to still be customers.",
        body + json_script("clv", data),
    )


def segment_conversion_section(data: dict[str, Any]) -> str:
    """Conversion rate per primary segment and month: a line chart and the
    latest months' table (users, converters, rate, revenue per user and the
    users a campaign starting that month treated)."""
    lead = (
        "The share of each primary segment's users who purchased in the month "
        "(marts.segment_conversion_monthly), whether or not a campaign ran: "
        "a user counts in the segment they were in at the latest segment "
        "snapshot on or before the month's first day."
    )
    months = data["months"]
    if not data["has_segment_conversion"] or not months:
        return _section(
            "segment-conversion",
            "Conversion by segment per month",
            lead,
            _notice(NO_SEGMENT_CONVERSION_SENTENCE)
            + json_script("segment-conversion", data),
        )
    labels = [
        month[:7] + (" (partial)" if partial else "")
        for month, partial in zip(months, data["is_partial_month"], strict=True)
    ]
    chart = line_chart_svg(
        "segment-conversion",
        [month[:7] for month in months],
        [
            Series(
                display_label(item["segment"]),
                item["conversion_rate"],
                PALETTE[index % len(PALETTE)],
            )
            for index, item in enumerate(data["segments"])
        ],
        title="Conversion rate per primary segment and month",
        x_label="Month",
        y_label="Users who purchased in the month",
        value_format=format_share,
    )
    shown = range(max(0, len(months) - CONVERSION_TABLE_MONTHS), len(months))
    headers: list[tuple[str, bool]] = [("Segment", False)]
    for index in shown:
        headers += [
            (f"{labels[index]}: users", True),
            ("converted", True),
            ("revenue per user", True),
            ("in a campaign", True),
        ]
    rows = []
    for item in data["segments"]:
        cells = [display_label(item["segment"])]
        for index in shown:
            converters = item["converters"][index]
            cells += [
                format_count(item["users"][index]),
                "n/a"
                if converters is None
                else f"{format_count(converters)} "
                f"({format_share(item['conversion_rate'][index])})",
                format_money(item["revenue_per_user"][index]),
                format_count(item["campaign_users"][index]),
            ]
        rows.append(cells)
    partial = [
        label
        for label, flag in zip(labels, data["is_partial_month"], strict=True)
        if flag
    ]
    caption = (
        "Conversion = users with at least one purchase in the month / the "
        "segment's users; in a campaign = the segment's users in the treatment "
        "group of a campaign that started that month."
    )
    if partial:
        caption += (
            " The month of the as-of date is partial (orders before the as-of "
            "date only), so its rate is not comparable yet."
        )
    body = (
        _figure(chart, caption)
        + f'<div class="table-wrap">{_table(headers, rows)}</div>'
    )
    return _section(
        "segment-conversion",
        "Conversion by segment per month",
        lead,
        body + json_script("segment-conversion", data),
    )


def verdict_sentence(result: dict[str, Any]) -> str:
    """The verdict of marts.campaign_results in words a marketer reads."""
    verdict = result.get("verdict") or ""
    lift = result.get("conversion_lift")
    interval = (
        f"{format_points(result.get('conversion_lift_lower'))} to "
        f"{format_points(result.get('conversion_lift_upper'))}"
    )
    mde = result.get("minimum_detectable_lift")
    mde_text = "n/a" if mde is None else f"{mde * 100:.1f} points"
    if verdict == "interim":
        return (
            "Interim: the conversion window is still open, so these numbers "
            f"will change (so far {format_points(lift)}, 95% interval "
            f"{interval}); judge the campaign when it has ended."
        )
    if verdict == "sample ratio mismatch":
        return (
            "Sample ratio mismatch: the treatment and holdout sizes do not "
            "match the planned holdout share (p = "
            f"{format_p_value(result.get('sample_ratio_p_value'))}), so the "
            "split is broken and the lift cannot be trusted: check the "
            "assignment before reading anything else."
        )
    if verdict == "significant lift":
        return (
            f"Significant lift: the treatment converted {format_points(lift)} "
            f"more than the holdout (95% interval {interval}); the campaign "
            "worked."
        )
    if verdict == "significant drop":
        return (
            f"Significant drop: the treatment converted {format_points(lift)} "
            f"less than the holdout (95% interval {interval}); the campaign "
            "hurt conversion."
        )
    if verdict == "no detectable difference":
        return (
            "No detectable difference: the 95% interval "
            f"({interval}) includes zero; a lift above {mde_text} would most "
            "likely have shown."
        )
    if verdict.startswith("too small to tell") and mde is None:
        return (
            "Too small to tell: a group is empty or too small to measure a "
            "lift at all; wait for a larger audience or a larger holdout share."
        )
    if verdict.startswith("too small to tell"):
        return (
            f"Too small to tell: the holdout can only show lifts above {mde_text}"
            f" (measured {format_points(lift)}, 95% interval {interval}); "
            "a larger audience or holdout share is needed."
        )
    return verdict or "Not measured yet."


def _targets(campaign: dict[str, Any]) -> str:
    """What a campaign targets, in words ('every opted-in user' when no
    dimension is constrained)."""
    names = (
        ("target_primary_segments", "primary segment"),
        ("target_rfm_segments", "RFM segment"),
        ("target_lifecycle_stages", "lifecycle stage"),
        ("target_value_tiers", "value tier"),
    )
    parts = [
        f"{label} in {', '.join(display_label(value) for value in campaign[key])}"
        for key, label in names
        if campaign.get(key)
    ]
    return " and ".join(parts) if parts else "every user"


def _campaign_status(campaign: dict[str, Any]) -> str:
    status = campaign["campaign_status"]
    if status != "scheduled" and campaign["is_interim"]:
        return (
            f"{status}, interim (conversion window open until "
            f"{campaign['conversion_window_end']}, exclusive)"
        )
    return status


def _sizes_table(campaign: dict[str, Any]) -> str:
    planned = campaign["holdout_share"]
    return _table(
        (
            ("Eligible users", True),
            ("Also eligible elsewhere", True),
            ("Excluded by priority", True),
            ("Treatment", True),
            ("Holdout", True),
            ("Holdout share, planned", True),
            ("Holdout share, realised", True),
        ),
        [
            (
                format_count(campaign["eligible_users"]),
                format_count(campaign["users_eligible_elsewhere"]),
                format_count(campaign["excluded_users"]),
                format_count(campaign["treatment_users"]),
                format_count(campaign["holdout_users"]),
                format_share(planned),
                format_share(campaign["realised_holdout_share"]),
            )
        ],
    )


def _rate_estimate(group: dict[str, Any] | None) -> Estimate | None:
    if not group or group.get("conversion_rate") is None:
        return None
    return Estimate(
        group["conversion_rate"],
        group.get("conversion_rate_lower"),
        group.get("conversion_rate_upper"),
    )


def _points_tick(value: float, step: float) -> str:
    return format_tick(value * 100, step * 100)


def _campaign_charts(campaign: dict[str, Any]) -> str:
    """Conversion by group and the lift with its 95% interval, per target
    segment (the whole audience first)."""
    results = campaign["results"]
    labels = [
        "all targeted"
        if item["target_segment"] == ALL_SEGMENTS
        else display_label(item["target_segment"])
        for item in results
    ]
    chart_id = f"campaign-{campaign['campaign_id']}"
    rates = interval_chart_svg(
        f"{chart_id}-conversion",
        labels,
        [
            EstimateSeries(
                "treatment",
                [_rate_estimate(i["treatment"]) for i in results],
                PALETTE[0],
            ),
            EstimateSeries(
                "holdout",
                [_rate_estimate(i["holdout"]) for i in results],
                PALETTE[1],
            ),
        ],
        title="Conversion by group",
        x_label="Users who purchased in the conversion window",
        y_label="Target segment",
        value_format=format_share,
        tick_format=percent_tick,
    )
    lifts = interval_chart_svg(
        f"{chart_id}-lift",
        labels,
        [
            EstimateSeries(
                "lift, 95% interval",
                [
                    None
                    if item["conversion_lift"] is None
                    else Estimate(
                        item["conversion_lift"],
                        item["conversion_lift_lower"],
                        item["conversion_lift_upper"],
                    )
                    for item in results
                ],
                PALETTE[2],
            )
        ],
        title="Conversion lift, treatment minus holdout",
        x_label="Percentage points",
        y_label="Target segment",
        value_format=format_points,
        tick_format=_points_tick,
        reference=0.0,
        reference_label="no effect",
    )
    return _figure(
        rates,
        "The share of each group's users with at least one purchase in the "
        "conversion window, with its 95% interval (Wilson score).",
    ) + _figure(
        lifts,
        "The bar is the 95% interval of the difference: when it crosses the "
        "no-effect line, the data cannot tell the campaign from no campaign.",
    )


def _results_table(campaign: dict[str, Any]) -> str:
    rows = []
    for item in campaign["results"]:
        treatment = item["treatment"] or {}
        holdout = item["holdout"] or {}
        rows.append(
            (
                "all targeted"
                if item["target_segment"] == ALL_SEGMENTS
                else display_label(item["target_segment"]),
                f"{format_count(treatment.get('users'))} / "
                f"{format_count(holdout.get('users'))}",
                f"{format_share(treatment.get('conversion_rate'))} / "
                f"{format_share(holdout.get('conversion_rate'))}",
                f"{format_points(item['conversion_lift'])} "
                f"[{format_points(item['conversion_lift_lower'])}, "
                f"{format_points(item['conversion_lift_upper'])}]",
                f"{format_share(item['conversion_lift_relative'])} "
                f"[{format_share(item['conversion_lift_relative_lower'])}, "
                f"{format_share(item['conversion_lift_relative_upper'])}]",
                format_p_value(item["conversion_p_value"]),
                f"{format_money(treatment.get('revenue_per_user'))} / "
                f"{format_money(holdout.get('revenue_per_user'))}",
                f"{format_money(item['revenue_per_user_lift'])} "
                f"[{format_money(item['revenue_per_user_lift_lower'])}, "
                f"{format_money(item['revenue_per_user_lift_upper'])}]",
                format_p_value(item["revenue_per_user_p_value"]),
                "n/a"
                if item["minimum_detectable_lift"] is None
                else f"{item['minimum_detectable_lift'] * 100:.1f} pts",
                item["verdict"] or "n/a",
            )
        )
    table = _table(
        (
            ("Target segment", False),
            ("Users, treatment / holdout", True),
            ("Conversion, treatment / holdout", True),
            ("Lift [95% interval]", True),
            ("Relative lift [95%]", True),
            ("p-value", True),
            ("Revenue per user, treatment / holdout", True),
            ("Revenue per user lift [95%]", True),
            ("p-value (revenue)", True),
            ("Smallest detectable lift", True),
            ("Verdict", False),
        ),
        rows,
    )
    return f'<div class="table-wrap">{table}</div>'


def _sample_ratio_sentence(campaign: dict[str, Any], overall: dict[str, Any]) -> str:
    treatment = (overall["treatment"] or {}).get("users")
    holdout = (overall["holdout"] or {}).get("users")
    p_value = format_p_value(overall["sample_ratio_p_value"])
    sizes = (
        f"{format_count(treatment)} treatment and {format_count(holdout)} holdout "
        f"users against a planned holdout share of "
        f"{format_share(campaign['holdout_share'])}"
    )
    if overall["is_sample_ratio_mismatch"]:
        return (
            f"Sample ratio check FAILED: {sizes} (p = {p_value}). A split this "
            "far off the plan points to a broken assignment, not to chance."
        )
    return f"Sample ratio check passed: {sizes} (p = {p_value})."


def _campaign_block(campaign: dict[str, Any]) -> str:
    priority = campaign["priority"]
    facts = (
        f"Status: {_campaign_status(campaign)}. Channel {campaign['channel']}, "
        f"priority {'none (last)' if priority is None else priority}"
        f"; {campaign['start_date']} to {campaign['campaign_end_date']}; targets "
        f"{_targets(campaign)}, opted-in users only."
    )
    if campaign["eligibility_as_of_date"]:
        facts += (
            f" Eligibility read from the segment snapshot of "
            f"{campaign['eligibility_as_of_date']}."
        )
    parts = [
        f"<h3>{escape(campaign['campaign_name'] or campaign['campaign_id'])} "
        f"<small>({escape(campaign['campaign_id'])})</small></h3>",
        f'<p class="note">{escape(facts)}</p>',
    ]
    if campaign["eligible_users"] is not None:
        parts.append(f'<div class="table-wrap">{_sizes_table(campaign)}</div>')
    overall = next(
        (
            item
            for item in campaign["results"]
            if item["target_segment"] == ALL_SEGMENTS
        ),
        None,
    )
    if overall is None:
        parts.append(_notice(campaign["status_note"] or "Not measured yet."))
        return "".join(parts)
    parts.append(_notice(verdict_sentence(overall)))
    parts.append(_campaign_charts(campaign))
    parts.append(_results_table(campaign))
    if overall["sample_ratio_p_value"] is not None:
        parts.append(
            f'<p class="note">{escape(_sample_ratio_sentence(campaign, overall))}</p>'
        )
    return "".join(parts)


def _overlap_table(overlaps: Sequence[dict[str, Any]]) -> str:
    if not overlaps:
        return (
            '<p class="note">No two campaigns on the same channel overlap in time.</p>'
        )
    table = _table(
        (
            ("Campaign (first in priority)", False),
            ("Overlaps with", False),
            ("Channel", False),
            ("Eligible for both, before priority", True),
            ("Assigned to both, after priority", True),
        ),
        [
            (
                item["campaign_id"],
                item["other_campaign_id"],
                item["channel"],
                format_count(item["users_eligible_for_both"]),
                format_count(item["users_assigned_to_both"]),
            )
            for item in overlaps
        ],
    )
    return (
        "<h3>Overlapping campaigns</h3>"
        '<p class="note">Campaigns on the same channel whose dates overlap: a '
        "user eligible for both gets the campaign that starts first (then the "
        "higher priority); the other excludes them, so nobody is in two "
        "tests at once.</p>"
        f'<div class="table-wrap">{table}</div>'
    )


def campaigns_section(data: dict[str, Any]) -> str:
    """Per campaign: status, eligibility snapshot, group sizes, conversion
    by group and the lift with 95% intervals per target segment, revenue
    per user, the smallest detectable lift, the verdict in words and the
    sample ratio check; then the overlapping campaigns."""
    lead = (
        "Did the campaigns work? Each campaign's eligible users were split at "
        "launch into a treatment group, who got the campaign, and a holdout, "
        "who did not (marts.campaigns, marts.campaign_results); the lift is the "
        "treatment's conversion minus the holdout's. The dbt docs (campaign "
        "lift reading) explain how to read it."
    )
    if not data["has_campaigns"] or not data["campaigns"]:
        sentence = (
            NO_CAMPAIGNS_SENTENCE
            if data["has_campaigns"]
            else NO_CAMPAIGN_MARTS_SENTENCE
        )
        return _section(
            "campaigns",
            "Campaigns",
            lead,
            _notice(sentence) + json_script("campaigns", data),
        )
    counts = data["status_counts"]
    summary = (
        f"{len(data['campaigns'])} campaigns: "
        + ", ".join(f"{counts.get(status, 0)} {status}" for status in CAMPAIGN_STATUSES)
        + "."
    )
    body = (
        f'<p class="note">{escape(summary)}</p>'
        + "".join(_campaign_block(campaign) for campaign in data["campaigns"])
        + _overlap_table(data["overlaps"])
    )
    return _section(
        "campaigns", "Campaigns", lead, body + json_script("campaigns", data)
    )


# ---------------------------------------------------------------------------
# Propensity

NO_PROPENSITY_MARTS_SENTENCE = (
    "No propensity marts: this warehouse was built before purchase and churn "
    "propensity existed; make run builds them."
)
NO_PROPENSITY_MODEL_SENTENCE = (
    "No propensity model could be trained: every window fell back (see the "
    "notes above), so purchase_propensity and churn_risk are empty. Models "
    "need earlier feature snapshots: make run HISTORY_FROM=auto (or a date "
    "a few months back) backfills them."
)
# Models by name, for people; other names are shown as they are.
PROPENSITY_MODEL_NAMES = {
    "gradient_boosting": "gradient boosting",
    "logistic_regression": "logistic regression",
    "probability_alive": "probability alive (the CLV model's)",
    "rfm_score": "RFM score",
}
PROPENSITY_LABEL_NAMES = {
    "will_purchase": "Will purchase",
    "will_churn": "Will churn (recent buyers who stop)",
}


def propensity_model_name(model: str) -> str:
    return PROPENSITY_MODEL_NAMES.get(model, display_label(model))


def propensity_window_title(window: dict[str, Any]) -> str:
    """A window in words: 'Will purchase within 30 days' (out of time) or
    'Will purchase by 1998-07-01 (calibration holdout, 30-day training
    labels)'."""
    label = PROPENSITY_LABEL_NAMES.get(window["label"], display_label(window["label"]))
    if window["window_kind"] == "calibration_holdout":
        end = window["eval_label_end_date"] or "the as-of date"
        return (
            f"{label} by {end} (calibration holdout, "
            f"{window['horizon_days']}-day training labels)"
        )
    return f"{label} within {window['horizon_days']} days"


def propensity_fallback_sentence(window: dict[str, Any]) -> str:
    """Why a window has no model, with what to do: the mart's note."""
    reason = display_label(window["fallback_reason"] or "fallback")
    note = window["fallback_note"] or "no model for this window."
    return f"{propensity_window_title(window)} ({reason}): {note}"


def _propensity_table(window: dict[str, Any]) -> str:
    """One ready window: its snapshots and users, then one row per model
    with the ranking metrics side by side, classifiers first, then the
    rankers users already have."""
    facts = (
        f"Trained on the snapshot of {window['train_snapshot_date']} "
        f"({format_count(window['train_rows'])} users), evaluated on the "
        f"{format_count(window['eval_rows'])} users of "
        f"{window['eval_snapshot_date']} and what they did until "
        f"{window['eval_label_end_date']}: "
        f"{format_count(window['eval_positives'])} positives "
        f"({format_share(window['base_rate'])})."
    )
    rows = []
    for model in window["models"]:
        gain = model["roc_auc_gain_over_best_ranker"]
        rows.append(
            (
                propensity_model_name(model["model"])
                + (" (scores the users)" if model["is_scoring_model"] else ""),
                model["model_kind"] or "",
                format_number(model["roc_auc"], 3),
                format_number(model["pr_auc"], 3),
                format_number(model["brier_score"], 3),
                format_number(model["log_loss"], 3),
                format_number(model["top_decile_lift"], 2),
                format_share(model["top_decile_capture"]),
                "" if gain is None else f"{gain:+.3f}",
            )
        )
    table = _table(
        (
            ("Model", False),
            ("Kind", False),
            ("ROC-AUC", True),
            ("PR-AUC", True),
            ("Brier", True),
            ("Log loss", True),
            ("Top-decile lift", True),
            ("Top-decile capture", True),
            ("AUC gain over best ranker", True),
        ),
        rows,
    )
    return (
        f"<h3>{escape(propensity_window_title(window))}</h3>"
        f'<p class="note">{escape(facts)}</p>'
        f'<div class="table-wrap">{table}</div>'
    )


def _propensity_chart_id(window: dict[str, Any], chart: str) -> str:
    parts = (window["window_kind"], window["label"], str(window["horizon_days"]))
    return (
        "propensity-"
        + "-".join(part.replace("_", "-") for part in parts)
        + (f"-{chart}")
    )


def _propensity_window_charts(window: dict[str, Any]) -> str:
    """Capture and lift by decile per model, calibration of the classifiers
    and the most important features of one ready window."""
    models = [model["model"] for model in window["models"]]
    deciles = window["deciles"]
    shown = [model for model in models if deciles.get(model)]
    parts = []
    if shown:
        labels = [str(row["decile"]) for row in deciles[shown[0]]]
        series = [
            Series(
                propensity_model_name(model),
                [row["cumulative_capture"] for row in deciles[model]],
                PALETTE[index % len(PALETTE)],
            )
            for index, model in enumerate(shown)
        ]
        series.append(
            Series(
                "random order",
                [(index + 1) / len(labels) for index in range(len(labels))],
                PALETTE[7],
                dashed=True,
            )
        )
        capture = line_chart_svg(
            _propensity_chart_id(window, "capture"),
            labels,
            series,
            title="Share of the positives found in the top deciles",
            x_label="Top deciles of users by score (1 = the highest 10%)",
            y_label="Positives captured",
            value_format=format_share,
            width=760,
        )
        lift = line_chart_svg(
            _propensity_chart_id(window, "lift"),
            labels,
            [
                Series(
                    propensity_model_name(model),
                    [row["lift"] for row in deciles[model]],
                    PALETTE[index % len(PALETTE)],
                )
                for index, model in enumerate(shown)
            ]
            + [Series("no lift", [1.0] * len(labels), PALETTE[7], dashed=True)],
            title="Lift per decile: positive rate over the base rate",
            x_label="Decile of users by score (1 = the highest 10%)",
            y_label="Lift",
            value_format=lambda value: format_number(value, 2),
            width=760,
        )
        parts.append(
            _figure(
                capture,
                f"Of the {format_count(window['eval_positives'])} positives among "
                f"the {format_count(window['eval_rows'])} evaluated users, the "
                "share in the top 10%, 20%, ... of each model's scores; the "
                "dashed line is what picking users at random finds.",
            )
            + _figure(
                lift,
                "How many times the base rate "
                f"({format_share(window['base_rate'])}) each decile's positive "
                "rate is: a good model starts high and falls below 1.",
            )
        )
    calibration = window["calibration"]
    classifiers = [model for model in models if calibration.get(model)]
    if classifiers:
        series = []
        for index, model in enumerate(classifiers):
            colour = PALETTE[index % len(PALETTE)]
            name = propensity_model_name(model)
            series.append(
                Series(
                    f"{name}, observed",
                    [row["observed_rate"] for row in calibration[model]],
                    colour,
                )
            )
            series.append(
                Series(
                    f"{name}, predicted",
                    [row["mean_predicted_probability"] for row in calibration[model]],
                    colour,
                    dashed=True,
                )
            )
        chart = line_chart_svg(
            _propensity_chart_id(window, "calibration"),
            [str(row["bin"]) for row in calibration[classifiers[0]]],
            series,
            title="Calibration: predicted probability against the observed rate",
            x_label="Bin of users by predicted probability (deciles)",
            y_label="Probability",
            value_format=format_share,
            width=760,
        )
        parts.append(
            _figure(
                chart,
                "Where the dashed line (mean predicted probability) sits on the "
                "solid one (observed rate), the probabilities can be read as "
                "they are, e.g. to size a campaign's expected buyers.",
            )
        )
    importance = window["importance"]
    if importance:
        model = importance[0]["model"]
        bars = [
            Bar(
                display_label(row["feature"]),
                row["importance_mean"] or 0.0,
                f"{format_number(row['importance_mean'], 3)} "
                f"(+/- {format_number(row['importance_std'], 3)})",
            )
            for row in importance
            if row["model"] == model
        ]
        parts.append(
            _figure(
                bar_chart_svg(
                    _propensity_chart_id(window, "features"),
                    bars,
                    title=f"Most important features ({propensity_model_name(model)})",
                    x_label="ROC-AUC lost when the feature is shuffled",
                    y_label="Feature",
                    legend_label="Mean AUC decrease (+/- standard deviation)",
                    colour=PALETTE[2],
                ),
                "Permutation importance on the evaluation window: how much the "
                "model's ROC-AUC drops when one feature's values are shuffled "
                "between users. Near zero: the model does not rely on it.",
            )
        )
    return "".join(parts)


def _propensity_scores_note(scores: dict[str, Any] | None) -> str:
    if not scores:
        return ""
    scored = scores["scored_users"]
    if not any(scored.values()):
        # No score column, or nobody scored: the fallback notes say why.
        return ""
    named = {
        "purchase_propensity": "a purchase propensity",
        "churn_risk": "a churn risk",
    }
    counts = [
        f"{format_count(count)} {named.get(column, column)}"
        for column, count in scored.items()
        if count is not None
    ]
    tiers = ", ".join(
        f"{tier} {format_count(scores['tier_users'][tier])}"
        for tier in PROPENSITY_TIERS
    )
    return (
        f"Of the {format_count(scores['users'])} users in marts.user_profiles, "
        f"{' and '.join(counts).replace(' a ', ' have a ', 1)} (churn risk is "
        f"scored for recent buyers only); propensity tiers: {tiers}."
    )


def propensity_section(data: dict[str, Any]) -> str:
    """Purchase and churn propensity: the evaluation of every window, the
    classifiers beside the rankers users already have (probability alive,
    RFM score); per scoring or calibration-holdout window that has a model,
    capture and lift by decile, calibration and the top features; every
    fallback with its reason and what to do."""
    lead = (
        "Who is likely to buy, and which recent buyers are likely to stop? "
        "Each model learnt from an earlier snapshot of the profiles what "
        "happened next, and was then tested on a later snapshot it never saw "
        "(out of time), next to the rankers the warehouse already has. A "
        "classifier earns its place when its ROC-AUC beats the best ranker's "
        "(marts.propensity_evaluation; the dbt docs, propensity reading, "
        "explain the measures)."
    )
    if not data["has_propensity"]:
        return _section(
            "propensity",
            "Purchase and churn propensity",
            lead,
            _notice(NO_PROPENSITY_MARTS_SENTENCE) + json_script("propensity", data),
        )
    windows = data["windows"]
    ready = [window for window in windows if window["status"] == "ready"]
    fallbacks = [window for window in windows if window["status"] != "ready"]
    body = ""
    note = _propensity_scores_note(data["scores"])
    if note:
        body += f'<p class="note">{escape(note)}</p>'
    body += "".join(
        _notice(propensity_fallback_sentence(window)) for window in fallbacks
    )
    if not ready:
        body += _notice(NO_PROPENSITY_MODEL_SENTENCE)
    else:
        body += (
            '<p class="note">ROC-AUC: the chance that a random positive user '
            "is ranked above a random negative one (0.5 = a coin toss, 1 = "
            "perfect). PR-AUC: average precision, to compare with the "
            "positive share. Brier and log loss (classifiers only): how close "
            "the probabilities are to what happened, lower is better. The "
            "windows whose model scores the users come first, with their "
            "charts.</p>"
        )
        featured = [window for window in ready if is_featured_window(window)]
        body += "".join(
            _propensity_table(window) + _propensity_window_charts(window)
            for window in featured
        )
        body += "".join(
            _propensity_table(window)
            for window in ready
            if not is_featured_window(window)
        )
    return _section(
        "propensity",
        "Purchase and churn propensity",
        lead,
        body + json_script("propensity", data),
    )


# ---------------------------------------------------------------------------
# Behaviour and affinity

NO_AFFINITY_MARTS_SENTENCE = (
    "No category affinity: this warehouse was built before the affinity marts "
    "existed; make run builds them."
)
NO_PURCHASES_SENTENCE = "No purchases yet, so there is no category affinity to show."
ONE_CATEGORY_SENTENCE = (
    "One product category only: the orders carry no product_category column "
    "(or a single value), so every purchase falls in the same category and "
    "there is no affinity between categories to show. Add product_category "
    "to orders (see the README, Your own data) to get it."
)
NO_NEXT_BEST_MARTS_SENTENCE = (
    "No next-best category: this warehouse was built before the "
    "recommendation marts existed; make run builds them."
)
NO_NEXT_BEST_SENTENCE = (
    "No next-best category evaluation: it needs at least two product "
    "categories and repeat buyers (see the dbt docs, next_best_category_method)."
)
NO_LOOKALIKE_MARTS_SENTENCE = (
    "No lookalikes: this warehouse was built before the lookalike marts "
    "existed; make run builds them."
)
NO_FUNNEL_MARTS_SENTENCE = (
    "No funnels: this warehouse was built before the funnel marts existed; "
    "make run builds them."
)
NO_FUNNEL_BEHAVIOUR_SENTENCE = (
    "No behaviour data: the data has no events, so there are no sessions, "
    "funnels, session paths or click-through rates per segment (the "
    "behaviour marts segment_funnels, session_paths and segment_behaviour "
    "are empty). Add an events file (see the README, Your own data) to get "
    "them."
)
# Methods of marts.next_best_category_evaluation, for people.
NEXT_BEST_METHOD_NAMES = {
    "item_item": "item-item collaborative filtering",
    "popularity": "popularity baseline",
}


def next_best_method_name(method: str) -> str:
    return NEXT_BEST_METHOD_NAMES.get(method, display_label(method))


def _segment_series(items: Sequence[dict[str, Any]], measure: str) -> list[Series]:
    """One line per primary segment of ``items`` (each with ``segment`` and
    a list under ``measure``), in the palette's order."""
    return [
        Series(
            display_label(item["segment"]),
            item[measure],
            PALETTE[index % len(PALETTE)],
        )
        for index, item in enumerate(items)
    ]


def _rules_table(rules: Sequence[dict[str, Any]]) -> str:
    return _table(
        (
            ("Bought", False),
            ("Also bought", False),
            ("Purchasers with both", True),
            ("Support", True),
            ("Confidence", True),
            ("Lift", True),
        ),
        [
            (
                display_label(rule["antecedent"]),
                display_label(rule["consequent"]),
                format_count(rule["users_with_both"]),
                format_share(rule["support"]),
                format_share(rule["confidence"]),
                format_number(rule["lift"], 2),
            )
            for rule in rules
        ],
    )


def affinity_section(data: dict[str, Any]) -> str:
    """Category affinity: a heatmap of each primary segment's lift per
    category (marts.segment_category_affinity) and the strongest
    association rules between categories (marts.category_association_rules)."""
    lead = (
        "Which product categories each segment over-buys, and which categories "
        "are bought by the same people: the starting point for cross-sell and "
        "for the next-best category below (the dbt docs, affinity_reading, "
        "explain the measures)."
    )

    def section(body: str) -> str:
        return _section(
            "affinity", "Category affinity", lead, body + json_script("affinity", data)
        )

    if not data["has_affinity"]:
        return section(_notice(NO_AFFINITY_MARTS_SENTENCE))
    if not data["categories"]:
        return section(_notice(NO_PURCHASES_SENTENCE))
    if len(data["categories"]) < 2:
        return section(_notice(ONE_CATEGORY_SENTENCE))
    segments = [display_label(item["segment"]) for item in data["segments"]]
    categories = [display_label(item["category"]) for item in data["categories"]]
    lift = [[row[column] for row in data["lift"]] for column in range(len(categories))]
    chart = heatmap_svg(
        "affinity-lift",
        categories,
        segments,
        lift,
        title="Lift of each category in each primary segment",
        x_label="Primary segment",
        y_label="Category",
        legend_label="Lift (segment's spend share / population's)",
        cell_format=lambda value: format_number(value, 2),
        cell_width=max(96.0, max(len(name) for name in segments) * 7.5),
        cell_height=30,
    )
    body = _figure(
        chart,
        "Lift = the category's share of the segment's purchase revenue divided "
        "by its share of all purchase revenue: 1 = the segment buys it like "
        "everyone else, 2 = twice as much, n/a = no purchase of it in the "
        "segment. Categories run from the largest share of revenue down; "
        "orders without a category are their own category.",
    )
    if data["rules"]:
        body += (
            "<h3>Categories bought together</h3>"
            '<p class="note">'
            + escape(
                f"The {len(data['rules'])} strongest of "
                f"{format_count(data['rule_count'])} association rules between "
                "categories bought by the same purchaser (at any time). "
                "Support: share of purchasers who bought both; confidence: "
                "share of the first category's buyers who also bought the "
                "second; lift: confidence over the second category's own "
                "share of purchasers (above 1: bought together more than by "
                "chance)."
            )
            + "</p>"
            + f'<div class="table-wrap">{_rules_table(data["rules"])}</div>'
        )
    else:
        body += _notice(
            "No association rule: no pair of categories is bought by at least "
            "var affinity_min_support of the purchasers."
        )
    return section(body)


def next_best_section(data: dict[str, Any]) -> str:
    """Next-best category: hit rate at k of the recommending method beside
    the popularity baseline (marts.next_best_category_evaluation), and the
    categories recommended first (marts.user_next_best_categories)."""
    lead = (
        "Each purchaser's next categories to offer, among those not bought yet, "
        "from what buyers of the same categories bought (item-item "
        "collaborative filtering). Checked offline: each repeat buyer's last "
        "purchase is hidden and the recommendations made without it are "
        "compared with the category it really was (the dbt docs, "
        "next_best_category_method)."
    )

    def section(body: str) -> str:
        return _section(
            "next-best",
            "Next-best category",
            lead,
            body + json_script("next-best", data),
        )

    if not data["has_next_best"]:
        return section(_notice(NO_NEXT_BEST_MARTS_SENTENCE))
    if not data["evaluation"]:
        return section(_notice(NO_NEXT_BEST_SENTENCE))
    by_k = next_best_hit_rates(data)
    ks = data["ks"]
    chart = line_chart_svg(
        "next-best-hit-rate",
        [f"top {k}" for k in ks],
        [
            Series(
                next_best_method_name(method),
                [(by_k[k].get(method) or {}).get("hit_rate") for k in ks],
                PALETTE[index % len(PALETTE)],
                dashed=method == NEXT_BEST_BASELINE,
            )
            for index, method in enumerate(data["methods"])
        ],
        title="Hit rate: the hidden category among the top k recommended",
        x_label="Categories recommended per user (k)",
        y_label="Hit rate",
        value_format=format_share,
        width=760,
    )
    table = _table(
        (
            ("Method", False),
            ("k", True),
            ("Users evaluated", True),
            ("Hits", True),
            ("Hit rate", True),
            ("Coverage", True),
        ),
        [
            (
                next_best_method_name(row["method"]),
                str(row["k"]),
                format_count(row["users_evaluated"]),
                format_count(row["hits"]),
                format_share(row["hit_rate"]),
                format_share(row["coverage"]),
            )
            for row in data["evaluation"]
        ],
    )
    first = data["evaluation"][0]
    facts = (
        f"{format_count(first['repeat_buyers'])} repeat buyers; "
        f"{format_count(first['repeat_buyers_last_category_known'])} of them are "
        "left out because their last purchase was a category they had already "
        f"bought, so {format_count(first['users_evaluated'])} are evaluated on "
        f"a new category, among {format_count(first['categories'])} categories. "
        "Hit rate: share of them whose hidden category is among the top k; "
        "coverage: share of the categories recommended to at least one of them."
    )
    body = (
        f'<p class="note">{escape(facts)}</p>'
        + _figure(
            chart,
            "The dashed line recommends the categories most purchasers bought "
            "(those the user has not bought yet); collaborative filtering earns "
            "its place where its line is above.",
        )
        + f'<div class="table-wrap">{table}</div>'
    )
    if data["top_categories"]:
        bars = [
            Bar(
                display_label(row["product_category"]),
                row["users"],
                format_count(row["users"]),
            )
            for row in data["top_categories"]
        ]
        body += _figure(
            bar_chart_svg(
                "next-best-categories",
                bars,
                title="Categories recommended first",
                x_label="Purchasers",
                y_label="Next-best category",
                legend_label="Purchasers whose first recommendation it is",
                colour=PALETTE[2],
            ),
            f"{format_count(data['recommended_users'])} purchasers have at least "
            "one recommendation (marts.user_next_best_categories; the first is "
            "next_best_category in user_profiles and user_segments).",
        )
    return section(body)


def lookalike_fallback_sentences(data: dict[str, Any]) -> list[str]:
    """Why there are no lookalike scores and/or no evaluation: the reason
    and the note of marts.lookalike_evaluation, each once (a note the
    scoring and the evaluation share is given once)."""
    found = []
    for status, reason, note, what in (
        (
            data["scoring_status"],
            data["scoring_fallback_reason"],
            data["scoring_note"],
            "Scores",
        ),
        (data["status"], data["fallback_reason"], data["note"], "Evaluation"),
    ):
        if status is None or status == "ready":
            continue
        sentence = f"{what} ({display_label(reason or status)}): {note}"
        if not any(note and note in earlier for earlier in found):
            found.append(sentence)
    return found


def lookalike_section(data: dict[str, Any]) -> str:
    """Lookalikes: the seed, the users scored and the audience, the join
    rate and lift by decile of the evaluation (marts.lookalike_evaluation,
    marts.lookalike_scores), or the fallback notes."""
    lead = (
        "Users who look like a seed audience (var lookalike_seed) but are not "
        "in it yet, scored by a classifier trained to tell the seed from the "
        "rest on the profile features; the audience is the most similar share "
        "(var lookalike_audience_share) of the users who accept marketing. "
        "Checked on the history: users scored at an earlier snapshot, and "
        "whether they had joined the seed by the as-of date (the dbt docs, "
        "lookalike_method and lookalike_reading)."
    )

    def section(body: str) -> str:
        return _section(
            "lookalike", "Lookalikes", lead, body + json_script("lookalike", data)
        )

    if not data["has_lookalike"]:
        return section(_notice(NO_LOOKALIKE_MARTS_SENTENCE))
    seed = f"{data['seed_column']} = {data['seed_value']}"
    body = ""
    if data["scoring_status"] == "ready":
        body += (
            '<p class="note">'
            + escape(
                f"Seed: {seed}, {format_count(data['seed_users'])} users as of "
                f"{data['evaluated_at']}. {format_count(data['scored_users'])} "
                f"users outside it are scored, "
                f"{format_count(data['opted_in_users'])} of whom accept "
                f"marketing; the audience holds "
                f"{format_count(data['audience_users'])} of them "
                "(marts.lookalike_scores, in_audience)."
            )
            + "</p>"
        )
    body += "".join(
        _notice(sentence) for sentence in lookalike_fallback_sentences(data)
    )
    if not data["deciles"]:
        return section(body)
    bars = [
        Bar(
            f"decile {row['lookalike_decile']}",
            row["join_rate"] or 0.0,
            f"{format_share(row['join_rate'])} of "
            f"{format_count(row['users'])} (lift {format_number(row['lift'], 2)})",
        )
        for row in data["deciles"]
    ]
    chart = bar_chart_svg(
        "lookalike-join-rate",
        bars,
        title=f"Joined the seed ({seed}) by {data['evaluated_at']}",
        x_label="Users outside the seed who had joined it by the as-of date",
        y_label="Lookalike decile (1 = the most similar 10%)",
        legend_label="Join rate (users in the decile; lift over all)",
        tick_format=percent_tick,
        colour=PALETTE[0],
    )
    body += _figure(
        chart,
        f"Scored at the snapshot of {data['snapshot_date']} by a model fitted "
        f"on that day's features: in the top decile "
        f"{format_share(data['top_decile_join_rate'])} had joined the seed by "
        f"{data['evaluated_at']}, in the bottom half "
        f"{format_share(data['bottom_half_join_rate'])}.",
    )
    return section(body)


def _funnel_table(data: dict[str, Any]) -> str:
    """Sessions reaching each step per segment, with the step conversion."""
    headers = [("Segment", False)] + [
        (display_label(step), True) for step in data["steps"]
    ]
    rows = [
        [display_label(item["segment"])]
        + [
            format_count(sessions)
            + ("" if conversion is None else f" ({format_share(conversion)})")
            for sessions, conversion in zip(
                item["sessions"], item["step_conversion"], strict=True
            )
        ]
        for item in data["segments"]
    ]
    return f'<div class="table-wrap">{_table(headers, rows)}</div>'


def _paths_table(paths: Sequence[dict[str, Any]]) -> str:
    return _table(
        (
            ("#", True),
            ("Session path", False),
            ("Sessions", True),
            ("Share of sessions", True),
            ("Purchase rate", True),
        ),
        [
            (
                str(row["path_rank"]),
                row["path"],
                format_count(row["sessions"]),
                format_share(row["session_share"]),
                format_share(row["purchase_rate"]),
            )
            for row in paths
        ],
    )


def _behaviour_table(rows: Sequence[dict[str, Any]]) -> str:
    return _table(
        (
            ("Segment", False),
            ("Users", True),
            ("With events", True),
            ("Sessions", True),
            ("CTR", True),
            ("Sessions with a purchase", True),
            ("Events without session", True),
        ),
        [
            (
                display_label(row["primary_segment"]),
                format_count(row["users"]),
                format_count(row["users_with_events"]),
                format_count(row["sessions"]),
                format_share(row["ctr"]),
                f"{format_count(row['purchase_sessions'])} "
                f"({format_share(row['session_purchase_rate'])})",
                format_count(row["events_without_session"]),
            )
            for row in rows
        ],
    )


def funnels_section(data: dict[str, Any]) -> str:
    """Funnels and paths: the funnel per primary segment (sessions per step
    and conversion) in the latest complete month and the last step's
    conversion month by month (marts.segment_funnels), the top session
    paths (marts.session_paths) and CTR per segment
    (marts.segment_behaviour); without events, the sentence saying so."""
    lead = (
        "How sessions move through the funnel (var funnel_steps, in order), "
        "per primary segment: a session reaches a step when the steps before "
        "it happened in order in that session. Events without a session id "
        "are counted apart (the dbt docs, funnel_reading)."
    )

    def section(body: str) -> str:
        return _section(
            "funnels", "Funnels and paths", lead, body + json_script("funnels", data)
        )

    if not data["has_funnels"]:
        return section(_notice(NO_FUNNEL_MARTS_SENTENCE))
    if not data["has_behaviour_data"] or not data["steps"]:
        return section(_notice(NO_FUNNEL_BEHAVIOUR_SENTENCE))
    steps = [display_label(step) for step in data["steps"]]
    month = (data["month"] or "")[:7]
    when = month if data["is_complete_month"] else f"{month} (partial)"
    funnel = line_chart_svg(
        "funnel-conversion",
        steps,
        _segment_series(data["segments"], "conversion_from_first"),
        title=f"Sessions reaching each step, share of the first step ({when})",
        x_label="Funnel step",
        y_label=f"Share of {steps[0]} sessions",
        value_format=format_share,
        width=860,
    )
    body = _figure(
        funnel,
        f"Per primary segment, the sessions of {when} reaching each step as a "
        "share of those reaching the first; the table gives the sessions and, "
        "in brackets, the conversion from the step before.",
    ) + _funnel_table(data)
    if len(data["months"]) > 1:
        body += _figure(
            line_chart_svg(
                "funnel-monthly",
                [item[:7] for item in data["months"]],
                _segment_series(data["monthly_conversion"], "conversion_from_first"),
                title=f"Sessions reaching {steps[-1]}, share of {steps[0]} "
                "sessions, per month",
                x_label="Month",
                y_label="Conversion from the first step",
                value_format=format_share,
            ),
            "The last month is partial when the as-of date falls inside it.",
        )
    if data["paths"]:
        body += (
            "<h3>Top session paths</h3>"
            '<p class="note">'
            + escape(
                "Event types of a session in time order, repeats collapsed "
                "(var session_path_max_steps steps at most, then ...), the "
                "most frequent first (marts.session_paths)."
            )
            + "</p>"
            + f'<div class="table-wrap">{_paths_table(data["paths"])}</div>'
        )
    behaviour = data["behaviour"]
    if behaviour:
        bars = [
            Bar(
                display_label(row["primary_segment"]),
                row["ctr"] or 0.0,
                format_share(row["ctr"]),
            )
            for row in behaviour
        ]
        body += "<h3>Click-through rate per segment</h3>" + _figure(
            bar_chart_svg(
                "segment-ctr",
                bars,
                title="Click-through rate per primary segment",
                x_label="Clicks / impressions",
                y_label="Primary segment",
                legend_label="CTR",
                tick_format=percent_tick,
                colour=PALETTE[2],
            )
        )
        body += f'<div class="table-wrap">{_behaviour_table(behaviour)}</div>'
    return section(body)


# ---------------------------------------------------------------------------
# Page

STYLE = f"""
:root {{ color-scheme: light; }}
* {{ box-sizing: border-box; }}
body {{
  margin: 0; background: #F5F7FA; color: {INK};
  font-family: {FONT_FAMILY}; font-size: 15px; line-height: 1.5;
}}
main {{ max-width: 1120px; margin: 0 auto; padding: 32px 24px 64px; }}
h1 {{ font-size: 30px; margin: 0 0 4px; }}
h2 {{ font-size: 21px; margin: 0 0 4px; }}
nav {{ margin: 16px 0 0; font-size: 14px; }}
nav a {{ color: #2F6DA3; margin-right: 14px; text-decoration: none; }}
nav a:hover {{ text-decoration: underline; }}
.lead, .note, figcaption {{ color: {MUTED}; }}
figcaption {{ font-size: 13px; margin-top: 6px; max-width: 900px; }}
section {{
  background: #FFFFFF; border: 1px solid #D9E2EC; border-radius: 8px;
  padding: 20px 24px; margin: 24px 0;
}}
figure {{ margin: 16px 0; }}
svg.chart {{ display: block; max-width: 100%; height: auto; }}
svg.chart text {{ font-family: {FONT_FAMILY}; }}
.row {{ display: flex; flex-wrap: wrap; gap: 16px 32px; align-items: flex-start; }}
.row figure {{ margin: 8px 0; }}
.kpis {{ display: flex; flex-wrap: wrap; gap: 16px; margin-top: 16px; }}
.kpi {{
  background: #FFFFFF; border: 1px solid #D9E2EC; border-radius: 8px;
  padding: 12px 18px; min-width: 200px;
}}
.kpi-label {{ color: {MUTED}; font-size: 13px; }}
.kpi-value {{ font-size: 26px; font-weight: 600; }}
.kpi-note {{ color: {MUTED}; font-size: 12px; }}
.notice {{
  background: #FFF8E1; border-left: 4px solid #F0B429; padding: 10px 14px;
  color: {INK};
}}
.table-wrap {{ overflow-x: auto; }}
table {{ border-collapse: collapse; width: 100%; font-size: 14px; margin: 8px 0; }}
th, td {{
  text-align: left; padding: 7px 10px; border-bottom: 1px solid #E4E7EB;
  vertical-align: top;
}}
th {{ background: #F5F7FA; font-weight: 600; }}
h3 {{ font-size: 16px; margin: 20px 0 4px; }}
table.heat {{ width: auto; }}
table.heat td {{ border: 2px solid #FFFFFF; min-width: 64px; }}
table.heat td.stay {{ box-shadow: inset 0 0 0 3px {PALETTE[1]}; }}
table.heat td.empty {{ background: #F5F7FA; }}
table.heat td small {{ display: block; font-size: 11px; opacity: 0.85; }}
table.heat .total {{ font-weight: 600; background: #F5F7FA; }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
"""

NAVIGATION = (
    ("segment-sizes", "Segments"),
    ("rfm-heatmap", "RFM"),
    ("value-activity", "Value x activity"),
    ("cluster-profiles", "Clusters"),
    ("segment-history", "Over time"),
    ("migration", "Migration"),
    ("clv", "CLV"),
    ("propensity", "Propensity"),
    ("affinity", "Affinity"),
    ("next-best", "Next-best"),
    ("lookalike", "Lookalikes"),
    ("trends", "Trends"),
    ("activity", "Behaviour"),
    ("funnels", "Funnels"),
    ("playbook", "Playbook"),
    ("segment-conversion", "Conversion"),
    ("campaigns", "Campaigns"),
)


def render_report(connection: duckdb.DuckDBPyConnection) -> str:
    """The whole report as one self-contained HTML document."""
    header = load_header(connection)
    sections = [
        segment_sizes_section(load_segment_sizes(connection)),
        rfm_section(load_rfm_grid(connection)),
        value_activity_section(load_value_activity(connection)),
        cluster_section(load_cluster_profiles(connection)),
        segment_history_section(load_segment_history(connection)),
        migration_section(load_migrations(connection)),
        clv_section(load_clv(connection)),
        propensity_section(load_propensity(connection)),
        affinity_section(load_affinity(connection)),
        next_best_section(load_next_best(connection)),
        lookalike_section(load_lookalike(connection)),
        lifecycle_section(
            load_lifecycle_trend(connection), load_arpu_trend(connection)
        ),
        activity_section(load_activity(connection)),
        funnels_section(load_funnels(connection)),
        playbook_section(load_playbook(connection)),
        segment_conversion_section(load_segment_conversion(connection)),
        campaigns_section(load_campaigns(connection)),
    ]
    navigation = "".join(
        f'<a href="#{escape(anchor)}">{escape(label)}</a>'
        for anchor, label in NAVIGATION
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Segment report, as of {escape(header['as_of_date'] or 'unknown')}"
        f"</title><style>{STYLE}</style></head><body><main>"
        + header_section(header)
        + f'<nav aria-label="Sections">{navigation}</nav>'
        + "".join(sections)
        + "</main></body></html>\n"
    )
