"""Predictive LTV built by dbt: BG/NBD + Gamma-Gamma in the product, with a
fallback to historical LTV."""

from __future__ import annotations

from pathlib import Path

from conftest import Build, run_build


def test_models_fit_on_the_demo_and_reach_the_profile(demo_build: Build) -> None:
    fits = demo_build.query(
        "select model, converged, n_customers from marts.clv_model_fits order by 1"
    )
    assert [(model, converged) for model, converged, _ in fits] == [
        ("bg_nbd", True),
        ("gamma_gamma", True),
    ]
    purchasers = demo_build.scalar(
        "select count(*) from marts.user_profiles where order_count > 0"
    )
    assert fits[0][2] == purchasers
    rows, modelled, alive_range = demo_build.query(
        "select count(*), count(*) filter (where clv_source = 'bg_nbd_gamma_gamma'),"
        " min(probability_alive) >= 0 and max(probability_alive) <= 1"
        " from marts.user_profiles where order_count > 0"
    )[0]
    assert rows == modelled == purchasers
    assert alive_range
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
    assert (
        build.scalar(
            "select count(*) from marts.user_clv where predicted_clv != historical_ltv"
        )
        == 0
    )
