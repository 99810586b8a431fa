"""One entry point for every reconstruction method, with PIP's automatic choice.

``fit_grouped(table, method)`` with ``method`` one of

- ``gq``, ``beta``                          parametric Lorenz curves (Datt 1998)
- ``gpinter``                               generalized Pareto interpolation (Blanchet et al. 2017)
- ``histogram``                             mean-split histogram
- ``lognormal``, ``singh_maddala``, ``dagum``, ``gb2``   parametric distributions
- ``auto``                                  PIP's rule: GQ or Beta by validity then SSE, chosen
                                            separately for distributional and poverty statistics;
                                            when neither is valid, generalized Pareto
                                            interpolation (or the histogram) instead of PIP's NA
- ``all``                                   a list with every method that applies to the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .distribution import DistributionMeasures, FittedDistribution, distribution_measures, jsonable
from .gpinter import GeneralizedParetoInterpolation
from .histogram import MeanSplitHistogram
from .lorenz import BetaLorenz, GeneralQuadraticLorenz, select_lorenz
from .parametric import fit_parametric
from .table import GroupedDataError, GroupedTable

METHODS = ("gq", "beta", "gpinter", "histogram", "lognormal", "singh_maddala", "dagum", "gb2")


@dataclass(frozen=True)
class GroupedFit:
    """A fitted method: the distribution (and, for ``auto``, the one used for poverty statistics)."""

    method: str
    distribution: FittedDistribution
    poverty_distribution: FittedDistribution | None = None
    diagnostics: dict = field(default_factory=dict)

    @property
    def parameters(self) -> dict:
        return self.distribution.parameters

    def measures(self, poverty_line=None, **kwargs) -> DistributionMeasures:
        m = distribution_measures(self.distribution, poverty_line,
                                  poverty_dist=self.poverty_distribution or self.distribution, **kwargs)
        return DistributionMeasures(self.method, m.values, m.settings, m.notes)

    def to_dict(self, poverty_line=None, **kwargs) -> dict:
        """``{"method", "parameters", "diagnostics", "measures"}`` (JSON-ready)."""
        diag = dict(self.distribution.diagnostics)
        diag.update(self.diagnostics)
        params = dict(self.distribution.parameters)
        if self.poverty_distribution is not None and self.poverty_distribution is not self.distribution:
            params = {"distributional": params, "poverty": dict(self.poverty_distribution.parameters)}
        measures = self.measures(poverty_line, **kwargs)
        if measures.notes:
            diag["measure_notes"] = measures.notes
        return jsonable({"method": self.method, "parameters": params, "diagnostics": diag,
                         "measures": measures.values})

    def __repr__(self) -> str:
        return f"GroupedFit(method={self.method!r}, distribution={self.distribution!r})"


def _fit_one(table: GroupedTable, method: str, mean: float | None) -> FittedDistribution:
    if method == "gq":
        return GeneralQuadraticLorenz.fit(table, mean)
    if method == "beta":
        return BetaLorenz.fit(table, mean)
    if method == "gpinter":
        return GeneralizedParetoInterpolation.fit(table)
    if method == "histogram":
        return MeanSplitHistogram.fit(table)
    if method in ("lognormal", "singh_maddala", "dagum", "gb2"):
        return fit_parametric(table, method, mean=mean)
    raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS + ('auto', 'all'))}")


def _fallback(table: GroupedTable, mean: float | None) -> FittedDistribution:
    for method in ("gpinter", "histogram", "lognormal"):
        try:
            dist = _fit_one(table, method, mean)
        except GroupedDataError:
            continue
        if dist.diagnostics.get("quantile_increasing", True):
            return dist
    return _fit_one(table, "histogram", mean)


def fit_grouped(table: GroupedTable, method: str = "auto", *, mean: float | None = None,
                poverty_line: float | None = None):
    """Reconstruct the distribution behind ``table`` (see the module docstring for ``method``).

    ``mean`` overrides the table's overall mean (the scale of Lorenz-curve fits); ``poverty_line``
    lets ``auto`` choose the poverty fit by validity and SSE up to the headcount.
    """
    method = method.lower()
    if mean is not None and table.overall_mean is None and table.mean is None:
        table = GroupedTable.from_arrays(table.population_share, income_share=table.income_share,
                                         threshold=table.threshold, overall_mean=mean, unit=table.unit)
    notes = list(table.notes)
    bounds = {}
    if table.has_shares:
        from .bounds import grouped_bounds

        b = grouped_bounds(table)
        bounds = {"gini_bounds": [b.gini_low, b.gini_high],
                  "gini_bounds_note": "the interval of Ginis the table allows (Gastwirth 1972: everyone at the group "
                                      "mean; the most unequal split inside the groups" +
                                      (" within their thresholds)" if b.thresholds_used else ")")}
    if method == "all":
        out = []
        for m in METHODS:
            try:
                out.append(GroupedFit(m, _fit_one(table, m, mean),
                                      diagnostics={**({"table_notes": notes} if notes else {}), **bounds}))
            except GroupedDataError as exc:
                out.append(GroupedFit(m, _Unavailable(m, str(exc))))
        return out
    if method != "auto":
        return GroupedFit(method, _fit_one(table, method, mean),
                          diagnostics={**({"table_notes": notes} if notes else {}), **bounds})
    gq = beta = None
    try:
        gq, beta = GeneralQuadraticLorenz.fit(table, mean), BetaLorenz.fit(table, mean)
    except GroupedDataError as exc:
        notes.append(f"GQ/Beta not fitted: {exc}")
    diag: dict = {**({"table_notes": notes} if notes else {}), **bounds}
    if gq is None:
        dist = _fallback(table, mean)
        diag.update(selected_for_distribution=dist.method, selected_for_poverty=dist.method)
        return GroupedFit("auto", dist, dist, diag)
    sel = select_lorenz(gq, beta, poverty_line)
    diag.update(gq_valid=gq.diagnostics["is_valid"], beta_valid=beta.diagnostics["is_valid"],
                gq_sse=gq.sse(), beta_sse=beta.sse(), distribution_reason=sel["distributional_reason"])
    dist = sel["distributional"]
    if dist is None:
        dist = _fallback(table, mean)
        diag["distribution_reason"] += f"; using {dist.method} instead"
    pov = dist
    if poverty_line is not None:
        diag["poverty_reason"] = sel["poverty_reason"]
        diag["gq_poverty"], diag["beta_poverty"] = sel["gq_poverty"], sel["beta_poverty"]
        pov = sel["poverty"]
        if pov is None:
            pov = dist if dist.method not in ("gq", "beta") else _fallback(table, mean)
            diag["poverty_reason"] += f"; using {pov.method} instead"
    diag.update(selected_for_distribution=dist.method, selected_for_poverty=pov.method)
    return GroupedFit("auto", dist, pov, diag)


class _Unavailable(FittedDistribution):
    """Placeholder in ``method="all"`` results for a method the table does not support."""

    def __init__(self, method: str, reason: str):
        self.method, self.mean = method, float("nan")
        self.parameters, self.diagnostics = {}, {"unavailable": reason}

    def quantile(self, p):  # pragma: no cover - never evaluated
        raise GroupedDataError(self.diagnostics["unavailable"])

    def lorenz(self, p):  # pragma: no cover
        raise GroupedDataError(self.diagnostics["unavailable"])


def fit_to_dict(fit: GroupedFit, poverty_line=None, **kwargs) -> dict:
    if isinstance(fit.distribution, _Unavailable):
        return {"method": fit.method, "parameters": {}, "diagnostics": fit.distribution.diagnostics, "measures": {}}
    try:
        return fit.to_dict(poverty_line, **kwargs)
    except ValueError as exc:  # e.g. line outside this method's support: report, do not abort the others
        d = fit.to_dict(None, **kwargs)
        d["diagnostics"]["poverty_error"] = str(exc)
        return d
