#!/usr/bin/env python3
"""Regenerate ztest-golden.json: golden vectors for stats.TwoProportionZTest.

Run from this directory (Python 3 standard library only):

    python3 gen_ztest_golden.py > ztest-golden.json

The expected values are computed here independently of the Go code:

  * rates, pooled rate, standard error and z are computed exactly with
    integers/fractions and a single high-precision decimal square root
    (z**2 = D**2 * N / (X * F * n1 * n2) with D = x2*n1 - x1*n2,
    X = x1 + x2, N = n1 + n2, F = N - X);
  * the two-sided p-value erfc(|z|/sqrt(2)) is computed with the `decimal`
    module from the everywhere-convergent series
        erf(x) = 2/sqrt(pi) * exp(-x^2) * sum_{k>=0} (2x^2)^k x / (1*3*...*(2k+1))
    at a working precision large enough that 1 - erf(x) keeps more than 40
    significant digits, and checked against a continued fraction for
    erfc (large x), against math.erfc (the C library's erfc) and, for
    moderate z, against statistics.NormalDist;
  * three cases are also checked against closed forms derived by hand.

Values are written as the nearest float64 (Python's float repr round-trips)
plus 25-significant-digit strings for people to read.
"""

import json
import math
import statistics
import sys
from decimal import Decimal, localcontext
from fractions import Fraction

DIGITS = 40  # significant digits wanted in every expected value
LN10 = math.log(10)


def decimal_pi():
    """pi to the current decimal precision (recipe from the decimal docs)."""
    with localcontext() as ctx:
        ctx.prec += 2
        three = Decimal(3)
        lasts, t, s, n, na, d, da = 0, three, 3, 1, 0, 0, 24
        while s != lasts:
            lasts = s
            n, na = n + na, na + 8
            d, da = d + da, da + 32
            t = (t * n) / d
            s += t
    return +s


def working_precision(x):
    """Decimal digits needed so erfc(x) = 1 - erf(x) keeps DIGITS digits."""
    x = float(x)
    return DIGITS + int(x * x / LN10) + 30


def erfc_series(x):
    """erfc(x) for Decimal x >= 0 as 1 - erf(x), erf from the Kummer series."""
    with localcontext() as ctx:
        ctx.prec = working_precision(x)
        x2 = x * x
        term = x
        total = x
        k = 0
        eps = Decimal(10) ** (-(ctx.prec + 5))
        while term != 0:
            k += 1
            term = term * 2 * x2 / (2 * k + 1)
            total += term
            # terms grow until k ~ x^2 and then shrink geometrically
            if k > x2 and term < total * eps:
                break
        erf = 2 / decimal_pi().sqrt() * (-x2).exp() * total
        result = 1 - erf
    return result


def erfc_continued_fraction(x, depth=20000):
    """erfc(x) for Decimal x > 0 from the Laplace continued fraction
    erfc(x) = exp(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))).
    Converges fast only for large x; used as a cross-check there."""
    with localcontext() as ctx:
        ctx.prec = DIGITS + 30
        t = x
        for k in range(depth, 0, -1):
            t = x + Decimal(k) / 2 / t
        result = (-(x * x)).exp() / decimal_pi().sqrt() / t
    return result


def rel_diff(a, b):
    if a == b:
        return 0
    return abs(a - b) / max(abs(a), abs(b))


def sci(d):
    """25 significant digits, for humans."""
    if d == 0:
        return "0"
    return "{:.24e}".format(d)


def compute(x1, n1, x2, n2):
    """Expected result for control x1/n1 and treatment x2/n2."""
    if min(x1, n1, x2, n2) < 0 or x1 > n1 or x2 > n2:
        return {"defined": False, "undefined_reason": "invalid_counts"}
    if n1 == 0 or n2 == 0:
        return {"defined": False, "undefined_reason": "empty_group"}
    X, N = x1 + x2, n1 + n2
    F = N - X
    if X == 0 or F == 0:
        return {"defined": False, "undefined_reason": "zero_variance"}

    D = x2 * n1 - x1 * n2  # (p2 - p1) * n1 * n2, exact
    z_squared = Fraction(D * D * N, X * F * n1 * n2)
    se_squared = Fraction(X * F, N * n1 * n2)  # p(1-p)(1/n1 + 1/n2)

    with localcontext() as ctx:
        ctx.prec = DIGITS + 30
        z_abs = (Decimal(z_squared.numerator) / Decimal(z_squared.denominator)).sqrt()
        z = -z_abs if D < 0 else z_abs
        se = (Decimal(se_squared.numerator) / Decimal(se_squared.denominator)).sqrt()

    with localcontext() as ctx:
        ctx.prec = working_precision(z_abs / Decimal(2).sqrt()) + 10
        z_abs_wide = (Decimal(z_squared.numerator) / Decimal(z_squared.denominator)).sqrt()
        x = z_abs_wide / Decimal(2).sqrt()
    p = erfc_series(x)

    # Cross-checks by other routes.
    if x >= 4:
        p_cf = erfc_continued_fraction(x)
        assert rel_diff(p, p_cf) < Decimal("1e-30"), (p, p_cf)
    p_libm = math.erfc(abs(float(z)) / math.sqrt(2))
    if float(p) > 1e-300:
        assert rel_diff(float(p), p_libm) < 1e-12, (p, p_libm)
    else:
        assert p_libm < 1e-300, (p, p_libm)
    if abs(z) < 5:
        p_nd = 2 * (1 - statistics.NormalDist().cdf(abs(float(z))))
        assert abs(float(p) - p_nd) < 1e-12, (p, p_nd)

    return {
        "defined": True,
        "control_rate": float(Fraction(x1, n1)),
        "treatment_rate": float(Fraction(x2, n2)),
        "pooled_rate": float(Fraction(X, N)),
        "std_err": float(se),
        "z": float(z),
        "p_value": float(p),
        "z_25_digits": sci(z),
        "p_value_25_digits": sci(+p),
    }


HAND = "hand-derived closed form (see source), digits from gen_ztest_golden.py"
SCRIPT = "gen_ztest_golden.py (exact fractions + decimal erfc)"

CASES = [
    ("hand_50of100_vs_60of100", 50, 100, 60, 100,
     "by hand: p1=0.5, p2=0.6, pooled=110/200=0.55, "
     "se=sqrt(0.55*0.45*(1/100+1/100))=sqrt(0.00495), "
     "z=0.1/sqrt(0.00495)=sqrt(200/99)=1.42133810..., p=erfc(z/sqrt2)=0.15521...; "
     "digits from " + SCRIPT),
    ("tiny_1of2_vs_2of3", 1, 2, 2, 3,
     "by hand: p1=1/2, p2=2/3, pooled=3/5, se^2=(3/5)(2/5)(1/2+1/3)=1/5, "
     "z=(1/6)/sqrt(1/5)=sqrt(5)/6=0.37267799...; digits from " + SCRIPT),
    ("equal_rates_unequal_n", 30, 100, 60, 200,
     "by hand: p1=p2=0.3 so z=0 and p=erfc(0)=1 exactly"),
    ("control_rate_zero", 0, 100, 5, 100,
     "control rate 0 but pooled 5/200 > 0, so defined; " + SCRIPT),
    ("treatment_rate_one", 90, 100, 100, 100,
     "treatment rate 1 but pooled 190/200 < 1, so defined; " + SCRIPT),
    ("control_all_treatment_none", 10, 10, 0, 10,
     "by hand: p1=1, p2=0, pooled=1/2, se^2=(1/4)(2/10)=1/20, "
     "z=-1/sqrt(1/20)=-sqrt(20)=-4.47213595...; digits from " + SCRIPT),
    ("pooled_rate_zero", 0, 100, 0, 50,
     "no conversions at all: pooled rate 0, se=0, z=0/0 undefined"),
    ("pooled_rate_one", 100, 100, 50, 50,
     "everyone converted: pooled rate 1, se=0, z=0/0 undefined"),
    ("control_n_zero", 0, 0, 5, 10,
     "control has no users: its rate 0/0 is undefined"),
    ("treatment_n_zero", 3, 10, 0, 0,
     "treatment has no users: its rate 0/0 is undefined"),
    ("both_n_zero", 0, 0, 0, 0,
     "no users at all: undefined"),
    ("negative_z_treatment_worse", 120, 1000, 95, 1000,
     "treatment converts worse (9.5% vs 12%) so z < 0; " + SCRIPT),
    ("unequal_n", 200, 2000, 45, 300,
     "unequal group sizes, 10% vs 15%; " + SCRIPT),
    ("huge_n_1e7", 1000000, 10**7, 1003000, 10**7,
     "10^7 users per group, 10% vs 10.03%; " + SCRIPT),
    ("huge_n_1e9", 50000000, 10**9, 50010000, 10**9,
     "10^9 users per group, 5% vs 5.001%; " + SCRIPT),
    ("huge_n_1e9_nearly_equal", 500000000, 10**9, 500000001, 10**9,
     "10^9 users per group, rates differ by 1e-9: tests that p2-p1 is "
     "formed without cancellation (z = sqrt(2e9/(1e18-1)) ~ 4.47e-5); " + SCRIPT),
    ("huge_n_unbalanced", 12345678, 987654321, 12400, 1000000,
     "987,654,321 vs 1,000,000 users; " + SCRIPT),
    ("huge_n_1e9_tiny_p", 50000000, 10**9, 50300000, 10**9,
     "10^9 users per group, 5% vs 5.03%: z ~ 30.7, p ~ 1.9e-207; " + SCRIPT),
    ("z_8_6_where_one_minus_erf_is_zero", 500, 10000, 800, 10000,
     "z ~ 8.6: float64 1-Erf(z/sqrt2) is exactly 0 here, erfc is ~1e-17; " + SCRIPT),
    ("z_26_1pct_vs_9pct", 100, 10000, 900, 10000,
     "1% vs 9% of 10,000: z ~ 25.96, p ~ 1.6e-148 (1-Erf gives 0); " + SCRIPT),
    ("p_below_float64_range", 50000000, 10**9, 51000000, 10**9,
     "10^9 users per group, 5% vs 5.1%: z ~ 102, true p ~ 3.7e-2267 is below "
     "the smallest float64 so the float64 answer is exactly 0; " + SCRIPT),
    ("textbook_openintro_mammogram", 505, 44910, 500, 44925,
     "OpenIntro Statistics 4th ed. (Diez, Cetinkaya-Rundel, Barr), "
     "section 6.2.3 'Hypothesis tests for the difference of two proportions', "
     "mammogram study: control 505 deaths of 44,910, mammogram (treatment) "
     "500 of 44,925; the book reports pooled 0.0112, SE 0.00070, "
     "Z = -0.00012/0.00070 = -0.17, p = 0.8650 from rounded intermediates; "
     "unrounded values (z = -0.16393..., p = 0.86978...) from " + SCRIPT),
]


def main():
    cases = []
    for name, x1, n1, x2, n2, source in CASES:
        case = {
            "name": name,
            "control_conversions": x1,
            "control_n": n1,
            "treatment_conversions": x2,
            "treatment_n": n2,
        }
        case.update(compute(x1, n1, x2, n2))
        case["source"] = source
        cases.append(case)

    by_name = {c["name"]: c for c in cases}
    # Hand-derived closed forms (see the source strings).
    with localcontext() as ctx:
        ctx.prec = 50
        hand = {
            "hand_50of100_vs_60of100": (Decimal(200) / 99).sqrt(),
            "tiny_1of2_vs_2of3": Decimal(5).sqrt() / 6,
            "control_all_treatment_none": -Decimal(20).sqrt(),
        }
    for name, z in hand.items():
        assert by_name[name]["z"] == float(z), (name, by_name[name]["z"], z)
    assert by_name["equal_rates_unequal_n"]["z"] == 0.0
    assert by_name["equal_rates_unequal_n"]["p_value"] == 1.0
    assert by_name["p_below_float64_range"]["p_value"] == 0.0
    assert 1 - math.erf(by_name["z_26_1pct_vs_9pct"]["z"] / math.sqrt(2)) == 0.0
    assert 1 - math.erf(by_name["z_8_6_where_one_minus_erf_is_zero"]["z"] / math.sqrt(2)) == 0.0
    tb = by_name["textbook_openintro_mammogram"]
    assert round(tb["pooled_rate"], 4) == 0.0112 and round(tb["std_err"], 5) == 0.00070

    doc = {
        "description": (
            "Golden vectors for stats.TwoProportionZTest (pooled two-proportion "
            "z-test, z = (p2 - p1)/sqrt(p(1-p)(1/n1+1/n2)), two-sided "
            "p = erfc(|z|/sqrt2); control = group 1, treatment = group 2)."),
        "provenance": (
            "Generated by gen_ztest_golden.py with the Python 3 standard library "
            "only (fractions + decimal at 40+ significant digits, cross-checked "
            "against math.erfc and statistics.NormalDist), independently of "
            "the Go implementation. Regenerate: python3 gen_ztest_golden.py > "
            "ztest-golden.json"),
        "tolerance": {
            "z": "absolute 1e-9 and relative 1e-9",
            "p_value": "relative 1e-9 (p = 0 must be exactly 0)",
            "rates_and_std_err": "relative 1e-12",
        },
        "cases": cases,
    }
    json.dump(doc, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
