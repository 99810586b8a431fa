"""R convey's remaining survey estimators, weighted, each with its linearized variable.

Single-sample kernels (registered in :mod:`prosperity.measures.catalog`, ``u`` in sorted order):

- ``poormed`` (convey ``svypoormed``): the weighted median m_p of the poor, y <= t with
  t = fraction x median (0.6; convey's rule ``inclusive=True``). Linearization (Osier 2009):
  u = (u_H / 2 - u_F) / f(m_p) with u_H the linearized at-risk-of-poverty rate (line error included),
  u_F = (1{y <= m_p} - H / 2) / N; at a fixed line t, d m_p / d t = f(t) / (2 f(m_p)).
- ``zenga`` (convey ``svyzenga``, Zenga 2007; Langel & Tille 2012): with H_i = sum_{j<=i} w_j,
  K_i = sum_{j>=i} w_j y_j, T = sum w y:  Z = 1 - (1/N) sum_i w_i (N - H_i)(T - K_i) / (H_i K_i).
  u is convey's linearization (five terms of Langel & Tille), see :func:`zenga_sorted`.
- ``jdiv`` (convey ``svyjdiv``): J-divergence (1/N) sum w (y/mu - 1) ln(y/mu) = Theil T + MLD,
  positive incomes; u = u_Theil + u_MLD (exact derivatives).
- ``isq`` (convey ``svyisq``): the income *total* of the units with y <= q_alpha (``upper``: above),
  q_alpha the weighted quantile (convey: the inverse CDF, R survey's ``qrule = "math"``). Linearized
  variable as convey: y 1{y <= q} + S'(q) u_q with S'(q) = (1/h) sum w y phi((q - y)/h) (a smoothed
  N q f(q)) and u_q = -(1{y <= q} - alpha) / (N f(q)).
- ``rich`` (convey ``svyrich``; Peichl, Schaefer & Scheicher 2010; Brzezinski 2014): richness at the
  threshold rho (a fixed amount, or ``fraction`` x median): ``cha`` Chakravarty
  (1/N) sum_{y > rho} w [1 - (rho/y)^g]; ``fgt1`` (1/N) sum_{y > rho} w (1 - rho/y)^g (0 <= g <= 1);
  ``fgt2`` (1/N) sum_{y > rho} w (y/rho - 1)^g (g > 1). u = (h(y) - R)/N + (d R / d rho) u_rho.

Functions with several components or two domains (design-based SEs through
:class:`prosperity.variance.Design`; influence values and their covariance on the result):

- :func:`jdiv_decomposition` (convey ``svyjdivdec``): total = within + between, within =
  sum_g s_g T_g + sum_g pi_g L_g (income-share weighted Theil plus population-share weighted MLD),
  between = sum_g (s_g - pi_g) ln(mu_g / mu).
- :func:`fgt_decomposition` (convey ``svyfgtdec``): FGT(g) = H * I^g * [1 + (g^2 - g) GE_g(gaps of
  the poor)], returning FGT(g), FGT(0), FGT(1), the income-gap ratio I = FGT(1)/FGT(0) and GE(g) of
  the poor's gaps = (FGT(g) / (H I^g) - 1) / (g^2 - g).
- :func:`watts_decomposition` (convey ``svywattsdec``): Watts = H [ln(z / mu_p) + L_p]: Watts,
  FGT(0), the Watts poverty-gap ratio ln(FGT0 / (FGT0 - FGT1)) = ln(z / mu_p) and the MLD (Theil L)
  of the poor, Watts / FGT0 - gap ratio.
- :func:`rmir` (convey ``svyrmir``): median income of the elderly (age >= 65) over the median of the
  others; u = (u_old - R u_young) / m_young with domain quantile linearizations.
- :func:`gpg` (convey ``svygpg``, laeken ``gpg``): gender pay gap (mean_m - mean_f) / mean_m.

Densities (convey ``densfun``): Gaussian kernel, bandwidth h = sigma_w N^(-1/5) with sigma_w the
weighted standard deviation (population divisor) and N the sum of weights (convey ``h_fun``), see
:func:`convey_bandwidth`. The package's other quantile-based SEs use Osier's 0.79 IQR N^(-1/5)
(``bandwidth_rule="osier"``); both are named rules here. ``bandwidth_rule=None`` (the kernels'
default) follows the rule the sample is marked with by ``prosperity.measure(bandwidth=)``, else convey's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .estimate import Estimate, SortedIncome, as_sorted, income_weight_arrays, vdot
from .poverty import (
    _check_fraction, _check_line, _n_poor, _prefix, arpr_sorted, fgt_sorted, relative_line_estimate, watts_sorted,
)
from .quantiles import _KERNEL_REACH, convey_bandwidth, density_bandwidth, kernel_density_at, quantile_sorted

BANDWIDTH_RULES = ("convey", "osier")
RICH_TYPES = ("cha", "fgt1", "fgt2")


# ------------------------------------------------------------------------------------- bandwidth
def bandwidth(s: SortedIncome, rule: str | None = "convey") -> float:
    """The kernel bandwidth of a named rule (:func:`prosperity.measures.quantiles.density_bandwidth`):
    ``convey`` (sigma_w N^(-1/5), convey's ``h_fun``) or ``osier`` (0.79 IQR N^(-1/5)); ``None``: the
    rule the sample is marked with (``prosperity.measure(bandwidth=)``), else convey's."""
    rule = s.cache.get("bandwidth_rule", "convey") if rule is None else _check_rule(rule)
    return density_bandwidth(s, rule)


def _density(s: SortedIncome, x: float, h: float | None) -> float:
    if h is not None and not h > 0:
        raise ValueError("cannot estimate a density for the standard error: the incomes have no spread "
                         "(weighted standard deviation 0); use se=False or the bootstrap")
    return kernel_density_at(s, x, h)


def _smoothed_income_density(s: SortedIncome, x: float, h: float) -> float:
    """convey's ``densfun(FUN = "big_s")``: (1/h) sum w y phi((x - y)/h), the derivative of the income
    total below x (a smoothed N x f(x))."""
    lo, hi = np.searchsorted(s.y, [x - _KERNEL_REACH * h, x + _KERNEL_REACH * h], side="left")
    z = (x - s.y[lo:hi]) / h
    k = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)
    return float(np.einsum("i,i,i->", s.w[lo:hi], s.y[lo:hi], k) / h)


def _check_rule(rule: str | None) -> str | None:
    if rule is not None and rule not in BANDWIDTH_RULES:
        raise ValueError(f"unknown bandwidth rule {rule!r}; choose one of {BANDWIDTH_RULES}")
    return rule


# ------------------------------------------------------------------------------- median of poor
def poormed_sorted(
    s: SortedIncome,
    *,
    influence: bool = True,
    fraction: float = 0.6,
    line: float | None = None,
    convention: str = "inverse_cdf",
    inclusive: bool = True,
    bandwidth_rule: str | None = None,
) -> Estimate:
    """Median income of the poor (convey ``svypoormed``), poor = y <= t (``inclusive``) with
    t = fraction x median of this sample, or the given ``line`` (then ``line_derivative`` =
    f(t) / (2 f(m_p)) lets the caller add the line's own error, e.g. the whole sample's).

    Quantiles: ``convention`` (convey: ``inverse_cdf``, R survey's ``qrule = "math"``); densities
    with ``bandwidth_rule`` (convey: sigma_w N^(-1/5), from this sample)."""
    fraction = _check_fraction(fraction)
    _check_rule(bandwidth_rule)
    big_n = s.total
    own = line is None
    if own:
        med = quantile_sorted(s, 0.5, convention)
        t = fraction * med
    else:
        t = _check_line(line)
    q = _n_poor(s, t, inclusive)
    if q == 0:
        raise ValueError(f"the median of the poor is undefined: no income is {'at or ' if inclusive else ''}below the "
                         f"line {t:g}")
    poor = _prefix(s, q)
    m_p = quantile_sorted(poor, 0.5, convention)
    if not influence:
        return Estimate(m_p)
    h = bandwidth(s, bandwidth_rule)
    f_mp = _density(s, m_p, h)
    f_t = _density(s, t, h)
    h_rate = float(poor.w.sum()) / big_n
    u_h = np.full(s.n, -h_rate)
    u_h[:q] += 1.0
    u_h /= big_n
    if own:  # the line's own error: t = fraction x median, u_t = fraction u_median
        f_med = _density(s, med, h)
        k = int(np.searchsorted(s.y, med, side="right"))
        u_med = np.full(s.n, 0.5)
        u_med[:k] -= 1.0
        u_h += f_t * fraction * u_med / (big_n * f_med)
    k = int(np.searchsorted(s.y, m_p, side="right"))
    u_f = np.full(s.n, -0.5 * h_rate)
    u_f[:k] += 1.0
    u_f /= big_n
    u = (0.5 * u_h - u_f) / f_mp
    return Estimate(m_p, u, 0.5 * f_t / f_mp)


# ------------------------------------------------------------------------- ARPR with the poor rule
def arpr_rule_sorted(
    s: SortedIncome,
    *,
    influence: bool = True,
    fraction: float = 0.6,
    line: float | None = None,
    convention: str = "eurostat",
    inclusive: bool = False,
) -> Estimate:
    """At-risk-of-poverty rate with the poor rule as a switch: y < t (``inclusive=False``: laeken,
    :func:`prosperity.measures.poverty.arpr_sorted` exactly) or y <= t (convey ``svyarpr``).
    t = fraction x median of this sample unless ``line`` is given; u as in ``arpr_sorted``."""
    if not inclusive:
        return arpr_sorted(s, influence=influence, fraction=fraction, line=line, convention=convention)
    if line is not None:
        return fgt_sorted(s, _check_line(line), 0.0, influence=influence, inclusive=True)
    t = relative_line_estimate(s, _check_fraction(fraction), "median", convention=convention, influence=influence)
    est = fgt_sorted(s, t.value, 0.0, influence=influence, inclusive=True)
    if not influence:
        return est
    return Estimate(est.value, est.influence + est.line_derivative * t.influence, est.line_derivative)


# ------------------------------------------------------------------------------------------ Zenga
def zenga_sorted(s: SortedIncome, *, influence: bool = True) -> Estimate:
    """Zenga index Z = 1 - (1/N) sum_i w_i (N - H_i)(T - K_i) / (H_i K_i) (convey ``svyzenga``).

    H_i = sum_{j<=i} w_j and K_i = sum_{j>=i} w_j y_j along the sort (incomes must be >= 0, the largest
    > 0). Linearized variable (Langel & Tille 2012, as convey), with B = N - H, C = T - K:
    u_k = -B_k C_k / (N H_k K_k) - (1/N^2) sum_i w_i C_i / K_i - (y_k / N) sum_i w_i B_i / (H_i K_i)
          + sum_{i>=k} w_i C_i / (H_i^2 K_i) + (T y_k / N) sum_{i<=k} w_i B_i / (H_i K_i^2).
    Tied incomes with unequal weights make the sum depend on their order (as in convey).
    """
    y, w, big_n = s.y, s.w, s.total
    if y[0] < 0:
        raise ValueError(f"the Zenga index needs non-negative incomes (smallest {y[0]:g})")
    tot = float(vdot(w, y))
    if not tot > 0:
        raise ValueError("the Zenga index is undefined when every income is 0")
    # the formulas above operation by operation (bit-identical), in four work arrays besides K: a suite's
    # peak memory. B = N - H and C = T - K are formed where they are used.
    hh = s.cumw
    a = np.multiply(w, y)
    kk = np.cumsum(a)
    kk -= a
    np.subtract(tot, kk, out=kk)                     # K = T - (cumsum(wy) - wy)
    c = np.subtract(tot, kk)                         # C
    b = np.multiply(hh, kk)                          # H K
    np.subtract(big_n, hh, out=a)
    a *= c
    value = 1.0 - float(vdot(w, np.divide(a, b, out=a))) / big_n
    if not influence:
        return Estimate(value)
    u = np.subtract(big_n, hh)
    u *= c
    np.negative(u, out=u)
    np.multiply(big_n, hh, out=a)
    a *= kk
    u /= a                                           # -B C / (N H K)
    u -= float(vdot(w, np.divide(c, kk, out=a))) / big_n**2
    np.subtract(big_n, hh, out=a)
    a /= b
    u -= np.multiply(y, float(vdot(w, a)) / big_n, out=a)
    np.multiply(hh, hh, out=a)
    a *= kk
    np.multiply(w, c, out=b)
    b /= a                                           # w C / (H^2 K)
    u += np.cumsum(b[::-1], out=a)[::-1]
    np.multiply(hh, kk, out=a)
    a *= kk                                          # H K^2
    np.subtract(big_n, hh, out=b)
    np.multiply(w, b, out=b)
    b /= a
    np.cumsum(b, out=c)                              # cumulative w B / (H K^2)
    np.multiply(tot, y, out=a)
    a /= big_n
    a *= c
    u += a
    return Estimate(value, u)


# --------------------------------------------------------------------------------- J-divergence
def jdiv_sorted(s: SortedIncome, *, influence: bool = True) -> Estimate:
    """J-divergence J = (1/N) sum w (z - 1) ln z, z = y / mu (= Theil T + MLD; convey ``svyjdiv``).

    Positive incomes. u_k = [(z_k - 1) ln z_k - J - T (z_k - 1)] / N with T the Theil index (the exact
    derivative in w_k: d mu / d w_k = (y_k - mu) / N and (1/N) sum w (z ln z + z - 1) = T)."""
    if s.y[0] <= 0:
        raise ValueError(f"the J-divergence needs positive incomes (smallest {s.y[0]:g}); restrict to y > 0 "
                         "(convey: subset(design, y > 0))")
    big_n = s.total
    z = s.y / (float(vdot(s.w, s.y)) / big_n)
    lz = np.log(z)
    zm1 = z - 1.0
    value = float(vdot(s.w, zm1 * lz)) / big_n
    if not influence:
        return Estimate(value)
    theil = float(vdot(s.w, z * lz)) / big_n
    return Estimate(value, (zm1 * lz - value - theil * zm1) / big_n)


# -------------------------------------------------------------------------------- income total
def isq_sorted(
    s: SortedIncome,
    alpha: float,
    *,
    influence: bool = True,
    upper: bool = False,
    convention: str = "inverse_cdf",
    bandwidth_rule: str | None = None,
) -> Estimate:
    """Income total of the units with y <= q_alpha (``upper``: y > q_alpha), convey ``svyisq``; an
    income total (in income x weight units), not a share (a share is ``share:p1:p2``)."""
    a = float(alpha)
    if not 0 < a < 1:
        raise ValueError(f"isq needs 0 < alpha < 1 (a population share), got {alpha!r}")
    _check_rule(bandwidth_rule)
    q = quantile_sorted(s, a, convention)
    k = int(np.searchsorted(s.y, q, side="right"))
    below = float(vdot(s.w[:k], s.y[:k]))
    total = float(vdot(s.w, s.y))
    value = total - below if upper else below
    if not influence:
        return Estimate(value)
    h = bandwidth(s, bandwidth_rule)
    f = _density(s, q, h)
    s1 = _smoothed_income_density(s, q, h)
    u_q = np.full(s.n, a)
    u_q[:k] -= 1.0
    u_q /= s.total * f
    u_below = np.zeros(s.n)
    u_below[:k] = s.y[:k]
    u_below += s1 * u_q
    return Estimate(value, (s.y - u_below) if upper else u_below)


def qsr_sorted(s: SortedIncome, *, influence: bool = True, convention: str = "eurostat",
               bandwidth_rule: str | None = None) -> Estimate:
    """Quintile share ratio S80/S20 linearized as R convey's ``svyqsr``.

    QSR = (Y - T_0.8) / T_0.2, T_a the income total of y <= q_a (:func:`isq_sorted`), Y = sum w y; the
    value is the package's ``qsr`` (:func:`prosperity.measures.shares.qsr_estimate`) under the same
    quantile ``convention``. u = (y - u_T0.8) / T_0.2 - QSR u_T0.2 / T_0.2 with convey's
    isq linearization u_Ta = y 1{y <= q_a} + S'(q_a) u_qa, S'(q) = (1/h) sum w y phi((q - y)/h) and
    u_q = -(1{y <= q} - a) / (N f(q)) (convey ``densfun``). The package's own linearization (Osier 2009)
    uses the exact derivative q N f(q) for S'(q), so its density cancels; convey's does not, which is why
    this SE depends on the bandwidth (convey: sigma_w N^(-1/5)).
    """
    from .shares import qsr_estimate

    value = qsr_estimate(s, convention, influence=False).value
    if not influence:
        return Estimate(value)
    rule = bandwidth_rule if bandwidth_rule is not None else s.cache.get("bandwidth_rule", "convey")
    low = isq_sorted(s, 0.2, convention=convention, bandwidth_rule=rule)
    high = isq_sorted(s, 0.8, convention=convention, bandwidth_rule=rule)
    u = s.y - high.influence
    u -= value * low.influence
    u /= low.value
    return Estimate(value, u)


def qsr_for_sample(s: SortedIncome, convention: str = "eurostat", influence: bool = True) -> Estimate:
    """The ``qsr`` measure: convey's linearization (:func:`qsr_sorted`) when the sample is marked with
    convey's bandwidth rule (``prosperity.measure(bandwidth="convey")``), else the package's (Osier)."""
    if s.cache.get("bandwidth_rule") == "convey":
        return qsr_sorted(s, influence=influence, convention=convention, bandwidth_rule="convey")
    from .shares import qsr_estimate

    return qsr_estimate(s, convention, influence)


# ------------------------------------------------------------------------------------- richness
def _rich_terms(y: np.ndarray, rho: float, g: float, kind: str):
    """(h(y), d h / d rho) for the units above the threshold (convey's ``h`` and ``ht``)."""
    r = rho / y
    if kind == "cha":
        return 1.0 - r**g, -(g / rho) * r**g
    if kind == "fgt1":
        base = 1.0 - r
        if g == 0:
            return np.ones_like(y), np.zeros_like(y)
        return base**g, -(g / y) * base ** (g - 1)
    base = y / rho - 1.0
    return base**g, -g * y / (rho * y - rho * rho) * base**g


def _check_rich(kind: str, g: float) -> None:
    if kind not in RICH_TYPES:
        raise ValueError(f"richness type must be one of {RICH_TYPES}, got {kind!r}")
    if kind == "cha" and not g > 0:
        raise ValueError(f"Chakravarty richness needs g > 0, got {g:g}")
    if kind == "fgt1" and not 0 <= g <= 1:
        raise ValueError(f"the concave FGT richness (fgt1) needs 0 <= g <= 1, got {g:g}")
    if kind == "fgt2" and not g > 1:
        raise ValueError(f"the convex FGT richness (fgt2) needs g > 1, got {g:g}")


def rich_sorted(
    s: SortedIncome,
    g: float,
    *,
    influence: bool = True,
    kind: str = "cha",
    fraction: float = 1.0,
    line: float | None = None,
    convention: str = "inverse_cdf",
    bandwidth_rule: str | None = None,
) -> Estimate:
    """Richness index at rho = ``line`` (fixed) or fraction x median of this sample (convey ``svyrich``,
    ``type_thresh = "relq"``, ``times = fraction``). Rich: y > rho. The threshold's error enters u
    through dR/drho (for g = 0 in fgt1, the headcount of the rich, through -f(rho))."""
    g = float(g)
    _check_rich(kind, g)
    fraction = _check_fraction(fraction)
    own = line is None
    if own:
        med = quantile_sorted(s, 0.5, convention)
        rho = fraction * med
    else:
        rho = _check_line(line)
    big_n = s.total
    k = int(np.searchsorted(s.y, rho, side="right"))
    yr, wr = s.y[k:], s.w[k:]
    hv, hd = _rich_terms(yr, rho, g, kind)
    value = float(vdot(wr, hv)) / big_n
    headcount = kind == "fgt1" and g == 0
    if not influence:
        return Estimate(value)
    hbw = bandwidth(s, bandwidth_rule)
    deriv = -_density(s, rho, hbw) if headcount else float(vdot(wr, hd)) / big_n
    u = np.full(s.n, -value)
    u[k:] += hv
    u /= big_n
    if own:
        f_med = _density(s, med, hbw)
        j = int(np.searchsorted(s.y, med, side="right"))
        u_med = np.full(s.n, 0.5)
        u_med[:j] -= 1.0
        u += deriv * fraction * u_med / (big_n * f_med)
    return Estimate(value, u, deriv)


# ===================================================================== multi-component results
@dataclass(frozen=True, eq=False)
class SurveyComponents:
    """Estimates of several related statistics with their design-based covariance.

    ``influence`` (n x k, input order) holds each component's linearized variable u (theta_hat - theta
    ~= sum_k w_k u_k); ``vcov`` their design covariance; ``se`` the square roots of its diagonal."""

    statistic: str
    names: tuple[str, ...]
    values: np.ndarray
    vcov: np.ndarray
    influence: np.ndarray

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.vcov), 0.0, None))

    def value_of(self, name: str) -> float:
        return float(self.values[self.names.index(name)])

    def se_of(self, name: str) -> float:
        return float(self.se[self.names.index(name)])

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"component": list(self.names), "value": self.values, "se": self.se})

    def __repr__(self) -> str:
        body = ", ".join(f"{n} {v:.6g} (se {e:.3g})" for n, v, e in zip(self.names, self.values, self.se))
        return f"SurveyComponents[{self.statistic}]({body})"


def _design(n: int, design, strata, psu, fpc, lonely_psu: str):
    from ..variance.design import Design

    if design is not None:
        if design.n != n:
            raise ValueError(f"the design describes {design.n} units but {n} incomes were given")
        return design
    return Design.build(n, strata=strata, psu=psu, fpc=fpc, lonely_psu=lonely_psu)


def _vcov(design, w: np.ndarray, infl: np.ndarray) -> np.ndarray:
    """Design covariance matrix of the totals sum_k w_k u_k of each column of ``infl``."""
    k = infl.shape[1]
    n_psu = design.psu_stratum.size
    t = np.column_stack([np.bincount(design.psu, weights=w * infl[:, j], minlength=n_psu) for j in range(k)])
    out = np.empty((k, k))
    for i in range(k):
        out[i, i] = design.variance_of_totals(t[:, i])
        for j in range(i):
            v = 0.25 * (design.variance_of_totals(t[:, i] + t[:, j]) - design.variance_of_totals(t[:, i] - t[:, j]))
            out[i, j] = out[j, i] = v
    return out


def _result(statistic, names, values, infl, w, design) -> SurveyComponents:
    infl = np.column_stack(infl)
    return SurveyComponents(statistic, tuple(names), np.asarray(values, dtype=np.float64), _vcov(design, w, infl), infl)


def _fgt_parts(s: SortedIncome, z: float, g: float, inclusive: bool):
    """(value, u in input order) of FGT(g) at a fixed line."""
    e = fgt_sorted(s, z, g, influence=True, inclusive=inclusive, bandwidth=1.0)  # density unused at a fixed line
    return e.value, s.unsort(e.influence)


def fgt_decomposition(y, w=None, *, line: float, g: float = 2.0, inclusive: bool = True, design=None,
                      strata=None, psu=None, fpc=None, lonely_psu: str = "fail") -> SurveyComponents:
    """FGT(g) = H I^g [1 + (g^2 - g) GE_g] at a fixed (absolute) line (convey ``svyfgtdec``, abs_thresh).

    Components: ``fgt{g}``, ``fgt0``, ``fgt1``, ``igr`` (income-gap ratio FGT1 / FGT0) and ``gei_poor``
    = (FGT(g) / (FGT0 igr^g) - 1) / (g^2 - g), the GE(g) of the poverty gaps 1 - y/z among the poor.
    Poor: y <= z (``inclusive``, convey) or y < z. Each u is the delta-method combination of the FGT
    linearized variables (d FGT / d w exactly)."""
    y, w = income_weight_arrays(y, w, require_finite=True)
    g = float(g)
    if not g >= 2:
        raise ValueError(f"the FGT decomposition is defined for g >= 2 (convey), got {g:g}")
    z = _check_line(line)
    dz = _design(y.size, design, strata, psu, fpc, lonely_psu)
    s = SortedIncome.from_arrays(y, w)
    (p0, u0), (p1, u1), (pg, ug) = (_fgt_parts(s, z, a, inclusive) for a in (0.0, 1.0, g))
    if p0 == 0:
        raise ValueError(f"the FGT decomposition is undefined: no income is {'at or ' if inclusive else ''}below the line {z:g}")
    igr = p1 / p0
    u_igr = (u1 - igr * u0) / p0
    c = g * g - g
    ratio = pg / (p0 * igr**g)
    gei = (ratio - 1.0) / c
    # d ratio = ratio (d pg / pg - d p0 / p0 - g d igr / igr)
    u_gei = ratio * (ug / pg - u0 / p0 - g * u_igr / igr) / c
    gname = f"fgt{g:g}"
    return _result(f"fgt{g:g} decomposition", [gname, "fgt0", "fgt1", "igr", "gei_poor"], [pg, p0, p1, igr, gei],
                   [ug, u0, u1, u_igr, u_gei], w, dz)


def watts_decomposition(y, w=None, *, line: float, inclusive: bool = True, design=None, strata=None, psu=None,
                        fpc=None, lonely_psu: str = "fail") -> SurveyComponents:
    """Watts = FGT0 [ln(z / mu_p) + L_p] at a fixed line (convey ``svywattsdec``, abs_thresh).

    Components: ``watts``, ``fgt0``, ``watts_gap_ratio`` = ln(FGT0 / (FGT0 - FGT1)) = ln(z / mu_p) and
    ``theil_poor`` = Watts / FGT0 - watts_gap_ratio (the MLD of the poor's incomes). Incomes must be
    positive (convey keeps y > 0 only: pass the positive incomes, see docs/conventions.md)."""
    y, w = income_weight_arrays(y, w, require_finite=True)
    z = _check_line(line)
    if y.min() <= 0:
        bad = np.flatnonzero(y <= 0)
        raise ValueError(f"the Watts decomposition needs positive incomes: {bad.size} row(s) are <= 0 (first row "
                         f"{int(bad[0])}); keep y > 0 (convey does) or use fgt_decomposition")
    dz = _design(y.size, design, strata, psu, fpc, lonely_psu)
    s = SortedIncome.from_arrays(y, w)
    (p0, u0), (p1, u1) = (_fgt_parts(s, z, a, inclusive) for a in (0.0, 1.0))
    if p0 == 0:
        raise ValueError(f"the Watts decomposition is undefined: no income is below the line {z:g}")
    we = watts_sorted(s, z, influence=True, inclusive=inclusive)
    wv, uw = we.value, s.unsort(we.influence)
    d = p0 - p1
    gap = float(np.log(p0 / d))
    u_gap = u0 / p0 - (u0 - u1) / d
    lp = wv / p0 - gap
    u_lp = uw / p0 - wv * u0 / p0**2 - u_gap
    return _result("watts decomposition", ["watts", "fgt0", "watts_gap_ratio", "theil_poor"], [wv, p0, gap, lp],
                   [uw, u0, u_gap, u_lp], w, dz)


def jdiv_decomposition(y, groups, w=None, *, design=None, strata=None, psu=None, fpc=None,
                       lonely_psu: str = "fail") -> SurveyComponents:
    """J-divergence total = within + between by ``groups`` (convey ``svyjdivdec``); positive incomes.

    within = sum_g s_g T_g + sum_g pi_g L_g (s_g income shares, pi_g population shares, T Theil, L MLD);
    between = sum_g (s_g - pi_g) ln(mu_g / mu) = total - within. u of between (exact derivative), with
    unit k in group g: y_k/Y (ln mu_g - sum_h s_h ln mu_h) - (1/N)(ln mu_g - sum_h pi_h ln mu_h)
    + (s_g - pi_g)(y_k / Y_g - 1 / N_g); within = total - between."""
    y, w = income_weight_arrays(y, w, require_finite=True)
    if y.min() <= 0:
        bad = np.flatnonzero(y <= 0)
        raise ValueError(f"the J-divergence needs positive incomes: {bad.size} row(s) are <= 0 (first row "
                         f"{int(bad[0])}); keep y > 0 (convey: subset(design, y > 0))")
    groups = np.asarray(groups)
    if groups.shape != y.shape:
        raise ValueError(f"groups must have one label per income (got {groups.shape} for {y.shape})")
    codes, levels = pd.factorize(groups, sort=True)
    if (codes < 0).any():
        raise ValueError(f"{int((codes < 0).sum())} group label(s) are missing (first at row {int(np.flatnonzero(codes < 0)[0])})")
    dz = _design(y.size, design, strata, psu, fpc, lonely_psu)
    s = SortedIncome.from_arrays(y, w)
    tot = jdiv_sorted(s)
    u_tot = s.unsort(tot.influence)
    big_n, big_y = float(w.sum()), float(np.dot(w, y))
    n_g = np.bincount(codes, weights=w, minlength=len(levels))
    y_g = np.bincount(codes, weights=w * y, minlength=len(levels))
    ln_mu = np.log(y_g / n_g)
    s_g, pi_g = y_g / big_y, n_g / big_n
    between = float(np.dot(s_g - pi_g, ln_mu))
    u_b = (y / big_y * (ln_mu[codes] - np.dot(s_g, ln_mu)) - (ln_mu[codes] - np.dot(pi_g, ln_mu)) / big_n
           + (s_g - pi_g)[codes] * (y / y_g[codes] - 1.0 / n_g[codes]))
    return _result("j-divergence decomposition", ["total", "within", "between"],
                   [tot.value, tot.value - between, between], [u_tot, u_tot - u_b, u_b], w, dz)


# ============================================================================ two-domain ratios
def _domain_quantile(y, w, mask, p, convention, h):
    """(q, u over all units: -(1{in D} (1{y <= q} - p)) / (N_D f_D(q)))."""
    s = SortedIncome.from_arrays(y[mask], w[mask])
    if s.total <= 0:
        raise ValueError("a domain has no weight")
    q = quantile_sorted(s, p, convention)
    f = _density(s, q, h)
    u = np.zeros(y.size)
    u[mask] = -((y[mask] <= q).astype(np.float64) - p) / (s.total * f)
    return q, u


def rmir(y, age, w=None, *, agelim: float = 65, p: float = 0.5, convention: str = "inverse_cdf",
         bandwidth_rule: str | None = None, design=None, strata=None, psu=None, fpc=None,
         lonely_psu: str = "fail") -> SurveyComponents:
    """Relative median income ratio (convey ``svyrmir``): median income of persons with age >= agelim over
    the median of those younger. Densities: each domain's kernel density at its median with the
    bandwidth of the whole sample (convey). Components: ``rmir``, ``median_old``, ``median_young``."""
    y, w = income_weight_arrays(y, w, require_finite=True)
    age = np.asarray(age, dtype=np.float64)
    if age.shape != y.shape:
        raise ValueError(f"age must have one value per income (got {age.shape} for {y.shape})")
    if np.isnan(age).any():
        raise ValueError(f"{int(np.isnan(age).sum())} age value(s) are missing (first at row {int(np.flatnonzero(np.isnan(age))[0])})")
    old = age >= agelim
    if not old.any() or old.all():
        raise ValueError(f"the RMIR needs persons on both sides of age {agelim:g} ({int(old.sum())} are at or above it)")
    dz = _design(y.size, design, strata, psu, fpc, lonely_psu)
    h = bandwidth(SortedIncome.from_arrays(y, w), _check_rule(bandwidth_rule))
    m_old, u_old = _domain_quantile(y, w, old, p, convention, h)
    m_young, u_young = _domain_quantile(y, w, ~old, p, convention, h)
    r = m_old / m_young
    u = (u_old - r * u_young) / m_young
    return _result("rmir", ["rmir", "median_old", "median_young"], [r, m_old, m_young], [u, u_old, u_young], w, dz)


def gpg(y, sex, w=None, *, male="male", female="female", design=None, strata=None, psu=None, fpc=None,
        lonely_psu: str = "fail") -> SurveyComponents:
    """Gender pay gap (convey ``svygpg``, laeken ``gpg``): (mean_m - mean_f) / mean_m, a fraction (as
    laeken's ``gpg()$value``). u = (mean_f / mean_m) u_m / mean_m - u_f / mean_m with the domain means' u =
    1{in D}(y - mean_D) / N_D. Components: ``gpg``, ``mean_male``, ``mean_female``."""
    y, w = income_weight_arrays(y, w, require_finite=True)
    sex = np.asarray(sex)
    if sex.shape != y.shape:
        raise ValueError(f"sex must have one label per income (got {sex.shape} for {y.shape})")
    dz = _design(y.size, design, strata, psu, fpc, lonely_psu)
    parts = []
    for label in (male, female):
        mask = sex == label
        if not mask.any():
            found = ", ".join(map(str, pd.unique(sex)[:5]))
            raise ValueError(f"no unit has sex == {label!r} (labels found: {found}); pass male= and female=")
        n_d = float(w[mask].sum())
        m = float(np.dot(w[mask], y[mask])) / n_d
        u = np.zeros(y.size)
        u[mask] = (y[mask] - m) / n_d
        parts.append((m, u))
    (mm, um), (mf, uf) = parts
    value = 1.0 - mf / mm
    u = (mf * um / mm - uf) / mm
    return _result("gpg", ["gpg", "mean_male", "mean_female"], [value, mm, mf], [u, um, uf], w, dz)


def zenga(y, w=None) -> float:
    """Zenga inequality index (see :func:`zenga_sorted`). The discrete estimator is consistent, not 0 at
    equality in a finite sample: n equal incomes give 1 - (1/n) sum_i (n - i)(i - 1) / (i (n - i + 1)).

    >>> round(zenga([1, 1, 1, 1]), 12)   # 1 - (1/4)(0 + 1/3 + 1/3 + 0)
    0.833333333333
    """
    return zenga_sorted(as_sorted(y, w), influence=False).value
