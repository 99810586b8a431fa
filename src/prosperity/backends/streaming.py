"""Exact measures and linearized standard errors over a stream of pieces, for the whole sample and
every group of a breakdown at once, in at most three passes (five with Sen, SST, RMPG or the median of
the poor: :mod:`.streaming_poverty`; more with the rank-based measures of :mod:`.streaming_inequality`).

The estimators are those of the in-memory kernels (``prosperity.measures``, laeken/Eurostat
conventions), rewritten so that no pass holds more than one piece of the data. A *domain* is the whole
sample or one group of a breakdown (``by=``); every row belongs to the whole sample and to one group of
each breakdown, so one pass serves every table:

- pass 1, any order: per domain the totals N = sum w, Y = sum w y, sum w y^a, sum w y ln y, ... and
  per (domain, PSU) the totals of every *basis* term of the order-free measures' linearized variables
  (decomposable measures: partial sums by group code);
- pass 2, ascending income (only when a rank-based measure is asked): per domain the running sums
  C_k = sum_{j<=k} w_j and Ycum_k = sum_{j<=k} w_j y_j carried from piece to piece (per-group sorted
  runs cut from the one global sort), the Gini's sums, the exact weighted quantiles (j = min{j : C_j >=
  pN}, Eurostat's average with the next unit of the same group when C_j = pN) and the Lorenz
  boundaries;
- pass 3, any order (only when a threshold depends on a quantile): the indicator terms 1{y <= q},
  y 1{y <= q}, the poverty terms at a relative line, the middle-class band and the kernel densities
  f(x), now that the thresholds are known;
- passes 4 (ascending) and 5 (any order), only for :mod:`.streaming_poverty`'s measures: rank terms at a
  line known after pass 2 (Sen's Gini of the poor, SST), the medians of the poor, then their
  indicators and densities.
- then a further ascending pass for S-Gini, Zenga, Wolfson, Esteban-Ray (:mod:`.streaming_inequality`):
  running sums that need each domain's final N; with every row its own PSU, one more sorted pass forms
  t = w u per row.

Linearized variables as sums of bases with coefficients known at the end: u_k = sum_i c_i b_i(k)
(Deville 1999; the formulas of the kernels' docstrings), e.g.

    mean:        u = (y - mu) / N                                   bases y, 1
    GE(a):       u = [z^a - a R z + (a - 1) R] / (N a (a - 1)),  z = y / mu      bases y^a, y, 1
    Gini:        u = 2 (y C - Ycum + Y) / (N Y) - (G + 1) (1 / N + y / Y)       bases yC - Ycum, 1, y
    quantile p:  u = -(1{y <= q} - p) / (N f(q))                    bases 1{y<=q}, 1
    T(p):        u_T = y 1{y <= q} - q (1{y <= q} - p)               bases y 1{y<=q}, 1{y<=q}, 1
    S80/S20:     u = [y - u_T(.8) - QSR u_T(.2)] / T(.2)  (Palma: .9, .4; shares, Lorenz: quotient rule)
    FGT(a) at z: u = (1{y < z} g^a - P) / N + (dP/dz) c u_median(reference)   (relative line z = c m)

A group measured against the whole sample's line carries the line's own error as a term on the whole
sample's bases (Osier 2009), exactly as :func:`prosperity.measure` does.

Variance of a domain total sum w u: the with-replacement estimator over PSUs within strata, units
outside the domain contributing 0: the per-(domain, PSU) totals of w b_i are accumulated once,
t = sum_i c_i T_i, V = sum_h c_h [sum t^2 - (sum t)^2 / n_h] with c_h = n_h / (n_h - 1) (lonely PSUs
as ``lonely_psu``). When every row is its own PSU (no PSU column), the stream accumulates per
(domain, stratum) sum w b_i and sum (w b_i)(w b_j) for the pairs of bases a measure combines, and
V follows exactly from them (the in-memory ``_DomainVariance`` formula).

Kernel density for the SEs of quantile-based measures: Gaussian, h = 0.79 IQR N^(-1/5) per domain
(quartiles by the Eurostat rule), or h = sigma_w N^(-1/5) (convey's rule; sigma_w^2 = sum w (y - mu)^2 / N
summed in pass 2) under ``bandwidth="convey"`` and for convey's own estimators, over |x - y| within 8 h,
as :func:`prosperity.measures.quantiles.kernel_density_at`. A density key is ``point[@rule[@y]]``
(``@y``: the income-weighted S'(x) = (1/h) sum w y phi((x - y)/h) of convey's QSR linearization).

Memory: O(piece + breakdowns x PSUs x bases): the per-(domain, PSU) totals are kept for each PSU's home
group (:mod:`prosperity.backends.domain_totals`); the rows are never collected. A source with
``map_chunks`` (Dask) runs the order-free passes where its rows are and returns partial sums by code.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import streaming_conventions as _conv
from . import streaming_poverty as _pov
from . import streaming_inequality as _ineq
from ..measures.quantiles import SD_NOISE
from .comoments import add_piece, merge_states
from .domain_totals import DomainPSUTotals, domain_runs, merge_state, partial_pass
from .sources import BackendError, DesignCodes

# measures the streaming backends compute (names of the registry, prosperity.measures.catalog)
STREAM_MEASURES = ("mean", "median", "quantile", "qratio", "p90p10", "p90p50", "p50p10", "gini", "theil", "mld",
                   "ge", "atkinson", "fgt", "headcount", "pgap", "watts", "arpt", "arpr", "qsr", "palma", "share",
                   "lorenz", "glorenz", "middle_abs", "middle_abs_income", "middle_rel", "middle_rel_income",
                   *_pov.MEASURES) + _ineq.MEASURES
_TIE_RTOL = 1e-12
_KERNEL_REACH = 8.0
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_RATIOS = {"p90p10": (0.9, 0.1), "p90p50": (0.9, 0.5), "p50p10": (0.5, 0.1)}


# ============================================================================ request and rows


@dataclass(frozen=True)
class Layer:
    """One breakdown: the whole sample (``cols == ()``, one group) or the groups of ``cols``;
    ``gmap[cell]`` is the group of each finest cell of the source (None for the whole sample)."""

    cols: tuple[str, ...]
    keys: tuple[tuple, ...]
    gmap: np.ndarray | None
    offset: int = 0  # index of the layer's first domain


@dataclass(frozen=True)
class StreamSpec:
    """What to estimate: ``measures`` as (label, registry name, parameters), the line and its rule."""

    measures: tuple[tuple[str, str, dict], ...]
    line_kind: str | None = None  # "absolute" | "relative" | None
    line_value: float | None = None  # absolute line
    relative_line: float = 0.6
    relative_to: str = "median"
    line_within_groups: bool = False
    inclusive: bool | None = None  # poor: y <= z (True), y < z (False), each measure's own (None)
    se: bool = True
    lonely_psu: str = "fail"
    conventions: dict = field(default_factory=dict)
    bandwidth: str | None = None  # every density's rule ("osier" | "convey"), None: each measure's own
    quantile_rule: str = "eurostat"  # the call's quantile rule (streaming_conventions.quantile_rule)


@dataclass
class StreamRow:
    layer: int
    group: int
    label: str
    value: float
    var: float
    n: int
    wsum: float
    line: float | None
    undefined: str | None = None


@dataclass
class StreamOutput:
    rows: list
    passes: int
    n: int
    national: dict  # whole-sample statistics used by lines: median, mean, line


# ============================================================================ bases


def _point_pass(pt: str) -> int:
    return 1 if pt.startswith("abs") or pt == "zabs" else _pov.point_pass(pt)


def _basis_pass(b: tuple) -> int:
    kind = b[0]
    if kind == "gini":
        return 2
    if kind in _ineq.KINDS:  # streaming_inequality's bases: centred ones in the third pass, running sums a sorted fourth
        return 4 if kind in _ineq.SORTED_KINDS else 3
    if kind in ("le", "lt", "yle", "ylt", "ydle", "ydlt"):
        return _point_pass(b[1])
    if kind in ("fgt", "fgtd", "watts", "poor"):
        return _point_pass(b[-1])
    if kind in ("band", "yband"):
        return max(_point_pass(b[1]), _point_pass(b[2]))
    if kind in _conv.KINDS:
        return 1
    return _pov.basis_pass(b)


def _basis_values(b: tuple, y: np.ndarray, x, w: np.ndarray | None = None) -> np.ndarray | float:
    """Values of basis ``b`` for the rows of a piece; ``x(pt)``: the threshold of point ``pt`` per row;
    ``w``: their weights (the bases of streaming_conventions)."""
    kind = b[0]
    if kind in _conv.KINDS:
        return _conv.basis_values(b, y, x, w)
    if kind == "one":
        return 1.0
    if kind in _ineq.KINDS:
        return _ineq.basis_values(b, y, x)
    if kind == "y":
        return y
    if kind == "pow":
        return y ** b[1]
    if kind == "ylny":  # y ln(y / K), K a fixed scale near the mean (less cancellation in u)
        k = x("K")
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / k), 0.0)
    if kind == "lny":  # ln(y / K)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(y / x("K"))
    if kind == "le":
        return (y <= x(b[1])).astype(np.float64)
    if kind == "lt":
        return (y < x(b[1])).astype(np.float64)
    if kind == "yle":
        return np.where(y <= x(b[1]), y, 0.0)
    if kind == "ylt":
        return np.where(y < x(b[1]), y, 0.0)
    if kind == "ydle":  # (y - q) 1{y <= q}: u_T's indicator part in one term (no cancellation between two)
        q = x(b[1])
        return np.where(y <= q, y - q, 0.0)
    if kind == "ydlt":
        q = x(b[1])
        return np.where(y < q, y - q, 0.0)
    if kind in ("fgt", "fgtd", "watts", "poor"):
        incl, z = b[-2], x(b[-1])
        poor = (y <= z) if incl else (y < z)
        if kind == "poor":
            return poor.astype(np.float64)
        if kind == "watts":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(poor, np.log(z / np.where(poor, y, 1.0)), 0.0)
        a = b[1]
        g = 1.0 - y / z
        if kind == "fgt":
            return poor.astype(np.float64) if a == 0 else np.where(poor, np.maximum(g, 0.0) ** a, 0.0)
        keep = poor & (g > 0) if a < 1 else poor  # g^(a-1) is infinite at g = 0 when a < 1
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(keep, np.where(keep, g, 1.0) ** (a - 1.0) * (y / z), 0.0)
    if kind == "band":
        return ((y >= x(b[1])) & (y < x(b[2]))).astype(np.float64)
    if kind == "yband":
        return np.where((y >= x(b[1])) & (y < x(b[2])), y, 0.0)
    return _pov.basis_values(b, y, x)


# ============================================================================ what each measure needs


def _poor_rule(name: str, inclusive: bool | None) -> bool:
    return bool(inclusive) if inclusive is not None and name in ("fgt", "headcount", "pgap", "watts", "arpr") else False


class _Needs:
    """Per measure: the bases (own domain / reference domain), quantiles, Lorenz boundaries, points and
    densities it needs; filled once before the passes."""

    def __init__(self, spec: StreamSpec):
        self.spec = spec
        self.own: set = {("one",), ("y",)}
        self.ref: set = set()  # bases the line's own error needs on the reference domain
        self.blocks: list[tuple[frozenset, frozenset]] = []  # (own bases, ref bases) combined by one measure
        self.quantiles: set = set()
        self.lorenz: set = set()
        self.points: set = set()  # threshold points whose per-domain value is set after pass 2 (or at start)
        self.densities: set = set()  # density keys: point[@rule[@y]] (density_rule)
        self.gini = False
        self.poverty = None  # streaming_poverty.Later: the measures of streaming_poverty, passes 4-5
        self.sorted3: set = set()  # bases of running sums over the sorted fourth pass (streaming_inequality)
        for _, name, params in spec.measures:
            own, ref = self._measure(name, params)
            self.own |= own
            self.ref |= ref
            self.blocks.append((frozenset(own), frozenset(ref)))
        self.rules = {density_rule(k, spec) for k in self.densities}
        if "osier" in self.rules:
            self.quantiles |= {0.25, 0.75}

    def _line_ref(self, which: str) -> set:
        """Bases of u_which (median or mean) on the reference domain, for a line's own error."""
        if which == "median":
            self.quantiles.add(0.5)
            self.points.add("q0.5")
            if self.spec.se:
                self.densities.add("q0.5")
            return {("le", "q0.5"), ("one",)}
        return {("y",), ("one",)}

    def _share_total(self, p: float, convention: str) -> set:
        if p in (0.0, 1.0):
            return {("y",)}
        if convention == "fractional":
            self.lorenz.add(p)
            pt = f"L{p!r}"
            self.points.add(pt)
            return {("ydlt", pt), ("one",), ("y",)}
        self.quantiles.add(p)
        pt = f"q{p!r}"
        self.points.add(pt)
        return {("ydle", pt), ("yle", pt), ("one",), ("y",)}

    def _measure(self, name: str, p: dict) -> tuple[set, set]:
        spec, se = self.spec, self.spec.se
        converted = _conv.needs(self, name, p)  # a non-default convention's bases
        if converted is not None:
            return converted
        if _pov.handles(name, spec):
            self.poverty = self.poverty or _pov.Later(spec)
            return self.poverty.needs(self, name, p)
        base = {("y",), ("one",)}
        if name in _ineq.MEASURES:
            return _ineq.needs(self, name, p), set()
        if name == "mean":
            return base, set()
        if name in ("median", "quantile", "arpt"):
            q = 0.5 if name != "quantile" else float(p["p"])
            self.quantiles.add(q)
            self.points.add(f"q{q!r}")
            if se:
                self.densities.add(f"q{q!r}")
            return {("le", f"q{q!r}"), ("one",)}, set()
        if name in ("qratio", *_RATIOS):
            a, b = _RATIOS.get(name) or (float(p["p_top"]), float(p["p_bottom"]))
            out = {("one",)}
            for q in (a, b):
                self.quantiles.add(q)
                self.points.add(f"q{q!r}")
                if se:
                    self.densities.add(f"q{q!r}")
                out.add(("le", f"q{q!r}"))
            return out, set()
        if name == "gini":
            self.gini = True
            return {("gini",), ("one",), ("y",)}, set()
        if name in ("ge", "theil", "mld", "atkinson"):
            return base | self._entropy_bases(name, p), set()
        if name in ("qsr", "palma", "share", "lorenz", "glorenz"):
            conv = spec.conventions.get(name, "fractional" if name in ("lorenz", "glorenz") else "eurostat")
            ps = {"qsr": (0.8, 0.2), "palma": (0.9, 0.4)}.get(name) or (
                (float(p["p1"]), float(p["p2"])) if name == "share" else (float(p["p"]),))
            out = set(base)
            for q in ps:
                out |= self._share_total(q, conv)
            return out, set()
        if name in ("fgt", "headcount", "pgap", "watts"):
            incl = _poor_rule(name, spec.inclusive)
            pt = "zabs" if spec.line_kind == "absolute" else "z"
            self.points.add(pt)
            a = {"headcount": 0.0, "pgap": 1.0}.get(name, float(p.get("alpha", 0.0)))
            if name == "watts":
                own = {("watts", incl, pt), ("poor", incl, pt), ("one",)}
            else:
                own = {("fgt", a, incl, pt), ("one",)}
                if a != 0:
                    own.add(("fgtd", a, incl, pt))
            ref = set()
            if spec.line_kind != "absolute" and se:
                if a == 0 and name != "watts":
                    self.densities.add(pt)
                ref = self._line_ref(spec.relative_to)
            return own, ref
        if name == "arpr":
            f = float(p.get("fraction", 0.6))
            incl = _poor_rule(name, spec.inclusive)
            pt = f"t{f!r}"
            self.points.add(pt)
            ref = set()
            if se:
                self.densities.add(pt)
                ref = self._line_ref("median")
            self.quantiles.add(0.5)
            return {("fgt", 0.0, incl, pt), ("one",)}, ref
        if name in ("middle_abs", "middle_abs_income"):
            lo, hi = f"abs{float(p['lower'])!r}", f"abs{float(p['upper'])!r}"
            self.points |= {lo, hi}
            own = {("band", lo, hi), ("one",)} if name == "middle_abs" else {("yband", lo, hi), ("y",)}
            return own, set()
        if name in ("middle_rel", "middle_rel_income"):
            a, b = float(p["lower"]), float(p["upper"])
            lo, hi = f"m{a!r}", f"m{b!r}"
            self.points |= {lo, hi}
            self.quantiles.add(0.5)
            own = {("band", lo, hi), ("one",)} if name == "middle_rel" else {("yband", lo, hi), ("y",)}
            ref = set()
            if se:
                self.densities |= ({lo} if a > 0 else set()) | {hi}
                ref = self._line_ref("median")
            return own, ref
        raise AssertionError(name)  # pragma: no cover

    def _entropy_bases(self, name: str, p: dict) -> set:
        if name == "theil" or (name == "ge" and float(p["alpha"]) == 1.0):
            return {("ylny",)}
        if name == "mld" or (name == "ge" and float(p["alpha"]) == 0.0) or (name == "atkinson" and float(p["epsilon"]) == 1.0):
            return {("lny",)}
        if name == "ge":
            return {("pow", float(p["alpha"]))}
        return {("pow", 1.0 - float(p["epsilon"]))}

    @property
    def need_sorted(self) -> bool:
        # convey's bandwidth: sum w (y - mean)^2 in the sorted pass (e.g. FGT(0) at a mean-based line)
        return self.gini or bool(self.quantiles) or bool(self.lorenz) or "convey" in self.rules or bool(self.sorted3)


# ============================================================================ accumulation


class _Accumulator:
    """Totals of w x basis per (domain, PSU) -- or per (domain, stratum) with the pair sums when every
    row is its own PSU -- and per-domain scalars (N, Y, n, densities, the Gini's sum)."""

    def __init__(self, design: DesignCodes, n_domains: int, se: bool, layer_starts=(0,)):
        self.design = design
        self.unit = design.unit_psus
        self.P = design.n_groups if se else 1
        self.D = n_domains
        self.se = se
        self.T = DomainPSUTotals(n_domains, self.P, layer_starts)  # by each PSU's home group: a PSU is in few groups
        self.pairs: dict = {}

    def add(self, key, dom: np.ndarray, psu: np.ndarray, x) -> None:
        self.T.add(key, dom, psu, x)

    def add_pair(self, key, dom, h, xa, xb, lo: int, hi: int, ref: bool) -> None:
        """Merge one piece into the centred co-moments of x_a 1{k in d} and x_b per (domain, stratum)
        (:func:`.comoments.add_piece`)."""
        add_piece(self.pairs, key, self.D, self.P, dom, h, xa, xb, lo, hi, ref)

    def add_partial(self, part_sums: dict, part_pairs: dict) -> None:
        """Add a partition's accumulation (a Dask worker's :class:`.domain_totals.CodeSums`): its sums by
        code, and its co-moment states merged by Chan's rule (:func:`.comoments.merge_states`)."""
        self.T.add_code_sums(part_sums)
        merge_states(self.pairs, part_pairs)

    def total(self, basis, d: int) -> float:
        return self.T.total(basis, d)

    def totals(self, basis) -> np.ndarray:
        return self.T.totals(basis)

    def psu_totals(self, basis, d: int) -> np.ndarray:
        return self.T.psu_totals(basis, d)

    def pair(self, a, b, scope: str, d: int) -> np.ndarray:
        """Centred co-moment per stratum of domain d (see :meth:`add_pair`)."""
        key = (a, b, scope) if (a, b, scope) in self.pairs else (b, a, scope)
        return self.pairs[key][3].reshape(self.D, self.P)[d]


def _stratum_factors(design: DesignCodes, lonely_psu: str, strata_name: str | None):
    """(c_h, centre_h) of the with-replacement estimator, lonely PSUs as ``lonely_psu`` (the in-memory
    ``_DomainVariance`` rule: 'adjust' centres at 0 with factor 1, 'remove' / 'certainty' contribute 0)."""
    from ..io.errors import single_psu_strata

    n_h = design.n_h.astype(np.float64)
    single = n_h == 1
    if single.any() and lonely_psu == "fail":
        raise single_psu_strata([str(int(i)) for i in np.flatnonzero(single)[:5]], int(single.sum()), strata_name,
                                "unit" if design.unit_psus else "PSU")
    with np.errstate(divide="ignore", invalid="ignore"):
        c_h = np.where(single, 1.0 if lonely_psu == "adjust" else 0.0, n_h / np.maximum(n_h - 1, 1))
    centre = np.where(single, 0.0, 1.0 / np.maximum(n_h, 1))
    return c_h, centre


# ============================================================================ the passes


def evaluate_stream(source, spec: StreamSpec, layers: list[Layer] | None = None, *, strata_name: str | None = None,
                    income: str = "income", domain_check=None, ref_dom=None, check_cells=None) -> StreamOutput:
    """Every measure of ``spec`` for every domain of ``layers`` (default: the whole sample), values and
    variances, in at most three passes over ``source`` (see the module docstring). ``ref_dom``: the
    domain whose line each domain uses when lines are not within groups (default: domain 0, the whole
    sample; then the first layer may have a ``gmap``, e.g. one whole sample per bootstrap replicate);
    ``check_cells``: a mask over the source's cells whose rows ``domain_check`` counts (default: all).
    streaming_poverty's and streaming_inequality's measures add passes (module docstring)."""
    if layers is None:
        layers = [Layer((), ((),), None)]
    offset, laid = 0, []
    for L in layers:
        laid.append(Layer(L.cols, L.keys, L.gmap, offset))
        offset += len(L.keys)
    layers, D = laid, offset
    needs = _Needs(spec)
    design = source.design
    radix = getattr(source, "cell_radix", None)
    acc = _Accumulator(design, D, spec.se, [L.offset for L in layers])
    unit_pairs = spec.se and design.unit_psus
    all_bases = needs.own | needs.ref
    if layers[0].gmap is not None and ref_dom is None:  # pragma: no cover - internal
        raise AssertionError("the whole sample is the first layer")
    by_pass = {k: sorted((b for b in all_bases if _basis_pass(b) == k), key=repr) for k in range(1, 6)}
    # the pairs of bases a measure combines (unit PSUs): own x own and own x ref on every layer
    pair_list: dict[int, set] = {k: set() for k in range(1, 6)}
    if unit_pairs:
        for own, ref in needs.blocks:
            group = sorted((own | ref) - needs.sorted3, key=repr)  # (the sorted fourth pass: per row, below)
            for i, a in enumerate(group):
                for b in group[i:]:
                    k = max(_basis_pass(a), _basis_pass(b))
                    pair_list[k].add((a, b, "own"))
            for a in sorted(own, key=repr):
                for b in sorted(ref, key=repr):
                    pair_list[max(_basis_pass(a), _basis_pass(b))].add((a, b, "ref"))
    for k in pair_list:
        pair_list[k] = sorted(pair_list[k], key=repr)
        if k != 2 and any(a[0] == "gini" or b[0] == "gini" for a, b, _ in pair_list[k]):  # pragma: no cover
            raise AssertionError("the Gini basis pairs only in the sorted pass")

    points: dict[str, np.ndarray] = {}
    for pt in needs.points:
        if pt == "zabs":
            points[pt] = np.full(D, float(spec.line_value))
        elif pt.startswith("abs"):
            points[pt] = np.full(D, float(pt[3:]))

    def domains(cell):
        for L in layers:
            if L.gmap is None:
                yield L, None
            else:
                yield L, L.offset + L.gmap[cell]

    def piece(ch):
        y, w, code = ch["y"], ch["w"], np.asarray(ch["psu"], dtype=np.int64)
        if radix:
            cell = code // radix
            psu = code - cell * radix
        else:
            cell, psu = None, code
        if not spec.se:
            psu = np.zeros(y.size, np.int64)
        return y, w, cell, psu

    def accumulate(k, y, w, cell, psu, into):  # into: the accumulator (on a Dask worker, a partial one)
        whole_vals: dict = {}
        zeros = np.zeros(y.size, np.int64)
        for L, dom in domains(cell):
            d = zeros if dom is None else dom

            def x(pt, d=d):
                return points[pt][d]

            vals = {b: _basis_values(b, y, x, w) for b in by_pass[k] if b[0] != "gini"}
            if dom is None:
                whole_vals = vals
            for b, v in vals.items():
                into.add(b, d, psu, w * v if not np.isscalar(v) else w * float(v))
            if unit_pairs:
                for a, b, scope in pair_list[k]:
                    if scope == "ref" and dom is None:
                        continue
                    va = vals.get(a)
                    if va is None:
                        va = _basis_values(a, y, x, w)
                    src = whole_vals if scope == "ref" else vals
                    vb = src.get(b)
                    if vb is None:
                        vb = _basis_values(b, y, (lambda pt: points[pt][0]) if scope == "ref" else x, w)
                    into.add_pair((a, b, scope), d, psu, w * va, w * vb, L.offset, L.offset + len(L.keys), scope == "ref")

    # ---- pass 1: totals and the order-free bases
    st = {"n": 0, "N": np.zeros(D), "Y": np.zeros(D), "cnt": np.zeros(D, np.int64), "y_min": math.inf,
          "bad_y": 0, "bad_w": 0, "n_nonpos": 0, "n_neg": 0}

    def pass1(ch, into, st):  # no reference to the client's state: it may run on a Dask worker
        y, w, cell, psu = piece(ch)
        st["bad_y"] += int(np.count_nonzero(~np.isfinite(y)))
        st["bad_w"] += int(np.count_nonzero(~(np.isfinite(w) & (w > 0))))
        if st["bad_y"] or st["bad_w"] or not y.size:
            return
        st["n"] += y.size
        yc = y if check_cells is None else y[check_cells[cell]]  # the rows whose incomes the measures use
        st["y_min"] = min(st["y_min"], float(yc.min())) if yc.size else st["y_min"]
        if "K" not in points:  # the scale of y ln(y/K), ln(y/K): the first piece's mean income (exact powers of 2)
            points["K"] = np.full(D, _income_scale(float(np.mean(y))))
        st["n_nonpos"] += int(np.count_nonzero(yc <= 0))
        st["n_neg"] += int(np.count_nonzero(yc < 0))
        N, Y, cnt = st["N"], st["Y"], st["cnt"]
        for L, dom in domains(cell):
            if dom is None:
                N[0] += float(w.sum())
                Y[0] += float(np.dot(w, y))
                cnt[0] += y.size
            else:
                N += np.bincount(dom, weights=w, minlength=D)
                Y += np.bincount(dom, weights=w * y, minlength=D)
                cnt += np.bincount(dom, minlength=D)
        accumulate(1, y, w, cell, psu, into)

    mapped = getattr(source, "map_chunks", None)
    if mapped is not None:  # on the workers, one task a partition: the scale K fixed first
        points["K"] = np.full(D, _income_scale(source.income_mean()))
        for part_sums, part_pairs, part_st in mapped(partial_pass(pass1, acc.P, st, D)):
            acc.add_partial(part_sums, part_pairs)
            merge_state(st, part_st)
    else:
        for ch in source.chunks():
            pass1(ch, acc, st)
    n, N, Y, cnt, y_min = st["n"], st["N"], st["Y"], st["cnt"], st["y_min"]
    bad_y, bad_w, n_nonpos, n_neg = st["bad_y"], st["bad_w"], st["n_nonpos"], st["n_neg"]
    if bad_y or bad_w:
        raise BackendError(f"{bad_y} row(s) with a missing or non-finite income and {bad_w} row(s) with a zero, negative "
                           "or missing weight", hint="clean or filter them in the source (say how many you drop); "
                           "the streaming backends never drop rows silently")
    if n == 0:
        raise BackendError("the source has no rows")
    if domain_check is not None:
        domain_check(n_nonpos, n_neg, y_min)
    passes = 1

    # ---- pass 2: ascending incomes (Gini, quantiles, Lorenz boundaries), per-domain running sums
    qs = sorted(needs.quantiles)
    lps = sorted(needs.lorenz)
    quant = {p: np.full(D, np.nan) for p in qs}
    quant_lo = {p: np.full(D, np.nan) for p in qs}  # y_j without Eurostat's average: the inverse-CDF rule
    dev2 = np.zeros(D)  # sum w (y - mean)^2 per domain: convey's bandwidth
    found = {p: np.zeros(D, bool) for p in qs}
    pending = {p: {} for p in qs}
    lor_T = {p: np.full(D, np.nan) for p in lps}
    lor_q = {p: np.full(D, np.nan) for p in lps}
    lor_found = {p: np.zeros(D, bool) for p in lps}
    last = np.full(D, np.nan)
    last_c = np.zeros(D)  # C and Ycum before the last unit seen of each domain (Lorenz fallback j = n - 1)
    last_yc = np.zeros(D)
    s_gini = np.zeros(D)
    strict = _conv.search(spec.quantile_rule, qs, D)  # laeken's or the interpolated quantiles (None: Eurostat's)
    if needs.need_sorted:
        passes += 1
        carry_c = np.zeros(D)
        carry_yc = np.zeros(D)
        for ch in source.sorted_chunks():
            y, w, cell, psu = piece(ch)
            if not y.size:
                continue
            for L, dom in domains(cell):
                _, ds, (ys, ws, ps), starts, stops = domain_runs(dom, L.offset, y, w, psu)
                ends = stops - 1
                wy = ws * ys
                if "convey" in needs.rules:
                    dev = ys - (Y / N)[ds]
                    dev2 += np.bincount(ds, weights=ws * (dev * dev), minlength=D)
                cw = np.empty(ds.size)
                yc = np.empty(ds.size)
                for a, b in zip(starts.tolist(), (ends + 1).tolist()):  # each domain's run: its own cumulative sums
                    dd = ds[a]
                    # carried into the sum as its first term: the in-memory kernels' cumulative sums, bit for bit
                    cw[a:b] = np.cumsum(np.r_[carry_c[dd], ws[a:b]])[1:]
                    yc[a:b] = np.cumsum(np.r_[carry_yc[dd], wy[a:b]])[1:]
                first_of = {int(ds[s]): int(s) for s in starts}
                for p in qs:
                    for d in [d for d in pending[p] if d in first_of]:
                        quant[p][d] = 0.5 * (pending[p].pop(d) + float(ys[first_of[d]]))
                    target = p * N[ds]
                    hit = np.flatnonzero((cw >= target * (1 - _TIE_RTOL)) & ~found[p][ds])
                    if hit.size:
                        doms, first = np.unique(ds[hit], return_index=True)
                        for d, j in zip(doms.tolist(), hit[first].tolist()):
                            found[p][d] = True
                            quant_lo[p][d] = float(ys[j])
                            if abs(cw[j] - p * N[d]) <= _TIE_RTOL * N[d]:
                                if j + 1 < ds.size and ds[j + 1] == d:
                                    quant[p][d] = 0.5 * (float(ys[j]) + float(ys[j + 1]))
                                else:
                                    pending[p][d] = float(ys[j])
                            else:
                                quant[p][d] = float(ys[j])
                if strict is not None:
                    strict.update(ds, ys, ws, cw, N)
                for p in lps:
                    m = p * N[ds]
                    hit = np.flatnonzero((cw >= m) & ~lor_found[p][ds])
                    if hit.size:
                        doms, first = np.unique(ds[hit], return_index=True)
                        j = hit[first]
                        lor_found[p][doms] = True
                        lor_q[p][doms] = ys[j]
                        lor_T[p][doms] = (yc[j] - wy[j]) + (p * N[doms] - (cw[j] - ws[j])) * ys[j]
                if needs.gini:
                    # the centred terms w y (2 C - w - N), as the kernel: the rounding stays relative to G, not to 1
                    s_gini += np.bincount(ds, weights=wy * (2.0 * cw - ws - N[ds]), minlength=D)
                    acc.add(("gini",), ds, ps, ws * (ys * cw - yc))
                    if unit_pairs:
                        for a, b, scope in pair_list[2]:
                            if scope == "ref":
                                continue
                            va = ws * (ys * cw - yc) if a[0] == "gini" else ws * _basis_values(a, ys, None, ws)
                            vb = ws * (ys * cw - yc) if b[0] == "gini" else ws * _basis_values(b, ys, None, ws)
                            acc.add_pair((a, b, scope), ds, ps, va, vb, L.offset, L.offset + len(L.keys), False)
                e = ds[ends]
                last[e] = ys[ends]
                last_c[e] = cw[ends] - ws[ends]
                last_yc[e] = yc[ends] - wy[ends]
                carry_c[e] = cw[ends]
                carry_yc[e] = yc[ends]
        for p in qs:
            for d, v in pending[p].items():  # the domain's last unit: no next one
                quant[p][d] = v
            miss = ~found[p]
            quant[p][miss] = last[miss]  # j = n - 1 (rounding of the cumulative sum)
            quant_lo[p][miss] = last[miss]
        for p in lps:
            miss = ~lor_found[p]
            lor_q[p][miss] = last[miss]
            lor_T[p][miss] = last_yc[miss] + (p * N[miss] - last_c[miss]) * last[miss]
        s_gini += (N - carry_c) * Y  # the Gini's terms centred at the kernel's N = C_n (its cumulative sums' own)
    quartiles = _conv.apply_rule(spec.quantile_rule, quant, quant_lo, strict, last, carry_c if needs.need_sorted else N)  # Eurostat's, for the bandwidth

    # ---- thresholds known after the sort
    given_ref, ref_dom = ref_dom, np.zeros(D, np.int64)
    if spec.line_within_groups:
        ref_dom = np.arange(D)
    elif given_ref is not None:
        ref_dom = np.asarray(given_ref, dtype=np.int64)
    for p in qs:
        points[f"q{p!r}"] = quant[p]
        points[f"i{p!r}"] = quant_lo[p]
    for p in lps:
        points[f"L{p!r}"] = lor_q[p]
    median = quant.get(0.5)
    with np.errstate(divide="ignore", invalid="ignore"):  # an empty domain (outside a domain=, a replicate): no mean
        mean = Y / N
    for pt in needs.points:
        if pt == "z":
            stat = median if spec.relative_to == "median" else mean
            points[pt] = spec.relative_line * stat[ref_dom]
        elif pt.startswith("t"):
            points[pt] = float(pt[1:]) * median[ref_dom]
        elif pt.startswith("m"):
            points[pt] = float(pt[1:]) * median[ref_dom]
    if needs.poverty is not None:
        needs.poverty.set_points(points, quant, ref_dom)
    _ineq.set_points(points, needs, N, Y, acc)

    # ---- pass 3: indicators at the thresholds, kernel densities
    dens = {k: np.zeros(D) for k in needs.densities}
    h = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        if "osier" in needs.rules:
            h["osier"] = 0.79 * (quartiles[0.75] - quartiles[0.25]) * N ** (-0.2)
        if "convey" in needs.rules:
            sd = np.sqrt(dev2 / N)
            h["convey"] = np.where(sd <= SD_NOISE * np.abs(Y / N), 0.0, sd) * N ** (-0.2)  # equal incomes, as in memory
    hh = {rule: np.where(v > 0, v, np.nan) for rule, v in h.items()}
    now = [k for k in dens if _point_pass(k.split("@")[0]) <= 3]  # the others: at points known after pass 4
    if by_pass[3] or now:
        passes += 1
        indicator_and_density_pass(source, piece, domains, accumulate, 3, dens, now, points, hh, spec, acc, mapped)
    if needs.poverty is not None:  # passes 4-5: ranks at a threshold, medians of the poor
        passes += needs.poverty.later_passes(source, piece, domains, accumulate, acc, points, N, by_pass, pair_list,
                                             unit_pairs, dens, hh, mapped)
    with np.errstate(invalid="ignore", divide="ignore"):  # a domain without a bandwidth: refused per measure below
        f = {k: v / ((1.0 if k.endswith("@y") else N) * h[density_rule(k, spec)] * _SQRT_2PI) for k, v in dens.items()}

    # ---- pass 4, ascending incomes (streaming_inequality's running sums, each domain's N known)
    sorted3 = None
    if needs.sorted3:
        sorted3 = _ineq.sorted_pass(source, piece, domains, needs, N, Y, carry_c, carry_yc, cnt, acc, quant, points)
        passes += sorted3.passes

    # ---- values and variances
    c_h = centre = None
    if spec.se:
        c_h, centre = _stratum_factors(design, spec.lonely_psu, strata_name)
    ctx = _Values(spec, acc, N, Y, cnt, quant, lor_T, points, f, h, s_gini, ref_dom)
    ctx.poverty = needs.poverty
    ctx.sorted3 = sorted3
    ctx.Nc = carry_c if needs.need_sorted else N  # each domain's C_n: the in-memory kernels' N = cumw[-1]
    unit_var = {}
    if sorted3 is not None and unit_pairs:  # rank-based sums of streaming_inequality: t = w u per row, a last sorted pass
        unit_var = _ineq.unit_variances(source, piece, domains, spec, ctx, needs, c_h, centre)
        passes += bool(unit_var)
    rows = []
    for li, L in enumerate(layers):
        for g in range(len(L.keys)):
            d = L.offset + g
            for label, name, params in spec.measures:
                row = StreamRow(li, g, label, 0.0, 0.0 if spec.se else math.nan, int(cnt[d]), float(N[d]), None)
                try:
                    with np.errstate(divide="raise", invalid="raise", over="raise"):
                        value, own, ref, line = ctx.estimate(name, params, d)
                    if not math.isfinite(value):
                        raise ValueError(f"the value is {value}")
                    var = math.nan
                    if spec.se:
                        var = unit_var[(label, d)] if (label, d) in unit_var else \
                            _variance(acc, own, ref, d, int(ref_dom[d]), c_h, centre)
                        if not math.isfinite(var):
                            raise ValueError("its linearized variance is not finite (a kernel density of 0?)")
                except (ValueError, ZeroDivisionError, FloatingPointError) as exc:
                    row.undefined = f"{label} cannot be computed for {_group_text(L.cols, L.keys[g])} ({int(cnt[d]):,} units): {exc}"
                    rows.append(row)
                    continue
                row.value, row.var, row.line = float(value), var, line
                rows.append(row)
    national = {"median": None if median is None else float(median[0]), "mean": float(mean[0])}
    return StreamOutput(rows, passes, n, national)


def _income_scale(mean: float) -> float:
    """K of the bases y ln(y/K), ln(y/K): the power of 2 of a mean income (1 if it is not positive)."""
    return 2.0 ** math.frexp(mean)[1] if mean > 0 and math.isfinite(mean) else 1.0


def _group_text(cols, key) -> str:
    if not cols:
        return "the whole sample"
    return ", ".join(f"{c}={v!r}" if isinstance(v, str) else f"{c}={v}" for c, v in zip(cols, key))


def _variance(acc: _Accumulator, own: dict, ref: dict, d: int, r: int, c_h, centre) -> float:
    """V of the domain total of u = sum own c b (domain d) + sum ref c b (reference domain r)."""
    if r == d:  # the reference is the domain itself: one set of terms
        merged = dict(own)
        for b, c in ref.items():
            merged[b] = merged.get(b, 0.0) + c
        own, ref = merged, {}
    design = acc.design
    H = design.n_h.size
    if not acc.unit:
        t = np.zeros(acc.P)
        for b, c in own.items():
            t += c * acc.psu_totals(b, d)
        for b, c in ref.items():
            t += c * acc.psu_totals(b, r)
        s1 = np.bincount(design.psu_stratum, weights=t, minlength=H)
        s2 = np.bincount(design.psu_stratum, weights=t * t, minlength=H)
    else:  # every row its own PSU: the "PSU" code is the stratum
        s1 = np.zeros(H)
        for b, c in own.items():
            s1 += c * acc.psu_totals(b, d)
        for b, c in ref.items():
            s1 += c * acc.psu_totals(b, r)
        s2 = np.zeros(H)
        items = list(own.items())
        for i, (a, ca) in enumerate(items):
            for b, cb in items[i:]:
                s2 += (1.0 if a == b else 2.0) * ca * cb * acc.pair(a, b, "own", d)
        for a, ca in own.items():
            for b, cb in ref.items():
                s2 += 2.0 * ca * cb * acc.pair(a, b, "ref", d)
        ritems = list(ref.items())
        for i, (a, ca) in enumerate(ritems):
            for b, cb in ritems[i:]:
                s2 += (1.0 if a == b else 2.0) * ca * cb * acc.pair(a, b, "own", r)
        # s2 holds the centred sum c' M2 c = sum t^2 - (sum t)^2 / n_h (Chan); back to the estimator's centring
        n_h = design.n_h.astype(np.float64)
        ss = s2 + s1 * s1 * (1.0 / np.maximum(n_h, 1.0) - centre)
        return float(max(np.dot(c_h, np.maximum(ss, 0.0)), 0.0))
    ss = s2 - s1 * s1 * centre
    return float(max(np.dot(c_h, np.maximum(ss, 0.0)), 0.0))


class _Values:
    """Values and coefficients of each measure in a domain, from the totals of the passes."""

    poverty = None  # streaming_poverty.Later of the call (its sums and the medians of the poor)

    def __init__(self, spec, acc, N, Y, cnt, quant, lor_T, points, f, h, s_gini, ref_dom):
        self.spec, self.acc, self.N, self.Y, self.cnt = spec, acc, N, Y, cnt
        self.quant, self.lor_T, self.points, self.f, self.h, self.s_gini = quant, lor_T, points, f, h, s_gini
        self.ref_dom = ref_dom

    def tot(self, b, d) -> float:
        if b == ("one",):
            return float(self.N[d])
        if b == ("y",):
            return float(self.Y[d])
        return self.acc.total(b, d)

    def density(self, pt, d) -> float:
        """f(x) at density key ``pt`` (point[@rule[@y]]: @y gives S'(x) = (1/h) sum w y phi((x - y)/h))."""
        rule = density_rule(pt, self.spec)
        if not self.h[rule][d] > 0:
            raise ValueError(_NO_BANDWIDTH[rule])
        return float(self.f[pt][d])

    def quantile(self, p, d):
        q = float(self.quant[p][d])
        if not self.spec.se:
            return q, {}
        scale = self.N[d] * self.density(f"q{p!r}", d)
        return q, {("le", f"q{p!r}"): -1.0 / scale, ("one",): p / scale}

    def ref_u(self, which: str, r: int) -> dict:
        if which == "median":
            return self.quantile(0.5, r)[1]
        return {("y",): 1.0 / self.N[r], ("one",): -(self.Y[r] / self.N[r]) / self.N[r]}

    def lower_total(self, p, d, convention):
        """T(p) and u_T's coefficients (module docstring of prosperity.measures.shares)."""
        if p == 0.0:
            return 0.0, {}
        if p == 1.0:
            return float(self.Y[d]), {("y",): 1.0}
        if convention == "fractional":
            pt = f"L{p!r}"
            q = float(self.points[pt][d])
            return float(self.lor_T[p][d]), {("ydlt", pt): 1.0, ("one",): p * q}
        pt = f"q{p!r}"
        q = float(self.points[pt][d])
        return self.tot(("yle", pt), d), {("ydle", pt): 1.0, ("one",): p * q}

    def estimate(self, name: str, p: dict, d: int, default: bool = False):
        """(value, own coefficients, reference-domain coefficients, line used); ``default``: under the
        measure's default convention (the sums a non-default one is a closed form of)."""
        spec = self.spec
        if not default and _conv.converts(spec, name):
            return _conv.estimate(self, name, p, d)
        N, Y = float(self.N[d]), float(self.Y[d])
        mu = Y / N
        r = int(self.ref_dom[d])
        add = _add
        if self.poverty is not None and _pov.handles(name, spec):
            return self.poverty.estimate(self, name, p, d)
        if name in _ineq.MEASURES:
            return _ineq.estimate(self, name, p, d)
        if name == "mean":
            return mu, {("y",): 1.0 / N, ("one",): -mu / N}, {}, None
        if name in ("median", "quantile"):
            q, c = self.quantile(0.5 if name == "median" else float(p["p"]), d)
            return q, c, {}, None
        if name == "arpt":
            frac = float(p.get("fraction", 0.6))
            q, c = self.quantile(0.5, d)
            return frac * q, {k: frac * v for k, v in c.items()}, {}, None
        if name in ("qratio", *_RATIOS):
            a, b = _RATIOS.get(name) or (float(p["p_top"]), float(p["p_bottom"]))
            qa, ca = self.quantile(a, d)
            qb, cb = self.quantile(b, d)
            if qb == 0:
                raise ValueError(f"the quantile ratio is undefined: the {b:g}-quantile is 0")
            ratio = qa / qb
            return ratio, add(add({}, ca, 1.0 / qb), cb, -ratio / qb), {}, None
        if name == "gini":
            nc = float(self.Nc[d])
            g = float(self.s_gini[d]) / (nc * Y)
            return g, {("gini",): 2.0 / (nc * Y), ("one",): (2.0 - (g + 1.0)) / nc, ("y",): -(g + 1.0) / Y}, {}, None
        if name in ("ge", "theil", "mld", "atkinson"):
            return (*self._entropy(name, p, d, N, Y, mu), {}, None)
        if name in ("qsr", "palma", "share", "lorenz", "glorenz"):
            conv = spec.conventions.get(name, "fractional" if name in ("lorenz", "glorenz") else "eurostat")
            if name != "glorenz" and Y == 0:
                raise ValueError("income shares are undefined when total income is 0")
            if name in ("qsr", "palma"):
                pt, pb = (0.8, 0.2) if name == "qsr" else (0.9, 0.4)
                Tt, ct = self.lower_total(pt, d, conv)
                Tb, cb = self.lower_total(pb, d, conv)
                if Tb == 0:
                    raise ValueError(f"the share ratio is undefined: the poorest {100 * pb:g} % have zero total income")
                ratio = (Y - Tt) / Tb
                return ratio, add(add({("y",): 1.0 / Tb}, ct, -1.0 / Tb), cb, -ratio / Tb), {}, None
            if name == "share":
                p1, p2 = float(p["p1"]), float(p["p2"])
                T1, c1 = self.lower_total(p1, d, conv)
                T2, c2 = self.lower_total(p2, d, conv)
                share = (T2 - T1) / Y
                return share, add(add({("y",): -share / Y}, c2, 1.0 / Y), c1, -1.0 / Y), {}, None
            T, c = self.lower_total(float(p["p"]), d, conv)
            if name == "lorenz":
                v = T / Y
                return v, add({("y",): -v / Y}, c, 1.0 / Y), {}, None
            v = T / N
            return v, add({("one",): -v / N}, c, 1.0 / N), {}, None
        if name in ("fgt", "headcount", "pgap", "watts"):
            incl = _poor_rule(name, spec.inclusive)
            pt = "zabs" if spec.line_kind == "absolute" else "z"
            z = float(self.points[pt][d])
            if not (math.isfinite(z) and z > 0):
                raise ValueError(f"the poverty line must be a positive finite number, got {z!r}")
            if name == "watts":
                v = self.tot(("watts", incl, pt), d) / N
                own = {("watts", incl, pt): 1.0 / N, ("one",): -v / N}
                deriv = self.tot(("poor", incl, pt), d) / N / z
            else:
                a = {"headcount": 0.0, "pgap": 1.0}.get(name, float(p.get("alpha", 0.0)))
                v = self.tot(("fgt", a, incl, pt), d) / N
                own = {("fgt", a, incl, pt): 1.0 / N, ("one",): -v / N}
                if a == 0:
                    deriv = self.density(pt, d) if (spec.se and spec.line_kind != "absolute") else None
                else:
                    deriv = a / z * self.tot(("fgtd", a, incl, pt), d) / N
            ref = {}
            if spec.line_kind != "absolute" and spec.se and deriv:
                ref = {k: deriv * spec.relative_line * c for k, c in self.ref_u(spec.relative_to, r).items()}
            return v, own, ref, z
        if name == "arpr":
            frac = float(p.get("fraction", 0.6))
            incl = _poor_rule(name, spec.inclusive)
            pt = f"t{frac!r}"
            t = float(self.points[pt][d])
            v = self.tot(("fgt", 0.0, incl, pt), d) / N
            own = {("fgt", 0.0, incl, pt): 1.0 / N, ("one",): -v / N}
            ref = {}
            if spec.se:
                deriv = self.density(pt, d)
                if deriv:
                    ref = {k: deriv * frac * c for k, c in self.ref_u("median", r).items()}
            return v, own, ref, t
        if name in ("middle_abs", "middle_abs_income", "middle_rel", "middle_rel_income"):
            rel = name.startswith("middle_rel")
            income_share = name.endswith("_income")
            a, b = float(p["lower"]), float(p["upper"])
            lo, hi = (f"m{a!r}", f"m{b!r}") if rel else (f"abs{a!r}", f"abs{b!r}")
            m = float(self.quant[0.5][r]) if rel else None
            if rel and not m > 0:
                raise ValueError(f"a relative middle-class band needs a positive median, got {m:g}")
            if income_share:
                if Y <= 0:
                    raise ValueError("the income share is undefined when total income is <= 0")
                v = self.tot(("yband", lo, hi), d) / Y
                own = {("yband", lo, hi): 1.0 / Y, ("y",): -v / Y}
            else:
                v = self.tot(("band", lo, hi), d) / N
                own = {("band", lo, hi): 1.0 / N, ("one",): -v / N}
            ref = {}
            if rel and spec.se:
                f_lo = self.density(lo, d) if a > 0 else 0.0
                f_hi = self.density(hi, d)
                deriv = (b * b * f_hi - a * a * f_lo) * m * N / Y if income_share else b * f_hi - a * f_lo
                if deriv:
                    ref = {k: deriv * c for k, c in self.ref_u("median", r).items()}
            return v, own, ref, (m if rel else None)
        raise AssertionError(name)  # pragma: no cover

    def _entropy(self, name, p, d, N, Y, mu):
        lmk = math.log(mu / float(self.points["K"][0]))  # ln(mu / K): the bases are y ln(y/K), ln(y/K)
        if name == "theil" or (name == "ge" and float(p["alpha"]) == 1.0):
            t = self.tot(("ylny",), d) / Y - lmk
            return t, {("ylny",): 1.0 / (mu * N), ("y",): -(lmk + t + 1.0) / (mu * N), ("one",): 1.0 / N}
        if name == "mld" or (name == "ge" and float(p["alpha"]) == 0.0) or (name == "atkinson" and float(p["epsilon"]) == 1.0):
            m = lmk - self.tot(("lny",), d) / N
            coef = {("y",): 1.0 / (mu * N), ("lny",): -1.0 / N, ("one",): (-1.0 + lmk - m) / N}
            if name != "atkinson":
                return m, coef
            a_val = 1.0 - math.exp(-m)
            return a_val, {k: (1.0 - a_val) * v for k, v in coef.items()}
        if name == "ge":
            a = float(p["alpha"])
            rr = self.tot(("pow", a), d) / N / mu ** a
            k = 1.0 / (N * a * (a - 1.0))
            return (rr - 1.0) / (a * (a - 1.0)), {("pow", a): k * mu ** (-a), ("y",): -k * a * rr / mu, ("one",): k * (a - 1.0) * rr}
        e = float(p["epsilon"])
        m = self.tot(("pow", 1.0 - e), d) / N / mu ** (1.0 - e)
        a_val = 1.0 - m ** (1.0 / (1.0 - e))
        k = -(1.0 - a_val) / N
        return a_val, {("pow", 1.0 - e): k * mu ** (e - 1.0) / (m * (1.0 - e)), ("y",): -k / mu,
                       ("one",): k * (-1.0 / (1.0 - e) + 1.0)}


_NO_BANDWIDTH = {
    "osier": "cannot estimate the density for a quantile's standard error: the interquartile range is 0 (too many "
             "identical incomes); use se=False, or bandwidth='convey'",
    "convey": "cannot estimate the density for a quantile's standard error: the incomes have no spread (weighted "
              "standard deviation 0); use se=False"}


def density_rule(key: str, spec: StreamSpec) -> str:
    """The bandwidth rule of a density key: its own (point@rule) or the call's (``spec.bandwidth``, else Osier's)."""
    parts = key.split("@")
    return parts[1] if len(parts) > 1 else (spec.bandwidth or "osier")


def indicator_and_density_pass(source, piece, domains, accumulate, k: int, dens: dict, keys, points, hh: dict,
                               spec: StreamSpec, acc, mapped=None) -> None:
    """One order-free pass: the bases of pass ``k`` (``accumulate(k, y, w, cell, psu, into)`` into ``acc``)
    and the kernel sums of the density ``keys`` whose points are known (pass 3 here; pass 5 of
    :mod:`.streaming_poverty`). With ``mapped`` (a source's ``map_chunks``) the pass runs where the rows
    are: each partition's sums by code and its kernel sums come back and are added to ``acc`` and
    ``dens`` in partition order."""

    def one(ch, into, sums):  # no reference to the client's state: it may run on a Dask worker
        y, w, cell, psu = piece(ch)
        if not y.size:
            return
        accumulate(k, y, w, cell, psu, into)
        for L, dom in domains(cell) if keys else ():
            kernel_sums(sums, keys, y, w, np.full(y.size, L.offset, np.int64) if dom is None else dom, points, hh, spec)

    if mapped is not None:
        zeros = {key: np.zeros_like(v) for key, v in dens.items()}  # the partitions' kernel sums start at 0
        for part_sums, part_pairs, part_dens in mapped(partial_pass(one, acc.P, zeros, acc.D)):
            acc.add_partial(part_sums, part_pairs)
            merge_state(dens, part_dens)
    else:
        for ch in source.chunks():
            one(ch, acc, dens)


def kernel_sums(dens: dict, keys, y, w, d, points, hh: dict, spec: StreamSpec) -> None:
    """Add a piece's sum w phi((x - y) / h) (w y phi for keys ending in @y) over |x - y| < 8 h per domain
    ``d`` of each row, for every density key (Gaussian kernel as quantiles.kernel_density_at)."""
    D = next(iter(dens.values())).size
    for k in keys:
        xd = points[k.split("@")[0]][d]
        hd = hh[density_rule(k, spec)][d]
        with np.errstate(invalid="ignore"):
            near = (y >= xd - _KERNEL_REACH * hd) & (y < xd + _KERNEL_REACH * hd)
        z = (xd[near] - y[near]) / hd[near]
        z *= z
        z *= -0.5
        wt = w[near] * np.exp(z)
        dens[k] += np.bincount(d[near], weights=wt * y[near] if k.endswith("@y") else wt, minlength=D)


def _add(target: dict, coefs: dict, scale: float) -> dict:
    out = dict(target)
    for k, v in coefs.items():
        out[k] = out.get(k, 0.0) + scale * v
    return out


# ============================================================================ measure_stream (whole sample)


@dataclass(frozen=True)
class StreamEstimate:
    measure: str
    value: float
    se: float | None


@dataclass(frozen=True)
class StreamResult:
    """Values and SEs from a streaming pass; ``to_frame()``: measure, value, se, n, weight_sum."""

    estimates: tuple[StreamEstimate, ...]
    backend: str
    n: int
    weight_sum: float
    passes: int
    seconds: float = field(compare=False)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"measure": [e.measure for e in self.estimates], "value": [e.value for e in self.estimates],
                             "se": [e.se for e in self.estimates], "n": self.n, "weight_sum": self.weight_sum})

    def __repr__(self) -> str:
        body = ", ".join(f"{e.measure}={e.value:.6g}" + (f" (se {e.se:.3g})" if e.se is not None else "") for e in self.estimates)
        return f"StreamResult({self.backend}, n={self.n}, {self.passes} passes, {self.seconds:.2f} s: {body})"


def _parse(measures) -> list[tuple[str, str, dict]]:
    from ..measures import catalog  # noqa: F401 - fills the registry
    from ..measures.registry import parse_measure

    out = []
    for text in ([measures] if isinstance(measures, str) else list(measures)):
        name = str(text).split(":")[0].strip().lower()
        if name not in STREAM_MEASURES:
            raise BackendError(f"measure {text!r} is not available on the streaming backends yet",
                               hint=f"use one of {', '.join(STREAM_MEASURES)} (the in-memory measure() has every measure)")
        try:
            spec, params = parse_measure(str(text))
        except ValueError as exc:
            raise BackendError(f"measure {text!r}: {exc}", hint="e.g. atkinson:0.5, quantile:0.9, fgt:1") from None
        out.append((str(text), spec.name, dict(params)))
    return out


def measure_stream(source, measures=("mean", "median", "gini", "theil", "atkinson:0.5", "arpr"), *,
                   poverty_line: float | None = None, se: bool = True) -> StreamResult:
    """Measures of the source's income for the whole sample with linearized SEs under its design, exactly
    as the in-memory kernels compute them (laeken/Eurostat conventions), in at most three passes.
    For groups, relative lines and the table (:class:`~prosperity.table.MeasureResult`), call
    ``prosperity.measure(data, ..., backend=...)``."""
    started = time.perf_counter()
    asked = _parse(measures)
    names = {n for _, n, _ in asked}
    if names & {"fgt", "headcount", "pgap", "watts", "sen", "sst"} and poverty_line is None:
        raise BackendError("fgt/headcount/pgap/watts/sen/sst need poverty_line= (an absolute line) in measure_stream",
                           hint="pass poverty_line=..., or prosperity.measure(data, ..., backend=...) for relative lines")
    spec = StreamSpec(tuple(asked), line_kind=None if poverty_line is None else "absolute",
                      line_value=None if poverty_line is None else float(poverty_line), se=se)
    out = evaluate_stream(source, spec)
    estimates = []
    for row in out.rows:
        if row.undefined:
            raise BackendError(row.undefined, hint="leave this measure out")
        estimates.append(StreamEstimate(row.label, row.value, math.sqrt(row.var) if se else None))
    wsum = out.rows[0].wsum if out.rows else 0.0
    return StreamResult(tuple(estimates), source.name, out.n, wsum, out.passes, time.perf_counter() - started)
