"""Predictive LTV built by dbt: the chosen transaction model (BG/NBD,
MBG/NBD or Pareto/NBD) + Gamma-Gamma in the product, with a fallback to
historical LTV."""

from __future__ import annotations

from pathlib import Path

from conftest import Build, run_build

from segmentation.dbt_python.clv import TRANSACTION_MODELS


def test_models_fit_on_the_demo_and_reach_the_profile(demo_build: Build) -> None:
    fits = demo_build.query(
        "select model, converged, n_customers, is_chosen from marts.clv_model_fits"
        " order by 1"
    )
    assert sorted((model, converged) for model, converged, *_ in fits) == sorted(
        [(name, True) for name in TRANSACTION_MODELS] + [("gamma_gamma", True)]
    )
    (chosen,) = [model for model, *_, is_chosen in fits if is_chosen]
    purchasers = demo_build.scalar(
        "select count(*) from marts.user_profiles where order_count > 0"
    )
    n_customers = {model: n for model, _, n, _ in fits}
    assert all(n_customers[name] == purchasers for name in TRANSACTION_MODELS)
    rows, modelled, alive_range = demo_build.query(
        "select count(*), count(*) filter (where clv_source = ?),"
        " min(probability_alive) >= 0 and max(probability_alive) <= 1"
        " from marts.user_profiles where order_count > 0",
        [f"{chosen}_gamma_gamma"],
    )[0]
    assert rows == modelled == purchasers
    assert alive_range
    # user_clv names the model behind its numbers: the chosen one.
    assert demo_build.query("select distinct btyd_model from marts.user_clv") == [
        (chosen,)
    ]
    # Recent frequent buyers are more likely alive than long-silent ones.
    recent, lapsed = demo_build.query(
        "select avg(probability_alive) filter (where lifecycle_stage = 'active'),"
        " avg(probability_alive) filter (where lifecycle_stage = 'churned')"
        " from marts.user_profiles"
    )[0]
    assert recent > lapsed
    assert (
        demo_build.scalar(
            "select corr(predicted_clv, historical_ltv) from marts.user_clv"
        )
        > 0.3
    )


def test_holdout_mode_is_off_by_default(demo_build: Build) -> None:
    # No calibration fit, and the comparison mart exists, typed, but empty.
    assert demo_build.query(
        "select distinct fit_purpose from marts.clv_model_fits"
    ) == [("prediction",)]
    assert demo_build.scalar("select count(*) from marts.clv_holdout_comparison") == 0
    columns = demo_build.query(
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'marts' and table_name = 'clv_holdout_comparison'"
        " order by ordinal_position"
    )
    assert columns[:3] == [
        ("calibration_frequency_bucket", "VARCHAR"),
        ("bucket_order", "INTEGER"),
        ("is_total", "BOOLEAN"),
    ]
    assert len(columns) == 17
    assert demo_build.scalar("select count(*) from marts.clv_model_comparison") == 0


def test_too_few_repeat_buyers_fall_back_to_historical_ltv(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text(
        "order_id,user_id,ordered_at,amount\n"
        + "".join(f"A{i},u{i},2025-0{1 + i % 9}-10,{10 + i}\n" for i in range(15))
        + "B1,u1,2025-09-20,30\n"
    )
    build = run_build(tmp_path / "run", "--data", str(data))
    assert build.returncode == 0, build.output[-3000:]
    assert "[segmentation] clv: BG/NBD not fitted (" in build.stdout
    assert "falls back to historical LTV for every user" in build.stdout
    assert "Traceback" not in build.output
    assert build.query("select distinct clv_source from marts.user_clv") == [
        ("historical_ltv",)
    ]
    # No model is chosen, and no interval is made up.
    assert build.query(
        "select count(btyd_model), count(expected_purchases_p50),"
        " count(predicted_clv_p10) from marts.user_clv"
    ) == [(0, 0, 0)]
    assert (
        build.scalar("select count(*) from marts.clv_model_fits where is_chosen") == 0
    )
    assert (
        build.scalar(
            "select count(*) from marts.user_clv where predicted_clv != historical_ltv"
        )
        == 0
    )


def test_value_tiers_can_be_cut_on_bgnbd_predicted_clv(cdnow_build: Build) -> None:
    """value_tier_metric: predicted_clv ranks purchasers by BG/NBD CLV.

    On the session's CDNOW build (conftest: as of the end of its data, with
    value_tier_metric predicted_clv), which builds int_users_valued."""
    build = cdnow_build
    valued = "intermediate.int_users_valued"
    # The tier's column is the per-user CLV, and every purchaser has one.
    assert build.query(
        "select count(*), count(clv.user_id),"
        " count(*) filter (where valued.predicted_clv = clv.predicted_clv)"
        f" from {valued} as valued"
        " left join intermediate.int_users_clv_predicted as clv"
        " on valued.user_id = clv.user_id where valued.order_count > 0"
    ) == [(2357, 2357, 2357)]
    bounds = dict(
        (tier, (low, high))
        for tier, low, high in build.query(
            "select value_tier, min(predicted_clv), max(predicted_clv)"
            f" from {valued} where order_count > 0 group by 1"
        )
    )
    assert set(bounds) == {"high", "medium", "low"}
    # Every high user is predicted to bring at least what any medium or low
    # user is, and medium at least what any low user is.
    assert bounds["high"][0] >= bounds["medium"][1] >= bounds["low"][1]
    assert bounds["medium"][0] >= bounds["low"][1]
    # ... which is not the revenue-so-far ranking: some high user has spent
    # less than some low user.
    assert build.scalar(
        f"select min(historical_ltv) filter (where value_tier = 'high')"
        f" < max(historical_ltv) filter (where value_tier = 'low') from {valued}"
    )
