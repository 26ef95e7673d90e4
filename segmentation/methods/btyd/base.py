"""The maximum-likelihood fitter every BTYD model of this package shares.

A model module (``bg_nbd.py``, ``gamma_gamma.py``) brings what is its own:

- its fit result, a frozen dataclass derived from :class:`BtydFit` whose
  parameter fields are listed, in the optimiser's order, in ``PARAMETERS``;
- a preparation step that validates and aggregates its inputs and returns
  either a :class:`Problem` (the mean negative log-likelihood with its
  gradient in log-parameter space, the start values, the customers' total
  weight) or a :class:`NotFitted` (why the data cannot be fitted);
- its per-customer log-likelihood and its predictions.

:func:`maximise_likelihood` does the rest the same way for every model:
L-BFGS-B with fixed options in log-parameter space, bounded to a box around
the start values, the convergence checks (finite likelihood, no parameter
running off, the optimiser's own verdict), the fit result or a fallback with
its reason. Degenerate data never raises; only a caller bug (inputs of
different lengths) raises ``ValueError``.

Shared input helpers live here too: float arrays of one length, weights,
aggregation of identical customers, and the checks and counts of purchase
histories (frequency, recency, T) that every model of the transaction
process (BG/NBD now; Pareto/NBD, MBG/NBD next) starts from.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

FloatArray = npt.NDArray[np.float64]

# The optimiser's box: every parameter within this factor of its starting
# value (scale parameters start at the data's scale, see the models).
BOUND_FACTOR = 1e6
# An optimum further than this factor from the start is a likelihood ridge
# running off to 0 or infinity (no dropout, no spread in spend...): the model
# is not identified and the fit falls back, even if the optimiser stopped.
PLAUSIBLE_FACTOR = 1e4
# L-BFGS-B's options, the same for every model.
OPTIMISER_OPTIONS: dict[str, float] = {"ftol": 1e-13, "gtol": 1e-9}
# Step of the central differences of the gradient that give the Hessian, in
# log-parameter space: the truncation error (h^2) and the rounding error of
# the gradient (about 1e-13 / h) are both near 1e-8 of the entries.
HESSIAN_STEP = 1e-4


@dataclass(frozen=True, kw_only=True)
class BtydFit:
    """What every fitted (or fallen-back) model reports.

    A model's fit derives from this class, adds one float field per
    parameter and names them in ``PARAMETERS`` (the optimiser's order).

    Attributes:
        log_likelihood: total log-likelihood of the customers at the optimum.
        n_customers: customers the fit saw (sum of the weights).
        n_distinct: distinct input rows after aggregation.
        converged: True when the optimiser converged to an interior optimum;
            predictions are only made from converged fits.
        iterations: optimiser iterations.
        fit_seconds: wall-clock seconds spent in the fit, aggregation included.
        fallback_reason: why the fit is not usable (None when converged).
        log_covariance: covariance matrix of the log-parameters (in the order
            of ``PARAMETERS``), flattened row by row: the inverse of the
            observed information at the optimum (see
            :func:`log_parameter_covariance`). None when the fit did not
            converge or the information is not positive definite.
    """

    PARAMETERS: ClassVar[tuple[str, ...]] = ()

    log_likelihood: float
    n_customers: int
    n_distinct: int
    converged: bool
    iterations: int
    fit_seconds: float
    fallback_reason: str | None = None
    log_covariance: tuple[float, ...] | None = None

    @property
    def params(self) -> tuple[float, ...]:
        """The parameters, in the order of ``PARAMETERS``."""
        return tuple(getattr(self, name) for name in self.PARAMETERS)

    @property
    def log_covariance_matrix(self) -> FloatArray | None:
        """``log_covariance`` as a k x k array (None when there is none)."""
        if self.log_covariance is None:
            return None
        k = len(self.PARAMETERS)
        return np.asarray(self.log_covariance, dtype=np.float64).reshape(k, k)

    @property
    def standard_errors(self) -> tuple[float, ...] | None:
        """Approximate standard errors of the parameters (not their logs):
        ``parameter * sqrt(var(log parameter))``, the delta method. None
        when there is no covariance."""
        matrix = self.log_covariance_matrix
        if matrix is None:
            return None
        return tuple(
            float(value * np.sqrt(variance))
            for value, variance in zip(self.params, np.diag(matrix), strict=True)
        )


Fit = TypeVar("Fit", bound=BtydFit)


@dataclass(frozen=True)
class Problem:
    """A model's likelihood on prepared data, ready for the optimiser.

    Attributes:
        objective: ``objective(log_params)`` returns the mean negative
            log-likelihood and its gradient with respect to the
            log-parameters.
        start: start values of the parameters (not their logs).
        total_weight: customers in the likelihood (sum of the weights); the
            mean times this is the total log-likelihood.
        counts: the fit's count fields (``n_customers``, ``n_distinct``
            and any of the model's own, such as ``n_excluded``).
    """

    objective: Callable[[FloatArray], tuple[float, FloatArray]]
    start: FloatArray
    total_weight: float
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class NotFitted:
    """Why a model's data cannot be fitted, with the counts known so far."""

    reason: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class _Optimum:
    """What the optimiser found, in the model's parameters."""

    params: FloatArray
    iterations: int
    failure: str | None


def one_thread(function):
    """Run a fit with one BLAS/OpenMP thread: the arrays are small (one row
    per distinct customer history), and on a busy 2-core machine a second
    thread made the fits 20-50 times slower (measured by the benchmark)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1):
            return function(*args, **kwargs)

    return wrapper


def as_float_arrays(*values: npt.ArrayLike) -> list[FloatArray]:
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


def as_weights(weights: npt.ArrayLike | None, length: int) -> FloatArray:
    """The weights as floats, ones when none are given."""
    if weights is None:
        return np.ones(length)
    (array,) = as_float_arrays(weights)
    if len(array) != length:
        raise ValueError(f"weights have length {len(array)}, expected {length}")
    return array


def params_of(
    fit_or_params: BtydFit | Sequence[float], fit_class: type[BtydFit]
) -> tuple[float, ...]:
    """The parameters of a fit of ``fit_class``, or the given values as floats."""
    if isinstance(fit_or_params, fit_class):
        return fit_or_params.params
    return tuple(float(value) for value in fit_or_params)


def weighted_sum(weights: FloatArray, values: FloatArray) -> float:
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

    Customers with identical inputs contribute identical likelihood terms,
    so every model aggregates them first and their count becomes a weight.
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


@dataclass(frozen=True)
class PurchaseHistories:
    """Valid purchase histories with a positive weight, and their counts."""

    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    weights: FloatArray
    n_customers: int


def _purchase_history_problem(
    x: FloatArray, t_x: FloatArray, age: FloatArray, w: FloatArray
) -> str | None:
    """Why the purchase histories are invalid, or None when they are fine."""
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


def purchase_histories(
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None,
    *,
    min_customers: int,
    min_repeat_buyers: int,
) -> PurchaseHistories | NotFitted:
    """Check the inputs of a transaction-process model and count customers.

    Invalid values (non-finite, negative, a fractional frequency, recency
    above T, a recency without a repeat purchase) and too few customers or
    repeat buyers give a :class:`NotFitted`; rows of weight 0 are dropped.
    """
    x, t_x, age = as_float_arrays(frequency, recency, T)
    w = as_weights(weights, len(x))
    problem = _purchase_history_problem(x, t_x, age, w)
    if problem:
        return NotFitted(problem, {"n_customers": len(x)})
    keep = w > 0
    x, t_x, age, w = x[keep], t_x[keep], age[keep], w[keep]
    n_customers = round(float(w.sum()))
    repeat_buyers = round(float(w[x > 0].sum()))
    if n_customers < min_customers:
        return NotFitted(
            f"too few customers to fit: {n_customers} < {min_customers}",
            {"n_customers": n_customers},
        )
    if repeat_buyers < min_repeat_buyers:
        return NotFitted(
            f"too few repeat buyers to fit: {repeat_buyers} < {min_repeat_buyers}",
            {"n_customers": n_customers},
        )
    return PurchaseHistories(x, t_x, age, w, n_customers)


class PreparedHistories(Protocol):
    """What a transaction model's preparation of the histories returns: its
    own arrays, plus the two counts the shared checks read."""

    @property
    def n_distinct(self) -> int: ...

    @property
    def total_weight(self) -> float: ...


Prepared = TypeVar("Prepared", bound=PreparedHistories)


def purchase_history_problem(
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None,
    *,
    min_customers: int,
    min_repeat_buyers: int,
    prepare: Callable[[FloatArray, FloatArray, FloatArray, FloatArray], Prepared],
    objective: Callable[[FloatArray, Prepared], tuple[float, FloatArray]],
    start: Callable[[float], FloatArray],
) -> Problem | NotFitted:
    """A transaction model's likelihood on the checked, aggregated purchase
    histories, or why there is none: the steps BG/NBD, MBG/NBD and
    Pareto/NBD share.

    The histories are checked and counted (:func:`purchase_histories`),
    ``prepare(frequency, recency, T, weights)`` aggregates them the model's
    way, and the data must hold two distinct rows and a positive T. The
    time-scale parameters start at the customers' mean age: ``start(mean
    age)`` gives every start value (in the model's parameter order).
    """
    histories = purchase_histories(
        frequency,
        recency,
        T,
        weights,
        min_customers=min_customers,
        min_repeat_buyers=min_repeat_buyers,
    )
    if isinstance(histories, NotFitted):
        return histories
    age, w = histories.T, histories.weights
    data = prepare(histories.frequency, histories.recency, age, w)
    counts = {"n_customers": histories.n_customers, "n_distinct": data.n_distinct}
    if data.n_distinct < 2:
        return NotFitted("all customers have identical (frequency, recency, T)", counts)
    if float(age.max()) <= 0:
        return NotFitted("T is 0 for every customer", counts)
    time_scale = float(np.average(age, weights=w))
    return Problem(
        objective=lambda log_params: objective(log_params, data),
        start=start(time_scale),
        total_weight=data.total_weight,
        counts=counts,
    )


def _minimise(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    start: FloatArray,
    names: tuple[str, ...],
    max_iterations: int,
) -> _Optimum:
    """L-BFGS-B in log-parameter space, with the checks that decide convergence.

    Each parameter is bounded to ``start / BOUND_FACTOR .. start *
    BOUND_FACTOR``; the fit counts as converged only when the optimiser says
    so, the likelihood is finite and every parameter is within
    ``PLAUSIBLE_FACTOR`` of its start.
    """
    log_start = np.log(start)
    log_bound = np.log(BOUND_FACTOR)
    with np.errstate(all="ignore"):
        result = minimize(
            objective,
            log_start,
            jac=True,
            method="L-BFGS-B",
            bounds=[(value - log_bound, value + log_bound) for value in log_start],
            options={"maxiter": max_iterations, **OPTIMISER_OPTIONS},
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
        if abs(log_value - origin) > np.log(PLAUSIBLE_FACTOR)
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


def maximise_likelihood(
    fit_class: type[Fit],
    prepared: Problem | NotFitted,
    *,
    max_iterations: int,
    started: float,
) -> Fit:
    """Fit a model by maximum likelihood, or fall back with the reason.

    Args:
        fit_class: the model's fit result; its ``PARAMETERS`` name the
            parameters in the order of the problem's start values.
        prepared: the model's prepared problem, or why it cannot be fitted.
        max_iterations: optimiser iteration limit.
        started: ``time.perf_counter()`` when the fit began (before
            preparation), for ``fit_seconds``.

    Returns:
        A fit of ``fit_class``; ``converged`` says whether it may be used for
        predictions. Parameters are NaN when the optimiser did not run.
    """
    if isinstance(prepared, NotFitted):
        return _fallback(fit_class, prepared.reason, prepared.counts, started)
    optimum = _minimise(
        prepared.objective, prepared.start, fit_class.PARAMETERS, max_iterations
    )
    log_likelihood = -prepared.objective(np.log(optimum.params))[0]
    log_likelihood *= prepared.total_weight
    if optimum.failure:
        return _fallback(
            fit_class,
            optimum.failure,
            prepared.counts,
            started,
            params=optimum.params,
            log_likelihood=log_likelihood,
            iterations=optimum.iterations,
        )
    covariance = log_parameter_covariance(
        prepared.objective, np.log(optimum.params), prepared.total_weight
    )
    return fit_class(
        **dict(zip(fit_class.PARAMETERS, map(float, optimum.params), strict=True)),
        log_likelihood=float(log_likelihood),
        **prepared.counts,
        converged=True,
        iterations=optimum.iterations,
        fit_seconds=time.perf_counter() - started,
        log_covariance=(
            None if covariance is None else tuple(map(float, covariance.ravel()))
        ),
    )


def log_parameter_covariance(
    objective: Callable[[FloatArray], tuple[float, FloatArray]],
    log_params: FloatArray,
    total_weight: float,
) -> FloatArray | None:
    """Covariance of the maximum-likelihood log-parameters, or None.

    The asymptotic covariance of a maximum-likelihood estimate is the inverse
    of the observed information, the Hessian of the total negative
    log-likelihood at the optimum (e.g. Casella & Berger 2002, section
    10.1.3). The Hessian is taken in log-parameter space, where the fitter
    works and where the estimates are closer to normal, by central
    differences of the problem's analytic gradient (``HESSIAN_STEP``; 2k
    gradient evaluations for k parameters), symmetrised. The objective is
    the mean over customers, so the Hessian is scaled by ``total_weight``:
    twice the customers, half the variance.

    Args:
        objective: the problem's mean negative log-likelihood and gradient.
        log_params: the optimum, in log-parameter space.
        total_weight: customers in the likelihood.

    Returns:
        The k x k covariance of the log-parameters; None when the Hessian is
        not finite or not positive definite (a flat or saddle direction: the
        parameters are not determined by the data).
    """
    k = len(log_params)
    hessian = np.empty((k, k))
    with np.errstate(all="ignore"):
        for column in range(k):
            step = np.zeros(k)
            step[column] = HESSIAN_STEP
            upper = objective(log_params + step)[1]
            lower = objective(log_params - step)[1]
            hessian[:, column] = (upper - lower) / (2.0 * HESSIAN_STEP)
    hessian = 0.5 * (hessian + hessian.T) * total_weight
    if not np.all(np.isfinite(hessian)):
        return None
    try:
        factor = np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        return None
    inverse_factor = np.linalg.solve(factor, np.eye(k))
    covariance = inverse_factor.T @ inverse_factor
    covariance = 0.5 * (covariance + covariance.T)
    if not np.all(np.isfinite(covariance)) or np.any(np.diag(covariance) <= 0):
        return None
    return covariance


def _fallback(
    fit_class: type[Fit],
    reason: str,
    counts: dict[str, int],
    started: float,
    *,
    params: FloatArray | None = None,
    log_likelihood: float = float("nan"),
    iterations: int = 0,
) -> Fit:
    """A fit that must not be used for predictions."""
    names = fit_class.PARAMETERS
    values = params if params is not None else [float("nan")] * len(names)
    count_fields: dict[str, Any] = {"n_distinct": 0, **counts}
    return fit_class(
        **dict(zip(names, map(float, values), strict=True)),
        log_likelihood=log_likelihood,
        **count_fields,
        converged=False,
        iterations=iterations,
        fit_seconds=time.perf_counter() - started,
        fallback_reason=reason,
    )
