"""The floor: the core job of the warehouse done by DuckDB alone, as the
benchmark's reference (issue 18).

``python -m tools.floor DATA_DIR --as-of-date YYYY-MM-DD --horizon-date
YYYY-MM-DD --out FILE.parquet --timings FILE.json [--threads 2]
[--memory-limit 4GB]``

Plain DuckDB SQL over the raw data folder (``users``, ``orders`` and
``events``, each ``<name>.parquet``, ``<name>/*.parquet``, ``<name>.csv``
or ``<name>/*.csv``; the benchmark's data is Parquet, where the agreement
is checked; CSV is read with DuckDB's type detection), with no dbt, no
rejects table and no tests: read the raw files, drop the invalid rows,
deduplicate orders and events by id, drop
unknown users and rows after the data horizon, and compute per user of the
population as of the as-of date the columns of ``user_profiles`` listed in
``OUTPUT_COLUMNS`` (RFM values and scores, purchases, revenue and AOV,
30/90-day sessions, browsing minutes and CTR). The per-user table goes to
``--out``; the wall time of each phase (users, orders, events, per-user
outputs) to ``--timings``.

The rules are the project's, read from the same places: validity as in
``models/staging/app/base/base_app__*.sql`` and their macros (ids trimmed,
blank is missing, ``1.0`` is ``1``; labels normalised; the order status
aliases; amounts read as ``decimal(18, 2)``; durations from 0 to 86,400 s),
the accepted values and windows from the project's vars
(:func:`segmentation.project.project_vars`: ``event_types``,
``order_statuses``, ``order_status_aliases``, ``max_order_amount``,
``purchase_statuses``, ``refund_statuses``, ``activity_window_*_days``,
``user_id_case_sensitive``), the definitions of the intermediate models
(``orders``, ``rfm``, ``events``, ``activity``, ``calendar``, the
population of ``int_users_filtered_to_as_of``). The two dates are the
build's calendar (``int_as_of_date``, ``base_app__data_horizon``), given,
not derived again: the benchmark reads them from the build it compares
with (:func:`build_dates`).

Duplicates: among the valid rows sharing an order (event) id, the first by
the project's order is kept (orders: user, time, amount, status, category;
events: file name, user, time, session, type, duration). Rows equal on all
of these give the same per-user outputs whichever is kept; the generator's
duplicates differ (an amount, a time), so the order matters.

What is compared with ``user_profiles`` (:func:`compare_with_profiles`):
every output column for every user, numbers exactly and doubles within
``RELATIVE_TOLERANCE`` (browsing minutes are summed per event here, per
session day then per user in the project: another order of the same
additions).

Least work, measured at size M (100,400 users, 1.02M orders, 10.2M events,
2 threads, 4 GB; in-process DuckDB, CPU time of ``time.process_time`` and
wall time, on a machine shared with other work so best of 2):
``FORMULATIONS`` says what was tried and what it cost; the module runs the
fastest exact one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from segmentation.project import project_vars

# The user_profiles columns the floor computes, in its output's order.
OUTPUT_COLUMNS = (
    "recency_days",
    "frequency",
    "monetary",
    "recency_score",
    "frequency_score",
    "monetary_score",
    "order_count",
    "net_revenue",
    "average_order_value",
    "sessions_30d",
    "sessions_90d",
    "browse_minutes_30d",
    "browse_minutes_90d",
    "ctr_30d",
    "ctr_90d",
)
RELATIVE_TOLERANCE = 1e-9
PHASES = ("users", "orders", "events", "per_user")

# What was tried, at size M (100,400 users, 1.02M orders, 10.2M events;
# 2 threads, 4 GB), in-process, CPU seconds (``time.process_time``, best of
# 2; the machine was shared, so wall times meant little). Reading the six
# event columns alone: 1.5 s; reading, cleaning and checking them (ids,
# labels, durations, horizon, known users) without deduplicating: 5.3 s.
FORMULATIONS = """\
Deduplicating the 10.2M valid events by event id (into a table):
- qualify row_number() over (partition by id order by ...) = 1 over every
  valid row: 10.5 s;
- rank only the ids on more than one valid row: the valid rows once
  (materialized), the repeated ids grouped from them, the rest kept by an
  anti join, the repeated rows ranked after a semi join: 8.8 s (kept); the
  same with NOT IN instead of the joins: 9.4 s; with the repeated ids found
  by a 64-bit hash of the id (still exact: ranked by the id): 9.0 s;
- the project's way (the raw ids grouped in a scan of their own, the valid
  rows flagged by a join, the later duplicates deleted): 9.9 s;
- arg_min(row, order) grouped by the id: 22.9 s; grouped by hash(id):
  23.5 s (and a hash collision would merge two events).
With a tenth of the memory (400 MB, as L's ten times the rows in 4 GB; the
events phase with its per-session sums): qualify over every valid row
21.8 s CPU, the kept formulation 13.8 s, both with 0.5 GB peak RSS.
The 30/90-day windows per user from the deduplicated events:
- count(distinct session_id) filter (where ...) per user: 3.3 s;
- the 90 days filtered first, a 30-day flag, then per user: 3.3 s;
- per user and session first (last event before the as-of date, window
  sums), then per user (count of sessions whose last event is in the
  window): 2.6 s (kept; the deduplicated events are then never stored).
The whole floor: 12.1 s CPU (users 0.04, orders 1.4, events 10.0, per-user
outputs 0.6), against 16.7 s for the first version (qualify everywhere,
windows per user over a stored events table)."""


# ---------------------------------------------------------------------------
# Reading the raw files, with the staging's cleaning
# ---------------------------------------------------------------------------


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def raw_reader(data_dir: Path, table: str) -> str | None:
    """The DuckDB table function reading one raw table of the folder (with
    the file name of each row), or None when the folder has no such file."""
    for pattern, function in (
        (f"{table}.parquet", "read_parquet"),
        (f"{table}/*.parquet", "read_parquet"),
        (f"{table}.csv", "read_csv"),
        (f"{table}/*.csv", "read_csv"),
    ):
        if list(data_dir.glob(pattern)):
            path = _sql_string(str(data_dir / pattern))
            return f"{function}({path}, filename = true)"
    return None


def _types(connection: duckdb.DuckDBPyConnection, reader: str) -> dict[str, str]:
    return {
        name: kind
        for name, kind, *_ in connection.execute(
            f"describe select * from {reader}"
        ).fetchall()
    }


def _text(column: str) -> str:
    """Macro clean_text."""
    return f"nullif(trim(cast({column} as varchar)), '')"


def _id(column: str, kind: str, user: bool = False, lower: bool = False) -> str:
    """Macro clean_id (and its DuckDB typed-number branch)."""
    if kind in ("DOUBLE", "FLOAT"):
        number = f"try_cast({column} as double)"
        expression = (
            f"case when not isfinite({number}) then null"
            f" when {number} = trunc({number}) then coalesce("
            f"cast(try_cast({number} as hugeint) as varchar),"
            f" cast({number} as varchar))"
            f" else cast({number} as varchar) end"
        )
    else:
        text = _text(column)
        expression = (
            f"case when {text} like '%.%'"
            f" then regexp_replace({text}, '^(-?[0-9]+)[.]0+$', '\\1')"
            f" else {text} end"
        )
    return f"lower({expression})" if user and lower else expression


def _timestamp(column: str, kind: str) -> str:
    """Macro parse_timestamp."""
    if kind == "TIMESTAMP":
        return column
    return f"try_cast(try_cast({_text(column)} as timestamptz) as timestamp)"


def _label(column: str) -> str:
    """Macro normalize_label."""
    return (
        f"nullif(replace(replace(lower(trim(cast({column} as varchar))),"
        " ' ', '_'), '-', '_'), '')"
    )


def _in_list(values: list[str]) -> str:
    return "(" + ", ".join(_sql_string(str(value)) for value in values) + ")"


def _status(column: str, aliases: dict[str, str]) -> str:
    """Macro order_status, a missing status read as completed."""
    label = _label(column)
    if aliases:
        cases = " ".join(
            f"when {_label(_sql_string(alias))} then {_sql_string(status)}"
            for alias, status in sorted(aliases.items())
        )
        label = f"case {label} {cases} else {label} end"
    return f"coalesce({label}, 'completed')"


# ---------------------------------------------------------------------------
# The floor
# ---------------------------------------------------------------------------


def floor_statements(
    connection: duckdb.DuckDBPyConnection,
    data_dir: Path,
    as_of: dt.date,
    horizon: dt.date,
    variables: dict[str, Any],
) -> dict[str, str]:
    """The SQL of each phase (``PHASES``), creating temp tables users,
    orders, sessions (the deduplicated events summed per user and session)
    and floor (the per-user outputs)."""
    readers = {
        name: raw_reader(data_dir, name) for name in ("users", "orders", "events")
    }
    for name in ("orders", "events"):
        if readers[name] is None:
            raise SystemExit(f"{data_dir} has no {name} file")
    lower = not variables["user_id_case_sensitive"]
    as_of_sql = f"date '{as_of.isoformat()}'"
    horizon_sql = f"date '{horizon.isoformat()}'"
    short = int(variables["activity_window_short_days"])
    long = int(variables["activity_window_long_days"])
    max_amount = variables.get("max_order_amount")
    statements: dict[str, str] = {}

    if readers["users"] is not None:
        kinds = _types(connection, readers["users"])
        signed_up = _timestamp("signed_up_at", kinds.get("signed_up_at", "VARCHAR"))
        # The user kept among duplicates has the earliest sign-up (cleared
        # when after the horizon); the population needs only that.
        statements["users"] = f"""
create or replace temp table users as
select
    user_id,
    min(case when cast(signed_up_at as date) <= {horizon_sql}
        then signed_up_at end) as signed_up_at
from (
    select
        {_id("user_id", kinds["user_id"], user=True, lower=lower)} as user_id,
        {signed_up} as signed_up_at
    from {readers["users"]}
)
where user_id is not null
group by 1"""
    else:
        statements["users"] = (
            "create or replace temp table users as"
            " select cast(null as varchar) as user_id,"
            " cast(null as timestamp) as signed_up_at where false"
        )
    known = "(select count(*) = 0 from users) or user_id in (select user_id from users)"

    kinds = _types(connection, readers["orders"])
    amount = f"try_cast({_text('amount')} as decimal(18, 2))"
    statements["orders"] = f"""
create or replace temp table orders as
with parsed as (
    select
        {_id("order_id", kinds["order_id"])} as order_id,
        {_id("user_id", kinds["user_id"], user=True, lower=lower)} as user_id,
        {_timestamp("ordered_at", kinds["ordered_at"])} as ordered_at,
        {amount} as amount,
        {_status("status", variables.get("order_status_aliases") or {})}
            as status,
        {_label("product_category")} as product_category
    from {readers["orders"]}
),
valid as (
    select * from parsed
    where
        order_id is not null and user_id is not null
        and ordered_at is not null and amount >= 0
        {"" if max_amount is None else f"and amount <= {max_amount}"}
        and status in {_in_list(variables["order_statuses"])}
        and cast(ordered_at as date) <= {horizon_sql}
        and ({known})
)
{
        _deduplicated(
            "order_id",
            "user_id, ordered_at, amount, status, product_category",
            "user_id, ordered_at, amount, status in "
            + _in_list(variables["purchase_statuses"])
            + " as is_purchase",
        )
    }"""

    kinds = _types(connection, readers["events"])
    duration = kinds.get("duration_seconds", "VARCHAR")
    if duration in ("DOUBLE", "FLOAT"):
        # A typed duration: NaN is missing (its text is 'nan').
        duration_value = (
            "case when not isnan(duration_seconds) then duration_seconds end"
        )
        duration_valid = (
            "(duration_seconds is null or isnan(duration_seconds)"
            " or duration_seconds between 0 and 86400)"
        )
    else:
        text = f"nullif(lower({_text('duration_seconds')}), 'nan')"
        duration_value = f"try_cast({text} as double)"
        duration_valid = (
            f"({text} is null or try_cast({text} as double) between 0 and 86400)"
        )
    statements["events"] = f"""
with parsed as (
    select
        {_id("event_id", kinds["event_id"])} as event_id,
        {_id("user_id", kinds["user_id"], user=True, lower=lower)} as user_id,
        {_id("session_id", kinds.get("session_id", "VARCHAR"))} as session_id,
        {_timestamp("occurred_at", kinds["occurred_at"])} as occurred_at,
        {_label("event_type")} as event_type,
        {duration_value} as duration_seconds,
        {duration_valid} as is_duration_valid,
        filename
    from {readers["events"]}
),
valid as (
    select * from parsed
    where
        event_id is not null and user_id is not null
        and occurred_at is not null
        and event_type in {_in_list(variables["event_types"])}
        and is_duration_valid
        and cast(occurred_at as date) <= {horizon_sql}
        and ({known})
)
{
        _deduplicated(
            "event_id",
            "filename, user_id, occurred_at, session_id, event_type, duration_seconds",
            "user_id, session_id, occurred_at, event_type, duration_seconds",
        )
    }"""

    purchase = f"is_purchase and ordered_at < {as_of_sql}"
    before = f"occurred_at < {as_of_sql}"
    sessions, users = "", ""
    for suffix, days in (("30d", short), ("90d", long)):
        window = f"occurred_at >= {as_of_sql} - {days} and {before}"
        sessions += f"""
        sum(duration_seconds) filter (where {window}) as browse_{suffix},
        count(*) filter (where {window} and event_type = 'impression')
            as impressions_{suffix},
        count(*) filter (where {window} and event_type = 'click')
            as clicks_{suffix},"""
        users += f"""
        count(session_id) filter (
            where last_event_at >= {as_of_sql} - {days}
        ) as sessions_{suffix},
        coalesce(sum(browse_{suffix}), 0) / 60.0 as browse_minutes_{suffix},
        sum(impressions_{suffix}) as impressions_{suffix},
        sum(clicks_{suffix}) as clicks_{suffix},"""
    # Per session first (one row per user and session, the session id
    # counted once), then per user: see FORMULATIONS.
    statements["events"] = f"""
create or replace temp table sessions as
with events as ({statements["events"]})
select
    user_id,
    session_id,
    max(occurred_at) filter (where {before}) as last_event_at,{sessions}
    count(*) filter (where {before}) as events_before
from events
group by 1, 2"""
    statements["per_user"] = f"""
create or replace temp table floor as
with
orders_per_user as (
    -- Every valid order (the population needs to know of any activity),
    -- the metrics from those before the as-of date.
    select
        user_id,
        count(*) filter (where ordered_at < {as_of_sql}) as orders_before,
        count(*) filter (where {purchase}) as order_count,
        coalesce(sum(amount) filter (where {purchase}), 0) as net_revenue,
        count(distinct cast(ordered_at as date)) filter (where {purchase})
            as purchase_day_count,
        max(ordered_at) filter (where {purchase}) as last_purchased_at
    from orders
    group by 1
),
ranked as (
    select
        user_id,
        {as_of_sql} - cast(last_purchased_at as date) as recency_days,
        purchase_day_count as frequency,
        net_revenue as monetary,
        rank() over (order by {as_of_sql} - cast(last_purchased_at as date) desc)
            as recency_rank,
        rank() over (order by purchase_day_count) as frequency_rank,
        rank() over (order by net_revenue) as monetary_rank,
        count(*) over () as purchasers
    from orders_per_user
    where order_count > 0
),
rfm as (
    select
        user_id,
        recency_days,
        frequency,
        monetary,
        cast(1 + floor(5.0 * (recency_rank - 1) / purchasers) as integer)
            as recency_score,
        cast(1 + floor(5.0 * (frequency_rank - 1) / purchasers) as integer)
            as frequency_score,
        cast(1 + floor(5.0 * (monetary_rank - 1) / purchasers) as integer)
            as monetary_score
    from ranked
),
events_per_user as (
    select
        user_id,{users}
        sum(events_before) as events_before
    from sessions
    group by 1
),
behaviour as (
    select coalesce(sum(events_before), 0) > 0 as has_behaviour_data
    from events_per_user
),
population as (
    -- int_users_filtered_to_as_of over int_users_unioned: the valid users
    -- (or, without a users file, everyone with valid activity) who signed
    -- up before the as-of date, whose sign-up is unknown, or who were
    -- active before it (a missing sign-up is the first valid activity).
    select user_id
    from (
        select
            coalesce(users.user_id, activity.user_id) as user_id,
            users.signed_up_at,
            activity.user_id is not null as is_active,
            coalesce(activity.is_active_before, false) as is_active_before
        from users
        full join (
            select user_id, bool_or(is_before) as is_active_before
            from (
                select user_id, orders_before > 0 as is_before from orders_per_user
                union all
                select user_id, events_before > 0 from events_per_user
            )
            group by 1
        ) as activity on users.user_id = activity.user_id
        where
            users.user_id is not null
            or (select count(*) = 0 from users)
    )
    where
        signed_up_at < {as_of_sql}
        or is_active_before
        or (signed_up_at is null and not is_active)
)
select
    population.user_id,
    rfm.recency_days,
    rfm.frequency,
    rfm.monetary,
    rfm.recency_score,
    rfm.frequency_score,
    rfm.monetary_score,
    coalesce(orders_per_user.order_count, 0) as order_count,
    coalesce(orders_per_user.net_revenue, 0) as net_revenue,
    case
        when orders_per_user.order_count > 0
            then orders_per_user.net_revenue / orders_per_user.order_count
    end as average_order_value,
    {_behaviour("coalesce(events_per_user.sessions_30d, 0)")} as sessions_30d,
    {_behaviour("coalesce(events_per_user.sessions_90d, 0)")} as sessions_90d,
    {_behaviour("coalesce(events_per_user.browse_minutes_30d, 0)")}
        as browse_minutes_30d,
    {_behaviour("coalesce(events_per_user.browse_minutes_90d, 0)")}
        as browse_minutes_90d,
    {_ctr("30d")} as ctr_30d,
    {_ctr("90d")} as ctr_90d
from population
cross join behaviour
left join orders_per_user on population.user_id = orders_per_user.user_id
left join rfm on population.user_id = rfm.user_id
left join events_per_user on population.user_id = events_per_user.user_id"""
    return statements


def _deduplicated(key: str, order: str, columns: str) -> str:
    """The rows of CTE ``valid`` without duplicates of ``key``: the first by
    ``order`` is kept. Only the keys on more than one valid row are ranked
    (see FORMULATIONS)."""
    return f""",
valid_rows as materialized (select * from valid),
repeated as (
    select {key} from valid_rows group by 1 having count(*) > 1
)
select {columns} from valid_rows anti join repeated using ({key})
union all
select {columns} from (
    select valid_rows.* from valid_rows semi join repeated using ({key})
    qualify row_number() over (partition by {key} order by {order}) = 1
)"""


def _behaviour(value: str) -> str:
    return f"case when behaviour.has_behaviour_data then {value} end"


def _ctr(suffix: str) -> str:
    impressions = f"events_per_user.impressions_{suffix}"
    return (
        f"case when {impressions} > 0 then least(1.0,"
        f" 1.0 * events_per_user.clicks_{suffix} / {impressions}) end"
    )


def run_floor(
    data_dir: Path,
    as_of: dt.date,
    horizon: dt.date,
    out: Path,
    threads: int = 2,
    memory_limit: str = "4GB",
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the floor; write the per-user table to ``out``; return the wall
    and CPU seconds of each phase, the total and the output's row count."""
    variables = variables if variables is not None else project_vars()
    started, cpu_started = time.perf_counter(), time.process_time()
    spill = tempfile.TemporaryDirectory(prefix="floor-")
    connection = duckdb.connect()
    connection.execute(f"set threads = {int(threads)}")
    connection.execute(f"set memory_limit = {_sql_string(memory_limit)}")
    connection.execute(f"set temp_directory = {_sql_string(spill.name)}")
    connection.execute("set preserve_insertion_order = false")
    connection.execute("set enable_progress_bar = false")
    statements = floor_statements(connection, data_dir, as_of, horizon, variables)
    phases: dict[str, dict[str, float]] = {}
    for phase in PHASES:
        wall, cpu = time.perf_counter(), time.process_time()
        connection.execute(statements[phase])
        phases[phase] = {
            "wall_seconds": round(time.perf_counter() - wall, 3),
            "cpu_seconds": round(time.process_time() - cpu, 3),
        }
    columns = ", ".join(("user_id", *OUTPUT_COLUMNS))
    connection.execute(
        f"copy (select {columns} from floor order by user_id)"
        f" to {_sql_string(str(out))} (format parquet)"
    )
    users = connection.execute("select count(*) from floor").fetchone()[0]
    connection.close()
    spill.cleanup()
    return {
        "phases": phases,
        "wall_seconds": round(time.perf_counter() - started, 3),
        "cpu_seconds": round(time.process_time() - cpu_started, 3),
        "users": users,
        "as_of_date": as_of.isoformat(),
        "horizon_date": horizon.isoformat(),
    }


def build_dates(warehouse: Path) -> tuple[dt.date, dt.date]:
    """The as-of date and the data horizon a build used."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        as_of = connection.execute(
            "select as_of_date from intermediate.int_as_of_date"
        ).fetchone()[0]
        horizon = connection.execute(
            "select horizon_date from staging.base_app__data_horizon"
        ).fetchone()[0]
    return as_of, horizon


# ---------------------------------------------------------------------------
# Agreement with user_profiles
# ---------------------------------------------------------------------------


def compare_with_profiles(
    warehouse: Path,
    floor_parquet: Path,
    examples: int = 3,
    profiles: str = "marts.user_profiles",
) -> dict[str, Any]:
    """The floor's per-user table against ``user_profiles`` of a build,
    joined on user_id (full outer): for every shared column, how many users
    differ (numbers exactly, doubles within ``RELATIVE_TOLERANCE``
    relative; null only equals null) and a few examples; the users on one
    side only. ``agrees`` when nothing differs."""
    with duckdb.connect() as connection:
        connection.execute(f"attach {_sql_string(str(warehouse))} as build (read_only)")
        connection.execute(
            "create temp view floor as select * from read_parquet("
            f"{_sql_string(str(floor_parquet))})"
        )
        built = {
            name: kind
            for name, kind, *_ in connection.execute(
                f"describe select * from build.{profiles}"
            ).fetchall()
        }
        floored = {
            name: kind
            for name, kind, *_ in connection.execute(
                "describe select * from floor"
            ).fetchall()
        }
        shared = [name for name in OUTPUT_COLUMNS if name in built and name in floored]
        missing = [name for name in OUTPUT_COLUMNS if name not in shared]
        joined = f"build.{profiles} as p full join floor as f on p.user_id = f.user_id"
        only = {}
        for side, other in (("profiles", "f"), ("floor", "p")):
            this = "p" if other == "f" else "f"
            rows = connection.execute(
                f"select {this}.user_id from {joined} where {other}.user_id is null"
                f" order by 1"
            ).fetchall()
            only[side] = {
                "count": len(rows),
                "examples": [row[0] for row in rows[:examples]],
            }
        columns: dict[str, Any] = {}
        for name in shared:
            doubles = "DOUBLE" in (built[name], floored[name]) or "FLOAT" in (
                built[name],
                floored[name],
            )
            left, right = f"p.{name}", f"f.{name}"
            if doubles:
                differs = (
                    f"(({left} is null) <> ({right} is null) or abs({left} - {right})"
                    f" > {RELATIVE_TOLERANCE} * greatest(abs({left}), abs({right})))"
                )
            else:
                differs = f"{left} is distinct from {right}"
            count, *_ = connection.execute(
                f"select count(*) from {joined}"
                f" where p.user_id = f.user_id and {differs}"
            ).fetchone()
            sample = connection.execute(
                f"select p.user_id, cast({left} as varchar), cast({right} as varchar)"
                f" from {joined} where p.user_id = f.user_id and {differs}"
                f" order by 1 limit {int(examples)}"
            ).fetchall()
            columns[name] = {
                "differing_users": count,
                "examples": [
                    {"user_id": user, "profiles": ours, "floor": theirs}
                    for user, ours, theirs in sample
                ],
            }
        users = connection.execute(
            f"select count(*) from {joined} where p.user_id = f.user_id"
        ).fetchone()[0]
    differing = {name: c for name, c in columns.items() if c["differing_users"]}
    return {
        "users_compared": users,
        "columns_compared": shared,
        "columns_missing": missing,
        "differing_columns": sorted(differing),
        "columns": columns,
        "only_in_profiles": only["profiles"],
        "only_in_floor": only["floor"],
        "agrees": not differing
        and not missing
        and not only["profiles"]["count"]
        and not only["floor"]["count"],
    }


def disagreement_text(compared: dict[str, Any]) -> str:
    """One line naming what differs (empty when the floor agrees)."""
    parts = [
        f"{name}: {compared['columns'][name]['differing_users']:,} users"
        f" (e.g. {compared['columns'][name]['examples'][:1]})"
        for name in compared["differing_columns"]
    ]
    if compared["columns_missing"]:
        parts.append("columns missing: " + ", ".join(compared["columns_missing"]))
    for side in ("profiles", "floor"):
        only = compared[f"only_in_{side}"]
        if only["count"]:
            parts.append(
                f"{only['count']:,} users only in {side}"
                f" (e.g. {', '.join(map(str, only['examples']))})"
            )
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.floor",
        description="The floor: the core per-user outputs by DuckDB alone.",
    )
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--as-of-date", type=dt.date.fromisoformat, required=True)
    parser.add_argument(
        "--horizon-date",
        type=dt.date.fromisoformat,
        help="the data horizon (default: the day before the as-of date)",
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--timings", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GB")
    args = parser.parse_args(argv)
    horizon = args.horizon_date or args.as_of_date - dt.timedelta(days=1)
    timings = run_floor(
        args.data_dir.resolve(),
        args.as_of_date,
        horizon,
        args.out,
        args.threads,
        args.memory_limit,
    )
    args.timings.write_text(json.dumps(timings, indent=1) + "\n")
    print(
        f"floor: {timings['users']:,} users in {timings['wall_seconds']:.2f} s ("
        + ", ".join(
            f"{k} {v['wall_seconds']:.2f} s" for k, v in timings["phases"].items()
        )
        + ")"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
