"""Customer lifetime value: a transaction model's purchases times
Gamma-Gamma spend."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from segmentation.methods.btyd.base import (
    BtydFit,
    FloatArray,
    aggregate_rows,
    as_float_arrays,
)
from segmentation.methods.btyd.gamma_gamma import GammaGammaFit, expected_average_spend
from segmentation.methods.btyd.models import model_of

# Periods per month used to step the CLV horizon, as lifetimes does.
PERIODS_PER_MONTH: dict[str, float] = {"D": 30.0, "W": 4.345}


def customer_lifetime_value(
    transactions: BtydFit,
    gamma_gamma: GammaGammaFit,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
    *,
    periods_per_month: float,
    months: int,
    discount_rate: float,
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
        transactions: a fit of a registered transaction model (see
            ``models.TRANSACTION_MODELS``); its ``expected_purchases_distinct``
            gives the cumulative expectations.
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

    Raises:
        TypeError: when ``transactions`` is not a transaction model's fit.
    """
    x, t_x, age, m = as_float_arrays(frequency, recency, T, monetary_value)
    expected_purchases_distinct = model_of(transactions).expected_purchases_distinct
    if not (transactions.converged and gamma_gamma.converged):
        return np.full(len(x), np.nan)
    spend = expected_average_spend(gamma_gamma, x, m)
    (ux, ut_x, uage), _, inverse = aggregate_rows([x, t_x, age], np.ones(len(x)))
    purchases = np.zeros(len(x))
    previous = np.zeros(len(ux))
    for month in range(1, months + 1):
        cumulative = expected_purchases_distinct(
            transactions, month * periods_per_month, ux, ut_x, uage
        )
        discount = (1.0 + discount_rate) ** month
        purchases += ((cumulative - previous) / discount)[inverse]
        previous = cumulative
    return spend * purchases
