#!/usr/bin/python3
"""Regenerate gbstats-golden.json: Compare cases computed by gbstats itself.

gbstats is GrowthBook's statistics engine (Python, MIT). Run it from a
checkout of github.com/growthbook/growthbook at the commit named in
GBSTATS_COMMIT, with Debian's python3-scipy, python3-pandas and
python3-pydantic:

    PYTHONPATH=<growthbook>/packages/stats /usr/bin/python3 gen_gbstats_golden.py > gbstats-golden.json

Samples are drawn with a fixed seed; the cases hold only their sums, and
every expected value is gbstats' own output for those sums. Binomial CUPED is
left out: gbstats pairs a binomial metric with a binary covariate and
population (1/n) moments, while this package reads any covariate with sample
(1/(n-1)) moments, which differ by O(1/n).
"""
import json

import numpy as np

from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
from gbstats.frequentist.tests import (
    FrequentistConfig,
    SequentialConfig,
    SequentialTwoSidedTTest,
    TwoSidedTTest,
)
from gbstats.models.statistics import (
    ProportionStatistic,
    RatioStatistic,
    RegressionAdjustedStatistic,
    SampleMeanStatistic,
)

GBSTATS_COMMIT = "8f1db4456915a8e7b7faf23d5632ca7219d2f469"
rng = np.random.default_rng(17)


def draw(kind, n, lift):
    """Per-unit arrays x (metric or numerator), y (denominator), pre."""
    pre = rng.gamma(2.0, 5.0, n)
    if kind == "binomial":
        x = (rng.random(n) < 0.1 * (1 + lift)).astype(float)
        y = np.ones(n)
    elif kind == "continuous":
        x = np.round(np.maximum(0, 0.6 * pre + rng.normal(3, 4, n)) * (1 + lift), 2)
        y = np.ones(n)
    else:  # ratio: revenue over orders
        y = rng.integers(0, 4, n).astype(float)
        x = np.round(y * rng.gamma(4.0, 6.0, n) * (1 + lift), 2)
    return x, y, pre


def sums(x, y, pre):
    return {
        "n": int(len(x)), "sum": float(x.sum()), "sum_sq": float((x * x).sum()),
        "den_sum": float(y.sum()), "den_sum_sq": float((y * y).sum()), "sum_xy": float((x * y).sum()),
        "pre_sum": float(pre.sum()), "pre_sum_sq": float((pre * pre).sum()), "sum_x_pre": float((x * pre).sum()),
    }


def stat(kind, s, cuped):
    if kind == "binomial":
        return ProportionStatistic(n=s["n"], sum=s["sum"])
    if kind == "ratio":
        return RatioStatistic(
            n=s["n"],
            m_statistic=SampleMeanStatistic(n=s["n"], sum=s["sum"], sum_squares=s["sum_sq"]),
            d_statistic=SampleMeanStatistic(n=s["n"], sum=s["den_sum"], sum_squares=s["den_sum_sq"]),
            m_d_sum_of_products=s["sum_xy"],
        )
    post = SampleMeanStatistic(n=s["n"], sum=s["sum"], sum_squares=s["sum_sq"])
    if not cuped:
        return post
    return RegressionAdjustedStatistic(
        n=s["n"], post_statistic=post,
        pre_statistic=SampleMeanStatistic(n=s["n"], sum=s["pre_sum"], sum_squares=s["pre_sum_sq"]),
        post_pre_sum_of_products=s["sum_x_pre"], theta=None,
    )


def effect(r, with_p):
    e = {"estimate": float(r.expected), "std_err": float(r.uplift.stddev), "ci": [float(r.ci[0]), float(r.ci[1])]}
    if with_p:
        e["p_value"] = float(r.pValue)
    return e


cases = []
plan = [
    ("continuous", "frequentist", False, 0.05, None, None, 250, 260, 0.04),
    ("continuous", "frequentist", False, 0.1, None, None, 12, 9, 0.3),
    ("continuous", "frequentist", True, 0.05, None, None, 800, 790, 0.05),
    ("continuous", "sequential", False, 0.05, 2000, None, 1500, 1480, 0.03),
    ("continuous", "sequential", True, 0.01, None, None, 900, 950, 0.05),
    ("continuous", "bayesian", False, 0.05, None, None, 600, 640, 0.02),
    ("continuous", "bayesian", True, 0.05, None, (0.0, 0.3), 700, 690, 0.05),
    ("binomial", "frequentist", False, 0.05, None, None, 4000, 4100, 0.1),
    ("binomial", "sequential", False, 0.05, 10000, None, 5000, 5000, 0.1),
    ("binomial", "bayesian", False, 0.05, None, (0.05, 0.01), 3000, 3050, 0.1),
    ("ratio", "frequentist", False, 0.05, None, None, 1200, 1210, 0.06),
    ("ratio", "sequential", False, 0.05, None, None, 1300, 1250, 0.0),
    ("ratio", "bayesian", False, 0.2, None, None, 500, 520, 0.08),
]
for i, (kind, method, cuped, alpha, tuning, prior, na, nb, lift) in enumerate(plan):
    a, b = sums(*draw(kind, na, 0.0)), sums(*draw(kind, nb, lift))
    sa, sb = stat(kind, a, cuped), stat(kind, b, cuped)
    want = {}
    for diff in ("relative", "absolute"):
        if method == "frequentist":
            r = TwoSidedTTest([(sa, sb)], FrequentistConfig(difference_type=diff, alpha=alpha)).compute_result()
            want[diff] = effect(r, True)
        elif method == "sequential":
            cfg = SequentialConfig(difference_type=diff, alpha=alpha, sequential_tuning_parameter=tuning or 5000)
            want[diff] = effect(SequentialTwoSidedTTest([(sa, sb)], cfg).compute_result(), True)
        else:
            p = GaussianPrior(mean=prior[0], variance=prior[1], proper=True) if prior else GaussianPrior()
            r = EffectBayesianABTest([(sa, sb)], EffectBayesianConfig(difference_type=diff, alpha=alpha, prior_effect=p)).compute_result()
            want[diff] = effect(r, False)
            if diff == "relative":
                want["chance_to_beat_control"] = float(r.chanceToWin)
                want["control_risk"] = float(r.risk[0])
                want["risk"] = float(r.risk[1])
    case = {
        "name": "gbstats_%02d_%s_%s%s" % (i, kind, method, "_cuped" if cuped else ""),
        "source": "gbstats (growthbook/growthbook@%s packages/stats) %s on these sums, by testdata/gen_gbstats_golden.py"
        % (GBSTATS_COMMIT, {"frequentist": "TwoSidedTTest", "sequential": "SequentialTwoSidedTTest", "bayesian": "EffectBayesianABTest"}[method]),
        "kind": kind, "method": method, "alpha": alpha, "cuped": cuped, "control": a, "treatment": b,
        "tol": 1e-8, "want": want,
    }
    if tuning:
        case["tuning"] = tuning
    if prior:
        case["prior"] = {"proper": True, "mean": prior[0], "variance": prior[1]}
    cases.append(case)

print(json.dumps({
    "provenance": "Computed by gbstats at growthbook/growthbook@%s with SciPy, by gen_gbstats_golden.py; tol is absolute." % GBSTATS_COMMIT,
    "cases": cases,
}, indent=1))
