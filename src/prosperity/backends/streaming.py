"""Exact measures and linearized standard errors over a stream of pieces, in at most three passes.

The estimators are those of the in-memory kernels (``prosperity.measures``, laeken/Eurostat
conventions), rewritten so that no pass holds more than one piece of the data:

- pass 1, any order: totals (N = sum w, Y = sum w y, sum w y^a, sum w y ln y, ...), and per PSU the
  totals of every *basis* term of the order-free measures' linearized variables;
- pass 2, ascending income (only when a rank-based measure is asked): the Gini's running sums carried
  from piece to piece (C_k = sum_{j<=k} w_j, Ycum_k = sum_{j<=k} w_j y_j) and the exact weighted
  quantiles (j = min{j : C_j >= pN}, the average with the next unit when C_j = pN: Eurostat);
- pass 3, any order (only for quantile-based measures): the indicator terms 1{y <= q} and the kernel
  densities f(q), now that the quantiles are known.

Linearized variables as sums of bases with coefficients known at the end. Every u below is
u_k = sum_i c_i b_i(k) with basis terms b_i computed row by row and coefficients c_i from the totals
(Deville 1999; the formulas are those of the kernels' docstrings):

    mean:        u = (y - mu) / N                                   bases y, 1
    GE(a):       u = [z^a - a R z + (a - 1) R] / (N a (a - 1)),  z = y / mu      bases y^a, y, 1
    Theil T:     u = [z (ln z - T - 1) + 1] / N                     bases y ln y, y, 1
    MLD:         u = [z - 1 - ln z - MLD] / N                       bases y, ln y, 1
    Atkinson:    u = -(1 - A) [(z^(1-e) / m - 1) / (1 - e) - (z - 1)] / N      bases y^(1-e), y, 1
    FGT(a) at z: u = (1{y < z} g^a - P) / N,  g = 1 - y / z       bases 1{y<z} g^a, 1
    Gini:        u = 2 (y C - Ycum + Y) / (N Y) - (G + 1) (1 / N + y / Y)       bases yC - Ycum, 1, y
    quantile p:  u = -(1{y <= q} - p) / (N f(q))                    bases 1{y<=q}, 1
    ARPR:        u = (1{y < t} - H) / N + f(t) 0.6 u_median,  t = 0.6 x median

The variance of sum w u is the with-replacement estimator over PSUs within strata: the per-PSU totals
of w b_i are accumulated once, t_c = sum_i c_i T_ci. When every row is its own PSU (no PSU column),
the stream accumulates per stratum sum w b_i and sum (w b_i)(w b_j) instead, and
V = sum_h n_h/(n_h - 1) [sum t^2 - (sum t)^2 / n_h] follows exactly from them.

Kernel density for quantiles' SEs: Gaussian, h = 0.79 IQR N^(-1/5) (quartiles by the same Eurostat
rule), truncated at |x - y| <= 8 h as in :func:`prosperity.measures.quantiles.kernel_density_at`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .sources import BackendError, DesignCodes

STREAM_MEASURES = ("mean", "median", "quantile", "gini", "theil", "mld", "ge", "atkinson", "fgt", "headcount",
                   "pgap", "arpt", "arpr")
_TIE_RTOL = 1e-12
_KERNEL_REACH = 8.0
_SQRT_2PI = math.sqrt(2.0 * math.pi)


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


class _Bases:
    """Per-PSU totals of w x basis; for unit PSUs (no PSU column), per stratum and per pair of bases of
    one measure the count, the means and the centred co-moment sum (x_a - mean_a)(x_b - mean_b) of
    x = w b, merged piece by piece (Chan, Golub & LeVeque 1979), so the variance
    sum_h n_h/(n_h - 1) sum (t - tbar)^2 = sum_h n_h/(n_h - 1) c' M2_h c has no cancellation beyond the
    data's own."""

    def __init__(self, design: DesignCodes):
        self.design = design
        self.totals: dict[str, np.ndarray] = {}
        self.pairs: dict[tuple[str, str], list[np.ndarray]] = {}  # (n, mean_a, mean_b, m2)
        self.blocks: list[tuple[str, ...]] = []

    def block(self, names: tuple[str, ...]) -> None:
        """Declare the bases of one measure (their co-moments are needed for unit PSUs)."""
        self.blocks.append(names)

    def add(self, codes: np.ndarray, w: np.ndarray, y: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Add one piece: ``values`` are this pass's bases (arrays or scalars) for the rows of the piece.
        The bases ``one`` and ``y`` pair with a later pass's bases: their w b is rebuilt from ``w``, ``y``."""
        g = self.design.n_groups
        wb = {}
        for name, b in values.items():
            x = w * b if not np.isscalar(b) else w * float(b)
            wb[name] = x
            part = np.bincount(codes, weights=x, minlength=g)
            acc = self.totals.get(name)
            self.totals[name] = part if acc is None else acc + part
        if not self.design.unit_psus:
            return

        def weighted(name):
            if name in wb:
                return wb[name]
            return w if name == "one" else w * y if name == "y" else None

        count = np.bincount(codes, minlength=g).astype(np.float64)
        seen = count > 0
        safe = np.where(seen, count, 1.0)
        means: dict[str, np.ndarray] = {}
        done = set()
        for names in self.blocks:
            for i, a in enumerate(names):
                for b in names[i:]:
                    if (a, b) in done or not (a in values or b in values):
                        continue  # a pair is accumulated in the pass that produces its later member
                    xa, xb = weighted(a), weighted(b)
                    if xa is None or xb is None:
                        continue
                    done.add((a, b))
                    for name, x in ((a, xa), (b, xb)):
                        if name not in means:
                            means[name] = np.bincount(codes, weights=x, minlength=g) / safe
                    ma, mb = means[a], means[b]
                    m2 = np.bincount(codes, weights=(xa - ma[codes]) * (xb - mb[codes]), minlength=g)
                    state = self.pairs.get((a, b))
                    if state is None:
                        self.pairs[(a, b)] = [count.copy(), ma.copy(), mb.copy(), m2]
                        continue
                    n0, ma0, mb0, m20 = state
                    n1 = n0 + count
                    with np.errstate(invalid="ignore", divide="ignore"):
                        f = np.where(seen, count / np.where(n1 > 0, n1, 1.0), 0.0)
                    da, db = ma - ma0, mb - mb0
                    state[3] = m20 + np.where(seen, m2 + da * db * n0 * f, 0.0)
                    state[1] = ma0 + np.where(seen, da * f, 0.0)
                    state[2] = mb0 + np.where(seen, db * f, 0.0)
                    state[0] = n1

    def variance(self, coefs: dict[str, float]) -> float:
        if not self.design.unit_psus:
            t = sum(c * self.totals[name] for name, c in coefs.items())
            return self.design.variance_of_totals(np.asarray(t, dtype=np.float64))
        names = list(coefs)
        ss = 0.0
        for i, a in enumerate(names):
            for b in names[i:]:
                m2 = self.pairs[(a, b)][3] if (a, b) in self.pairs else self.pairs[(b, a)][3]
                ss = ss + (1.0 if a == b else 2.0) * coefs[a] * coefs[b] * m2
        n = self.design.n_h.astype(float)
        if np.any(n == 1):
            raise BackendError("a stratum has a single unit: the variance is not defined there", hint="merge strata")
        return float(np.sum(n / (n - 1.0) * np.asarray(ss, dtype=np.float64)))


def _parse(measures) -> list[tuple[str, str, tuple[float, ...]]]:
    out = []
    for text in ([measures] if isinstance(measures, str) else list(measures)):
        name, *params = str(text).split(":")
        if name not in STREAM_MEASURES:
            raise BackendError(f"measure {text!r} is not available on the streaming backends yet",
                               hint=f"use one of {', '.join(STREAM_MEASURES)} (the in-memory measure() has every measure)")
        try:
            values = tuple(float(p) for p in params)
        except ValueError:
            raise BackendError(f"measure {text!r}: parameters must be numbers", hint="e.g. atkinson:0.5, quantile:0.9") from None
        need = {"quantile": 1, "ge": 1, "atkinson": 1, "fgt": 1}.get(name, 0)
        if len(values) != need:
            raise BackendError(f"measure {text!r} takes {need} parameter(s)", hint="e.g. quantile:0.9, ge:2, atkinson:0.5, fgt:1")
        out.append((text, name, values))
    return out


def measure_stream(source, measures=("mean", "median", "gini", "theil", "atkinson:0.5", "arpr"), *,
                   poverty_line: float | None = None, se: bool = True) -> StreamResult:
    """Measures of the source's income with linearized SEs under its design, exactly as the in-memory
    kernels compute them (laeken/Eurostat conventions), in at most three passes over the data."""
    started = time.perf_counter()
    asked = _parse(measures)
    names = {n for _, n, _ in asked}
    if names & {"fgt", "headcount", "pgap"} and poverty_line is None:
        raise BackendError("fgt/headcount/pgap need poverty_line= (an absolute line) on the streaming backends",
                           hint="pass poverty_line=..., or use arpr for the relative (60 % of the median) line")
    z = None if poverty_line is None else float(poverty_line)
    alphas_ge = sorted({p[0] for _, n, p in asked if n == "ge" and p[0] not in (0.0, 1.0)})
    eps = sorted({p[0] for _, n, p in asked if n == "atkinson"})
    fgt_alphas = sorted({({"headcount": (0.0,), "pgap": (1.0,)}.get(n) or p)[0] for _, n, p in asked
                         if n in ("fgt", "headcount", "pgap")})
    want_theil = "theil" in names or (1.0 in {p[0] for _, n, p in asked if n == "ge"})
    want_mld = "mld" in names or (0.0 in {p[0] for _, n, p in asked if n == "ge"}) or 1.0 in eps
    quantile_ps = sorted({p[0] for _, n, p in asked if n == "quantile"} | ({0.5} if names & {"median", "arpt", "arpr"} else set()))
    need_sorted = bool(quantile_ps) or "gini" in names
    if quantile_ps:
        quantile_ps = sorted(set(quantile_ps) | {0.25, 0.75})  # the bandwidth's quartiles

    bases = _Bases(source.design)
    bases.block(("y", "one"))
    for a in alphas_ge:
        bases.block((f"pow{a!r}", "y", "one"))
    for e in eps:
        if e != 1.0:
            bases.block((f"pow{1.0 - e!r}", "y", "one"))
    if want_theil:
        bases.block(("ylny", "y", "one"))
    if want_mld:
        bases.block(("lny", "y", "one"))
    for a in fgt_alphas:
        bases.block((f"fgt{a!r}", "one"))

    # ---- pass 1: totals and the order-free bases
    n = 0
    tot = {"N": 0.0, "Y": 0.0}
    y_min, bad_y, bad_w = math.inf, 0, 0
    for ch in source.chunks():
        y, w, c = ch["y"], ch["w"], ch["psu"]
        bad_y += int(np.count_nonzero(~np.isfinite(y)))
        bad_w += int(np.count_nonzero(~(np.isfinite(w) & (w > 0))))
        if bad_y or bad_w:
            continue
        n += y.size
        if y.size:
            y_min = min(y_min, float(y.min()))
        values = {"y": y, "one": 1.0}
        tot["N"] += float(w.sum())
        tot["Y"] += float(np.dot(w, y))
        for a in alphas_ge:
            values[f"pow{a!r}"] = y ** a
        for e in eps:
            if e != 1.0:
                values[f"pow{1.0 - e!r}"] = y ** (1.0 - e)
        if want_theil:
            with np.errstate(divide="ignore", invalid="ignore"):
                values["ylny"] = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)
        if want_mld:
            with np.errstate(divide="ignore", invalid="ignore"):
                values["lny"] = np.log(y)
        for a in fgt_alphas:
            g = 1.0 - y / z
            values[f"fgt{a!r}"] = np.where(y < z, 1.0 if a == 0 else np.maximum(g, 0.0) ** a, 0.0)
        for key, v in values.items():
            if key != "one" and key != "y":
                tot[key] = tot.get(key, 0.0) + float(np.dot(w, v))
        bases.add(c, w, y, values)
    if bad_y or bad_w:
        raise BackendError(f"{bad_y} row(s) with a missing or non-finite income and {bad_w} row(s) with a zero, negative "
                           "or missing weight", hint="clean or filter them in the source (say how many you drop); "
                           "the streaming backends never drop rows silently")
    if n == 0:
        raise BackendError("the source has no rows")
    big_n, big_y = tot["N"], tot["Y"]
    mu = big_y / big_n
    passes = 1
    out: dict[str, tuple[float, dict[str, float] | None]] = {}
    out["mean"] = (mu, {"y": 1.0 / big_n, "one": -mu / big_n})

    def domain(what: str, positive: bool) -> None:
        if (positive and y_min <= 0) or (not positive and y_min < 0):
            raise BackendError(f"{what} needs {'positive' if positive else 'non-negative'} incomes; the smallest is {y_min:g}",
                               hint="restrict the source to the incomes the measure accepts")

    for a in alphas_ge:
        domain(f"GE({a:g})", a <= 0)
        r = tot[f"pow{a!r}"] / big_n / mu ** a
        k = 1.0 / (big_n * a * (a - 1.0))
        out[f"ge{a!r}"] = ((r - 1.0) / (a * (a - 1.0)), {f"pow{a!r}": k * mu ** (-a), "y": -k * a * r / mu, "one": k * (a - 1.0) * r})
    if want_theil:
        domain("the Theil index", False)
        t = (tot["ylny"] / big_y) - math.log(mu)  # (1/N) sum w z ln z = sum w y ln y / Y - ln mu
        out["theil"] = (t, {"ylny": 1.0 / (mu * big_n), "y": -(math.log(mu) + t + 1.0) / (mu * big_n), "one": 1.0 / big_n})
    if want_mld:
        domain("the mean log deviation", True)
        m = math.log(mu) - tot["lny"] / big_n
        out["mld"] = (m, {"y": 1.0 / (mu * big_n), "lny": -1.0 / big_n, "one": (-1.0 + math.log(mu) - m) / big_n})
    for e in eps:
        if e == 1.0:
            m_val, m_coef = out["mld"]
            a_val = 1.0 - math.exp(-m_val)
            out[f"atk{e!r}"] = (a_val, {k: (1.0 - a_val) * v for k, v in m_coef.items()})
            continue
        domain(f"Atkinson({e:g})", False)
        m = tot[f"pow{1.0 - e!r}"] / big_n / mu ** (1.0 - e)
        a_val = 1.0 - m ** (1.0 / (1.0 - e))
        k = -(1.0 - a_val) / big_n
        out[f"atk{e!r}"] = (a_val, {f"pow{1.0 - e!r}": k * mu ** (e - 1.0) / (m * (1.0 - e)),
                                     "y": -k / mu, "one": k * (-1.0 / (1.0 - e) + 1.0)})
    for a in fgt_alphas:
        domain("FGT", False)
        p = tot[f"fgt{a!r}"] / big_n
        out[f"fgt{a!r}"] = (p, {f"fgt{a!r}": 1.0 / big_n, "one": -p / big_n})

    # ---- pass 2: ascending incomes (Gini, quantiles)
    quantiles: dict[float, float] = {}
    if need_sorted:
        passes += 1
        carry_c, carry_yc, s_gini = 0.0, 0.0, 0.0
        pending: dict[float, float] = {}  # p -> y_j waiting for the next unit (Eurostat's average)
        todo = list(quantile_ps)
        gini_bases = "gini" in names
        if gini_bases:
            bases.block(("gini_b", "one", "y"))
        for ch in source.sorted_chunks():
            y, w, c = ch["y"], ch["w"], ch["psu"]
            if not y.size:
                continue
            for p in list(pending):
                quantiles[p] = 0.5 * (pending.pop(p) + float(y[0]))
            cw = np.cumsum(w)
            cw += carry_c
            if gini_bases:
                yc = np.cumsum(w * y)
                yc += carry_yc
                s_gini += float(np.dot(w * y, 2.0 * cw - w))
                bases.add(c, w, y, {"gini_b": y * cw - yc})
                carry_yc = float(yc[-1])
            for p in list(todo):
                target = p * big_n
                j = int(np.searchsorted(cw, target * (1 - _TIE_RTOL), side="left"))
                if j >= y.size:
                    continue
                todo.remove(p)
                if abs(cw[j] - target) <= _TIE_RTOL * big_n:
                    if j + 1 < y.size:
                        quantiles[p] = 0.5 * (float(y[j]) + float(y[j + 1]))
                    else:
                        pending[p] = float(y[j])
                else:
                    quantiles[p] = float(y[j])
            carry_c = float(cw[-1])
        for p, v in pending.items():  # the last unit: no next one
            quantiles[p] = v
        for p in todo:
            quantiles[p] = float("nan")
        if gini_bases:
            g = s_gini / (big_n * big_y) - 1.0
            out["gini"] = (g, {"gini_b": 2.0 / (big_n * big_y), "one": (2.0 - (g + 1.0)) / big_n, "y": -(g + 1.0) / big_y})

    # ---- pass 3: indicators and densities at the quantiles
    if quantile_ps:
        passes += 1
        h = 0.79 * (quantiles[0.75] - quantiles[0.25]) * big_n ** (-0.2)
        if not h > 0:
            raise BackendError("cannot estimate the density for a quantile's standard error: the interquartile range is 0",
                               hint="use the in-memory measure() with the bootstrap")
        points = {f"q{p!r}": quantiles[p] for p in quantile_ps if p not in (0.25, 0.75) or any(
            n == "quantile" and pp == (p,) for _, n, pp in asked)}
        median = quantiles.get(0.5)
        if names & {"arpr"}:
            points["t60"] = 0.6 * median
        dens = {k: 0.0 for k in points}
        ind_names = [f"le_{k}" for k in points if k.startswith("q")] + (["lt_t60"] if "t60" in points else [])
        for k in ind_names:
            bases.block((k, "one"))
        if "t60" in points:
            bases.block(("lt_t60", "le_q0.5", "one"))
        lt_total = 0.0
        for ch in source.chunks():
            y, w, c = ch["y"], ch["w"], ch["psu"]
            values = {}
            for k, x in points.items():
                d = (x - y) / h
                near = np.abs(d) <= _KERNEL_REACH
                dn = d[near]
                dens[k] += float(np.dot(w[near], np.exp(-0.5 * dn * dn)))
                if k.startswith("q"):
                    values[f"le_{k}"] = (y <= x).astype(np.float64)
                else:
                    values["lt_t60"] = (y < x).astype(np.float64)
                    lt_total += float(np.dot(w, values["lt_t60"]))
            bases.add(c, w, y, values)
        f = {k: v / (big_n * h * _SQRT_2PI) for k, v in dens.items()}
        for k, x in points.items():
            if k.startswith("q"):
                p = float(k[1:])
                scale = big_n * f[k]
                out[f"quantile{p!r}"] = (x, {f"le_{k}": -1.0 / scale, "one": p / scale})
        if "t60" in points:
            hc = lt_total / big_n
            fm, ft = f["q0.5"], f["t60"]
            coef = {"lt_t60": 1.0 / big_n, "le_q0.5": -ft * 0.6 / (big_n * fm), "one": -hc / big_n + ft * 0.6 * 0.5 / (big_n * fm)}
            out["arpr"] = (hc, coef)
        if "arpt" in names:
            v, coef = out["quantile0.5"]
            out["arpt"] = (0.6 * v, {k: 0.6 * c for k, c in coef.items()})

    estimates = []
    for text, name, params in asked:
        key = {"mean": "mean", "gini": "gini", "theil": "theil", "mld": "mld", "arpr": "arpr", "arpt": "arpt",
               "median": "quantile0.5"}.get(name)
        if name == "quantile":
            key = f"quantile{params[0]!r}"
        elif name == "ge":
            key = {0.0: "mld", 1.0: "theil"}.get(params[0], f"ge{params[0]!r}")
        elif name == "atkinson":
            key = f"atk{params[0]!r}"
        elif name in ("fgt", "headcount", "pgap"):
            key = f"fgt{({'headcount': 0.0, 'pgap': 1.0}.get(name) or params[0])!r}"
        value, coefs = out[key]
        s = math.sqrt(max(bases.variance(coefs), 0.0)) if se and coefs is not None else None
        estimates.append(StreamEstimate(text, float(value), s))
    return StreamResult(tuple(estimates), source.name, n, big_n, passes, time.perf_counter() - started)
