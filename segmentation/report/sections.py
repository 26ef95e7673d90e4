"""Section renderers (data dict -> HTML, purely) and the page around them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from segmentation.report.charts import (
    FONT_FAMILY,
    INK,
    MUTED,
    PALETTE,
    Bar,
    Series,
    bar_chart_svg,
    format_tick,
    heatmap_svg,
    line_chart_svg,
    percent_tick,
    scatter_svg,
)
from segmentation.report.formatting import (
    display_label,
    escape,
    format_count,
    format_money,
    format_number,
    format_share,
    json_script,
)
from segmentation.report.loaders import (
    load_activity,
    load_arpu_trend,
    load_cluster_profiles,
    load_header,
    load_lifecycle_trend,
    load_playbook,
    load_rfm_grid,
    load_segment_sizes,
    load_value_activity,
)

NO_BEHAVIOUR_SENTENCE = (
    "No behaviour data: the data has no events, so activity tiers rest on "
    "purchases alone and CTR, browsing and sessions are empty."
)
NO_CLUSTERS_SENTENCE = (
    "No clusters: the warehouse has no purchasers to cluster, so there are no "
    "cluster profiles to show."
)
NO_SCATTER_SENTENCE = (
    "No purchasers with cluster assignments and features, so there is no "
    "scatter plot to draw."
)


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
.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
"""

NAVIGATION = (
    ("segment-sizes", "Segments"),
    ("rfm-heatmap", "RFM"),
    ("value-activity", "Value x activity"),
    ("cluster-profiles", "Clusters"),
    ("trends", "Trends"),
    ("activity", "Behaviour"),
    ("playbook", "Playbook"),
)


def render_report(connection: duckdb.DuckDBPyConnection) -> str:
    """The whole report as one self-contained HTML document."""
    header = load_header(connection)
    sections = [
        segment_sizes_section(load_segment_sizes(connection)),
        rfm_section(load_rfm_grid(connection)),
        value_activity_section(load_value_activity(connection)),
        cluster_section(load_cluster_profiles(connection)),
        lifecycle_section(
            load_lifecycle_trend(connection), load_arpu_trend(connection)
        ),
        activity_section(load_activity(connection)),
        playbook_section(load_playbook(connection)),
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
