"""Predictive lifetime value: the BG/NBD and Gamma-Gamma models.

Pure functions behind the predictive-LTV dbt Python models. The inputs are
the "buy till you die" (BTYD) summary per customer:

- ``frequency`` (x): number of repeat purchase periods, i.e. periods with a
  purchase after the first one (several purchases in one period count once);
- ``recency`` (t_x): time from the first to the last purchase;
- ``T``: time from the first purchase to the end of the observation window;
- ``monetary_value``: mean value of the repeat purchase periods (0 when there
  are none).

Time is in any unit (days or weeks) as long as it is the same for all three.

**BG/NBD** (Fader, Hardie & Lee 2005, "Counting your customers the easy way",
Marketing Science 24(2)): while alive, a customer buys at a Poisson rate
lambda ~ Gamma(r, alpha); after each purchase they drop out with probability
p ~ Beta(a, b). **Gamma-Gamma** (Fader, Hardie & Lee 2005, "RFM and CLV:
using iso-value curves", and Fader & Hardie 2013, "The Gamma-Gamma model of
monetary value"): the value of each transaction is Gamma(p, nu) with
nu ~ Gamma(q, v) across customers (``v`` is the papers' gamma), independent
of the purchase process; it is fitted on repeat purchasers only.

Both are fitted by maximum likelihood with L-BFGS-B and an analytic gradient,
in log-parameter space with box bounds (so parameters stay positive). The
main speed trick: customers with identical inputs contribute identical
likelihood terms, so identical rows are aggregated first and their count
becomes a weight; terms that depend on ``frequency`` alone (the gammaln and
betaln terms) are computed once per distinct frequency, and customers without
a repeat purchase, whose likelihood has a closed form, skip the log-sum-exp.

Degenerate data never raises: no customers, too few customers or repeat
buyers, identical customers, invalid values, non-convergence, or a parameter
running off towards 0 or infinity (a likelihood ridge: no dropout, no spread
in spend) all give a fit with ``converged=False`` and a ``fallback_reason``.
The prediction helpers then return NaN, so callers fall back to historical
LTV. Only a caller bug (inputs of different lengths) raises ``ValueError``.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1
from threadpoolctl import threadpool_limits

FloatArray = npt.NDArray[np.float64]

# Periods per month used to step the CLV horizon, as lifetimes does.
PERIODS_PER_MONTH: dict[str, float] = {"D": 30.0, "W": 4.345}

# The optimiser's box: every parameter within this factor of its starting
# value (``alpha`` and ``v`` start at the data's scale, see the fitters).
_BOUND_FACTOR = 1e6
# An optimum further than this factor from the start is a likelihood ridge
# running off to 0 or infinity (no dropout, no spread in spend...): the model
# is not identified and the fit falls back, even if the optimiser stopped.
_PLAUSIBLE_FACTOR = 1e4


@dataclass(frozen=True)
class BgNbdFit:
    """A fitted (or fallen-back) BG/NBD model.

    Attributes:
        r: shape of the Gamma distribution of purchase rates.
        alpha: scale of that Gamma distribution, in the time unit of the data.
        a: first shape of the Beta distribution of dropout probabilities.
        b: second shape of that Beta distribution.
        log_likelihood: total log-likelihood of the customers at the optimum.
        n_customers: customers the fit saw (sum of the weights).
        n_distinct: distinct (frequency, recency, T) rows after aggregation.
        converged: True when the optimiser converged to an interior optimum;
            predictions are only made from converged fits.
        iterations: optimiser iterations.
        fit_seconds: wall-clock seconds spent in the fit, aggregation included.
        fallback_reason: why the fit is not usable (None when converged).
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: int
    n_distinct: int
    converged: bool
    iterations: int
    fit_seconds: float
    fallback_reason: str | None = None


@dataclass(frozen=True)
class GammaGammaFit:
    """A fitted (or fallen-back) Gamma-Gamma spend model.

    Attributes:
        p: shape of the Gamma distribution of one transaction's value.
        q: shape of the Gamma distribution of the customers' scale nu.
        v: rate of that Gamma distribution (the papers' gamma), in money.
        log_likelihood: total log-likelihood of the repeat purchasers used.
        n_customers: repeat purchasers used (sum of their weights).
        n_excluded: customers left out: no repeat purchase, or a mean repeat
            value that is not positive (outside the Gamma's support).
        n_distinct: distinct (frequency, monetary_value) rows after
            aggregation.
        converged: True when the optimiser converged to an interior optimum.
        iterations: optimiser iterations.
        fit_seconds: wall-clock seconds spent in the fit.
        fallback_reason: why the fit is not usable (None when converged).
    """

    p: float
    q: float
    v: float
    log_likelihood: float
    n_customers: int
    n_excluded: int
    n_distinct: int
    converged: bool
    iterations: int
    fit_seconds: float
    fallback_reason: str | None = None


@dataclass(frozen=True)
class _Optimum:
    """What the optimiser found, in the model's parameters."""

    params: FloatArray
    iterations: int
    failure: str | None


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------


def _one_thread(function):
    """Run a fit with one BLAS/OpenMP thread: the arrays are small (one row
    per distinct customer history), and on a busy 2-core machine a second
    thread made the fits 20-50 times slower (measured by the benchmark)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1):
            return function(*args, **kwargs)

    return wrapper


def _as_float_arrays(*values: npt.ArrayLike) -> list[FloatArray]:
    """Flatten the inputs to float arrays of one common length.

    Raises:
        ValueError: when the inputs have different lengths (a caller bug, not
            degenerate data).
    """
    arrays = [np.asarray(value, dtype=np.float64).ravel() for value in values]
    lengths = {len(array) for array in arrays}
    if len(lengths) > 1:
        raise ValueError(f"inputs have different lengths: {sorted(lengths)}")
    return arrays


def _weights(weights: npt.ArrayLike | None, length: int) -> FloatArray:
    """The weights as floats, ones when none are given."""
    if weights is None:
        return np.ones(length)
    (array,) = _as_float_arrays(weights)
    if len(array) != length:
        raise ValueError(f"weights have length {len(array)}, expected {length}")
    return array


def _weighted_sum(weights: FloatArray, values: FloatArray) -> float:
    """``sum(weights * values)`` without BLAS.

    A dot product hands long vectors to multi-threaded BLAS, which is fast on
    an idle machine but stalls badly when other processes hold the cores (a
    warehouse build running next to the fit); an element-wise product and
    numpy's pairwise sum are single-threaded and predictable.
    """
    return float(np.add.reduce(weights * values))


def aggregate_rows(
    columns: list[FloatArray], weights: FloatArray
) -> tuple[list[FloatArray], FloatArray, npt.NDArray[np.intp]]:
    """Collapse identical rows, summing their weights.

    Hash-based (``pandas.factorize`` per column, then on the combined integer
    codes), which is about three times faster than sorting a million rows.
    NaN is a value of its own, so the function never fails on bad rows.

    Args:
        columns: equally long float arrays, one per column.
        weights: one weight per row.

    Returns:
        The distinct rows (one array per column, in order of first
        appearance), their summed weights, and for every input row the index
        of its distinct row.
    """
    length = len(weights)
    key = np.zeros(length, dtype=np.int64)
    key_values = 1
    for column in columns:
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        if key_values * len(uniques) >= 2**62:
            key, distinct = pd.factorize(key)
            key_values = len(distinct)
        key = key * len(uniques) + codes
        key_values *= len(uniques)
    inverse, distinct = pd.factorize(key)
    first = np.empty(len(distinct), dtype=np.intp)
    first[inverse[::-1]] = np.arange(length - 1, -1, -1)
    summed = np.bincount(inverse, weights=weights, minlength=len(distinct))
    return [column[first] for column in columns], summed, inverse.astype(np.intp)


def _minimise(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    start: FloatArray,
    names: tuple[str, ...],
    max_iterations: int,
) -> _Optimum:
    """L-BFGS-B in log-parameter space, with the checks that decide convergence.

    ``objective(log_params)`` returns the mean negative log-likelihood and its
    gradient with respect to the log-parameters. Each parameter is bounded
    to ``start / _BOUND_FACTOR .. start * _BOUND_FACTOR``; the fit counts as
    converged only when the optimiser says so, the likelihood is finite and
    every parameter is within ``_PLAUSIBLE_FACTOR`` of its start.
    """
    log_start = np.log(start)
    log_bound = np.log(_BOUND_FACTOR)
    with np.errstate(all="ignore"):
        result = minimize(
            objective,
            log_start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(value - log_bound, value + log_bound) for value in log_start],
            options={"maxiter": max_iterations, "ftol": 1e-13, "gtol": 1e-9},
        )
    params = np.exp(result.x)
    iterations = int(result.nit)
    if not np.all(np.isfinite(params)) or not np.isfinite(result.fun):
        return _Optimum(params, iterations, "the likelihood is not finite")
    drifted = [
        f"{name} = {value:.3g}"
        for name, value, log_value, origin in zip(
            names, params, result.x, log_start, strict=True
        )
        if abs(log_value - origin) > np.log(_PLAUSIBLE_FACTOR)
    ]
    if drifted:
        return _Optimum(
            params,
            iterations,
            f"parameter {', '.join(drifted)} runs off towards 0 or infinity: "
            "the model is not identified on this data",
        )
    if not result.success:
        message = result.message
        if isinstance(message, bytes):
            message = message.decode()
        return _Optimum(params, iterations, f"no convergence: {message}")
    return _Optimum(params, iterations, None)


# ---------------------------------------------------------------------------
# BG/NBD
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _BgNbdData:
    """Aggregated BG/NBD inputs, split into one-time and repeat buyers.

    A customer without a repeat purchase contributes ``r log(alpha /
    (alpha + T))`` to the log-likelihood, which needs neither the Beta terms
    nor the log-sum-exp: those rows are kept apart (``*_once``). Repeat rows
    carry the index of their frequency among ``distinct_frequencies``.
    """

    t_once: FloatArray
    weights_once: FloatArray
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    weights: FloatArray
    distinct_frequencies: FloatArray
    frequency_index: npt.NDArray[np.intp]
    weight_per_frequency: FloatArray
    weight_once: float
    weight_repeat: float
    n_distinct: int


def _bgnbd_data(
    frequency: FloatArray, recency: FloatArray, T: FloatArray, weights: FloatArray
) -> _BgNbdData:
    """Aggregate identical rows and index the distinct repeat frequencies."""
    once = frequency == 0
    (t_once,), weights_once, _ = aggregate_rows([T[once]], weights[once])
    repeat = ~once
    (x, t_x, age), counts, _ = aggregate_rows(
        [frequency[repeat], recency[repeat], T[repeat]], weights[repeat]
    )
    distinct_x, x_index = np.unique(x, return_inverse=True)
    return _BgNbdData(
        t_once=t_once,
        weights_once=weights_once,
        frequency=x,
        recency=t_x,
        T=age,
        weights=counts,
        distinct_frequencies=distinct_x,
        frequency_index=x_index,
        weight_per_frequency=np.bincount(x_index, weights=counts),
        weight_once=float(weights_once.sum()),
        weight_repeat=float(counts.sum()),
        n_distinct=len(t_once) + len(x),
    )


def _bgnbd_objective(
    log_params: FloatArray, data: _BgNbdData
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood of the BG/NBD and its log-space gradient.

    The likelihood of a customer (Fader, Hardie & Lee 2005, equation 6) is
    ``exp(A) (exp(l_T) + [x>0] exp(l_tx))`` with
    ``A = lgamma(r+x) - lgamma(r) + r log(alpha) - betaln(a, b)``,
    ``l_T = betaln(a, b+x) - (r+x) log(alpha+T)`` (alive at T) and
    ``l_tx = betaln(a+1, b+x-1) - (r+x) log(alpha+t_x)`` (dropped out after
    the last purchase). For repeat buyers the log of the sum is
    ``l_T + softplus(l_tx - l_T)``; every term that depends on x alone is
    computed once per distinct frequency.
    """
    params = np.exp(log_params)
    r, alpha, a, b = params
    log_alpha = np.log(alpha)

    # One-time buyers: r log(alpha / (alpha + T)).
    log_age_once = np.log(alpha + data.t_once)
    ll = r * (
        data.weight_once * log_alpha - _weighted_sum(data.weights_once, log_age_once)
    )
    grad_r = data.weight_once * log_alpha - _weighted_sum(
        data.weights_once, log_age_once
    )
    grad_alpha = r * (
        data.weight_once / alpha
        - _weighted_sum(data.weights_once, 1.0 / (alpha + data.t_once))
    )
    grad_a = grad_b = 0.0

    if data.weight_repeat > 0:
        ux = data.distinct_frequencies
        nx = data.weight_per_frequency
        x = data.frequency
        w = data.weights
        # Per distinct frequency.
        base = gammaln(r + ux) - gammaln(r) + r * log_alpha - betaln(a, b)
        stay = betaln(a, b + ux)
        drop = betaln(a + 1, b + ux - 1)
        psi_ab = digamma(a + b)
        psi_abx = digamma(a + b + ux)
        d_stay_a = psi_ab - psi_abx
        d_stay_b = digamma(b + ux) - psi_abx - digamma(b) + psi_ab
        d_drop_a = digamma(a + 1) - psi_abx - digamma(a) + psi_ab
        d_drop_b = digamma(b + ux - 1) - psi_abx - digamma(b) + psi_ab
        # Per row.
        log_age = np.log(alpha + data.T)
        log_gap = np.log(alpha + data.recency) - log_age
        shape = r + x
        diff = (drop - stay)[data.frequency_index] - shape * log_gap
        share_dropped = expit(diff)
        ll += (
            _weighted_sum(nx, base + stay)
            - _weighted_sum(w, shape * log_age)
            + _weighted_sum(w, np.logaddexp(0.0, diff))
        )
        grad_r += (
            _weighted_sum(nx, digamma(r + ux) - digamma(r) + log_alpha)
            - _weighted_sum(w, log_age)
            - _weighted_sum(w, share_dropped * log_gap)
        )
        inverse_age = 1.0 / (alpha + data.T)
        inverse_recency = 1.0 / (alpha + data.recency)
        grad_alpha += r * data.weight_repeat / alpha - _weighted_sum(
            w,
            shape * (inverse_age + share_dropped * (inverse_recency - inverse_age)),
        )
        dropped_per_x = np.bincount(
            data.frequency_index, weights=w * share_dropped, minlength=len(ux)
        )
        grad_a = _weighted_sum(nx, d_stay_a) + _weighted_sum(
            dropped_per_x, d_drop_a - d_stay_a
        )
        grad_b = _weighted_sum(nx, d_stay_b) + _weighted_sum(
            dropped_per_x, d_drop_b - d_stay_b
        )

    gradient = np.array([grad_r, grad_alpha, grad_a, grad_b]) * params
    scale = -1.0 / (data.weight_once + data.weight_repeat)
    return float(ll * scale), gradient * scale


def bgnbd_log_likelihood(
    fit_or_params: BgNbdFit | tuple[float, float, float, float],
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """Log-likelihood of each customer under BG/NBD parameters.

    Equation 6 of Fader, Hardie & Lee (2005) in log space, with a
    log-sum-exp for the ``[x>0]`` term.

    Args:
        fit_or_params: a fit, or ``(r, alpha, a, b)``.
        frequency: repeat purchase periods per customer.
        recency: time from first to last purchase.
        T: time from first purchase to the end of the observation window.

    Returns:
        One log-likelihood per customer.
    """
    if isinstance(fit_or_params, BgNbdFit):
        fit = fit_or_params
        r, alpha, a, b = fit.r, fit.alpha, fit.a, fit.b
    else:
        r, alpha, a, b = (float(value) for value in fit_or_params)
    x, t_x, age = _as_float_arrays(frequency, recency, T)
    shape = r + x
    base = gammaln(shape) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    log_alive = betaln(a, b + x) - shape * np.log(alpha + age)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_dropped = np.where(
            x > 0,
            betaln(a + 1, b + np.maximum(x, 1) - 1) - shape * np.log(alpha + t_x),
            -np.inf,
        )
    return base + np.logaddexp(log_alive, log_dropped)


def _bgnbd_input_problem(
    x: FloatArray, t_x: FloatArray, age: FloatArray, w: FloatArray
) -> str | None:
    """Why the BG/NBD inputs are invalid, or None when they are fine."""
    checks = (
        (~np.isfinite(x) | ~np.isfinite(t_x) | ~np.isfinite(age), "non-finite values"),
        (~np.isfinite(w) | (w < 0), "a negative or non-finite weight"),
        ((x < 0) | (t_x < 0) | (age < 0), "negative values"),
        (x != np.round(x), "a non-integer frequency"),
        (t_x > age, "recency greater than T"),
        ((x == 0) & (t_x != 0), "a recency but no repeat purchase"),
    )
    for bad, label in checks:
        count = int(np.count_nonzero(bad))
        if count:
            return f"invalid input: {count} rows with {label}"
    return None


def _bgnbd_fallback(
    reason: str,
    n_customers: int,
    started: float,
    n_distinct: int = 0,
    params: FloatArray | None = None,
    log_likelihood: float = float("nan"),
    iterations: int = 0,
) -> BgNbdFit:
    """A BG/NBD fit that must not be used for predictions."""
    r, alpha, a, b = params if params is not None else [float("nan")] * 4
    return BgNbdFit(
        r=float(r),
        alpha=float(alpha),
        a=float(a),
        b=float(b),
        log_likelihood=log_likelihood,
        n_customers=n_customers,
        n_distinct=n_distinct,
        converged=False,
        iterations=iterations,
        fit_seconds=time.perf_counter() - started,
        fallback_reason=reason,
    )


@_one_thread
def fit_bgnbd(
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    min_customers: int = 20,
    min_repeat_buyers: int = 10,
    max_iterations: int = 1_000,
) -> BgNbdFit:
    """Fit the BG/NBD model by maximum likelihood.

    Identical (frequency, recency, T) rows are aggregated first, so a million
    customers observed on a daily grid fit in well under a second. Never
    raises on degenerate data: see the module docstring.

    Args:
        frequency: repeat purchase periods per customer (whole numbers).
        recency: time from first to last purchase (0 when frequency is 0).
        T: time from first purchase to the end of the observation window.
        weights: optional count of customers each row stands for.
        min_customers: fewer customers than this fall back.
        min_repeat_buyers: fewer customers with a repeat purchase fall back.
        max_iterations: optimiser iteration limit.

    Returns:
        The fit; ``converged`` says whether it may be used for predictions.
    """
    started = time.perf_counter()
    x, t_x, age = _as_float_arrays(frequency, recency, T)
    w = _weights(weights, len(x))
    problem = _bgnbd_input_problem(x, t_x, age, w)
    if problem:
        return _bgnbd_fallback(problem, len(x), started)
    keep = w > 0
    x, t_x, age, w = x[keep], t_x[keep], age[keep], w[keep]
    n_customers = round(float(w.sum()))
    repeat_buyers = round(float(w[x > 0].sum()))
    if n_customers < min_customers:
        return _bgnbd_fallback(
            f"too few customers to fit: {n_customers} < {min_customers}",
            n_customers,
            started,
        )
    if repeat_buyers < min_repeat_buyers:
        return _bgnbd_fallback(
            f"too few repeat buyers to fit: {repeat_buyers} < {min_repeat_buyers}",
            n_customers,
            started,
        )
    data = _bgnbd_data(x, t_x, age, w)
    n_distinct = data.n_distinct
    if n_distinct < 2 or float(age.max()) <= 0:
        return _bgnbd_fallback(
            "all customers have identical (frequency, recency, T)"
            if n_distinct < 2
            else "T is 0 for every customer",
            n_customers,
            started,
            n_distinct,
        )
    # alpha is in time units: start it (and its bounds) at the mean age.
    time_scale = float(np.average(age, weights=w))
    start = np.array([1.0, time_scale, 1.0, 1.0])
    optimum = _minimise(
        lambda log_params: _bgnbd_objective(log_params, data),
        start,
        ("r", "alpha", "a", "b"),
        max_iterations,
    )
    log_likelihood = -_bgnbd_objective(np.log(optimum.params), data)[0]
    log_likelihood *= data.weight_once + data.weight_repeat
    if optimum.failure:
        return _bgnbd_fallback(
            optimum.failure,
            n_customers,
            started,
            n_distinct,
            optimum.params,
            log_likelihood,
            optimum.iterations,
        )
    r, alpha, a, b = optimum.params
    return BgNbdFit(
        r=float(r),
        alpha=float(alpha),
        a=float(a),
        b=float(b),
        log_likelihood=float(log_likelihood),
        n_customers=n_customers,
        n_distinct=n_distinct,
        converged=True,
        iterations=optimum.iterations,
        fit_seconds=time.perf_counter() - started,
    )


def probability_alive(
    fit: BgNbdFit,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """Probability that each customer is still alive at the end of T.

    ``1 / (1 + [x>0] a / (b+x-1) ((alpha+T) / (alpha+t_x))^(r+x))``
    (Fader, Hardie & Lee 2005, equation 11), computed in log space. Customers
    without a repeat purchase are alive with probability 1 under BG/NBD (a
    customer can only drop out right after a purchase).

    Returns:
        One probability per customer in [0, 1]; all NaN when the fit did not
        converge.
    """
    x, t_x, age = _as_float_arrays(frequency, recency, T)
    if not fit.converged:
        return np.full(len(x), np.nan)
    safe_x = np.maximum(x, 1)
    log_odds_dead = (
        np.log(fit.a)
        - np.log(fit.b + safe_x - 1)
        + (fit.r + x) * (np.log(fit.alpha + age) - np.log(fit.alpha + t_x))
    )
    return np.where(x > 0, expit(-log_odds_dead), 1.0)


def _expected_purchases_distinct(
    fit: BgNbdFit, t: float, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    """Equation 10 of Fader, Hardie & Lee (2005) on distinct rows."""
    r, alpha, b = fit.r, fit.alpha, fit.b
    # The formula has a removable 0/0 at a = 1: step just off it.
    a = fit.a if abs(fit.a - 1.0) > 1e-6 else 1.0 + 1e-6
    if t <= 0:
        return np.zeros(len(x))
    hyp_a, hyp_b, hyp_c = r + x, b + x, a + b + x - 1
    z = t / (alpha + age + t)
    with np.errstate(all="ignore"):
        log_hyp = np.log(hyp2f1(hyp_a, hyp_b, hyp_c, z))
        # Euler's transformation where the direct series overflows.
        log_hyp_euler = np.log(hyp2f1(hyp_c - hyp_a, hyp_c - hyp_b, hyp_c, z)) + (
            hyp_c - hyp_a - hyp_b
        ) * np.log1p(-z)
    log_hyp = np.where(np.isfinite(log_hyp), log_hyp, log_hyp_euler)
    log_survive = log_hyp + (r + x) * (np.log(alpha + age) - np.log(alpha + age + t))
    numerator = (a + b + x - 1) / (a - 1) * -np.expm1(log_survive)
    safe_x = np.maximum(x, 1)
    odds_dead = np.where(
        x > 0,
        a
        / (b + safe_x - 1)
        * np.exp((r + x) * (np.log(alpha + age) - np.log(alpha + t_x))),
        0.0,
    )
    return numerator / (1.0 + odds_dead)


def expected_purchases(
    fit: BgNbdFit,
    t: float,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """Expected repeat purchases of each customer in the next ``t`` periods.

    The conditional expectation given the customer's history (Fader, Hardie &
    Lee 2005, equation 10), with the Gauss hypergeometric function from
    scipy (Euler's transformation where the direct series overflows). It is
    evaluated once per distinct (frequency, recency, T).

    Args:
        fit: a BG/NBD fit.
        t: horizon, in the time unit of the data.
        frequency: repeat purchase periods per customer.
        recency: time from first to last purchase.
        T: time from first purchase to the end of the observation window.

    Returns:
        One expectation per customer; all NaN when the fit did not converge.
    """
    x, t_x, age = _as_float_arrays(frequency, recency, T)
    if not fit.converged:
        return np.full(len(x), np.nan)
    (ux, ut_x, uage), _, inverse = aggregate_rows([x, t_x, age], np.ones(len(x)))
    return _expected_purchases_distinct(fit, float(t), ux, ut_x, uage)[inverse]


# ---------------------------------------------------------------------------
# Gamma-Gamma
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _GammaGammaData:
    """Aggregated Gamma-Gamma inputs and the sums that do not move in a fit."""

    frequency: FloatArray
    monetary_value: FloatArray
    weights: FloatArray
    distinct_frequencies: FloatArray
    weight_per_frequency: FloatArray
    total_weight: float
    sum_x_log_m: float
    sum_log_m: float
    sum_x_log_x: float


def _gamma_gamma_data(x: FloatArray, m: FloatArray, w: FloatArray) -> _GammaGammaData:
    """Aggregate identical rows and precompute the parameter-free sums."""
    (ux_rows, um), counts, _ = aggregate_rows([x, m], w)
    distinct_x, x_index = np.unique(ux_rows, return_inverse=True)
    return _GammaGammaData(
        frequency=ux_rows,
        monetary_value=um,
        weights=counts,
        distinct_frequencies=distinct_x,
        weight_per_frequency=np.bincount(x_index, weights=counts),
        total_weight=float(counts.sum()),
        sum_x_log_m=_weighted_sum(counts, ux_rows * np.log(um)),
        sum_log_m=_weighted_sum(counts, np.log(um)),
        sum_x_log_x=_weighted_sum(counts, ux_rows * np.log(ux_rows)),
    )


def _gamma_gamma_objective(
    log_params: FloatArray, data: _GammaGammaData
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood of the Gamma-Gamma and its gradient.

    The density of the mean repeat value m of x transactions is
    ``Gamma(px+q) / (Gamma(px) Gamma(q)) v^q m^(px-1) x^px / (v+xm)^(px+q)``
    (Fader & Hardie 2013, equation 3). Only ``log(v + x m)`` changes per row
    and per iteration; the rest is summed per distinct frequency or once.
    """
    params = np.exp(log_params)
    p, q, v = params
    ux = data.distinct_frequencies
    nx = data.weight_per_frequency
    w = data.weights
    x = data.frequency
    pooled = v + x * data.monetary_value
    log_pooled = np.log(pooled)
    per_x = gammaln(p * ux + q) - gammaln(p * ux) - gammaln(q)
    ll = (
        _weighted_sum(nx, per_x)
        + data.total_weight * q * np.log(v)
        + p * data.sum_x_log_m
        - data.sum_log_m
        + p * data.sum_x_log_x
        - _weighted_sum(w, (p * x + q) * log_pooled)
    )
    psi_sum = digamma(p * ux + q)
    grad_p = (
        _weighted_sum(nx, ux * (psi_sum - digamma(p * ux)))
        + data.sum_x_log_m
        + data.sum_x_log_x
        - _weighted_sum(w, x * log_pooled)
    )
    grad_q = (
        _weighted_sum(nx, psi_sum - digamma(q))
        + data.total_weight * np.log(v)
        - _weighted_sum(w, log_pooled)
    )
    grad_v = data.total_weight * q / v - _weighted_sum(w, (p * x + q) / pooled)
    gradient = np.array([grad_p, grad_q, grad_v]) * params
    scale = -1.0 / data.total_weight
    return float(ll * scale), gradient * scale


def gamma_gamma_log_likelihood(
    fit_or_params: GammaGammaFit | tuple[float, float, float],
    frequency: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
) -> FloatArray:
    """Log-likelihood of each customer's mean repeat value under Gamma-Gamma.

    Args:
        fit_or_params: a fit, or ``(p, q, v)``.
        frequency: repeat purchase periods per customer.
        monetary_value: mean value of the repeat purchase periods.

    Returns:
        One log-likelihood per customer; NaN for customers outside the model
        (no repeat purchase, or a mean value that is not positive).
    """
    if isinstance(fit_or_params, GammaGammaFit):
        p, q, v = fit_or_params.p, fit_or_params.q, fit_or_params.v
    else:
        p, q, v = (float(value) for value in fit_or_params)
    x, m = _as_float_arrays(frequency, monetary_value)
    inside = (x > 0) & (m > 0)
    x, m = np.where(inside, x, 1.0), np.where(inside, m, 1.0)
    shape = p * x
    log_density = (
        gammaln(shape + q)
        - gammaln(shape)
        - gammaln(q)
        + q * np.log(v)
        + (shape - 1) * np.log(m)
        + shape * np.log(x)
        - (shape + q) * np.log(v + x * m)
    )
    return np.where(inside, log_density, np.nan)


def _gamma_gamma_fallback(
    reason: str,
    n_customers: int,
    n_excluded: int,
    started: float,
    n_distinct: int = 0,
    params: FloatArray | None = None,
    log_likelihood: float = float("nan"),
    iterations: int = 0,
) -> GammaGammaFit:
    """A Gamma-Gamma fit that must not be used for predictions."""
    p, q, v = params if params is not None else [float("nan")] * 3
    return GammaGammaFit(
        p=float(p),
        q=float(q),
        v=float(v),
        log_likelihood=log_likelihood,
        n_customers=n_customers,
        n_excluded=n_excluded,
        n_distinct=n_distinct,
        converged=False,
        iterations=iterations,
        fit_seconds=time.perf_counter() - started,
        fallback_reason=reason,
    )


@_one_thread
def fit_gamma_gamma(
    frequency: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    min_customers: int = 10,
    max_iterations: int = 1_000,
) -> GammaGammaFit:
    """Fit the Gamma-Gamma spend model on repeat purchasers.

    Customers without a repeat purchase (frequency 0) carry no spend
    information and are left out, as are repeat purchasers whose mean repeat
    value is not positive or not finite (outside the model's support); both
    are counted in ``n_excluded``. Never raises on degenerate data.

    Args:
        frequency: repeat purchase periods per customer.
        monetary_value: mean value of the repeat purchase periods.
        weights: optional count of customers each row stands for.
        min_customers: fewer repeat purchasers than this fall back.
        max_iterations: optimiser iteration limit.

    Returns:
        The fit; ``converged`` says whether it may be used for predictions.
    """
    started = time.perf_counter()
    x, m = _as_float_arrays(frequency, monetary_value)
    w = _weights(weights, len(x))
    if np.any(~np.isfinite(w) | (w < 0)):
        return _gamma_gamma_fallback(
            "invalid input: negative or non-finite weights", 0, 0, started
        )
    with np.errstate(invalid="ignore"):
        usable = (x > 0) & (x == np.round(x)) & (m > 0) & np.isfinite(m) & (w > 0)
    n_excluded = round(float(w[~usable].sum()))
    x, m, w = x[usable], m[usable], w[usable]
    n_customers = round(float(w.sum()))
    if n_customers < min_customers:
        return _gamma_gamma_fallback(
            f"too few repeat buyers to fit: {n_customers} < {min_customers}",
            n_customers,
            n_excluded,
            started,
        )
    data = _gamma_gamma_data(x, m, w)
    n_distinct = len(data.weights)
    if n_distinct < 2:
        return _gamma_gamma_fallback(
            "all repeat buyers have identical (frequency, monetary_value)",
            n_customers,
            n_excluded,
            started,
            n_distinct,
        )
    # Start where the population mean spend p v / (q - 1) equals the mean.
    mean_value = float(np.average(data.monetary_value, weights=data.weights))
    start = np.array([1.0, 2.0, mean_value])
    optimum = _minimise(
        lambda log_params: _gamma_gamma_objective(log_params, data),
        start,
        ("p", "q", "v"),
        max_iterations,
    )
    log_likelihood = -_gamma_gamma_objective(np.log(optimum.params), data)[0]
    log_likelihood *= data.total_weight
    if optimum.failure:
        return _gamma_gamma_fallback(
            optimum.failure,
            n_customers,
            n_excluded,
            started,
            n_distinct,
            optimum.params,
            log_likelihood,
            optimum.iterations,
        )
    p, q, v = optimum.params
    return GammaGammaFit(
        p=float(p),
        q=float(q),
        v=float(v),
        log_likelihood=float(log_likelihood),
        n_customers=n_customers,
        n_excluded=n_excluded,
        n_distinct=n_distinct,
        converged=True,
        iterations=optimum.iterations,
        fit_seconds=time.perf_counter() - started,
    )


def expected_average_spend(
    fit: GammaGammaFit,
    frequency: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
) -> FloatArray:
    """Expected value of each customer's future transactions.

    ``p (v + x m) / (p x + q - 1)`` (Fader, Hardie & Lee 2005b, equation 5):
    a weighted mean of the population mean ``p v / (q - 1)`` and the
    customer's own mean ``m``, the weight on ``m`` growing with ``x``.
    Customers without a repeat purchase get the population mean.

    Returns:
        One expected value per customer; NaN when the fit did not converge,
        and for customers whose expectation does not exist (``p x + q <= 1``,
        which happens for x = 0 when q <= 1).
    """
    x, m = _as_float_arrays(frequency, monetary_value)
    if not fit.converged:
        return np.full(len(x), np.nan)
    own = np.where(x > 0, m, 0.0)
    denominator = fit.p * x + fit.q - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        spend = fit.p * (fit.v + x * own) / denominator
    return np.where(denominator > 0, spend, np.nan)


def customer_lifetime_value(
    bgnbd: BgNbdFit,
    gamma_gamma: GammaGammaFit,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
    *,
    periods_per_month: float,
    months: int = 12,
    discount_rate: float = 0.01,
) -> FloatArray:
    """Discounted expected value of each customer over the next ``months``.

    As lifetimes' ``customer_lifetime_value``: the horizon is cut into
    months; month ``i`` contributes the expected purchases in that month
    (BG/NBD, the difference of the cumulative expectation at ``i`` and
    ``i - 1`` months) times the expected value per purchase (Gamma-Gamma),
    discounted by ``(1 + discount_rate) ** i``::

        CLV = sum_{i=1..months} spend * (E[N(i m)] - E[N((i-1) m)])
              / (1 + discount_rate) ** i,   m = periods_per_month

    Args:
        bgnbd: a BG/NBD fit.
        gamma_gamma: a Gamma-Gamma fit.
        frequency: repeat purchase periods per customer.
        recency: time from first to last purchase.
        T: time from first purchase to the end of the observation window.
        monetary_value: mean value of the repeat purchase periods.
        periods_per_month: time units per month (see ``PERIODS_PER_MONTH``:
            30 for days, 4.345 for weeks, as lifetimes).
        months: horizon in months.
        discount_rate: discount rate per month.

    Returns:
        One CLV per customer, in money; all NaN when either fit did not
        converge.
    """
    x, t_x, age, m = _as_float_arrays(frequency, recency, T, monetary_value)
    if not (bgnbd.converged and gamma_gamma.converged):
        return np.full(len(x), np.nan)
    spend = expected_average_spend(gamma_gamma, x, m)
    (ux, ut_x, uage), _, inverse = aggregate_rows([x, t_x, age], np.ones(len(x)))
    purchases = np.zeros(len(x))
    previous = np.zeros(len(ux))
    for month in range(1, months + 1):
        cumulative = _expected_purchases_distinct(
            bgnbd, month * periods_per_month, ux, ut_x, uage
        )
        discount = (1.0 + discount_rate) ** month
        purchases += ((cumulative - previous) / discount)[inverse]
        previous = cumulative
    return spend * purchases


# ---------------------------------------------------------------------------
# Summary from transactions
# ---------------------------------------------------------------------------


def _period_start(dates: pd.Series, freq: Literal["D", "W"]) -> pd.Series:
    """The first day of each date's period (weeks start on Monday)."""
    days = dates.dt.normalize()
    if freq == "W":
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    return days


def summary_from_transactions(
    frame: pd.DataFrame,
    customer_col: str,
    date_col: str,
    value_col: str | None,
    observation_end: str | date | datetime | pd.Timestamp,
    freq: Literal["D", "W"] = "D",
    time_unit: Literal["D", "W"] | None = None,
) -> pd.DataFrame:
    """The BTYD summary per customer from a transaction log.

    Equivalent to lifetimes' ``summary_data_from_transaction_data`` with
    ``freq`` and ``freq_multiplier = 7`` when ``time_unit='W'`` and
    ``freq='D'``: transactions are grouped into periods of ``freq`` (days, or
    weeks starting on Monday), the values of one period summed, so several
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
