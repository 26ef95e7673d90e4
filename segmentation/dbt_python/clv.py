"""Glue between the predictive-LTV dbt Python models and segmentation.methods.btyd.

``int_btyd_models_fitted`` fits every transaction model of the registry
(``segmentation.methods.btyd.models.TRANSACTION_MODELS``: BG/NBD, MBG/NBD,
Pareto/NBD) on every purchaser's BTYD summary and Gamma-Gamma on the repeat
purchasers, one row per model with its log-likelihood and AIC; the SQL
model ``int_btyd_model_chosen`` picks the transaction model (var
``btyd_model``); ``int_users_clv_predicted`` turns the chosen model's
fitted parameters (read back from the fits table, never refitted) into
per-user predictions with p10/p50/p90 intervals from the parameters'
uncertainty. When no model can be used (none chosen, too few repeat
buyers, no convergence), every user falls back to historical LTV with
``clv_source = 'historical_ltv'`` and a ``[segmentation]`` log line.

The calibration and holdout mode (var ``clv_calibration_end_date``) does the
same on the calibration period only: ``int_btyd_models_fitted_to_calibration``
fits the models, ``int_users_btyd_holdout_predicted`` predicts each
customer's purchases and revenue over the holdout with every transaction
model (one row per customer and model), which ``int_btyd_models_scored_on_holdout``
and the marts set against what they really bought. With the mode off those
tables are empty.
"""

from __future__ import annotations

import json
from dataclasses import fields

import numpy as np
import pandas as pd
import pyarrow as pa

from segmentation.dbt_python import log
from segmentation.methods import btyd
from segmentation.methods.btyd import uncertainty
from segmentation.methods.btyd.base import BtydFit
from segmentation.methods.btyd.models import TRANSACTION_MODELS

# The seed of user_clv's p10/p50/p90 intervals, fixed here once: the
# default method (sigma points) draws nothing, the Monte Carlo option
# would draw with it, so a rebuild always gives the same intervals.
INTERVAL_SEED = 19
# The quantiles of the intervals, and their column suffixes.
INTERVAL_QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}

# Readable names of the models, for the log lines.
MODEL_LABELS = {
    **{name: model.label for name, model in TRANSACTION_MODELS.items()},
    "gamma_gamma": "Gamma-Gamma",
}

# Every parameter column of the fits tables (each model fills its own).
PARAMETER_COLUMNS = ("r", "alpha", "a", "b", "s", "beta", "p", "q", "v")

FITS_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        *((name, pa.float64()) for name in PARAMETER_COLUMNS),
        ("log_likelihood", pa.float64()),
        ("n_parameters", pa.int64()),
        ("aic", pa.float64()),
        ("n_customers", pa.int64()),
        ("converged", pa.bool_()),
        ("iterations", pa.int64()),
        ("fit_seconds", pa.float64()),
        ("fallback_reason", pa.string()),
        # The covariance of the log-parameters (row-major, k x k; null
        # when not estimated): what the intervals draw from.
        ("log_covariance", pa.list_(pa.float64())),
    ]
)

HOLDOUT_PREDICTIONS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("model", pa.string()),
        ("probability_alive", pa.float64()),
        ("predicted_holdout_purchases", pa.float64()),
        ("expected_average_spend", pa.float64()),
        ("predicted_holdout_revenue", pa.float64()),
    ]
)

USER_CLV_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("btyd_model", pa.string()),
        ("probability_alive", pa.float64()),
        ("expected_purchases", pa.float64()),
        *(
            (f"expected_purchases_{suffix}", pa.float64())
            for suffix in INTERVAL_QUANTILES
        ),
        ("expected_average_spend", pa.float64()),
        ("predicted_clv", pa.float64()),
        *((f"predicted_clv_{suffix}", pa.float64()) for suffix in INTERVAL_QUANTILES),
        ("historical_ltv", pa.float64()),
        ("clv_source", pa.string()),
    ]
)


def _summary(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas()
    for column in ("frequency", "recency", "customer_age", "monetary_value"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame.sort_values("user_id", kind="stable").reset_index(drop=True)


def _fit_row(name: str, fit: BtydFit) -> dict:
    """A fit as a row of FITS_SCHEMA; AIC = 2k - 2 log-likelihood (null
    when the log-likelihood is not finite)."""
    k = len(fit.PARAMETERS)
    log_likelihood = fit.log_likelihood
    finite = log_likelihood is not None and np.isfinite(log_likelihood)
    covariance = getattr(fit, "log_covariance", None)
    return {
        "model": name,
        **dict(zip(fit.PARAMETERS, fit.params, strict=True)),
        "log_likelihood": log_likelihood,
        "n_parameters": k,
        "aic": 2 * k - 2 * log_likelihood if finite else None,
        "n_customers": fit.n_customers,
        "converged": fit.converged,
        "iterations": fit.iterations,
        "fit_seconds": fit.fit_seconds,
        "fallback_reason": fit.fallback_reason,
        "log_covariance": list(covariance) if covariance is not None else None,
    }


def fits_table(
    summary: pa.Table,
    *,
    scope: str = "",
    fallback: str = "historical LTV",
) -> pa.Table:
    """Rows of int_btyd_models_fitted: every transaction model of the
    registry (in its order), then Gamma-Gamma.

    ``scope`` is appended to the log line of a fit (which purchasers), and
    ``fallback`` names what replaces the predictions of a model that could
    not be fitted.
    """
    frame = _summary(summary)
    x, t_x, age = frame["frequency"], frame["recency"], frame["customer_age"]
    fitted: list[tuple[str, BtydFit]] = [
        (name, spec.fit(x, t_x, age)) for name, spec in TRANSACTION_MODELS.items()
    ]
    fitted.append(
        (
            "gamma_gamma",
            btyd.fit_gamma_gamma(frame["frequency"], frame["monetary_value"]),
        )
    )
    for name, fit in fitted:
        label = MODEL_LABELS.get(name, name)
        if fit.converged:
            log(
                f"clv: {label} fitted on {fit.n_customers:,} purchasers{scope}"
                f" (log-likelihood {fit.log_likelihood:,.1f})"
            )
        else:
            log(f"clv: {label} not fitted{scope} ({fit.fallback_reason}); {fallback}")
    rows = [_fit_row(name, fit) for name, fit in fitted]
    table = pd.DataFrame(rows).reindex(columns=FITS_SCHEMA.names)
    return pa.Table.from_pandas(table, schema=FITS_SCHEMA, preserve_index=False)


def _fit_from_row(fit_class: type[BtydFit], row: dict) -> BtydFit:
    """The fit of ``fit_class`` stored in a row of FITS_SCHEMA."""
    known = {field.name for field in fields(fit_class)}
    values = {
        "log_likelihood": row["log_likelihood"],
        "n_customers": row["n_customers"],
        "n_distinct": 0,
        "converged": bool(row["converged"]),
        "iterations": row["iterations"],
        "fit_seconds": row["fit_seconds"],
        "fallback_reason": row["fallback_reason"],
        "log_covariance": (
            tuple(row["log_covariance"]) if row["log_covariance"] else None
        ),
        "n_excluded": 0,
        **{name: row[name] for name in fit_class.PARAMETERS},
    }
    return fit_class(**{name: value for name, value in values.items() if name in known})


def _fits(table: pa.Table) -> dict[str, BtydFit]:
    """The fits of a fits table by model name (transaction models of the
    registry and Gamma-Gamma; rows of unknown models are ignored)."""
    classes = {name: spec.fit_class for name, spec in TRANSACTION_MODELS.items()}
    classes["gamma_gamma"] = btyd.GammaGammaFit
    return {
        row["model"]: _fit_from_row(classes[row["model"]], row)
        for row in table.to_pylist()
        if row["model"] in classes
    }


def _intervals(
    transaction: BtydFit,
    gamma_gamma: btyd.GammaGammaFit,
    x: np.ndarray,
    t_x: np.ndarray,
    age: np.ndarray,
    m: np.ndarray,
    *,
    periods_per_month: float,
    months: int,
    discount_rate: float,
) -> dict[str, np.ndarray]:
    """p10/p50/p90 of each customer's expected purchases over the horizon
    and of their CLV (before margin) from the parameter estimates'
    uncertainty (``uncertainty.prediction_intervals``, its default method;
    seed ``INTERVAL_SEED`` for a method that draws); NaN where a fit has no
    covariance."""
    names = [
        f"{quantity}_{suffix}"
        for quantity in ("expected_purchases", "predicted_clv")
        for suffix in INTERVAL_QUANTILES
    ]
    frame = uncertainty.prediction_intervals(
        transaction,
        gamma_gamma,
        x,
        t_x,
        age,
        m,
        periods_per_month=periods_per_month,
        months=months,
        discount_rate=discount_rate,
        seed=INTERVAL_SEED,
    )
    return {name: frame[name].to_numpy(dtype=float) for name in names}


def _fallback_clv(out: pd.DataFrame, model: str | None, why: str) -> pa.Table:
    """user_clv when no model can be used: historical LTV, no intervals."""
    for column in USER_CLV_SCHEMA.names:
        if column not in out:
            out[column] = np.nan
    out["btyd_model"] = model
    out["predicted_clv"] = out["historical_ltv"]
    out["clv_source"] = "historical_ltv"
    if len(out):
        log(f"clv: predicted CLV falls back to historical LTV for every user ({why})")
    return pa.Table.from_pandas(
        out.reindex(columns=USER_CLV_SCHEMA.names),
        schema=USER_CLV_SCHEMA,
        preserve_index=False,
    )


def user_clv_table(
    summary: pa.Table,
    fits: pa.Table,
    settings: str,
    model: str | None = "bg_nbd",
) -> pa.Table:
    """Rows of user_clv: per purchaser, the chosen transaction model's
    probability alive and expected purchases, the Gamma-Gamma expected
    spend, the predicted CLV over the horizon, and p10/p50/p90 intervals of
    expected purchases and CLV from the parameters' uncertainty (seed
    ``INTERVAL_SEED``; margin applied as to the point CLV); historical LTV
    and no intervals when no model can be used.

    Args:
        summary: the BTYD summary (int_users_btyd_summarized).
        fits: the fits (int_btyd_models_fitted).
        settings: the model's JSON settings (time unit, horizon, discount
            rate, margin).
        model: the chosen transaction model (int_btyd_model_chosen), None
            when none was chosen.
    """
    config = json.loads(settings)
    frame = _summary(summary)
    out = pd.DataFrame(
        {
            "user_id": frame["user_id"].astype(str),
            "historical_ltv": frame["historical_ltv"].astype(float),
        }
    )
    if model is None:
        return _fallback_clv(out, None, "no transaction model was chosen")
    fitted = _fits(fits) if fits.num_rows else {}
    transaction, gamma_gamma = fitted.get(model), fitted.get("gamma_gamma")
    if transaction is None or gamma_gamma is None:
        return _fallback_clv(out, model, f"no fit of {model} and Gamma-Gamma")
    if not (transaction.converged and gamma_gamma.converged):
        return _fallback_clv(out, model, f"{model} or Gamma-Gamma not fitted")
    if len(frame) == 0:
        return _fallback_clv(out, model, "no purchasers")
    spec = TRANSACTION_MODELS[model]
    periods_per_month = btyd.PERIODS_PER_MONTH[
        "W" if config["time_unit"] == "weeks" else "D"
    ]
    months = int(config["horizon_months"])
    discount_rate = float(config["discount_rate"])
    margin = float(config["margin"])
    x, t_x, age, m = (
        frame["frequency"].to_numpy(),
        frame["recency"].to_numpy(),
        frame["customer_age"].to_numpy(),
        frame["monetary_value"].to_numpy(),
    )
    out["btyd_model"] = model
    out["probability_alive"] = spec.probability_alive(transaction, x, t_x, age)
    out["expected_purchases"] = spec.expected_purchases(
        transaction, months * periods_per_month, x, t_x, age
    )
    out["expected_average_spend"] = btyd.expected_average_spend(gamma_gamma, x, m)
    clv = btyd.customer_lifetime_value(
        transaction,
        gamma_gamma,
        x,
        t_x,
        age,
        m,
        periods_per_month=periods_per_month,
        months=months,
        discount_rate=discount_rate,
    )
    out["predicted_clv"] = np.where(np.isfinite(clv), margin * clv, np.nan)
    intervals = _intervals(
        transaction,
        gamma_gamma,
        x,
        t_x,
        age,
        m,
        periods_per_month=periods_per_month,
        months=months,
        discount_rate=discount_rate,
    )
    for suffix in INTERVAL_QUANTILES:
        out[f"expected_purchases_{suffix}"] = intervals[f"expected_purchases_{suffix}"]
        out[f"predicted_clv_{suffix}"] = margin * intervals[f"predicted_clv_{suffix}"]
    missing = ~np.isfinite(out["predicted_clv"])
    out.loc[missing, "predicted_clv"] = out.loc[missing, "historical_ltv"]
    interval_columns = [
        f"{name}_{suffix}"
        for name in ("expected_purchases", "predicted_clv")
        for suffix in INTERVAL_QUANTILES
    ]
    out.loc[missing, interval_columns] = np.nan
    out["clv_source"] = np.where(missing, "historical_ltv", f"{model}_gamma_gamma")
    values = [
        name
        for name in USER_CLV_SCHEMA.names
        if USER_CLV_SCHEMA.field(name).type == pa.float64()
    ]
    out[values] = out[values].where(np.isfinite(out[values].to_numpy(dtype=float)))
    return pa.Table.from_pandas(
        out.reindex(columns=USER_CLV_SCHEMA.names),
        schema=USER_CLV_SCHEMA,
        preserve_index=False,
    )


def calibration_fits_table(summary: pa.Table, settings: str) -> pa.Table:
    """Rows of int_btyd_models_fitted_to_calibration: the models fitted on
    the calibration summary; no rows when the mode is off (no
    ``calibration_end_date`` in the settings)."""
    end = json.loads(settings).get("calibration_end_date")
    if end is None:
        return FITS_SCHEMA.empty_table()
    return fits_table(
        summary,
        scope=f" (calibration period up to {end})",
        fallback="no holdout prediction",
    )


def holdout_predictions_table(summary: pa.Table, fits: pa.Table) -> pa.Table:
    """Rows of int_users_btyd_holdout_predicted: per calibration customer
    and transaction model, the probability of being alive at the
    calibration end, the model's conditional expectation of repeat
    purchase days over the holdout, the Gamma-Gamma expected spend and
    their product, the expected revenue.

    Predictions of a model that could not be fitted, and any non-finite
    value, are null. No rows when the mode is off (empty inputs).
    """
    frame = _summary(summary)
    if len(frame) == 0 or fits.num_rows == 0:
        return HOLDOUT_PREDICTIONS_SCHEMA.empty_table()
    fitted = _fits(fits)
    gamma_gamma = fitted["gamma_gamma"]
    duration = float(pd.to_numeric(frame["holdout_duration"]).iloc[0])
    x, t_x, age, m = (
        frame["frequency"].to_numpy(),
        frame["recency"].to_numpy(),
        frame["customer_age"].to_numpy(),
        frame["monetary_value"].to_numpy(),
    )
    spend = btyd.expected_average_spend(gamma_gamma, x, m)
    actual = float(pd.to_numeric(frame["holdout_purchases"]).sum())
    calibration_end = pd.Timestamp(frame["calibration_end_date"].iloc[0])
    start = calibration_end + pd.Timedelta(days=1)
    end = pd.Timestamp(frame["holdout_end_date"].iloc[0])
    parts = []
    for name, spec in TRANSACTION_MODELS.items():
        fit = fitted.get(name)
        if fit is None:
            continue
        purchases = spec.expected_purchases(fit, duration, x, t_x, age)
        part = pd.DataFrame(
            {
                "user_id": frame["user_id"].astype(str),
                "model": name,
                "probability_alive": spec.probability_alive(fit, x, t_x, age),
                "predicted_holdout_purchases": purchases,
                "expected_average_spend": spend,
                "predicted_holdout_revenue": purchases * spend,
            }
        )
        values = part.columns[2:]
        part[values] = part[values].where(np.isfinite(part[values].to_numpy()))
        parts.append(part)
        if fit.converged and actual > 0:
            predicted = float(part["predicted_holdout_purchases"].sum())
            log(
                f"clv: holdout {start:%Y-%m-%d} to {end:%Y-%m-%d}: {actual:,.0f}"
                f" repeat purchase days, {MODEL_LABELS.get(name, name)} predicted"
                f" {predicted:,.0f} ({predicted / actual - 1:+.1%})"
            )
    if not parts:
        return HOLDOUT_PREDICTIONS_SCHEMA.empty_table()
    out = pd.concat(parts, ignore_index=True)
    return pa.Table.from_pandas(
        out.reindex(columns=HOLDOUT_PREDICTIONS_SCHEMA.names),
        schema=HOLDOUT_PREDICTIONS_SCHEMA,
        preserve_index=False,
    )
