"""Glue between the predictive-LTV dbt Python models and segmentation.methods.btyd.

``int_btyd_models_fitted`` fits BG/NBD on every purchaser's BTYD summary and
Gamma-Gamma on the repeat purchasers, one row per model;
``int_users_clv_predicted`` turns the fitted parameters (read back from that
table, never refitted) into per-user predictions. When either model could
not be fitted (too few repeat buyers, no convergence), every user falls back
to historical LTV with ``clv_source = 'historical_ltv'`` and a
``[segmentation]`` log line.

The calibration and holdout mode (var ``clv_calibration_end_date``) does the
same on the calibration period only: ``int_btyd_models_fitted_to_calibration``
fits the models, ``int_users_btyd_holdout_predicted`` predicts each
customer's purchases and revenue over the holdout, which the mart
``clv_holdout_comparison`` sets against what they really bought. With the
mode off both tables are empty.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa

from segmentation.dbt_python import log
from segmentation.methods import btyd

FITS_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("r", pa.float64()),
        ("alpha", pa.float64()),
        ("a", pa.float64()),
        ("b", pa.float64()),
        ("p", pa.float64()),
        ("q", pa.float64()),
        ("v", pa.float64()),
        ("log_likelihood", pa.float64()),
        ("n_customers", pa.int64()),
        ("converged", pa.bool_()),
        ("iterations", pa.int64()),
        ("fit_seconds", pa.float64()),
        ("fallback_reason", pa.string()),
    ]
)

HOLDOUT_PREDICTIONS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("probability_alive", pa.float64()),
        ("predicted_holdout_purchases", pa.float64()),
        ("expected_average_spend", pa.float64()),
        ("predicted_holdout_revenue", pa.float64()),
    ]
)

USER_CLV_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("probability_alive", pa.float64()),
        ("expected_purchases", pa.float64()),
        ("expected_average_spend", pa.float64()),
        ("predicted_clv", pa.float64()),
        ("historical_ltv", pa.float64()),
        ("clv_source", pa.string()),
    ]
)


def _summary(table: pa.Table) -> pd.DataFrame:
    frame = table.to_pandas()
    for column in ("frequency", "recency", "customer_age", "monetary_value"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    return frame.sort_values("user_id", kind="stable").reset_index(drop=True)


def fits_table(
    summary: pa.Table,
    *,
    scope: str = "",
    fallback: str = "historical LTV",
) -> pa.Table:
    """Rows of int_btyd_models_fitted: the BG/NBD and the Gamma-Gamma fit.

    ``scope`` is appended to the log line of a fit (which purchasers), and
    ``fallback`` names what replaces the predictions of a model that could
    not be fitted.
    """
    frame = _summary(summary)
    bgnbd = btyd.fit_bgnbd(frame["frequency"], frame["recency"], frame["customer_age"])
    gamma_gamma = btyd.fit_gamma_gamma(frame["frequency"], frame["monetary_value"])
    for name, fit in (("BG/NBD", bgnbd), ("Gamma-Gamma", gamma_gamma)):
        if fit.converged:
            log(f"clv: {name} fitted on {fit.n_customers:,} purchasers{scope}")
        else:
            log(f"clv: {name} not fitted{scope} ({fit.fallback_reason}); {fallback}")
    rows = [
        {
            "model": "bg_nbd",
            "r": bgnbd.r,
            "alpha": bgnbd.alpha,
            "a": bgnbd.a,
            "b": bgnbd.b,
            "log_likelihood": bgnbd.log_likelihood,
            "n_customers": bgnbd.n_customers,
            "converged": bgnbd.converged,
            "iterations": bgnbd.iterations,
            "fit_seconds": bgnbd.fit_seconds,
            "fallback_reason": bgnbd.fallback_reason,
        },
        {
            "model": "gamma_gamma",
            "p": gamma_gamma.p,
            "q": gamma_gamma.q,
            "v": gamma_gamma.v,
            "log_likelihood": gamma_gamma.log_likelihood,
            "n_customers": gamma_gamma.n_customers,
            "converged": gamma_gamma.converged,
            "iterations": gamma_gamma.iterations,
            "fit_seconds": gamma_gamma.fit_seconds,
            "fallback_reason": gamma_gamma.fallback_reason,
        },
    ]
    frame = pd.DataFrame(rows).reindex(columns=FITS_SCHEMA.names)
    return pa.Table.from_pandas(frame, schema=FITS_SCHEMA, preserve_index=False)


def _fits(table: pa.Table) -> tuple[btyd.BgNbdFit, btyd.GammaGammaFit]:
    rows = {row["model"]: row for row in table.to_pylist()}
    bg, gg = rows["bg_nbd"], rows["gamma_gamma"]
    bgnbd = btyd.BgNbdFit(
        r=bg["r"],
        alpha=bg["alpha"],
        a=bg["a"],
        b=bg["b"],
        log_likelihood=bg["log_likelihood"],
        n_customers=bg["n_customers"],
        n_distinct=0,
        converged=bool(bg["converged"]),
        iterations=bg["iterations"],
        fit_seconds=bg["fit_seconds"],
        fallback_reason=bg["fallback_reason"],
    )
    gamma_gamma = btyd.GammaGammaFit(
        p=gg["p"],
        q=gg["q"],
        v=gg["v"],
        log_likelihood=gg["log_likelihood"],
        n_customers=gg["n_customers"],
        n_excluded=0,
        n_distinct=0,
        converged=bool(gg["converged"]),
        iterations=gg["iterations"],
        fit_seconds=gg["fit_seconds"],
        fallback_reason=gg["fallback_reason"],
    )
    return bgnbd, gamma_gamma


def user_clv_table(summary: pa.Table, fits: pa.Table, settings: str) -> pa.Table:
    """Rows of user_clv: per purchaser, probability alive, expected
    purchases and spend, and predicted CLV over the horizon (or historical
    LTV when a model could not be fitted)."""
    config = json.loads(settings)
    frame = _summary(summary)
    out = pd.DataFrame(
        {
            "user_id": frame["user_id"].astype(str),
            "historical_ltv": frame["historical_ltv"].astype(float),
        }
    )
    bgnbd, gamma_gamma = _fits(fits) if fits.num_rows else (None, None)
    usable = bool(bgnbd and gamma_gamma and bgnbd.converged and gamma_gamma.converged)
    if len(frame) == 0 or not usable:
        out["probability_alive"] = np.nan
        out["expected_purchases"] = np.nan
        out["expected_average_spend"] = np.nan
        out["predicted_clv"] = out["historical_ltv"]
        out["clv_source"] = "historical_ltv"
        if len(frame):
            log("clv: predicted CLV falls back to historical LTV for every user")
        return pa.Table.from_pandas(
            out.reindex(columns=USER_CLV_SCHEMA.names),
            schema=USER_CLV_SCHEMA,
            preserve_index=False,
        )
    periods_per_month = btyd.PERIODS_PER_MONTH[
        "W" if config["time_unit"] == "weeks" else "D"
    ]
    months = int(config["horizon_months"])
    x, t_x, age, m = (
        frame["frequency"],
        frame["recency"],
        frame["customer_age"],
        frame["monetary_value"],
    )
    out["probability_alive"] = btyd.probability_alive(bgnbd, x, t_x, age)
    out["expected_purchases"] = btyd.expected_purchases(
        bgnbd, months * periods_per_month, x, t_x, age
    )
    out["expected_average_spend"] = btyd.expected_average_spend(gamma_gamma, x, m)
    clv = btyd.customer_lifetime_value(
        bgnbd,
        gamma_gamma,
        x,
        t_x,
        age,
        m,
        periods_per_month=periods_per_month,
        months=months,
        discount_rate=float(config["discount_rate"]),
    )
    margin = float(config["margin"])
    out["predicted_clv"] = np.where(np.isfinite(clv), margin * clv, np.nan)
    missing = ~np.isfinite(out["predicted_clv"])
    out.loc[missing, "predicted_clv"] = out.loc[missing, "historical_ltv"]
    out["clv_source"] = np.where(missing, "historical_ltv", "bg_nbd_gamma_gamma")
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
    """Rows of int_users_btyd_holdout_predicted: per calibration customer,
    the probability of being alive at the calibration end, the BG/NBD
    conditional expectation of repeat purchase days over the holdout, the
    Gamma-Gamma expected spend and their product, the expected revenue.

    Predictions of a model that could not be fitted, and any non-finite
    value, are null. No rows when the mode is off (empty inputs).
    """
    frame = _summary(summary)
    if len(frame) == 0 or fits.num_rows == 0:
        return HOLDOUT_PREDICTIONS_SCHEMA.empty_table()
    bgnbd, gamma_gamma = _fits(fits)
    duration = float(pd.to_numeric(frame["holdout_duration"]).iloc[0])
    x, t_x, age, m = (
        frame["frequency"],
        frame["recency"],
        frame["customer_age"],
        frame["monetary_value"],
    )
    purchases = btyd.expected_purchases(bgnbd, duration, x, t_x, age)
    spend = btyd.expected_average_spend(gamma_gamma, x, m)
    out = pd.DataFrame(
        {
            "user_id": frame["user_id"].astype(str),
            "probability_alive": btyd.probability_alive(bgnbd, x, t_x, age),
            "predicted_holdout_purchases": purchases,
            "expected_average_spend": spend,
            "predicted_holdout_revenue": purchases * spend,
        }
    )
    values = out.columns[1:]
    out[values] = out[values].where(np.isfinite(out[values].to_numpy()))
    actual = float(pd.to_numeric(frame["holdout_purchases"]).sum())
    if bgnbd.converged and actual > 0:
        predicted = float(out["predicted_holdout_purchases"].sum())
        calibration_end = pd.Timestamp(frame["calibration_end_date"].iloc[0])
        start = calibration_end + pd.Timedelta(days=1)
        end = pd.Timestamp(frame["holdout_end_date"].iloc[0])
        log(
            f"clv: holdout {start:%Y-%m-%d} to {end:%Y-%m-%d}: {actual:,.0f}"
            f" repeat purchase days, BG/NBD predicted {predicted:,.0f}"
            f" ({predicted / actual - 1:+.1%})"
        )
    return pa.Table.from_pandas(
        out.reindex(columns=HOLDOUT_PREDICTIONS_SCHEMA.names),
        schema=HOLDOUT_PREDICTIONS_SCHEMA,
        preserve_index=False,
    )
