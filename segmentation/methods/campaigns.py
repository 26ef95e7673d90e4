"""Statistics of a campaign's treatment against its holdout.

Pure functions on group counts and moments, so a campaign's results are
computed from one small table (``int_campaign_groups_measured``: users,
converters, revenue and revenue sum of squares per group) and never from
the raw orders again. Every function returns ``None`` where the quantity is
undefined (an empty group, no variation) instead of raising: the mart shows
a null and the verdict says why.

- Conversion: absolute lift with the Newcombe hybrid score interval (method
  10 of Newcombe 1998, Stat Med 17:873-890: Wilson score intervals of the
  two rates, combined by "square and add"), relative lift (rate ratio - 1)
  with the Katz log-ratio interval, two-proportion z-test (pooled).
- Revenue per user: Welch's unequal-variance t interval and test, from the
  group moments (n, sum, sum of squares) -- the same numbers as
  ``scipy.stats.ttest_ind(equal_var=False)`` on the per-user values.
- Sample ratio mismatch: chi-square goodness of fit of the group sizes
  against the planned holdout share (exact binomial test when a group
  expects fewer than 5 users).
- Minimum detectable absolute lift: (z_{1-alpha/2} + z_power) *
  sqrt(p (1 - p) (1/n_t + 1/n_h)), 2.8 * sqrt(...) at alpha 0.05, power 0.8.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

Interval = tuple[float, float]

# Below this expected group size the sample ratio test is exact (binomial).
MIN_EXPECTED_FOR_CHI_SQUARE = 5


def _z(alpha: float) -> float:
    """The two-sided critical value z_{1-alpha/2}."""
    return float(stats.norm.ppf(1.0 - alpha / 2.0))


def wilson_interval(successes: int, n: int, alpha: float = 0.05) -> Interval | None:
    """Wilson score interval (no continuity correction) of successes / n;
    None when n is 0."""
    if n <= 0:
        return None
    z = _z(alpha)
    p = successes / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denominator = 1 + z * z / n
    return (
        max(0.0, (centre - spread) / denominator),
        min(1.0, (centre + spread) / denominator),
    )


def difference_interval(
    x_treatment: int,
    n_treatment: int,
    x_holdout: int,
    n_holdout: int,
    alpha: float = 0.05,
) -> Interval | None:
    """Newcombe's hybrid score interval (method 10) of p_treatment -
    p_holdout; None when a group is empty. Stays within [-1, 1] and is
    defined at 0 and 100 % conversion, where the Wald interval collapses."""
    treatment = wilson_interval(x_treatment, n_treatment, alpha)
    holdout = wilson_interval(x_holdout, n_holdout, alpha)
    if treatment is None or holdout is None:
        return None
    p1 = x_treatment / n_treatment
    p2 = x_holdout / n_holdout
    l1, u1 = treatment
    l2, u2 = holdout
    difference = p1 - p2
    return (
        difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
        difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2),
    )


def relative_lift(
    x_treatment: int,
    n_treatment: int,
    x_holdout: int,
    n_holdout: int,
    alpha: float = 0.05,
) -> tuple[float, float, float] | None:
    """(rate ratio - 1, lower, upper): the relative lift with the Katz
    log-ratio interval, exp(log RR -+ z * sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2))
    - 1. None when a group is empty or has no converter (the ratio or its
    log is undefined)."""
    if min(n_treatment, n_holdout, x_treatment, x_holdout) <= 0:
        return None
    ratio = (x_treatment / n_treatment) / (x_holdout / n_holdout)
    se = math.sqrt(1 / x_treatment - 1 / n_treatment + 1 / x_holdout - 1 / n_holdout)
    z = _z(alpha)
    log_ratio = math.log(ratio)
    return ratio - 1, math.exp(log_ratio - z * se) - 1, math.exp(log_ratio + z * se) - 1


def two_proportion_p_value(
    x_treatment: int, n_treatment: int, x_holdout: int, n_holdout: int
) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test; None when a
    group is empty or nobody (or everybody) converted in both groups (no
    variation, the statistic is 0 / 0)."""
    if n_treatment <= 0 or n_holdout <= 0:
        return None
    pooled = (x_treatment + x_holdout) / (n_treatment + n_holdout)
    variance = pooled * (1 - pooled) * (1 / n_treatment + 1 / n_holdout)
    if variance <= 0:
        return None
    z = (x_treatment / n_treatment - x_holdout / n_holdout) / math.sqrt(variance)
    return float(2 * stats.norm.sf(abs(z)))


@dataclass(frozen=True)
class Moments:
    """A group's per-user values summarised: count, sum, sum of squares."""

    n: int
    total: float
    sum_of_squares: float

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n > 0 else None

    @property
    def variance(self) -> float | None:
        """Sample variance (n - 1 denominator); None below 2 users. Clipped
        at 0 against rounding of sum_of_squares - total^2 / n."""
        if self.n < 2:
            return None
        return max(
            0.0, (self.sum_of_squares - self.total * self.total / self.n) / (self.n - 1)
        )


@dataclass(frozen=True)
class WelchResult:
    difference: float | None
    lower: float | None
    upper: float | None
    p_value: float | None


def welch(treatment: Moments, holdout: Moments, alpha: float = 0.05) -> WelchResult:
    """Difference of means (treatment - holdout) with Welch's t interval and
    two-sided p-value (Welch-Satterthwaite degrees of freedom).

    The difference needs one user per group; the interval and p-value need
    two per group (a variance) and a positive standard error: when both
    groups have zero variance (everybody spent the same) they are None, as
    scipy's ttest_ind returns nan."""
    if treatment.mean is None or holdout.mean is None:
        return WelchResult(None, None, None, None)
    difference = treatment.mean - holdout.mean
    if treatment.variance is None or holdout.variance is None:
        return WelchResult(difference, None, None, None)
    a = treatment.variance / treatment.n
    b = holdout.variance / holdout.n
    if a + b <= 0:
        return WelchResult(difference, None, None, None)
    se = math.sqrt(a + b)
    df = (a + b) ** 2 / (a * a / (treatment.n - 1) + b * b / (holdout.n - 1))
    t = float(stats.t.ppf(1 - alpha / 2, df))
    p_value = float(2 * stats.t.sf(abs(difference / se), df))
    return WelchResult(difference, difference - t * se, difference + t * se, p_value)


def sample_ratio_p_value(
    n_treatment: int, n_holdout: int, planned_holdout_share: float
) -> float | None:
    """p-value of the chi-square goodness-of-fit test (1 degree of freedom)
    of the group sizes against the planned split; None without users or
    with a share outside (0, 1). When a group's expected size is below 5,
    where the chi-square approximation overstates small deviations (a
    tiny segment would be flagged for one user too many), the exact
    two-sided binomial test is used instead."""
    total = n_treatment + n_holdout
    if total <= 0 or not 0 < planned_holdout_share < 1:
        return None
    expected_holdout = total * planned_holdout_share
    expected_treatment = total - expected_holdout
    if min(expected_holdout, expected_treatment) < MIN_EXPECTED_FOR_CHI_SQUARE:
        return float(stats.binomtest(n_holdout, total, planned_holdout_share).pvalue)
    statistic = (n_treatment - expected_treatment) ** 2 / expected_treatment + (
        n_holdout - expected_holdout
    ) ** 2 / expected_holdout
    return float(stats.chi2.sf(statistic, 1))


def minimum_detectable_lift(
    n_treatment: int,
    n_holdout: int,
    base_rate: float | None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float | None:
    """The smallest absolute conversion lift the groups detect with the
    given power in a two-sided test at alpha: (z_{1-alpha/2} + z_power) *
    sqrt(p (1 - p) (1/n_t + 1/n_h)). None when a group is empty or the base
    rate is unknown, 0 or 1 (no variance to scale by)."""
    if n_treatment <= 0 or n_holdout <= 0 or base_rate is None:
        return None
    if not 0 < base_rate < 1:
        return None
    multiplier = _z(alpha) + float(stats.norm.ppf(power))
    return multiplier * math.sqrt(
        base_rate * (1 - base_rate) * (1 / n_treatment + 1 / n_holdout)
    )


def base_rate(
    x_treatment: int, n_treatment: int, x_holdout: int, n_holdout: int
) -> float | None:
    """The rate the MDE is scaled by: the holdout's conversion rate, or the
    pooled rate when the holdout has no converter; None without users."""
    if n_holdout > 0 and x_holdout > 0:
        return x_holdout / n_holdout
    total = n_treatment + n_holdout
    return (x_treatment + x_holdout) / total if total > 0 else None


def verdict(
    *,
    is_interim: bool,
    is_sample_ratio_mismatch: bool,
    lift: float | None,
    p_value: float | None,
    minimum_detectable: float | None,
    base: float | None,
    alpha: float = 0.05,
) -> str:
    """A short reading of one comparison, in this order: a sample ratio
    mismatch first (the split is broken, nothing else can be trusted, even
    in an interim look), then 'interim' (the window is not over), then a
    significant lift or drop (p < alpha), then 'too small to tell (MDE x
    pts)' when even a doubling of the base rate would likely go unseen
    (MDE > base rate, or no MDE at all), else 'no detectable difference'."""
    if is_sample_ratio_mismatch:
        return "sample ratio mismatch"
    if is_interim:
        return "interim"
    if p_value is not None and lift is not None and p_value < alpha and lift != 0:
        return "significant lift" if lift > 0 else "significant drop"
    if minimum_detectable is None:
        return "too small to tell (MDE n/a)"
    if base is None or minimum_detectable > base:
        return f"too small to tell (MDE {minimum_detectable * 100:.1f} pts)"
    return "no detectable difference"
