"""MBG/NBD (``segmentation.methods.btyd.mbg_nbd``) on the CDNOW sample.

The modified BG/NBD of Batislam, Denizel & Filiztekin (2007) has no
published CDNOW estimates, so the reference is an independent
implementation: lifetimes 0.11.3's ``ModifiedBetaGeoFitter``, fitted live in
these tests on the same summary (lifetimes is imported here only; the
package never imports it). The summary is the CDNOW 39-week calibration
summary in weeks computed by test_btyd's oracle (``cdnow_reference``), so no
dbt build is needed; test_btyd checks that oracle against the warehouse's SQL
summary, customer by customer.

Measured on that summary: r = 0.5248, alpha = 6.183, a = 0.8914, b = 1.614,
log-likelihood -9582.14 (BG/NBD: -9582.43 with its 4 parameters), each
parameter within 1.3e-6 relative of lifetimes' estimate; the probability
alive ranks the customers who buy again in the 39-week holdout with a ROC-AUC
of 0.687 (BG/NBD's: 0.316, worse than chance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes import ModifiedBetaGeoFitter
from scipy.special import beta, gamma, gammaln, hyp2f1
from sklearn.metrics import roc_auc_score
from test_btyd import CALIBRATION_END, FIXTURE, HOLDOUT_END, cdnow_reference

from segmentation.methods.btyd import bg_nbd, mbg_nbd
from segmentation.methods.btyd.base import purchase_histories
from segmentation.methods.btyd.mbg_nbd import MbgNbdFit

TOLERANCE = 0.005  # the bar: each parameter within 0.5%
PARAMETERS = ("r", "alpha", "a", "b")


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return pd.read_csv(FIXTURE, parse_dates=["transaction_date"])


@pytest.fixture(scope="module")
def calibration(transactions: pd.DataFrame) -> pd.DataFrame:
    """CDNOW's 39-week calibration summary, in weeks (test_btyd's oracle)."""
    return cdnow_reference(transactions, CALIBRATION_END)


@pytest.fixture(scope="module")
def histories(calibration: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """(frequency, recency, T) of every calibration customer."""
    return tuple(
        calibration[column].to_numpy() for column in ("frequency", "recency", "T")
    )


@pytest.fixture(scope="module")
def mbgnbd(histories: tuple[np.ndarray, ...]) -> MbgNbdFit:
    return mbg_nbd.fit_mbgnbd(*histories)


@pytest.fixture(scope="module")
def lifetimes_fit(histories: tuple[np.ndarray, ...]) -> ModifiedBetaGeoFitter:
    """lifetimes 0.11.3's MBG/NBD fitted on the same summary (its default
    tolerance, 1e-7; a tighter one ends in a precision-loss error)."""
    return ModifiedBetaGeoFitter().fit(*histories)


def lifetimes_at(fit: MbgNbdFit) -> ModifiedBetaGeoFitter:
    """lifetimes' MBG/NBD formulas at our parameters (no fit of its own)."""
    model = ModifiedBetaGeoFitter()
    model.params_ = pd.Series(dict(zip(PARAMETERS, fit.params, strict=True)))
    return model


def converged_fit(r: float, alpha: float, a: float, b: float) -> MbgNbdFit:
    """A converged fit with the given parameters (for prediction tests)."""
    return MbgNbdFit(
        r=r,
        alpha=alpha,
        a=a,
        b=b,
        log_likelihood=0.0,
        n_customers=1,
        n_distinct=1,
        converged=True,
        iterations=0,
        fit_seconds=0.0,
    )


def with_params(fit: MbgNbdFit, **params: float) -> MbgNbdFit:
    """``fit`` with some parameters changed."""
    return converged_fit(**dict(zip(PARAMETERS, fit.params, strict=True)) | params)


# --- the estimates against an independent implementation -----------------------


def test_fit_matches_lifetimes_modified_beta_geo_fitter(
    mbgnbd: MbgNbdFit,
    lifetimes_fit: ModifiedBetaGeoFitter,
    histories: tuple[np.ndarray, ...],
) -> None:
    assert mbgnbd.converged, mbgnbd.fallback_reason
    assert mbgnbd.fallback_reason is None
    assert (mbgnbd.n_customers, mbgnbd.n_distinct) == (2357, 1016)
    reference = lifetimes_fit.params_
    for name in PARAMETERS:
        ours = getattr(mbgnbd, name)
        assert ours == pytest.approx(reference[name], rel=TOLERANCE), name
        # How close: measured 1.3e-6 at most (b), lifetimes' own tolerance.
        assert ours == pytest.approx(reference[name], rel=1e-5), name
    # Our optimum is at least as likely as lifetimes' (to rounding).
    theirs = mbg_nbd.mbgnbd_log_likelihood(tuple(reference), *histories).sum()
    assert mbgnbd.log_likelihood >= theirs - 1e-8
    assert mbgnbd.log_likelihood == pytest.approx(-9582.1357, abs=1e-4)


def test_the_comparison_tells_mbgnbd_from_bgnbd(
    lifetimes_fit: ModifiedBetaGeoFitter, histories: tuple[np.ndarray, ...]
) -> None:
    """The 0.5% check has teeth: BG/NBD, the nearest model, misses it."""
    bgnbd = bg_nbd.fit_bgnbd(*histories)
    assert bgnbd.converged
    misses = [
        name
        for name in PARAMETERS
        if abs(getattr(bgnbd, name) / lifetimes_fit.params_[name] - 1) > TOLERANCE
    ]
    assert misses == list(PARAMETERS)


def test_predictions_match_lifetimes_on_every_customer(
    mbgnbd: MbgNbdFit,
    lifetimes_fit: ModifiedBetaGeoFitter,
    histories: tuple[np.ndarray, ...],
) -> None:
    x, t_x, T = histories
    alive = mbg_nbd.probability_alive(mbgnbd, x, t_x, T)
    same_params = lifetimes_at(mbgnbd)
    # The same formulas at the same parameters.
    np.testing.assert_allclose(
        alive, same_params.conditional_probability_alive(x, t_x, T), rtol=1e-12
    )
    for horizon in (1, 13, 39, 78):
        ours = mbg_nbd.expected_purchases(mbgnbd, horizon, x, t_x, T)
        theirs = same_params.conditional_expected_number_of_purchases_up_to_time(
            horizon, x, t_x, T
        )
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, err_msg=str(horizon))
    # Each from its own fit.
    np.testing.assert_allclose(
        alive, lifetimes_fit.conditional_probability_alive(x, t_x, T), rtol=1e-5
    )
    np.testing.assert_allclose(
        mbg_nbd.expected_purchases(mbgnbd, 39, x, t_x, T),
        lifetimes_fit.conditional_expected_number_of_purchases_up_to_time(
            39, x, t_x, T
        ),
        rtol=1e-5,
    )
    # A new customer (x = t_x = T = 0): the unconditional expectation.
    for horizon in (1.0, 39.0, 78.0):
        new_customer = mbg_nbd.expected_purchases(mbgnbd, horizon, 0, 0, 0)[0]
        unconditional = same_params.expected_number_of_purchases_up_to_time(horizon)
        assert new_customer == pytest.approx(unconditional, rel=1e-10)


# --- the likelihood, its gradient and the optimum -------------------------------


def naive_mbgnbd_likelihood(
    params: tuple[float, ...], x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Batislam et al. (2007), Appendix A, written out directly (no logs;
    fine on CDNOW's sizes)."""
    r, alpha, a, b = params
    purchase = gamma(r + x) * alpha**r / gamma(r)
    alive = beta(a, b + x + 1) / beta(a, b) / (alpha + T) ** (r + x)
    dropped = beta(a + 1, b + x) / beta(a, b) / (alpha + t_x) ** (r + x)
    return np.log(purchase * (alive + dropped))


def test_log_likelihood_matches_the_formula_written_out(
    mbgnbd: MbgNbdFit, histories: tuple[np.ndarray, ...]
) -> None:
    fast = mbg_nbd.mbgnbd_log_likelihood(mbgnbd, *histories)
    naive = naive_mbgnbd_likelihood(mbgnbd.params, *histories)
    np.testing.assert_allclose(fast, naive, rtol=1e-10)
    assert fast.sum() == pytest.approx(mbgnbd.log_likelihood, rel=1e-12)
    # Elsewhere than at the optimum too, and the fitter's objective is its mean.
    params = (0.3, 12.0, 2.5, 4.0)
    fast = mbg_nbd.mbgnbd_log_likelihood(params, *histories)
    np.testing.assert_allclose(
        fast, naive_mbgnbd_likelihood(params, *histories), rtol=1e-10
    )
    objective, _ = mbg_nbd._mbgnbd_objective(np.log(params), prepared(histories))
    assert -objective * len(fast) == pytest.approx(fast.sum(), rel=1e-12)
    # The check tells the models apart: BG/NBD's likelihood at the same
    # parameters differs for every customer (one-time buyers included).
    bgnbd = bg_nbd.bgnbd_log_likelihood(params, *histories)
    assert np.all(np.abs(bgnbd - fast) > 1e-3)


def prepared(histories: tuple[np.ndarray, ...], weights=None) -> mbg_nbd._MbgNbdData:
    """The fitter's aggregated data, as ``fit_mbgnbd`` prepares it."""
    valid = purchase_histories(
        *histories, weights, min_customers=20, min_repeat_buyers=10
    )
    return mbg_nbd._mbgnbd_data(valid.frequency, valid.recency, valid.T, valid.weights)


def central_differences(
    data: mbg_nbd._MbgNbdData, log_params: np.ndarray
) -> np.ndarray:
    step = 1e-6
    return np.array(
        [
            (
                mbg_nbd._mbgnbd_objective(log_params + step * unit, data)[0]
                - mbg_nbd._mbgnbd_objective(log_params - step * unit, data)[0]
            )
            / (2 * step)
            for unit in np.eye(4)
        ]
    )


@pytest.mark.parametrize(
    "params",
    [(0.5248, 6.183, 0.8914, 1.614), (1.0, 5.0, 2.0, 3.0), (0.3, 20.0, 0.5, 0.8)],
)
def test_analytic_gradient_matches_finite_differences(
    histories: tuple[np.ndarray, ...], params: tuple[float, ...]
) -> None:
    data = prepared(histories)
    log_params = np.log(params)
    _, analytic = mbg_nbd._mbgnbd_objective(log_params, data)
    numeric = central_differences(data, log_params)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_analytic_gradient_with_weights_and_large_frequencies() -> None:
    rng = np.random.default_rng(11)
    T = rng.uniform(1, 104, 400)
    x = rng.poisson(rng.gamma(0.8, 20.0, 400)).astype(float)
    t_x = np.where(x > 0, T * rng.uniform(0, 1, 400), 0.0)
    weights = rng.integers(1, 50, 400).astype(float)
    data = prepared((x, t_x, T), weights)
    assert data.total_weight == weights.sum()
    for params in [(0.98, 2.66, 0.88, 17.4), (3.0, 0.7, 5.0, 0.5)]:
        log_params = np.log(params)
        _, analytic = mbg_nbd._mbgnbd_objective(log_params, data)
        numeric = central_differences(data, log_params)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_fit_is_a_local_maximum(
    mbgnbd: MbgNbdFit, histories: tuple[np.ndarray, ...]
) -> None:
    best = np.array(mbgnbd.params)
    for index in range(4):
        for step in (0.999, 1.001):
            moved = best.copy()
            moved[index] *= step
            ll = mbg_nbd.mbgnbd_log_likelihood(tuple(moved), *histories).sum()
            assert ll < mbgnbd.log_likelihood


def test_aggregated_fit_equals_the_plain_fit(
    mbgnbd: MbgNbdFit, calibration: pd.DataFrame
) -> None:
    # Aggregate outside the module, so the weights path is tested on its own.
    rows = calibration.groupby(["frequency", "recency", "T"], as_index=False).size()
    assert len(rows) == mbgnbd.n_distinct < len(calibration)
    weighted = mbg_nbd.fit_mbgnbd(
        rows["frequency"], rows["recency"], rows["T"], rows["size"]
    )
    assert weighted.converged
    assert (weighted.n_customers, weighted.n_distinct) == (2357, 1016)
    for name in PARAMETERS:
        assert getattr(weighted, name) == pytest.approx(getattr(mbgnbd, name), rel=1e-6)
    assert weighted.log_likelihood == pytest.approx(mbgnbd.log_likelihood, abs=1e-6)


def test_fit_does_not_depend_on_the_time_unit(
    mbgnbd: MbgNbdFit, histories: tuple[np.ndarray, ...]
) -> None:
    x, t_x, T = histories
    in_days = mbg_nbd.fit_mbgnbd(x, t_x * 7, T * 7)
    assert in_days.alpha == pytest.approx(mbgnbd.alpha * 7, rel=1e-6)
    for name in ("r", "a", "b"):
        assert getattr(in_days, name) == pytest.approx(getattr(mbgnbd, name), rel=1e-6)


# --- predictions -------------------------------------------------------------


def test_one_time_buyers_may_have_dropped_out(
    mbgnbd: MbgNbdFit, histories: tuple[np.ndarray, ...]
) -> None:
    x, t_x, T = histories
    once = x == 0
    alive = mbg_nbd.probability_alive(mbgnbd, x, t_x, T)
    assert np.all(alive[once] < 1)
    # 1 / (1 + a/b (1 + T/alpha)^r), written out.
    r, alpha, a, b = mbgnbd.params
    closed_form = 1 / (1 + a / b * (1 + T[once] / alpha) ** r)
    np.testing.assert_allclose(alive[once], closed_form, rtol=1e-12)
    # The longer a one-time buyer stays silent, the less likely alive.
    ages = np.linspace(0, 104, 53)
    silent = mbg_nbd.probability_alive(mbgnbd, np.zeros(53), np.zeros(53), ages)
    assert np.all(np.diff(silent) < 0)
    assert silent[0] == pytest.approx(b / (a + b))  # may drop out at once
    # BG/NBD, the contrast: one-time buyers are certainly alive.
    bgnbd = bg_nbd.fit_bgnbd(x, t_x, T)
    assert np.all(bg_nbd.probability_alive(bgnbd, x, t_x, T)[once] == 1)


def test_probability_alive_ranks_the_holdout_buyers(
    mbgnbd: MbgNbdFit,
    calibration: pd.DataFrame,
    transactions: pd.DataFrame,
    histories: tuple[np.ndarray, ...],
) -> None:
    """ROC-AUC for "any purchase in the 39-week holdout" (1997-10-01 to
    1998-06-30): measured 0.687 for MBG/NBD, 0.316 for BG/NBD."""
    dates = transactions["transaction_date"]
    in_holdout = (dates > CALIBRATION_END) & (dates <= HOLDOUT_END)
    buyers = transactions.loc[in_holdout, "customer_id"].unique()
    bought = calibration.index.isin(buyers)
    assert bought.sum() == 684  # of 2,357

    alive = mbg_nbd.probability_alive(mbgnbd, *histories)
    assert roc_auc_score(bought, alive) >= 0.65
    purchases = mbg_nbd.expected_purchases(mbgnbd, 39, *histories)
    assert roc_auc_score(bought, purchases) >= 0.75
    # The bar has teeth: BG/NBD's probability alive is worse than chance.
    bgnbd = bg_nbd.fit_bgnbd(*histories)
    assert roc_auc_score(bought, bg_nbd.probability_alive(bgnbd, *histories)) < 0.5


def test_predictions_are_finite_and_in_range(
    mbgnbd: MbgNbdFit, histories: tuple[np.ndarray, ...]
) -> None:
    x, t_x, T = histories
    alive = mbg_nbd.probability_alive(mbgnbd, x, t_x, T)
    assert np.all((alive > 0) & (alive < 1))
    horizons = [1, 4, 13, 39, 78, 260]
    purchases = np.array(
        [mbg_nbd.expected_purchases(mbgnbd, t, x, t_x, T) for t in horizons]
    )
    assert np.all(np.isfinite(purchases))
    assert np.all(purchases > 0)
    assert np.all(np.diff(purchases, axis=0) > 0)  # increase with the horizon
    assert np.all(mbg_nbd.expected_purchases(mbgnbd, 0, x, t_x, T) == 0)
    # Near a = 1 the formula's removable 0/0 is stepped over.
    near_one = [
        mbg_nbd.expected_purchases(with_params(mbgnbd, a=a), 39, x, t_x, T)
        for a in (1.0 - 1e-4, 1.0, 1.0 + 1e-4)
    ]
    assert np.all(np.isfinite(near_one[1]))
    np.testing.assert_allclose(near_one[1], near_one[0], rtol=1e-3)
    np.testing.assert_allclose(near_one[1], near_one[2], rtol=1e-3)


def log_hyp2f1_series(a: float, b: float, c: float, z: float) -> float:
    """Test oracle: log of Gauss's series for 2F1 (a, b, c > 0, 0 <= z < 1),
    summed term by term in log space, so it neither overflows nor cancels."""
    n = np.arange(400_000, dtype=np.float64)
    log_terms = (
        gammaln(a + n)
        - gammaln(a)
        + gammaln(b + n)
        - gammaln(b)
        - gammaln(c + n)
        + gammaln(c)
        - gammaln(n + 1)
        + n * np.log(z)
    )
    peak = log_terms.max()
    assert log_terms[-1] < peak - 50  # the series has converged
    return float(peak + np.log(np.exp(log_terms - peak).sum()))


def test_expected_purchases_are_stable_on_extreme_histories() -> None:
    """Against the conditional expectation with the series oracle, on the
    parameters fitted at benchmark size L (frequencies up to 345, two years
    of age) and others; the direct 2F1 overflows on some of these rows."""
    overflowed = 0
    worst = 0.0
    # The last: r > a + b, so Euler's series has a negative first parameter.
    for params in [
        (0.978, 2.665, 0.876, 17.43),
        (0.25, 0.5, 3.0, 0.4),
        (5.0, 2.0, 0.5, 0.5),
    ]:
        r, alpha, a, b = params
        fit = converged_fit(*params)
        for x, t_x, T, t in [
            (345.0, 0.1, 0.14, 260.0),
            (345.0, 104.0, 104.0, 260.0),
            (100.0, 2.0, 52.0, 39.0),
            (30.0, 5.0, 5.0, 260.0),
            (0.0, 0.0, 0.14, 260.0),
            (1.0, 0.5, 104.0, 1.0),
        ]:
            z = t / (alpha + T + t)
            overflowed += not np.isfinite(hyp2f1(r + x, b + x + 1, a + b + x, z))
            log_hyp = log_hyp2f1_series(r + x, b + x + 1, a + b + x, z)
            survive = np.exp(log_hyp + (r + x) * np.log((alpha + T) / (alpha + T + t)))
            odds_dropped = a / (b + x) * ((alpha + T) / (alpha + t_x)) ** (r + x)
            alive = 1 / (1 + odds_dropped)
            expected = (a + b + x) / (a - 1) * (1 - survive) * alive
            ours = mbg_nbd.expected_purchases(fit, t, x, t_x, T)[0]
            assert np.isfinite(ours)
            worst = max(worst, abs(ours / expected - 1))
    assert overflowed >= 3  # Euler's transformation was needed
    assert worst < 1e-8  # measured 3e-10


# --- fallbacks ---------------------------------------------------------------


def assert_falls_back(fit: MbgNbdFit, reason: str) -> None:
    assert not fit.converged
    assert fit.fallback_reason is not None
    assert reason in fit.fallback_reason


def test_falls_back_without_raising() -> None:
    rng = np.random.default_rng(7)
    T = rng.integers(10, 40, 300).astype(float)
    zeros = np.zeros(300)
    assert_falls_back(mbg_nbd.fit_mbgnbd([], [], []), "too few customers")
    assert_falls_back(mbg_nbd.fit_mbgnbd([2], [10.0], [30.0]), "too few customers")
    assert_falls_back(mbg_nbd.fit_mbgnbd(zeros, zeros, T), "too few repeat buyers")
    identical = np.ones(300)
    assert_falls_back(
        mbg_nbd.fit_mbgnbd(identical * 2, identical * 10, identical * 30), "identical"
    )
    x = rng.integers(1, 6, 300).astype(float)
    assert_falls_back(mbg_nbd.fit_mbgnbd(x, T + 1, T), "recency greater than T")
    with_nan = T.copy()
    with_nan[3] = np.nan
    assert_falls_back(mbg_nbd.fit_mbgnbd(x, T / 2, with_nan), "non-finite")
    assert_falls_back(mbg_nbd.fit_mbgnbd(x, T / 2, T, np.full(300, -1.0)), "negative")
    # Everyone buys right up to T: no dropout, a / b runs off to 0.
    assert_falls_back(mbg_nbd.fit_mbgnbd(x, T, T), "not identified")
    # Only a caller bug raises.
    with pytest.raises(ValueError, match="different lengths"):
        mbg_nbd.fit_mbgnbd(x, T / 2, T[:10])


def test_reports_non_convergence(histories: tuple[np.ndarray, ...]) -> None:
    fit = mbg_nbd.fit_mbgnbd(*histories, max_iterations=2)
    assert_falls_back(fit, "no convergence")
    assert fit.iterations == 2
    assert np.isfinite(fit.log_likelihood)  # kept for the model table


def test_predictions_from_a_fallback_are_nan() -> None:
    failed = mbg_nbd.fit_mbgnbd(np.zeros(50), np.zeros(50), np.full(50, 30.0))
    assert not failed.converged
    x, t_x, T = [0.0, 2.0], [0.0, 10.0], [30.0, 30.0]
    assert np.all(np.isnan(mbg_nbd.probability_alive(failed, x, t_x, T)))
    assert np.all(np.isnan(mbg_nbd.expected_purchases(failed, 10, x, t_x, T)))
