"""Sampling uncertainty of a reform's effects when the population is a survey sample.

A static microsimulation applies the rules to every sampled household; the reform's effect on a
measure, Delta = theta(reform incomes) - theta(baseline incomes), is then an estimator computed on the
same sample twice, and its sampling error comes from the survey design (Goedemé, Van den Bosch,
Salanauskaite & Verbist 2013, "Testing the statistical significance of microsimulation results", IJM 6(3)).

Two methods, both respecting strata and primary sampling units (PSUs):

``method="linearization"`` (default)
    Each measure's linearized variable u (Deville 1999; the package's kernels, the ones checked against
    R convey and laeken) is computed on the baseline and on the reform incomes, in the households'
    order; the change has u_Delta = u_reform - u_baseline (the two estimators are paired: same units,
    same weights, so their covariance enters through the difference). Relative poverty lines are anchored
    at f x the *baseline* median, so the line's own error enters both terms:
    u = u(z fixed) + dP/dz * f * u_median(baseline). The variance of sum w u_Delta is the
    with-replacement (ultimate cluster) estimator of :class:`prosperity.variance.Design`:
    V = sum_h (1 - f_h) n_h/(n_h - 1) sum_i (t_hi - t_h.)^2.

``method="bootstrap"`` / ``"rescaled_bootstrap"``
    PSUs resampled within strata (Rao & Wu 1988 for the rescaled variant), every measure of both
    scenarios re-estimated on each replicate's weights, anchored lines recomputed from the replicate's
    baseline median; the SE is the standard deviation over replicates, the interval is percentile.

What is held fixed (written in docs/simulate.md): the household incomes of both scenarios are those
of the full-sample simulation (the dibao take-up calibration, the net-to-gross imputation and any
budget-neutral rate are not re-solved per replicate), the World Bank lines and the NBS absolute band.
The fiscal cost is a total: u = the household's change in disposable income.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..measures.entropy import theil_estimate
from ..measures.estimate import Estimate, SortedIncome
from ..measures.gini import gini_sorted
from ..measures.middle import middle_absolute_sorted, middle_relative_sorted
from ..measures.poverty import arpr_sorted, fgt_sorted
from ..measures.quantiles import quantile_estimate, quantile_sorted
from ..measures.shares import qsr_estimate
from ..variance.bootstrap import BOOTSTRAP_METHODS, replicate_ci, replicate_multipliers
from ..variance.design import Design
from .outputs import RELATIVE_LINES, _measures, _sorted_from, scenario_lines
from .population import PopulationError

METHODS = ("linearization",) + BOOTSTRAP_METHODS


@dataclass(frozen=True)
class ReformUncertainty:
    """Standard errors and intervals of a reform's effects; ``.to_frame()`` gives one row per measure:
    measure, baseline, reform, change, se_baseline, se_reform, se_change, ci_low, ci_high (of the
    change), significant (the interval excludes 0; a change within 1e-12 of the values, i.e. rounding,
    is set to 0 with its SE and interval, and never significant)."""

    table: pd.DataFrame
    method: str
    confidence: float
    n_households: int
    n_psu: int
    n_strata: int
    replicates: int | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        how = self.method + (f", {self.replicates} replicates" if self.replicates else "")
        head = (f"ReformUncertainty({how}; {self.n_households} households, {self.n_psu} PSUs in "
                f"{self.n_strata} strata; {self.confidence:.0%} intervals)")
        cols = ["measure", "change", "se_change", "ci_low", "ci_high", "significant"]
        return head + "\n" + self.table[cols].to_string(index=False, float_format=lambda v: f"{v:.6g}")


def _household_design_values(values, pop, what: str) -> np.ndarray:
    """Per-household values from a per-household array (length H) or a per-person array (length P,
    constant within households, in the person order of the population's frame sorted by household)."""
    v = np.asarray(values)
    if v.ndim != 1:
        raise PopulationError(f"{what}: give one value per household ({pop.n_households}) or per person ({pop.n_persons})")
    if v.size == pop.n_households:
        return v
    if v.size == pop.n_persons:
        first = np.flatnonzero(np.concatenate([[True], pop.person_household[1:] != pop.person_household[:-1]]))
        per_household = v[first]
        differs = per_household[pop.person_household] != v
        if differs.any():
            rows = np.flatnonzero(differs)
            raise PopulationError(f"{what}: differs between members of the same household in {rows.size} person row(s) "
                                  f"(first: {', '.join(map(str, rows[:5]))}); a household belongs to one PSU and stratum")
        return per_household
    raise PopulationError(f"{what}: {v.size} values given; the population has {pop.n_households} households and "
                          f"{pop.n_persons} persons (give one value per household or per person)")


def household_design(pop, *, strata=None, psu=None, fpc=None, lonely_psu: str = "fail") -> Design:
    """The survey design of the population's households (units = households; no PSU given = each
    household its own PSU)."""
    args = {}
    for name, values in (("strata", strata), ("psu", psu), ("fpc", fpc)):
        if values is not None:
            args[name] = _household_design_values(values, pop, name)
    try:
        return Design.build(pop.n_households, lonely_psu=lonely_psu, **args)
    except ValueError as exc:
        raise PopulationError(f"survey design: {exc}") from None


def _estimates(y_pc, pw, lines, anchored, nbs_band, s: SortedIncome, median_u) -> dict[str, Estimate]:
    """Every summary measure of :func:`prosperity.simulate.outputs._measures` with its linearized
    variable in the households' (input) order. ``anchored``: names of the lines that are a fraction of
    the baseline median (their error is added through ``median_u`` = u of the baseline median)."""
    un = s.unsort
    out = {"mean_income_pc": None}
    mu = float(np.dot(s.y, s.w) / s.total)
    out["mean_income_pc"] = Estimate(mu, (np.asarray(y_pc, float) - mu) / s.total)
    med = quantile_estimate(s, 0.5)
    out["median_income_pc"] = Estimate(med.value, un(med.influence))
    g = gini_sorted(s)
    out["gini"] = Estimate(g.value, un(g.influence))
    try:
        out["theil"] = theil_estimate(y_pc, pw)
    except ValueError:
        out["theil"] = Estimate(float("nan"), np.full(len(pw), np.nan))
    q = qsr_estimate(s)
    out["s80_s20"] = Estimate(q.value, un(q.influence))
    for name, z in lines.items():
        for alpha, label in ((0.0, "headcount"), (1.0, "gap")):
            e = fgt_sorted(s, z, alpha)
            u = un(e.influence)
            if name in anchored:
                u = u + e.line_derivative * anchored[name] * median_u
            out[f"poverty_{label}_{name}"] = Estimate(e.value, u, e.line_derivative)
    a = arpr_sorted(s)
    out["arpr_60pct_own_median"] = Estimate(a.value, un(a.influence))
    m = middle_absolute_sorted(s, lower=nbs_band[0], upper=nbs_band[1])
    out["middle_income_share_nbs_absolute"] = Estimate(m.value, un(m.influence))
    r = middle_relative_sorted(s)
    out["middle_income_share_relative_75_200"] = Estimate(r.value, un(r.influence))
    return out


def reform_uncertainty(sim, reform=None, *, strata=None, psu=None, fpc=None, lonely_psu: str = "fail",
                       method: str = "linearization", replicates: int = 200, seed: int = 0,
                       confidence: float = 0.95, state: dict | None = None) -> ReformUncertainty:
    """Standard errors of the baseline, the reform and the change for every summary measure of
    :meth:`Simulation.run` (same names, same values) and of the net fiscal cost (bn yuan).

    ``strata``/``psu``/``fpc``: the survey design, one value per household or per person (persons in
    household order, as the population frame sorted by ``household_id``). ``state``: an evaluated
    reform state (``sim.evaluate(reform)``) to reuse; otherwise the reform is evaluated here. ``reform``
    may be the :class:`~prosperity.simulate.engine.RunState` kept by ``sim.run(..., keep_state=True)``:
    its reform (budget-neutral value solved) and state are used, nothing is solved or evaluated again.
    """
    from .engine import RunState

    if isinstance(reform, RunState):
        reform, state = reform.reform, reform.state if state is None else state
    if method not in METHODS:
        raise ValueError(f"method={method!r}: choose one of {', '.join(METHODS)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence!r}: give a level strictly between 0 and 1, e.g. 0.95")
    if method != "linearization" and not (isinstance(replicates, (int, np.integer)) and 2 <= replicates <= 100_000):
        raise ValueError(f"replicates={replicates!r}: give a whole number of bootstrap replicates in 2..100000 (e.g. 200)")
    pop = sim.population
    design = household_design(pop, strata=strata, psu=psu, fpc=fpc, lonely_psu=lonely_psu)
    base = sim.baseline
    state = state if state is not None else sim.evaluate(reform)
    pw, w = pop.persons_weight, pop.household_weight
    y_b, y_r = base["disposable_pc"], state["disposable_pc"]
    change_h = state["disposable"] - base["disposable"]

    s_b = SortedIncome.from_arrays(y_b, pw)
    lines, anchored, band = _lines(sim, s_b)
    if method == "linearization":
        med_u = s_b.unsort(quantile_estimate(s_b, 0.5).influence)
        e_b = _estimates(y_b, pw, lines, anchored, band, s_b, med_u)
        s_r = _sorted_from(y_r, pw, s_b.order)
        e_r = _estimates(y_r, pw, lines, anchored, band, s_r, med_u)
        rows = []
        for name in e_b:
            vb, vr = e_b[name].value, e_r[name].value
            se = [design.se(pw * e.influence) for e in (e_b[name], e_r[name])]
            se_c = design.se(pw * (e_r[name].influence - e_b[name].influence))
            rows.append((name, vb, vr, vr - vb, se[0], se[1], se_c))
        cost = float(np.dot(w, change_h)) / 1e9
        rows.append(("net_fiscal_cost_bn", 0.0, cost, cost, 0.0, design.se(w * change_h) / 1e9, design.se(w * change_h) / 1e9))
        table = pd.DataFrame(rows, columns=["measure", "baseline", "reform", "change", "se_baseline", "se_reform", "se_change"])
        z = _normal_quantile(confidence)
        table["ci_low"] = table["change"] - z * table["se_change"]
        table["ci_high"] = table["change"] + z * table["se_change"]
        reps = None
    else:
        table = _bootstrap(sim, y_b, y_r, change_h, pw, w, design, method, replicates, seed, confidence)
        reps = int(replicates)
    # a change within rounding of the two scenarios' values (e.g. a band no one crosses) is no change:
    # its "interval" is rounding noise, never significant
    scale = np.maximum(np.abs(table["baseline"]), np.abs(table["reform"])).to_numpy()
    negligible = np.abs(table["change"].to_numpy()) <= 1e-12 * np.where(scale > 0, scale, 1.0)
    table.loc[negligible, ["change", "se_change", "ci_low", "ci_high"]] = 0.0
    table["significant"] = ~negligible & ((table["ci_low"] > 0) | (table["ci_high"] < 0))
    return ReformUncertainty(table, method, confidence, pop.n_households, int(design.psu_stratum.size),
                             int(design.n_h.size), reps)


def _normal_quantile(confidence: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + confidence / 2))


def _lines(sim, s_b: SortedIncome):
    """The lines and band of :func:`build_result` (:func:`scenario_lines`) and which lines are anchored
    at a fraction of the baseline median."""
    lines, band = scenario_lines(sim.year, quantile_sorted(s_b, 0.5))
    return lines, {f"rel{int(f * 100)}": f for f in RELATIVE_LINES}, band


def _bootstrap(sim, y_b, y_r, change_h, pw, w, design, method, replicates, seed, confidence) -> pd.DataFrame:
    s_full = SortedIncome.from_arrays(y_b, pw)
    lines, anchored, band = _lines(sim, s_full)
    full_b, _ = _measures(y_b, pw, lines, band, None)
    full_r, _ = _measures(y_r, pw, lines, band, None, start_order=s_full.order)
    names = list(full_b)
    values = np.empty((3, len(names) + 1, replicates))  # baseline, reform, change
    done = 0
    wb_lines = {k: v for k, v in lines.items() if k not in anchored}
    for mult in replicate_multipliers(design.psu_stratum, design.fpc_h, replicates=replicates, method=method, seed=seed):
        for m in mult:
            k = m[design.psu]
            keep = k > 0  # households not drawn in this replicate carry weight 0: leave them out
            pw_k = (pw * k)[keep]
            yb, yr = y_b[keep], y_r[keep]
            s_k = SortedIncome.from_arrays(yb, pw_k)
            med = quantile_sorted(s_k, 0.5)
            lines_k = dict(wb_lines) | {name: f * med for name, f in anchored.items()}
            mb, _ = _measures(yb, pw_k, lines_k, band, None)
            mr, _ = _measures(yr, pw_k, lines_k, band, None, start_order=s_k.order)
            values[0, :-1, done] = [mb[n] for n in names]
            values[1, :-1, done] = [mr[n] for n in names]
            values[0, -1, done] = 0.0
            values[1, -1, done] = float(np.dot((w * k)[keep], change_h[keep])) / 1e9
            done += 1
    values[2] = values[1] - values[0]
    sd = np.nanstd(values, axis=-1, ddof=1)
    lo, hi = replicate_ci(values[2], confidence)
    cost = float(np.dot(w, change_h)) / 1e9
    table = pd.DataFrame({
        "measure": names + ["net_fiscal_cost_bn"],
        "baseline": [full_b[n] for n in names] + [0.0],
        "reform": [full_r[n] for n in names] + [cost],
    })
    table["change"] = table["reform"] - table["baseline"]
    table["se_baseline"], table["se_reform"], table["se_change"] = sd[0], sd[1], sd[2]
    table["ci_low"], table["ci_high"] = lo, hi
    return table
