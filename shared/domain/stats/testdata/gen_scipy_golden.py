#!/usr/bin/python3
"""Regenerate scipy-golden.json: reference values from SciPy and statsmodels.

Run from this directory with Debian's python3-scipy and python3-statsmodels
(SciPy 1.10.1, statsmodels 0.13.5 when these vectors were written):

    /usr/bin/python3 gen_scipy_golden.py > scipy-golden.json

Every value comes from the named library function, never from this
package's code. Raw samples are drawn with a fixed seed; the Go test reads
only their sufficient statistics, while statsmodels works on the samples.
"""
import json

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

out = {
    "provenance": "SciPy %s and statsmodels %s, by gen_scipy_golden.py" % (scipy.__version__, statsmodels.__version__),
}

# Student t: CDF tails and quantiles (scipy.stats.t.sf, scipy.stats.t.ppf).
t_cases = []
for df in [1, 2, 3, 5, 10, 29, 100, 1000, 6866.3, 99999]:
    for x in [0.1, 1.0, 1.96, 2.5, 5.0, 12.0]:
        t_cases.append({"df": df, "t": x, "sf": float(stats.t.sf(x, df))})
out["student_t_sf"] = t_cases
q_cases = []
for df in [1, 2, 3, 4.5, 10, 57.9, 1000, 6866.3, 99999]:
    for p in [1e-6, 0.0005, 0.005, 0.025, 0.05, 0.1, 0.4, 0.975]:
        q_cases.append({"df": df, "p": p, "quantile": float(stats.t.ppf(p, df))})
out["student_t_quantile"] = q_cases

# Chi-square survival (scipy.stats.chi2.sf).
out["chi_square_sf"] = [
    {"df": df, "x": x, "sf": float(stats.chi2.sf(x, df))}
    for df in [1, 2, 3, 7, 30]
    for x in [0.001, 0.5, 1, 3.84, 10, 40, 200]
]

# Chi-square goodness of fit (scipy.stats.chisquare).
srm = []
for counts, weights in [
    ([1000, 1200], [0.5, 0.5]),
    ([5021, 4979], [0.5, 0.5]),
    ([3300, 3350, 3350], [1, 1, 1]),
    ([812, 1188], [0.4, 0.6]),
    ([100, 130, 90, 80], [0.25, 0.25, 0.25, 0.25]),
]:
    total = sum(counts)
    expected = [w / sum(weights) * total for w in weights]
    r = stats.chisquare(counts, expected)
    srm.append({"counts": counts, "weights": weights, "chi_square": float(r.statistic), "p_value": float(r.pvalue)})
out["chisquare"] = srm

# Welch's t from raw samples (statsmodels CompareMeans, usevar="unequal").
rng = np.random.default_rng(20261130)
welch = []
for n1, n2, mu1, mu2, s1, s2, dist in [
    (12, 15, 10.0, 11.0, 2.0, 4.0, "normal"),
    (40, 25, 5.0, 5.0, 1.0, 3.0, "normal"),
    (200, 180, 3.0, 3.4, 5.0, 5.0, "exponential"),
    (3000, 3100, 20.0, 20.3, 30.0, 35.0, "lognormal"),
    (8, 9, 0.0, 1.5, 1.0, 1.0, "normal"),
]:
    if dist == "normal":
        a, b = rng.normal(mu1, s1, n1), rng.normal(mu2, s2, n2)
    elif dist == "exponential":
        a, b = rng.exponential(mu1, n1), rng.exponential(mu2, n2)
    else:
        a, b = rng.lognormal(np.log(mu1), 1.0, n1), rng.lognormal(np.log(mu2), 1.0, n2)
    a, b = np.round(a, 2), np.round(b, 2)  # cents, as a revenue metric
    cm = CompareMeans(DescrStatsW(b), DescrStatsW(a))  # treatment - control
    tstat, p, df = cm.ttest_ind(usevar="unequal")
    lo, hi = cm.tconfint_diff(alpha=0.05, usevar="unequal")
    welch.append({
        "control": {"n": n1, "sum": float(np.sum(a)), "sum_sq": float(np.sum(a * a))},
        "treatment": {"n": n2, "sum": float(np.sum(b)), "sum_sq": float(np.sum(b * b))},
        "t": float(tstat), "df": float(df), "p_value": float(p), "ci": [float(lo), float(hi)],
        "estimate": float(np.mean(b) - np.mean(a)),
    })
out["welch"] = welch

# Holm and Benjamini-Hochberg adjusted p-values (statsmodels multipletests).
corr = []
for ps in [
    [0.01, 0.04, 0.03, 0.005, 0.55, 0.6],
    [0.898, 0.138, 0.007, 0.964, 0.538, 0.006, 0.138],
    [0.0001, 0.2, 0.2, 0.049, 0.051, 0.9, 0.012, 0.03],
    [0.04],
    [0.5, 0.5, 0.5],
]:
    corr.append({
        "p": ps,
        "holm": [float(x) for x in multipletests(ps, method="holm")[1]],
        "bh": [float(x) for x in multipletests(ps, method="fdr_bh")[1]],
    })
out["multipletests"] = corr

# Sample size per group for a two-sided z-test (statsmodels NormalIndPower).
plans = []
power = NormalIndPower()
for baseline, sd, mde, alpha in [(0.10, None, 0.05, 0.05), (0.02, None, 0.10, 0.05), (0.5, None, 0.02, 0.01),
                                 (25.0, 40.0, 0.05, 0.05), (3.2, 1.1, 0.01, 0.1)]:
    delta = baseline * mde
    if sd is None:  # binomial: unpooled variances p1q1 + p2q2
        p2 = baseline * (1 + mde)
        sigma = np.sqrt((baseline * (1 - baseline) + p2 * (1 - p2)) / 2)
        kind = "binomial"
    else:
        sigma = sd
        kind = "continuous"
    n = power.solve_power(effect_size=delta / sigma, alpha=alpha, power=0.8, ratio=1, alternative="two-sided")
    plans.append({"kind": kind, "baseline_mean": baseline, "stddev": sd or 0, "mde": mde, "alpha": alpha,
                  "power": 0.8, "n": float(n)})
out["sample_size"] = plans

print(json.dumps(out, indent=1))
