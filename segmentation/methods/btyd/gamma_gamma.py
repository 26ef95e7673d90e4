"""Gamma-Gamma: the spend model fitted on repeat purchasers.

Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value curves", and
Fader & Hardie (2013), "The Gamma-Gamma model of monetary value": the value
of each transaction is Gamma(p, nu) with nu ~ Gamma(q, v) across customers
(``v`` is the papers' gamma), independent of the purchase process. Fitted by
the shared maximum-likelihood fitter (``base``); this module holds the
likelihood, the parameters and the expected spend.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, gammaln

from segmentation.methods.btyd.base import (
    BtydFit,
    FloatArray,
    NotFitted,
    Problem,
    aggregate_rows,
    as_float_arrays,
    as_weights,
    maximise_likelihood,
    one_thread,
    params_of,
    weighted_sum,
)


@dataclass(frozen=True)
class GammaGammaFit(BtydFit):
    """A fitted (or fallen-back) Gamma-Gamma spend model (common fields:
    ``BtydFit``; ``n_customers`` counts the repeat purchasers used).

    Attributes:
        p: shape of the Gamma distribution of one transaction's value.
        q: shape of the Gamma distribution of the customers' scale nu.
        v: rate of that Gamma distribution (the papers' gamma), in money.
        n_excluded: customers left out: no repeat purchase, or a mean repeat
            value that is not positive (outside the Gamma's support).
        n_distinct: distinct (frequency, monetary_value) rows after
            aggregation.
    """

    PARAMETERS: ClassVar[tuple[str, ...]] = ("p", "q", "v")

    p: float
    q: float
    v: float
    n_excluded: int


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
        sum_x_log_m=weighted_sum(counts, ux_rows * np.log(um)),
        sum_log_m=weighted_sum(counts, np.log(um)),
        sum_x_log_x=weighted_sum(counts, ux_rows * np.log(ux_rows)),
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
        weighted_sum(nx, per_x)
        + data.total_weight * q * np.log(v)
        + p * data.sum_x_log_m
        - data.sum_log_m
        + p * data.sum_x_log_x
        - weighted_sum(w, (p * x + q) * log_pooled)
    )
    psi_sum = digamma(p * ux + q)
    grad_p = (
        weighted_sum(nx, ux * (psi_sum - digamma(p * ux)))
        + data.sum_x_log_m
        + data.sum_x_log_x
        - weighted_sum(w, x * log_pooled)
    )
    grad_q = (
        weighted_sum(nx, psi_sum - digamma(q))
        + data.total_weight * np.log(v)
        - weighted_sum(w, log_pooled)
    )
    grad_v = data.total_weight * q / v - weighted_sum(w, (p * x + q) / pooled)
    gradient = np.array([grad_p, grad_q, grad_v]) * params
    scale = -1.0 / data.total_weight
    return float(ll * scale), gradient * scale


def gamma_gamma_log_likelihood(
    fit_or_params: GammaGammaFit | Sequence[float],
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
    p, q, v = params_of(fit_or_params, GammaGammaFit)
    x, m = as_float_arrays(frequency, monetary_value)
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


def _gamma_gamma_problem(
    frequency: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
    weights: npt.ArrayLike | None,
    min_customers: int,
) -> Problem | NotFitted:
    """The Gamma-Gamma likelihood on the aggregated repeat buyers, or why not."""
    x, m = as_float_arrays(frequency, monetary_value)
    w = as_weights(weights, len(x))
    if np.any(~np.isfinite(w) | (w < 0)):
        return NotFitted(
            "invalid input: negative or non-finite weights",
            {"n_customers": 0, "n_excluded": 0},
        )
    with np.errstate(invalid="ignore"):
        usable = (x > 0) & (x == np.round(x)) & (m > 0) & np.isfinite(m) & (w > 0)
    n_excluded = round(float(w[~usable].sum()))
    x, m, w = x[usable], m[usable], w[usable]
    n_customers = round(float(w.sum()))
    counts = {"n_customers": n_customers, "n_excluded": n_excluded}
    if n_customers < min_customers:
        return NotFitted(
            f"too few repeat buyers to fit: {n_customers} < {min_customers}", counts
        )
    data = _gamma_gamma_data(x, m, w)
    counts["n_distinct"] = len(data.weights)
    if counts["n_distinct"] < 2:
        return NotFitted(
            "all repeat buyers have identical (frequency, monetary_value)", counts
        )
    # Start where the population mean spend p v / (q - 1) equals the mean.
    mean_value = float(np.average(data.monetary_value, weights=data.weights))
    return Problem(
        objective=lambda log_params: _gamma_gamma_objective(log_params, data),
        start=np.array([1.0, 2.0, mean_value]),
        total_weight=data.total_weight,
        counts=counts,
    )


@one_thread
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
    problem = _gamma_gamma_problem(frequency, monetary_value, weights, min_customers)
    return maximise_likelihood(
        GammaGammaFit, problem, max_iterations=max_iterations, started=started
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
    x, m = as_float_arrays(frequency, monetary_value)
    if not fit.converged:
        return np.full(len(x), np.nan)
    own = np.where(x > 0, m, 0.0)
    denominator = fit.p * x + fit.q - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        spend = fit.p * (fit.v + x * own) / denominator
    return np.where(denominator > 0, spend, np.nan)
