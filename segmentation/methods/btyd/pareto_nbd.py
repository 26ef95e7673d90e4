"""Pareto/NBD: the Pareto / negative binomial transaction model.

Schmittlein, Morrison & Colombo (1987), "Counting your customers: who are
they and what will they do next?", Management Science 33(1); the likelihood
and the conditional expressions as derived in Fader & Hardie (2005), "A note
on deriving the Pareto/NBD model and related expressions" (cited below as
FH05, with its equation numbers). While alive, a customer buys at a Poisson
rate lambda ~ Gamma(r, alpha); their lifetime is exponential with rate
mu ~ Gamma(s, beta), so, unlike BG/NBD, a customer can die before any repeat
purchase and a one-time buyer who has been silent for a long time is
probably gone. Fitted by the shared maximum-likelihood fitter (``base``).

The likelihood (FH05 equations 18-20) is
``L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [(alpha+T)^-(r+x) (beta+T)^-s
+ s (F(t_x) - F(T))]`` with the tail integral
``F(a) = int_a^inf (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau`` (the customer
dies at tau, after the last purchase): the papers' ``A_0`` is
``F(t_x) - F(T)`` times ``r+s+x``. ``F`` is a Gauss hypergeometric function;
here it is summed as

``F(a) = (alpha+a)^(1-r-x) (beta+a)^-(s+1) / k * sum_j (s+1)_j / (k+1)_j z^j``,
``k = r+s+x``, ``z = (beta-alpha) / (beta+a)``

(the 2F1 of FH05 equation 20 after Pfaff's transformation; Abramowitz &
Stegun 15.3.5), or, when ``z <= -1/2`` (alpha well above beta), by the mirror
series in ``(alpha-beta) / (alpha+a)`` with ``(r+x)_j`` on top. Both have
positive ratios of successive coefficients below 1, so the tail after a
term is bounded by a geometric series and the sum stops at 1e-17 relative;
the coefficients shrink fast when ``x`` is large, so customers with a
hundred purchases need the fewest terms. The derivatives in r, alpha, s and
beta are summed alongside in closed form (digamma-like partial sums of the
Pochhammer symbols), which gives the analytic gradient. alpha == beta is
``z = 0`` (one term), alpha < beta and alpha > beta need no separate code
paths, and everything is in log space, so frequencies of 300 and ages of 100
weeks neither overflow nor underflow.

The series needs about ``40 / (1 - |z|)`` terms, and z nears 1 when one of
alpha and beta is many times the other and a is small (frequent buyers who
stay for years: beta / alpha of 1,000 in days). Where ``|z| > 0.9`` the tail
is split at ``b = |beta - alpha|``, beyond which the series' ``|z| < 1/2``:
``F(a) = int_a^b + F(b)``, the finite part by Gauss-Legendre on graded
panels in ``log(min(alpha, beta) + tau)``, where the integrand is smooth.

Speed: ``F`` depends on (x, a) only, so it is evaluated once per distinct
(frequency, recency) and (frequency, T) pair, and the per-row work is a
gather and a log-sum-exp. At benchmark size L (729,468 customers, 521,750
distinct histories) those are 52,854 pairs (47,015 (x, t_x) and 43,592
(x, T), some shared).

Measured at L, one thread, at the L optimum (r = 1.04, alpha = 3.15,
s = 0.64, beta = 36.9: the series' z reaches 0.92):

- series and split tails (15 pairs split) on the 52,854 pairs: 15 ms for
  ``log F``, 25 ms with its gradient (twice that with the 2 cores busy);
  within 5e-13 (absolute, in ``log F``) of scipy's ``hyp2f1`` and of
  adaptive quadrature (and within 1e-14 of quadrature for beta / alpha or
  alpha / beta up to 1e4 on small samples, the tests);
- scipy's ``hyp2f1`` (the 2F1 form, as lifetimes): 5 ms on the pairs and
  180 ms per row as lifetimes calls it (twice per distinct row), but it has
  no derivatives in r and s, so a gradient would need 8 more evaluations;
  it also overflows in the mirror form for x in the hundreds with z near 1;
- Gauss-Legendre on the whole integral (substituting ``u = ((alpha+a) /
  (alpha+tau))^k``, which makes the integrand bounded and flat): a
  ``u^(1/k)`` branch point at the far end makes it converge only
  algebraically: 7e-3 / 2e-3 / 4e-4 error in ``log F`` with 16 / 32 / 64
  nodes. Rejected.

One objective evaluation at L takes about 55 ms (30 ms of it per row); the
fit takes 19 iterations and 1.2-2 s, aggregation included. Its optimum
matches a polished one (L-BFGS-B continued with ``ftol = 0``) to 1e-8
relative. lifetimes 0.11.3's ``ParetoNBDFitter`` on the same summary (one
BLAS thread, default ``tol = 1e-4``) took 366 s (596 likelihood evaluations)
against 1.4 s here, its parameters within 4e-5 relative (its log-likelihood
5e-5 lower); at ``tol = 1e-8`` on the 726,012 customers with at most 100
repeat purchases, 441 s against 2.8 s, within 1e-7. On CDNOW, a small
sample with a flat (s, beta) ridge, the shared optimiser's ``ftol`` stops
about 1e-5 (relative) short of lifetimes' Nelder-Mead optimum at
``tol = 1e-10`` (log-likelihoods equal to 4e-10).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, exprel, gammaln, roots_legendre

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

# The series stops for a pair once its remaining terms are below this
# fraction of the sum (a geometric bound, see _hypergeometric_series).
SERIES_TOLERANCE = 1e-17
# The most terms any pair gets: a safety net, since with |z| <= SPLIT_ABOVE
# the sum converges within about 400 (a truncated sum is a finite lower bound).
MAX_SERIES_TERMS = 1_000
# Below this z the series in (beta-alpha)/(beta+a) is replaced by its mirror.
MIRROR_BELOW = -0.5
# Above this |z| the tail is split into a quadrature and a faster series.
SPLIT_ABOVE = 0.9
# Graded Gauss-Legendre panels of that quadrature: nodes per panel, and how
# many times the first panel's width is halved.
QUADRATURE_NODES = 16
QUADRATURE_PANELS = 12


@dataclass(frozen=True)
class ParetoNbdFit(BtydFit):
    """A fitted (or fallen-back) Pareto/NBD model (common fields: ``BtydFit``).

    Attributes:
        r: shape of the Gamma distribution of purchase rates.
        alpha: scale of that Gamma distribution, in the time unit of the data.
        s: shape of the Gamma distribution of dropout rates.
        beta: scale of that Gamma distribution, in the time unit of the data.
        n_distinct: distinct (frequency, recency, T) rows after aggregation.
    """

    PARAMETERS: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    r: float
    alpha: float
    s: float
    beta: float


# --- the tail integral F(a) -----------------------------------------------------


@dataclass(frozen=True)
class _Series:
    """``sum_j (p)_j / (c)_j z^j`` and its partial derivatives in p, c, z."""

    value: FloatArray
    d_p: FloatArray
    d_c: FloatArray
    d_z: FloatArray


def _hypergeometric_series(
    p: FloatArray, c: FloatArray, z: FloatArray, *, derivatives: bool
) -> _Series:
    """The series ``2F1(p, 1; c; z) = sum_j (p)_j / (c)_j z^j``, 0 < p < c, |z| < 1.

    The ratio of successive terms, ``(p+j) / (c+j) z``, is at most ``|z|`` in
    absolute value, so after a term ``g z`` the rest is below
    ``|g z| / (1 - |z|)``; the derivative sums carry factors ``j`` and the
    harmonic-like sums ``sum_i 1/(p+i)``, which the stopping bound includes.
    Pairs that have converged leave the working set, so the many pairs with
    a large ``c`` (frequent buyers) stop after a handful of terms.
    """
    n = len(z)
    value, d_p, d_c, d_z = np.ones(n), np.zeros(n), np.zeros(n), np.zeros(n)
    if n == 0:
        return _Series(value, d_p, d_c, d_z)
    index = np.arange(n)
    p_, c_, z_ = p, c, z
    term = np.ones(n)
    s_, sp_, sc_, sz_ = np.ones(n), np.zeros(n), np.zeros(n), np.zeros(n)
    harmonic_p, harmonic_c = np.zeros(n), np.zeros(n)
    bound = 1.0 / (1.0 - np.minimum(np.abs(z), 1.0 - 1e-12)) ** 2
    for j in range(MAX_SERIES_TERMS):
        # g = (p)_{j+1} / (c)_{j+1} z^j; the next term is g z.
        g = term * ((p_ + j) / (c_ + j))
        term = g * z_
        s_ += term
        if derivatives:
            harmonic_p += 1.0 / (p_ + j)
            harmonic_c += 1.0 / (c_ + j)
            sz_ += (j + 1) * g
            sp_ += term * harmonic_p
            sc_ -= term * harmonic_c
        if j % 4 != 3:
            continue
        done = np.abs(g) * ((j + 2) * (1.0 + harmonic_p + harmonic_c)) * bound <= (
            SERIES_TOLERANCE * np.abs(s_)
        )
        n_done = int(np.count_nonzero(done))
        if n_done == 0:
            continue
        finished = index[done]
        value[finished], d_p[finished] = s_[done], sp_[done]
        d_c[finished], d_z[finished] = sc_[done], sz_[done]
        if n_done == len(index):
            return _Series(value, d_p, d_c, d_z)
        if 2 * n_done >= len(index) or j % 64 == 63:
            keep = ~done
            index, p_, c_, z_, term = (
                index[keep],
                p_[keep],
                c_[keep],
                z_[keep],
                term[keep],
            )
            s_, sp_, sc_, sz_ = s_[keep], sp_[keep], sc_[keep], sz_[keep]
            harmonic_p, harmonic_c = harmonic_p[keep], harmonic_c[keep]
            bound = bound[keep]
    value[index], d_p[index], d_c[index], d_z[index] = s_, sp_, sc_, sz_
    return _Series(value, d_p, d_c, d_z)


def _series_form(
    params: Sequence[float], a: FloatArray
) -> tuple[npt.NDArray[np.bool_], FloatArray]:
    """Whether each pair takes the direct series (else the mirror), and its z."""
    alpha, beta = params[1], params[3]
    z_direct = (beta - alpha) / (beta + a)
    direct = z_direct > MIRROR_BELOW
    return direct, np.where(direct, z_direct, (alpha - beta) / (alpha + a))


def _log_tail_by_series(
    params: Sequence[float], x: FloatArray, a: FloatArray, *, derivatives: bool
) -> tuple[FloatArray, FloatArray | None]:
    """``log F(a)`` for each (x, a) pair, and its gradient in (r, alpha, s, beta),
    by the series of the module docstring: with ``k = r+s+x``,

    - direct: ``(alpha+a)^(1-r-x) (beta+a)^-(s+1) / k * 2F1(s+1, 1; k+1; z1)``,
      ``z1 = (beta-alpha) / (beta+a)``;
    - mirror (``z1 <= -1/2``): ``(alpha+a)^-(r+x) (beta+a)^-s / k *
      2F1(r+x, 1; k+1; z2)``, ``z2 = (alpha-beta) / (alpha+a)``.

    Returns:
        ``log F`` (one per pair) and, with ``derivatives``, its gradient as a
        ``(4, pairs)`` array (None without).
    """
    r, alpha, s, beta = params
    k = r + s + x
    log_alpha_a = np.log(alpha + a)
    log_beta_a = np.log(beta + a)
    direct, z = _series_form(params, a)
    p = np.where(direct, s + 1.0, r + x)
    series = _hypergeometric_series(p, k + 1.0, z, derivatives=derivatives)
    log_f = (
        np.where(
            direct,
            (1.0 - r - x) * log_alpha_a - (s + 1.0) * log_beta_a,
            -(r + x) * log_alpha_a - s * log_beta_a,
        )
        - np.log(k)
        + np.log(series.value)
    )
    if not derivatives:
        return log_f, None
    inverse = 1.0 / series.value
    by_p, by_c, by_z = series.d_p * inverse, series.d_c * inverse, series.d_z * inverse
    inverse_alpha_a = 1.0 / (alpha + a)
    inverse_beta_a = 1.0 / (beta + a)
    common = by_c - 1.0 / k
    gradient = np.empty((4, len(x)))
    gradient[0] = -log_alpha_a + common + np.where(direct, 0.0, by_p)
    gradient[2] = -log_beta_a + common + np.where(direct, by_p, 0.0)
    gradient[1] = np.where(
        direct,
        (1.0 - r - x) * inverse_alpha_a - by_z * inverse_beta_a,
        -(r + x) * inverse_alpha_a
        + by_z * (beta + a) * inverse_alpha_a * inverse_alpha_a,
    )
    gradient[3] = np.where(
        direct,
        -(s + 1.0) * inverse_beta_a
        + by_z * (alpha + a) * inverse_beta_a * inverse_beta_a,
        -s * inverse_beta_a - by_z * inverse_alpha_a,
    )
    return log_f, gradient


def _log_integral_by_quadrature(
    params: Sequence[float],
    x: FloatArray,
    a: FloatArray,
    b: FloatArray,
    *,
    derivatives: bool,
) -> tuple[FloatArray, FloatArray | None]:
    """``log int_a^b (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau`` and its gradient.

    Gauss-Legendre in ``y = log((m+tau) / (m+a))``, ``m = min(alpha, beta)``,
    on panels graded towards ``y = 0`` (widths halving ``QUADRATURE_PANELS``
    times), ``QUADRATURE_NODES`` nodes each. In y the integrand is smooth:
    its only singularities are at ``Im y = pi``, and a steep start (a large
    x) falls within the small panels. The gradient is the integral of the
    integrand's derivatives (the limits do not move with the parameters).
    """
    r, alpha, s, beta = params
    low = min(alpha, beta)
    span = np.log((low + b) / (low + a))
    fractions = np.concatenate([[0.0], 0.5 ** np.arange(QUADRATURE_PANELS, -1, -1)])
    nodes, weights = roots_legendre(QUADRATURE_NODES)
    left, width = fractions[:-1], np.diff(fractions)
    unit_y = (left[:, None] + width[:, None] * (nodes[None, :] + 1.0) / 2).ravel()
    unit_w = (width[:, None] * weights[None, :] / 2).ravel()
    y = span[:, None] * unit_y[None, :]
    tau = (low + a)[:, None] * np.exp(y) - low
    log_alpha_tau = np.log(alpha + tau)
    log_beta_tau = np.log(beta + tau)
    # dtau = (m + tau) dy.
    log_terms = (
        -(r + x)[:, None] * log_alpha_tau
        - (s + 1.0) * log_beta_tau
        + np.log(low + tau)
        + np.log(span[:, None] * unit_w[None, :])
    )
    top = log_terms.max(axis=1, keepdims=True)
    shares = np.exp(log_terms - top)
    total = shares.sum(axis=1)
    log_integral = top[:, 0] + np.log(total)
    if not derivatives:
        return log_integral, None
    shares /= total[:, None]
    gradient = np.empty((4, len(x)))
    gradient[0] = -(shares * log_alpha_tau).sum(axis=1)
    gradient[1] = -(r + x) * (shares / (alpha + tau)).sum(axis=1)
    gradient[2] = -(shares * log_beta_tau).sum(axis=1)
    gradient[3] = -(s + 1.0) * (shares / (beta + tau)).sum(axis=1)
    return log_integral, gradient


def _log_tail(
    params: Sequence[float], x: FloatArray, a: FloatArray, *, derivatives: bool
) -> tuple[FloatArray, FloatArray | None]:
    """``log F(a)`` for each (x, a) pair, and its gradient in (r, alpha, s, beta).

    ``F(a) = int_a^inf (alpha+tau)^-(r+x) (beta+tau)^-(s+1) dtau``. By the
    series (``_log_tail_by_series``) where its z is at most ``SPLIT_ABOVE``
    in absolute value. Closer to 1 (one of alpha and beta many times the
    other, and a small a) the series would need thousands of terms; there
    ``F(a) = int_a^b + F(b)`` with ``b = |beta - alpha|``, where the series'
    z is below 1/2, and the finite integral by quadrature
    (``_log_integral_by_quadrature``). b moves with the parameters, but its
    two contributions to the gradient, ``+-`` the integrand at b, cancel.
    """
    _, z = _series_form(params, a)
    hard = np.abs(z) > SPLIT_ABOVE
    if not hard.any():
        return _log_tail_by_series(params, x, a, derivatives=derivatives)
    log_tail = np.empty(len(x))
    gradient = np.empty((4, len(x))) if derivatives else None
    easy = ~hard
    log_easy, gradient_easy = _log_tail_by_series(
        params, x[easy], a[easy], derivatives=derivatives
    )
    log_tail[easy] = log_easy
    x_hard, a_hard = x[hard], a[hard]
    b = np.full(len(x_hard), abs(params[3] - params[1]))
    log_far, gradient_far = _log_tail_by_series(
        params, x_hard, b, derivatives=derivatives
    )
    log_near, gradient_near = _log_integral_by_quadrature(
        params, x_hard, a_hard, b, derivatives=derivatives
    )
    log_hard = np.logaddexp(log_far, log_near)
    log_tail[hard] = log_hard
    if gradient is not None:
        assert gradient_far is not None and gradient_near is not None
        gradient[:, easy] = gradient_easy
        near_share = np.exp(log_near - log_hard)
        gradient[:, hard] = gradient_near * near_share + gradient_far * (
            1.0 - near_share
        )
    return log_tail, gradient


# --- the likelihood -------------------------------------------------------------


@dataclass(frozen=True)
class _ParetoNbdData:
    """Aggregated Pareto/NBD inputs, indexed into their (x, a) pairs.

    Every distinct (frequency, recency, T) row needs ``F`` at (x, t_x) and
    ``F`` and the alive term at (x, T); ``pair_frequency`` and ``pair_time``
    hold the distinct pairs of both kinds, ``recency_pair`` and ``age_pair``
    each row's two pairs, ``frequency_index`` each row's distinct frequency.
    """

    weights: FloatArray
    recency_pair: npt.NDArray[np.intp]
    age_pair: npt.NDArray[np.intp]
    pair_frequency: FloatArray
    pair_time: FloatArray
    distinct_frequencies: FloatArray
    weight_per_frequency: FloatArray
    total_weight: float
    n_distinct: int


def _pareto_nbd_data(
    frequency: FloatArray, recency: FloatArray, T: FloatArray, weights: FloatArray
) -> _ParetoNbdData:
    """Aggregate identical rows and index their (x, t_x) and (x, T) pairs."""
    (x, t_x, age), counts, _ = aggregate_rows([frequency, recency, T], weights)
    n = len(x)
    (pair_x, pair_a), _, pair_of = aggregate_rows(
        [np.concatenate([x, x]), np.concatenate([t_x, age])], np.ones(2 * n)
    )
    distinct_x, x_index = np.unique(x, return_inverse=True)
    return _ParetoNbdData(
        weights=counts,
        recency_pair=pair_of[:n],
        age_pair=pair_of[n:],
        pair_frequency=pair_x,
        pair_time=pair_a,
        distinct_frequencies=distinct_x,
        weight_per_frequency=np.bincount(x_index, weights=counts),
        total_weight=float(counts.sum()),
        n_distinct=n,
    )


def _log_alive_term(
    params: Sequence[float], x: FloatArray, age: FloatArray
) -> FloatArray:
    """``log[(alpha+T)^-(r+x) (beta+T)^-s]``: the customer is alive at T."""
    r, alpha, s, beta = params
    return -(r + x) * np.log(alpha + age) - s * np.log(beta + age)


def _log_dead_term(
    s: float, log_tail_recency: FloatArray, log_tail_age: FloatArray
) -> FloatArray:
    """``log[s (F(t_x) - F(T))]``: the customer died between t_x and T.

    ``-inf`` where t_x == T. The difference is formed as
    ``F(t_x) (1 - F(T) / F(t_x))`` with ``expm1``, exact to rounding.
    """
    with np.errstate(divide="ignore"):
        return (
            np.log(s)
            + log_tail_recency
            + np.log(-np.expm1(np.minimum(log_tail_age - log_tail_recency, 0.0)))
        )


def _pareto_nbd_objective(
    log_params: FloatArray, data: _ParetoNbdData
) -> tuple[float, FloatArray]:
    """Mean negative log-likelihood of the Pareto/NBD and its log-space gradient.

    Per row, ``log L = base(x) + logaddexp(l_alive, l_dead)`` with
    ``base = lgamma(r+x) - lgamma(r) + r log(alpha) + s log(beta)``,
    ``l_alive`` and ``l_dead`` as in ``_log_alive_term`` and
    ``_log_dead_term`` (FH05 equation 18). The gradient of the bracket is the
    average of the gradients of its three exponentials (alive at T, F at
    t_x, minus F at T), weighted by their shares of the bracket; the shares
    are summed per pair with ``bincount`` and multiplied by the per-pair
    gradients of ``_log_tail``.
    """
    params = np.exp(log_params)
    r, alpha, s, beta = params
    x_pair, a_pair = data.pair_frequency, data.pair_time
    log_tail, tail_gradient = _log_tail(params, x_pair, a_pair, derivatives=True)
    assert tail_gradient is not None
    log_alive_pair = _log_alive_term(params, x_pair, a_pair)

    w = data.weights
    log_alive = log_alive_pair[data.age_pair]
    log_tail_recency = log_tail[data.recency_pair]
    log_tail_age = log_tail[data.age_pair]
    log_dead = _log_dead_term(s, log_tail_recency, log_tail_age)
    log_bracket = np.logaddexp(log_alive, log_dead)
    log_s = np.log(s)
    share_alive = w * np.exp(log_alive - log_bracket)
    share_recency = w * np.exp(log_s + log_tail_recency - log_bracket)
    share_age = w * np.exp(log_s + log_tail_age - log_bracket)

    ux, nx = data.distinct_frequencies, data.weight_per_frequency
    log_alpha, log_beta = np.log(alpha), np.log(beta)
    ll = (
        weighted_sum(nx, gammaln(r + ux))
        - data.total_weight * (gammaln(r) - r * log_alpha - s * log_beta)
        + weighted_sum(w, log_bracket)
    )

    n_pairs = len(x_pair)
    on_alive = np.bincount(data.age_pair, weights=share_alive, minlength=n_pairs)
    on_tail = np.bincount(
        data.recency_pair, weights=share_recency, minlength=n_pairs
    ) - np.bincount(data.age_pair, weights=share_age, minlength=n_pairs)
    alive_gradient = (
        -np.log(alpha + a_pair),
        -(r + x_pair) / (alpha + a_pair),
        -np.log(beta + a_pair),
        -s / (beta + a_pair),
    )
    bracket = [
        weighted_sum(on_alive, alive_gradient[i])
        + weighted_sum(on_tail, tail_gradient[i])
        for i in range(4)
    ]
    bracket[2] += float(on_tail.sum()) / s
    gradient = np.array(
        [
            weighted_sum(nx, digamma(r + ux))
            + data.total_weight * (log_alpha - digamma(r))
            + bracket[0],
            data.total_weight * r / alpha + bracket[1],
            data.total_weight * log_beta + bracket[2],
            data.total_weight * s / beta + bracket[3],
        ]
    )
    scale = -1.0 / data.total_weight
    return float(ll * scale), gradient * params * scale


def _log_terms(
    params: Sequence[float], x: FloatArray, t_x: FloatArray, age: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``l_alive`` and ``l_dead`` for each row (see ``_pareto_nbd_objective``).

    ``F`` is evaluated once per distinct (x, t_x) and (x, T) pair.
    """
    n = len(x)
    (pair_x, pair_a), _, pair_of = aggregate_rows(
        [np.concatenate([x, x]), np.concatenate([t_x, age])], np.ones(2 * n)
    )
    log_tail, _ = _log_tail(params, pair_x, pair_a, derivatives=False)
    log_dead = _log_dead_term(params[2], log_tail[pair_of[:n]], log_tail[pair_of[n:]])
    return _log_alive_term(params, x, age), log_dead


def pareto_nbd_log_likelihood(
    fit_or_params: ParetoNbdFit | Sequence[float],
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """Log-likelihood of each customer under Pareto/NBD parameters.

    FH05 equation 18 in log space, with the tail integrals of
    ``_log_tail``.

    Args:
        fit_or_params: a fit, or ``(r, alpha, s, beta)``.
        frequency: repeat purchase periods per customer.
        recency: time from first to last purchase.
        T: time from first purchase to the end of the observation window.

    Returns:
        One log-likelihood per customer.
    """
    params = params_of(fit_or_params, ParetoNbdFit)
    r, alpha, s, beta = params
    x, t_x, age = as_float_arrays(frequency, recency, T)
    log_alive, log_dead = _log_terms(params, x, t_x, age)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return base + np.logaddexp(log_alive, log_dead)


def _pareto_nbd_problem(
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None,
    min_customers: int,
    min_repeat_buyers: int,
) -> Problem | NotFitted:
    """The Pareto/NBD likelihood on the aggregated histories, or why not
    (alpha and beta, in time units, start at the mean age)."""
    return purchase_history_problem(
        frequency,
        recency,
        T,
        weights,
        min_customers=min_customers,
        min_repeat_buyers=min_repeat_buyers,
        prepare=_pareto_nbd_data,
        objective=_pareto_nbd_objective,
        start=lambda time_scale: np.array([1.0, time_scale, 1.0, time_scale]),
    )


@one_thread
def fit_pareto_nbd(
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    min_customers: int = 20,
    min_repeat_buyers: int = 10,
    max_iterations: int = 1_000,
) -> ParetoNbdFit:
    """Fit the Pareto/NBD model by maximum likelihood.

    Identical (frequency, recency, T) rows are aggregated first and the
    hypergeometric tail is evaluated once per distinct (frequency, time)
    pair. Never raises on degenerate data: see the package docstring. When
    nobody drops out (everyone buys until T), s and beta run off together
    and the fit falls back as not identified.

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
    problem = _pareto_nbd_problem(
        frequency, recency, T, weights, min_customers, min_repeat_buyers
    )
    return maximise_likelihood(
        ParetoNbdFit, problem, max_iterations=max_iterations, started=started
    )


# --- predictions ----------------------------------------------------------------


def _probability_alive_distinct(
    fit: ParetoNbdFit, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    """FH05 equation 36 in log space: the alive term's share of the bracket."""
    log_alive, log_dead = _log_terms(fit.params, x, t_x, age)
    return np.exp(log_alive - np.logaddexp(log_alive, log_dead))


def probability_alive(
    fit: ParetoNbdFit,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """Probability that each customer is still alive at the end of T.

    ``P(alive | x, t_x, T) = (alpha+T)^-(r+x) (beta+T)^-s / bracket``, the
    share of the likelihood's bracket in which the customer is alive at T
    (FH05 equation 36; Schmittlein, Morrison & Colombo 1987, equation 11).
    Unlike BG/NBD, a one-time buyer (x = 0) is not certainly alive: the
    longer T, the lower the probability.

    Returns:
        One probability per customer in [0, 1]; all NaN when the fit did not
        converge.
    """
    x, t_x, age = as_float_arrays(frequency, recency, T)
    if not fit.converged:
        return np.full(len(x), np.nan)
    (ux, ut_x, uage), _, inverse = aggregate_rows([x, t_x, age], np.ones(len(x)))
    return _probability_alive_distinct(fit, ux, ut_x, uage)[inverse]


def expected_purchases_distinct(
    fit: ParetoNbdFit, t: float, x: FloatArray, t_x: FloatArray, age: FloatArray
) -> FloatArray:
    """FH05 equation 41 on distinct rows (the rows of ``expected_purchases``
    and of each month of the lifetime value).

    ``E[X(T, T+t) | x, t_x, T] = P(alive) (r+x) (beta+T) / ((alpha+T) (s-1))
    [1 - ((beta+T) / (beta+T+t))^(s-1)]``; the factor
    ``[1 - q^(s-1)] / (s-1)`` is ``-log(q) exprel((s-1) log q)``, which is
    exact at s = 1 (the limit ``log((beta+T+t) / (beta+T))``) and near it.
    """
    if t <= 0:
        return np.zeros(len(x))
    r, alpha, s, beta = fit.params
    log_q = np.log(beta + age) - np.log(beta + age + t)
    surviving = -log_q * exprel((s - 1.0) * log_q)
    alive = _probability_alive_distinct(fit, x, t_x, age)
    return alive * (r + x) * (beta + age) / (alpha + age) * surviving


def expected_purchases(
    fit: ParetoNbdFit,
    t: float,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """Expected repeat purchases of each customer in the next ``t`` periods.

    The conditional expectation given the customer's history (FH05
    equation 41; Schmittlein, Morrison & Colombo 1987, equation 22),
    evaluated once per distinct (frequency, recency, T).

    Args:
        fit: a Pareto/NBD fit.
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
