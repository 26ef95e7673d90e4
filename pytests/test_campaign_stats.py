"""The campaign statistics (segmentation.methods.campaigns) against
independent references: Newcombe's published worked examples, scipy's own
tests on raw samples, and the edge cases a small or broken campaign gives.
No dbt build."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from segmentation.methods import campaigns as c

# Newcombe (1998), Stat Med 17:873-890, Table II, method 10 (hybrid score,
# no continuity correction): 95 % limits for p1 - p2, to 4 decimals.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_TABLE_II)
def test_difference_interval_matches_newcombe_table_ii(counts, expected):
    lower, upper = c.difference_interval(*counts)
    assert round(lower, 4) == expected[0]
    assert round(upper, 4) == expected[1]


def test_wilson_interval_matches_newcombe_single_proportion_example():
    # Newcombe (1998) "Two-sided confidence intervals for the single
    # proportion", 81/263: 0.2553 to 0.3662 (method 3).
    lower, upper = c.wilson_interval(81, 263)
    assert (round(lower, 4), round(upper, 4)) == (0.2553, 0.3662)


def test_intervals_are_undefined_for_an_empty_group():
    assert c.wilson_interval(0, 0) is None
    assert c.difference_interval(3, 10, 0, 0) is None
    assert c.relative_lift(3, 10, 0, 0) is None
    assert c.two_proportion_p_value(3, 10, 0, 0) is None


def test_difference_interval_at_zero_and_all_converters_stays_in_range():
    lower, upper = c.difference_interval(0, 50, 50, 50)
    assert -1.0 <= lower < upper < 0
    lower, upper = c.difference_interval(1, 1, 0, 1)
    assert 0 < upper <= 1.0 and -1.0 <= lower < 0


def test_relative_lift_katz_interval():
    lift, lower, upper = c.relative_lift(56, 70, 48, 80)
    ratio = (56 / 70) / (48 / 80)
    se = math.sqrt(1 / 56 - 1 / 70 + 1 / 48 - 1 / 80)
    assert lift == pytest.approx(ratio - 1)
    assert lower == pytest.approx(ratio * math.exp(-1.959964 * se) - 1, abs=1e-6)
    assert upper == pytest.approx(ratio * math.exp(1.959964 * se) - 1, abs=1e-6)
    # Asymmetric around the estimate on the ratio scale, as a log interval is.
    assert math.log1p(upper) - math.log1p(lift) == pytest.approx(
        math.log1p(lift) - math.log1p(lower)
    )


def test_relative_lift_is_undefined_without_converters():
    assert c.relative_lift(0, 100, 5, 100) is None
    assert c.relative_lift(5, 100, 0, 100) is None


def test_two_proportion_p_value_equals_the_chi_square_of_the_2x2_table():
    # The pooled z-test squared is Pearson's chi-square without correction.
    table = np.array([[56, 70 - 56], [48, 80 - 48]])
    chi2 = stats.chi2_contingency(table, correction=False)
    assert c.two_proportion_p_value(56, 70, 48, 80) == pytest.approx(chi2.pvalue)


def test_two_proportion_p_value_without_variation_is_undefined():
    assert c.two_proportion_p_value(0, 100, 0, 20) is None
    assert c.two_proportion_p_value(100, 100, 20, 20) is None


def _moments(values: np.ndarray) -> c.Moments:
    return c.Moments(len(values), float(values.sum()), float((values**2).sum()))


def test_welch_from_moments_equals_scipy_on_raw_samples():
    rng = np.random.default_rng(15)
    treatment = rng.exponential(30.0, 400) * (rng.random(400) < 0.2)
    holdout = rng.exponential(25.0, 90) * (rng.random(90) < 0.15)
    result = c.welch(_moments(treatment), _moments(holdout))
    reference = stats.ttest_ind(treatment, holdout, equal_var=False)
    assert result.difference == pytest.approx(treatment.mean() - holdout.mean())
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    interval = reference.confidence_interval(0.95)
    assert result.lower == pytest.approx(interval.low, rel=1e-9)
    assert result.upper == pytest.approx(interval.high, rel=1e-9)


def test_welch_with_one_user_gives_the_difference_only():
    result = c.welch(c.Moments(1, 10.0, 100.0), _moments(np.array([1.0, 2.0, 3.0])))
    assert result.difference == pytest.approx(8.0)
    assert (result.lower, result.upper, result.p_value) == (None, None, None)


def test_welch_with_an_empty_group_gives_nothing():
    result = c.welch(c.Moments(0, 0.0, 0.0), _moments(np.array([1.0, 2.0])))
    assert result == c.WelchResult(None, None, None, None)


def test_welch_with_zero_variance_in_both_groups_gives_no_interval():
    # Nobody bought in either group: scipy's t-test is nan, ours is None.
    result = c.welch(c.Moments(50, 0.0, 0.0), c.Moments(10, 0.0, 0.0))
    assert result.difference == 0.0
    assert (result.lower, result.upper, result.p_value) == (None, None, None)
    # One group with variance is enough.
    result = c.welch(_moments(np.array([0.0, 0.0, 10.0])), c.Moments(10, 0.0, 0.0))
    assert (
        result.p_value is not None and result.lower < result.difference < result.upper
    )


def test_sample_ratio_p_value_equals_scipy_chisquare():
    expected = stats.chisquare([820, 180], f_exp=[900, 100]).pvalue
    assert c.sample_ratio_p_value(820, 180, 0.1) == pytest.approx(expected)
    assert c.sample_ratio_p_value(900, 100, 0.1) == pytest.approx(1.0)
    assert c.sample_ratio_p_value(0, 0, 0.1) is None
    assert c.sample_ratio_p_value(10, 0, 0.0) is None


def test_sample_ratio_p_value_is_exact_for_tiny_expected_groups():
    # 20 users, 1% planned holdout, 3 in the holdout: the chi-square says
    # p ~ 4e-10 (a mismatch), the exact binomial test ~ 0.001.
    exact = stats.binomtest(3, 20, 0.01).pvalue
    assert c.sample_ratio_p_value(17, 3, 0.01) == pytest.approx(exact)
    assert c.sample_ratio_p_value(17, 3, 0.01) > 1e-4
    assert stats.chisquare([17, 3], f_exp=[19.8, 0.2]).pvalue < 1e-8


def test_minimum_detectable_lift_is_the_domain_formula():
    # 2.8 * sqrt(p(1-p)(1/n_t + 1/n_h)) at alpha 0.05 and power 0.8.
    mde = c.minimum_detectable_lift(9000, 1000, 0.05)
    assert mde == pytest.approx(
        2.8 * math.sqrt(0.05 * 0.95 * (1 / 9000 + 1 / 1000)), rel=1e-3
    )
    assert c.minimum_detectable_lift(9000, 1000, 0.05, power=0.9) > mde
    assert c.minimum_detectable_lift(90, 10, 0.05) > mde
    assert c.minimum_detectable_lift(0, 10, 0.05) is None
    assert c.minimum_detectable_lift(10, 10, 0.0) is None


def test_base_rate_is_the_holdout_rate_or_the_pooled_rate():
    assert c.base_rate(30, 100, 5, 50) == pytest.approx(0.1)
    assert c.base_rate(30, 100, 0, 50) == pytest.approx(0.2)
    assert c.base_rate(0, 0, 0, 0) is None


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (
            {"is_interim": True, "is_sample_ratio_mismatch": True},
            "sample ratio mismatch",
        ),
        ({"is_interim": True, "p_value": 1e-9, "lift": 0.1}, "interim"),
        ({"p_value": 0.001, "lift": 0.05}, "significant lift"),
        ({"p_value": 0.001, "lift": -0.05}, "significant drop"),
        (
            {"p_value": 0.4, "lift": 0.01, "minimum_detectable": 0.02},
            "no detectable difference",
        ),
        (
            {"p_value": 0.4, "lift": 0.01, "minimum_detectable": 0.1234},
            "too small to tell (MDE 12.3 pts)",
        ),
        ({"minimum_detectable": None}, "too small to tell (MDE n/a)"),
    ],
)
def test_verdict(arguments, expected):
    values = {
        "is_interim": False,
        "is_sample_ratio_mismatch": False,
        "lift": None,
        "p_value": None,
        "minimum_detectable": 0.01,
        "base": 0.1,
    } | arguments
    assert c.verdict(**values) == expected
