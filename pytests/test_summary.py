"""The summary make run prints: the main flows between primary segments."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
from conftest import Build, copy_build

from segmentation import summary

FLOWS_BLOCK = re.compile(
    r"^Flows since (\S+) \(primary segment, to (\S+)\)\n((?:  .*\n?)+)", re.M
)
FLOW_LINE = re.compile(r"  (\S+) -> (\S+): ([\d,]+) users")


def test_make_run_prints_the_main_flows_of_the_last_month(demo_build: Build) -> None:
    (block,) = FLOWS_BLOCK.findall(demo_build.stdout)
    from_date, to_date, body = block
    dates = [
        str(day)
        for (day,) in demo_build.query(
            "select distinct as_of_date from marts.segment_history order by 1"
        )
    ]
    assert [from_date, to_date] == dates[-2:]
    lines = body.rstrip("\n").split("\n")
    flows = [
        (source, target, int(count.replace(",", "")))
        for source, target, count in (
            FLOW_LINE.fullmatch(line).groups() for line in lines[:-1]
        )
    ]
    assert 1 <= len(flows) <= summary.FLOW_LINES
    assert [count for *_, count in flows] == sorted(
        (count for *_, count in flows), reverse=True
    )
    # The first line is the mart's largest move between two segments.
    moves = demo_build.query(
        "select from_segment, to_segment, user_count"
        " from marts.segment_migrations where dimension = 'primary_segment'"
        " and to_as_of_date = ?::date and from_segment <> to_segment"
        " and from_segment <> '(new)' and to_segment <> '(gone)'"
        " order by user_count desc",
        [to_date],
    )
    largest = moves[0][2]
    assert flows[0][2] == largest
    assert flows[0] in [move for move in moves if move[2] == largest]
    assert set(flows) <= set(moves)
    segments = {
        segment
        for (segment,) in demo_build.query(
            "select distinct primary_segment from marts.user_segments"
        )
    }
    assert {source for source, *_ in flows} | {target for _, target, _ in flows} <= (
        segments
    )
    # Users of the later date who were not in the earlier one, counted here.
    (joined,) = demo_build.query(
        "select count(*) from marts.segment_history as later"
        " where later.as_of_date = ?::date and not exists (select 1"
        " from marts.segment_history as earlier where earlier.as_of_date = ?::date"
        " and earlier.user_id = later.user_id)",
        [to_date, from_date],
    )[0]
    assert joined > 0
    assert lines[-1] == f"  new users: {joined:,} joined"


def test_no_flows_without_a_previous_date(orders_only_build: Build) -> None:
    # Built without HISTORY_FROM, the history holds one as-of date.
    assert "Primary segments" in orders_only_build.stdout
    assert "Flows since" not in orders_only_build.stdout


def test_drift_of_the_last_month_is_printed_as_a_warning(
    demo_build: Build, tmp_path: Path
) -> None:
    # The demo's history drifts nowhere (the warning stays quiet) ...
    assert "Segment drift since" not in demo_build.stdout
    assert (
        demo_build.scalar(
            "select count(*) from marts.segment_stability where is_drifted"
        )
        == 0
    )
    # ... and a segment whose share jumps in the last month is named.
    copy = copy_build(demo_build, tmp_path / "copy") / "warehouse.duckdb"
    with duckdb.connect(str(copy)) as connection:
        last = connection.execute(
            "select max(to_as_of_date) from marts.segment_stability"
        ).fetchone()[0]
        connection.execute(
            "update marts.segment_stability set is_drifted = true,"
            " drift_message = 'primary_segment potential: jumped'"
            " where dimension = 'primary_segment' and segment = 'potential'"
            " and to_as_of_date = ?",
            [last],
        )
    lines = summary.render(copy).splitlines()
    start = lines.index("Segment drift since the previous as-of date (warnings)")
    assert lines[start + 1 :] == ["  primary_segment potential: jumped"]


CAMPAIGNS_HEADER = re.compile(
    r"^Campaigns: (\d+) defined \(running (\d+), ended (\d+), scheduled (\d+)\)$"
)
CAMPAIGN_LINE = re.compile(
    r"  (\S+) \((running|ended)(, interim)?\): (?:(\d+\.\d)% vs holdout (\d+\.\d)%, )?"
    r"lift ([+-]\d+\.\d) pts \[([+-]\d+\.\d), ([+-]\d+\.\d)\],"
    r" p (< 0\.001|\d\.\d{3}|n/a): (.+)"
)


def test_make_run_prints_the_campaigns_and_their_lift(demo_build: Build) -> None:
    lines = demo_build.stdout.splitlines()
    (start,) = [i for i, line in enumerate(lines) if line.startswith("Campaigns: ")]
    counts = CAMPAIGNS_HEADER.fullmatch(lines[start])
    assert counts, lines[start]
    statuses = dict(
        demo_build.query(
            "select campaign_status, count(*) from marts.campaigns group by 1"
        )
    )
    assert [int(value) for value in counts.groups()] == [
        sum(statuses.values()),
        statuses.get("running", 0),
        statuses.get("ended", 0),
        statuses.get("scheduled", 0),
    ]
    # One line per running or ended campaign, none for scheduled ones.
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        block.append(line)
    shown = demo_build.query(
        "select campaign_id, campaign_status, is_interim, status_note"
        " from marts.campaigns where campaign_status <> 'scheduled'"
        " order by start_date, priority nulls last, campaign_id"
    )
    assert [line.split(" ", 3)[2] for line in block] == [row[0] for row in shown]
    results = {
        row[0]: row[1:]
        for row in demo_build.query(
            "select campaign_id, conversion_lift, conversion_lift_lower,"
            " conversion_lift_upper, conversion_p_value, verdict"
            " from marts.campaign_results where target_segment = '(all)'"
            " and campaign_group = 'treatment'"
        )
    }
    measured = 0
    for line, (campaign_id, status, interim, note) in zip(block, shown, strict=True):
        match = CAMPAIGN_LINE.fullmatch(line)
        prefix = f"  {campaign_id} ({status}{', interim' * interim}): "
        if campaign_id not in results:
            assert line == prefix + note
            continue
        if results[campaign_id][0] is None:
            assert line == prefix + results[campaign_id][-1]
            continue
        assert match, line
        assert match.group(2) == status
        assert bool(match.group(3)) is interim
        lift, lower, upper, p_value, verdict = results[campaign_id]
        assert float(match.group(6)) == pytest.approx(lift * 100, abs=0.051)
        assert float(match.group(7)) == pytest.approx(lower * 100, abs=0.051)
        assert float(match.group(8)) == pytest.approx(upper * 100, abs=0.051)
        if p_value is None:
            assert match.group(9) == "n/a"
        elif p_value < 0.001:
            assert match.group(9) == "< 0.001"
        else:
            assert float(match.group(9)) == pytest.approx(p_value, abs=0.0006)
        assert match.group(10) == verdict
        measured += 1
    # The demo's win-back and null campaigns have ended and are measured.
    assert measured >= 2


def test_no_campaigns_is_one_line(demo_build: Build, tmp_path: Path) -> None:
    copy = copy_build(demo_build, tmp_path / "copy") / "warehouse.duckdb"
    with duckdb.connect(str(copy)) as connection:
        connection.execute("delete from marts.campaigns")
    lines = summary.render(copy).splitlines()
    start = lines.index("Campaigns: none defined (campaigns.csv in the DATA folder)")
    assert not lines[start + 1].startswith("  ")
    # A warehouse built before the campaign marts: no block at all.
    with duckdb.connect(str(copy)) as connection:
        connection.execute("drop table marts.campaigns")
    assert "Campaigns" not in summary.render(copy)


def test_a_data_folder_without_campaigns_prints_one_line(
    orders_only_build: Build,
) -> None:
    lines = orders_only_build.stdout.splitlines()
    (start,) = [i for i, line in enumerate(lines) if line.startswith("Campaigns")]
    assert lines[start] == "Campaigns: none defined (campaigns.csv in the DATA folder)"
    assert not lines[start + 1].startswith("  ")


PROPENSITY_LINE = re.compile(
    r"  (will_\w+) (\d+) days( \(calibration holdout\))?(?:: "
    r"(\w+) ROC-AUC (\d\.\d{3}|n/a)(?: vs (.+?))?, evaluated (\S+) to (\S+)"
    r"(?:; ([\d,]+) users scored \((\w+)\))?"
    r"| \((\w+)\): (.+))"
)


def propensity_rows(build: Build) -> dict[tuple, dict]:
    """The scoring and calibration-holdout windows of the evaluation mart,
    by (label, horizon, kind): status, note, dates and AUC per model."""
    found: dict[tuple, dict] = {}
    for row in build.query(
        "select label, horizon_days, window_kind, status, fallback_reason,"
        " fallback_note, eval_snapshot_date, eval_label_end_date, model,"
        " roc_auc, is_scoring_model from marts.propensity_evaluation as evaluation"
        " where window_kind = 'calibration_holdout' or exists (select 1"
        " from marts.propensity_evaluation as scoring where scoring.is_scoring_model"
        " and scoring.window_kind = evaluation.window_kind"
        " and scoring.label = evaluation.label"
        " and scoring.horizon_days = evaluation.horizon_days)"
    ):
        entry = found.setdefault(
            tuple(row[:3]),
            {
                "status": row[3],
                "reason": row[4],
                "note": row[5],
                "dates": (str(row[6]), str(row[7])),
                "auc": {},
                "scoring": None,
            },
        )
        entry["auc"][row[8]] = row[9]
        if row[10]:
            entry["scoring"] = row[8]
    return found


def propensity_block(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    (start,) = [i for i, line in enumerate(lines) if line.startswith("Propensity")]
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        block.append(line)
    return block


def test_make_run_prints_the_propensity_of_each_scoring_label(
    demo_build: Build,
) -> None:
    windows = propensity_rows(demo_build)
    block = propensity_block(demo_build.stdout)
    assert len(block) == len(windows) >= 2
    scored = dict(
        zip(
            ("purchase_propensity", "churn_risk"),
            demo_build.query(
                "select count(purchase_propensity), count(churn_risk)"
                " from marts.user_profiles"
            )[0],
            strict=True,
        )
    )
    ready = 0
    for line in block:
        match = PROPENSITY_LINE.fullmatch(line)
        assert match, line
        kind = "calibration_holdout" if match.group(3) else "out_of_time"
        window = windows[(match.group(1), int(match.group(2)), kind)]
        if window["status"] != "ready":
            assert (match.group(11), match.group(12)) == (
                window["reason"],
                window["note"],
            )
            continue
        ready += 1
        model = match.group(4)
        assert model == window["scoring"]
        assert float(match.group(5)) == pytest.approx(window["auc"][model], abs=0.0006)
        rankers = dict(
            part.rsplit(" ", 1) for part in (match.group(6) or "").split(", ")
        )
        assert float(rankers["probability alive"]) == pytest.approx(
            window["auc"]["probability_alive"], abs=0.0006
        )
        assert float(rankers["RFM score"]) == pytest.approx(
            window["auc"]["rfm_score"], abs=0.0006
        )
        assert (match.group(7), match.group(8)) == window["dates"]
        column = match.group(10)
        assert int(match.group(9).replace(",", "")) == scored[column] > 0
    # The demo's year of history gives the 30-day purchase window a model.
    assert ready >= 1


def test_without_history_the_propensity_block_gives_the_fallback_notes(
    orders_only_build: Build,
) -> None:
    windows = propensity_rows(orders_only_build)
    block = propensity_block(orders_only_build.stdout)
    assert len(block) == len(windows) >= 2
    for line in block:
        match = PROPENSITY_LINE.fullmatch(line)
        assert match, line
        assert match.group(11) == "no_history"
        assert "HISTORY_FROM" in match.group(12)


def test_propensity_line_of_a_ready_and_a_fallback_window() -> None:
    ready = {
        "window_kind": "out_of_time",
        "label": "will_purchase",
        "horizon_days": 30,
        "status": "ready",
        "eval_snapshot_date": "2026-08-01",
        "eval_label_end_date": "2026-08-31",
        "is_scoring_window": True,
        "models": [
            {
                "model": "gradient_boosting",
                "model_kind": "classifier",
                "roc_auc": 0.78123,
                "is_scoring_model": True,
            },
            {
                "model": "logistic_regression",
                "model_kind": "classifier",
                "roc_auc": 0.79,
                "is_scoring_model": False,
            },
            {
                "model": "probability_alive",
                "model_kind": "ranker",
                "roc_auc": 0.7049,
                "is_scoring_model": False,
            },
            {
                "model": "rfm_score",
                "model_kind": "ranker",
                "roc_auc": 0.69,
                "is_scoring_model": False,
            },
        ],
    }
    scores = {"scored_users": {"purchase_propensity": 4321, "churn_risk": 900}}
    assert summary._propensity_line(ready, scores) == (
        "  will_purchase 30 days: gradient_boosting ROC-AUC 0.781 vs"
        " probability alive 0.705, RFM score 0.690, evaluated 2026-08-01 to"
        " 2026-08-31; 4,321 users scored (purchase_propensity)"
    )
    fallback = ready | {
        "label": "will_churn",
        "horizon_days": 90,
        "status": "fallback",
        "fallback_reason": "too_few_positives",
        "fallback_note": "only 12 churners: backfill more history",
    }
    assert summary._propensity_line(fallback, scores) == (
        "  will_churn 90 days (too_few_positives):"
        " only 12 churners: backfill more history"
    )


# --- behaviour and affinity (issue 17) ---------------------------------------


def test_behaviour_lines_of_the_rule_next_best_and_lookalikes() -> None:
    rule = {
        "antecedent": "electronics",
        "consequent": "gaming",
        "users_with_both": 321,
        "support": 0.0642,
        "antecedent_support": 0.3,
        "consequent_support": 0.1,
        "confidence": 0.214,
        "lift": 2.1449,
    }
    assert summary._rule_line({"rules": [rule], "rule_count": 1234}) == (
        "  top association rule: electronics -> gaming (lift 2.14, confidence"
        " 21.4%, support 6.4%; 1,234 rules)"
    )
    assert summary._rule_line({"rules": [], "rule_count": 0}) is None

    def row(method: str, k: int, rate: float | None) -> dict:
        return {"method": method, "k": k, "hit_rate": rate, "users_evaluated": 1500}

    evaluation = [
        row("item_item", 1, 0.2),
        row("popularity", 1, 0.1),
        row("item_item", 3, 0.4567),
        row("popularity", 3, 0.3),
        row("item_item", 5, None),
        row("popularity", 5, 0.4),
    ]
    assert summary._next_best_line({"evaluation": evaluation}) == (
        "  next-best category hit rate, item_item vs popularity: @1 20.0% vs"
        " 10.0%, @3 45.7% vs 30.0% (1,500 repeat buyers)"
    )
    assert summary._next_best_line({"evaluation": []}) is None

    ready = {
        "has_lookalike": True,
        "seed_column": "primary_segment",
        "seed_value": "high_value",
        "evaluated_at": "2026-09-15",
        "status": "ready",
        "fallback_reason": None,
        "note": None,
        "top_decile_join_rate": 0.123,
        "bottom_half_join_rate": 0.01,
        "scoring_status": "ready",
        "scoring_fallback_reason": None,
        "scoring_note": None,
        "audience_users": 300,
        "deciles": [{"lookalike_decile": 1}],
        "scored_users": 4200,
        "opted_in_users": 3000,
    }
    assert summary._lookalike_line(ready) == (
        "  lookalikes of primary_segment = high_value: audience 300 of 4,200"
        " users scored (3,000 accept marketing); joined by 2026-09-15: top"
        " decile 12.3% vs bottom half 1.0%"
    )
    no_history = ready | {
        "status": "fallback",
        "fallback_reason": "no_history",
        "note": "No evaluation: backfill the history",
        "deciles": [],
    }
    assert summary._lookalike_line(no_history) == (
        "  lookalikes of primary_segment = high_value: audience 300 of 4,200"
        " users scored (3,000 accept marketing); Evaluation (no history): No"
        " evaluation: backfill the history"
    )
    fallback = no_history | {
        "scoring_status": "fallback",
        "scoring_fallback_reason": "unknown_seed_column",
        "scoring_note": "set var lookalike_seed",
        "fallback_reason": "unknown_seed_column",
        "note": "set var lookalike_seed",
        "scored_users": 0,
    }
    assert summary._lookalike_line(fallback) == (
        "  lookalikes of primary_segment = high_value: Scores (unknown seed"
        " column): set var lookalike_seed"
    )
    assert summary._lookalike_line(ready | {"has_lookalike": False}) is None


def behaviour_block(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    (start,) = [i for i, line in enumerate(lines) if line == "Behaviour and affinity"]
    block = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        block.append(line)
    return block


def test_make_run_prints_behaviour_and_affinity(demo_build: Build) -> None:
    block = behaviour_block(demo_build.stdout)
    assert len(block) == 4
    rule, next_best, lookalike, funnel = block
    antecedent, consequent, lift, count = demo_build.query(
        "select antecedent, consequent, lift, count(*) over ()"
        " from marts.category_association_rules"
        " order by lift desc, confidence desc, antecedent, consequent limit 1"
    )[0]
    assert rule.startswith(
        f"  top association rule: {antecedent} -> {consequent} (lift {lift:.2f},"
    )
    assert rule.endswith(f"; {count:,} rules)")
    rates = dict(
        ((method, k), rate)
        for method, k, rate in demo_build.query(
            "select method, k, hit_rate from marts.next_best_category_evaluation"
        )
    )
    assert f"@3 {rates[('item_item', 3)]:.1%} vs {rates[('popularity', 3)]:.1%}" in (
        next_best
    )
    seed_column, seed_value, top, bottom = demo_build.query(
        "select seed_column, seed_value, top_decile_join_rate,"
        " bottom_half_join_rate from marts.lookalike_evaluation limit 1"
    )[0]
    assert lookalike.startswith(f"  lookalikes of {seed_column} = {seed_value}:")
    audience, scored = demo_build.query(
        "select count(*) filter (where in_audience), count(*)"
        " from marts.lookalike_scores"
    )[0]
    opted_in = demo_build.scalar(
        "select count(*) from marts.lookalike_scores where marketing_opt_in"
    )
    assert (
        f"audience {audience:,} of {scored:,} users scored"
        f" ({opted_in:,} accept marketing)" in lookalike
    )
    assert f"top decile {top:.1%} vs bottom half {bottom:.1%}" in lookalike
    first, last = demo_build.query(
        "select sum(sessions) filter (where step_number = 1),"
        " sum(sessions) filter (where step_number = (select max(step_number)"
        " from marts.segment_funnels)) from marts.segment_funnels"
    )[0]
    assert f": {int(last):,} of {int(first):,} sessions (" in funnel


def test_orders_only_summary_says_there_are_no_events(
    orders_only_build: Build,
) -> None:
    block = behaviour_block(orders_only_build.stdout)
    assert block[-1] == (
        "  funnel: no behaviour data (no events), so no sessions or funnels"
    )
    # The demo's orders carry product_category: the rules are there.
    assert block[0].startswith("  top association rule: ")


LIFETIME_VALUE_BLOCK = re.compile(
    r"^Lifetime value \(marts\.clv_model_fits; per purchaser in user_clv\)\n"
    r"  model: (.*)\n  fits: (.*)\n  ([\d,]+) purchasers: predicted CLV total"
    r" ([\d,]+), median ([\d,.]+); p10-p90 parameter-uncertainty width"
    r" ([\d.]+)% of the CLV \(median\)$",
    re.M,
)


def test_make_run_prints_the_clv_model_and_why(demo_build: Build) -> None:
    """Issue 19: the summary says which transaction model the CLV comes
    from and why, every model's AIC from the best, and the purchasers'
    CLV with the width of its parameter-uncertainty interval."""
    (block,) = LIFETIME_VALUE_BLOCK.findall(demo_build.stdout)
    model_line, fits_line, purchasers, total, median, width = block
    ((model, reason),) = demo_build.query(
        "select model, choice_reason from marts.clv_model_fits where is_chosen"
    )
    assert model_line == f"{summary._model_label(model)} + Gamma-Gamma ({reason})"
    fits = demo_build.query(
        "select model, aic from marts.clv_model_fits"
        " where fit_purpose = 'prediction' and model <> 'gamma_gamma' order by aic"
    )
    assert fits_line == ", ".join(
        f"{summary._model_label(name)} AIC {aic:,.1f}" for name, aic in fits
    )
    # auto with the holdout mode off takes the lowest AIC: the first one.
    assert fits[0][0] == model
    (expected,) = demo_build.query(
        "select count(*), sum(predicted_clv), median(predicted_clv),"
        " median((predicted_clv_p90 - predicted_clv_p10) / predicted_clv_p50)"
        " from marts.user_clv"
    )
    assert int(purchasers.replace(",", "")) == expected[0]
    assert int(total.replace(",", "")) == round(expected[1])
    assert float(median.replace(",", "")) == pytest.approx(expected[2], abs=0.005)
    assert float(width) == pytest.approx(100 * expected[3], abs=0.05)


def test_no_usable_clv_model_is_said(demo_build: Build, tmp_path: Path) -> None:
    copy = copy_build(demo_build, tmp_path / "copy") / "warehouse.duckdb"
    with duckdb.connect(str(copy)) as connection:
        connection.execute("update marts.clv_model_fits set is_chosen = false")
    text = summary.render(copy)
    assert "  model: none usable, predicted CLV is historical LTV" in text
