"""Contrasts with standard errors: the difference or ratio of a measure between two groups of one
survey, or between two independent surveys (two years), from the measures' linearized variables.

Every catalogue measure has a linearized variable u (theta_hat - theta ~= sum_k w_k u_k, see
:mod:`prosperity.variance.design`). For two estimates theta_a, theta_b:

- difference  D = theta_a - theta_b,      u_D = u_a - u_b
- ratio       R = theta_a / theta_b,      u_R = (u_a - R u_b) / theta_b

**Two groups of one survey** (:func:`group_contrast`): each group is a domain (convey's ``subset()``,
R survey's ``svyby``): its u is computed on the group's units and is 0 elsewhere, the whole design is
kept, and the covariance of the two estimates comes from the same PSU totals,

    V(D) = V(a) + V(b) - 2 Cov(a, b),   Cov(a, b) = (V(t_a + t_b) - V(t_a - t_b)) / 4

with t the PSU totals of w u. Groups sharing PSUs (e.g. men and women of the same households) are
positively correlated; groups in different strata are not. Poverty lines: ``line="national"`` (the
default, as ``prosperity.measure``): both groups are measured against the whole sample's line, whose
own error (the linearized median of the whole sample times d theta / d line) enters both u's and so
partly cancels in the difference; ``line="group"``: each group's own relative line (its own median).

**Two surveys** (:func:`sample_contrast`, e.g. two years): independent samples, so V(D) = V(a) + V(b)
and Cov = 0 (ratio: V(R) = (V(a) + R^2 V(b)) / theta_b^2).

The result holds both estimates, their 2 x 2 covariance matrix, the linearized variables (input order)
and a normal-theory z test and interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

from .design import Design

CONTRAST_KINDS = ("difference", "ratio")
CONTRAST_LINES = ("national", "group")


@dataclass(frozen=True, eq=False)
class Contrast:
    """theta_a - theta_b (or theta_a / theta_b) with its design-based SE.

    ``values`` (theta_a, theta_b); ``vcov`` their 2 x 2 covariance (0 off the diagonal for independent
    samples); ``influence`` (u_a, u_b), each in the input order of its sample (one survey: both of its
    length, 0 outside the group); ``contrast_influence`` the contrast's own u (one survey only)."""

    measure: str
    kind: str
    samples: str  # "one survey" | "independent samples"
    labels: tuple[str, str]
    values: np.ndarray
    vcov: np.ndarray
    estimate: float
    se: float
    influence: tuple[np.ndarray, np.ndarray]
    contrast_influence: np.ndarray | None
    confidence: float = 0.95

    @property
    def z(self) -> float:
        null = 1.0 if self.kind == "ratio" else 0.0
        return (self.estimate - null) / self.se if self.se > 0 else math.nan

    @property
    def p_value(self) -> float:
        """Two-sided p-value of no difference (ratio 1), normal approximation."""
        z = self.z
        return math.nan if math.isnan(z) else 2.0 * (1.0 - NormalDist().cdf(abs(z)))

    @property
    def ci(self) -> tuple[float, float]:
        q = NormalDist().inv_cdf(0.5 + self.confidence / 2)
        return self.estimate - q * self.se, self.estimate + q * self.se

    @property
    def covariance(self) -> float:
        return float(self.vcov[0, 1])

    def to_frame(self) -> pd.DataFrame:
        """One row per estimate (a, b) and one for the contrast."""
        sd = np.sqrt(np.clip(np.diag(self.vcov), 0.0, None))
        lo, hi = self.ci
        op = " - " if self.kind == "difference" else " / "
        return pd.DataFrame({
            "term": [self.labels[0], self.labels[1], op.join(self.labels)],
            "measure": [self.measure] * 3,
            "value": [float(self.values[0]), float(self.values[1]), self.estimate],
            "se": [float(sd[0]), float(sd[1]), self.se],
            "ci_low": [math.nan, math.nan, lo], "ci_high": [math.nan, math.nan, hi],
            "p_value": [math.nan, math.nan, self.p_value],
        })

    def __repr__(self) -> str:
        op = "-" if self.kind == "difference" else "/"
        lo, hi = self.ci
        return (f"Contrast[{self.measure}: {self.labels[0]} {op} {self.labels[1]}, {self.samples}]"
                f"({self.values[0]:.6g} {op} {self.values[1]:.6g} = {self.estimate:.6g}, se {self.se:.3g}, "
                f"{100 * self.confidence:g}% CI [{lo:.6g}, {hi:.6g}], p {self.p_value:.3g}, cov {self.covariance:.3g})")


# --------------------------------------------------------------------------------------- API
def group_contrast(y, group, a, b, measure: str = "gini", *, w=None, strata=None, psu=None, fpc=None,
                   design: Design | None = None, kind: str = "difference", line: str = "national",
                   poverty_line: float | None = None, relative_line: float | None = None,
                   convention: str | None = None, quantile_convention: str = "eurostat",
                   poor_if: str | None = None, lonely_psu: str = "fail", confidence: float = 0.95) -> Contrast:
    """Contrast of ``measure`` between the units with ``group == a`` and those with ``group == b`` of one
    survey (domains of the same design; module docstring).

    ``measure``: a catalogue name with parameters (``"gini"``, ``"arpr"``, ``"fgt:1"``, ...).
    ``poverty_line`` (absolute) or ``relative_line`` (fraction of the median) for measures that take a
    line (fgt, headcount, watts, ...); measures with their own fraction (arpr, rmpg) use it.
    ``convention``: the measure's own convention; ``quantile_convention`` as in ``prosperity.measure``.
    """
    y, w = _arrays(y, w)
    group = np.asarray(group)
    if group.shape != y.shape:
        raise ValueError(f"group has {group.size} values for {y.size} incomes; give one group label per row")
    kind, line = _check(kind, CONTRAST_KINDS, "kind"), _check(line, CONTRAST_LINES, "line")
    dz = design if design is not None else Design.build(y.size, strata=strata, psu=psu, fpc=fpc, lonely_psu=lonely_psu)
    if dz.n != y.size:
        raise ValueError(f"the design describes {dz.n} units but {y.size} incomes were given")
    spec, params = _parse(measure)
    masks = []
    for label in (a, b):
        m = group == label
        if not m.any():
            levels = ", ".join(map(str, list(dict.fromkeys(group.tolist()))[:8]))
            raise ValueError(f"no row has group {label!r}; the groups are {levels}")
        masks.append(m)
    if np.any(masks[0] & masks[1]):
        raise ValueError(f"groups {a!r} and {b!r} are the same rows; give two different groups")
    national = _National(y, w, quantile_convention)
    ests = [_domain_estimate(y, w, m, spec, params, national, line, poverty_line, relative_line, convention,
                             quantile_convention, poor_if) for m in masks]
    (va, ua), (vb, ub) = ests
    vcov = _vcov(dz, w, ua, ub)
    est, u_c = _combine(kind, va, vb, ua, ub)
    se = math.sqrt(max(dz.variance(w * u_c), 0.0))
    return Contrast(spec.label(params), kind, "one survey", (str(a), str(b)), np.array([va, vb]), vcov, est, se,
                    (ua, ub), u_c, confidence)


def sample_contrast(y_a, y_b, measure: str = "gini", *, w_a=None, w_b=None, strata_a=None, psu_a=None, fpc_a=None,
                    strata_b=None, psu_b=None, fpc_b=None, labels: tuple[str, str] = ("a", "b"),
                    kind: str = "difference", poverty_line: float | None = None, relative_line: float | None = None,
                    convention: str | None = None, quantile_convention: str = "eurostat", poor_if: str | None = None,
                    lonely_psu: str = "fail", confidence: float = 0.95) -> Contrast:
    """Contrast of ``measure`` between two independent surveys (e.g. two years): each with its own
    design and its own relative line; V(D) = V(a) + V(b) (module docstring)."""
    kind = _check(kind, CONTRAST_KINDS, "kind")
    spec, params = _parse(measure)
    vals, us, var = [], [], []
    for yy, ww, st, ps, fp in ((y_a, w_a, strata_a, psu_a, fpc_a), (y_b, w_b, strata_b, psu_b, fpc_b)):
        yy, ww = _arrays(yy, ww)
        dz = Design.build(yy.size, strata=st, psu=ps, fpc=fp, lonely_psu=lonely_psu)
        national = _National(yy, ww, quantile_convention)
        v, u = _domain_estimate(yy, ww, None, spec, params, national, "national", poverty_line, relative_line,
                                convention, quantile_convention, poor_if)
        vals.append(v)
        us.append(u)
        var.append(dz.variance(ww * u))
    vcov = np.diag(var)
    va, vb = vals
    if kind == "difference":
        est, v_c = va - vb, var[0] + var[1]
    else:
        if vb == 0:
            raise ValueError(f"the ratio is undefined: {spec.label(params)} of {labels[1]!r} is 0")
        est = va / vb
        v_c = (var[0] + est * est * var[1]) / (vb * vb)
    return Contrast(spec.label(params), kind, "independent samples", (str(labels[0]), str(labels[1])),
                    np.array(vals), vcov, est, math.sqrt(max(v_c, 0.0)), (us[0], us[1]), None, confidence)


def contrast(data, income: str, measure: str = "gini", *, by: str, groups: tuple, weight: str | None = None,
             strata: str | None = None, psu: str | None = None, fpc: str | None = None, **options) -> Contrast:
    """:func:`group_contrast` on the columns of a data frame (or dict of arrays): ``by`` the group
    column, ``groups`` the two labels (a, b); other options as :func:`group_contrast`.

    >>> import prosperity
    >>> e = prosperity.load_dataset("eusilc")
    >>> c = contrast(e, "eqIncome", "arpr", by="rb090", groups=("female", "male"), weight="rb050",
    ...              strata="db040", psu="rb030")
    >>> round(c.estimate, 4), round(c.se, 4)
    (0.0471, 0.0059)
    """
    if len(tuple(groups)) != 2:
        raise ValueError(f"groups must name two groups of {by!r} (a, b), got {groups!r}")
    cols = {}
    for role, name in (("income", income), ("by", by), ("weight", weight), ("strata", strata), ("psu", psu), ("fpc", fpc)):
        if name is None:
            continue
        try:
            cols[role] = np.asarray(data[name])
        except (KeyError, IndexError):
            known = ", ".join(map(str, list(getattr(data, "columns", data))[:20]))
            raise ValueError(f"{role} column {name!r} is not in the data; its columns are {known}") from None
    a, b = tuple(groups)
    return group_contrast(cols["income"], cols["by"], a, b, measure, w=cols.get("weight"), strata=cols.get("strata"),
                          psu=cols.get("psu"), fpc=cols.get("fpc"), **options)


# ---------------------------------------------------------------------------------- internals
class _National:
    """The whole sample, sorted once; its median and the median's u (input order) for national lines."""

    def __init__(self, y, w, convention):
        from ..measures.estimate import SortedIncome

        self.s = SortedIncome.from_arrays(y, w)
        self.convention = convention
        self._u = None

    @property
    def median(self) -> float:
        from ..measures.quantiles import quantile_sorted

        return quantile_sorted(self.s, 0.5, self.convention)

    def u_median(self) -> np.ndarray:
        if self._u is None:
            from ..measures.quantiles import quantile_influence

            self._u = self.s.unsort(quantile_influence(self.s, 0.5, self.median))
        return self._u


def _domain_estimate(y, w, mask, spec, params, national, line, poverty_line, relative_line, convention,
                     quantile_convention, poor_if):
    """(value, u over all rows in input order, 0 outside ``mask``) of one domain (None: every row)."""
    from ..measures.estimate import SortedIncome

    if mask is None:
        s, rows = national.s, None
    else:
        rows = np.flatnonzero(mask)
        s = SortedIncome.from_arrays(y[rows], w[rows])
    kw = dict(params)
    if spec.convention_kind == "quantile":
        kw["convention"] = convention or quantile_convention
    elif convention is not None:
        if spec.convention_kind is None:
            raise ValueError(f"measure {spec.name!r} has no conventions; leave convention unset")
        kw["convention"] = convention
    if poor_if is not None:
        if poor_if not in ("lt", "le"):
            raise ValueError(f"poor_if must be 'lt' (y < z) or 'le' (y <= z), got {poor_if!r}")
        if spec.poor_rule:
            kw["inclusive"] = poor_if == "le"
    scale = 0.0  # the line's own error: d theta/d line x scale x u_median(national)
    if spec.threshold == "line":
        if poverty_line is not None:
            kw["line"] = float(poverty_line)
        else:
            frac = 0.6 if relative_line is None else float(relative_line)
            if line == "national":
                kw["line"], scale = frac * national.median, frac
            else:
                from ..measures.quantiles import quantile_sorted

                kw["line"] = frac * quantile_sorted(s, 0.5, quantile_convention)
                scale = frac  # its own median's error, on the group's units (added below)
    elif spec.threshold == "own_fraction" and line == "national" and mask is not None:
        kw["line"], scale = params.get("fraction", 0.6) * national.median, params.get("fraction", 0.6)
    elif spec.threshold == "median_band" and line == "national" and mask is not None:
        kw["median"], scale = national.median, 1.0
    try:
        est = spec.kernel(s, influence=True, **kw)
    except ValueError as exc:
        where = "the whole sample" if mask is None else f"{rows.size:,} rows of the group"
        raise ValueError(f"{spec.label(params)} cannot be computed for {where}: {exc}") from None
    if est.influence is None:
        raise ValueError(f"measure {spec.name!r} has no linearized variable, so no linearized contrast")
    u = np.zeros(y.size)
    u_own = s.unsort(est.influence)
    if rows is None:
        u[:] = u_own
    else:
        u[rows] = u_own
    d = est.line_derivative
    if scale and d:
        if line == "national" or spec.threshold != "line":
            u += d * scale * national.u_median()
        else:  # the group's own median: its u lives on the group's units
            from ..measures.quantiles import quantile_influence, quantile_sorted

            u_med = s.unsort(quantile_influence(s, 0.5, quantile_sorted(s, 0.5, quantile_convention)))
            if rows is None:
                u += d * scale * u_med
            else:
                u[rows] += d * scale * u_med
    return float(est.value), u


def _combine(kind, va, vb, ua, ub):
    if kind == "difference":
        return va - vb, ua - ub
    if vb == 0:
        raise ValueError("the ratio is undefined: the second group's estimate is 0")
    r = va / vb
    return r, (ua - r * ub) / vb


def _vcov(dz: Design, w, ua, ub) -> np.ndarray:
    n_psu = dz.psu_stratum.size
    ta = np.bincount(dz.psu, weights=w * ua, minlength=n_psu)
    tb = np.bincount(dz.psu, weights=w * ub, minlength=n_psu)
    va, vb = dz.variance_of_totals(ta), dz.variance_of_totals(tb)
    cov = 0.25 * (dz.variance_of_totals(ta + tb) - dz.variance_of_totals(ta - tb))
    return np.array([[va, cov], [cov, vb]])


def _parse(measure: str):
    from ..measures.registry import parse_measure

    return parse_measure(measure)


def _check(value, allowed, name):
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _arrays(y, w):
    """Incomes and weights, finite incomes, positive weights (the contrasts' domains need every row)."""
    from ..measures.estimate import income_weight_arrays

    y, w = income_weight_arrays(y, w, require_finite=True)
    bad = np.flatnonzero(~(w > 0))
    if bad.size:
        raise ValueError(f"{bad.size} weight(s) are not positive (first at row {int(bad[0])}); drop those rows or fix the weights")
    return y, w
