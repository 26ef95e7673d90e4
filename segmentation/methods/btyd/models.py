"""The registry of transaction models: one entry per model of the purchase
and dropout process, so that callers treat BG/NBD, MBG/NBD and Pareto/NBD
alike.

Every transaction model module exposes the same functions (see the package
docstring): a fit function ``fit_<model>(frequency, recency, T, weights=None,
*, min_customers, min_repeat_buyers, max_iterations)``, a per-customer
log-likelihood, ``probability_alive``, ``expected_purchases_distinct`` (on
distinct rows) and ``expected_purchases``. A :class:`TransactionModel` holds
them under one name; ``TRANSACTION_MODELS`` maps the names of the var
``btyd_model`` to them and :func:`model_of` finds the model of a fit.

Adding a model is two lines: import its module and add
``_entry("<name>", "<label>", module, module.<Fit>, module.fit_<model>,
module.<model>_log_likelihood)`` to ``TRANSACTION_MODELS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from segmentation.methods.btyd import bg_nbd, mbg_nbd, pareto_nbd
from segmentation.methods.btyd.base import BtydFit


@dataclass(frozen=True)
class TransactionModel:
    """One transaction model's fit result and functions.

    Attributes:
        name: the model's name, as the var ``btyd_model`` spells it.
        label: its name for people (``BG/NBD``), in logs and the report.
        fit_class: its fit result (a ``BtydFit``).
        fit: ``fit(frequency, recency, T, weights=None, *, min_customers,
            min_repeat_buyers, max_iterations)`` -> a fit of ``fit_class``.
        log_likelihood: ``log_likelihood(fit_or_params, frequency, recency,
            T)`` -> one log-likelihood per customer.
        probability_alive: ``probability_alive(fit, frequency, recency, T)``.
        expected_purchases_distinct: ``expected_purchases_distinct(fit, t,
            x, t_x, age)`` on distinct rows.
        expected_purchases: ``expected_purchases(fit, t, frequency, recency,
            T)`` per customer.
    """

    name: str
    label: str
    fit_class: type[BtydFit]
    fit: Callable[..., Any]
    log_likelihood: Callable[..., Any]
    probability_alive: Callable[..., Any]
    expected_purchases_distinct: Callable[..., Any]
    expected_purchases: Callable[..., Any]


def _entry(
    name: str,
    label: str,
    module: ModuleType,
    fit_class: type[BtydFit],
    fit: Callable[..., Any],
    log_likelihood: Callable[..., Any],
) -> tuple[str, TransactionModel]:
    """A registry entry: the prediction functions share their names in every
    model module; the fit function and log-likelihood carry the model's."""
    return name, TransactionModel(
        name=name,
        label=label,
        fit_class=fit_class,
        fit=fit,
        log_likelihood=log_likelihood,
        probability_alive=module.probability_alive,
        expected_purchases_distinct=module.expected_purchases_distinct,
        expected_purchases=module.expected_purchases,
    )


TRANSACTION_MODELS: dict[str, TransactionModel] = dict(
    [
        _entry(
            "bg_nbd",
            "BG/NBD",
            bg_nbd,
            bg_nbd.BgNbdFit,
            bg_nbd.fit_bgnbd,
            bg_nbd.bgnbd_log_likelihood,
        ),
        _entry(
            "mbg_nbd",
            "MBG/NBD",
            mbg_nbd,
            mbg_nbd.MbgNbdFit,
            mbg_nbd.fit_mbgnbd,
            mbg_nbd.mbgnbd_log_likelihood,
        ),
        _entry(
            "pareto_nbd",
            "Pareto/NBD",
            pareto_nbd,
            pareto_nbd.ParetoNbdFit,
            pareto_nbd.fit_pareto_nbd,
            pareto_nbd.pareto_nbd_log_likelihood,
        ),
    ]
)


def model_of(fit: BtydFit) -> TransactionModel:
    """The transaction model a fit belongs to, by its class.

    Raises:
        TypeError: when the fit is not of a registered transaction model
            (a Gamma-Gamma fit, say): a caller bug.
    """
    for model in TRANSACTION_MODELS.values():
        if type(fit) is model.fit_class:
            return model
    raise TypeError(
        f"{type(fit).__name__} is not a registered transaction model "
        f"({', '.join(TRANSACTION_MODELS)})"
    )
