"""Deterministic generator of realistic e-commerce raw data.

It writes the three raw tables of the data contract (``users``, ``orders``,
``events``) either as the committed demo seeds (CSV, about 5,000 users, with
1-2% dirty rows on purpose) or as Parquet files of any size for benchmarks.

The statistical shape:

* users sign up over the two years of history (and the year before it), with
  ages 16-75, genders, regions and cities, acquisition channels and marketing
  consent;
* about a quarter of users never buy (prospects); buyers follow the BG/NBD
  story: while "alive" each buyer purchases at a personal Poisson rate drawn
  from a Gamma distribution and may drop out after every purchase with a
  personal probability drawn from a Beta distribution, which yields repeat
  buyers, one-time buyers, churners and dormant users;
* order values are Gamma-distributed around a per-user mean that is itself
  log-normal, so spend is heavy-tailed across users;
* product categories have a realistic co-purchase structure
  (:class:`BuyerTastes`): 14 categories in five overlapping shopper tastes
  (``TASTES``: tech = electronics, gaming, books, accessories; home =
  home, kitchen, garden; style = fashion, beauty, accessories; family =
  grocery, toys, baby, books, kitchen; active = sports, outdoor, fashion),
  with uneven weights, so popularity ranges from about 15% of orders
  (fashion) to 3% (baby). Each buyer has a main taste (26% tech, 22%
  home, 26% style, 16% family, 10% active) mixed with a second one, a
  favourite category of the main taste and a repeat tendency (the share of
  orders in the favourite, 40% on average); every other order's category
  is drawn from the buyer's tastes (10% of them by popularity whatever the
  taste). So categories of one taste are bought by the same buyers more
  often than their popularity implies (lift above 1, below 1 across
  tastes), and a buyer's next new category is predictable from the
  categories already bought better than by popularity: a fair test for
  the next-best category's evaluation against its popularity baseline;
* behaviour events (sessions of impressions, clicks, page views with
  durations, searches, add-to-cart, checkout and purchase events) cover
  the last ``event_days`` days, and every order in that window has a
  session that leads to it: add-to-cart, checkout, purchase, at the order
  time. Events of a session are timed in funnel order (impression, click,
  page view, add-to-cart, checkout, purchase; a purchase is never before
  the session's cart or checkout); 35% of the other sessions with a cart
  abandon at checkout. Server-side events have no session id (about
  0.5% of clean events): a login at the start of 1.8% of sessions and the
  purchase of 3% of buying sessions. A buyer browses at a personal rate
  while alive and at the low dormant rate once dropped out; 45% of the
  never-buyers browse (engaged prospects).

The demo's event log covers 455 days: the year of monthly segment history
``make run`` backfills (``HISTORY_FROM=auto``: as-of dates 2025-10-01 to
2026-10-01) plus the 90-day behaviour window (``activity_window_long_days``)
before its first date, so every snapshot sees a full window of behaviour
and no segment jumps when the log starts. Not the whole two years of
orders: that would add about 37% more events (about 25 MB) for dates
nobody backfills by default. Its sessions show 2 impressions on average
(3 in the benchmark sizes), which keeps ``events.csv`` near 18 MB.

The demo also defines six marketing campaigns (``campaigns.csv``) and
simulates their effect on the orders, so the warehouse's measured lift can
be checked against a known truth: every user in the treatment group of the
dormant win-back (``winback_2026_07``) makes one extra completed purchase
(with a purchase session) within its 30-day window with a known
probability; the VIP preview (``vip_preview_2026_08``) is the null
campaign, and the other campaigns have no effect either. The effects are
recorded under ``campaigns`` in ``_manifest.json`` and drawn from a random
stream of their own, added after every other row, so the rest of the demo
data is the same as without them. To know who is in a treatment group the
generator recomputes the warehouse's split (:func:`campaign_buckets`:
md5 of the salted user_key and the campaign id against the holdout share,
with the demo's default salt). That mirror is deliberate, the one place the
split is written twice: it simulates an outside marketing tool that sends
the campaign to the group the warehouse exported, and
``pytests/test_campaign_effects.py`` checks that both splits agree.

The categories and the funnel's checkouts and server-side events are drawn
from random streams of their own (``CATEGORY_STREAM``, ``FUNNEL_STREAM``)
and the draws of the former uniform categories are still made, so users,
order times, amounts and statuses stay as they were before categories had
tastes, and sessions keep their other events (a little later where a
login or checkout comes before them, or a buying session had to fit
before its purchase).

Benchmark sizes (``--size S|M|L``: 10k, 100k or 1M users) use the same
distributions, categories and sessions under :meth:`Shape.benchmark`
(about 10 orders and 100 events per user) and write typed Parquet with
about 0.4% type-compatible dirty rows per table: ``DIR/users.parquet``,
``DIR/orders/part-*.parquet``, ``DIR/events/part-*.parquet``,
``DIR/campaigns.csv`` (five campaigns over the last three months, without
effect) and ``DIR/_manifest.json`` (rows, dirty rows per reason, next free
ids). ``--append-day DIR`` adds the next day of clean orders and events as
new ``part-NNNN-YYYY-MM-DD.parquet`` files. They, and the plain ``--format
parquet`` files, keep the event log of before the demo's grew (90 days, 3
impressions per session, a buyer's session rate chosen by whether the
buyer is alive at the end).

The same seed gives byte-identical files. Run ``python -m
tools.demo_data --help`` for the command line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from segmentation.project import project_vars

SECONDS_PER_DAY = 86_400
DEMO_SEED = 42
DEMO_USERS = 5_000
# The demo's event log: the year of monthly segment history make run
# backfills (HISTORY_FROM=auto) plus the 90-day behaviour window
# (activity_window_long_days) before its first as-of date, so every
# snapshot sees a full window of events. The benchmark sizes keep 90 days.
DEMO_HISTORY_DAYS = 365
DEMO_BEHAVIOUR_WINDOW_DAYS = 90
DEMO_EVENT_DAYS = DEMO_HISTORY_DAYS + DEMO_BEHAVIOUR_WINDOW_DAYS
BENCHMARK_EVENT_DAYS = 90
# Mean impressions per session beyond the first: fewer in the demo, whose
# longer event log would otherwise make events.csv about 24 MB.
DEMO_EXTRA_IMPRESSIONS = 1.0
BENCHMARK_EXTRA_IMPRESSIONS = 2.0

REGIONS: dict[str, list[str]] = {
    "North": ["Harbin", "Shenyang", "Changchun"],
    "East": ["Shanghai", "Hangzhou", "Nanjing", "Suzhou"],
    "South": ["Guangzhou", "Shenzhen", "Xiamen"],
    "West": ["Chengdu", "Chongqing", "Xi'an"],
    "Central": ["Wuhan", "Changsha", "Zhengzhou"],
}
REGION_WEIGHTS = [0.15, 0.32, 0.25, 0.16, 0.12]
CHANNELS = [
    "organic_search",
    "paid_search",
    "social",
    "referral",
    "email",
    "direct",
    "affiliate",
]
CHANNEL_WEIGHTS = [0.26, 0.18, 0.2, 0.1, 0.06, 0.15, 0.05]
# The shopper tastes that explain which categories are bought together:
# each taste's categories with their weight within it (summing to 1), and
# the share of buyers whose main taste it is. Tastes overlap (accessories,
# kitchen, books and fashion belong to two), and the weights make some
# categories far more popular than others. See BuyerTastes for how an
# order's category is drawn.
TASTES: dict[str, dict[str, float]] = {
    "tech": {"electronics": 0.45, "gaming": 0.30, "books": 0.15, "accessories": 0.10},
    "home": {"home": 0.40, "kitchen": 0.35, "garden": 0.25},
    "style": {"fashion": 0.50, "beauty": 0.30, "accessories": 0.20},
    "family": {
        "grocery": 0.30,
        "toys": 0.25,
        "baby": 0.20,
        "books": 0.15,
        "kitchen": 0.10,
    },
    "active": {"sports": 0.50, "outdoor": 0.35, "fashion": 0.15},
}
TASTE_SHARES = {
    "tech": 0.26,
    "home": 0.22,
    "style": 0.26,
    "family": 0.16,
    "active": 0.10,
}
# Every category, in the order the tastes name them first.
CATEGORIES = list(dict.fromkeys(c for weights in TASTES.values() for c in weights))
# Tastes x categories: the weight of each category within each taste.
TASTE_WEIGHTS = np.array(
    [
        [weights.get(category, 0.0) for category in CATEGORIES]
        for weights in TASTES.values()
    ]
)
TASTE_SHARE = np.array([TASTE_SHARES[taste] for taste in TASTES])
# Each category's share of the orders drawn from a taste: its popularity.
POPULARITY = TASTE_SHARE @ TASTE_WEIGHTS
# A buyer's weight on the main taste (the rest goes to a second taste drawn
# the same way, which may be the main one again): Beta(5, 2), mean 0.71.
MAIN_TASTE_BETA = (5.0, 2.0)
# A buyer's repeat tendency, the share of orders in the favourite category:
# Beta(2, 3), mean 0.4.
REPEAT_BETA = (2.0, 3.0)
# Share of the other orders drawn by popularity whatever the taste: the
# occasional gift or one-off outside the buyer's tastes.
OUTSIDE_TASTE_SHARE = 0.1
# The categories of the generator before the tastes: the random draws made
# for them are still made (and ignored), so that every value drawn after
# them (order times, amounts, statuses) stays the same.
FORMER_CATEGORY_COUNT = 7
# Keys of the random streams of their own, derived from a chunk's seed, for
# the categories and for the funnel (checkout, server-side events), so that
# the draws of the main stream stay as they were without them.
CATEGORY_STREAM = 16
FUNNEL_STREAM = 17
# How often orders get each status; the accepted statuses themselves are the
# dbt var order_statuses (an accepted status not listed here never occurs).
STATUS_WEIGHTS = {"completed": 0.88, "paid": 0.06, "refunded": 0.04, "cancelled": 0.02}
# The event types the simulated sessions emit, in the order they happen
# within a session (see _session_events): each must be one of the accepted
# event types, the dbt var event_types. From impression to purchase they
# are the steps of the purchase funnel, and their times follow it.
EVENT_TYPES = np.array(
    [
        "login",
        "search",
        "impression",
        "click",
        "page_view",
        "add_to_cart",
        "checkout",
        "purchase",
    ]
)
# Share of non-buying sessions with a cart that go on to checkout (and
# abandon there); every buying session checks out.
CART_CHECKOUT_SHARE = 0.35
# Events logged server-side, without a session id: a login before a share
# of the sessions, and the purchase of a share of the buying sessions
# (whose click stream then ends at checkout). About 0.5% of clean events.
LOGIN_SHARE = 0.018
SERVER_SIDE_PURCHASE_SHARE = 0.03
_KIND = {kind: index for index, kind in enumerate(EVENT_TYPES.tolist())}


@dataclass(frozen=True)
class Vocabulary:
    """The accepted order statuses and event types of the dbt project (vars
    ``order_statuses`` and ``event_types`` of dbt_project.yml), which the
    clean rows must use."""

    statuses: tuple[str, ...]
    event_types: tuple[str, ...]

    @classmethod
    def from_project(cls, folder: Path) -> Vocabulary:
        """Read from the dbt_project.yml in folder; fails when the simulation
        would write a status or event type the project does not accept."""
        values = project_vars(Path(folder))
        vocabulary = cls(tuple(values["order_statuses"]), tuple(values["event_types"]))
        for kind, written, accepted in (
            ("order status", list(STATUS_WEIGHTS), vocabulary.statuses),
            ("event type", EVENT_TYPES.tolist(), vocabulary.event_types),
        ):
            unknown = [value for value in written if value not in accepted]
            if unknown:
                raise ValueError(
                    f"the generator writes the {kind} {unknown[0]!r}, which the"
                    f" dbt vars of {folder} do not accept"
                )
        return vocabulary

    @property
    def status_weights(self) -> list[float]:
        """Each accepted status's share of the orders, in var order."""
        return [STATUS_WEIGHTS.get(status, 0.0) for status in self.statuses]


@dataclass(frozen=True)
class Shape:
    """Parameters of the simulated business.

    Attributes:
        vocabulary: the statuses and event types the project accepts.
        start: first day of order history (inclusive).
        end: day after the last day of history (exclusive).
        event_days: how many days before ``end`` the event log covers.
        sessions_follow_life: True: a buyer browses at the personal alive
            rate until ``died_at`` and at the dormant rate after; False (the
            benchmark sizes): at one rate over the whole log, chosen by
            whether the buyer is alive at ``end``.
        extra_impressions: mean impressions per session beyond the first
            (Poisson).
        prospect_share: share of users who never buy.
        purchase_rate_scale: scale of the Gamma(0.9) distribution of a
            buyer's purchases per week while alive.
        dropout_a, dropout_b: parameters of the Beta distribution of a
            buyer's probability to drop out after each purchase.
        session_rate_alive: mean sessions per week of an alive buyer.
        session_rate_dormant: mean sessions per week of a churned buyer.
        session_rate_prospect: mean sessions per week of an engaged prospect.
    """

    vocabulary: Vocabulary
    start: str = "2024-10-01"
    end: str = "2026-10-01"
    event_days: int = DEMO_EVENT_DAYS
    sessions_follow_life: bool = True
    extra_impressions: float = DEMO_EXTRA_IMPRESSIONS
    prospect_share: float = 0.25
    purchase_rate_scale: float = 1.0 / 7.0
    dropout_a: float = 0.9
    dropout_b: float = 3.2
    session_rate_alive: float = 0.45
    session_rate_dormant: float = 0.05
    session_rate_prospect: float = 0.3

    @classmethod
    def benchmark(cls, vocabulary: Vocabulary) -> Shape:
        """The shape of the benchmark sizes: about 10 orders and 100 events
        per user (the demo has about 3 orders), from the same distributions
        with a higher purchase rate, a lower dropout and more sessions, over
        a 90-day event log with the session rate chosen by whether a buyer
        is alive at the end (as before the demo's log grew, so existing
        benchmark data stays valid)."""
        sessions = 5.4
        return cls(
            vocabulary,
            event_days=BENCHMARK_EVENT_DAYS,
            sessions_follow_life=False,
            extra_impressions=BENCHMARK_EXTRA_IMPRESSIONS,
            purchase_rate_scale=3.2 / 7.0,
            dropout_b=20.0,
            session_rate_alive=0.45 * sessions,
            session_rate_dormant=0.05 * sessions,
            session_rate_prospect=0.3 * sessions,
        )


def _history(shape: Shape) -> dict[str, str]:
    """The manifest's dates: first day of orders, day after the last day,
    and first day of the event log."""
    end = np.datetime64(shape.end, "D")
    return {
        "start": shape.start,
        "end": shape.end,
        "events_start": str(end - shape.event_days),
    }


def _seconds(day: str) -> int:
    return int(np.datetime64(day, "s").astype(np.int64))


def _fmt_ts(seconds: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")


def _ids(prefix: str, start: int, count: int, width: int) -> np.ndarray:
    numbers = np.arange(start, start + count)
    return np.char.add(prefix, np.char.zfill(numbers.astype(str), width))


def _stream(rng: np.random.Generator, key: int) -> np.random.Generator:
    """A random stream of its own, derived from the seed of ``rng`` and
    ``key``: drawing from it leaves the stream of ``rng`` as it was."""
    seed = rng.bit_generator.seed_seq
    return np.random.default_rng(
        np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, key))
    )


@dataclass(frozen=True)
class BuyerTastes:
    """What each buyer shops for, and the category of every order.

    A buyer has a main taste (drawn by ``TASTE_SHARES``) and a second one
    (drawn the same way, possibly the main one again) with the weight
    ``main_weight`` on the main one; a favourite category (drawn by the
    main taste's weights); and a repeat tendency (the share of orders in
    the favourite). Every other order is drawn from the buyer's tastes:
    the taste by the buyer's weights, then the category by the taste's
    weights, except a share ``OUTSIDE_TASTE_SHARE`` drawn by popularity
    whatever the taste. So categories of one taste are bought by the same
    buyers more often than their popularity implies.

    Attributes (one value per buyer):
        main: index of the main taste (into ``TASTES``).
        second: index of the second taste.
        main_weight: weight of the main taste, the rest on the second.
        favourite: index of the favourite category (into ``CATEGORIES``).
        repeat: share of the orders in the favourite category.
    """

    main: np.ndarray
    second: np.ndarray
    main_weight: np.ndarray
    favourite: np.ndarray
    repeat: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, count: int) -> BuyerTastes:
        """The tastes of ``count`` buyers."""
        main = rng.choice(len(TASTES), count, p=TASTE_SHARE)
        return cls(
            main=main,
            second=rng.choice(len(TASTES), count, p=TASTE_SHARE),
            main_weight=rng.beta(*MAIN_TASTE_BETA, count),
            favourite=_draw_from_rows(rng, TASTE_WEIGHTS[main]),
            repeat=rng.beta(*REPEAT_BETA, count),
        )

    @classmethod
    def around(cls, rng: np.random.Generator, favourite: np.ndarray) -> BuyerTastes:
        """The tastes of buyers known by one category they bought, taken
        as their favourite: one taste, drawn by how likely each taste is to
        give that category, and the mean repeat tendency."""
        main = _draw_from_rows(rng, (TASTE_SHARE[:, None] * TASTE_WEIGHTS).T[favourite])
        return cls(
            main=main,
            second=main,
            main_weight=np.ones(favourite.size),
            favourite=favourite,
            repeat=np.full(favourite.size, REPEAT_BETA[0] / sum(REPEAT_BETA)),
        )

    def probabilities(self) -> np.ndarray:
        """Buyers x categories: the chance of each category in an order."""
        weight = self.main_weight[:, None]
        taste = (
            weight * TASTE_WEIGHTS[self.main]
            + (1.0 - weight) * TASTE_WEIGHTS[self.second]
        )
        other = (1.0 - OUTSIDE_TASTE_SHARE) * taste + OUTSIDE_TASTE_SHARE * POPULARITY
        repeat = self.repeat[:, None]
        favourite = np.eye(len(CATEGORIES))[self.favourite]
        return repeat * favourite + (1.0 - repeat) * other

    def categories(self, rng: np.random.Generator, buyer: np.ndarray) -> np.ndarray:
        """The category index of one order per entry of ``buyer`` (buyer
        row numbers), each drawn independently."""
        return _draw_from_rows(rng, self.probabilities()[buyer])


def _draw_from_rows(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One column index per row, drawn with the row's probabilities."""
    cumulative = np.cumsum(probabilities, axis=1)
    point = rng.random(len(probabilities)) * cumulative[:, -1]
    drawn = (cumulative <= point[:, None]).sum(axis=1)
    return np.minimum(drawn, probabilities.shape[1] - 1)


def generate_users(
    rng: np.random.Generator, first_index: int, count: int, shape: Shape
) -> pd.DataFrame:
    """Users with sign-up times, demographics and consent (clean, typed)."""
    start, end = _seconds(shape.start), _seconds(shape.end)
    earliest = start - 365 * SECONDS_PER_DAY
    # More users sign up recently: the business grows.
    signed_up = earliest + (rng.beta(1.4, 1.0, count) * (end - earliest))
    signed_up = signed_up.astype(np.int64)
    age = np.clip(rng.normal(36.0, 12.0, count), 16.0, 75.99)
    birth = end - (age * 365.25 * SECONDS_PER_DAY).astype(np.int64)
    region_index = rng.choice(len(REGIONS), count, p=REGION_WEIGHTS)
    regions = np.array(list(REGIONS))[region_index]
    city_pick = rng.random(count)
    cities = np.array(
        [
            REGIONS[region][int(pick * len(REGIONS[region]))]
            for region, pick in zip(regions, city_pick, strict=True)
        ]
    )
    index = np.arange(first_index, first_index + count)
    return pd.DataFrame(
        {
            "user_id": _ids("U", first_index, count, 7),
            "signed_up_at": signed_up,
            "birth_date": birth,
            "gender": rng.choice(
                ["female", "male", "other", ""],
                count,
                p=[0.48, 0.47, 0.02, 0.03],
            ),
            "region": regions,
            "city": cities,
            "acquisition_channel": rng.choice(CHANNELS, count, p=CHANNEL_WEIGHTS),
            "email": np.char.add(
                np.char.add("user", index.astype(str)), "@example.com"
            ),
            "phone": np.char.add("+1-555-", np.char.zfill(index.astype(str), 7)),
            "marketing_opt_in": rng.random(count) < 0.7,
        }
    )


def simulate_orders(
    rng: np.random.Generator, users: pd.DataFrame, shape: Shape
) -> tuple[pd.DataFrame, np.ndarray]:
    """Orders of one chunk of users under the BG/NBD purchase story.

    Returns the orders (typed, without ids) and, per user, the time the user
    dropped out (``end`` or later for users still alive at the end).
    """
    columns, died_at = _order_columns(rng, users["signed_up_at"].to_numpy(), shape)
    orders = pd.DataFrame(
        {
            "user_index": columns["user_index"],
            "user_id": users["user_id"].to_numpy()[columns["user_index"]],
            "ordered_at": columns["ordered_at"],
            "amount": columns["amount"],
            "status": np.array(shape.vocabulary.statuses)[columns["status_index"]],
            "product_category": np.array(CATEGORIES)[columns["category_index"]],
        }
    )
    return orders, died_at


def _order_columns(
    rng: np.random.Generator, signed_up: np.ndarray, shape: Shape
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The orders of :func:`simulate_orders` as arrays of user/label indices."""
    start, end = _seconds(shape.start), _seconds(shape.end)
    count = signed_up.size
    week = 7 * SECONDS_PER_DAY
    is_buyer = rng.random(count) >= shape.prospect_share
    purchase_rate = rng.gamma(0.9, shape.purchase_rate_scale, count) / week
    dropout = rng.beta(shape.dropout_a, shape.dropout_b, count)
    mean_spend = rng.lognormal(np.log(48.0), 0.75, count)
    # The former favourite category: drawn and ignored (see
    # FORMER_CATEGORY_COUNT); the categories come from BuyerTastes.
    rng.choice(FORMER_CATEGORY_COUNT, count)

    first_purchase = np.maximum(signed_up, start) + rng.exponential(
        14 * SECONDS_PER_DAY, count
    ).astype(np.int64)
    current = first_purchase.astype(np.float64)
    alive = is_buyer & (current < end)
    died_at = np.where(is_buyer, float(end), float(start))
    user_rows: list[np.ndarray] = []
    times: list[np.ndarray] = []
    while alive.any():
        active = np.flatnonzero(alive)
        user_rows.append(active)
        times.append(current[active].astype(np.int64))
        dies = rng.random(active.size) < dropout[active]
        gaps = rng.exponential(1.0, active.size) / purchase_rate[active]
        current[active] = current[active] + gaps
        died = active[dies]
        died_at[died] = current[died]
        alive[active] = (~dies) & (current[active] < end)
    if user_rows:
        row_user = np.concatenate(user_rows)
        row_time = np.concatenate(times)
    else:
        row_user = np.empty(0, dtype=np.int64)
        row_time = np.empty(0, dtype=np.int64)
    order = np.lexsort((row_user, row_time))
    row_user, row_time = row_user[order], row_time[order]
    n_orders = row_user.size
    amount = rng.gamma(4.0, mean_spend[row_user] / 4.0)
    # The former category draws: made and ignored (FORMER_CATEGORY_COUNT).
    rng.random(n_orders)
    rng.choice(FORMER_CATEGORY_COUNT, n_orders)
    columns = {
        "user_index": row_user,
        "ordered_at": row_time,
        "amount": np.round(amount, 2),
        "status_index": rng.choice(
            len(shape.vocabulary.statuses), n_orders, p=shape.vocabulary.status_weights
        ),
    }
    tastes = _stream(rng, CATEGORY_STREAM)
    columns["category_index"] = BuyerTastes.draw(tastes, count).categories(
        tastes, row_user
    )
    return columns, died_at


def simulate_events(
    rng: np.random.Generator,
    users: pd.DataFrame,
    orders: pd.DataFrame,
    died_at: np.ndarray,
    shape: Shape,
) -> pd.DataFrame:
    """Behaviour events of one chunk of users, consistent with their orders.

    Sessions are drawn per user from a Poisson rate that depends on whether
    the user is an alive buyer, a churned buyer or an engaged prospect; each
    order inside the event window gets a session ending in add-to-cart and
    purchase events. Returns typed events without ids, sorted by time.
    """
    columns = _event_columns(
        rng,
        users["signed_up_at"].to_numpy(),
        orders["user_index"].to_numpy(),
        orders["ordered_at"].to_numpy(),
        died_at,
        shape,
    )
    return pd.DataFrame(
        {
            "user_id": users["user_id"].to_numpy()[columns["user_index"]],
            "session_index": columns["session_index"],
            "occurred_at": columns["occurred_at"],
            "event_type": EVENT_TYPES[columns["kind_index"]],
            "duration_seconds": columns["duration_seconds"],
            "without_session": columns["without_session"],
        }
    )


def _event_columns(
    rng: np.random.Generator,
    signed_up: np.ndarray,
    order_user: np.ndarray,
    order_time: np.ndarray,
    died_at: np.ndarray,
    shape: Shape,
) -> dict[str, np.ndarray]:
    """The events of :func:`simulate_events` as arrays, sorted by time."""
    end = _seconds(shape.end)
    window_start = end - shape.event_days * SECONDS_PER_DAY
    week = 7 * SECONDS_PER_DAY
    count = signed_up.size
    buyer_ids = np.zeros(count, dtype=bool)
    buyer_ids[order_user] = True
    engaged_prospect = (~buyer_ids) & (rng.random(count) < 0.45)
    ctr = rng.beta(2.0, 12.0, count) + np.where(buyer_ids, 0.05, 0.0)
    alive_rate = rng.gamma(1.0, shape.session_rate_alive, count)
    prospect_rate = np.where(
        engaged_prospect,
        rng.gamma(2.0, shape.session_rate_prospect / 2.0, count),
        0.0,
    )
    active_from = np.maximum(signed_up, window_start)
    if shape.sessions_follow_life:
        n_sessions, session_user, session_start = _sessions_over_life(
            rng,
            active_from,
            end,
            np.where(buyer_ids, alive_rate, prospect_rate) / week,
            np.where(buyer_ids, shape.session_rate_dormant, prospect_rate) / week,
            np.where(buyer_ids, died_at, end),
        )
    else:
        rate = np.where(
            buyer_ids & (died_at >= end),
            alive_rate,
            np.where(buyer_ids, shape.session_rate_dormant, prospect_rate),
        )
        exposure = np.clip(end - active_from, 0, None) / week
        n_sessions = rng.poisson(rate * exposure)
        session_user = np.repeat(np.arange(count), n_sessions)
        span = (end - active_from[session_user]).astype(np.float64)
        session_start = active_from[session_user] + (
            rng.random(session_user.size) * span
        ).astype(np.int64)
    session_buys = np.zeros(session_user.size, dtype=bool)

    in_window = order_time >= window_start
    order_user = order_user[in_window]
    order_time = order_time[in_window]
    lead = rng.integers(120, 1800, order_user.size)
    session_user = np.concatenate([session_user, order_user])
    session_start = np.concatenate(
        [session_start, np.maximum(order_time - lead, window_start)]
    )
    session_buys = np.concatenate([session_buys, np.ones(order_user.size, dtype=bool)])
    purchase_time = np.concatenate(
        [np.zeros(n_sessions.sum(), dtype=np.int64), order_time]
    )
    events = _session_events(
        rng,
        session_start,
        session_buys,
        purchase_time,
        ctr[session_user],
        shape.extra_impressions,
    )
    events["user_index"] = session_user[events["session_index"]]
    keep = events["occurred_at"] < end
    order = np.lexsort((events["session_index"][keep], events["occurred_at"][keep]))
    return {name: values[keep][order] for name, values in events.items()}


def _sessions_over_life(
    rng: np.random.Generator,
    active_from: np.ndarray,
    end: int,
    rate_before: np.ndarray,
    rate_after: np.ndarray,
    switch_at: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Session counts per user and the (user, start time) of every session,
    for sessions arriving at ``rate_before`` per second until ``switch_at``
    and at ``rate_after`` from then on, between ``active_from`` and ``end``.

    The count is Poisson with the expected sessions of both periods; each
    session falls at a uniform point of the user's expected-session mass
    (inverse of its piecewise-linear cumulative intensity), so no session
    of a buyer at the alive rate lands after the buyer dropped out.
    """
    start = np.minimum(active_from, end)
    switch = np.clip(switch_at, start, end)
    mass_before = rate_before * (switch - start)
    mass = mass_before + rate_after * (end - switch)
    n_sessions = rng.poisson(mass)
    session_user = np.repeat(np.arange(active_from.size), n_sessions)
    point = rng.random(session_user.size) * mass[session_user]
    before = point < mass_before[session_user]
    offset = np.where(
        before,
        point / np.where(before, rate_before[session_user], 1.0),
        (switch - start)[session_user]
        + (point - mass_before[session_user])
        / np.where(before, 1.0, rate_after[session_user]),
    )
    session_start = start[session_user] + offset.astype(np.int64)
    return n_sessions, session_user, np.minimum(session_start, end - 1)


def _session_events(
    rng: np.random.Generator,
    session_start: np.ndarray,
    session_buys: np.ndarray,
    purchase_time: np.ndarray,
    session_ctr: np.ndarray,
    extra_impressions: float = BENCHMARK_EXTRA_IMPRESSIONS,
) -> dict[str, np.ndarray]:
    """The events of every session in session order, without a Python loop.

    A session shows impressions (1 + Poisson(``extra_impressions``)),
    clicks (at the session's click-through rate), page views with
    log-normal durations, maybe a search and an add-to-cart; a share
    ``CART_CHECKOUT_SHARE`` of the other sessions with a cart go on to a
    checkout and abandon there. A buying session always goes add-to-cart,
    checkout, purchase, the purchase at its order time. The events follow
    the order of ``EVENT_TYPES`` (the funnel order), 5-90 seconds apart
    from ``session_start``; a buying session whose events would not fit
    before its purchase has them squeezed in between, so no event of a
    session comes after its purchase. Server-side events have no session
    (``without_session``): a login at the start of a share
    ``LOGIN_SHARE`` of the sessions, and the purchase of a share
    ``SERVER_SIDE_PURCHASE_SHARE`` of the buying sessions.
    """
    n_all = session_start.size
    impressions = rng.poisson(extra_impressions, n_all) + 1
    clicks = rng.binomial(impressions, np.clip(session_ctr, 0.0, 0.95))
    page_views = clicks + rng.poisson(0.6, n_all) + session_buys
    searches = rng.binomial(1, 0.3, n_all)
    carts = np.where(
        session_buys,
        1 + rng.binomial(1, 0.2, n_all),
        rng.binomial(page_views, 0.06),
    )
    funnel = _stream(rng, FUNNEL_STREAM)
    checkouts = session_buys | (
        (carts > 0) & (funnel.random(n_all) < CART_CHECKOUT_SHARE)
    )
    logins = funnel.random(n_all) < LOGIN_SHARE
    server_side = session_buys & (funnel.random(n_all) < SERVER_SIDE_PURCHASE_SHARE)
    counts = np.stack(
        [
            logins,
            searches,
            impressions,
            clicks,
            page_views,
            carts,
            checkouts,
            session_buys,
        ],
        axis=1,
    ).astype(np.int64)
    per_session = counts.sum(axis=1)
    event_session = np.repeat(np.arange(n_all), per_session)
    kinds = np.repeat(np.tile(np.arange(len(EVENT_TYPES)), n_all), counts.ravel())
    # The gaps and durations of the login and checkout events come from the
    # funnel's stream, those of the others from the main one as before.
    added = (kinds == _KIND["login"]) | (kinds == _KIND["checkout"])
    gaps = np.empty(event_session.size, dtype=np.int64)
    gaps[~added] = rng.integers(5, 90, int((~added).sum()))
    gaps[added] = funnel.integers(5, 90, int(added.sum()))
    elapsed = np.cumsum(gaps)
    first = np.cumsum(per_session) - per_session
    offset = elapsed - np.repeat(elapsed[first], per_session)
    # A buying session's purchase is its last event: squeeze the session
    # into the time before the purchase when its events would not fit.
    span = offset[np.cumsum(per_session) - 1]
    room = purchase_time - session_start
    squeeze = np.where(session_buys & (span > room), room / np.maximum(span, 1), 1.0)
    occurred = session_start[event_session] + np.floor(
        offset * squeeze[event_session]
    ).astype(np.int64)
    is_purchase = kinds == _KIND["purchase"]
    occurred = np.where(is_purchase, purchase_time[event_session], occurred)
    duration = np.full(event_session.size, np.nan)
    duration[~added] = np.round(rng.lognormal(np.log(110.0), 1.0, int((~added).sum())))
    duration[kinds != _KIND["page_view"]] = np.nan
    return {
        "session_index": event_session,
        "occurred_at": occurred,
        "kind_index": kinds,
        "duration_seconds": duration,
        "without_session": (kinds == _KIND["login"])
        | (is_purchase & server_side[event_session]),
    }


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Render typed columns the way a CSV export would."""
    out = frame.copy()
    for column in ("signed_up_at", "ordered_at", "occurred_at"):
        if column in out:
            out[column] = _fmt_ts(out[column].to_numpy()).astype(object)
            out[column] = out[column].str.replace("T", " ", regex=False)
    if "birth_date" in out:
        out["birth_date"] = np.datetime_as_string(
            out["birth_date"].to_numpy().astype("datetime64[s]"), unit="D"
        )
    if "amount" in out:
        out["amount"] = out["amount"].map("{:.2f}".format)
    if "duration_seconds" in out:
        out["duration_seconds"] = (
            out["duration_seconds"].map("{:.0f}".format).replace("nan", "")
        )
    if "marketing_opt_in" in out:
        out["marketing_opt_in"] = np.where(out["marketing_opt_in"], "true", "false")
    return out.astype(object)


def _spread(
    rng: np.random.Generator, clean: pd.DataFrame, dirty: pd.DataFrame
) -> pd.DataFrame:
    """Insert dirty rows at random positions among clean rows."""
    positions = np.sort(rng.integers(0, len(clean) + 1, len(dirty)))
    pieces = []
    previous = 0
    for row, position in enumerate(positions):
        pieces.append(clean.iloc[previous:position])
        pieces.append(dirty.iloc[[row]])
        previous = position
    pieces.append(clean.iloc[previous:])
    return pd.concat(pieces, ignore_index=True)


class _Dirt:
    """Dirty rows for one clean table: the one engine behind the dirty rows
    of the CSV demo and of the benchmark sizes.

    Every dirty row copies a random clean row, breaks exactly one rule of
    staging (the reason codes of ``seeds/lookups/reject_reasons.csv``) and
    is counted under that reason. :meth:`add` adds ``units`` times ``unit``
    rows for a reason; copies under a fresh id take the next free ids. The
    clean table sets the flavour:

    * a pandas frame of CSV text (the demo seeds): the changed values are
      text, and :meth:`table` spreads the dirty rows at random positions;
    * an Arrow table (the typed Parquet of the sizes): the changed values
      keep the column's type, and each dirty row goes right after the row it
      copies, so time order mostly holds.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        clean: pd.DataFrame | pa.Table,
        unit: int = 1,
        fresh_ids: tuple[str, str, int, int] | None = None,
    ) -> None:
        self.rng, self.clean, self.unit = rng, clean, unit
        self.typed = isinstance(clean, pa.Table)
        self.fresh_ids = fresh_ids  # (column, prefix, width, next id)
        self.pieces: list[pd.DataFrame | pa.Table] = []
        self.sources: list[np.ndarray] = []
        self.counts: dict[str, int] = {}

    @property
    def next_id(self) -> int:
        return 0 if self.fresh_ids is None else self.fresh_ids[3]

    def _fresh(self, count: int) -> Callable[[object], object]:
        column, prefix, width, next_id = self.fresh_ids
        self.fresh_ids = (column, prefix, width, next_id + count)
        if self.typed:
            numbers = np.arange(next_id, next_id + count)
            return lambda _: _arrow_ids(prefix, numbers, width)
        return lambda _: _ids(prefix, next_id, count, width)

    def add(self, reason: str, units: int, fresh: bool = True, **changes) -> None:
        """Add ``units`` units of rows; ``changes`` map columns to functions
        of the copied rows that return the new values."""
        count = units * self.unit
        if count == 0:
            return
        source = np.sort(self.rng.choice(len(self.clean), count, replace=False))
        if fresh and self.fresh_ids is not None:
            changes = {self.fresh_ids[0]: self._fresh(count)} | changes
        if self.typed:
            rows = self.clean.take(source)
            for name, change in changes.items():
                field = rows.schema.field(name)
                values = change(rows)
                if not isinstance(values, pa.Array):
                    values = pa.array(values, field.type)
                index = rows.schema.get_field_index(name)
                rows = rows.set_column(index, field, values)
        else:
            rows = self.clean.iloc[source].copy()
            for name, change in changes.items():
                rows[name] = change(rows)
        self.pieces.append(rows)
        self.sources.append(source)
        self.counts[reason] = self.counts.get(reason, 0) + count

    def table(self) -> pd.DataFrame | pa.Table:
        """The clean rows with the dirty ones placed among them."""
        if not self.pieces:
            return self.clean
        if not self.typed:
            dirty = pd.concat(self.pieces, ignore_index=True)
            return _spread(self.rng, self.clean, dirty)
        n = self.clean.num_rows
        dirty = pa.concat_tables(self.pieces)
        order = np.insert(
            np.arange(n), np.concatenate(self.sources) + 1, n + np.arange(len(dirty))
        )
        return pa.concat_tables([self.clean, dirty]).take(order)


def make_dirty_users(
    rng: np.random.Generator, users: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Add duplicate and id-less user rows, and untidy some attributes.

    Malformed attributes (a birth date that is not a date, a sign-up time in
    the future, mixed-case or padded text) keep the user: staging clears or
    normalises the value. Only rows without a usable id are rejected.
    """
    users = users.copy()
    n = len(users)
    untidy = rng.choice(n, max(1, n // 50), replace=False)
    users.loc[users.index[untidy], "gender"] = (
        users["gender"]
        .iloc[untidy]
        .map({"female": " F", "male": "MALE ", "other": "Other", "": ""})
    )
    users.loc[users.index[untidy], "region"] = (
        "  " + users["region"].iloc[untidy].str.upper()
    )
    consent = rng.choice(n, max(1, n // 100), replace=False)
    users.loc[users.index[consent], "marketing_opt_in"] = rng.choice(
        ["yes", "no", "1", "0", "Y", ""], consent.size
    )
    bad_birth = rng.choice(n, max(1, n // 250), replace=False)
    users.loc[users.index[bad_birth], "birth_date"] = rng.choice(
        ["unknown", "1990-02-30", "31/12/1985"], bad_birth.size
    )
    bad_signup = rng.choice(n, max(1, n // 500), replace=False)
    users.loc[users.index[bad_signup], "signed_up_at"] = "2099-01-01 00:00:00"

    dirt = _Dirt(rng, users)
    dirt.add("duplicate_user_id", max(1, n // 160), fresh=False)
    dirt.add(
        "missing_user_id",
        max(1, n // 250),
        user_id=lambda rows: rng.choice(["", "   "], len(rows)),
    )
    return dirt.table(), dirt.counts


def make_dirty_orders(
    rng: np.random.Generator, orders: pd.DataFrame, next_order: int
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Add about 1.5% dirty order rows, each breaking exactly one rule."""
    n = len(orders)
    orders = orders.copy()
    untidy = rng.choice(n, max(1, n // 40), replace=False)
    orders.loc[orders.index[untidy], "status"] = rng.choice(
        [" Completed", "PAID", "Refunded ", ""], untidy.size
    )
    dirt = _Dirt(rng, orders, max(1, n // 1000), ("order_id", "O", 8, next_order))
    dirt.add("duplicate_order_id", 3, fresh=False)
    dirt.add("missing_order_id", 1, order_id=lambda _: "")
    dirt.add("missing_user_id", 2, user_id=lambda _: "")
    dirt.add("unknown_user", 2, user_id=lambda rows: _ids("X", 1, len(rows), 7))
    dirt.add(
        "negative_amount",
        2,
        amount=lambda rows: np.char.add(
            "-", np.round(rng.uniform(1.0, 300.0, len(rows)), 2).astype(str)
        ),
    )
    dirt.add(
        "invalid_amount",
        1,
        amount=lambda rows: rng.choice(["abc", "12,50", "n/a"], len(rows)),
    )
    dirt.add(
        "invalid_ordered_at",
        1,
        ordered_at=lambda rows: rng.choice(
            ["not a date", "2025-13-45 10:00:00", "yesterday"], len(rows)
        ),
    )
    dirt.add(
        "invalid_status",
        1,
        status=lambda rows: rng.choice(["shipped?", "lost", "??"], len(rows)),
    )
    dirt.add(
        "future_timestamp",
        1,
        ordered_at=lambda rows: rng.choice(
            ["2031-05-04 10:00:00", "2099-12-31 23:59:59", "2062-01-15 08:30:00"],
            len(rows),
        ),
    )
    return dirt.table(), dirt.counts


def make_dirty_events(
    rng: np.random.Generator, events: pd.DataFrame, next_event: int
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Add about 1.5% dirty event rows, each breaking exactly one rule."""
    n = len(events)
    events = events.copy()
    untidy = rng.choice(n, max(1, n // 50), replace=False)
    events.loc[events.index[untidy], "event_type"] = (
        events["event_type"]
        .iloc[untidy]
        .map(lambda kind: " " + kind.upper().replace("_", "-"))
    )
    dirt = _Dirt(rng, events, max(1, n // 1000), ("event_id", "E", 9, next_event))
    dirt.add("duplicate_event_id", 4, fresh=False)
    dirt.add("missing_event_id", 1, event_id=lambda _: "")
    dirt.add("missing_user_id", 2, user_id=lambda _: "")
    dirt.add("unknown_user", 2, user_id=lambda rows: _ids("X", 9_000_001, len(rows), 7))
    dirt.add(
        "invalid_occurred_at",
        1,
        occurred_at=lambda rows: rng.choice(
            ["", "31/12/2025 10:00", "tomorrow"], len(rows)
        ),
    )
    dirt.add(
        "invalid_event_type",
        1,
        event_type=lambda rows: rng.choice(["", "unknown", "clikc"], len(rows)),
    )
    dirt.add(
        "invalid_duration",
        1,
        event_type=lambda _: "page_view",
        duration_seconds=lambda rows: rng.choice(["-30", "abc", "1e99"], len(rows)),
    )
    dirt.add(
        "future_timestamp",
        1,
        occurred_at=lambda rows: rng.choice(
            ["2031-05-04 10:00:00", "2099-12-31 23:59:59"], len(rows)
        ),
    )
    return dirt.table(), dirt.counts


def generate_chunk(
    rng: np.random.Generator,
    first_user: int,
    count: int,
    first_order: int,
    first_event: int,
    first_session: int,
    shape: Shape,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One chunk of clean, typed users, orders and events with global ids."""
    users = generate_users(rng, first_user, count, shape)
    orders, died_at = simulate_orders(rng, users, shape)
    events = simulate_events(rng, users, orders, died_at, shape)
    orders.insert(0, "order_id", _ids("O", first_order, len(orders), 8))
    orders = orders.drop(columns="user_index")
    events.insert(0, "event_id", _ids("E", first_event, len(events), 9))
    events.insert(2, "session_id", _frame_session_ids(events, first_session))
    events = events.drop(columns=["session_index", "without_session"])
    return users, orders, events


def _session_ids(
    session_index: np.ndarray, without_session: np.ndarray, first_session: int
) -> pa.Array:
    """The session id of every event: S and 8 digits, numbered from
    ``first_session`` on by ``session_index``; null for the server-side
    events (``without_session``)."""
    return pc.if_else(
        pa.array(without_session, pa.bool_()),
        pa.scalar(None, pa.string()),
        _arrow_ids("S", first_session + session_index, 8),
    )


def _frame_session_ids(events: pd.DataFrame, first_session: int) -> np.ndarray:
    """:func:`_session_ids` of a frame of events, None for null."""
    return _session_ids(
        events["session_index"].to_numpy(),
        events["without_session"].to_numpy(),
        first_session,
    ).to_numpy(zero_copy_only=False)


# --- Campaigns --------------------------------------------------------------

CAMPAIGN_COLUMNS = [
    "campaign_id",
    "campaign_name",
    "target_primary_segments",
    "target_rfm_segments",
    "target_lifecycle_stages",
    "target_value_tiers",
    "start_date",
    "end_date",
    "conversion_window_days",
    "holdout_share",
    "channel",
    "priority",
]
# The demo's campaigns (seeds/demo/campaigns.csv), as of 2026-10-01: ended,
# overlapping on a channel, running, starting on the as-of date, scheduled.
DEMO_CAMPAIGNS = [
    {
        "campaign_id": "winback_2026_07",
        "campaign_name": "Dormant win-back: time-limited cash-back",
        "target_primary_segments": "dormant",
        "start_date": "2026-07-01",
        "conversion_window_days": "30",
        "holdout_share": "0.2",
        "channel": "email",
        "priority": "1",
    },
    {
        "campaign_id": "vip_preview_2026_08",
        "campaign_name": "High-value early access",
        "target_primary_segments": "high_value",
        "start_date": "2026-08-01",
        "end_date": "2026-08-30",
        "holdout_share": "0.3",
        "channel": "email",
        "priority": "1",
    },
    {
        "campaign_id": "crosssell_2026_08",
        "campaign_name": "Cross-sell to high and medium value",
        "target_value_tiers": "high|medium",
        "start_date": "2026-08-01",
        "end_date": "2026-08-30",
        "holdout_share": "0.1",
        "channel": "email",
        "priority": "2",
    },
    {
        "campaign_id": "at_risk_nudge_2026_09",
        "campaign_name": "At-risk SMS nudge",
        "target_rfm_segments": "At Risk|Can't Lose Them|About To Sleep",
        "start_date": "2026-09-15",
        "conversion_window_days": "30",
        "holdout_share": "0.1",
        "channel": "sms",
        "priority": "1",
    },
    {
        "campaign_id": "potential_welcome_2026_10",
        "campaign_name": "Potential buyers: first-order offer",
        "target_primary_segments": "potential",
        "start_date": "2026-10-01",
        "conversion_window_days": "14",
        "holdout_share": "0.1",
        "channel": "push",
        "priority": "1",
    },
    {
        "campaign_id": "holiday_2026_11",
        "campaign_name": "Holiday promotion to active buyers",
        "target_primary_segments": "active|high_value",
        "start_date": "2026-11-20",
        "end_date": "2026-12-31",
        "holdout_share": "0.1",
        "channel": "email",
        "priority": "1",
    },
]
# The simulated effect of each demo campaign: the probability that a user
# of its treatment group makes one extra completed purchase within its
# window (days from the start). Only the win-back works; the VIP preview is
# the null campaign (no effect on purpose); the others have no effect
# either (they are still running or have not started at the as-of date).
CAMPAIGN_EFFECTS = {
    "winback_2026_07": {"extra_purchase_probability": 0.08, "window_days": 30},
    "vip_preview_2026_08": {"extra_purchase_probability": 0.0},
}
# The pseudonym salt of the demo (the default of dbt var pseudonym_salt).
DEMO_PSEUDONYM_SALT = "segmentation-demo-salt"
# The effect goes to users with no purchase in this many days before the
# start: fewer than lifecycle_at_risk_days (90), so every dormant user gets
# it (the warehouse then picks the eligible ones).
CAMPAIGN_SILENCE_DAYS = 88
# Spawn key of the campaigns' random stream, apart from the main stream so
# that the rest of the demo data stays as it was.
CAMPAIGN_STREAM = 15


def campaign_buckets(
    user_ids: np.ndarray, campaign_id: str, salt: str = DEMO_PSEUDONYM_SALT
) -> np.ndarray:
    """The warehouse's assignment bucket in [0, 1) of each user for a
    campaign: the first 8 hex digits of md5(user_key || '|' || campaign_id)
    / 2^32, with user_key = md5(salt || user_id) (macros
    ``campaign_assignment_bucket`` and ``pseudonymize``). A deliberate
    mirror of the warehouse's split: see the module docstring."""
    buckets = np.empty(len(user_ids), dtype=np.float64)
    for row, user_id in enumerate(user_ids):
        user_key = hashlib.md5(f"{salt}{user_id}".encode()).hexdigest()
        digest = hashlib.md5(f"{user_key}|{campaign_id}".encode()).hexdigest()
        buckets[row] = int(digest[:8], 16) / 2**32
    return buckets


def campaigns_frame(campaigns: list[dict[str, str]]) -> pd.DataFrame:
    """Campaign definitions as the raw ``campaigns`` table (text; a column
    a definition leaves out is empty)."""
    return pd.DataFrame(
        [
            [campaign.get(column, "") for column in CAMPAIGN_COLUMNS]
            for campaign in campaigns
        ],
        columns=CAMPAIGN_COLUMNS,
    )


def size_campaigns(shape: Shape) -> list[dict[str, str]]:
    """Five campaigns over the last three months of a benchmark size (no
    simulated effect): targets by primary segment, value tier, RFM segment
    and lifecycle stage; two of them overlap on the email channel."""
    end = pd.Timestamp(shape.end)

    def month(months: int, day: int = 1) -> str:
        first = end - pd.DateOffset(months=months)
        return str((first + pd.Timedelta(days=day - 1)).date())

    def last_day(months: int) -> str:
        return str(
            (end - pd.DateOffset(months=months - 1) - pd.Timedelta(days=1)).date()
        )

    return [
        {
            "campaign_id": "winback",
            "campaign_name": "Dormant win-back",
            "target_primary_segments": "dormant",
            "start_date": month(3),
            "conversion_window_days": "30",
            "holdout_share": "0.2",
            "channel": "email",
            "priority": "1",
        },
        {
            "campaign_id": "vip_preview",
            "campaign_name": "High-value early access",
            "target_primary_segments": "high_value",
            "start_date": month(2),
            "end_date": last_day(2),
            "holdout_share": "0.1",
            "channel": "email",
            "priority": "1",
        },
        {
            "campaign_id": "crosssell",
            "campaign_name": "Cross-sell to high and medium value",
            "target_value_tiers": "high|medium",
            "start_date": month(2),
            "end_date": last_day(2),
            "holdout_share": "0.1",
            "channel": "email",
            "priority": "2",
        },
        {
            "campaign_id": "at_risk_nudge",
            "campaign_name": "At-risk SMS nudge",
            "target_rfm_segments": "At Risk|Can't Lose Them|About To Sleep",
            "target_lifecycle_stages": "at_risk",
            "start_date": month(1),
            "conversion_window_days": "30",
            "holdout_share": "0.1",
            "channel": "sms",
            "priority": "1",
        },
        {
            "campaign_id": "potential_offer",
            "campaign_name": "Potential buyers: first-order offer",
            "target_primary_segments": "potential",
            "start_date": month(1, 15),
            "conversion_window_days": "14",
            "holdout_share": "0.1",
            "channel": "push",
            "priority": "1",
        },
    ]


@dataclass(frozen=True)
class CampaignEffects:
    """What :func:`simulate_campaign_effects` adds to the demo.

    Attributes:
        orders: the extra orders (typed, without ids), in time order.
        events: the events of their purchase sessions (typed, without ids;
            ``session_index`` numbers the sessions from 0).
        extra_orders: number of extra orders per demo campaign.
        treated: per campaign with an effect, the sorted ids of the users
            who got the chance of an extra purchase (its treatment bucket
            within the superset of its eligible users).
    """

    orders: pd.DataFrame
    events: pd.DataFrame
    extra_orders: dict[str, int]
    treated: dict[str, np.ndarray]


def simulate_campaign_effects(
    rng: np.random.Generator,
    user_rows: pd.DataFrame,
    order_rows: pd.DataFrame,
    clean_orders: pd.DataFrame,
    purchase_statuses: list[str],
    shape: Shape,
) -> CampaignEffects:
    """The extra purchases the demo campaigns cause, with their sessions.

    For each campaign of CAMPAIGN_EFFECTS with an effect, the users in its
    treatment bucket (see :func:`campaign_buckets`) who consent to
    marketing (a consent value that reads as true), have ordered before the
    start and made no purchase in the CAMPAIGN_SILENCE_DAYS before it (a
    superset of its eligible dormant users) make one extra completed
    purchase with the campaign's probability, at a uniform time in the
    window, of about their usual order value. Who bought when is read off
    the rows as written (``user_rows`` and ``order_rows``, CSV text with
    their untidy values and dirty rows, as staging reads them); the value
    and category of the extra orders off the typed ``clean_orders``.
    """
    consent = user_rows["marketing_opt_in"].astype(str).str.strip().str.lower()
    consenting = set(
        user_rows.loc[consent.isin(["true", "t", "yes", "y", "1"]), "user_id"]
        .astype(str)
        .str.strip()
    )
    written = pd.DataFrame(
        {
            "user_id": order_rows["user_id"].astype(str).str.strip(),
            "ordered_at": pd.to_datetime(
                order_rows["ordered_at"], format="%Y-%m-%d %H:%M:%S", errors="coerce"
            ),
            "is_purchase": order_rows["status"]
            .astype(str)
            .str.strip()
            .str.lower()
            .isin(purchase_statuses),
        }
    )
    end = _seconds(shape.end)
    orders: list[pd.DataFrame] = []
    counts: dict[str, int] = {}
    treated_users: dict[str, np.ndarray] = {}
    for campaign in DEMO_CAMPAIGNS:
        campaign_id = campaign["campaign_id"]
        effect = CAMPAIGN_EFFECTS.get(campaign_id, {})
        probability = effect.get("extra_purchase_probability", 0.0)
        counts[campaign_id] = 0
        if probability == 0.0:
            continue
        start = _seconds(campaign["start_date"])
        window_end = min(start + effect["window_days"] * SECONDS_PER_DAY, end)
        before = clean_orders[clean_orders["ordered_at"] < start]
        start_time = pd.Timestamp(campaign["start_date"])
        silence = start_time - pd.Timedelta(days=CAMPAIGN_SILENCE_DAYS)
        ordered = written[written["ordered_at"] < start_time]
        recent = ordered[(ordered["ordered_at"] >= silence) & ordered["is_purchase"]]
        candidates = np.array(
            sorted(
                (set(ordered["user_id"]) - set(recent["user_id"]))
                & consenting
                & set(before["user_id"])
            )
        )
        buckets = campaign_buckets(candidates, campaign_id)
        treated = candidates[buckets >= float(campaign["holdout_share"])]
        treated_users[campaign_id] = treated
        buyers = treated[rng.random(treated.size) < probability]
        last = before.groupby("user_id").agg(
            amount=("amount", "median"), product_category=("product_category", "last")
        )
        orders.append(
            pd.DataFrame(
                {
                    "user_id": buyers,
                    "ordered_at": rng.integers(start, window_end, buyers.size),
                    "amount": np.round(
                        rng.gamma(4.0, last.loc[buyers, "amount"].to_numpy() / 4.0),
                        2,
                    ).clip(0.01),
                    "status": "completed",
                    "product_category": last.loc[buyers, "product_category"].to_numpy(),
                }
            )
        )
        counts[campaign_id] = int(buyers.size)
    extra = pd.concat(orders, ignore_index=True).sort_values(
        ["ordered_at", "user_id"], ignore_index=True
    )
    times = extra["ordered_at"].to_numpy()
    events = _session_events(
        rng,
        times - rng.integers(120, 1800, times.size),
        np.ones(times.size, dtype=bool),
        times,
        rng.beta(2.0, 12.0, times.size) + 0.05,
        shape.extra_impressions,
    )
    session_events = pd.DataFrame(
        {
            "user_id": extra["user_id"].to_numpy()[events["session_index"]],
            "session_index": events["session_index"],
            "occurred_at": events["occurred_at"],
            "event_type": EVENT_TYPES[events["kind_index"]],
            "duration_seconds": events["duration_seconds"],
            "without_session": events["without_session"],
        }
    )
    return CampaignEffects(extra, session_events, counts, treated_users)


def _number(ids: pd.Series) -> pd.Series:
    """The numeric part of ids such as O00000012 (NaN when none)."""
    return pd.to_numeric(ids.astype(str).str[1:], errors="coerce")


def _insert_in_time_order(
    rows: pd.DataFrame,
    clean: pd.DataFrame,
    id_column: str,
    time_column: str,
    new_rows: pd.DataFrame,
    new_times: np.ndarray,
) -> pd.DataFrame:
    """Insert ``new_rows`` (text) into ``rows`` (text, clean rows in time
    order with dirty rows among them), each right after the clean row of
    ``clean`` (typed, sorted by time) last at or before its time."""
    anchor = np.searchsorted(clean[time_column].to_numpy(), new_times, "right") - 1
    first_row = (
        pd.Series(np.arange(len(rows)), index=rows[id_column]).groupby(level=0).min()
    )
    anchor_ids = clean[id_column].to_numpy()[np.maximum(anchor, 0)]
    after = np.where(anchor >= 0, first_row.loc[anchor_ids].to_numpy() + 1, 0)
    position = np.concatenate([np.arange(len(rows)), after - 0.5])
    combined = pd.concat([rows, new_rows], ignore_index=True)
    order = np.argsort(position, kind="stable")
    return combined.iloc[order].reset_index(drop=True)


def demo_tables(
    seed: int = DEMO_SEED,
    users: int = DEMO_USERS,
    project_dir: Path = Path("."),
) -> tuple[dict[str, pd.DataFrame], dict, CampaignEffects]:
    """The demo seeds as CSV text frames (users, orders, events, campaigns),
    their manifest and the simulated campaign effects, with the statuses and
    event types the dbt project in project_dir accepts."""
    shape = Shape(Vocabulary.from_project(project_dir))
    rng = np.random.default_rng(seed)
    clean_users, clean_orders, clean_events = generate_chunk(
        rng, 1, users, 1, 1, 1, shape
    )
    user_rows, user_counts = make_dirty_users(rng, _as_text(clean_users))
    order_rows, order_counts = make_dirty_orders(
        rng, _as_text(clean_orders), len(clean_orders) + 1
    )
    event_rows, event_counts = make_dirty_events(
        rng, _as_text(clean_events), len(clean_events) + 1
    )
    # The campaigns' effects come last, from their own random stream, so
    # every row above stays as it was without them; the extra rows take the
    # next free ids and their place in time order.
    effects = simulate_campaign_effects(
        np.random.default_rng(
            np.random.SeedSequence(seed, spawn_key=(CAMPAIGN_STREAM,))
        ),
        user_rows,
        order_rows,
        clean_orders,
        list(project_vars(project_dir)["purchase_statuses"]),
        shape,
    )
    extra_orders = effects.orders.copy()
    extra_orders.insert(
        0,
        "order_id",
        _ids("O", int(_number(order_rows["order_id"]).max()) + 1, len(extra_orders), 8),
    )
    order_rows = _insert_in_time_order(
        order_rows,
        clean_orders,
        "order_id",
        "ordered_at",
        _as_text(extra_orders),
        extra_orders["ordered_at"].to_numpy(),
    )
    extra_events = effects.events.copy()
    extra_events.insert(
        0,
        "event_id",
        _ids("E", int(_number(event_rows["event_id"]).max()) + 1, len(extra_events), 9),
    )
    first_session = int(_number(clean_events["session_id"]).max()) + 1
    extra_events.insert(
        2, "session_id", _frame_session_ids(extra_events, first_session)
    )
    event_rows = _insert_in_time_order(
        event_rows,
        clean_events,
        "event_id",
        "occurred_at",
        _as_text(extra_events.drop(columns=["session_index", "without_session"])),
        extra_events["occurred_at"].to_numpy(),
    )
    manifest = {
        "seed": seed,
        "users": users,
        "history": _history(shape),
        "rows": {
            "users": len(user_rows),
            "orders": len(order_rows),
            "events": len(event_rows),
        },
        "rejected": {
            "users": user_counts,
            "orders": order_counts,
            "events": event_counts,
        },
        "campaigns": {
            campaign["campaign_id"]: {"extra_purchase_probability": 0.0}
            | CAMPAIGN_EFFECTS.get(campaign["campaign_id"], {})
            | (
                {"treated_users": len(effects.treated[campaign["campaign_id"]])}
                if campaign["campaign_id"] in effects.treated
                else {}
            )
            | {"extra_orders": effects.extra_orders[campaign["campaign_id"]]}
            for campaign in DEMO_CAMPAIGNS
        },
    }
    frames = {
        "users": user_rows,
        "orders": order_rows,
        "events": event_rows,
        "campaigns": campaigns_frame(DEMO_CAMPAIGNS),
    }
    return frames, manifest, effects


def write_demo(
    out_dir: Path,
    seed: int = DEMO_SEED,
    users: int = DEMO_USERS,
    project_dir: Path = Path("."),
) -> dict:
    """Write the demo seeds (CSV with dirty rows, see :func:`demo_tables`)
    and their manifest; returns the manifest."""
    frames, manifest, _ = demo_tables(seed, users, project_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(out_dir / f"{name}.csv", index=False, lineterminator="\n")
    (out_dir / "_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


PARQUET_SCHEMAS = {
    "users": pa.schema(
        [
            ("user_id", pa.string()),
            ("signed_up_at", pa.timestamp("s")),
            ("birth_date", pa.date32()),
            ("gender", pa.string()),
            ("region", pa.string()),
            ("city", pa.string()),
            ("acquisition_channel", pa.string()),
            ("email", pa.string()),
            ("phone", pa.string()),
            ("marketing_opt_in", pa.bool_()),
        ]
    ),
    "orders": pa.schema(
        [
            ("order_id", pa.string()),
            ("user_id", pa.string()),
            ("ordered_at", pa.timestamp("s")),
            ("amount", pa.float64()),
            ("status", pa.string()),
            ("product_category", pa.string()),
        ]
    ),
    "events": pa.schema(
        [
            ("event_id", pa.string()),
            ("user_id", pa.string()),
            ("session_id", pa.string()),
            ("occurred_at", pa.timestamp("s")),
            ("event_type", pa.string()),
            ("duration_seconds", pa.float64()),
        ]
    ),
}


def _to_arrow(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    columns = {}
    for field in schema:
        values = frame[field.name].to_numpy()
        if pa.types.is_timestamp(field.type):
            values = values.astype("datetime64[s]")
        elif pa.types.is_date32(field.type):
            values = values.astype("datetime64[s]").astype("datetime64[D]")
        columns[field.name] = pa.array(values, type=field.type, from_pandas=True)
    return pa.table(columns, schema=schema)


def write_parquet(
    out_dir: Path,
    users: int,
    seed: int = DEMO_SEED,
    event_days: int = BENCHMARK_EVENT_DAYS,
    chunk_size: int = 50_000,
    progress=sys.stderr,
    project_dir: Path = Path("."),
) -> dict[str, int]:
    """Write clean, typed ``users``/``orders``/``events`` Parquet files.

    Users are generated in chunks so memory stays flat whatever the size;
    a progress line is printed to ``progress`` (None: silent) after every
    chunk. Statuses and event types are those the dbt project in
    ``project_dir`` accepts. The demo's distributions with the sessions of
    the benchmark sizes (3 impressions each, ``sessions_follow_life`` off),
    so files written before the demo's event log grew stay the same.
    """
    shape = Shape(
        Vocabulary.from_project(project_dir),
        event_days=event_days,
        sessions_follow_life=False,
        extra_impressions=BENCHMARK_EXTRA_IMPRESSIONS,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    writers = {
        name: pq.ParquetWriter(out_dir / f"{name}.parquet", schema)
        for name, schema in PARQUET_SCHEMAS.items()
    }
    totals = {"users": 0, "orders": 0, "events": 0}
    sessions = 0
    children = np.random.SeedSequence(seed).spawn(max(1, -(-users // chunk_size)))
    started = time.monotonic()
    try:
        for number, child in enumerate(children):
            first = number * chunk_size
            count = min(chunk_size, users - first)
            chunk = generate_chunk(
                np.random.default_rng(child),
                first + 1,
                count,
                totals["orders"] + 1,
                totals["events"] + 1,
                sessions + 1,
                shape,
            )
            if len(chunk[2]):
                sessions = int(_number(chunk[2]["session_id"]).max())
            for name, frame in zip(("users", "orders", "events"), chunk, strict=True):
                writers[name].write_table(_to_arrow(frame, PARQUET_SCHEMAS[name]))
                totals[name] += len(frame)
            if progress is None:
                continue
            print(
                f"[{first + count:,}/{users:,} users] orders {totals['orders']:,}"
                f"  events {totals['events']:,}"
                f"  ({time.monotonic() - started:.1f}s)",
                file=progress,
                flush=True,
            )
    finally:
        for writer in writers.values():
            writer.close()
    return totals


# --- Benchmark sizes -------------------------------------------------------

SIZES = {"S": 10_000, "M": 100_000, "L": 1_000_000}
SIZE_CHUNK_USERS = 10_000
ROW_GROUP_ROWS = 1_000_000
APPEND_EVENT_SHARE = 0.01
APPEND_ORDER_DAYS = 30


def _arrow_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers as an Arrow string array (fast)."""
    digits = pc.cast(pa.array(numbers, pa.int64()), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(digits, width, "0"), "")


def _year_typo(stamps: np.ndarray) -> np.ndarray:
    """The same moments with the year's last two digits swapped (2026: 2062)."""
    stamps = stamps.astype("datetime64[s]")
    years = stamps.astype("datetime64[Y]")
    year = years.astype(np.int64) + 1970
    typo = year // 100 * 100 + year % 10 * 10 + year // 10 % 10
    typo = np.where(typo > year + 1, typo, year + 40)
    typo_years = (typo - 1970).astype("datetime64[Y]")
    return typo_years.astype("datetime64[s]") + (stamps - years.astype("datetime64[s]"))


def _blank_or_null(rng: np.random.Generator, count: int) -> pa.Array:
    return pa.array(np.where(rng.random(count) < 0.5, None, "  "), pa.string())


def _values(rows: pa.Table, name: str) -> np.ndarray:
    return rows[name].to_numpy()


def _dirty_typed_users(
    rng: np.random.Generator, users: pa.Table
) -> tuple[pa.Table, dict[str, int]]:
    """About 0.4% dirty users: duplicates (exact or with an e-mail in
    capitals, the same after cleaning) and users without an id."""
    dirt = _Dirt(rng, users, users.num_rows // 1000)
    dirt.add("duplicate_user_id", 1, fresh=False)
    dirt.add(
        "duplicate_user_id",
        1,
        fresh=False,
        email=lambda rows: pc.utf8_upper(rows["email"]).combine_chunks(),
    )
    dirt.add(
        "missing_user_id",
        2,
        user_id=lambda rows: _blank_or_null(rng, rows.num_rows),
    )
    return dirt.table(), dirt.counts


def _dirty_typed_orders(
    rng: np.random.Generator, orders: pa.Table, next_order: int
) -> tuple[pa.Table, dict[str, int], int]:
    """About 0.44% dirty orders, each breaking exactly one rule."""
    dirt = _Dirt(rng, orders, orders.num_rows // 2500, ("order_id", "O", 8, next_order))
    dirt.add("duplicate_order_id", 2, fresh=False)
    dirt.add(
        "duplicate_order_id",
        1,
        fresh=False,
        amount=lambda rows: np.round(
            _values(rows, "amount") * rng.uniform(0.5, 1.5, rows.num_rows), 2
        ).clip(0.01),
    )
    dirt.add(
        "missing_order_id",
        1,
        order_id=lambda rows: _blank_or_null(rng, rows.num_rows),
    )
    dirt.add(
        "missing_user_id", 1, user_id=lambda rows: _blank_or_null(rng, rows.num_rows)
    )
    dirt.add(
        "unknown_user",
        1,
        user_id=lambda rows: _arrow_ids(
            "X", rng.integers(1, 10_000_000, rows.num_rows), 7
        ),
    )
    dirt.add(
        "negative_amount",
        1,
        amount=lambda rows: -np.maximum(_values(rows, "amount"), 0.01),
    )
    dirt.add(
        "invalid_amount", 1, amount=lambda rows: pa.nulls(rows.num_rows, pa.float64())
    )
    dirt.add(
        "invalid_ordered_at",
        1,
        ordered_at=lambda rows: pa.nulls(rows.num_rows, pa.timestamp("s")),
    )
    dirt.add(
        "invalid_status",
        1,
        status=lambda rows: rng.choice(["shipped?", "lost", "??"], rows.num_rows),
    )
    dirt.add(
        "future_timestamp",
        1,
        ordered_at=lambda rows: _year_typo(_values(rows, "ordered_at")),
    )
    return dirt.table(), dirt.counts, dirt.next_id


def _dirty_typed_events(
    rng: np.random.Generator, events: pa.Table, next_event: int
) -> tuple[pa.Table, dict[str, int], int]:
    """About 0.44% dirty events, each breaking exactly one rule."""
    dirt = _Dirt(rng, events, events.num_rows // 2500, ("event_id", "E", 9, next_event))
    dirt.add("duplicate_event_id", 2, fresh=False)
    dirt.add(
        "duplicate_event_id",
        1,
        fresh=False,
        occurred_at=lambda rows: (
            _values(rows, "occurred_at")
            - rng.integers(1, 60, rows.num_rows).astype("timedelta64[s]")
        ),
    )
    dirt.add(
        "missing_event_id",
        1,
        event_id=lambda rows: _blank_or_null(rng, rows.num_rows),
    )
    dirt.add(
        "missing_user_id", 1, user_id=lambda rows: _blank_or_null(rng, rows.num_rows)
    )
    dirt.add(
        "unknown_user",
        1,
        user_id=lambda rows: _arrow_ids(
            "X", rng.integers(1, 10_000_000, rows.num_rows), 7
        ),
    )
    dirt.add(
        "invalid_occurred_at",
        1,
        occurred_at=lambda rows: pa.nulls(rows.num_rows, pa.timestamp("s")),
    )
    dirt.add(
        "invalid_event_type",
        1,
        event_type=lambda rows: rng.choice(
            ["clikc", "unknown", "pageview", ""], rows.num_rows
        ),
    )
    dirt.add(
        "invalid_duration",
        1,
        duration_seconds=lambda rows: rng.choice(
            [-30.0, 90_000.0, 1e99], rows.num_rows
        ),
    )
    dirt.add(
        "future_timestamp",
        1,
        occurred_at=lambda rows: _year_typo(_values(rows, "occurred_at")),
    )
    return dirt.table(), dirt.counts, dirt.next_id


def _orders_table(
    columns: dict[str, np.ndarray],
    user_ids: pa.Array,
    first_order: int,
    statuses: tuple[str, ...],
) -> pa.Table:
    return pa.table(
        {
            "order_id": _arrow_ids(
                "O", first_order + np.arange(columns["ordered_at"].size), 8
            ),
            "user_id": user_ids.take(columns["user_index"]),
            "ordered_at": pa.array(columns["ordered_at"].astype("datetime64[s]")),
            "amount": pa.array(columns["amount"], pa.float64()),
            "status": pa.array(statuses).take(columns["status_index"]),
            "product_category": pa.array(CATEGORIES).take(columns["category_index"]),
        },
        schema=PARQUET_SCHEMAS["orders"],
    )


def _events_table(
    columns: dict[str, np.ndarray],
    user_ids: pa.Array,
    first_event: int,
    first_session: int,
) -> pa.Table:
    return pa.table(
        {
            "event_id": _arrow_ids(
                "E", first_event + np.arange(columns["occurred_at"].size), 9
            ),
            "user_id": user_ids.take(columns["user_index"]),
            "session_id": _session_ids(
                columns["session_index"], columns["without_session"], first_session
            ),
            "occurred_at": pa.array(columns["occurred_at"].astype("datetime64[s]")),
            "event_type": pa.array(EVENT_TYPES).take(columns["kind_index"]),
            "duration_seconds": pa.array(
                columns["duration_seconds"], pa.float64(), from_pandas=True
            ),
        },
        schema=PARQUET_SCHEMAS["events"],
    )


def _sized_chunk(
    rng: np.random.Generator,
    first_user: int,
    count: int,
    shape: Shape,
    next_ids: dict[str, int],
) -> tuple[dict[str, pa.Table], dict[str, dict[str, int]], dict[str, int]]:
    """One chunk of users, orders and events as Arrow tables with dirty rows.

    Returns the tables, the dirty rows per (table, reason) and the next free
    order, event and session ids.
    """
    users = generate_users(rng, first_user, count, shape)
    signed_up = users["signed_up_at"].to_numpy()
    orders, died_at = _order_columns(rng, signed_up, shape)
    events = _event_columns(
        rng, signed_up, orders["user_index"], orders["ordered_at"], died_at, shape
    )
    user_ids = pa.array(users["user_id"].to_numpy(), pa.string())
    sessions = (
        int(events["session_index"].max()) + 1 if events["session_index"].size else 0
    )
    user_table, user_counts = _dirty_typed_users(
        rng, _to_arrow(users, PARQUET_SCHEMAS["users"])
    )
    order_table, order_counts, next_order = _dirty_typed_orders(
        rng,
        _orders_table(orders, user_ids, next_ids["order"], shape.vocabulary.statuses),
        next_ids["order"] + orders["ordered_at"].size,
    )
    event_table, event_counts, next_event = _dirty_typed_events(
        rng,
        _events_table(events, user_ids, next_ids["event"], next_ids["session"]),
        next_ids["event"] + events["occurred_at"].size,
    )
    tables = {"users": user_table, "orders": order_table, "events": event_table}
    counts = {"users": user_counts, "orders": order_counts, "events": event_counts}
    next_ids = {
        "order": next_order,
        "event": next_event,
        "session": next_ids["session"] + sessions,
    }
    return tables, counts, next_ids


class _RowGroupWriter:
    """A Parquet file written chunk by chunk in row groups of ``rows`` rows."""

    def __init__(self, path: Path, schema: pa.Schema, rows: int = ROW_GROUP_ROWS):
        self.writer = pq.ParquetWriter(path, schema)
        self.rows = rows
        self.pending = schema.empty_table()

    def write(self, table: pa.Table) -> None:
        self.pending = pa.concat_tables([self.pending, table])
        while self.pending.num_rows >= self.rows:
            self.writer.write_table(
                self.pending.slice(0, self.rows), row_group_size=self.rows
            )
            self.pending = self.pending.slice(self.rows)

    def close(self) -> None:
        if self.pending.num_rows:
            self.writer.write_table(self.pending, row_group_size=self.rows)
        self.writer.close()


def _size_paths(out_dir: Path) -> dict[str, Path]:
    return {
        "users": out_dir / "users.parquet",
        "orders": out_dir / "orders" / "part-0000.parquet",
        "events": out_dir / "events" / "part-0000.parquet",
    }


def _add_counts(total: dict[str, int], counts: dict[str, int]) -> None:
    for reason, count in counts.items():
        total[reason] = total.get(reason, 0) + count


def write_size(
    out_dir: Path,
    size: str = "S",
    users: int | None = None,
    seed: int = DEMO_SEED,
    chunk_users: int = SIZE_CHUNK_USERS,
    progress=sys.stderr,
    project_dir: Path = Path("."),
) -> dict:
    """Write a benchmark size: Parquet with ~0.4% dirty rows and a manifest.

    ``DIR/users.parquet``, ``DIR/orders/part-0000.parquet`` and
    ``DIR/events/part-0000.parquet`` are streamed chunk by chunk of
    ``chunk_users`` users (memory stays flat) under :meth:`Shape.benchmark`:
    about 10 orders and 100 events per user. ``DIR/campaigns.csv`` defines
    the five campaigns of :func:`size_campaigns` (no simulated effect), so a
    benchmark also measures their assignment and measurement. ``users``
    overrides the user count of ``size`` (the manifest then says
    ``custom``). Statuses and event types are those the dbt project in
    ``project_dir`` accepts. Refuses a folder that already holds generated
    data. Returns the manifest.
    """
    count = SIZES[size] if users is None else users
    paths = _size_paths(out_dir)
    if (out_dir / "_manifest.json").exists() or any(
        path.parent.is_dir() and any(path.parent.glob("*.parquet"))
        for path in paths.values()
    ):
        raise FileExistsError(f"{out_dir} already holds generated data")
    shape = Shape.benchmark(Vocabulary.from_project(project_dir))
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    writers = {
        name: _RowGroupWriter(path, PARQUET_SCHEMAS[name])
        for name, path in paths.items()
    }
    rows = {"users": 0, "orders": 0, "events": 0}
    rejected: dict[str, dict[str, int]] = {"users": {}, "orders": {}, "events": {}}
    next_ids = {"order": 1, "event": 1, "session": 1}
    children = np.random.SeedSequence(seed).spawn(max(1, -(-count // chunk_users)))
    started = time.monotonic()
    try:
        for number, child in enumerate(children):
            first = number * chunk_users
            tables, counts, next_ids = _sized_chunk(
                np.random.default_rng(child),
                first + 1,
                min(chunk_users, count - first),
                shape,
                next_ids,
            )
            for name, table in tables.items():
                writers[name].write(table)
                rows[name] += table.num_rows
                _add_counts(rejected[name], counts[name])
            if progress is not None:
                print(
                    f"[{min(first + chunk_users, count):,}/{count:,} users]"
                    f" orders {rows['orders']:,}  events {rows['events']:,}"
                    f"  ({time.monotonic() - started:.1f}s)",
                    file=progress,
                    flush=True,
                )
    finally:
        for writer in writers.values():
            writer.close()
    manifest = {
        "size": size if count == SIZES[size] else "custom",
        "seed": seed,
        "users": count,
        "history": _history(shape),
        "last_day": str(np.datetime64(shape.end, "D") - 1),
        "rows": rows,
        "rejected": rejected,
        "next_ids": next_ids,
        "increments": [],
    }
    campaigns = size_campaigns(shape)
    campaigns_frame(campaigns).to_csv(
        out_dir / "campaigns.csv", index=False, lineterminator="\n"
    )
    manifest["campaigns"] = [campaign["campaign_id"] for campaign in campaigns]
    _write_manifest(out_dir, manifest)
    return manifest


def _write_manifest(out_dir: Path, manifest: dict) -> None:
    path = out_dir / "_manifest.json"
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(manifest, indent=2) + "\n")
    temporary.replace(path)


def _next_part(out_dir: Path) -> int:
    numbers = [
        int(path.name[5:9])
        for table in ("orders", "events")
        for path in (out_dir / table).glob("part-*.parquet")
        if path.name[5:9].isdigit()
    ]
    return max(numbers, default=-1) + 1


def append_day(
    out_dir: Path,
    seed: int | None = None,
    progress=sys.stderr,
    project_dir: Path = Path("."),
) -> dict:
    """Add the next day of clean orders and events to a benchmark size.

    The day after the manifest's ``last_day`` gets about as many orders as
    the average day of the last 30 days (from buyers of those days, around
    their recent order values, with categories drawn around that order's
    category by :meth:`BuyerTastes.around`) and events amounting to 1% of
    the folder's event rows: a purchase session for every order, then
    browsing sessions of recent buyers and of any user. They go to
    ``orders/part-NNNN-DAY`` and ``events/part-NNNN-DAY`` (NNNN after every
    existing part) with the next free ids. The same folder and seed give
    the same day. Statuses and event types are those the dbt project in
    ``project_dir`` accepts. Returns the updated manifest.
    """
    vocabulary = Vocabulary.from_project(project_dir)
    manifest = json.loads((out_dir / "_manifest.json").read_text())
    seed = manifest["seed"] if seed is None else seed
    day = np.datetime64(manifest["last_day"], "D") + 1
    day_start = int(day.astype("datetime64[s]").astype(np.int64))
    day_end = day_start + SECONDS_PER_DAY
    rng = np.random.default_rng([seed, int(day.astype(np.int64))])
    started = time.monotonic()

    since = np.datetime64(day - APPEND_ORDER_DAYS, "s")
    recent = ds.dataset(out_dir / "orders", format="parquet").to_table(
        columns=["user_id", "ordered_at", "amount", "product_category"],
        filter=(ds.field("ordered_at") >= pa.scalar(since, pa.timestamp("s")))
        & (ds.field("ordered_at") < pa.scalar(day.astype("datetime64[s]")))
        & (ds.field("amount") >= 0),
    )
    # Sorted, so the day does not depend on the order files are scanned in.
    recent = recent.filter(pc.starts_with(recent["user_id"], "U")).sort_by(
        [(name, "ascending") for name in recent.column_names]
    )
    n_orders = round(recent.num_rows / APPEND_ORDER_DAYS)
    pick = _picks(rng, recent.num_rows, n_orders)
    order_users = recent["user_id"].take(pick).combine_chunks()
    favourite = pc.fill_null(
        pc.index_in(recent["product_category"].take(pick), pa.array(CATEGORIES)), 0
    ).to_numpy()
    orders = {
        "user_index": np.arange(n_orders),
        "ordered_at": np.sort(rng.integers(day_start, day_end, n_orders)),
        "amount": np.round(
            rng.gamma(4.0, recent["amount"].take(pick).to_numpy() / 4.0), 2
        ).clip(0.01),
        "status_index": rng.choice(
            len(vocabulary.statuses), n_orders, p=vocabulary.status_weights
        ),
    }
    tastes = _stream(rng, CATEGORY_STREAM)
    orders["category_index"] = BuyerTastes.around(tastes, favourite).categories(
        tastes, np.arange(n_orders)
    )

    # A purchase session per order, then more browsing sessions than needed
    # (about 5 events each) by recent buyers and by any user, in random
    # order: the sessions beyond 1% of the folder's events are cut.
    target = round(manifest["rows"]["events"] * APPEND_EVENT_SHARE)
    n_browse = 2 * target // 5 + 10
    from_buyers = (rng.random(n_browse) < 0.6) & (recent.num_rows > 0)
    n_from_buyers = int(from_buyers.sum())
    browse_pool = pa.concat_arrays(
        [
            recent["user_id"]
            .take(_picks(rng, recent.num_rows, n_from_buyers))
            .combine_chunks(),
            _arrow_ids(
                "U",
                rng.integers(1, manifest["users"] + 1, n_browse - n_from_buyers),
                7,
            ),
        ]
    )
    browse_index = np.empty(n_browse, dtype=np.int64)
    browse_index[from_buyers] = np.arange(n_from_buyers)
    browse_index[~from_buyers] = n_from_buyers + np.arange(n_browse - n_from_buyers)
    session_users = pa.concat_arrays([order_users, browse_pool.take(browse_index)])
    session_buys = np.arange(n_orders + n_browse) < n_orders
    lead = rng.integers(120, 1800, n_orders)
    session_start = np.concatenate(
        [
            np.maximum(orders["ordered_at"] - lead, day_start),
            rng.integers(day_start, day_end, n_browse),
        ]
    )
    purchase_time = np.concatenate(
        [orders["ordered_at"], np.zeros(n_browse, dtype=np.int64)]
    )
    is_buyer = np.concatenate([np.ones(n_orders, dtype=bool), from_buyers])
    ctr = rng.beta(2.0, 12.0, session_buys.size) + np.where(is_buyer, 0.05, 0.0)
    events = _session_events(rng, session_start, session_buys, purchase_time, ctr)
    inside = events["occurred_at"] < day_end
    per_session = np.bincount(
        events["session_index"][inside], minlength=session_buys.size
    )
    kept_sessions = session_buys | (
        (np.cumsum(per_session) <= target) & (per_session > 0)
    )
    keep = inside & kept_sessions[events["session_index"]]
    events = {name: values[keep] for name, values in events.items()}
    events["user_index"] = events["session_index"]
    events["session_index"] = (np.cumsum(kept_sessions) - 1)[events["session_index"]]
    order = np.lexsort((events["session_index"], events["occurred_at"]))
    events = {name: values[order] for name, values in events.items()}

    next_ids = manifest["next_ids"]
    tables = {
        "orders": _orders_table(
            orders, order_users, next_ids["order"], vocabulary.statuses
        ),
        "events": _events_table(
            events, session_users, next_ids["event"], next_ids["session"]
        ),
    }
    part = _next_part(out_dir)
    files = {}
    for name, table in tables.items():
        files[name] = f"{name}/part-{part:04d}-{day}.parquet"
        pq.write_table(table, out_dir / files[name], row_group_size=ROW_GROUP_ROWS)
        manifest["rows"][name] += table.num_rows
    manifest["next_ids"] = {
        "order": next_ids["order"] + tables["orders"].num_rows,
        "event": next_ids["event"] + tables["events"].num_rows,
        "session": next_ids["session"] + int(kept_sessions.sum()),
    }
    manifest["last_day"] = str(day)
    manifest["increments"].append(
        {
            "day": str(day),
            "seed": seed,
            "rows": {name: table.num_rows for name, table in tables.items()},
            "files": files,
        }
    )
    _write_manifest(out_dir, manifest)
    if progress is not None:
        print(
            f"[{day}] orders {tables['orders'].num_rows:,}"
            f"  events {tables['events'].num_rows:,}"
            f"  ({time.monotonic() - started:.1f}s)",
            file=progress,
            flush=True,
        )
    return manifest


def _picks(rng: np.random.Generator, population: int, count: int) -> np.ndarray:
    """``count`` random row numbers below ``population`` (with replacement)."""
    if count == 0 or population == 0:
        return np.empty(0, dtype=np.int64)
    return rng.integers(0, population, count)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.demo_data",
        description="Generate deterministic raw users, orders and events.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="output folder (default seeds/demo for the CSV demo seeds)",
    )
    parser.add_argument(
        "--users",
        type=int,
        help=f"number of users (default {DEMO_USERS:,}; with --size it"
        " overrides the size's user count, for quick tries)",
    )
    parser.add_argument("--seed", type=int, help=f"random seed (default {DEMO_SEED})")
    parser.add_argument(
        "--format",
        choices=["csv", "parquet"],
        help="csv (default): the demo seeds with dirty rows; parquet: clean,"
        " typed users/orders/events.parquet",
    )
    parser.add_argument(
        "--event-days",
        type=int,
        default=BENCHMARK_EVENT_DAYS,
        help="days of behaviour events before the end of history (parquet)",
    )
    parser.add_argument(
        "--size",
        choices=list(SIZES),
        help="benchmark size, S/M/L = 10k/100k/1M users with about 10 orders"
        " and 100 events each: Parquet with ~0.4%% dirty rows in OUT/users.parquet,"
        " OUT/orders/, OUT/events/ and OUT/_manifest.json (needs --out)",
    )
    parser.add_argument(
        "--append-day",
        type=Path,
        metavar="DIR",
        help="add the next day of orders and events (1%% of the events) to a"
        " folder written by --size",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=Path("."),
        help="the dbt project whose vars order_statuses and event_types the data"
        " uses (default: the working directory)",
    )
    args = parser.parse_args(argv)
    if args.users is not None and args.users < 1:
        parser.error("--users must be at least 1")
    seed = DEMO_SEED if args.seed is None else args.seed
    if args.append_day is not None:
        if args.size or args.out or args.format or args.users:
            parser.error("--append-day takes only a folder (and --seed)")
        if not (args.append_day / "_manifest.json").is_file():
            parser.error(f"{args.append_day} holds no _manifest.json from --size")
        manifest = append_day(args.append_day, args.seed, project_dir=args.project_dir)
        print(
            f"appended {manifest['increments'][-1]['rows']} rows to {args.append_day}"
        )
    elif args.size is not None:
        if args.out is None:
            parser.error("--size needs --out")
        if args.format == "csv":
            parser.error("--size writes Parquet")
        try:
            manifest = write_size(
                args.out, args.size, args.users, seed, project_dir=args.project_dir
            )
        except FileExistsError as error:
            parser.error(f"{error}: remove it or choose another --out")
        print(f"wrote {manifest['rows']} rows to {args.out}")
    elif args.format == "parquet":
        out = args.out or Path("seeds/demo")
        totals = write_parquet(
            out,
            args.users or DEMO_USERS,
            seed,
            args.event_days,
            project_dir=args.project_dir,
        )
        print(f"wrote {totals} rows to {out}")
    else:
        out = args.out or Path("seeds/demo")
        manifest = write_demo(out, seed, args.users or DEMO_USERS, args.project_dir)
        print(f"wrote {manifest['rows']} rows to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
