"""The poverty, richness and prosperity measures of the streaming estimators (:mod:`.streaming`):
Sen, Sen-Shorrocks-Thon, RMPG, the median of the poor, the richness indices, the prosperity gap, and
the QSR under convey's linearization (``bandwidth="convey"``) -- exact, with the linearized variables
of the in-memory kernels (``prosperity.measures.poverty``, ``convey_extra``, ``prosperity``), written as
sums of bases with coefficients known at the end, as the rest of the engine.

Notation of :mod:`.streaming`: a domain d (whole sample or a group), N = sum w, C_k and Ycum_k the
running sums in ascending income within the domain, the poor y < z (y <= z when ``inclusive``),
N_p = sum_poor w, Y_p = sum_poor w y, H = N_p / N, P1 = (1/N) sum_poor w g, g = 1 - y / z; r the
reference domain of the line (the whole sample, or d itself with ``line_within_groups``), u_m(r)
the median's linearized variable there (the line's own error, Osier 2009).

- Sen: S = P1 + (H - P1) G_p, G_p = sum_poor w y (2 C - w - N_p) / (N_p Y_p) (the Gini of the poor:
  the poor are a prefix of the domain's sorted run, so C is the domain's). u = [(1 - G_p) g 1{poor} +
  G_p 1{poor} - S] / N + (H - P1) u_Gp, u_Gp = (1 - G_p)/N_p + 2 [y (C - N_p/2) - Ycum] / (N_p Y_p) -
  G_p y / Y_p on the poor. Everything but G_p is known before the sorted pass that gives G_p, so u is
  two rank bases, u = U0 + G_p U1, each summed per row (:func:`_sen_bases`): fewer, less correlated
  bases, so the unit-PSU co-moments lose fewer digits than with the five terms apart.
  dS/dz = (1 - G_p)(H - P1)/z + f(z) [1 - (mu_p / z)(1 + G_p)].
- SST = (1/N^2) sum_poor w g (2 (N - C) + w); u = 2 (m - SST) / N, m = [g (N - C + w) + Gb] / N on the
  poor (Gb = sum of w g ranked before), P1 elsewhere: bases 1{poor} 2 (m - P1) / N (rank) and 1.
  dSST/dz = (1/N^2) sum_poor w (y / z^2)(2 (N - C) + w).
- RMPG = (t - m_p) / t, t = fraction x median(r) (Eurostat's rule), poor y < t, m_p the Eurostat median
  of the poor: the domain's sorted run at target N_p / 2 (average with the next unit only when it is
  poor too); under another quantile rule of the call (``quantile_convention=``), both medians by that
  rule (inverse CDF: no average; laeken: the first C_j > N_p / 2, :mod:`.streaming_conventions`). u = -(1{poor}/2 - 1{y <= m_p}) / (N f(m_p) t) + [-f(t) / (2 f(m_p) t) + m_p / t^2]
  fraction u_m(r) (the first term one basis, 1{y <= m_p} - 1{poor}/2, also for the median of the poor).
- median of the poor (convey ``svypoormed``): poor y <= t, t = fraction x median of d by the inverse CDF
  (convey), or fraction x the whole sample's Eurostat median for a group at the national line;
  u = [u_H / 2 - (1{y <= m_p} - H/2)/N] / f(m_p), u_H = (1{poor} - H)/N + f(t) fraction u_med,
  u_med = (1/2 - 1{y <= med}) / (N f(med)) on d itself (own line) or u_m(r) (national line);
  densities with convey's bandwidth sigma_w N^(-1/5) unless ``bandwidth=`` says otherwise.
- richness (convey ``svyrich``) at rho = fraction x median as for the median of the poor, rich y > rho:
  R = (1/N) sum_rich w h(y), u = (1{rich} h - R)/N + R'(rho) fraction u_med, R'(rho) =
  (1/N) sum_rich w dh/drho (for the headcount of the rich, -f(rho)).
- prosperity gap: PG = (1/N) sum w z / y, u = (z / y - PG)/N.
- QSR, convey's linearization: u = [y - u_T(.8) - QSR u_T(.2)] / T(.2), u_T(a) = y 1{y <= q_a} +
  S'(q_a) u_q(a), S'(q) = (1/h) sum w y phi((q - y)/h), u_q = -(1{y <= q} - a)/(N f(q)), h convey's.

Passes: the thresholds fraction x median are known after the engine's sorted pass 2, their
order-free terms and densities come in its pass 3. Rank terms at a threshold (Sen's Gini of the poor,
SST) and the medians of the poor (target N_p / 2, N_p from pass 3) need one more ascending pass
(pass 4); the indicators 1{y <= m_p} and the densities f(m_p) one more pass in any order (pass 5).
"""

from __future__ import annotations

import numpy as np

from ..measures.convey_extra import _rich_terms
from .domain_totals import domain_runs

MEASURES = ("sen", "sst", "rmpg", "poormed", "rich", "rich_fgt", "prosperity_gap")
_RANK_BASES = ("sen0", "sen1", "sstu")
_TIE_RTOL = 1e-12


def handles(name: str, spec) -> bool:
    """Whether this module computes ``name`` (the QSR only under convey's bandwidth: its linearization)."""
    return name in MEASURES or (name == "qsr" and spec.bandwidth == "convey")


# ============================================================================ bases and points


def point_pass(pt: str) -> int:
    """The pass after which a threshold point's value is known (medians of the poor "M...": pass 4)."""
    return 5 if pt.startswith("M") else 3


def basis_pass(b: tuple) -> int:
    kind = b[0]
    if kind in _RANK_BASES:
        return 4
    if kind in ("gt", "rich", "richd"):
        pt = b[-1]
        return 1 if pt.startswith("abs") or pt == "zabs" else point_pass(pt)
    if kind == "pmu":
        return point_pass(b[1])
    return 1


def basis_values(b: tuple, y: np.ndarray, x) -> np.ndarray:
    """Values of this module's order-free bases for the rows of a piece (``x(pt)``: thresholds per row)."""
    kind = b[0]
    if kind == "pg":  # z / y
        return b[1] / y
    if kind == "gt":
        return (y > x(b[1])).astype(np.float64)
    if kind == "pmu":  # 1{y <= m_p} - 1{poor} / 2: the median of the poor's u at a fixed line, up to 1/(N f(m_p))
        t = x(b[3])
        poor = (y <= t) if b[2] else (y < t)
        return (y <= x(b[1])).astype(np.float64) - 0.5 * poor
    if kind in ("rich", "richd"):
        rho = np.broadcast_to(x(b[-1]), y.shape)
        rich = y > rho
        out = np.zeros(y.size)
        hv, hd = _rich_terms(y[rich], rho[rich], b[2], b[1])
        out[rich] = hv if kind == "rich" else hd
        return out
    raise AssertionError(b)  # pragma: no cover


def _kind(name: str, g: float) -> str:
    return "cha" if name == "rich" else ("fgt1" if g <= 1 else "fgt2")


# ============================================================================ the measures' needs


class Later:
    """This module's part of a request: what each measure needs from the engine (bases, points,
    densities) and what it computes itself in passes 4-5 (rank sums at a threshold, medians of the poor)."""

    def __init__(self, spec):
        self.spec = spec
        self.rank: set = set()  # ("sen" | "sst", inclusive, threshold point)
        self.medians: list = []  # (threshold point, inclusive, convention): point "M{i}"
        self.thresholds: dict = {}  # "T{c}{fraction}" -> (median point, fraction)
        self.sums: dict = {}  # per-domain sums of pass 4
        self.se = spec.se

    def _inclusive(self, name: str) -> bool:
        return bool(self.spec.inclusive) if self.spec.inclusive is not None else name == "poormed"

    def _median_point(self, n, conv: str) -> str:
        n.quantiles.add(0.5)
        pt = "i0.5" if conv == "inverse_cdf" else "q0.5"
        n.points.add(pt)
        return pt

    def _threshold(self, n, conv: str, frac: float) -> str:
        """fraction x median of the domain under ``conv`` (own line), or x the whole sample's Eurostat
        median (a group at the national line), as the in-memory table layer calls the kernel."""
        pt = f"T{conv[0]}{frac!r}"
        self.thresholds[pt] = (self._median_point(n, conv), frac)
        n.quantiles.add(0.5)
        n.points.add(pt)
        return pt

    def _poor_median(self, n, tpt: str, incl: bool, conv: str) -> str:
        key = (tpt, incl, conv)
        if key not in self.medians:
            self.medians.append(key)
        pt = f"M{self.medians.index(key)}"
        n.points.add(pt)
        return pt

    def needs(self, n, name: str, p: dict) -> tuple[set, set]:
        """(own bases, reference bases) of measure ``name``; fills ``n`` (streaming._Needs)."""
        spec, se = self.spec, self.se
        relative = spec.line_kind != "absolute"
        if name in ("sen", "sst"):
            incl = self._inclusive(name)
            pt = "zabs" if spec.line_kind == "absolute" else "z"
            n.points.add(pt)
            self.rank.add((name, incl, pt))
            own = {("fgt", 1.0, incl, pt), ("fgt", 0.0, incl, pt), ("one",), ("yle" if incl else "ylt", pt)}
            if name == "sen" and se:
                own |= {("sen0", incl, pt), ("sen1", incl, pt)}
                n.densities.add(pt)  # f(z), computed with the SE even at a fixed line (as the kernel)
            elif se:
                own.add(("sstu", incl, pt))
            return own, (n._line_ref(spec.relative_to) if relative and se else set())
        if name == "rmpg":
            frac = float(p.get("fraction", 0.6))
            tpt = f"t{frac!r}"
            n.points.add(tpt)
            n.quantiles.add(0.5)
            own = {("fgt", 0.0, False, tpt)}
            mp = self._poor_median(n, tpt, False, spec.quantile_rule)  # the call's quantile rule (streaming_conventions)
            if not se:
                return own, set()
            n.densities |= {tpt, mp}
            return own | {("pmu", mp, False, tpt)}, n._line_ref("median")
        if name in ("poormed", "rich", "rich_fgt"):
            frac = float(p.get("fraction", 0.6))
            conv = spec.conventions.get(name, "inverse_cdf")
            rule = spec.bandwidth or "convey"
            tpt = self._threshold(n, conv, frac)
            med = self._median_point(n, conv)
            if name == "poormed":
                incl = self._inclusive(name)
                own = {("fgt", 0.0, incl, tpt)}
                mp = self._poor_median(n, tpt, incl, conv)
                if not se:
                    return own, set()
                n.densities |= {f"{mp}@{rule}", f"{tpt}@{rule}", f"{med}@{rule}"}
                return own | {("pmu", mp, incl, tpt), ("le", med), ("one",)}, n._line_ref("median")
            g = float(p["g"])
            kind = _kind(name, g)
            own = {("rich", kind, g, tpt), ("one",)}
            if not se:
                return own, set()
            n.densities.add(f"{med}@{rule}")
            if kind == "fgt1" and g == 0:
                n.densities.add(f"{tpt}@{rule}")
            else:
                own.add(("richd", kind, g, tpt))
            return own | {("le", med)}, n._line_ref("median")
        if name == "prosperity_gap":
            return {("pg", float(p["z"])), ("one",)}, set()
        if name == "qsr":  # convey's linearization (bandwidth="convey")
            own = {("y",), ("one",)}
            for a in (0.8, 0.2):
                pt = f"q{a!r}"
                n.quantiles.add(a)
                n.points.add(pt)
                own.add(("yle", pt))
                if se:
                    own.add(("le", pt))
                    n.densities |= {f"{pt}@convey", f"{pt}@convey@y"}
            return own, set()
        raise AssertionError(name)  # pragma: no cover

    # ------------------------------------------------------------------------ thresholds, passes 4-5

    def set_points(self, points: dict, quant: dict, ref_dom: np.ndarray) -> None:
        """The thresholds fraction x median, once the engine's sorted pass has the medians."""
        own = ref_dom == np.arange(ref_dom.size)
        for pt, (med, frac) in self.thresholds.items():
            points[pt] = np.where(own, frac * points[med], frac * quant[0.5][ref_dom])

    def later_passes(self, source, piece, domains, accumulate, acc, points, N, by_pass, pair_list, unit_pairs,
                     dens: dict, hh: dict, mapped=None) -> int:
        """Pass 4 (ascending: rank sums at the thresholds, medians of the poor) and pass 5 (any order: the
        bases and densities at the medians of the poor; on the workers with ``mapped``, a source's
        ``map_chunks``), when asked; the number of passes made."""
        from .streaming import indicator_and_density_pass

        passes = 0
        if self.rank or self.medians:
            passes += 1
            self._sorted_pass(source, piece, domains, acc, points, N, pair_list[4], unit_pairs)
        late = [k for k in dens if point_pass(k.split("@")[0]) == 5]
        if by_pass[5] or late:
            passes += 1
            indicator_and_density_pass(source, piece, domains, accumulate, 5, dens, late, points, hh, self.spec, acc,
                                       mapped)
        return passes

    def _sorted_pass(self, source, piece, domains, acc, points, N, pairs, unit_pairs) -> None:
        from .streaming import _basis_values

        D = N.size
        n_poor = {(incl, pt): acc.totals(("fgt", 0.0, incl, pt)) for _, incl, pt in self.rank}
        with np.errstate(divide="ignore", invalid="ignore"):  # a domain with no rows (N = 0): undefined, reported per row
            gap = {(incl, pt): acc.totals(("fgt", 1.0, incl, pt)) / N for _, incl, pt in self.rank}  # P1
        y_poor = {(incl, pt): acc.totals(("yle" if incl else "ylt", pt)) for _, incl, pt in self.rank}
        for tpt, incl, _ in self.medians:
            n_poor[(incl, tpt)] = acc.totals(("fgt", 0.0, incl, tpt))
        sums = self.sums
        for kind, incl, pt in self.rank:
            for part in (("sgp",) if kind == "sen" else ("sstv", "sstd")):
                sums[(part, incl, pt)] = np.zeros(D)
        carry_c, carry_yc = np.zeros(D), np.zeros(D)
        carry_g = {(incl, pt): np.zeros(D) for kind, incl, pt in self.rank if kind == "sst"}
        search = [_PoorMedian(D, n_poor[(incl, tpt)], conv == "eurostat", conv == "laeken") for tpt, incl, conv in self.medians]
        for ch in source.sorted_chunks():
            y, w, cell, psu = piece(ch)
            if not y.size:
                continue
            for L, dom in domains(cell):
                _, ds, (ys, ws, ps), starts, stops = domain_runs(dom, L.offset, y, w, psu)
                ends = stops - 1
                runs = list(zip(starts.tolist(), (ends + 1).tolist()))
                cw = _running(ws, ds, runs, carry_c)
                yc = _running(ws * ys, ds, runs, carry_yc)
                rank_vals = {}
                for kind, incl, pt in sorted(self.rank, key=repr):
                    z = points[pt][ds]
                    poor = ys <= z if incl else ys < z
                    p1, n_d = gap[(incl, pt)][ds], N[ds]
                    if kind == "sen":
                        np_d = n_poor[(incl, pt)][ds]
                        sums[("sgp", incl, pt)] += np.bincount(ds, weights=np.where(poor, ws * (ys * (2.0 * cw - ws - np_d)), 0.0),
                                                               minlength=D)
                        if self.se:
                            rank_vals.update(_sen_bases(incl, pt, poor, ys, cw, yc, z, n_d, np_d,
                                                        y_poor[(incl, pt)][ds], p1))
                    else:
                        g = np.where(poor, 1.0 - ys / z, 0.0)
                        wg = ws * g
                        before = _running(wg, ds, runs, carry_g[(incl, pt)]) - wg
                        above = N[ds] - cw
                        twice = 2.0 * above + ws
                        sums[("sstv", incl, pt)] += np.bincount(ds, weights=wg * twice, minlength=D)
                        sums[("sstd", incl, pt)] += np.bincount(ds, weights=np.where(poor, ws * ys / z ** 2 * twice, 0.0),
                                                                minlength=D)
                        if self.se:  # u_SST + 2 (SST - P1) / N: 2 [m - P1] / N on the poor, 0 elsewhere
                            rank_vals[("sstu", incl, pt)] = np.where(
                                poor, 2.0 / n_d ** 2 * (g * (above + ws) + before) - 2.0 * p1 / n_d, 0.0)
                        _carry(carry_g[(incl, pt)], before + wg, ds, ends)
                for b, v in rank_vals.items():
                    acc.add(b, ds, ps, ws * v)
                for (tpt, incl, _), s in zip(self.medians, search):
                    z = points[tpt][ds]
                    s.feed(ds, ys, cw, ys <= z if incl else ys < z, starts)
                if unit_pairs:
                    def own_x(pt):
                        return points[pt][ds]

                    for a, b, scope in pairs:
                        if scope == "ref" and dom is None:
                            continue
                        va = rank_vals[a] if a in rank_vals else _basis_values(a, ys, own_x)
                        if scope == "ref":
                            vb = _basis_values(b, ys, lambda pt: points[pt][0])
                        else:
                            vb = rank_vals[b] if b in rank_vals else _basis_values(b, ys, own_x)
                        acc.add_pair((a, b, scope), ds, ps, ws * va, ws * vb, L.offset, L.offset + len(L.keys), scope == "ref")
                _carry(carry_c, cw, ds, ends)
                _carry(carry_yc, yc, ds, ends)
        for i, s in enumerate(search):
            points[f"M{i}"] = s.result()

    # ------------------------------------------------------------------------ values

    def estimate(self, ctx, name: str, p: dict, d: int):
        """(value, own coefficients, reference-domain coefficients, line) of measure ``name`` in domain d
        (``ctx``: streaming._Values)."""
        spec, se = self.spec, self.se
        N = float(ctx.N[d])
        r = int(ctx.ref_dom[d])
        relative = spec.line_kind != "absolute"
        if name in ("sen", "sst"):
            incl = self._inclusive(name)
            pt = "zabs" if spec.line_kind == "absolute" else "z"
            z = float(ctx.points[pt][d])
            if not (np.isfinite(z) and z > 0):
                raise ValueError(f"the poverty line must be a positive finite number, got {z!r}")
            poor = ("fgt", 0.0, incl, pt)
            n_p = ctx.tot(poor, d)
            if n_p == 0:  # no poor: 0, and so is its linearized variable
                return 0.0, {}, {}, z
            p1 = ctx.tot(("fgt", 1.0, incl, pt), d) / N
            if name == "sen":
                value, own, deriv = self._sen(ctx, d, incl, pt, z, N, n_p, p1)
            else:
                value = self.sums[("sstv", incl, pt)][d] / N ** 2
                deriv = self.sums[("sstd", incl, pt)][d] / N ** 2
                own = {("sstu", incl, pt): 1.0, ("one",): 2.0 * (p1 - value) / N}
            if not se:
                return value, {}, {}, z
            ref = {}
            if relative and deriv:
                ref = {k: deriv * spec.relative_line * c for k, c in ctx.ref_u(spec.relative_to, r).items()}
            return value, own, ref, z
        if name == "rmpg":
            frac = float(p.get("fraction", 0.6))
            tpt = f"t{frac!r}"
            t = float(ctx.points[tpt][d])
            poor = ("fgt", 0.0, False, tpt)
            if ctx.tot(poor, d) == 0:
                raise ValueError(f"the relative median poverty gap is undefined: no income is below the line {t:g}")
            mp = f"M{self.medians.index((tpt, False, spec.quantile_rule))}"
            m_p = float(ctx.points[mp][d])
            value = (t - m_p) / t
            if not se:
                return value, {}, {}, t
            f_t, f_mp = ctx.density(tpt, d), ctx.density(mp, d)
            deriv = -f_t / (2.0 * f_mp * t) + m_p / t ** 2
            scale = 1.0 / (N * f_mp * t)
            own = {("pmu", mp, False, tpt): scale}
            ref = {k: deriv * frac * c for k, c in ctx.ref_u("median", r).items()} if deriv else {}
            return value, own, ref, t
        if name in ("poormed", "rich", "rich_fgt"):
            return self._relative_to_median(ctx, name, p, d, N, r)
        if name == "prosperity_gap":
            b = ("pg", float(p["z"]))
            value = ctx.tot(b, d) / N
            return value, {b: 1.0 / N, ("one",): -value / N}, {}, None
        if name == "qsr":
            return self._qsr_convey(ctx, d, N)
        raise AssertionError(name)  # pragma: no cover

    def _sen(self, ctx, d, incl, pt, z, N, n_p, p1):
        """Sen's value, own coefficients and dS/dz (module docstring)."""
        yp_b = ("yle" if incl else "ylt", pt)
        y_p = ctx.tot(yp_b, d)
        h = n_p / N
        mu_p = y_p / n_p
        gp = self.sums[("sgp", incl, pt)][d] / (n_p * y_p) if mu_p > 0 else 0.0  # all poor incomes 0: equal
        value = p1 + (h - p1) * gp
        if not self.se:
            return value, {}, None
        f = ctx.density(pt, d)
        deriv = (1.0 - gp) * (h - p1) / z + f * (1.0 - (mu_p / z) * (1.0 + gp))
        return value, {("sen0", incl, pt): 1.0, ("sen1", incl, pt): gp}, deriv

    def _relative_to_median(self, ctx, name, p, d, N, r):
        """The median of the poor and the richness indices (convey's), own line or the national one."""
        spec = self.spec
        frac = float(p.get("fraction", 0.6))
        conv = spec.conventions.get(name, "inverse_cdf")
        rule = spec.bandwidth or "convey"
        tpt = f"T{conv[0]}{frac!r}"
        med = "i0.5" if conv == "inverse_cdf" else "q0.5"
        t = float(ctx.points[tpt][d])
        own_line = r == d
        line = frac * float(ctx.quant[0.5][r])  # as the table layer reports it: fraction x the Eurostat median
        if not own_line and not (np.isfinite(t) and t > 0):
            raise ValueError(f"the poverty line must be a positive finite number, got {t!r}")
        if name == "poormed":
            incl = self._inclusive(name)
            poor = ("fgt", 0.0, incl, tpt)
            n_p = ctx.tot(poor, d)
            if n_p == 0:
                raise ValueError(f"the median of the poor is undefined: no income is {'at or ' if incl else ''}below "
                                 f"the line {t:g}")
            mp = f"M{self.medians.index((tpt, incl, conv))}"
            m_p = float(ctx.points[mp][d])
            if not self.se:
                return m_p, {}, {}, line
            f_mp, f_t = ctx.density(f"{mp}@{rule}", d), ctx.density(f"{tpt}@{rule}", d)
            own = {("pmu", mp, incl, tpt): -1.0 / (N * f_mp)}
            deriv = 0.5 * f_t / f_mp
            if own_line:  # u_H's line term f(t) fraction u_med, u_med on d's own (convey) median
                c = 0.5 * f_t * frac / (N * ctx.density(f"{med}@{rule}", d) * f_mp)
                own[("le", med)] = -c
                own[("one",)] = 0.5 * c
                return m_p, own, {}, line
            ref = {k: deriv * frac * v for k, v in ctx.ref_u("median", r).items()} if deriv else {}
            return m_p, own, ref, line
        g = float(p["g"])
        kind = _kind(name, g)
        value = ctx.tot(("rich", kind, g, tpt), d) / N
        if not self.se:
            return value, {}, {}, line
        if not ctx.h[rule][d] > 0:  # the kernel takes the bandwidth first
            ctx.density(f"{med}@{rule}", d)
        deriv = -ctx.density(f"{tpt}@{rule}", d) if kind == "fgt1" and g == 0 else ctx.tot(("richd", kind, g, tpt), d) / N
        own = {("rich", kind, g, tpt): 1.0 / N, ("one",): -value / N}
        if own_line:
            c = deriv * frac / (N * ctx.density(f"{med}@{rule}", d))
            own[("le", med)] = -c
            own[("one",)] += 0.5 * c
            return value, own, {}, line
        ref = {k: deriv * frac * v for k, v in ctx.ref_u("median", r).items()} if deriv else {}
        return value, own, ref, line

    def _qsr_convey(self, ctx, d, N):
        Y = float(ctx.Y[d])
        if Y == 0:
            raise ValueError("income shares are undefined when total income is 0")
        top, low = ctx.tot(("yle", "q0.8"), d), ctx.tot(("yle", "q0.2"), d)
        if low == 0:
            raise ValueError("the share ratio is undefined: the poorest 20 % have zero total income")
        ratio = (Y - top) / low
        if not self.se:
            return ratio, {}, {}, None
        u = {("y",): 1.0 / low}
        for a, scale in ((0.8, -1.0 / low), (0.2, -ratio / low)):
            pt = f"q{a!r}"
            f, s1 = ctx.density(f"{pt}@convey", d), ctx.density(f"{pt}@convey@y", d)
            k = s1 / (N * f)  # u_T = y 1{y <= q} - S'(q) (1{y <= q} - a) / (N f(q))
            for b, c in ((("yle", pt), 1.0), (("le", pt), -k), (("one",), a * k)):
                u[b] = u.get(b, 0.0) + scale * c
        return ratio, u, {}, None


# ============================================================================ helpers of the sorted pass


def _running(x: np.ndarray, ds: np.ndarray, runs, carry: np.ndarray) -> np.ndarray:
    """Cumulative sums of x within each domain's run, continuing from ``carry`` (the previous pieces)."""
    out = np.empty(x.size)
    for a, b in runs:
        np.cumsum(x[a:b], out=out[a:b])
        out[a:b] += carry[ds[a]]
    return out


def _sen_bases(incl, pt, poor, y, cw, yc, z, n, n_p, y_p, p1) -> dict:
    """Sen's u = U0 + G_p U1 per row (module docstring, the terms known before G_p grouped per row):
    U0 = 1{poor}[g/N + k/N_p + 2 k R / (N_p Y_p)] - P1/N, U1 = 1{poor}[(1 - g)/N - k/N_p - k y / Y_p] - k/N,
    k = H - P1, R = y (C - N_p/2) - Ycum; without poor income (Y_p = 0) G_p = 0 and U0 has no Gini term."""
    k = n_p / n - p1
    gini = y_p > 0
    safe_np, safe_yp = np.where(n_p > 0, n_p, 1.0), np.where(gini, y_p, 1.0)
    g = np.where(poor, 1.0 - y / z, 0.0)
    r = np.where(poor & gini, y * (cw - 0.5 * n_p) - yc, 0.0)
    u0 = np.where(poor, g / n + np.where(gini, k / safe_np, 0.0), 0.0) + 2.0 * k * r / (safe_np * safe_yp) - p1 / n
    u1 = np.where(poor, (1.0 - g) / n - k / safe_np - k * y / safe_yp, 0.0) - k / n
    return {("sen0", incl, pt): u0, ("sen1", incl, pt): u1}


def _carry(carry: np.ndarray, cum: np.ndarray, ds: np.ndarray, ends: np.ndarray) -> None:
    carry[ds[ends]] = cum[ends]


class _PoorMedian:
    """The median of the poor per domain in an ascending pass: the first poor unit with C_j >= N_p / 2
    (relative tolerance 1e-12); Eurostat's rule averages with the next unit when C_j = N_p / 2 and that
    unit is poor too (it may be in the next piece), the inverse CDF takes y_j; laeken's rule (``strict``)
    the first poor unit with C_j > N_p / 2 (1 + 1e-12)."""

    def __init__(self, D: int, n_poor: np.ndarray, eurostat: bool, strict: bool = False):
        self.n_poor = n_poor
        self.target = 0.5 * n_poor
        self.eurostat = eurostat
        self.strict = strict
        self.found = np.zeros(D, bool)
        self.value = np.full(D, np.nan)
        self.pending: dict = {}
        self.last = np.full(D, -np.inf)  # the last poor income seen (j = q - 1 when rounding misses)

    def feed(self, ds, ys, cw, poor, starts) -> None:
        for s in starts.tolist():
            d = int(ds[s])
            if d in self.pending:
                v = self.pending.pop(d)
                self.value[d] = 0.5 * (v + float(ys[s])) if poor[s] else v
        if poor.any():
            np.maximum.at(self.last, ds[poor], ys[poor])
        target = self.target[ds]
        above = cw > target * (1 + _TIE_RTOL) if self.strict else cw >= target * (1 - _TIE_RTOL)
        hit = np.flatnonzero(poor & above & ~self.found[ds])
        if not hit.size:
            return
        doms, first = np.unique(ds[hit], return_index=True)
        for d, j in zip(doms.tolist(), hit[first].tolist()):
            self.found[d] = True
            if self.eurostat and abs(cw[j] - self.target[d]) <= _TIE_RTOL * self.n_poor[d]:
                if j + 1 < ds.size and ds[j + 1] == d:
                    self.value[d] = 0.5 * (float(ys[j]) + float(ys[j + 1])) if poor[j + 1] else float(ys[j])
                else:
                    self.pending[d] = float(ys[j])
            else:
                self.value[d] = float(ys[j])

    def result(self) -> np.ndarray:
        for d, v in self.pending.items():
            self.value[d] = v
        miss = ~self.found & np.isfinite(self.last)
        self.value[miss] = self.last[miss]
        return self.value
