"""The demo-data generator: deterministic, realistic, and scalable."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import DEMO_DIR, PROJECT_DIR

from segmentation.project import project_vars
from tools import demo_data

REASONS_CSV = PROJECT_DIR / "seeds" / "lookups" / "reject_reasons.csv"


def test_committed_seeds_are_exactly_what_the_generator_writes(tmp_path: Path) -> None:
    demo_data.write_demo(tmp_path)
    for name in (
        "users.csv",
        "orders.csv",
        "events.csv",
        "campaigns.csv",
        "_manifest.json",
    ):
        assert (tmp_path / name).read_bytes() == (DEMO_DIR / name).read_bytes(), name


def _project_with(folder: Path, **changed: list[str]) -> Path:
    """A folder with the repository's dbt_project.yml, some vars changed."""
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    project["vars"].update(changed)
    folder.mkdir()
    (folder / "dbt_project.yml").write_text(yaml.safe_dump(project))
    return folder


def test_statuses_and_event_types_come_from_the_dbt_vars(tmp_path: Path) -> None:
    found = project_vars(PROJECT_DIR)
    vocabulary = demo_data.Vocabulary.from_project(PROJECT_DIR)
    assert list(vocabulary.statuses) == found["order_statuses"]
    assert list(vocabulary.event_types) == found["event_types"]
    assert vocabulary.status_weights == [
        demo_data.STATUS_WEIGHTS[status] for status in found["order_statuses"]
    ]
    # An accepted status the simulation has no share for never occurs.
    more = _project_with(
        tmp_path / "more", order_statuses=[*found["order_statuses"], "on_hold"]
    )
    assert demo_data.Vocabulary.from_project(more).status_weights[-1] == 0.0
    # A value the project does not accept is refused, not written.
    no_refunds = _project_with(
        tmp_path / "statuses",
        order_statuses=[s for s in found["order_statuses"] if s != "refunded"],
    )
    with pytest.raises(ValueError, match="order status 'refunded'"):
        demo_data.write_demo(tmp_path / "out", users=50, project_dir=no_refunds)
    no_search = _project_with(
        tmp_path / "events",
        event_types=[e for e in found["event_types"] if e != "search"],
    )
    with pytest.raises(ValueError, match="event type 'search'"):
        demo_data.write_size(
            tmp_path / "size", users=50, progress=None, project_dir=no_search
        )


def test_demo_seeds_stay_small() -> None:
    total = sum(path.stat().st_size for path in DEMO_DIR.glob("*.csv"))
    assert total < 22_000_000


MANIFEST = json.loads((DEMO_DIR / "_manifest.json").read_text())
EVENTS = f"read_csv('{DEMO_DIR / 'events.csv'}', all_varchar = true)"
ORDERS = f"read_csv('{DEMO_DIR / 'orders.csv'}', all_varchar = true)"
# The clean rows of a demo table (valid user and timestamp).
CLEAN = "user_id like 'U%' and try_cast({column} as timestamp) < date '{end}'"


def test_demo_events_cover_the_history_and_its_behaviour_window() -> None:
    # make run backfills a year of monthly snapshots (2025-10-01 to the
    # as-of date 2026-10-01), each reading 90 days of behaviour
    # (activity_window_long_days): the event log starts 455 days before
    # the end, and its volume grows smoothly with the user base, without
    # the jump of a log that starts in the middle of the history.
    history = MANIFEST["history"]
    assert history["events_start"] == "2025-07-03"
    end = history["end"]
    months = duckdb.sql(
        f"""
        select
            date_diff('day', date '{history["events_start"]}',
                try_cast(occurred_at as timestamp)) // 30 as month,
            count(*) as events,
            min(try_cast(occurred_at as timestamp))::date::varchar as first_day
        from {EVENTS}
        where {CLEAN.format(column="occurred_at", end=end)}
        group by 1 order by 1
        """
    ).fetchall()
    assert months[0][2] == history["events_start"]
    assert [month for month, *_ in months] == list(range(16))
    full = [events for month, events, _ in months if month < 15]
    for previous, current in itertools.pairwise(full):
        assert 0.85 < current / previous < 1.2, full
    activity_window = project_vars(PROJECT_DIR)["activity_window_long_days"]
    first_as_of = np.datetime64(end) - np.timedelta64(365, "D")
    assert str(first_as_of - activity_window) == history["events_start"]


def test_buyers_browse_less_after_they_drop_out() -> None:
    # Buyers whose last order was 9-12 months before the end browsed at
    # their alive rate right after it (they dropped out later) and mostly
    # at the dormant rate in the last 90 days: a session rate chosen by
    # whether the buyer is alive at the end would give both periods the
    # same rate.
    end = MANIFEST["history"]["end"]
    after_last_order, last_90_days = duckdb.sql(
        f"""
        with last_orders as (
            select user_id, max(try_cast(ordered_at as timestamp)) as last_order
            from {ORDERS}
            where {CLEAN.format(column="ordered_at", end=end)}
            group by 1
            having last_order >= date '{end}' - interval 365 day
                and last_order < date '{end}' - interval 270 day
        ),
        sessions as (
            select user_id, min(try_cast(occurred_at as timestamp)) as started
            from {EVENTS}
            where {CLEAN.format(column="occurred_at", end=end)}
            group by user_id, session_id
            having not bool_or(lower(trim(event_type)) = 'purchase')
        )
        select
            count(*) filter (
                where started >= last_order
                and started < last_order + interval 28 day
            ) / 28,
            count(*) filter (where started >= date '{end}' - interval 90 day) / 90
        from last_orders join sessions using (user_id)
        """
    ).fetchall()[0]
    assert after_last_order > 1.6 * last_90_days > 0


def test_a_buyer_browses_at_the_alive_rate_until_dropping_out() -> None:
    # 2,000 buyers alive for the first 100 of 200 days: at 1 session a day
    # while alive and 0.1 after, about 100 and 10 sessions each.
    rng = np.random.default_rng(7)
    day = demo_data.SECONDS_PER_DAY
    users = 2_000
    counts, session_user, started = demo_data._sessions_over_life(
        rng,
        np.zeros(users, dtype=np.int64),
        200 * day,
        np.full(users, 1.0 / day),
        np.full(users, 0.1 / day),
        np.full(users, 100 * day),
    )
    assert counts.sum() == session_user.size == started.size
    assert np.array_equal(np.bincount(session_user, minlength=users), counts)
    assert started.min() >= 0
    assert started.max() < 200 * day
    alive = started < 100 * day
    assert 99 < alive.sum() / users < 101
    assert 9.5 < (~alive).sum() / users < 10.5
    # Uniform within each period.
    assert 49 < (started < 50 * day).sum() / users < 51
    assert 4.7 < (started >= 150 * day).sum() / users < 5.3


def test_demo_data_has_the_expected_shape() -> None:
    orders = f"'{DEMO_DIR / 'orders.csv'}'"
    users = f"'{DEMO_DIR / 'users.csv'}'"
    per_user = duckdb.sql(
        f"""
        with clean as (
            select user_id, try_cast(amount as double) as amount
            from read_csv({orders}, all_varchar = true)
            where user_id like 'U%'
        )
        select
            count(*) filter (where orders = 1) as one_time_buyers,
            count(*) filter (where orders >= 5) as repeat_buyers,
            max(spend) / median(spend) as spend_tail
        from (
            select user_id, count(*) as orders, sum(amount) as spend
            from clean group by 1
        )
        """
    ).fetchall()[0]
    one_time, repeat, tail = per_user
    assert one_time > 500
    assert repeat > 200
    assert tail > 20  # heavy-tailed spend
    buyers = duckdb.sql(
        f"select count(distinct user_id) from read_csv({orders}, all_varchar = true)"
    ).fetchall()[0][0]
    users_total = duckdb.sql(
        f"select count(distinct user_id) from read_csv({users}, all_varchar = true)"
    ).fetchall()[0][0]
    assert buyers < users_total  # never-buyers exist
    ages = duckdb.sql(
        f"""
        select
            min(date_diff('year', try_cast(birth_date as date), date '2026-10-01')),
            max(date_diff('year', try_cast(birth_date as date), date '2026-10-01'))
        from read_csv({users}, all_varchar = true)
        """
    ).fetchall()[0]
    assert 15 <= ages[0] <= 17
    assert 74 <= ages[1] <= 76


# --- Categories and funnels ---------------------------------------------------

PURCHASE_STATUSES = project_vars(PROJECT_DIR)["purchase_statuses"]
PURCHASES = f"""
    select
        trim(user_id) as user_id,
        order_id,
        try_cast(ordered_at as timestamp) as ordered_at,
        product_category
    from {ORDERS}
    where {CLEAN.format(column="ordered_at", end=MANIFEST["history"]["end"])}
        and try_cast(amount as double) >= 0
        and lower(trim(status)) in (
            {", ".join(f"'{status}'" for status in PURCHASE_STATUSES)}
        )
"""


def _tastes_of(category: str) -> set[str]:
    return {taste for taste, weights in demo_data.TASTES.items() if category in weights}


def test_categories_are_the_tastes_categories_with_uneven_popularity() -> None:
    assert 12 <= len(demo_data.CATEGORIES) <= 16
    assert all(_tastes_of(category) for category in demo_data.CATEGORIES)
    # Tastes overlap: some categories belong to two.
    assert any(len(_tastes_of(category)) > 1 for category in demo_data.CATEGORIES)
    for weights in demo_data.TASTES.values():
        assert sum(weights.values()) == pytest.approx(1.0)
    assert sum(demo_data.TASTE_SHARES.values()) == pytest.approx(1.0)
    shares = dict(
        duckdb.sql(
            f"""
            select product_category, count(*) / sum(count(*)) over ()
            from ({PURCHASES}) group by 1
            """
        ).fetchall()
    )
    assert set(shares) == set(demo_data.CATEGORIES)
    assert max(shares.values()) > 3 * min(shares.values())
    # The popularity of the tastes model, within a point of each category.
    for category, popularity in zip(
        demo_data.CATEGORIES, demo_data.POPULARITY, strict=True
    ):
        assert shares[category] == pytest.approx(popularity, abs=0.01), category


def test_categories_of_one_taste_are_bought_together() -> None:
    # Lift of a pair over purchasers: the share who bought both categories
    # against the product of the shares who bought each.
    pairs = duckdb.sql(
        f"""
        with bought as (
            select distinct user_id, product_category from ({PURCHASES})
        ),
        support as (
            select product_category, count(*) / (
                select count(distinct user_id) from bought
            ) as share
            from bought group by 1
        ),
        both_bought as (
            select a.product_category as a, b.product_category as b,
                count(*) / (select count(distinct user_id) from bought) as share
            from bought as a
            join bought as b
                on a.user_id = b.user_id and a.product_category < b.product_category
            group by 1, 2
        )
        select both_bought.a, both_bought.b,
            both_bought.share / (sa.share * sb.share) as lift
        from both_bought
        join support as sa on both_bought.a = sa.product_category
        join support as sb on both_bought.b = sb.product_category
        """
    ).fetchall()
    same = [lift for a, b, lift in pairs if _tastes_of(a) & _tastes_of(b)]
    cross = [lift for a, b, lift in pairs if not _tastes_of(a) & _tastes_of(b)]
    n = len(demo_data.CATEGORIES)
    assert len(same) + len(cross) == n * (n - 1) // 2  # every pair co-bought
    assert min(same) > 1.0, sorted(same)
    assert np.mean(cross) < 1.0
    assert 1.5 * np.mean(cross) < np.mean(same)
    assert np.median(cross) < min(same)


def test_a_buyers_next_new_category_follows_the_tastes() -> None:
    # Repeat buyers whose last purchase is a category they had not bought:
    # it shares a taste with a category bought before far more often than
    # a draw by popularity among the categories not bought would.
    history = duckdb.sql(
        f"""
        select user_id, product_category,
            row_number() over (
                partition by user_id order by ordered_at desc, order_id desc
            ) = 1 as is_last
        from ({PURCHASES})
        """
    ).df()
    popularity = dict(zip(demo_data.CATEGORIES, demo_data.POPULARITY, strict=True))
    observed, expected = [], []
    for _, rows in history.groupby("user_id"):
        before = set(rows.loc[~rows["is_last"], "product_category"])
        last = rows.loc[rows["is_last"], "product_category"].iloc[0]
        if not before or last in before:
            continue
        near = {
            c for c in popularity if any(_tastes_of(c) & _tastes_of(b) for b in before)
        }
        unbought = [c for c in popularity if c not in before]
        weight = sum(popularity[c] for c in unbought)
        observed.append(last in near)
        expected.append(sum(popularity[c] for c in unbought if c in near) / weight)
    assert len(observed) > 500
    assert np.mean(observed) > np.mean(expected) + 0.1, (
        np.mean(observed),
        np.mean(expected),
    )


EVENT_KIND = "replace(lower(trim(event_type)), '-', '_')"


def _clean_events(source: str, end: str, event_types: list[str]) -> str:
    """The clean events of source: user, time before end, known type, a
    valid duration if any, one row per event id (the latest: the dirty
    copies of an event are the same or 1-59 seconds earlier)."""
    return f"""
        select
            nullif(trim(session_id), '') as session_id,
            try_cast(occurred_at as timestamp) as occurred_at,
            {EVENT_KIND} as event_type
        from {source}
        where trim(user_id) like 'U%'
            and try_cast(occurred_at as timestamp) < date '{end}'
            and {EVENT_KIND} in ({", ".join(f"'{t}'" for t in event_types)})
            and coalesce(
                try_cast(nullif(trim(duration_seconds::varchar), '') as double)
                between 0 and 86400,
                nullif(trim(duration_seconds::varchar), '') is null
            )
        qualify row_number() over (
            partition by trim(event_id) order by occurred_at desc
        ) = 1
    """


FUNNEL = ["impression", "click", "page_view", "add_to_cart", "checkout", "purchase"]


def _funnel_counts(events: str) -> dict[str, int]:
    """Sessions (with a session id) by how they go through the funnel."""
    firsts = ",\n".join(
        f"min(occurred_at) filter (where event_type = '{step}') as first_{step}"
        for step in FUNNEL
    )
    out_of_order = " or ".join(
        f"first_{a} > first_{b}" for a, b in itertools.combinations(FUNNEL, 2)
    )
    row = duckdb.sql(
        f"""
        with sessions as (
            select
                session_id,
                {firsts},
                max(occurred_at) filter (where event_type <> 'purchase')
                    as last_before_purchase
            from ({events})
            where session_id is not null
            group by 1
        )
        select
            count(*),
            count(*) filter (where first_add_to_cart is not null),
            count(*) filter (where first_checkout is not null),
            count(*) filter (where first_purchase is not null),
            count(*) filter (where {out_of_order}),
            count(*) filter (
                where first_purchase < last_before_purchase
            ),
            count(*) filter (
                where first_purchase is not null
                and (first_checkout is null or first_add_to_cart is null)
            ),
            count(*) filter (
                where first_checkout is not null and first_add_to_cart is null
            )
        from sessions
        """
    ).fetchall()[0]
    names = [
        "sessions",
        "cart",
        "checkout",
        "purchase",
        "out_of_order",
        "purchase_not_last",
        "purchase_without_cart_or_checkout",
        "checkout_without_cart",
    ]
    return dict(zip(names, row, strict=True))


def _assert_funnel(counts: dict[str, int]) -> None:
    assert counts["sessions"] > 0
    # Within a session the events follow the funnel: every step first
    # occurs no earlier than the step before; a purchase is the session's
    # last event, after its add-to-cart and checkout.
    assert counts["out_of_order"] == 0
    assert counts["purchase_not_last"] == 0
    assert counts["purchase_without_cart_or_checkout"] == 0
    assert counts["checkout_without_cart"] == 0
    # Some carts are abandoned before checkout, some checkouts before the
    # purchase (more than the purchases logged without a session).
    assert counts["cart"] > 1.1 * counts["checkout"]
    assert counts["checkout"] > 1.1 * counts["purchase"] > 0


def _null_session_shares(events: str) -> tuple[float, float, set[str]]:
    """Share of the events without a session id, share of the purchases
    without one, and the types of those events."""
    share, purchase_share = duckdb.sql(
        f"""
        select
            avg((session_id is null)::int),
            avg((session_id is null)::int) filter (where event_type = 'purchase')
        from ({events})
        """
    ).fetchall()[0]
    types = duckdb.sql(
        f"select distinct event_type from ({events}) where session_id is null"
    ).fetchall()
    return share, purchase_share, {kind for (kind,) in types}


def test_demo_sessions_follow_the_funnel() -> None:
    vocabulary = project_vars(PROJECT_DIR)["event_types"]
    events = _clean_events(EVENTS, MANIFEST["history"]["end"], vocabulary)
    _assert_funnel(_funnel_counts(events))


def test_demo_has_a_few_events_without_a_session() -> None:
    vocabulary = project_vars(PROJECT_DIR)["event_types"]
    events = _clean_events(EVENTS, MANIFEST["history"]["end"], vocabulary)
    share, purchase_share, types = _null_session_shares(events)
    assert 0.003 < share < 0.008
    assert types == {"login", "purchase"}  # server-side events
    assert 0.01 < purchase_share < 0.06


def test_a_buying_session_fits_before_its_purchase() -> None:
    # Sessions that start 10 seconds before their purchase, or at it, get
    # their events squeezed in between, in funnel order.
    rng = np.random.default_rng(3)
    sessions = 500
    start = np.arange(sessions) * 10_000
    room = np.where(np.arange(sessions) % 2 == 0, 10, 0)
    events = demo_data._session_events(
        rng,
        start,
        np.ones(sessions, dtype=bool),
        start + room,
        np.full(sessions, 0.5),
        extra_impressions=6.0,
    )
    kinds = demo_data.EVENT_TYPES[events["kind_index"]]
    session = events["session_index"]
    purchase = (start + room)[session]
    assert (events["occurred_at"] >= start[session]).all()
    assert (events["occurred_at"] <= purchase).all()
    assert (
        events["occurred_at"][kinds == "purchase"] == purchase[kinds == "purchase"]
    ).all()
    for kind in ("add_to_cart", "checkout", "purchase"):
        assert np.array_equal(np.unique(session[kinds == kind]), np.arange(sessions))
    # Event times never go back within a session (funnel order).
    steps = np.diff(events["occurred_at"])[np.diff(session) == 0]
    assert (steps >= 0).all()


def test_buyer_tastes_give_a_distribution_per_buyer() -> None:
    rng = np.random.default_rng(5)
    tastes = demo_data.BuyerTastes.draw(rng, 20_000)
    probabilities = tastes.probabilities()
    assert probabilities.shape == (20_000, len(demo_data.CATEGORIES))
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    # The favourite is the most likely category of nearly every buyer, and
    # belongs to the main taste.
    assert (probabilities.argmax(axis=1) == tastes.favourite).mean() > 0.8
    assert (demo_data.TASTE_WEIGHTS[tastes.main, tastes.favourite] > 0).all()
    drawn = tastes.categories(rng, np.arange(20_000).repeat(5))
    shares = np.bincount(drawn, minlength=len(demo_data.CATEGORIES)) / drawn.size
    assert np.allclose(shares, demo_data.POPULARITY, atol=0.01)
    around = demo_data.BuyerTastes.around(rng, np.array([0, 4, 9]))
    assert (around.probabilities().argmax(axis=1) == [0, 4, 9]).all()


def test_parquet_mode_writes_clean_typed_files_with_progress(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tools.demo_data",
            "--format",
            "parquet",
            "--users",
            "1200",
            "--out",
            str(tmp_path),
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "[1,200/1,200 users]" in completed.stderr
    users = duckdb.sql(
        f"select count(*), count(distinct user_id) from '{tmp_path}/users.parquet'"
    ).fetchall()[0]
    assert users == (1200, 1200)
    types = {
        name: kind
        for name, kind, *_ in duckdb.sql(
            f"describe select * from '{tmp_path}/orders.parquet'"
        ).fetchall()
    }
    assert types["ordered_at"].startswith("TIMESTAMP")
    assert types["amount"] == "DOUBLE"
    nan_durations = duckdb.sql(
        f"select count(*) from '{tmp_path}/events.parquet'"
        " where isnan(duration_seconds)"
    ).fetchall()[0][0]
    assert nan_durations == 0


def test_same_seed_same_parquet(tmp_path: Path) -> None:
    first = demo_data.write_parquet(tmp_path / "a", 300, progress=None)
    second = demo_data.write_parquet(tmp_path / "b", 300, progress=None)
    assert first == second
    for name in ("users", "orders", "events"):
        assert (
            duckdb.sql(
                f"select * from '{tmp_path}/a/{name}.parquet'"
                f" except select * from '{tmp_path}/b/{name}.parquet'"
            ).fetchall()
            == []
        )


# --- Benchmark sizes --------------------------------------------------------

SIZE_USERS = 4_000


@pytest.fixture(scope="module")
def size_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny custom benchmark size (the S preset with fewer users)."""
    out = tmp_path_factory.mktemp("size") / "data"
    demo_data.write_size(out, "S", users=SIZE_USERS, chunk_users=1_500, progress=None)
    return out


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "_manifest.json").read_text())


def _parquet_rows(path: Path) -> int:
    return pq.ParquetFile(path).metadata.num_rows


def test_size_writes_one_folder_per_fact_table(size_dir: Path) -> None:
    assert sorted(p.relative_to(size_dir).as_posix() for p in size_dir.rglob("*")) == [
        "_manifest.json",
        "campaigns.csv",
        "events",
        "events/part-0000.parquet",
        "orders",
        "orders/part-0000.parquet",
        "users.parquet",
    ]
    manifest = _manifest(size_dir)
    assert manifest["size"] == "custom"
    assert manifest["users"] == SIZE_USERS
    assert manifest["history"] == {
        "start": "2024-10-01",
        "end": "2026-10-01",
        "events_start": "2026-07-03",
    }
    assert manifest["last_day"] == "2026-09-30"
    assert manifest["rows"] == {
        "users": _parquet_rows(size_dir / "users.parquet"),
        "orders": _parquet_rows(size_dir / "orders" / "part-0000.parquet"),
        "events": _parquet_rows(size_dir / "events" / "part-0000.parquet"),
    }
    for table in ("orders", "events"):
        schema = pq.ParquetFile(size_dir / table / "part-0000.parquet").schema_arrow
        assert schema.names == demo_data.PARQUET_SCHEMAS[table].names
        assert pa.types.is_timestamp(schema.field(2 if table == "orders" else 3).type)


def test_size_defines_five_campaigns_over_its_last_months(size_dir: Path) -> None:
    campaigns = pd.read_csv(
        size_dir / "campaigns.csv", dtype=str, keep_default_na=False
    )
    assert list(campaigns.columns) == demo_data.CAMPAIGN_COLUMNS
    assert len(campaigns) == 5
    assert campaigns["campaign_id"].is_unique
    assert _manifest(size_dir)["campaigns"] == campaigns["campaign_id"].tolist()
    # Every campaign starts within the last three months before the end of
    # history (2026-10-01), so the 12-month backfill has a snapshot for it.
    assert campaigns["start_date"].between("2026-07-01", "2026-09-30").all()
    targets = campaigns[[c for c in campaigns.columns if c.startswith("target_")]]
    assert (targets != "").any(axis=1).all()  # every campaign targets someone
    assert (targets != "").any(axis=0).all()  # every dimension is used
    # At least one pair overlaps in time on the same channel.
    ends = campaigns["end_date"].where(
        campaigns["end_date"] != "",
        (
            pd.to_datetime(campaigns["start_date"])
            + pd.to_timedelta(
                pd.to_numeric(campaigns["conversion_window_days"], errors="coerce"),
                "D",
            )
            - pd.Timedelta(days=1)
        ).dt.strftime("%Y-%m-%d"),
    )
    overlapping = [
        (a, b)
        for a in campaigns.index
        for b in campaigns.index
        if a < b
        and campaigns.at[a, "channel"] == campaigns.at[b, "channel"]
        and campaigns.at[a, "start_date"] <= ends[b]
        and campaigns.at[b, "start_date"] <= ends[a]
    ]
    assert overlapping


def test_size_has_about_ten_orders_and_a_hundred_events_per_user(
    size_dir: Path,
) -> None:
    rows = _manifest(size_dir)["rows"]
    assert 8.5 <= rows["orders"] / SIZE_USERS <= 11.5
    assert 85 <= rows["events"] / SIZE_USERS <= 115
    distinct_users = duckdb.sql(
        f"select count(distinct user_id) from '{size_dir}/users.parquet'"
        " where trim(user_id) <> ''"
    ).fetchall()[0][0]
    assert distinct_users == SIZE_USERS


def test_size_dirty_rows_are_few_and_counted_in_the_manifest(size_dir: Path) -> None:
    manifest = _manifest(size_dir)
    reasons = duckdb.sql(
        f"select source_table, reject_reason from '{REASONS_CSV}'"
    ).fetchall()
    for table, counts in manifest["rejected"].items():
        assert set(counts) <= {reason for name, reason in reasons if name == table}
        assert 0.001 < sum(counts.values()) / manifest["rows"][table] < 0.006, table
    orders = f"'{size_dir}/orders/*.parquet'"
    events = f"'{size_dir}/events/*.parquet'"
    users = f"'{size_dir}/users.parquet'"
    found = {
        "orders": _count_by_rule(
            orders,
            "order_id",
            {
                "missing_user_id": "coalesce(trim(user_id), '') = ''",
                "unknown_user": "user_id like 'X%'",
                "negative_amount": "amount < 0",
                "invalid_amount": "amount is null",
                "invalid_ordered_at": "ordered_at is null",
                "invalid_status": "status not in ('completed', 'paid',"
                " 'refunded', 'cancelled')",
                "future_timestamp": "year(ordered_at) > 2030",
            },
        ),
        "events": _count_by_rule(
            events,
            "event_id",
            {
                "missing_user_id": "coalesce(trim(user_id), '') = ''",
                "unknown_user": "user_id like 'X%'",
                "invalid_occurred_at": "occurred_at is null",
                "invalid_event_type": "event_type not in ("
                + ", ".join(f"'{kind}'" for kind in demo_data.EVENT_TYPES)
                + ")",
                "invalid_duration": "duration_seconds < 0 or duration_seconds > 86400",
                "future_timestamp": "year(occurred_at) > 2030",
            },
        ),
        "users": _count_by_rule(users, "user_id", {}),
    }
    assert found == manifest["rejected"]


def test_size_sessions_follow_the_funnel(size_dir: Path) -> None:
    manifest = _manifest(size_dir)
    events = _clean_events(
        f"'{size_dir}/events/*.parquet'",
        manifest["history"]["end"],
        demo_data.EVENT_TYPES.tolist(),
    )
    _assert_funnel(_funnel_counts(events))
    share, purchase_share, types = _null_session_shares(events)
    assert 0.003 < share < 0.008
    assert types == {"login", "purchase"}
    assert 0.01 < purchase_share < 0.06


def _count_by_rule(source: str, key: str, rules: dict[str, str]) -> dict[str, int]:
    """Rows breaking each rule, rows without ``key`` and repeated ``key``s."""
    reason = key.removesuffix("_id")
    counts = {
        f"missing_{reason}_id": f"coalesce(trim({key}), '') = ''",
        **rules,
        f"duplicate_{reason}_id": "false",
    }
    selects = ", ".join(f"count(*) filter (where {rule})" for rule in counts.values())
    row = duckdb.sql(f"select {selects} from {source}").fetchall()[0]
    found = dict(zip(counts, row, strict=True))
    found[f"duplicate_{reason}_id"] = duckdb.sql(
        f"select count(*) - count(distinct {key}) from {source}"
        f" where coalesce(trim({key}), '') <> ''"
    ).fetchall()[0][0]
    return {name: count for name, count in found.items() if count}


def test_size_is_deterministic(tmp_path: Path) -> None:
    for name in ("a", "b"):
        demo_data.write_size(tmp_path / name, "S", users=700, progress=None)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert len(files) == 5  # with campaigns.csv
    for path in files:
        assert (tmp_path / "a" / path).read_bytes() == (
            tmp_path / "b" / path
        ).read_bytes(), path


def test_append_day_adds_the_next_day_with_fresh_ids(
    size_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "data"
    shutil.copytree(size_dir, folder)
    before = _manifest(folder)
    old_ids = _ids(folder)
    for day in ("2026-10-01", "2026-10-02"):
        previous = _manifest(folder)
        old_files = sorted(p.name for p in (folder / "events").iterdir())
        manifest = demo_data.append_day(folder, progress=None)
        increment = manifest["increments"][-1]
        assert increment["day"] == manifest["last_day"] == day
        name = f"part-{len(old_files):04d}-{day}.parquet"
        assert increment["files"] == {
            "orders": f"orders/{name}",
            "events": f"events/{name}",
        }
        for table in ("orders", "events"):
            names = sorted(p.name for p in (folder / table).iterdir())
            assert names[-1] == name  # sorts after every older file
            added = _parquet_rows(folder / table / name)
            assert increment["rows"][table] == added
            assert manifest["rows"][table] == previous["rows"][table] + added
        events_share = increment["rows"]["events"] / previous["rows"]["events"]
        assert 0.0095 < events_share < 0.0105
        days = duckdb.sql(
            f"select distinct cast(occurred_at as date)::varchar"
            f" from '{folder}/events/{name}'"
            f" union select distinct cast(ordered_at as date)::varchar"
            f" from '{folder}/orders/{name}'"
        ).fetchall()
        assert days == [(day,)]
    new_ids = _ids(folder)
    for kind in ("order", "event", "session"):
        added = new_ids[kind] - old_ids[kind]
        # Fresh: the next free ids of the manifest, one after another.
        assert added == set(range(before["next_ids"][kind], manifest["next_ids"][kind]))
    for kind, table in (("order", "orders"), ("event", "events")):
        rows = sum(step["rows"][table] for step in manifest["increments"])
        assert len(new_ids[kind] - old_ids[kind]) == rows  # no collisions
    daily_orders = duckdb.sql(
        f"select count(*) / 30 from '{size_dir}/orders/*.parquet'"
        " where ordered_at >= '2026-09-01' and ordered_at < '2026-10-01'"
        " and user_id like 'U%' and amount >= 0"
    ).fetchall()[0][0]
    assert manifest["increments"][0]["rows"]["orders"] == round(daily_orders)
    unknown = duckdb.sql(
        f"select count(*) from '{folder}/orders/part-0001*.parquet'"
        f" where user_id not in (select user_id from '{folder}/users.parquet')"
    ).fetchall()[0][0]
    assert unknown == 0


def _ids(folder: Path) -> dict[str, set[int]]:
    """Numeric parts of every order, event and session id in the folder."""
    queries = {
        "order": f"select order_id from '{folder}/orders/*.parquet'",
        "event": f"select event_id from '{folder}/events/*.parquet'",
        "session": f"select session_id from '{folder}/events/*.parquet'",
    }
    return {
        kind: {
            int(value[1:])
            for (value,) in duckdb.sql(query).fetchall()
            if value and value.strip()
        }
        for kind, query in queries.items()
    }


def test_append_day_is_deterministic(size_dir: Path, tmp_path: Path) -> None:
    for name in ("a", "b"):
        shutil.copytree(size_dir, tmp_path / name)
        demo_data.append_day(tmp_path / name, progress=None)
    for path in (
        "orders/part-0001-2026-10-01.parquet",
        "events/part-0001-2026-10-01.parquet",
        "_manifest.json",
    ):
        assert (tmp_path / "a" / path).read_bytes() == (
            tmp_path / "b" / path
        ).read_bytes()


def test_size_and_append_day_command_lines(tmp_path: Path) -> None:
    out = tmp_path / "data"
    command = [sys.executable, "-m", "tools.demo_data"]
    created = subprocess.run(
        [*command, "--size", "S", "--users", "500", "--out", str(out)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "[500/500 users] orders" in created.stderr
    refused = subprocess.run(
        [*command, "--size", "S", "--out", str(out)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert "already holds generated data" in refused.stderr
    subprocess.run(
        [*command, "--append-day", str(out)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert _manifest(out)["last_day"] == "2026-10-01"
