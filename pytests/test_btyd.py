"""BG/NBD and Gamma-Gamma (``segmentation.methods.btyd``) against the published results.

The published numbers are those of Fader, Hardie & Lee (2005), "Counting your
customers the easy way" (BG/NBD) and Fader & Hardie's Gamma-Gamma note, on the
CDNOW sample (``fixtures/cdnow_sample.csv``, see ``fixtures/README.md``):
2,357 customers, calibration period 1997-01-01 to 1997-09-30 (39 weeks), time
in weeks on a daily grid.

The models are fitted on the summaries the warehouse computes, as in
production: the CDNOW build of conftest (``cdnow_build``), whose
``int_users_btyd_holdout_summarized`` is the 39-week calibration summary and
``int_users_btyd_summarized`` the summary of the full 78 weeks. Those SQL
summaries are checked against ``reference_summary``, a test oracle written
here in pandas (lifetimes' ``summary_data_from_transaction_data``), itself
checked on a hand-computed example.

Which summary reproduces the Gamma-Gamma numbers: the same 39-week
calibration summary as the BG/NBD, with the transactions of one customer on
one day merged into one transaction whose value is their sum (as lifetimes'
summary does); the monetary value is the mean dollar value of the repeat
transactions, over the 946 repeat buyers. Counting every transaction line
separately, or using the full 78 weeks, misses them (tested below).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import pandas as pd
import pytest
from conftest import Build
from scipy.special import beta, gamma, gammaln
from scipy.stats import poisson

from segmentation.methods import btyd
from segmentation.methods.btyd import base
from segmentation.methods.btyd.base import BtydFit

FIXTURE = Path(__file__).parent / "fixtures" / "cdnow_sample.csv"
CALIBRATION_END = "1997-09-30"
HOLDOUT_END = "1998-06-30"

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_BGNBD_LOG_LIKELIHOOD = -9582.4
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
TOLERANCE = 0.005  # each parameter within 0.5% of the published value
SUMMARY_COLUMNS = ["frequency", "recency", "T", "monetary_value"]


# --- the test oracle: the BTYD summary in pandas -------------------------------


def _period_start(dates: pd.Series, freq: Literal["D", "W"]) -> pd.Series:
    """The first day of each date's period (weeks start on Monday)."""
    days = dates.dt.normalize()
    if freq == "W":
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    return days


def reference_summary(
    frame: pd.DataFrame,
    customer_col: str,
    date_col: str,
    value_col: str | None,
    observation_end: str | date | datetime | pd.Timestamp,
    freq: Literal["D", "W"] = "D",
    time_unit: Literal["D", "W"] | None = None,
) -> pd.DataFrame:
    """Test oracle: the BTYD summary per customer from a transaction log.

    Written independently of the SQL of ``int_users_btyd_summarized``, which
    it checks; not runtime code. Equivalent to lifetimes'
    ``summary_data_from_transaction_data`` with ``freq`` and
    ``freq_multiplier = 7`` when ``time_unit='W'`` and ``freq='D'``:
    transactions are grouped into periods of ``freq`` (days, or weeks
    starting on Monday), the values of one period summed, so several
    purchases in a period count as one.

    - frequency: periods with a purchase, minus the first one;
    - recency: time from the first to the last purchase period;
    - T: time from the first purchase period to the period of
      ``observation_end``;
    - monetary_value: mean value of the repeat periods (0 without any).

    One difference: transactions after ``observation_end`` are dropped before
    grouping into periods (lifetimes keeps those in the same week as the end
    when ``freq='W'``, which lets the future leak in).

    Args:
        frame: one row per transaction.
        customer_col: customer id column.
        date_col: transaction date or timestamp column.
        value_col: transaction value column, or None for no monetary value.
        observation_end: last day of the observation window (inclusive).
        freq: period of the purchase grid: "D" (days) or "W" (weeks).
        time_unit: unit of recency and T, "D" or "W"; defaults to ``freq``.
            The published CDNOW results use ``freq="D"``, ``time_unit="W"``.

    Returns:
        One row per customer with a purchase by ``observation_end``, indexed
        by ``customer_col``, float columns frequency, recency, T (and
        monetary_value when ``value_col`` is given).
    """
    unit_days = {"D": 1.0, "W": 7.0}[time_unit or freq]
    dates = pd.to_datetime(frame[date_col])
    end_day = pd.Timestamp(observation_end)
    if dates.dt.tz is not None and end_day.tz is None:
        end_day = end_day.tz_localize(dates.dt.tz)
    end_day = end_day.normalize()
    end_period = _period_start(pd.Series([end_day]), freq).iloc[0]
    in_window = (dates.dt.normalize() <= end_day).to_numpy()
    transactions = pd.DataFrame(
        {
            "customer": frame[customer_col].to_numpy()[in_window],
            "period": _period_start(dates[in_window], freq).to_numpy(),
            "value": (
                frame[value_col].to_numpy(dtype=np.float64)[in_window]
                if value_col is not None
                else np.zeros(int(in_window.sum()))
            ),
        }
    )
    periods = transactions.groupby(["customer", "period"], as_index=False)[
        "value"
    ].sum()
    by_customer = periods.groupby("customer")["period"]
    first = by_customer.transform("min")
    day = pd.Timedelta(days=unit_days)
    summary = pd.DataFrame(
        {
            "frequency": by_customer.size().astype(np.float64) - 1.0,
            "recency": (by_customer.max() - by_customer.min()) / day,
            "T": (end_period - by_customer.min()) / day,
        }
    )
    if value_col is not None:
        repeat = periods[periods["period"] != first]
        summary["monetary_value"] = (
            repeat.groupby("customer")["value"].mean().reindex(summary.index)
        ).fillna(0.0)
    summary.index.name = customer_col
    return summary.astype(np.float64)


def cdnow_reference(frame: pd.DataFrame, end: str) -> pd.DataFrame:
    """The oracle's CDNOW summary to ``end``, as in the papers."""
    return reference_summary(
        frame,
        "customer_id",
        "transaction_date",
        "dollar_value",
        end,
        freq="D",
        time_unit="W",
    )


# --- the summaries the warehouse computes ------------------------------------


def sql_summary(build: Build, model: str) -> pd.DataFrame:
    """A BTYD summary model of the CDNOW build, indexed by customer id."""
    rows = build.query(
        "select user_id, frequency, recency, customer_age, monetary_value"
        f" from intermediate.{model}"
    )
    frame = pd.DataFrame(rows, columns=["customer_id", *SUMMARY_COLUMNS])
    frame["customer_id"] = frame["customer_id"].astype(int)
    return frame.set_index("customer_id").sort_index().astype(np.float64)


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return pd.read_csv(FIXTURE, parse_dates=["transaction_date"])


@pytest.fixture(scope="module")
def calibration(cdnow_build: Build) -> pd.DataFrame:
    """The 39-week calibration summary (SQL, calibration and holdout mode)."""
    return sql_summary(cdnow_build, "int_users_btyd_holdout_summarized")


@pytest.fixture(scope="module")
def full_period(cdnow_build: Build) -> pd.DataFrame:
    """The summary of the full 78 weeks (SQL, as of 1998-07-01)."""
    return sql_summary(cdnow_build, "int_users_btyd_summarized")


@pytest.fixture(scope="module")
def bgnbd(calibration: pd.DataFrame) -> btyd.BgNbdFit:
    return btyd.fit_bgnbd(
        calibration["frequency"], calibration["recency"], calibration["T"]
    )


@pytest.fixture(scope="module")
def gamma_gamma(calibration: pd.DataFrame) -> btyd.GammaGammaFit:
    return btyd.fit_gamma_gamma(calibration["frequency"], calibration["monetary_value"])


# --- the fixture and the summary ---------------------------------------------


def test_fixture_is_the_cdnow_sample(transactions: pd.DataFrame) -> None:
    assert len(transactions) == 6919
    assert transactions["customer_id"].nunique() == 2357
    first = transactions.groupby("customer_id")["transaction_date"].min()
    assert first.min() == pd.Timestamp("1997-01-01")
    assert first.max() <= pd.Timestamp("1997-03-31")
    assert transactions["transaction_date"].max() == pd.Timestamp(HOLDOUT_END)


def test_calibration_summary_matches_the_papers(
    calibration: pd.DataFrame, full_period: pd.DataFrame
) -> None:
    # The counts of Hardie's published CDNOW summary.
    assert len(calibration) == 2357
    assert (calibration["frequency"] == 0).sum() == 1411
    assert calibration["frequency"].sum() == 2457
    # Customer 1: purchases on 1997-01-01, 01-18 and 08-02 in calibration.
    assert calibration.loc[1].to_dict() == pytest.approx(
        {
            "frequency": 2,
            "recency": 213 / 7,  # 30.43 weeks
            "T": 272 / 7,  # 38.86 weeks
            "monetary_value": (29.73 + 14.96) / 2,
        }
    )
    assert full_period["frequency"].sum() - calibration["frequency"].sum() == 1882


@pytest.mark.parametrize(
    ("summary", "end"),
    [("calibration", CALIBRATION_END), ("full_period", HOLDOUT_END)],
)
def test_sql_summaries_equal_the_reference(
    request: pytest.FixtureRequest,
    transactions: pd.DataFrame,
    summary: str,
    end: str,
) -> None:
    """The warehouse's summaries are the oracle's, customer by customer."""
    ours = request.getfixturevalue(summary)
    reference = cdnow_reference(transactions, end)
    assert list(ours.index) == list(reference.index)
    assert list(ours.columns) == list(reference.columns) == SUMMARY_COLUMNS
    for column in ("frequency", "recency", "T"):
        np.testing.assert_array_equal(ours[column], reference[column], column)
    # Day sums are exact decimals in SQL, float sums here.
    np.testing.assert_allclose(
        ours["monetary_value"], reference["monetary_value"], rtol=1e-12, atol=0
    )


def test_reference_summary_merges_periods_and_ignores_the_future() -> None:
    """The oracle itself, on a hand-computed example."""
    frame = pd.DataFrame(
        {
            "user_id": ["a", "a", "a", "a", "a", "b", "c"],
            "ordered_at": pd.to_datetime(
                [
                    "2024-01-01 09:00",
                    "2024-01-01 17:30",
                    "2024-01-03 00:00",
                    "2024-01-10 00:00",
                    "2024-02-01 00:00",  # after the end
                    "2024-01-05 00:00",
                    "2024-01-20 00:00",  # first purchase after the end
                ]
            ),
            "amount": [10.0, 5.0, 20.0, 40.0, 99.0, 7.0, 3.0],
        }
    )
    daily = reference_summary(
        frame, "user_id", "ordered_at", "amount", "2024-01-14", freq="D"
    )
    assert list(daily.index) == ["a", "b"]
    assert daily.loc["a"].to_dict() == {
        "frequency": 2.0,  # 01-03 and 01-10; the two on 01-01 are one
        "recency": 9.0,
        "T": 13.0,
        "monetary_value": 30.0,  # mean of 20 and 40; the first day is left out
    }
    assert daily.loc["b"].to_dict() == {
        "frequency": 0.0,
        "recency": 0.0,
        "T": 9.0,
        "monetary_value": 0.0,
    }
    weekly = reference_summary(
        frame, "user_id", "ordered_at", "amount", "2024-01-14", freq="W"
    )
    assert weekly.loc["a"].to_dict() == {
        "frequency": 1.0,  # week of 01-08; 01-01 and 01-03 share a week
        "recency": 1.0,
        "T": 1.0,
        "monetary_value": 40.0,
    }
    in_weeks = reference_summary(
        frame, "user_id", "ordered_at", None, "2024-01-14", time_unit="W"
    )
    assert list(in_weeks.columns) == ["frequency", "recency", "T"]
    assert in_weeks.loc["a", "recency"] == pytest.approx(9 / 7)


# --- the published parameters ------------------------------------------------


def test_bgnbd_reproduces_the_published_parameters(bgnbd: btyd.BgNbdFit) -> None:
    assert bgnbd.converged, bgnbd.fallback_reason
    assert bgnbd.fallback_reason is None
    assert bgnbd.n_customers == 2357
    for name, published in PUBLISHED_BGNBD.items():
        assert getattr(bgnbd, name) == pytest.approx(published, rel=TOLERANCE), name
    assert bgnbd.log_likelihood == pytest.approx(
        PUBLISHED_BGNBD_LOG_LIKELIHOOD, rel=TOLERANCE
    )
    # Reported to one decimal in the paper: -9582.4 is -9582.45 to -9582.35.
    assert bgnbd.log_likelihood == pytest.approx(
        PUBLISHED_BGNBD_LOG_LIKELIHOOD, abs=0.05
    )


def test_gamma_gamma_reproduces_the_published_parameters(
    gamma_gamma: btyd.GammaGammaFit,
) -> None:
    assert gamma_gamma.converged, gamma_gamma.fallback_reason
    assert gamma_gamma.n_customers == 946  # repeat buyers in calibration
    assert gamma_gamma.n_excluded == 1411
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        fitted = getattr(gamma_gamma, name)
        assert fitted == pytest.approx(published, rel=TOLERANCE), name


def test_other_spend_summaries_miss_the_published_gamma_gamma(
    transactions: pd.DataFrame, full_period: pd.DataFrame
) -> None:
    """Documents which summary the papers used, by ruling out the others."""

    def misses(fit: btyd.GammaGammaFit) -> bool:
        return any(
            abs(getattr(fit, name) / published - 1) > TOLERANCE
            for name, published in PUBLISHED_GAMMA_GAMMA.items()
        )

    assert misses(
        btyd.fit_gamma_gamma(full_period["frequency"], full_period["monetary_value"])
    )
    # Every transaction line counted, same-day lines not merged.
    lines = transactions[transactions["transaction_date"] <= CALIBRATION_END]
    lines = lines.sort_values(["customer_id", "transaction_date"], kind="stable")
    repeat = lines[lines.groupby("customer_id").cumcount() > 0]
    per_line = repeat.groupby("customer_id")["dollar_value"].agg(["size", "mean"])
    assert misses(btyd.fit_gamma_gamma(per_line["size"], per_line["mean"]))


def test_published_conditional_expectations(bgnbd: btyd.BgNbdFit) -> None:
    # Hardie's spreadsheet for the paper: customer with x = 2, t_x = 30.43,
    # T = 38.86 expects 1.226 purchases in the next 39 weeks.
    expected = btyd.expected_purchases(bgnbd, 39, 2, 30.43, 38.86)
    assert expected[0] == pytest.approx(1.226, abs=1e-3)
    # A new customer (x = t_x = T = 0): the paper's unconditional E[X(t)].
    times = [0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0]
    published = [0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576]
    new_customer = [btyd.expected_purchases(bgnbd, t, 0, 0, 0)[0] for t in times]
    assert new_customer == pytest.approx(published, abs=1e-3)


# --- the likelihood and the optimum ------------------------------------------


def naive_bgnbd_likelihood(
    params: tuple[float, float, float, float],
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """Equation 6 of the paper, written out directly (fine on CDNOW's sizes)."""
    r, alpha, a, b = params
    purchase = gamma(r + x) * alpha**r / gamma(r)
    alive = beta(a, b + x) / beta(a, b) / (alpha + T) ** (r + x)
    dropped = np.where(
        x > 0,
        beta(a + 1, b + np.maximum(x, 1) - 1) / beta(a, b) / (alpha + t_x) ** (r + x),
        0.0,
    )
    return np.log(purchase * (alive + dropped))


def test_log_likelihood_matches_the_formula_written_out(
    bgnbd: btyd.BgNbdFit, calibration: pd.DataFrame
) -> None:
    x, t_x, T = (
        calibration[column].to_numpy() for column in ("frequency", "recency", "T")
    )
    fast = btyd.bgnbd_log_likelihood(bgnbd, x, t_x, T)
    naive = naive_bgnbd_likelihood((bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b), x, t_x, T)
    np.testing.assert_allclose(fast, naive, rtol=1e-10)
    assert fast.sum() == pytest.approx(bgnbd.log_likelihood, rel=1e-12)


def test_fits_are_local_maxima(
    bgnbd: btyd.BgNbdFit,
    gamma_gamma: btyd.GammaGammaFit,
    calibration: pd.DataFrame,
) -> None:
    x, t_x, T, m = (
        calibration[column].to_numpy()
        for column in ("frequency", "recency", "T", "monetary_value")
    )
    best = np.array([bgnbd.r, bgnbd.alpha, bgnbd.a, bgnbd.b])
    for index in range(4):
        for step in (0.999, 1.001):
            moved = best.copy()
            moved[index] *= step
            ll = btyd.bgnbd_log_likelihood(tuple(moved), x, t_x, T).sum()
            assert ll < bgnbd.log_likelihood
    best = np.array([gamma_gamma.p, gamma_gamma.q, gamma_gamma.v])
    at_best = np.nansum(btyd.gamma_gamma_log_likelihood(gamma_gamma, x, m))
    assert at_best == pytest.approx(gamma_gamma.log_likelihood, rel=1e-12)
    for index in range(3):
        for step in (0.999, 1.001):
            moved = best.copy()
            moved[index] *= step
            ll = np.nansum(btyd.gamma_gamma_log_likelihood(tuple(moved), x, m))
            assert ll < gamma_gamma.log_likelihood


def test_aggregated_fit_equals_the_unaggregated_fit(
    bgnbd: btyd.BgNbdFit,
    gamma_gamma: btyd.GammaGammaFit,
    calibration: pd.DataFrame,
) -> None:
    # Aggregate outside the module, so the weights path is tested on its own.
    rows = calibration.groupby(["frequency", "recency", "T"], as_index=False).size()
    assert len(rows) < len(calibration)
    weighted = btyd.fit_bgnbd(
        rows["frequency"], rows["recency"], rows["T"], rows["size"]
    )
    assert weighted.converged
    assert weighted.n_customers == bgnbd.n_customers
    for name in ("r", "alpha", "a", "b"):
        assert getattr(weighted, name) == pytest.approx(getattr(bgnbd, name), rel=1e-6)
    assert weighted.log_likelihood == pytest.approx(bgnbd.log_likelihood, abs=1e-6)

    spend = calibration.groupby(["frequency", "monetary_value"], as_index=False).size()
    weighted_gg = btyd.fit_gamma_gamma(
        spend["frequency"], spend["monetary_value"], spend["size"]
    )
    assert weighted_gg.converged
    assert weighted_gg.n_customers == gamma_gamma.n_customers
    for name in ("p", "q", "v"):
        assert getattr(weighted_gg, name) == pytest.approx(
            getattr(gamma_gamma, name), rel=1e-6
        )


def test_fit_does_not_depend_on_the_time_unit(calibration: pd.DataFrame) -> None:
    in_days = btyd.fit_bgnbd(
        calibration["frequency"], calibration["recency"] * 7, calibration["T"] * 7
    )
    in_weeks = btyd.fit_bgnbd(
        calibration["frequency"], calibration["recency"], calibration["T"]
    )
    assert in_days.alpha == pytest.approx(in_weeks.alpha * 7, rel=1e-6)
    for name in ("r", "a", "b"):
        assert getattr(in_days, name) == pytest.approx(
            getattr(in_weeks, name), rel=1e-6
        )


# --- predictions -------------------------------------------------------------


def test_predictions_are_finite_and_in_range(
    bgnbd: btyd.BgNbdFit,
    gamma_gamma: btyd.GammaGammaFit,
    calibration: pd.DataFrame,
) -> None:
    x, t_x, T, m = (
        calibration[column].to_numpy()
        for column in ("frequency", "recency", "T", "monetary_value")
    )
    alive = btyd.probability_alive(bgnbd, x, t_x, T)
    assert np.all(np.isfinite(alive))
    assert np.all((alive >= 0) & (alive <= 1))
    assert np.all(alive[x == 0] == 1.0)  # BG/NBD: no dropout before a repeat

    horizons = [1, 4, 13, 39, 78, 260]
    purchases = np.array(
        [btyd.expected_purchases(bgnbd, t, x, t_x, T) for t in horizons]
    )
    assert np.all(np.isfinite(purchases))
    assert np.all(purchases > 0)
    assert np.all(np.diff(purchases, axis=0) > 0)  # increase with the horizon
    assert np.all(btyd.expected_purchases(bgnbd, 0, x, t_x, T) == 0)

    spend = btyd.expected_average_spend(gamma_gamma, x, m)
    assert np.all(np.isfinite(spend))
    population = gamma_gamma.p * gamma_gamma.v / (gamma_gamma.q - 1)
    assert np.all(spend[x == 0] == pytest.approx(population))
    # Shrinkage: between the customer's own mean and the population mean.
    repeat = x > 0
    low = np.minimum(m[repeat], population) - 1e-9
    high = np.maximum(m[repeat], population) + 1e-9
    assert np.all((spend[repeat] >= low) & (spend[repeat] <= high))

    clv = btyd.customer_lifetime_value(
        bgnbd,
        gamma_gamma,
        x,
        t_x,
        T,
        m,
        periods_per_month=4.345,
        months=12,
        discount_rate=0.01,
    )
    assert np.all(np.isfinite(clv))
    assert np.all(clv > 0)


def test_customer_lifetime_value_discounts_monthly_expectations(
    bgnbd: btyd.BgNbdFit,
    gamma_gamma: btyd.GammaGammaFit,
    calibration: pd.DataFrame,
) -> None:
    x, t_x, T, m = (
        calibration[column].to_numpy()[:200]
        for column in ("frequency", "recency", "T", "monetary_value")
    )
    weeks = btyd.PERIODS_PER_MONTH["W"]
    spend = btyd.expected_average_spend(gamma_gamma, x, m)

    def clv(months: int, rate: float) -> np.ndarray:
        return btyd.customer_lifetime_value(
            bgnbd,
            gamma_gamma,
            x,
            t_x,
            T,
            m,
            periods_per_month=weeks,
            months=months,
            discount_rate=rate,
        )

    # No discounting: the monthly increments add up to the whole horizon.
    undiscounted = spend * btyd.expected_purchases(bgnbd, 12 * weeks, x, t_x, T)
    np.testing.assert_allclose(clv(12, 0.0), undiscounted, rtol=1e-10)
    # Discounting month by month, written out.
    months = np.arange(1, 13)
    cumulative = np.array(
        [btyd.expected_purchases(bgnbd, month * weeks, x, t_x, T) for month in months]
    )
    increments = np.diff(cumulative, axis=0, prepend=0.0)
    by_hand = spend * (increments / 1.01 ** months[:, None]).sum(axis=0)
    np.testing.assert_allclose(clv(12, 0.01), by_hand, rtol=1e-10)
    assert np.all(clv(12, 0.01) < clv(12, 0.0))
    assert np.all(clv(24, 0.01) > clv(12, 0.01))


# --- fallbacks ---------------------------------------------------------------


def assert_falls_back(fit: btyd.BgNbdFit | btyd.GammaGammaFit, reason: str) -> None:
    assert not fit.converged
    assert fit.fallback_reason is not None
    assert reason in fit.fallback_reason


def test_bgnbd_falls_back_without_raising() -> None:
    rng = np.random.default_rng(7)
    T = rng.integers(10, 40, 300).astype(float)
    zeros = np.zeros(300)
    assert_falls_back(btyd.fit_bgnbd([], [], []), "too few customers")
    assert_falls_back(btyd.fit_bgnbd([2], [10.0], [30.0]), "too few customers")
    assert_falls_back(btyd.fit_bgnbd(zeros, zeros, T), "too few repeat buyers")
    identical = np.ones(300)
    assert_falls_back(
        btyd.fit_bgnbd(identical * 2, identical * 10, identical * 30), "identical"
    )
    x = rng.integers(1, 6, 300).astype(float)
    assert_falls_back(btyd.fit_bgnbd(x, T + 1, T), "recency greater than T")
    with_nan = T.copy()
    with_nan[3] = np.nan
    assert_falls_back(btyd.fit_bgnbd(x, T / 2, with_nan), "non-finite")
    # Everyone buys right up to T: no dropout, a / b runs off to 0.
    assert_falls_back(btyd.fit_bgnbd(x, T, T), "not identified")


def test_bgnbd_reports_non_convergence(calibration: pd.DataFrame) -> None:
    fit = btyd.fit_bgnbd(
        calibration["frequency"],
        calibration["recency"],
        calibration["T"],
        max_iterations=2,
    )
    assert_falls_back(fit, "no convergence")
    assert fit.iterations == 2
    assert np.isfinite(fit.log_likelihood)  # kept for the model table


def test_gamma_gamma_falls_back_without_raising() -> None:
    rng = np.random.default_rng(8)
    x = rng.integers(1, 6, 300).astype(float)
    assert_falls_back(btyd.fit_gamma_gamma([], []), "too few repeat buyers")
    assert_falls_back(
        btyd.fit_gamma_gamma(np.zeros(300), np.zeros(300)), "too few repeat buyers"
    )
    assert_falls_back(btyd.fit_gamma_gamma([3.0], [25.0]), "too few repeat buyers")
    assert_falls_back(
        btyd.fit_gamma_gamma(np.full(300, 2.0), np.full(300, 25.0)), "identical"
    )
    # Every customer spends exactly the same: no spread, q runs off.
    assert_falls_back(btyd.fit_gamma_gamma(x, np.full(300, 25.0)), "not identified")
    # Non-positive and missing means are left out, not an error.
    m = rng.gamma(6.0, 5.0, 300)
    m[:5] = [0.0, -3.0, np.nan, np.inf, 0.0]
    fit = btyd.fit_gamma_gamma(x, m)
    assert fit.converged
    assert (fit.n_customers, fit.n_excluded) == (295, 5)


def test_predictions_from_a_fallback_are_nan(
    bgnbd: btyd.BgNbdFit, gamma_gamma: btyd.GammaGammaFit
) -> None:
    failed_bgnbd = btyd.fit_bgnbd(np.zeros(50), np.zeros(50), np.full(50, 30.0))
    failed_gg = btyd.fit_gamma_gamma(np.zeros(50), np.zeros(50))
    x, t_x, T, m = [0.0, 2.0], [0.0, 10.0], [30.0, 30.0], [0.0, 25.0]
    assert np.all(np.isnan(btyd.probability_alive(failed_bgnbd, x, t_x, T)))
    assert np.all(np.isnan(btyd.expected_purchases(failed_bgnbd, 10, x, t_x, T)))
    assert np.all(np.isnan(btyd.expected_average_spend(failed_gg, x, m)))
    for pair in ((failed_bgnbd, gamma_gamma), (bgnbd, failed_gg)):
        clv = btyd.customer_lifetime_value(
            *pair, x, t_x, T, m, periods_per_month=30, months=12, discount_rate=0.01
        )
        assert np.all(np.isnan(clv))


# --- the shared fitter, with a model of its own --------------------------------


@dataclass(frozen=True)
class PoissonFit(BtydFit):
    """A one-parameter model: purchases per customer ~ Poisson(rate)."""

    PARAMETERS: ClassVar[tuple[str, ...]] = ("rate",)

    rate: float


def fit_poisson(counts: np.ndarray, *, max_iterations: int = 1_000) -> PoissonFit:
    """A new model is its likelihood, its parameter names and its start."""
    started = time.perf_counter()
    if len(counts) < 2:
        return base.maximise_likelihood(
            PoissonFit,
            base.NotFitted("too few customers", {"n_customers": len(counts)}),
            max_iterations=max_iterations,
            started=started,
        )
    total, n = float(counts.sum()), len(counts)
    constant = float(gammaln(counts + 1).sum())

    def objective(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        rate = float(np.exp(log_params[0]))
        log_likelihood = total * np.log(rate) - n * rate - constant
        gradient = np.array([(total / rate - n) * rate])
        return -log_likelihood / n, -gradient / n

    problem = base.Problem(
        objective=objective,
        start=np.array([1.0]),
        total_weight=n,
        counts={"n_customers": n, "n_distinct": len(np.unique(counts))},
    )
    return base.maximise_likelihood(
        PoissonFit, problem, max_iterations=max_iterations, started=started
    )


def test_the_shared_fitter_fits_a_new_model_from_its_likelihood() -> None:
    counts = np.random.default_rng(3).poisson(2.5, 500).astype(float)
    fit = fit_poisson(counts)
    assert fit.converged, fit.fallback_reason
    assert fit.fallback_reason is None
    assert fit.params == (fit.rate,)
    assert fit.rate == pytest.approx(counts.mean(), rel=1e-8)  # the MLE
    expected = poisson.logpmf(counts, counts.mean()).sum()
    assert fit.log_likelihood == pytest.approx(expected, rel=1e-10)
    assert (fit.n_customers, fit.n_distinct) == (500, len(np.unique(counts)))
    assert fit.iterations > 0
    # Why not, and the counts known so far, with NaN parameters.
    assert_falls_back(fit_poisson(counts[:1]), "too few customers")
    assert fit_poisson(counts[:1]).n_customers == 1
    assert np.isnan(fit_poisson(counts[:1]).rate)
    assert_falls_back(fit_poisson(counts, max_iterations=1), "no convergence")
    # A rate the data cannot bound runs off: not identified.
    assert_falls_back(fit_poisson(np.zeros(50)), "not identified")
