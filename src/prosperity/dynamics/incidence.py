"""Growth incidence and the growth / redistribution decomposition of poverty changes.

Distributions. Each period is either a weighted sample ``(y, w)`` (a :class:`Sample`, or a tuple,
or an array of incomes) or any fitted distribution with a quantile function: an object with
``.quantile(p)`` or ``.ppf(p)`` (e.g. a scipy frozen distribution), or a plain callable p -> Q(p).
Quantiles of a fitted distribution are evaluated exactly; means, bottom-40 means and poverty measures
use its quantiles at the mid-points p_j = (j - 1/2)/G of a fine grid (G = ``grid_size``), each
with weight 1/G (midpoint-rule integration over p); the mean is the distribution's own ``.mean()``
when it has one.

Growth incidence curve (Ravallion & Chen 2003): g(p) = (Q_1(p) / Q_0(p))^(1/years) - 1 at the
percentiles p (quantiles of a sample under a named convention, default ``"interpolated"``, which
gives a smooth curve; see :mod:`prosperity.measures.quantiles`).

Summaries: growth of the mean, mean of the GIC over the percentiles, growth of the median, growth
of the mean income of the bottom 40 % (the World Bank's shared-prosperity indicator: the mean of the
poorest 40 % of each period, anonymous), and the pro-poor growth rate
  ``"percentiles"`` (Ravallion & Chen 2003, in practice): the mean of g(p) over p <= H_0;
  ``"watts"``: (W_0 - W_1) / H_0 annualised (W = Watts index), the exact continuous-time version
  (the mean growth rate of the poor's incomes in logs).

Poverty change decomposition for an FGT(alpha) measure P(mu, L) of a mean and a Lorenz curve:
  Datt & Ravallion (1992), reference period 0:
    growth = P(mu_1, L_0) - P(mu_0, L_0), redistribution = P(mu_0, L_1) - P(mu_0, L_0),
    residual = P_1 - P_0 - growth - redistribution;
  Shapley (Shorrocks 2013; Kakwani 1997), no residual:
    growth = [P(mu_1, L_0) - P(mu_0, L_0) + P(mu_1, L_1) - P(mu_0, L_1)] / 2,
    redistribution = [P(mu_0, L_1) - P(mu_0, L_0) + P(mu_1, L_1) - P(mu_1, L_0)] / 2.
P(mu_a, L_b) is the poverty of distribution b rescaled to mean mu_a. Incomes of both periods must be
in the same prices (deflate first).

Prices (``deflator=``, ``deflator_kind=``; CLI ``--deflator``, ``--deflator-kind``). The AFTER incomes
are divided by the price level L = P_after / P_before, so both periods are in before-year prices:
  ``"level"``: the deflator is L itself, a ratio near 1 (1.12 after 12 % inflation);
  ``"chain"``: the deflator is a chain index, one value per year between the surveys, each year's
  prices over the previous year's times 100 (previous year = 100, e.g. 103.2 for 3.2 % inflation):
  L = prod(c_i / 100), computed as prod(c_i) / 100^n; there must be exactly ``years`` values.
  ``None`` (auto): one value below ``INDEX_LOOKING`` (50) is a level; a value of 50 or more reads
  as an index with 100 as its base (a chain index, or a level index with the before year = 100)
  and several values as a chain: both are refused, with a message that names the two kinds, never
  divided by silently.

Standard errors (``se=True``, or a ``design_before`` / ``design_after``): linearized, for two
**independent** samples (two cross-sections, not a panel). Every summary is a smooth function
theta = h(T_0, T_1) of statistics of the two samples; its linearized variable is u^0 = dh/dT_0 u_T0 on
the units of sample 0 and u^1 = dh/dT_1 u_T1 on those of sample 1 (u_T as in
:mod:`prosperity.measures.estimate`, one value per unit, ``T_hat - T ~= sum w u``), and

    V(theta_hat) = V_0(sum w^0 u^0) + V_1(sum w^1 u^1),

each V_t the with-replacement (ultimate cluster) design variance of its own sample
(:class:`prosperity.variance.Design`). For a growth rate g = (T_1 / T_0)^(1/years) - 1:
u^1 = (1 + g) u_T1 / (years T_1), u^0 = -(1 + g) u_T0 / (years T_0). The u_T are the package's:
mean (y - mu) / N; p-quantile -(1{y <= q} - p) / (N f(q)) with the kernel density f of
:func:`prosperity.measures.quantiles.kernel_density_at` (that of ``prosperity.measure``); bottom-40
mean mu_p = T(p) / (p N), T(p) the income of the poorest p (boundary unit split),
u = {[(y - q) 1{y <= q} + p q] / p - mu_p} / N with q = Q(p) (the influence function of the
generalized Lorenz ordinate, Beach & Davidson 1983, Bishop, Chakraborti & Thistle 1989, divided by p;
:func:`prosperity.measures.prosperity.bottom_mean_sorted`), which is the exact derivative with respect
to each unit's weight. The premium g_B40 - g_mean and the mean of growth rates (average of g(p))
combine the u of their components unit by unit before the variance is taken (their components come
from the same two samples). Pro-poor growth: ``"watts"`` linearizes (W_0 - W_1) / H_0 (Watts and
headcount u of :mod:`prosperity.measures.poverty`); ``"percentiles"`` is the mean of g(p) over
p <= H_0 with the set of percentiles held fixed (H_0 only selects them). Intervals are normal,
value +- z se. Fitted distributions have no sampling units: no standard errors (``notes`` says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from statistics import NormalDist

import numpy as np
import pandas as pd

from ..io.errors import DesignError, ProsperityInputError, closest
from ..measures.central import mean_estimate
from ..measures.estimate import SortedIncome
from ..measures.poverty import fgt_sorted, watts_sorted
from ..measures.prosperity import bottom_mean_sorted
from ..measures.quantiles import kernel_density_at, quantile_influence, quantile_sorted
from ..variance.columns import design_from_columns, given_design
from ..variance.design import Design


@dataclass(frozen=True)
class Sample:
    """A weighted income sample (or a fitted distribution's quantile grid)."""

    y: np.ndarray
    w: np.ndarray
    fitted: bool = False
    qfunc: object = None  # the fitted distribution's quantile function, evaluated exactly by quantile()
    exact_mean: float | None = None  # the fitted distribution's own mean, when it has one

    @property
    def mean(self) -> float:
        if self.exact_mean is not None:
            return self.exact_mean
        return float(self.w @ self.y / self.w.sum())

    def quantile(self, p, convention: str = "interpolated"):
        if self.qfunc is not None:
            q = np.asarray(self.qfunc(np.asarray(p, dtype=float)), dtype=float)
            return float(q.ravel()[0]) if np.ndim(p) == 0 else q.reshape(np.shape(p))
        if self.fitted:  # quantile grid of a fitted distribution: interpolate on the mid-points
            g = self.y.size
            mid = (np.arange(g) + 0.5) / g
            return np.interp(p, mid, self.y)
        if np.ndim(p) == 0:
            return quantile_sorted(self.sorted, p, convention)
        return np.array([quantile_sorted(self.sorted, pj, convention) for pj in np.asarray(p, dtype=float)])

    @cached_property
    def sorted(self) -> SortedIncome:
        """The sample sorted once, with its caches (quantiles, densities), for every statistic here."""
        return SortedIncome.from_arrays(self.y, self.w)

    def scaled(self, factor: float) -> "Sample":
        q = None if self.qfunc is None else (lambda p, f=self.qfunc: f(p) * factor)
        m = None if self.exact_mean is None else self.exact_mean * factor
        return Sample(self.y * factor, self.w, self.fitted, q, m)

    def bottom_mean(self, share: float) -> float:
        """Mean income of the poorest ``share`` of the population (fractional weight at the cut)."""
        return bottom_mean_sorted(self.sorted, influence=False, share=share).value


def as_sample(dist, weights=None, grid_size: int = 10_000, name: str = "distribution") -> Sample:
    """Accept a :class:`Sample`, ``(y, w)``, an income array (+ ``weights``), or a fitted distribution."""
    if isinstance(dist, Sample):
        return dist
    inner = getattr(dist, "distribution", None)  # e.g. prosperity.grouped fits wrap their distribution
    if inner is not None and (hasattr(inner, "quantile") or hasattr(inner, "ppf")):
        dist = inner
    quant = getattr(dist, "quantile", None) or getattr(dist, "ppf", None)
    if quant is None and callable(dist):
        quant = dist
    if quant is not None and not isinstance(dist, (np.ndarray, list, tuple, pd.Series)):
        p = (np.arange(grid_size) + 0.5) / grid_size
        q = np.asarray(quant(p), dtype=float)
        if q.shape != p.shape or not np.all(np.isfinite(q)):
            raise ValueError(f"{name}: the quantile function must return finite values for p in (0, 1)")
        if np.any(np.diff(q) < -1e-12 * np.abs(q).max()):
            raise ValueError(f"{name}: the quantile function is not increasing")
        mean = getattr(dist, "mean", None)
        mean = float(mean()) if callable(mean) else (float(mean) if isinstance(mean, (int, float)) else None)
        return Sample(q, np.full(grid_size, 1.0 / grid_size), fitted=True, qfunc=quant, exact_mean=mean)
    if isinstance(dist, tuple) and len(dist) == 2 and weights is None:
        dist, weights = dist
    y = np.asarray(dist, dtype=float)
    w = np.ones_like(y) if weights is None else np.asarray(weights, dtype=float)
    if y.ndim != 1 or w.shape != y.shape or y.size == 0:
        raise ValueError(f"{name}: incomes and weights must be non-empty 1-D arrays of one length ({y.shape}, {w.shape})")
    bad = np.flatnonzero(~np.isfinite(y) | ~np.isfinite(w) | (w < 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}: data row {i + 1} (counted from 1) has income {float(y[i])!r} and weight {float(w[i])!r} "
                         f"({bad.size:,} such rows); incomes must be finite and weights >= 0. Fix: drop or correct those rows")
    return Sample(y, w)


DEFLATOR_KINDS = ("level", "chain")
# a deflator of 50 or more is not a ratio of price levels (that would be prices x 50 between the surveys)
# but reads as an index with 100 as its base; a chain link below 50 would be prices more than halving
# in a year, so it reads as a ratio near 1
INDEX_LOOKING = 50.0


def _deflator_values(deflator, name: str) -> list[float]:
    if isinstance(deflator, str):
        parts = [x.strip() for x in deflator.split(",") if x.strip()]
    elif np.ndim(deflator) == 0:
        parts = [deflator]
    else:
        parts = list(np.asarray(deflator, dtype=object).ravel())
    values = []
    for x in parts:
        try:
            values.append(float(x))
        except (TypeError, ValueError):
            raise ProsperityInputError(
                f"{name} must be a number (a price ratio such as 1.12) or, with the chain kind, numbers separated by "
                f"commas (one per year, e.g. 102.1,103.4), got {deflator!r}") from None
    if not values:
        raise ProsperityInputError(f"{name} is empty", hint="give the after-year price level over the before-year's, e.g. 1.12")
    return values


def deflator_level(deflator, deflator_kind: str | None = None, years: float = 1.0, *, name: str = "deflator",
                   kind_name: str = "deflator_kind") -> float:
    """The price level L = P_after / P_before that the AFTER incomes are divided by (module docstring,
    "Prices"): ``deflator`` a number, a sequence or a comma-separated string; ``deflator_kind``
    ``"level"``, ``"chain"`` or None (auto: refuses a deflator that reads as an index with base 100)."""
    if deflator_kind not in (None,) + DEFLATOR_KINDS:
        raise ProsperityInputError(f"{kind_name} must be level or chain, got {deflator_kind!r}",
                                   hint="level: the after-year price level over the before-year's (e.g. 1.12); chain: "
                                   "year-on-year indices with the previous year = 100 (e.g. 103.2)")
    values = _deflator_values(deflator, name)

    def kind(k: str) -> str:  # how to write the option: CLI --deflator-kind chain, Python deflator_kind='chain'
        return f"{kind_name} {k}" if kind_name.startswith("-") else f"{kind_name}={k!r}"

    def value(v: float) -> str:
        return f"{name} {v:g}" if name.startswith("-") else f"{name}={v:g}"
    bad = [v for v in values if not (v > 0 and np.isfinite(v))]
    if bad:
        if deflator_kind == "chain":
            raise ProsperityInputError(f"{name} must be positive chain indices (previous year = 100, e.g. 103.2), got {bad[0]:g}")
        raise ProsperityInputError(f"{name} must be a positive price ratio (after-year prices / before-year prices, "
                                   f"e.g. 1.12), got {bad[0]:g}")
    shown = ",".join(f"{v:g}" for v in values)
    kinds = (f"{kind('level')}: {name} is the after-year price level over the before-year's, a ratio near 1 "
             f"(1.12 after 12 % inflation; a level index with the before year = 100 must be divided by 100 first); "
             f"{kind('chain')}: {name} is a chain index, one value per year between the surveys, each year's prices over "
             f"the previous year's x 100 (previous year = 100), converted to the level = product of chain/100")
    if deflator_kind is None:
        if len(values) > 1:
            raise ProsperityInputError(
                f"{name} {shown} gives {len(values)} values, which reads as a chain index (one value per year), but no "
                f"{kind_name} was given", hint=f"pass {kind('chain')} if these are year-on-year indices. The two kinds: {kinds}")
        if values[0] >= INDEX_LOOKING:
            level = values[0] / 100.0
            raise ProsperityInputError(
                f"{name} {shown} looks like an index with 100 as its base (a chain index, previous year = 100, or a "
                f"level index with the before year = 100), not a ratio of price levels: dividing the incomes by it "
                f"would make them {values[0]:g} times smaller",
                hint=f"pass {kind('chain')} if it is the year-on-year index (level = {values[0]:g}/100 = {level:g}), "
                f"give {value(level)} if it is a level index with base 100, or pass {kind('level')} if prices "
                f"really rose {values[0]:g}-fold. The two kinds: {kinds}")
        deflator_kind = "level"
    if deflator_kind == "level":
        if len(values) > 1:
            raise ProsperityInputError(f"{name} with {kind('level')} is one ratio of price levels, got {len(values)} values ({shown})",
                                       hint=f"pass {kind('chain')} for year-on-year indices, or their product")
        return values[0]
    low = [v for v in values if v < INDEX_LOOKING]
    if low:
        raise ProsperityInputError(
            f"{name} {shown} with {kind('chain')}: a chain index has the previous year = 100 (103.2 for 3.2 % "
            f"inflation), but {low[0]:g} would mean prices fell to {low[0]:g} % of the previous year's",
            hint=f"if {low[0]:g} is a ratio near 1, write it times 100 ({low[0] * 100:g}) or pass {kind('level')}")
    whole = float(years).is_integer()
    if not whole or len(values) != int(years):
        span = f"{years:g} year{'' if years == 1 else 's'}" + ("" if whole else ", not a whole number,")
        raise ProsperityInputError(
            f"{name} with {kind('chain')} gives {len(values)} year-on-year index value(s) ({shown}), but the surveys are "
            f"{span} apart", hint="give one chain index per year between the surveys, or the price level over the "
            f"whole span with {kind('level')}")
    return float(np.prod(values)) / 100.0 ** len(values)


def deflator_description(level: float, deflator, deflator_kind: str | None) -> str:
    """How the AFTER incomes were put in before-year prices (the CLI's ``prices``)."""
    if deflator_kind == "chain":
        chain = ", ".join(f"{v:g}" for v in _deflator_values(deflator, "deflator"))
        return f"before-year prices (AFTER incomes divided by the deflator {level:.10g} = product of the chain indices {chain} / 100)"
    return f"before-year prices (AFTER incomes divided by the deflator {level:g})"


def _deflated(s: Sample, level: float) -> Sample:
    """The sample with incomes divided by ``level`` (before-year prices)."""
    q = None if s.qfunc is None else (lambda p, f=s.qfunc: np.asarray(f(p), dtype=float) / level)
    m = None if s.exact_mean is None else s.exact_mean / level
    return Sample(s.y / level, s.w, s.fitted, q, m)


def _annual(ratio, years: float):
    return np.power(ratio, 1.0 / years) - 1.0


def fgt(s: Sample, line: float, alpha: float = 0.0) -> float:
    """Foster-Greer-Thorbecke index (1/N) sum_{y<z} w (1 - y/z)^alpha."""
    poor = s.y < line
    gap = np.where(poor, 1.0 - s.y / line, 0.0)
    val = np.where(poor, 1.0, 0.0) if alpha == 0 else gap**alpha
    return float(s.w @ val / s.w.sum())


def watts(s: Sample, line: float) -> float:
    """Watts index (1/N) sum_{y<z} w ln(z / y)."""
    poor = s.y < line
    if np.any(poor & (s.y <= 0)):
        raise ValueError("the Watts index needs positive incomes below the line")
    val = np.where(poor, np.log(line / np.where(poor, s.y, 1.0)), 0.0)
    return float(s.w @ val / s.w.sum())


# the summaries, in the order of summary()
SUMMARY_KEYS = ("growth_of_mean", "mean_of_growth_rates", "growth_of_median", "growth_bottom40",
                "premium_bottom40", "pro_poor_growth_rate", "headcount_0")
DESIGN_KEYS = ("strata", "psu", "fpc", "lonely_psu")


@dataclass(frozen=True)
class GrowthIncidence:
    """Growth incidence curve and its summaries, with linearized standard errors when asked for.

    ``curve``: p, quantile_0, quantile_1, growth, and ``se``, ``ci_low``, ``ci_high`` when standard
    errors were computed. ``se``: summary name -> standard error (None when not computed).
    ``influence``: summary name -> (u_before, u_after), the linearized variables of the two samples
    in the input order of their units (``V = V_0(sum w_0 u_before) + V_1(sum w_1 u_after)``; None for
    a sample the summary does not depend on). ``notes``: how the standard errors were obtained, or why
    there are none."""

    curve: pd.DataFrame  # p, quantile_0, quantile_1, growth (+ se, ci_low, ci_high)
    mean_growth: float  # growth of the mean
    mean_of_growth_rates: float
    median_growth: float
    bottom40_growth: float
    pro_poor_growth: float | None
    headcount_0: float | None
    years: float
    se: Mapping[str, float] | None = None
    confidence: float = 0.95
    influence: Mapping[str, tuple] | None = field(default=None, repr=False)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.curve.copy()

    def summary(self) -> pd.Series:
        """The summaries; with standard errors, each is followed by ``*_se``, ``*_ci_low``, ``*_ci_high``."""
        values = {
            "growth_of_mean": self.mean_growth,
            "mean_of_growth_rates": self.mean_of_growth_rates,
            "growth_of_median": self.median_growth,
            "growth_bottom40": self.bottom40_growth,
            "premium_bottom40": self.bottom40_growth - self.mean_growth,
            "pro_poor_growth_rate": self.pro_poor_growth,
            "headcount_0": self.headcount_0,
        }
        out: dict = {}
        z = _normal_quantile(self.confidence)
        for key, value in values.items():
            out[key] = value
            if self.se is not None and key in self.se:
                se = self.se[key]
                out[f"{key}_se"] = se
                out[f"{key}_ci_low"] = value - z * se
                out[f"{key}_ci_high"] = value + z * se
        out["years"] = self.years
        return pd.Series(out)

    def __repr__(self) -> str:
        s = self.summary()
        body = ", ".join(f"{k}={s[k]:.4f}" for k in SUMMARY_KEYS if pd.notna(s[k]))
        text = f"GrowthIncidence({len(self.curve)} points, per {'year' if self.years != 1 else 'period'}: {body}"
        if self.se is not None:
            ses = ", ".join(
                f"{k} {s[k + '_se']:.4f} [{s[k + '_ci_low']:.4f}, {s[k + '_ci_high']:.4f}]"
                for k in ("growth_bottom40", "premium_bottom40")
            )
            text += f"; se and {self.confidence:.0%} CI: {ses}"
        return text + "".join(f"; {n}" for n in self.notes) + ")"


def growth_incidence(
    before,
    after,
    *,
    weights_before=None,
    weights_after=None,
    percentiles=None,
    years: float = 1.0,
    line: float | None = None,
    pro_poor: str = "percentiles",
    convention: str = "interpolated",
    grid_size: int = 10_000,
    se: bool | None = None,
    design_before=None,
    design_after=None,
    confidence: float = 0.95,
    deflator=None,
    deflator_kind: str | None = None,
) -> GrowthIncidence:
    """Growth incidence curve between two distributions (samples or fitted; see module docstring).

    ``years``: annualise growth over this many years. ``line``: poverty line (same prices in both
    periods) for the pro-poor growth rate; ``pro_poor``: ``"percentiles"`` or ``"watts"``.

    Standard errors (module docstring), for two independent samples: ``se=True``, or a design for
    either sample (``se=None``, the default, means "when a design is given"). ``design_before`` /
    ``design_after``: a :class:`prosperity.variance.Design` of the sample's units (in input order), or
    a dict with the keys of ``prosperity.measure``'s design arguments, ``strata``, ``psu``, ``fpc``
    (arrays, one value per unit) and ``lonely_psu`` (``"fail"`` (default), ``"adjust"``, ``"remove"``,
    ``"certainty"``). A sample without a design (weights only) is treated as a with-replacement sample
    of its units: every unit its own PSU, one stratum, V = n/(n-1) sum (w_k u_k - mean)^2 (the
    standard with-replacement linearization). ``confidence``: level of the normal intervals. Fitted
    distributions have no standard errors: with ``se=True`` the result has none and says why.

    ``deflator``: the AFTER incomes are divided by the price level it gives, so both periods are in
    before-year prices (``line`` too is in before-year prices); ``deflator_kind``: ``"level"`` (a
    ratio, 1.12 after 12 % inflation), ``"chain"`` (one year-on-year index per year, previous year =
    100; level = product of chain / 100) or None (auto: refuses a value that reads as an index with
    base 100). See the module docstring, "Prices"."""
    if years <= 0:
        raise ValueError(f"years must be positive, got {years}")
    if deflator is None and deflator_kind is not None:
        raise ProsperityInputError(f"deflator_kind={deflator_kind!r} was given without a deflator",
                                   hint="pass deflator= too, or drop deflator_kind")
    level = None if deflator is None else deflator_level(deflator, deflator_kind, years)
    s0 = as_sample(before, weights_before, grid_size, "before")
    s1 = as_sample(after, weights_after, grid_size, "after")
    if level is not None:
        s1 = _deflated(s1, level)
    p = np.arange(1, 100) / 100.0 if percentiles is None else np.asarray(percentiles, dtype=float)
    if np.any((p <= 0) | (p >= 1)):
        raise ValueError("percentiles must lie strictly between 0 and 1 (e.g. 0.01 .. 0.99)")
    want_se = _wants_se(se, design_before, design_after, confidence, s0, s1)
    q0 = np.asarray(s0.quantile(p, convention), dtype=float)
    q1 = np.asarray(s1.quantile(p, convention), dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = _annual(q1 / q0, years)
    curve = pd.DataFrame({"p": p, "quantile_0": q0, "quantile_1": q1, "growth": g})
    ppg, h0 = None, None
    if line is not None:
        h0 = fgt(s0, line, 0)
        if h0 == 0:
            raise ValueError(f"nobody is poor at line {line} in the first period: the pro-poor growth rate is undefined")
        if pro_poor == "percentiles":
            below = p <= h0 + 1e-12
            if not below.any():
                raise ValueError(f"the headcount {h0:.4f} is below the first percentile {p[0]}; pass a finer percentiles grid")
            ppg = float(np.mean(g[below]))
        elif pro_poor == "watts":
            ppg = float(np.expm1((watts(s0, line) - watts(s1, line)) / h0 / years))
        else:
            raise ValueError(f"pro_poor must be 'percentiles' or 'watts', got {pro_poor!r}")
    med = float(_annual(s1.quantile(0.5, convention) / s0.quantile(0.5, convention), years))
    result = GrowthIncidence(
        curve,
        float(_annual(s1.mean / s0.mean, years)),
        float(np.nanmean(g)),
        med,
        float(_annual(s1.bottom_mean(0.4) / s0.bottom_mean(0.4), years)),
        ppg,
        h0,
        float(years),
        confidence=float(confidence),
    )
    if not want_se:
        return result
    if s0.fitted or s1.fitted:
        which = " and ".join(n for n, s in (("before", s0), ("after", s1)) if s.fitted)
        note = (f"no standard errors: {which} is a fitted distribution, which has no sampling units "
                "(standard errors need the microdata of both samples)")
        return replace(result, notes=(note,))
    periods = (_Period.build(s0, design_before, "before"), _Period.build(s1, design_after, "after"))
    return _with_standard_errors(result, periods, convention, line, pro_poor)


def _normal_quantile(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _wants_se(se, design_before, design_after, confidence, s0: Sample, s1: Sample) -> bool:
    has_design = design_before is not None or design_after is not None
    if se is False and has_design:
        raise ValueError("a design was given with se=False: designs are only used for standard errors; drop one of them")
    if not (isinstance(confidence, (int, float)) and 0 < confidence < 1):
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r} (0.95 for a 95 % interval)")
    for name, design, s in (("before", design_before, s0), ("after", design_after, s1)):
        if design is not None and s.fitted:
            raise ValueError(f"design_{name} was given, but {name} is a fitted distribution: a design describes "
                             "the units of a sample; pass the microdata (incomes and weights) instead")
    return bool(se) or has_design


@dataclass(frozen=True)
class _Period:
    """One period's sample, sorted once, and its design: the variance of sum w u for u in sorted order."""

    s: SortedIncome
    design: Design
    name: str

    @classmethod
    def build(cls, sample: Sample, design, name: str) -> "_Period":
        return cls(sample.sorted, _as_design(design, sample.y.size, name), name)

    def variance(self, u: np.ndarray) -> float:
        return self.design.variance(self.s.w * u, index=self.s.order)

    def unsort(self, u: np.ndarray | None) -> np.ndarray | None:
        return None if u is None else self.s.unsort(u)


def _as_design(design, n: int, name: str) -> Design:
    """A :class:`Design` for the ``n`` units of sample ``name``: given, built from a dict of the
    ``prosperity.measure`` design arguments, or (None) every unit its own PSU."""
    arg = f"design_{name}"
    if design is None:
        return Design.build(n)
    if isinstance(design, Design):
        return given_design(design, n, f"the {name} sample has")
    if isinstance(design, Mapping):
        unknown = [k for k in design if k not in DESIGN_KEYS]
        if unknown:
            near = closest(str(unknown[0]), DESIGN_KEYS)
            raise DesignError(f"{arg} has an unknown key {unknown[0]!r}" + (f"; did you mean {near[0]!r}?" if near else ""),
                              hint=f"use the keys {', '.join(DESIGN_KEYS)} (as prosperity.measure's design arguments)")
        columns = {key: design.get(key) for key in ("strata", "psu", "fpc")}
        built = design_from_columns(n, **columns, lonely_psu=design.get("lonely_psu", "fail"),
                                    names={key: f"{arg}[{key!r}]" for key in columns})
        return Design.build(n) if built is None else built
    raise TypeError(f"{arg} must be a prosperity.variance.Design or a dict with keys {', '.join(DESIGN_KEYS)}, "
                    f"got {type(design).__name__}")


def _with_standard_errors(result: GrowthIncidence, periods, convention: str, line, pro_poor: str) -> GrowthIncidence:
    """Linearized variables of the curve points and summaries, their variances and the intervals."""
    a, b = periods
    years = result.years
    curve = result.curve
    p, q0, q1, g = (curve[c].to_numpy() for c in ("p", "quantile_0", "quantile_1", "growth"))
    flat: list[str] = []  # quantiles where the kernel density is 0: no linearization there

    def growth_u(value: float, t0: float, t1: float, u0, u1):
        """u of the growth rate g = (t1 / t0)^(1/years) - 1 on each sample (delta method); None when
        a quantile has no linearized variable."""
        if u0 is None or u1 is None:
            return None
        c = (1.0 + value) / years
        return -c / t0 * u0, c / t1 * u1

    def quantile_u(period: _Period, pj: float, qj: float) -> np.ndarray | None:
        try:
            f = kernel_density_at(period.s, qj)
        except ValueError as exc:
            raise ValueError(f"{period.name}: {exc}") from None
        if not f > 0:
            flat.append(f"{period.name} p = {pj:g}")
            return None
        return quantile_influence(period.s, pj, qj, density=f)

    # curve points; their u also make the mean of growth rates and the percentile pro-poor rate
    mixes = {"mean_of_growth_rates": np.isfinite(g)}
    if line is not None and pro_poor == "percentiles":
        mixes["pro_poor_growth_rate"] = p <= result.headcount_0 + 1e-12
    acc = {key: [np.zeros(a.s.n), np.zeros(b.s.n)] for key in mixes}
    var_g = np.full(p.size, np.nan)
    for j in range(p.size):
        u = growth_u(g[j], q0[j], q1[j], quantile_u(a, p[j], q0[j]), quantile_u(b, p[j], q1[j])) if np.isfinite(g[j]) else None
        if u is not None:
            var_g[j] = a.variance(u[0]) + b.variance(u[1])
        for key, mask in mixes.items():
            if mask[j] and acc[key] is not None:
                acc[key] = None if u is None else [acc[key][0] + u[0] / mask.sum(), acc[key][1] + u[1] / mask.sum()]
    influence = {key: tuple(v) for key, v in acc.items() if v is not None}

    def growth_of(value: float, estimates) -> tuple:
        return growth_u(value, estimates[0].value, estimates[1].value, estimates[0].influence, estimates[1].influence)

    influence["growth_of_mean"] = growth_of(result.mean_growth, [mean_estimate(per.s) for per in periods])
    medians = [quantile_sorted(per.s, 0.5, convention) for per in periods]
    median_u = growth_u(result.median_growth, *medians, quantile_u(a, 0.5, medians[0]), quantile_u(b, 0.5, medians[1]))
    if median_u is not None:
        influence["growth_of_median"] = median_u
    influence["growth_bottom40"] = growth_of(result.bottom40_growth, [bottom_mean_sorted(per.s, share=0.4) for per in periods])
    influence["premium_bottom40"] = tuple(ub - um for ub, um in zip(influence["growth_bottom40"], influence["growth_of_mean"]))
    if line is not None:
        h = fgt_sorted(a.s, line, 0.0)
        influence["headcount_0"] = (h.influence, None)
        if pro_poor == "watts":  # expm1(D), D = (W_0 - W_1) / (H_0 years)
            w0, w1 = watts_sorted(a.s, line), watts_sorted(b.s, line)
            d = (w0.value - w1.value) / (h.value * years)
            scale = np.exp(d) / (h.value * years)
            influence["pro_poor_growth_rate"] = (scale * (w0.influence - d * years * h.influence), -scale * w1.influence)

    se = {}
    for key in SUMMARY_KEYS:
        if key in influence:
            se[key] = float(np.sqrt(sum(per.variance(u) for per, u in zip(periods, influence[key]) if u is not None)))
        elif key in mixes or key == "growth_of_median":
            se[key] = np.nan  # a quantile without density (note), or a NaN growth rate among its points
    z = _normal_quantile(result.confidence)
    curve = curve.copy()
    curve["se"] = np.sqrt(var_g)
    curve["ci_low"] = g - z * curve["se"]
    curve["ci_high"] = g + z * curve["se"]
    notes = [_describe_designs(periods)]
    if flat:
        notes.append("no SE where the kernel density at the quantile is 0 (no income within 8 bandwidths: "
                     f"{', '.join(dict.fromkeys(flat))}), nor for the summaries averaging those points")
    unsorted = {key: (a.unsort(u0), b.unsort(u1)) for key, (u0, u1) in influence.items()}
    return replace(result, curve=curve, se=se, influence=unsorted, notes=tuple(notes))


def _describe_designs(periods) -> str:
    parts = []
    for per in periods:
        d = per.design
        if d.psu_stratum.size == per.s.n and d.n_h.size == 1:
            parts.append(f"{per.name}: {per.s.n:,} units, each its own PSU (with replacement)")
        else:
            parts.append(f"{per.name}: {d.n_h.size:,} strata, {d.psu_stratum.size:,} PSUs")
    return "linearized SEs, independent samples; " + "; ".join(parts)


@dataclass(frozen=True)
class PovertyChangeDecomposition:
    """Growth / redistribution decomposition of the change in an FGT poverty measure."""

    method: str
    poverty_0: float
    poverty_1: float
    growth: float
    redistribution: float
    residual: float
    alpha: float
    line: float

    @property
    def change(self) -> float:
        return self.poverty_1 - self.poverty_0

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "component": ["poverty_0", "poverty_1", "change", "growth", "redistribution", "residual"],
                "value": [self.poverty_0, self.poverty_1, self.change, self.growth, self.redistribution, self.residual],
            }
        )

    def __repr__(self) -> str:
        return (
            f"PovertyChangeDecomposition({self.method}, FGT({self.alpha:g}) at line {self.line:g}: "
            f"{self.poverty_0:.4f} -> {self.poverty_1:.4f}, change {self.change:+.4f} = growth {self.growth:+.4f} "
            f"+ redistribution {self.redistribution:+.4f} + residual {self.residual:+.4f})"
        )


def poverty_change_decomposition(
    before,
    after,
    line: float,
    *,
    alpha: float = 0.0,
    method: str = "shapley",
    reference: int = 0,
    weights_before=None,
    weights_after=None,
    grid_size: int = 10_000,
) -> PovertyChangeDecomposition:
    """Decompose P_1 - P_0 into growth and redistribution (``method="datt-ravallion"`` with a
    residual and ``reference`` period 0 or 1, or ``"shapley"`` without residual)."""
    s0 = as_sample(before, weights_before, grid_size, "before")
    s1 = as_sample(after, weights_after, grid_size, "after")
    mu0, mu1 = s0.mean, s1.mean

    def pov(mu, s, mu_s):  # poverty of distribution s rescaled to mean mu
        return fgt(s.scaled(mu / mu_s), line, alpha)

    p00, p11 = fgt(s0, line, alpha), fgt(s1, line, alpha)
    p10 = pov(mu1, s0, mu0)  # mean 1, Lorenz 0
    p01 = pov(mu0, s1, mu1)  # mean 0, Lorenz 1
    if method == "shapley":
        growth = 0.5 * ((p10 - p00) + (p11 - p01))
        redis = 0.5 * ((p01 - p00) + (p11 - p10))
        resid = 0.0
    elif method == "datt-ravallion":
        if reference == 0:
            growth, redis = p10 - p00, p01 - p00
        elif reference == 1:
            growth, redis = p11 - p01, p11 - p10
        else:
            raise ValueError(f"reference must be 0 or 1, got {reference}")
        resid = (p11 - p00) - growth - redis
    else:
        raise ValueError(f"method must be 'shapley' or 'datt-ravallion', got {method!r}")
    name = method if method == "shapley" else f"datt-ravallion (reference {reference})"
    return PovertyChangeDecomposition(name, p00, p11, growth, redis, resid, float(alpha), float(line))
