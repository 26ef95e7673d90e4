"""BG/NBD: the beta-geometric / negative binomial transaction model.

Fader, Hardie & Lee (2005), "Counting your customers the easy way",
Marketing Science 24(2): while alive, a customer buys at a Poisson rate
lambda ~ Gamma(r, alpha); after each purchase they drop out with probability
p ~ Beta(a, b). Fitted by the shared maximum-likelihood fitter (``base``);
this module holds the likelihood, the parameters and the predictions.

The speed tricks of the likelihood: identical (frequency, recency, T) rows
are aggregated first; terms that depend on ``frequency`` alone (the gammaln
and betaln terms) are computed once per distinct frequency, and customers
without a repeat purchase, whose likelihood has a closed form, skip the
log-sum-exp.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from segmentation.methods.btyd.base import (
    BtydFit,
    FloatArray,
    NotFitted,
    Problem,
    aggregate_rows,
    as_float_arrays,
    maximise_likelihood,
    one_thread,
    params_of,
    purchase_history_problem,
    weighted_sum,
)


@dataclass(frozen=True)
class BgNbdFit(BtydFit):
    """A fitted (or fallen-back) BG/NBD model (common fields: ``BtydFit``).

    Attributes:
        r: shape of the Gamma distribution of purchase rates.
        alpha: scale of that Gamma distribution, in the time unit of the data.
        a: first shape of the Beta distribution of dropout probabilities.
        b: second shape of that Beta distribution.
        n_distinct: distinct (frequency, recency, T) rows after aggregation.
    """

    PARAMETERS: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    r: float
    alpha: float
    a: float
    b: float


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

    @property
    def total_weight(self) -> float:
        """Customers in the likelihood."""
        return self.weight_once + self.weight_repeat


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
        data.weight_once * log_alpha - weighted_sum(data.weights_once, log_age_once)
    )
    grad_r = data.weight_once * log_alpha - weighted_sum(
        data.weights_once, log_age_once
    )
    grad_alpha = r * (
        data.weight_once / alpha
        - weighted_sum(data.weights_once, 1.0 / (alpha + data.t_once))
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
            weighted_sum(nx, base + stay)
            - weighted_sum(w, shape * log_age)
            + weighted_sum(w, np.logaddexp(0.0, diff))
        )
        grad_r += (
            weighted_sum(nx, digamma(r + ux) - digamma(r) + log_alpha)
            - weighted_sum(w, log_age)
            - weighted_sum(w, share_dropped * log_gap)
        )
        inverse_age = 1.0 / (alpha + data.T)
        inverse_recency = 1.0 / (alpha + data.recency)
        grad_alpha += r * data.weight_repeat / alpha - weighted_sum(
            w,
            shape * (inverse_age + share_dropped * (inverse_recency - inverse_age)),
        )
        dropped_per_x = np.bincount(
            data.frequency_index, weights=w * share_dropped, minlength=len(ux)
        )
        grad_a = weighted_sum(nx, d_stay_a) + weighted_sum(
            dropped_per_x, d_drop_a - d_stay_a
        )
        grad_b = weighted_sum(nx, d_stay_b) + weighted_sum(
            dropped_per_x, d_drop_b - d_stay_b
        )

    gradient = np.array([grad_r, grad_alpha, grad_a, grad_b]) * params
    scale = -1.0 / (data.weight_once + data.weight_repeat)
    return float(ll * scale), gradient * scale


def bgnbd_log_likelihood(
    fit_or_params: BgNbdFit | Sequence[float],
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
    r, alpha, a, b = params_of(fit_or_params, BgNbdFit)
    x, t_x, age = as_float_arrays(frequency, recency, T)
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


def _bgnbd_problem(
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None,
    min_customers: int,
    min_repeat_buyers: int,
) -> Problem | NotFitted:
    """The BG/NBD likelihood on the aggregated histories, or why not (alpha,
    in time units, starts at the mean age)."""
    return purchase_history_problem(
        frequency,
        recency,
        T,
        weights,
        min_customers=min_customers,
        min_repeat_buyers=min_repeat_buyers,
        prepare=_bgnbd_data,
        objective=_bgnbd_objective,
        start=lambda time_scale: np.array([1.0, time_scale, 1.0, 1.0]),
    )


@one_thread
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
    raises on degenerate data: see the package docstring.

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
    problem = _bgnbd_problem(
        frequency, recency, T, weights, min_customers, min_repeat_buyers
    )
    return maximise_likelihood(
        BgNbdFit, problem, max_iterations=max_iterations, started=started
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
    x, t_x, age = as_float_arrays(frequency, recency, T)
    if not fit.converged:
        return np.full(len(x), np.nan)
    safe_x = np.maximum(x, 1)
    log_odds_dead = (
        np.log(fit.a)
        - np.log(fit.b + safe_x - 1)
        + (fit.r + x) * (np.log(fit.alpha + age) - np.log(fit.alpha + t_x))
    )
    return np.where(x > 0, expit(-log_odds_dead), 1.0)


def expected_purchases_distinct(
    fit: BgNbdFit, t: float, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    """Equation 10 of Fader, Hardie & Lee (2005) on distinct rows (the rows
    of ``expected_purchases`` and of each month of the lifetime value)."""
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
    x, t_x, age = as_float_arrays(frequency, recency, T)
    if not fit.converged:
        return np.full(len(x), np.nan)
    (ux, ut_x, uage), _, inverse = aggregate_rows([x, t_x, age], np.ones(len(x)))
    return expected_purchases_distinct(fit, float(t), ux, ut_x, uage)[inverse]
