"""Generated raw-data folders for the propensity validation tests
(``test_propensity_validation.py``): small, deterministic, written in the
raw-data contract (orders.csv, users.csv and, for the leakage folder,
events.csv).

- :func:`write_leakage_data`: every user's history up to the cut-off is
  drawn from one distribution (one purchase rate, one session rate, the
  same demographics for all), and the only signal lies after it: in each
  of the two label months, an independent random half of the users buys
  and browses heavily. A model that sees only what was known at its
  snapshot date can do no better than chance.
- :func:`write_degenerate_data`: four groups of users whose labels leave
  every out-of-time window short of a model (too few negatives, too few
  positives, a single class) at the vars of the degenerate test.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

LEAKAGE_SEED = 16
LEAKAGE_USERS = 3000
# The build's as-of date T and the monthly feature snapshots of the
# 30-day out-of-time window: train at S0 (labels in May), evaluate at S1
# (labels in June).
LEAKAGE_AS_OF = "2026-07-01"
LEAKAGE_SNAPSHOTS = ("2026-05-01", "2026-06-01")
# The background every user shares: one purchase every 90 days and one
# session every 10 days on average (Poisson, memoryless, so the past says
# nothing about the future), events from 2026-01-01.
BACKGROUND_PURCHASE_DAYS = 90.0
BACKGROUND_SESSION_DAYS = 10.0
EVENTS_FROM = "2026-01-01"
# The signal of a label month: one purchase and this many extra sessions.
SIGNAL_MONTHS = (("2026-05-01", "2026-06-01"), ("2026-06-01", "2026-07-01"))
SIGNAL_SESSIONS = 8

GENDERS = ["female", "male", "other"]
REGIONS = ["north", "south", "east", "west"]
CHANNELS = ["organic_search", "paid_search", "social", "referral"]


def _day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


def _timestamps(start: pd.Timestamp, seconds: np.ndarray) -> list[str]:
    return [
        (start + pd.Timedelta(seconds=int(second))).strftime("%Y-%m-%d %H:%M:%S")
        for second in seconds
    ]


def _users(rng: np.random.Generator, ids: list[str], first: str, last: str):
    span = (_day(last) - _day(first)).total_seconds()
    signed_up = _timestamps(_day(first), rng.uniform(0, span, len(ids)))
    birth = [
        (dt.date(1960, 1, 1) + dt.timedelta(days=int(days))).isoformat()
        for days in rng.integers(0, 40 * 365, len(ids))
    ]
    return pd.DataFrame(
        {
            "user_id": ids,
            "signed_up_at": signed_up,
            "birth_date": birth,
            "gender": rng.choice(GENDERS, len(ids)),
            "region": rng.choice(REGIONS, len(ids)),
            "acquisition_channel": rng.choice(CHANNELS, len(ids)),
        }
    )


def _session_events(
    rng: np.random.Generator,
    user_ids: np.ndarray,
    starts: np.ndarray,
    first_session: int,
    heavy: bool,
) -> pd.DataFrame:
    """The events of sessions (one user and start time each): light
    sessions are an impression and a page view; heavy ones add a click,
    two more page views and an add-to-cart."""
    kinds = ["impression", "page_view"]
    if heavy:
        kinds += ["click", "page_view", "page_view", "add_to_cart"]
    count, width = len(user_ids), len(kinds)
    numbers = np.arange(first_session, first_session + count)
    offsets = pd.to_timedelta(np.tile(np.arange(width) * 60, count), unit="s")
    frame = pd.DataFrame(
        {
            "user_id": np.repeat(np.asarray(user_ids), width),
            "session_id": np.repeat([f"s{number:07d}" for number in numbers], width),
            "at": np.repeat(pd.DatetimeIndex(starts), width) + offsets,
            "event_type": np.tile(kinds, count),
        }
    )
    frame["duration_seconds"] = rng.integers(20, 240, len(frame))
    return frame


def leakage_tables() -> dict[str, pd.DataFrame]:
    """orders, users and events of the leakage folder; see the module."""
    rng = np.random.default_rng(LEAKAGE_SEED)
    ids = [f"u{number:05d}" for number in range(1, LEAKAGE_USERS + 1)]
    users = _users(rng, ids, "2025-01-01", "2025-07-01")
    end = _day(LEAKAGE_AS_OF)
    signed_up = pd.to_datetime(users["signed_up_at"])

    orders, sessions = [], []
    events_from = _day(EVENTS_FROM)
    for user, start in zip(ids, signed_up, strict=True):
        span = (end - start).total_seconds()
        count = rng.poisson(span / 86400 / BACKGROUND_PURCHASE_DAYS)
        for second in rng.uniform(0, span, count):
            orders.append((user, start + pd.Timedelta(seconds=float(second))))
        span = (end - events_from).total_seconds()
        count = rng.poisson(span / 86400 / BACKGROUND_SESSION_DAYS)
        for second in rng.uniform(0, span, count):
            sessions.append((user, events_from + pd.Timedelta(seconds=float(second))))
    heavy = []
    for first, last in SIGNAL_MONTHS:
        chosen = np.flatnonzero(rng.random(LEAKAGE_USERS) < 0.5)
        span = (_day(last) - _day(first)).total_seconds() - 3600
        for index in chosen:
            at = rng.uniform(0, span, SIGNAL_SESSIONS + 1)
            orders.append((ids[index], _day(first) + pd.Timedelta(seconds=at[0])))
            heavy += [
                (ids[index], _day(first) + pd.Timedelta(seconds=second))
                for second in at[1:]
            ]

    order_frame = pd.DataFrame(orders, columns=["user_id", "at"])
    order_frame = order_frame.sort_values(["at", "user_id"], ignore_index=True)
    order_frame.insert(0, "order_id", [f"o{n:07d}" for n in range(len(order_frame))])
    order_frame["ordered_at"] = order_frame.pop("at").dt.strftime("%Y-%m-%d %H:%M:%S")
    order_frame["amount"] = np.round(rng.lognormal(3.5, 0.5, len(order_frame)), 2)
    order_frame["status"] = "completed"

    light = pd.DataFrame(sessions, columns=["user_id", "at"])
    busy = pd.DataFrame(heavy, columns=["user_id", "at"])
    events = pd.concat(
        [
            _session_events(rng, light["user_id"].to_numpy(), light["at"], 0, False),
            _session_events(
                rng, busy["user_id"].to_numpy(), busy["at"], len(light), True
            ),
        ],
        ignore_index=True,
    )
    events = events.sort_values(["at", "session_id"], kind="stable", ignore_index=True)
    events.insert(0, "event_id", [f"e{n:08d}" for n in range(len(events))])
    events["occurred_at"] = events.pop("at").dt.strftime("%Y-%m-%d %H:%M:%S")
    events = events[
        [
            "event_id",
            "user_id",
            "session_id",
            "occurred_at",
            "event_type",
            "duration_seconds",
        ]
    ]
    return {"orders": order_frame, "users": users, "events": events}


def write_leakage_data(folder: Path) -> Path:
    """The leakage folder (see the module) as CSV files in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in leakage_tables().items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


# The degenerate folder: as-of date, first snapshot of its monthly history
# and its groups of users.
DEGENERATE_AS_OF = "2026-07-01"
DEGENERATE_HISTORY_FROM = "2026-03-01"
WEEKLY_BUYERS = 150  # buy every 7 days from 2025-12-01: never churn
NEVER_BUYERS = 50  # signed up, never buy
APRIL_BUYERS = 30  # buy once, in April 2026, then stop
MAY_BUYERS = 30  # buy once, in May 2026, then stop
DEGENERATE_USERS = WEEKLY_BUYERS + NEVER_BUYERS + APRIL_BUYERS + MAY_BUYERS


def degenerate_tables() -> dict[str, pd.DataFrame]:
    """orders and users of the degenerate folder (no events).

    With horizons 30, 60 and 365 days, monthly snapshots from 2026-03-01
    and T = 2026-07-01 (min class size 100), the out-of-time windows are:

    - will_purchase, 30 days (train 2026-05-01, labels in May; evaluate
      2026-06-01, labels in June): training positives the weekly and May
      buyers (180), negatives the never and April buyers (80 < 100): too
      few negatives. 60 days (train 2026-03-01, labels in March and April;
      evaluate 2026-05-01, labels in May and June): training negatives the
      never and May buyers (80): too few negatives.
    - will_churn, 30 days (the users who bought in the 30 days before the
      snapshot): training at 2026-05-01 the weekly and April buyers, of
      whom the April buyers churn (30 < 100); evaluation at 2026-06-01 the
      weekly and May buyers, the May buyers churn (30): both classes, too
      few positives. 60 days: at 2026-03-01 only the weekly buyers bought
      in the 60 days before, and none churns: a single class.
    - 365 days: no snapshot a year back: no history.
    """
    rng = np.random.default_rng(61)
    groups = (
        ["w"] * WEEKLY_BUYERS
        + ["n"] * NEVER_BUYERS
        + ["a"] * APRIL_BUYERS
        + ["m"] * MAY_BUYERS
    )
    ids = [f"{group}{number:04d}" for number, group in enumerate(groups, start=1)]
    users = _users(rng, ids, "2025-10-01", "2025-11-30")
    orders = []
    for user, group in zip(ids, groups, strict=True):
        if group == "w":
            day = _day("2025-12-01") + pd.Timedelta(days=int(rng.integers(0, 7)))
            while day < _day(DEGENERATE_AS_OF):
                orders.append((user, day + pd.Timedelta(hours=12)))
                day += pd.Timedelta(days=7)
        elif group in ("a", "m"):
            first = "2026-04-10" if group == "a" else "2026-05-10"
            day = _day(first) + pd.Timedelta(days=int(rng.integers(0, 15)))
            orders.append((user, day + pd.Timedelta(hours=12)))
    frame = pd.DataFrame(orders, columns=["user_id", "at"])
    frame = frame.sort_values(["at", "user_id"], ignore_index=True)
    frame.insert(0, "order_id", [f"d{n:06d}" for n in range(len(frame))])
    frame["ordered_at"] = frame.pop("at").dt.strftime("%Y-%m-%d %H:%M:%S")
    frame["amount"] = np.round(rng.lognormal(3.5, 0.4, len(frame)), 2)
    frame["status"] = "completed"
    return {"orders": frame, "users": users}


def write_degenerate_data(folder: Path) -> Path:
    """The degenerate folder (see :func:`degenerate_tables`) in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in degenerate_tables().items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder
