"""Poverty measures at a poverty line z: FGT(alpha), Watts, Sen, Sen-Shorrocks-Thon, and the EU-SILC
set (ARPT, ARPR, RMPG), weighted, each with its linearized variable and d value / d z.

Notation: y sorted ascending, weights w, N = sum w, the poor are the units with y < z (``inclusive=False``,
the default: laeken, Eurostat, World Bank PIP) or y <= z (``inclusive=True``: R convey). Normalised gaps
g_i = (1 - y_i / z) for the poor, 0 otherwise. Results are fractions (laeken prints percent: x 100).

- FGT (Foster, Greer, Thorbecke 1984):  P_a = (1/N) sum_poor w g^a;  P_0 = H headcount, P_1 poverty gap,
  P_2 squared poverty gap. Linearized variable u_k = (1{k poor} g_k^a - P_a) / N.
  d P_a / d z = f(z) for a = 0 (kernel density at the line), else (a / z) (1/N) sum_poor w g^(a-1) y / z.
- Watts (1968):  W = (1/N) sum_poor w ln(z / y);  u_k = (1{k poor} ln(z / y_k) - W) / N  (R convey
  ``svywatts``);  d W / d z = H / z.
- Sen (1976), replication-invariant form:  S = H [I + (1 - I) G_p] = P_1 + (H - P_1) G_p, with
  I = 1 - mu_p / z the income-gap ratio and G_p the Gini of the poor (laeken convention). Derivation of
  its linearized variable (the poor are a fixed domain at a fixed line):
  u_S = (1 - G_p) u_P1 + G_p u_H + (H - P_1) u_Gp, with u_Gp the Gini's linearized variable computed on
  the poor (0 for the non-poor). The line moves the gaps (smooth part) and moves mass f(z) dz from the
  non-poor into the poor:
  d S / d z = (1 - G_p)(H - P_1) / z + f(z) [1 - (mu_p / z)(1 + G_p)].
- Sen-Shorrocks-Thon (Shorrocks 1995):  SST = P_1 (1 + G_g) = H * I * (1 + G_g), G_g the Gini of the
  gaps g over the whole population. Equivalently SST = (1/N^2) sum_ij w_i w_j max(g_i, g_j), a
  V-statistic, hence u_k = 2 (m_k - SST) / N with m_k = (1/N) sum_j w_j max(g_k, g_j); and
  d SST / d z = (1/N^2) sum_i w_i (y_i / z^2) (2 W_i + w_i), W_i the weight of the units ranked
  above i, summed over the poor (SST is continuous at the line: gaps vanish there).
- EU-SILC (laeken): ARPT = fraction x median (default 60 %); ARPR = share with y < ARPT; RMPG =
  (ARPT - m_p) / ARPT, m_p the weighted median of the poor (y < ARPT). Linearized variables as in
  Osier (2009): u_ARPT = fraction u_median; u_ARPR = (1{y < t} - H) / N + f(t) u_t;
  m_p = Q(H / 2), u_mp = (1{y < t} / 2 - 1{y <= m_p}) / (N f(m_p)) at a fixed line, and
  d m_p / d t = f(t) / (2 f(m_p)).
Densities f come from :func:`prosperity.measures.quantiles.kernel_density_at` (Gaussian kernel,
h = 0.79 IQR N^(-1/5)); they are computed only with ``influence=True`` (``line_derivative`` is None
otherwise for FGT(0), Sen and RMPG), so point estimates (e.g. bootstrap replicates) stay one cheap pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .estimate import Estimate, SortedIncome, as_sorted, vdot
from .gini import gini_sorted
from .quantiles import kernel_density_at, quantile_influence, quantile_sorted

RELATIVE_LINE_STATISTICS = ("median", "mean")


# --------------------------------------------------------------------------------------- checks
def _check_line(line) -> float:
    z = float(line)
    if not np.isfinite(z) or z <= 0:
        raise ValueError(f"the poverty line must be a positive finite number, got {line!r}")
    return z


def _check_alpha(alpha) -> float:
    a = float(alpha)
    if not np.isfinite(a) or a < 0:
        raise ValueError(f"the FGT parameter alpha must be >= 0 (0 headcount, 1 gap, 2 severity), got {alpha!r}")
    return a


def _check_fraction(fraction) -> float:
    f = float(fraction)
    if not np.isfinite(f) or not 0 < f <= 5:
        raise ValueError(
            f"the relative line fraction must lie in (0, 5] (e.g. 0.6 for 60 % of the median), got {fraction!r}"
        )
    return f


def _n_poor(s: SortedIncome, z: float, inclusive: bool) -> int:
    """Number of poor units: they form the prefix s.y[:q] of the sorted incomes."""
    return int(np.searchsorted(s.y, z, side="right" if inclusive else "left"))


def _prefix(s: SortedIncome, q: int) -> SortedIncome:
    """The first q sorted units as a SortedIncome (views, no copy)."""
    return SortedIncome(s.y[:q], s.w[:q], s.cumw[:q], s.order[:q])


def _domain_u(s: SortedIncome, q: int, values: np.ndarray, theta: float) -> np.ndarray:
    """u_k = (1{k < q} values_k - theta) / N in sorted order."""
    u = np.full(s.n, -theta, dtype=np.float64)
    u[:q] += values
    u /= s.total
    return u


# ------------------------------------------------------------------------------------------ FGT
def fgt_sorted(
    s: SortedIncome,
    line: float,
    alpha: float = 0.0,
    *,
    influence: bool = True,
    inclusive: bool = False,
    bandwidth: float | None = None,
) -> Estimate:
    """FGT(alpha) at the line with its linearized variable and d P / d z (see module docstring)."""
    z, a = _check_line(line), _check_alpha(alpha)
    q = _n_poor(s, z, inclusive)
    yp, wp = s.y[:q], s.w[:q]
    g = 1.0 - yp / z
    ga = np.ones_like(g) if a == 0 else g**a
    big_n = s.total
    value = float(vdot(wp, ga) / big_n)
    if a == 0:  # the density costs a pass over the data: only when the linearization is wanted
        deriv = kernel_density_at(s, z, bandwidth) if influence else None
    else:
        keep = g > 0 if a < 1 else slice(None)  # g^(a-1) is infinite at g = 0 when a < 1
        deriv = a / z * float(vdot(wp[keep], g[keep] ** (a - 1) * (yp[keep] / z))) / big_n
    if not influence:
        return Estimate(value, None, deriv)
    return Estimate(value, _domain_u(s, q, ga, value), deriv)


def fgt(y, z: float, alpha: float = 0.0, w=None, *, inclusive: bool = False) -> float:
    """Foster-Greer-Thorbecke index P_alpha = (1/N) sum_{y < z} w (1 - y/z)^alpha, as a fraction.

    >>> round(fgt([1, 2, 3, 4, 10], 5, alpha=1), 12)      # gaps .8 .6 .4 .2 0 -> 2.0 / 5
    0.4
    """
    s = as_sorted(y, w)
    z, a = _check_line(z), _check_alpha(alpha)
    q = _n_poor(s, z, inclusive)
    g = 1.0 - s.y[:q] / z
    return float(vdot(s.w[:q], np.ones_like(g) if a == 0 else g**a) / s.total)


def headcount(y, z: float, w=None, *, inclusive: bool = False) -> float:
    """Headcount ratio H = share of units with y < z (FGT 0)."""
    return fgt(y, z, 0.0, w, inclusive=inclusive)


def poverty_gap(y, z: float, w=None, *, inclusive: bool = False) -> float:
    """Poverty gap index (FGT 1): mean normalised shortfall (1 - y/z)_+."""
    return fgt(y, z, 1.0, w, inclusive=inclusive)


def squared_poverty_gap(y, z: float, w=None, *, inclusive: bool = False) -> float:
    """Squared poverty gap, poverty severity (FGT 2)."""
    return fgt(y, z, 2.0, w, inclusive=inclusive)


# -------------------------------------------------------------------------------- relative line
def relative_line_estimate(
    s: SortedIncome,
    fraction: float = 0.6,
    statistic: str = "median",
    *,
    convention: str = "eurostat",
    influence: bool = True,
) -> Estimate:
    """A relative poverty line t = fraction x median (or mean) with its linearized variable u_t.

    median: u_t = fraction u_median (quantile linearization, kernel density); mean: u_t = fraction (y - mu)/N.
    """
    fraction = _check_fraction(fraction)
    if statistic == "median":
        m = quantile_sorted(s, 0.5, convention)
        u = fraction * quantile_influence(s, 0.5, m) if influence else None
    elif statistic == "mean":
        m = float(vdot(s.w, s.y) / s.total)
        u = fraction * (s.y - m) / s.total if influence else None
    else:
        raise ValueError(f"relative line statistic must be one of {RELATIVE_LINE_STATISTICS}, got {statistic!r}")
    return Estimate(fraction * m, u)


def relative_line(y, w=None, fraction: float = 0.6, statistic: str = "median", *, convention: str = "eurostat") -> float:
    """Relative poverty line: ``fraction`` x the weighted median (default, Eurostat 60 %) or mean.

    >>> relative_line([1, 2, 3, 4], fraction=0.5)   # eurostat median of 1..4 is 2.5
    1.25
    """
    return relative_line_estimate(as_sorted(y, w), fraction, statistic, convention=convention, influence=False).value


# ---------------------------------------------------------------------------------------- Watts
def watts_sorted(
    s: SortedIncome, line: float, *, influence: bool = True, inclusive: bool = False
) -> Estimate:
    """Watts index (1/N) sum_poor w ln(z / y) with u and d W / d z = H / z (convey ``svywatts``)."""
    z = _check_line(line)
    q = _n_poor(s, z, inclusive)
    yp, wp = s.y[:q], s.w[:q]
    if q and yp[0] <= 0:
        bad = int(np.count_nonzero(yp <= 0))
        raise ValueError(
            f"the Watts index needs positive incomes below the line: {bad} income(s) are <= 0 "
            f"(smallest {yp[0]:g}); drop or bottom-code them, or use FGT"
        )
    lg = np.log(z / yp)
    big_n = s.total
    value = float(vdot(wp, lg) / big_n)
    deriv = float(wp.sum()) / big_n / z
    if not influence:
        return Estimate(value, None, deriv)
    return Estimate(value, _domain_u(s, q, lg, value), deriv)


def watts(y, z: float, w=None, *, inclusive: bool = False) -> float:
    """Watts poverty index (1/N) sum_{y<z} w ln(z / y); needs positive incomes below the line."""
    return watts_sorted(as_sorted(y, w), z, influence=False, inclusive=inclusive).value


# ------------------------------------------------------------------------------------------ Sen
def sen_sorted(
    s: SortedIncome,
    line: float,
    *,
    influence: bool = True,
    inclusive: bool = False,
    bandwidth: float | None = None,
) -> Estimate:
    """Sen index S = P1 + (H - P1) G_p with u and d S / d z (derivation in the module docstring)."""
    z = _check_line(line)
    q = _n_poor(s, z, inclusive)
    big_n = s.total
    if q == 0:
        return Estimate(0.0, np.zeros(s.n) if influence else None, 0.0)
    yp, wp = s.y[:q], s.w[:q]
    if yp[0] < 0:
        raise ValueError(
            f"the Sen index needs non-negative incomes (its Gini of the poor is undefined otherwise): "
            f"{int(np.count_nonzero(yp < 0))} income(s) are negative (smallest {yp[0]:g})"
        )
    wpoor = float(wp.sum())
    h = wpoor / big_n
    g = 1.0 - yp / z
    p1 = float(vdot(wp, g)) / big_n
    mu_p = float(vdot(wp, yp)) / wpoor
    if mu_p > 0:
        gp_est = gini_sorted(_prefix(s, q), influence)
        gp = gp_est.value
    else:  # every poor income is 0: the poor are equal
        gp_est, gp = None, 0.0
    value = p1 + (h - p1) * gp
    if not influence:
        return Estimate(value)
    f = kernel_density_at(s, z, bandwidth)
    deriv = (1.0 - gp) * (h - p1) / z + f * (1.0 - (mu_p / z) * (1.0 + gp))
    u = _domain_u(s, q, (1.0 - gp) * g + gp, value)  # (1-G)(g 1{poor} - P1) + G (1{poor} - H), over N
    if gp_est is not None:
        u[:q] += (h - p1) * gp_est.influence
    return Estimate(value, u, deriv)


def sen(y, z: float, w=None, *, inclusive: bool = False) -> float:
    """Sen poverty index H [I + (1 - I) G_p] (replication-invariant form).

    >>> sen([1, 2, 3, 4, 10], 5)   # H .8, I .5, Gini of the poor .25: .8 (.5 + .5 x .25)
    0.5
    """
    return sen_sorted(as_sorted(y, w), z, influence=False, inclusive=inclusive).value


# ------------------------------------------------------------------------------------------ SST
def sst_sorted(s: SortedIncome, line: float, *, influence: bool = True, inclusive: bool = False) -> Estimate:
    """Sen-Shorrocks-Thon index E[max(g, g')] = P1 (1 + Gini of gaps), with u and d SST / d z."""
    z = _check_line(line)
    q = _n_poor(s, z, inclusive)
    big_n = s.total
    if q == 0:
        return Estimate(0.0, np.zeros(s.n) if influence else None, 0.0)
    yp, wp = s.y[:q], s.w[:q]
    g = 1.0 - yp / z  # descending along the sorted order
    above = big_n - s.cumw[:q]  # weight ranked strictly after each poor unit (incl. every non-poor)
    # sum_ij w_i w_j max(g_i, g_j): the pair's max is the gap of the lower-ranked unit
    value = float(vdot(wp * g, 2.0 * above + wp)) / big_n**2
    deriv = float(vdot(wp * yp / z**2, 2.0 * above + wp)) / big_n**2
    if not influence:
        return Estimate(value, None, deriv)
    # m_k = (1/N)[g_k (N - C_{k-1}) + sum_{j<k} w_j g_j], 0 gaps above the poor: m_k = P1 there
    wg_before = np.cumsum(wp * g) - wp * g
    m = np.empty(s.n)
    m[:q] = (g * (above + wp) + wg_before) / big_n
    m[q:] = float(vdot(wp, g)) / big_n
    return Estimate(value, 2.0 * (m - value) / big_n, deriv)


@dataclass(frozen=True)
class SSTDecomposition:
    """SST = H x I x (1 + G_g): incidence x depth x inequality (ln SST = ln H + ln I + ln(1 + G_g))."""

    value: float
    headcount: float  # H
    gap_ratio: float  # I = P1 / H, mean normalised gap of the poor
    gini_of_gaps: float  # G_g, Gini of the gaps over the whole population

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "component": ["headcount", "gap_ratio", "1+gini_of_gaps", "sst"],
                "value": [self.headcount, self.gap_ratio, 1.0 + self.gini_of_gaps, self.value],
            }
        )

    def __repr__(self) -> str:
        return (
            f"SSTDecomposition(sst={self.value:.6g} = H {self.headcount:.6g} x I {self.gap_ratio:.6g}"
            f" x (1 + G_gaps {self.gini_of_gaps:.6g}))"
        )


def sst(y, z: float, w=None, *, inclusive: bool = False) -> float:
    """Sen-Shorrocks-Thon poverty index P1 (1 + Gini of the poverty gaps).

    >>> round(sst([1, 2, 3, 4, 10], 5), 12)   # P1 .4, Gini of gaps (.8,.6,.4,.2,0) = .4: .4 x 1.4
    0.56
    """
    return sst_sorted(as_sorted(y, w), z, influence=False, inclusive=inclusive).value


def sst_decomposition(y, z: float, w=None, *, inclusive: bool = False) -> SSTDecomposition:
    """The SST index and its three factors: headcount H, gap ratio I = P1/H and Gini of gaps."""
    s = as_sorted(y, w)
    z = _check_line(z)
    value = sst_sorted(s, z, influence=False, inclusive=inclusive).value
    q = _n_poor(s, z, inclusive)
    h = float(s.w[:q].sum()) / s.total
    p1 = float(vdot(s.w[:q], 1.0 - s.y[:q] / z)) / s.total
    if p1 == 0:
        return SSTDecomposition(value, h, 0.0, 0.0)
    return SSTDecomposition(value, h, p1 / h, value / p1 - 1.0)


# ------------------------------------------------------------------------------- EU-SILC (laeken)
def arpt_sorted(
    s: SortedIncome, *, influence: bool = True, fraction: float = 0.6, convention: str = "eurostat"
) -> Estimate:
    """At-risk-of-poverty threshold: fraction x weighted median (laeken ``arpt``), u = fraction u_median."""
    return relative_line_estimate(s, fraction, "median", convention=convention, influence=influence)


def _own_or_given_line(s, fraction, line, convention, influence):
    """(t, u_t): the given (fixed) line with u_t = None, or the sample's own ARPT and its u."""
    if line is not None:
        return _check_line(line), None
    est = arpt_sorted(s, influence=influence, fraction=fraction, convention=convention)
    return est.value, est.influence


def arpr_sorted(
    s: SortedIncome,
    *,
    influence: bool = True,
    fraction: float = 0.6,
    line: float | None = None,
    convention: str = "eurostat",
) -> Estimate:
    """At-risk-of-poverty rate: share with y < t, t = fraction x median of this sample (laeken ``arpr``).

    With ``line=`` (e.g. the national threshold for a region, as laeken's ``breakdown``) the line is taken
    as fixed; ``line_derivative`` = f(t) lets the caller add the line's own error. Without it the
    sample's own threshold is estimated and its error is already in ``influence``.
    """
    t, u_t = _own_or_given_line(s, fraction, line, convention, influence)
    est = fgt_sorted(s, t, 0.0, influence=influence)
    if u_t is None or not influence:
        return est
    return Estimate(est.value, est.influence + est.line_derivative * u_t, est.line_derivative)


def arpr(y, w=None, fraction: float = 0.6, *, line: float | None = None, convention: str = "eurostat") -> float:
    """At-risk-of-poverty rate (fraction; laeken's ``arpr`` x 100), own threshold unless ``line`` given."""
    return arpr_sorted(as_sorted(y, w), influence=False, fraction=fraction, line=line, convention=convention).value


def rmpg_sorted(
    s: SortedIncome,
    *,
    influence: bool = True,
    fraction: float = 0.6,
    line: float | None = None,
    convention: str = "eurostat",
) -> Estimate:
    """Relative median poverty gap (t - m_p) / t, m_p the weighted median of units with y < t (laeken).

    ``convention="laeken"`` reproduces laeken's median rule exactly, also for unweighted data.
    """
    t, u_t = _own_or_given_line(s, fraction, line, convention, influence)
    q = _n_poor(s, t, False)
    if q == 0:
        raise ValueError(f"the relative median poverty gap is undefined: no income is below the line {t:g}")
    poor = _prefix(s, q)
    m_p = quantile_sorted(poor, 0.5, convention)
    value = (t - m_p) / t
    if not influence:
        return Estimate(value)
    f_t = kernel_density_at(s, t)
    f_mp = kernel_density_at(s, m_p)
    deriv = -f_t / (2.0 * f_mp * t) + m_p / t**2
    u_mp = np.zeros(s.n)
    u_mp[:q] = 0.5
    u_mp[: int(np.searchsorted(s.y, m_p, side="right"))] -= 1.0
    u = -u_mp / (s.total * f_mp * t)
    if u_t is not None:
        u += deriv * u_t
    return Estimate(value, u, deriv)


def rmpg(y, w=None, fraction: float = 0.6, *, line: float | None = None, convention: str = "eurostat") -> float:
    """Relative median at-risk-of-poverty gap (fraction; laeken's ``rmpg`` x 100)."""
    return rmpg_sorted(as_sorted(y, w), influence=False, fraction=fraction, line=line, convention=convention).value
