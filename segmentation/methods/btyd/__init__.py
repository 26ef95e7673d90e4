"""Predictive lifetime value: the BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma models.

Pure functions behind the predictive-LTV dbt Python models. The inputs are
the "buy till you die" (BTYD) summary per customer, computed by the dbt
model ``int_users_btyd_summarized``:

- ``frequency`` (x): number of repeat purchase periods, i.e. periods with a
  purchase after the first one (several purchases in one period count once);
- ``recency`` (t_x): time from the first to the last purchase;
- ``T``: time from the first purchase to the end of the observation window;
- ``monetary_value``: mean value of the repeat purchase periods (0 when there
  are none).

Time is in any unit (days or weeks) as long as it is the same for all three.

One model per module over one shared fitter, as in lifetimes and
pymc-marketing:

- ``base``: the maximum-likelihood fitter every model uses (L-BFGS-B with an
  analytic gradient in log-parameter space, box bounds so parameters stay
  positive, fixed options), aggregation of identical customers (their count
  becomes a weight), the convergence checks and fallback reasons, and
  ``BtydFit``, the fields every fit result has;
- ``bg_nbd``: BG/NBD (Fader, Hardie & Lee 2005), the purchase and dropout
  process: ``fit_bgnbd``, ``probability_alive``, ``expected_purchases``;
- ``mbg_nbd``: MBG/NBD (Batislam, Denizel & Filiztekin 2007), BG/NBD with
  a dropout chance right after the first purchase too, so a one-time buyer
  is not certainly alive: ``fit_mbgnbd`` and the same predictions;
- ``pareto_nbd``: Pareto/NBD (Schmittlein, Morrison & Colombo 1987; Fader,
  Hardie & Lee 2005), dropout at any time at an exponential rate, not only
  after purchases: ``fit_pareto_nbd`` and the same predictions;
- ``gamma_gamma``: Gamma-Gamma (Fader, Hardie & Lee 2005b; Fader & Hardie
  2013), the spend per transaction: ``fit_gamma_gamma``,
  ``expected_average_spend``;
- ``models``: the registry of transaction models, ``TRANSACTION_MODELS``
  (name -> fit class, fit function, log-likelihood and predictions) and
  ``model_of(fit)``, so callers treat every transaction model alike;
- ``lifetime_value``: ``customer_lifetime_value`` from any transaction
  model's fit and a Gamma-Gamma fit;
- ``uncertainty``: ``prediction_intervals``, p10/p50/p90 of expected
  purchases and CLV from the parameter estimates' uncertainty (every
  converged fit records the covariance of its log-parameters,
  ``log_covariance``).

A new model is a module with its fit result (a ``BtydFit`` with its
parameter fields and ``PARAMETERS``), its likelihood prepared as a
``base.Problem``, and its predictions; ``base.maximise_likelihood`` fits it.

Degenerate data never raises: no customers, too few customers or repeat
buyers, identical customers, invalid values, non-convergence, or a parameter
running off towards 0 or infinity (a likelihood ridge: no dropout, no spread
in spend) all give a fit with ``converged=False`` and a ``fallback_reason``.
The prediction helpers then return NaN, so callers fall back to historical
LTV. Only a caller bug (inputs of different lengths) raises ``ValueError``.
"""

from segmentation.methods.btyd.base import BtydFit, aggregate_rows
from segmentation.methods.btyd.bg_nbd import (
    BgNbdFit,
    bgnbd_log_likelihood,
    expected_purchases,
    fit_bgnbd,
    probability_alive,
)
from segmentation.methods.btyd.gamma_gamma import (
    GammaGammaFit,
    expected_average_spend,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
)
from segmentation.methods.btyd.lifetime_value import (
    PERIODS_PER_MONTH,
    customer_lifetime_value,
)
from segmentation.methods.btyd.mbg_nbd import (
    MbgNbdFit,
    fit_mbgnbd,
    mbgnbd_log_likelihood,
)
from segmentation.methods.btyd.models import (
    TRANSACTION_MODELS,
    TransactionModel,
    model_of,
)
from segmentation.methods.btyd.pareto_nbd import (
    ParetoNbdFit,
    fit_pareto_nbd,
    pareto_nbd_log_likelihood,
)
from segmentation.methods.btyd.uncertainty import prediction_intervals

__all__ = [
    "PERIODS_PER_MONTH",
    "TRANSACTION_MODELS",
    "BgNbdFit",
    "BtydFit",
    "GammaGammaFit",
    "MbgNbdFit",
    "ParetoNbdFit",
    "TransactionModel",
    "aggregate_rows",
    "bgnbd_log_likelihood",
    "customer_lifetime_value",
    "expected_average_spend",
    "expected_purchases",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_mbgnbd",
    "fit_pareto_nbd",
    "gamma_gamma_log_likelihood",
    "mbgnbd_log_likelihood",
    "model_of",
    "pareto_nbd_log_likelihood",
    "prediction_intervals",
    "probability_alive",
]
