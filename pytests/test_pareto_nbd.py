"""Pareto/NBD (``segmentation.methods.btyd.pareto_nbd``) against the published
results, an independent implementation and the formula written out.

The data are the CDNOW sample's 39-week calibration summary in weeks
(2,357 customers, calibration 1997-01-01 to 1997-09-30), computed by
test_btyd's pandas oracle, so no dbt build is needed; the holdout is the
following 39 weeks.

Published parameters: Pareto/NBD on this sample as reported by Fader, Hardie
& Lee (2005), "'Counting your customers' the easy way: an alternative to the
Pareto/NBD model", Marketing Science 24(2) (the Pareto/NBD column beside
BG/NBD, log-likelihood -9595.0), and in "RFM and CLV: using iso-value curves
for customer base analysis", Journal of Marketing Research 42(4) (to two
decimals: r = 0.55, alpha = 10.58, s = 0.61, beta = 11.67). Used here to the
three decimals of Hardie's CDNOW estimates (r = 0.553, alpha = 10.578,
s = 0.606, beta = 11.669), the values lifetimes' own test suite checks its
fitter against.

The independent implementation is lifetimes 0.11.3's ``ParetoNBDFitter``
(hypergeometric 2F1 through scipy, Nelder-Mead): imported here only, never
by the package.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes import ParetoNBDFitter
from scipy.integrate import quad
from scipy.special import gamma, hyp2f1
from sklearn.metrics import roc_auc_score
from test_btyd import CALIBRATION_END, FIXTURE, HOLDOUT_END, cdnow_reference

from segmentation.methods import btyd
from segmentation.methods.btyd import pareto_nbd
from segmentation.methods.btyd.pareto_nbd import ParetoNbdFit

PUBLISHED_PARETO_NBD = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
PUBLISHED_LOG_LIKELIHOOD = -9595.0
TOLERANCE = 0.005  # each parameter within 0.5% of the published value


@pytest.fixture(scope="module")
def transactions() -> pd.DataFrame:
    return pd.read_csv(FIXTURE, parse_dates=["transaction_date"])


@pytest.fixture(scope="module")
def calibration(transactions: pd.DataFrame) -> pd.DataFrame:
    return cdnow_reference(transactions, CALIBRATION_END)


@pytest.fixture(scope="module")
def histories(calibration: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """(frequency, recency, T) of the calibration summary."""
    return tuple(
        calibration[column].to_numpy() for column in ("frequency", "recency", "T")
    )


@pytest.fixture(scope="module")
def fit(histories: tuple[np.ndarray, ...]) -> ParetoNbdFit:
    return pareto_nbd.fit_pareto_nbd(*histories)


@pytest.fixture(scope="module")
def lifetimes_fit(histories: tuple[np.ndarray, ...]) -> ParetoNBDFitter:
    """lifetimes' optimum: Nelder-Mead from its scaled start (1, 1, 1, 1)
    with a tight tolerance (its default, 1e-4, stops about 1e-4 short)."""
    fitter = ParetoNBDFitter()
    fitter.fit(*histories, initial_params=np.ones(4), tol=1e-10, maxiter=20_000)
    return fitter


def holdout_buyers(transactions: pd.DataFrame, calibration: pd.DataFrame) -> np.ndarray:
    """Whether each calibration customer buys in the 39-week holdout."""
    full = cdnow_reference(transactions, HOLDOUT_END)
    extra = full["frequency"].loc[calibration.index] - calibration["frequency"]
    return (extra > 0).to_numpy()


# --- the published parameters and lifetimes ----------------------------------


def test_reproduces_the_published_cdnow_parameters(fit: ParetoNbdFit) -> None:
    assert fit.converged, fit.fallback_reason
    assert fit.fallback_reason is None
    assert fit.n_customers == 2357
    assert fit.params == (fit.r, fit.alpha, fit.s, fit.beta)
    for name, published in PUBLISHED_PARETO_NBD.items():
        assert getattr(fit, name) == pytest.approx(published, rel=TOLERANCE), name
        # And to the published three decimals.
        assert round(getattr(fit, name), 3) == published, name
    # Reported to one decimal: -9595.0 is -9595.05 to -9594.95.
    assert fit.log_likelihood == pytest.approx(PUBLISHED_LOG_LIKELIHOOD, abs=0.05)


def test_matches_lifetimes_parameters(
    fit: ParetoNbdFit,
    lifetimes_fit: ParetoNBDFitter,
    histories: tuple[np.ndarray, ...],
) -> None:
    theirs = lifetimes_fit.params_[["r", "alpha", "s", "beta"]].to_numpy()
    np.testing.assert_allclose(fit.params, theirs, rtol=1e-4, atol=0)
    # Both optima have the same likelihood, under either implementation.
    ours_at_theirs = pareto_nbd.pareto_nbd_log_likelihood(tuple(theirs), *histories)
    assert ours_at_theirs.sum() == pytest.approx(fit.log_likelihood, abs=1e-6)
    theirs_at_ours = ParetoNBDFitter._conditional_log_likelihood(fit.params, *histories)
    assert theirs_at_ours.sum() == pytest.approx(fit.log_likelihood, rel=1e-12)


def test_matches_lifetimes_predictions_for_every_customer(
    fit: ParetoNbdFit, histories: tuple[np.ndarray, ...]
) -> None:
    """Same parameters, same per-customer predictions to 1e-10 relative
    (measured: 1e-14)."""
    reference = ParetoNBDFitter()
    reference.params_ = pd.Series(fit.params, index=["r", "alpha", "s", "beta"])
    np.testing.assert_allclose(
        pareto_nbd.probability_alive(fit, *histories),
        reference.conditional_probability_alive(*histories),
        rtol=1e-10,
        atol=0,
    )
    for t in (1.0, 13.0, 39.0, 78.0):
        np.testing.assert_allclose(
            pareto_nbd.expected_purchases(fit, t, *histories),
            reference.conditional_expected_number_of_purchases_up_to_time(
                t, *histories
            ),
            rtol=1e-10,
            atol=0,
            err_msg=f"t = {t}",
        )
    np.testing.assert_allclose(
        pareto_nbd.pareto_nbd_log_likelihood(fit, *histories),
        ParetoNBDFitter._conditional_log_likelihood(fit.params, *histories),
        rtol=1e-12,
        atol=0,
    )


# --- the likelihood -------------------------------------------------------------


def written_out_likelihood(
    params: tuple[float, float, float, float],
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """Fader & Hardie (2005), "A note on deriving the Pareto/NBD model",
    equations 18-20, written out plainly with scipy's 2F1 (small x only)."""
    r, alpha, s, beta = params
    k = r + s + x
    if alpha >= beta:
        top, scale, second = alpha, alpha - beta, s + 1
    else:
        top, scale, second = beta, beta - alpha, r + x
    a_0 = (
        hyp2f1(k, second, k + 1, scale / (top + t_x)) / (top + t_x) ** k
        - hyp2f1(k, second, k + 1, scale / (top + T)) / (top + T) ** k
    )
    front = gamma(r + x) * alpha**r * beta**s / gamma(r)
    alive = 1 / ((alpha + T) ** (r + x) * (beta + T) ** s)
    return np.log(front * (alive + s / k * a_0))


@pytest.mark.parametrize(
    "params",
    [
        (0.553, 10.578, 0.606, 11.669),  # alpha < beta
        (0.8, 20.0, 1.3, 4.0),  # alpha > beta (the mirror series)
        (0.8, 7.0, 0.4, 7.0),  # alpha == beta
        (0.3, 2.0, 1.0, 60.0),  # s == 1, beta far above alpha
    ],
)
def test_log_likelihood_matches_the_formula_written_out(
    params: tuple[float, float, float, float], calibration: pd.DataFrame
) -> None:
    rows = calibration[calibration["frequency"] <= 15]
    x, t_x, T = (rows[column].to_numpy() for column in ("frequency", "recency", "T"))
    ours = pareto_nbd.pareto_nbd_log_likelihood(params, x, t_x, T)
    np.testing.assert_allclose(
        ours, written_out_likelihood(params, x, t_x, T), rtol=1e-9, atol=1e-12
    )


def tail_by_quadrature(
    params: tuple[float, float, float, float], x: float, a: float
) -> float:
    """``log int_a^inf (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau`` by adaptive
    quadrature, scaled so that large x does not underflow."""
    r, alpha, s, beta = params
    A, B = alpha + a, beta + a

    def integrand(u: float) -> float:
        return float(np.exp(-(r + x) * np.log1p(u / A) - (s + 1) * np.log1p(u / B)))

    edge = min(A / (r + x), B)
    total = sum(
        quad(integrand, low, high, epsabs=0, epsrel=1e-13, limit=200)[0]
        for low, high in ((0, edge), (edge, 50 * edge), (50 * edge, np.inf))
    )
    return -(r + x) * np.log(A) - (s + 1) * np.log(B) + np.log(total)


@pytest.mark.parametrize(
    "params",
    [
        (0.553, 10.578, 0.606, 11.669),
        (1.04, 3.15, 0.64, 36.9),  # benchmark L's optimum: beta = 12 alpha
        (1.0, 50.0, 1.0, 5.0),
        (3.0, 200.0, 0.3, 2.0),
        (0.8, 30.0, 1.0, 30.0),
        # One scale a thousand times the other: the series' z is near 1 for
        # small times, and the tail is split at |beta - alpha|.
        (0.3, 1.0, 0.6, 1000.0),
        (1.0, 1000.0, 0.6, 1.0),
    ],
)
def test_tail_is_accurate_for_large_frequencies_and_ages(
    params: tuple[float, float, float, float],
) -> None:
    """Frequencies up to 345 and ages of two years in weeks: no overflow, and
    log F within 1e-11 (absolute, so about 1e-11 relative in F) of adaptive
    quadrature (measured: 2e-13)."""
    x = np.array([0, 0, 1, 2, 5, 20, 100, 345, 345.0])
    a = np.array([0, 39, 0.5, 10, 30, 60, 104, 0, 104.3])
    log_tail, _ = pareto_nbd._log_tail(params, x, a, derivatives=False)
    expected = [tail_by_quadrature(params, xi, ai) for xi, ai in zip(x, a, strict=True)]
    np.testing.assert_allclose(log_tail, expected, rtol=0, atol=1e-11)
    # The log-likelihood of such customers is finite, alive or not.
    ll = pareto_nbd.pareto_nbd_log_likelihood(
        params, [345, 345, 0], [104.0, 3.0, 0.0], [104.0, 104.0, 104.0]
    )
    assert np.all(np.isfinite(ll))


@pytest.mark.parametrize(
    "params",
    [
        (0.553, 10.578, 0.606, 11.669),
        (2.0, 40.0, 0.3, 4.0),  # alpha > beta
        (0.4, 3.0, 1.5, 90.0),  # beta far above alpha
        (0.4, 0.5, 1.5, 500.0),  # split tails (series + quadrature)
        (1.0, 500.0, 0.6, 0.5),  # split tails, the mirror series
    ],
)
def test_gradient_matches_finite_differences(
    params: tuple[float, float, float, float], histories: tuple[np.ndarray, ...]
) -> None:
    x, t_x, T = histories
    data = pareto_nbd._pareto_nbd_data(x, t_x, T, np.ones(len(x)))
    log_params = np.log(params)
    _, gradient = pareto_nbd._pareto_nbd_objective(log_params, data)
    step = 1e-6
    numeric = [
        (
            pareto_nbd._pareto_nbd_objective(log_params + step * unit, data)[0]
            - pareto_nbd._pareto_nbd_objective(log_params - step * unit, data)[0]
        )
        / (2 * step)
        for unit in np.eye(4)
    ]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6, atol=1e-8)


def test_fit_is_a_local_maximum(
    fit: ParetoNbdFit, histories: tuple[np.ndarray, ...]
) -> None:
    best = np.array(fit.params)
    at_best = pareto_nbd.pareto_nbd_log_likelihood(fit, *histories).sum()
    assert at_best == pytest.approx(fit.log_likelihood, rel=1e-12)
    for index in range(4):
        for step in (0.99, 1.01):
            moved = best.copy()
            moved[index] *= step
            ll = pareto_nbd.pareto_nbd_log_likelihood(tuple(moved), *histories)
            assert ll.sum() < fit.log_likelihood


def test_aggregated_fit_equals_the_unaggregated_fit(
    fit: ParetoNbdFit, calibration: pd.DataFrame
) -> None:
    rows = calibration.groupby(["frequency", "recency", "T"], as_index=False).size()
    assert len(rows) < len(calibration)
    weighted = pareto_nbd.fit_pareto_nbd(
        rows["frequency"], rows["recency"], rows["T"], rows["size"]
    )
    assert weighted.converged
    assert (weighted.n_customers, weighted.n_distinct) == (
        fit.n_customers,
        fit.n_distinct,
    )
    np.testing.assert_allclose(weighted.params, fit.params, rtol=1e-6)
    assert weighted.log_likelihood == pytest.approx(fit.log_likelihood, abs=1e-6)


def test_fit_does_not_depend_on_the_time_unit(
    fit: ParetoNbdFit, histories: tuple[np.ndarray, ...]
) -> None:
    x, t_x, T = histories
    in_days = pareto_nbd.fit_pareto_nbd(x, t_x * 7, T * 7)
    assert in_days.converged
    assert in_days.alpha == pytest.approx(fit.alpha * 7, rel=1e-4)
    assert in_days.beta == pytest.approx(fit.beta * 7, rel=1e-4)
    assert (in_days.r, in_days.s) == pytest.approx((fit.r, fit.s), rel=1e-4)


# --- predictions ----------------------------------------------------------------


def test_predictions_are_finite_and_in_range(
    fit: ParetoNbdFit, histories: tuple[np.ndarray, ...]
) -> None:
    x, t_x, T = histories
    alive = pareto_nbd.probability_alive(fit, x, t_x, T)
    assert np.all((alive > 0) & (alive <= 1))
    # Unlike BG/NBD, one-time buyers are not certainly alive: the longer the
    # silence, the less likely.
    once = x == 0
    assert alive[once].max() < 1
    order = np.argsort(T[once])
    assert np.all(np.diff(alive[once][order]) <= 1e-15)
    horizons = [1, 4, 13, 39, 78, 260]
    purchases = np.array(
        [pareto_nbd.expected_purchases(fit, t, x, t_x, T) for t in horizons]
    )
    assert np.all(np.isfinite(purchases) & (purchases > 0))
    assert np.all(np.diff(purchases, axis=0) > 0)
    assert np.all(pareto_nbd.expected_purchases(fit, 0, x, t_x, T) == 0)


def test_new_customer_expectation_is_the_unconditional_mean(fit: ParetoNbdFit) -> None:
    """A customer with x = t_x = T = 0: E[X(t)] = r beta / (alpha (s-1))
    [1 - (beta / (beta+t))^(s-1)] (FH05 equation 27)."""
    r, alpha, s, beta = fit.params
    for t in (0.5, 1.0, 39.0, 78.0):
        expected = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
        assert pareto_nbd.expected_purchases(fit, t, 0, 0, 0)[0] == pytest.approx(
            expected, rel=1e-12
        )


def test_expected_purchases_at_s_equal_to_one_is_the_limit(fit: ParetoNbdFit) -> None:
    """At s = 1 the factor [1 - q^(s-1)] / (s-1) becomes log(1/q); the values
    just off s = 1 approach it without a jump."""
    x, t_x, T, t = (
        np.array([0.0, 3.0]),
        np.array([0.0, 20.0]),
        np.array([30.0] * 2),
        39.0,
    )
    at_one = ParetoNbdFit(**{**fit.__dict__, "s": 1.0})
    alive = pareto_nbd.probability_alive(at_one, x, t_x, T)
    limit = (
        alive
        * (at_one.r + x)
        * (at_one.beta + T)
        / (at_one.alpha + T)
        * np.log((at_one.beta + T + t) / (at_one.beta + T))
    )
    at = pareto_nbd.expected_purchases(at_one, t, x, t_x, T)
    np.testing.assert_allclose(at, limit, rtol=1e-13)
    for offset in (1e-12, 1e-8, -1e-8):
        near = ParetoNbdFit(**{**fit.__dict__, "s": 1.0 + offset})
        np.testing.assert_allclose(
            pareto_nbd.expected_purchases(near, t, x, t_x, T), at, rtol=10 * abs(offset)
        )


def test_probability_alive_ranks_the_holdout_where_bgnbd_fails(
    fit: ParetoNbdFit,
    histories: tuple[np.ndarray, ...],
    transactions: pd.DataFrame,
    calibration: pd.DataFrame,
) -> None:
    """The property of issue 19: ROC-AUC for "any purchase in the 39-week
    holdout". BG/NBD puts every one-time buyer (60% of CDNOW) at probability
    alive 1, so its ranking is worse than chance (about 0.32); Pareto/NBD's
    is about 0.73."""
    bought = holdout_buyers(transactions, calibration)
    ours = roc_auc_score(bought, pareto_nbd.probability_alive(fit, *histories))
    bgnbd = btyd.fit_bgnbd(*histories)
    theirs = roc_auc_score(bought, btyd.probability_alive(bgnbd, *histories))
    assert ours >= 0.70
    assert ours == pytest.approx(0.73, abs=0.01)
    assert theirs == pytest.approx(0.32, abs=0.01)
    purchases = pareto_nbd.expected_purchases(fit, 39, *histories)
    assert roc_auc_score(bought, purchases) > 0.75


# --- fallbacks ------------------------------------------------------------------


def assert_falls_back(fit: ParetoNbdFit, reason: str) -> None:
    assert not fit.converged
    assert fit.fallback_reason is not None
    assert reason in fit.fallback_reason


def test_falls_back_without_raising(histories: tuple[np.ndarray, ...]) -> None:
    rng = np.random.default_rng(7)
    T = rng.integers(10, 40, 300).astype(float)
    zeros = np.zeros(300)
    fit = pareto_nbd.fit_pareto_nbd
    assert_falls_back(fit([], [], []), "too few customers")
    assert_falls_back(fit([2], [10.0], [30.0]), "too few customers")
    assert_falls_back(fit(zeros, zeros, T), "too few repeat buyers")
    same = np.ones(300)
    assert_falls_back(fit(same * 2, same * 10, same * 30), "identical")
    x = rng.integers(1, 6, 300).astype(float)
    assert_falls_back(fit(x, T + 1, T), "recency greater than T")
    with_nan = T.copy()
    with_nan[3] = np.nan
    assert_falls_back(fit(x, T / 2, with_nan), "non-finite")
    # Everyone buys right up to T: nobody drops out, s and beta run off.
    assert_falls_back(fit(x, T, T), "not identified")
    assert_falls_back(fit(*histories, max_iterations=2), "no convergence")


def test_predictions_from_a_fallback_are_nan() -> None:
    failed = pareto_nbd.fit_pareto_nbd(np.zeros(50), np.zeros(50), np.full(50, 30.0))
    assert not failed.converged
    x, t_x, T = [0.0, 2.0], [0.0, 10.0], [30.0, 30.0]
    assert np.all(np.isnan(pareto_nbd.probability_alive(failed, x, t_x, T)))
    assert np.all(np.isnan(pareto_nbd.expected_purchases(failed, 10, x, t_x, T)))
