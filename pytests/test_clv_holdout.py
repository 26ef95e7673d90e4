"""Calibration and holdout mode of predicted CLV, built by dbt on CDNOW.

The CDNOW sample (``fixtures/cdnow_sample.csv``) goes in as an orders file of
the raw-data contract, one order per transaction line, and the project is
built as in Fader, Hardie & Lee (2005): calibration to 1997-09-30 (39
weeks), holdout to 1998-06-30 (as_of_date 1998-07-01, 39 weeks), time in
weeks. The truth the mart is checked against is counted here with pandas
from the fixture, independently of the SQL: a transaction is a distinct
purchase day of a customer, as in the papers and in BTYD / lifetimes.

Measured on this data: the model's predicted holdout purchase days are
1,653 against 1,882 actual (-12.1%); per bucket -4.9% (0), -24.9% (1),
-25.0% (2), -2.5% (3), -14.5% (4), -10.0% (5), -9.3% (6), -3.2% (7+). The
tolerances below are set from those numbers, not from a wish for 10%.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from conftest import CDNOW_FIXTURE, Build, run_dbt, write_cdnow_orders

from segmentation.dbt_python import clv
from segmentation.dbt_python.clv import TRANSACTION_MODELS
from segmentation.methods import btyd

CALIBRATION_END = "1997-09-30"
AS_OF_DATE = "1998-07-01"
HOLDOUT_WEEKS = 39.0
BUCKETS = ["0", "1", "2", "3", "4", "5", "6", "7+", "total"]
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
TOLERANCE = 0.005  # parameters within 0.5% of the published values


@pytest.fixture(scope="module")
def cdnow_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_cdnow_orders(tmp_path_factory.mktemp("cdnow"))


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    """Per customer, from the fixture: calibration repeat purchase days
    (capped into the 7+ bucket), holdout purchase days and revenue."""
    lines = pd.read_csv(CDNOW_FIXTURE, parse_dates=["transaction_date"])
    days = lines.groupby(["customer_id", "transaction_date"], as_index=False)[
        "dollar_value"
    ].sum()
    in_calibration = days["transaction_date"] <= CALIBRATION_END
    calibration_days = days[in_calibration].groupby("customer_id").size()
    holdout = days[~in_calibration].groupby("customer_id")
    frame = pd.DataFrame({"calibration_days": calibration_days})
    frame["holdout_purchases"] = holdout.size().reindex(frame.index).fillna(0)
    frame["holdout_revenue"] = (
        holdout["dollar_value"].sum().reindex(frame.index).fillna(0.0)
    )
    repeat = (frame["calibration_days"] - 1).clip(upper=7)
    frame["bucket"] = repeat.astype(int).astype(str).replace("7", "7+")
    return frame


def comparison(build: Build) -> pd.DataFrame:
    with_total = build.query(
        "select calibration_frequency_bucket, bucket_order, is_total, customers,"
        " predicted_customers, actual_purchases, predicted_purchases,"
        " actual_purchases_per_customer, predicted_purchases_per_customer,"
        " purchases_error_share, actual_revenue, predicted_revenue,"
        " calibration_end_date, holdout_end_date, holdout_duration, time_unit"
        " from marts.clv_holdout_comparison order by bucket_order"
    )
    columns = [
        "bucket",
        "bucket_order",
        "is_total",
        "customers",
        "predicted_customers",
        "actual",
        "predicted",
        "actual_mean",
        "predicted_mean",
        "error_share",
        "actual_revenue",
        "predicted_revenue",
        "calibration_end_date",
        "holdout_end_date",
        "holdout_duration",
        "time_unit",
    ]
    return pd.DataFrame(with_total, columns=columns).set_index("bucket")


def test_calibration_fit_reproduces_the_published_parameters(
    cdnow_build: Build,
) -> None:
    fits = {
        (purpose, model): row
        for purpose, model, *row in cdnow_build.query(
            "select fit_purpose, model, cast(fitted_through_date as varchar),"
            " r, alpha, a, b, p, q, v, n_customers, converged"
            " from marts.clv_model_fits"
        )
    }
    assert set(fits) == {
        (purpose, model)
        for purpose in ("prediction", "calibration")
        for model in (*TRANSACTION_MODELS, "gamma_gamma")
    }
    through, r, alpha, a, b, *_, n_customers, converged = fits[
        ("calibration", "bg_nbd")
    ]
    assert (through, n_customers, converged) == (CALIBRATION_END, 2357, True)
    fitted = {"r": r, "alpha": alpha, "a": a, "b": b}
    for name, published in PUBLISHED_BGNBD.items():
        assert fitted[name] == pytest.approx(published, rel=TOLERANCE), name
    through, *_, p, q, v, n_customers, converged = fits[("calibration", "gamma_gamma")]
    assert (through, n_customers, converged) == (CALIBRATION_END, 946, True)
    fitted = {"p": p, "q": q, "v": v}
    for name, published in PUBLISHED_GAMMA_GAMMA.items():
        assert fitted[name] == pytest.approx(published, rel=TOLERANCE), name
    # The prediction fit sees every purchase before as_of_date.
    assert fits[("prediction", "bg_nbd")][0] == "1998-06-30"


def test_buckets_and_actual_purchases_match_an_independent_count(
    cdnow_build: Build, truth: pd.DataFrame
) -> None:
    table = comparison(cdnow_build)
    assert list(table.index) == BUCKETS
    assert list(table["bucket_order"]) == list(range(9))
    assert list(table["is_total"]) == [False] * 8 + [True]
    assert set(table["calibration_end_date"].astype(str)) == {CALIBRATION_END}
    assert set(table["holdout_end_date"].astype(str)) == {"1998-06-30"}
    assert set(table["holdout_duration"]) == {HOLDOUT_WEEKS}
    assert set(table["time_unit"]) == {"weeks"}

    expected = truth.groupby("bucket").agg(
        customers=("holdout_purchases", "size"),
        actual=("holdout_purchases", "sum"),
        revenue=("holdout_revenue", "sum"),
    )
    buckets = table.loc[BUCKETS[:-1]]
    assert buckets["customers"].sum() == table.loc["total", "customers"] == 2357
    assert buckets["customers"].to_dict() == expected["customers"].to_dict()
    assert buckets["actual"].to_dict() == expected["actual"].astype(int).to_dict()
    assert table.loc["total", "actual"] == truth["holdout_purchases"].sum() == 1882
    assert table.loc["total", "actual_revenue"] == pytest.approx(
        truth["holdout_revenue"].sum(), abs=0.01
    )
    assert (table["predicted_customers"] == table["customers"]).all()


def bgnbd_buckets(build: Build, truth: pd.DataFrame) -> pd.DataFrame:
    """The BG/NBD rows of int_users_btyd_holdout_predicted summed per bucket
    like the mart (which shows the chosen model's: var btyd_model), with
    the actual holdout purchase days and error shares."""
    rows = pd.DataFrame(
        build.query(
            "select cast(user_id as integer), predicted_holdout_purchases,"
            " predicted_holdout_revenue"
            " from intermediate.int_users_btyd_holdout_predicted"
            " where model = 'bg_nbd'"
        ),
        columns=["customer_id", "predicted", "predicted_revenue"],
    ).set_index("customer_id")
    rows = rows.join(truth[["bucket", "holdout_purchases", "holdout_revenue"]])
    table = rows.groupby("bucket").agg(
        customers=("predicted", "size"),
        predicted=("predicted", "sum"),
        actual=("holdout_purchases", "sum"),
        predicted_revenue=("predicted_revenue", "sum"),
        actual_revenue=("holdout_revenue", "sum"),
    )
    table.loc["total"] = table.sum()
    table["error_share"] = table["predicted"] / table["actual"] - 1
    table["actual_mean"] = table["actual"] / table["customers"]
    table["predicted_mean"] = table["predicted"] / table["customers"]
    return table


def test_the_mart_shows_the_chosen_models_predictions(cdnow_build: Build) -> None:
    table = comparison(cdnow_build)
    (chosen,) = cdnow_build.query(
        "select btyd_model from intermediate.int_btyd_model_chosen"
    )[0]
    assert set(
        cdnow_build.query("select btyd_model from marts.clv_holdout_comparison")
    ) == {(chosen,)}
    total = cdnow_build.scalar(
        "select sum(predicted_holdout_purchases)"
        " from intermediate.int_users_btyd_holdout_predicted as predicted"
        " inner join intermediate.int_btyd_model_chosen as chosen"
        " on predicted.model = chosen.btyd_model"
    )
    assert table.loc["total", "predicted"] == pytest.approx(total, rel=1e-12)


def test_predictions_are_the_published_models_and_track_the_holdout(
    cdnow_build: Build, truth: pd.DataFrame
) -> None:
    table = bgnbd_buckets(cdnow_build, truth)
    # The BG/NBD predictions are the conditional expectations of the
    # published parameters (to their rounding), recomputed here from the
    # calibration summary (int_users_btyd_holdout_summarized, checked
    # against a pandas oracle in test_btyd.py).
    summary = pd.DataFrame(
        cdnow_build.query(
            "select cast(user_id as integer), frequency, recency, customer_age"
            " from intermediate.int_users_btyd_holdout_summarized"
        ),
        columns=["customer_id", "frequency", "recency", "T"],
    ).set_index("customer_id")
    assert len(summary) == 2357
    published = btyd.BgNbdFit(
        **PUBLISHED_BGNBD,
        log_likelihood=0.0,
        n_customers=2357,
        n_distinct=0,
        converged=True,
        iterations=0,
        fit_seconds=0.0,
    )
    summary["predicted"] = btyd.expected_purchases(
        published,
        HOLDOUT_WEEKS,
        summary["frequency"],
        summary["recency"],
        summary["T"],
    )
    summary["bucket"] = truth["bucket"].reindex(summary.index)
    by_bucket = summary.groupby("bucket")["predicted"].sum()
    for bucket in BUCKETS[:-1]:
        assert table.loc[bucket, "predicted"] == pytest.approx(
            by_bucket[bucket], rel=0.01
        ), bucket
    assert table.loc["total", "predicted"] == pytest.approx(
        summary["predicted"].sum(), rel=0.01
    )

    # Against what happened (measured: see the module docstring).
    error = table["error_share"]
    assert -0.15 < error["total"] < 0  # -12.1%: fewer than happened
    assert abs(error["0"]) < 0.06  # -4.9%, 60% of the customers
    assert abs(error["7+"]) < 0.05  # -3.2%
    assert abs(error["3"]) < 0.05  # -2.5%
    for bucket in ("1", "2", "4", "5", "6"):  # -9% to -25%
        assert -0.30 < error[bucket] < 0, bucket
    # Both means rise with the calibration frequency.
    for column in ("actual_mean", "predicted_mean"):
        assert table.loc[BUCKETS[:-1], column].is_monotonic_increasing, column
    # Revenue: predicted 15.6% under the actual holdout revenue.
    assert table.loc["total", "predicted_revenue"] == pytest.approx(
        table.loc["total", "actual_revenue"], rel=0.20
    )


@pytest.mark.parametrize(
    ("end_date", "message"),
    [
        ("1997-13-01", "clv_calibration_end_date must be a date YYYY-MM-DD"),
        ("1998-06-30", "leaves no holdout period: it must be before 1998-06-30"),
    ],
)
def test_an_unusable_calibration_date_stops_with_a_message(
    cdnow_build: Build,
    cdnow_data: Path,
    tmp_path: Path,
    end_date: str,
    message: str,
) -> None:
    shutil.copy(cdnow_build.database, tmp_path / "warehouse.duckdb")
    variables = {
        "data_dir": str(cdnow_data),
        "as_of_date": AS_OF_DATE,
        "clv_calibration_end_date": end_date,
    }
    build = run_dbt(
        tmp_path,
        "run",
        "--select",
        "int_clv_calibration_period",
        "--vars",
        json.dumps(variables),
    )
    assert build.returncode != 0
    assert message in build.output


def test_mode_off_gives_empty_typed_tables() -> None:
    off = json.dumps({"calibration_end_date": None})
    summary = pa.table(
        {
            "user_id": pa.array([], pa.string()),
            **{
                column: pa.array([], pa.float64())
                for column in (
                    "frequency",
                    "recency",
                    "customer_age",
                    "monetary_value",
                    "holdout_purchases",
                    "holdout_duration",
                )
            },
        }
    )
    fits = clv.calibration_fits_table(summary, off)
    assert fits.num_rows == 0 and fits.schema == clv.FITS_SCHEMA
    predictions = clv.holdout_predictions_table(summary, fits)
    assert predictions.num_rows == 0
    assert predictions.schema == clv.HOLDOUT_PREDICTIONS_SCHEMA
