"""Out-of-core estimators of the remaining inequality and polarization measures, exact, with their
linearized variables, for :mod:`prosperity.backends.streaming` (its passes, domains and variance).

Each measure is written, as the streaming module's own, as a value from per-domain totals and a
linearized variable u = sum_i c_i b_i over *bases* b_i whose per-(domain, PSU) totals of w b_i the
passes accumulate; the coefficients c_i are known at the end. Notation as in
:mod:`prosperity.measures.gini`: incomes ascending in each domain, C_k = sum_{j<=k} w_j,
Ycum_k = sum_{j<=k} w_j y_j, N = C_n, Y = sum w y, mu = Y / N.

Order-free measures (bases of the third pass, any order, at the domain's mean or mean log known after
pass 1; the deviations are taken from the centre itself, never from raw moments, so no cancellation):

    cv        CV = sqrt(V) / mu (x sqrt(n / (n - 1)), "sample"),  V = (1/N) sum w (y - mu)^2
              u = CV [((y - mu)^2 / V - 1) / 2 - (y - mu) / mu] / N           bases (y - mu)^2, y, 1
    varlog    V = (1/N) sum w (ln y - c)^2, c = m = (1/N) sum w ln y ("log_mean") or ln mu ("log_of_mean")
              u = [(ln y - c)^2 - V + 2 (c - m)(y / mu - 1)] / N              bases (ln y - c)^2, y, 1
    jdiv      J = Theil T + MLD (convey svyjdiv), u = u_T + u_MLD (the streaming module's entropy bases)

Rank-based measures: bases of running sums, computed in a sorted fourth pass (after the order-free
third), when each domain's final cumulative weight N = C_n is known from the second; the cumulative
sums are carried into each piece as their first term, so C_k and Ycum_k are the in-memory kernels'
values bit for bit (the S-Gini's d_n = (N - C_n) / N is exactly 0, as in memory):

    sgini     G(nu) = 1 - S / mu, S = sum_k y_k [d_{k-1}^nu - d_k^nu], d_k = (N - C_k) / N
              (Donaldson & Weymark 1980; Yitzhaki 1983); with t_k = y_k (d_{k-1}^(nu-1) - d_k^(nu-1)),
              u = -nu / (N mu) [sum_{j<=k} t_j + y_k d_k^(nu-1)] + (1 - G)(y - mu) / (N mu) + nu S / (N mu)
              basis b = sum_{j<=k} t_j + y_k d_k^(nu-1) (running), y, 1.  nu = 2: the Gini.
    zenga     Z = 1 - (1/N) sum w B C / (H K),  H = C_k, K = Y - Ycum_{k-1}, B = N - H, C = Y - K
              (Zenga 2007; convey svyzenga, Langel & Tille 2012). Its u has five terms,
              u_k = -B C / (N H K) - S_2 / N^2 - y S_3 / N + sum_{i>=k} a_i + (Y y / N) sum_{i<=k} b_i,
              S_2 = sum w C / K, S_3 = sum w B / (H K), a = w C / (H^2 K), b = w B / (H K^2):
              the tail sum is A - sum_{i<k} a_i with A = sum a, so the basis
              z_k = -B C / (N H K) - sum_{i<k} a_i + (Y y_k / N) sum_{i<=k} b_i is a running sum and
              u = z + (A - S_2 / N^2) - (S_3 / N) y. Ties: its terms differ inside a run of equal
              incomes, so the value (unequal weights) and the SE (tied units in different strata or
              PSUs) follow the order of the ties, in memory as here; the stream takes its source's.
    wolfson,  W = f (mu - 2 GL(0.5) - G mu) / m, f = 2 (Wolfson 1994) or 1 (Foster-Wolfson, "pysal"),
    foster_   u = f [(1 - G) u_mu - 2 u_GL - mu u_G] / m - (W / m) u_m (the kernel's), with the Gini's
    wolfson   running basis y C - Ycum (here in the sorted fourth pass), u_GL's (y - q) 1{y < q} and
              u_m's 1{y <= m} (the streaming module's bases), GL(0.5) the
              generalized Lorenz ordinate (boundary unit split), m the Eurostat median, u_m its
              linearization with Osier's kernel density.
    esteban_  (DER form, Epanechnikov kernel; :class:`_EstebanRay`): two look-ahead windows of h over
    ray       the sorted pass give f_i and g_k exactly; the mean absolute differences a_i and the c
              term are running sums, their totals coefficients.

Every row its own PSU (no PSU column): the rank-based measures' u is a combination of running-sum
bases with large, nearly cancelling coefficients (Zenga's tail sum A - sum_{i<k} a_i; the Gini's
y C - Ycum against y and 1), so the pair sums of the streaming module would lose up to ~1e-12 of the
variance; a fifth, sorted pass (:func:`unit_variances`) forms t_k = w_k u_k per row instead, every
coefficient known, and sums t and t^2 per (domain, stratum) as the in-memory estimator does.

wbpip's Wolfson (``conventions={"wolfson": "wbpip"}``, :mod:`prosperity.measures.wbpip_md`): its median,
the unit at round(C_k / N, 10) >= 0.5 with N = C_n exactly, and the weight and income strictly below
it are found in the sorted pass 4; one more order-free pass gives its terms 1{y <= m}, 1{y < m},
y 1{y < m} per (domain, PSU) and the kernel density f(m).
"""

from __future__ import annotations

import math

import numpy as np

from .domain_totals import domain_runs

# measure names of the registry (prosperity.measures.catalog) streamed here
MEASURES = ("sgini", "cv", "varlog", "zenga", "jdiv", "wolfson", "foster_wolfson", "esteban_ray")
# conventions streamed (the in-memory kernels' defaults first)
CONVENTIONS = {"cv": ("population", "sample"), "varlog": ("log_mean", "log_of_mean"),
               "wolfson": ("wolfson1994", "pysal", "wbpip")}
# basis kinds of this module: order-free at a centre point, and running sums over the sorted fourth pass
_CENTRED = ("dev2", "lndev2")
_WB = ("wble", "wblt", "wbylt")  # wbpip's Wolfson: 1{y <= m}, 1{y < m}, y 1{y < m} at its median (a pass after 4)
SORTED_KINDS = ("sgini", "zenga", "ygc", "er", "wbm") + _WB
KINDS = _CENTRED + SORTED_KINDS
_FACTOR = {"wolfson1994": 2.0, "pysal": 1.0}


# ============================================================================ what each measure needs


def _tie_order_matters(n) -> bool:
    """Whether the fourth pass must see tied incomes in the rows' order (the in-memory stable sort):
    Zenga's per-unit terms differ inside a run of equal incomes of unequal weights or designs."""
    return ("zenga",) in n.sorted3


def needs(n, name: str, p: dict) -> set:
    """The bases (own domain) of measure ``name`` for the streaming module's ``_Needs`` ``n``; adds the
    quantiles, Lorenz points, points, densities and sorted bases it needs to ``n``."""
    base = {("y",), ("one",)}
    if name == "sgini":
        nu = float(p["nu"])
        if nu == 2.0:  # the Gini (the kernel calls gini_sorted)
            return n._measure("gini", {})[0]
        n.sorted3.add(("sgini", nu))
        return base | {("sgini", nu)}
    if name == "cv":
        n.points.add("@mean")
        return base | {("dev2", "@mean")}
    if name == "varlog":
        pt = "@lnmean" if n.spec.conventions.get("varlog", "log_mean") == "log_mean" else "@lnmu"
        n.points.add(pt)
        return base | {("lndev2", pt), ("lny",)}  # ln y: the mean log m (the centre, or the MLD of log_of_mean)
    if name == "jdiv":
        return base | {("ylny",), ("lny",)}
    if name == "zenga":
        n.sorted3.add(("zenga",))
        return base | {("zenga",)}
    if name == "wolfson" and n.spec.conventions.get("wolfson") == "wbpip":
        n.gini = True
        n.quantiles |= {0.25, 0.75}  # Osier's bandwidth of f(m)
        n.sorted3 |= {("ygc",), ("wbm",)} | {(k, "@wb") for k in _WB}
        return base | {("ygc",)} | {(k, "@wb") for k in _WB}
    if name in ("wolfson", "foster_wolfson"):
        n.gini = True
        n.quantiles.add(0.5)
        n.points |= {"q0.5", "L0.5"}
        n.lorenz.add(0.5)
        if n.spec.se:
            n.densities.add("q0.5")
        n.sorted3.add(("ygc",))
        return base | {("ygc",), ("ydlt", "L0.5"), ("le", "q0.5")}
    if name == "esteban_ray":
        n.points.add("@mean")  # sigma of the bandwidth: the deviations from the mean (third pass)
        n.sorted3.add(("er", float(p["alpha"])))
        return base | {("dev2", "@mean"), ("er", float(p["alpha"]))}
    raise AssertionError(name)  # pragma: no cover


def set_points(points: dict, n, N: np.ndarray, Y: np.ndarray, acc) -> None:
    """The centres of this module's order-free bases, per domain, after pass 1."""
    if "@mean" in n.points:
        points["@mean"] = Y / N
    if "@lnmu" in n.points:
        with np.errstate(divide="ignore", invalid="ignore"):
            points["@lnmu"] = np.log(Y / N)
    if "@lnmean" in n.points:
        points["@lnmean"] = _mean_log(acc.totals(("lny",)), N, float(points["K"][0]))


def _mean_log(t_lny, N, k: float):
    """m = (1/N) sum w ln y from the total of w ln(y / K) (K a power of 2)."""
    return t_lny / N + math.log(k)


def basis_values(b: tuple, y: np.ndarray, x) -> np.ndarray:
    """Values of an order-free basis of this module for the rows of a piece (``x(pt)``: the centre)."""
    kind = b[0]
    if kind == "dev2":
        dev = y - x(b[1])
        return dev * dev
    if kind == "lndev2":
        with np.errstate(divide="ignore", invalid="ignore"):
            dev = np.log(y) - x(b[1])
        return dev * dev
    if kind == "wble":
        return (y <= x(b[1])).astype(np.float64)
    if kind == "wblt":
        return (y < x(b[1])).astype(np.float64)
    if kind == "wbylt":
        return np.where(y < x(b[1]), y, 0.0)
    raise AssertionError(b)  # pragma: no cover - the sorted bases come from SortedPass


# ============================================================================ the sorted fourth pass


class SortedPass:
    """Running sums of the sorted fourth pass, per domain, carried from piece to piece: the values of the
    sorted bases for every row of a piece (:meth:`piece`) and the per-domain sums of the values
    (S of the S-Gini, the Zenga sums)."""

    def __init__(self, n, N, Y, total_c, total_yc=None, cnt=None, acc=None):
        self.kinds = sorted((b for b in n.sorted3 if b[0] not in ("er", "wbm") + _WB), key=repr)
        self.wb = ("wbm",) in n.sorted3
        D = N.size
        self.Nc = np.array(total_c, dtype=np.float64)  # C_n of each domain (pass 2): the kernels' N = cumw[-1]
        self.Y = np.asarray(Y, dtype=np.float64)
        self.c = np.zeros(D)
        self.yc = np.zeros(D)
        self.sg = {b[1]: dict(prev_d=np.ones(D), prev_m=np.ones(D), cum=np.zeros(D), S=np.zeros(D))
                   for b in self.kinds if b[0] == "sgini"}
        self.zg = dict(cum4=np.zeros(D), cum5=np.zeros(D), S1=np.zeros(D), S2=np.zeros(D), S3=np.zeros(D),
                       S4=np.zeros(D))
        self.er = {}
        if self.wb:  # wbpip's median m (first unit with round(C/N, 10) >= 0.5) and C, Ycum before its run of ties
            self.wb_m, self.wb_b, self.wb_a = np.full(D, np.nan), np.full(D, np.nan), np.full(D, np.nan)
            self.wb_last = np.full(D, np.nan)  # income of the last unit read, C and Ycum before its run
            self.wb_run_c, self.wb_run_yc = np.zeros(D), np.zeros(D)
        for b in n.sorted3:
            if b[0] == "er" and acc is not None:  # (unit_variances sets its own)
                sigma = np.sqrt(acc.totals(("dev2", "@mean")) / self.Nc)
                self.er[b] = _EstebanRay(b[1], self.Nc, self.Y, np.asarray(total_yc, dtype=np.float64), np.asarray(cnt), sigma)

    def finish(self, emit) -> None:
        """The units still held by the look-ahead windows (Esteban-Ray), at the end of the pass."""
        for b, er in self.er.items():
            er.finish(lambda *a, b=b: emit(b, *a))

    def piece(self, domains, y: np.ndarray, w: np.ndarray, psu=None, emit=None) -> dict:
        """{layer offset: {basis: values in the piece's row order}} for a piece of ascending incomes; the
        Esteban-Ray bases, known only once a window of h above each unit has been read, are handed to
        ``emit(basis, domain, y, w, psu, values)`` as they are completed."""
        out = {}
        wy = w * y
        for L, dom in domains:
            order, ds, (ys, ws, wys), starts, stops = domain_runs(dom, L.offset, y, w, wy)
            vals = {b: np.empty(y.size) for b in self.kinds}
            for a, z in zip(starts.tolist(), stops.tolist()):
                d = int(ds[a])
                c = np.cumsum(np.r_[self.c[d], ws[a:z]])[1:]
                yc = np.cumsum(np.r_[self.yc[d], wys[a:z]])[1:]
                if self.wb:
                    self._wbpip(d, ys[a:z], c, yc)
                self.c[d], self.yc[d] = c[-1], yc[-1]
                for b in self.kinds:
                    vals[b][a:z] = self._run(b, d, ys[a:z], ws[a:z], wys[a:z], c, yc)
                if self.er:
                    ps = psu if order is None else psu[order]
                    for b, er in self.er.items():
                        er.feed(d, ys[a:z], ws[a:z], ps[a:z], c, yc, lambda *a, b=b: emit(b, *a))
            if order is not None:
                for b, v in vals.items():
                    back = np.empty_like(v)
                    back[order] = v
                    vals[b] = back
            out[L.offset] = vals
        return out

    def _wbpip(self, d, y, c, yc) -> None:
        """wbpip.md_compute_median's unit (prosperity.measures.wbpip_md.median_sorted) and the weight and
        income of the units strictly below it, for one run of domain ``d`` (before its carry moves)."""
        c_before = np.r_[self.c[d], c[:-1]]
        yc_before = np.r_[self.yc[d], yc[:-1]]
        new = y != np.r_[self.wb_last[d], y[:-1]]  # the first unit of each run of equal incomes
        at = np.maximum.accumulate(np.where(new, np.arange(y.size), -1))  # its position (-1: the run began before)
        run_c = np.where(at >= 0, c_before[np.maximum(at, 0)], self.wb_run_c[d])
        run_yc = np.where(at >= 0, yc_before[np.maximum(at, 0)], self.wb_run_yc[d])
        if np.isnan(self.wb_m[d]):
            hit = np.flatnonzero(np.round(c / self.Nc[d], 10) >= 0.5)
            if hit.size:
                j = int(hit[0])
                self.wb_m[d], self.wb_b[d], self.wb_a[d] = y[j], run_c[j], run_yc[j]
        self.wb_last[d], self.wb_run_c[d], self.wb_run_yc[d] = y[-1], run_c[-1], run_yc[-1]

    def _run(self, b, d, y, w, wy, c, yc) -> np.ndarray:
        """Values of basis ``b`` for one run of domain ``d`` (ascending), updating its running sums."""
        kind = b[0]
        if kind == "ygc":  # the Gini's y C - Ycum
            return y * c - yc
        if kind == "sgini":  # prosperity.measures.gini._sgini_general, operation by operation
            st = self.sg[b[1]]
            nu = b[1]
            big_n = self.Nc[d]
            dd = big_n - c
            dd *= 1.0 / big_n
            np.maximum(dd, 0.0, out=dd)
            dm1 = np.power(dd, nu - 1.0)
            dp = np.r_[st["prev_d"][d], dd[:-1]]
            mp = np.r_[st["prev_m"][d], dm1[:-1]]
            st["S"][d] += float(np.dot(y, dp * mp - dd * dm1))
            cum = np.cumsum(np.r_[st["cum"][d], y * (mp - dm1)])[1:]
            st["prev_d"][d], st["prev_m"][d], st["cum"][d] = dd[-1], dm1[-1], cum[-1]
            return cum + y * dm1
        if kind == "zenga":  # prosperity.measures.convey_extra.zenga_sorted, its terms per unit
            st = self.zg
            big_n, tot = self.Nc[d], self.Y[d]
            kk = tot - (yc - wy)  # K
            cc = tot - kk  # C
            bb = big_n - c  # B
            hk = c * kk
            bc = bb * cc
            st["S1"][d] += float(np.dot(w, bc / hk))
            st["S2"][d] += float(np.dot(w, cc / kk))
            st["S3"][d] += float(np.dot(w, bb / hk))
            a4 = w * cc / (c * c * kk)
            st["S4"][d] += float(a4.sum())
            cum4 = np.cumsum(np.r_[st["cum4"][d], a4])
            cum5 = np.cumsum(np.r_[st["cum5"][d], w * bb / (hk * kk)])[1:]
            st["cum4"][d], st["cum5"][d] = cum4[-1], cum5[-1]
            return -bc / (big_n * c * kk) - cum4[:-1] + (tot * y / big_n) * cum5
        raise AssertionError(b)  # pragma: no cover


class _EstebanRay:
    """Esteban-Ray (DER form, :func:`prosperity.measures.polarization.esteban_ray_sorted`) over a sorted
    stream, per domain, with two look-ahead windows.

    f_i = (1/N) sum_j w_j K_h(y_i - y_j) (Epanechnikov) is complete once a unit at or above y_i + h has
    been read; g_k = (1/N) sum_i w_i f_i^(alpha-1) a_i K_h(y_i - y_k) once every unit below y_k + h has
    its f. Each domain holds the units from (lowest incomplete) - h to the last read: about 3 h of
    incomes (h = 10.4 sigma / sqrt(n) at alpha = 1: ~12 sqrt(n) units at a lognormal's mode) plus the
    piece, never the domain. The window sums are the kernel's
    (:class:`~prosperity.measures.polarization._EpanechnikovWindows`) over the held units. With
    a_i = (1/N) [y_i (2 C_i - w_i - N) - 2 Ycum_i + w_i y_i + Ycum_n] (the mean absolute difference),
    v = w f^alpha and CV, CVY its running sums (totals CV_n, CVY_n), the unit's basis value is
    b = f^alpha a + (1/N) [y (2 CV - v) - 2 CVY + v y] + alpha g, and P = (1/N) sum w f^alpha a."""

    def __init__(self, alpha, Nc, Y, Yc, cnt, sigma):
        from ..measures.polarization import _EPANECHNIKOV_FROM_GAUSSIAN, ER_SIGMA_NOISE

        self.a = alpha
        self.Nc, self.Yc = Nc, Yc
        with np.errstate(invalid="ignore", divide="ignore"):  # a domain without a bandwidth: refused in estimate()
            sigma = np.where(sigma <= ER_SIGMA_NOISE * np.abs(Y / Nc), 0.0, sigma)  # equal incomes, as in memory
            self.h = _EPANECHNIKOV_FROM_GAUSSIAN * 4.7 * cnt.astype(np.float64) ** -0.5 * sigma * max(alpha, 1e-300) ** 0.1
        D = Nc.size
        self.P = np.zeros(D)
        self.cv = np.zeros(D)  # CV, CVY carried
        self.cvy = np.zeros(D)
        self.buf: dict = {}

    def feed(self, d, y, w, psu, c, yc, emit) -> None:
        nc = self.Nc[d]
        ad = y * (2.0 * c - w - nc) - 2.0 * yc + w * y + self.Yc[d]
        ad /= nc
        new = dict(y=y, w=w, psu=np.asarray(psu), ad=ad)
        held = self.buf.get(d)
        if held is None:
            held = self.buf[d] = {k: v.copy() for k, v in new.items()} | dict(nf=0, ng=0, fa=np.empty(0),
                                                                            cp=np.empty(0), gv=np.empty(0))
        else:
            for k, v in new.items():
                held[k] = np.concatenate((held[k], v))
        self._advance(d, held, False, emit)

    def finish(self, emit) -> None:
        for d, held in self.buf.items():
            self._advance(d, held, True, emit)

    def _advance(self, d, held, final, emit) -> None:
        from ..measures.polarization import _EpanechnikovWindows

        a, h, nc = self.a, float(self.h[d]), self.Nc[d]
        y = held["y"]
        n = y.size
        if n == 0:
            return
        windowed = a != 0 and h > 0
        if a != 0 and not h > 0:  # no bandwidth: the measure is undefined (estimate() says why); emit nothing
            return
        # ---- f for the units whose window above is complete
        nf = n if (final or not windowed) else max(held["nf"], int(np.searchsorted(y, y[-1] - h, side="right")))
        if nf > held["nf"]:
            lo = held["nf"]
            if windowed:
                f = _EpanechnikovWindows(y, h).sums(held["w"])[lo:nf] / nc
                fa = f if a == 1 else f ** a
            else:
                f = fa = np.ones(nf - lo)
            w, yy, ad = held["w"][lo:nf], y[lo:nf], held["ad"][lo:nf]
            v = w * fa
            cv = np.cumsum(np.r_[self.cv[d], v])[1:]
            cvy = np.cumsum(np.r_[self.cvy[d], v * yy])[1:]
            self.cv[d], self.cvy[d] = cv[-1], cvy[-1]
            self.P[d] += float(np.dot(w, fa * ad))
            cp = yy * (2.0 * cv - v) - 2.0 * cvy + v * yy
            gv = w * f ** (a - 1.0) * ad if windowed else np.zeros(nf - lo)
            held["fa"] = np.concatenate((held["fa"], fa))
            held["cp"] = np.concatenate((held["cp"], cp))
            held["gv"] = np.concatenate((held["gv"], gv))
            held["nf"] = nf
        # ---- g for the units whose neighbours within h all have their f
        nf = held["nf"]
        if final or not windowed:
            ng = nf
        else:
            ng = int(np.searchsorted(y[:nf], y[nf] - h, side="right")) if nf < n else nf
            ng = max(ng, held["ng"])
        if ng > held["ng"]:
            lo = held["ng"]
            base = held["fa"][lo:ng] * held["ad"][lo:ng] + held["cp"][lo:ng] / nc
            if windowed:
                base += a * (_EpanechnikovWindows(y[:nf], h).sums(held["gv"])[lo:ng] / nc)
            emit(d, y[lo:ng], held["w"][lo:ng], held["psu"][lo:ng], base)
            held["ng"] = ng
        # ---- drop the units no longer anyone's neighbour
        ng = held["ng"]
        edge = (y[ng] if ng < n else y[-1]) - (h if windowed else 0.0)
        cut = min(ng, int(np.searchsorted(y, edge, side="right"))) if windowed else ng
        if cut > 0:
            for k in ("y", "w", "psu", "ad"):
                held[k] = held[k][cut:]
            for k in ("fa", "cp", "gv"):
                held[k] = held[k][cut:]
            held["nf"] -= cut
            held["ng"] -= cut


def sorted_pass(source, piece, domains, n, N, Y, total_c, total_yc, cnt, acc, quant, points) -> SortedPass:
    """The sorted fourth pass: per-(domain, PSU) totals of w b for the sorted bases and the per-domain
    sums of :class:`SortedPass` (``total_c``, ``total_yc``: each domain's C_n, Ycum_n from the second pass);
    for wbpip's Wolfson, one more pass (any order) at its median, found in the fourth (``run.passes``)."""
    run = SortedPass(n, N, Y, total_c, total_yc, cnt, acc)
    run.passes = 1

    def emit(b, d, y, w, psu, v):
        acc.add(b, np.full(y.size, d, np.int64), psu, w * v)

    for ch in source.sorted_chunks(stable=_tie_order_matters(n)):
        y, w, cell, psu = piece(ch)
        if not y.size:
            continue
        pre = run.piece(domains(cell), y, w, psu, emit)
        for L, dom in domains(cell):
            d = np.zeros(y.size, np.int64) if dom is None else dom
            for b, v in pre[L.offset].items():
                acc.add(b, d, psu, w * v)
    run.finish(emit)
    if run.wb:
        run.passes += 1
        points["@wb"] = run.wb_m
        _wbpip_pass(source, piece, domains, n, run, N, quant, points, acc)
    return run


def _wbpip_pass(source, piece, domains, n, run, N, quant, points, acc) -> None:
    """Any order, at wbpip's median m: the totals of 1{y <= m}, 1{y < m}, y 1{y < m} per (domain, PSU)
    and the Gaussian kernel density f(m) with Osier's bandwidth (prosperity.measures.quantiles.kernel_density_at)."""
    from .streaming import _KERNEL_REACH, _SQRT_2PI

    bases = sorted((b for b in n.sorted3 if b[0] in _WB), key=repr)
    with np.errstate(invalid="ignore"):
        run.wb_h = 0.79 * (quant[0.75] - quant[0.25]) * N ** (-0.2)
    hh = np.where(run.wb_h > 0, run.wb_h, np.nan)
    dens = np.zeros(N.size)
    m = points["@wb"]
    for ch in source.chunks():
        y, w, cell, psu = piece(ch)
        if not y.size:
            continue
        for L, dom in domains(cell):
            d = np.full(y.size, L.offset, np.int64) if dom is None else dom
            for b in bases:
                acc.add(b, d, psu, w * basis_values(b, y, lambda pt, d=d: points[pt][d]))
            xd, hd = m[d], hh[d]
            with np.errstate(invalid="ignore"):
                near = (y >= xd - _KERNEL_REACH * hd) & (y < xd + _KERNEL_REACH * hd)
            z = (xd[near] - y[near]) / hd[near]
            z *= z
            z *= -0.5
            dens += np.bincount(d[near], weights=w[near] * np.exp(z), minlength=N.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        run.wb_f = dens / (N * run.wb_h * _SQRT_2PI)


# ============================================================================ values and coefficients


def _add(target: dict, coefs: dict, scale: float) -> dict:
    out = dict(target)
    for k, v in coefs.items():
        out[k] = out.get(k, 0.0) + scale * v
    return out


def estimate(v, name: str, p: dict, d: int):
    """(value, own coefficients, reference-domain coefficients, line) of measure ``name`` in domain ``d``,
    from the streaming module's ``_Values`` ``v`` (its totals, quantiles, densities and sorted sums)."""
    se = v.spec.se
    N, Y = float(v.N[d]), float(v.Y[d])
    mu = Y / N
    if name == "sgini":
        nu = float(p["nu"])
        if nu == 2.0:
            return v.estimate("gini", {}, d)
        big_n = float(v.sorted3.Nc[d])
        if Y == 0:
            raise ValueError("the S-Gini is undefined when total income is 0")
        mu = Y / big_n
        s = float(v.sorted3.sg[nu]["S"][d])
        g = 1.0 - s / mu
        c1, c2, c3 = -nu / (big_n * mu), (1.0 - g) / (big_n * mu), nu * s / (big_n * mu)
        return g, {("sgini", nu): c1, ("y",): c2, ("one",): c3 - c2 * mu}, {}, None
    if name == "cv":
        conv = v.spec.conventions.get("cv", "population")
        n = int(v.cnt[d])
        if conv == "sample" and n < 2:
            raise ValueError("the sample coefficient of variation needs at least 2 observations")
        if mu == 0:
            raise ValueError("the coefficient of variation is undefined when the mean income is 0")
        var = v.tot(("dev2", "@mean"), d) / N
        factor = math.sqrt(n / (n - 1.0)) if conv == "sample" else 1.0
        cv = math.sqrt(var) / mu * factor
        if se and var == 0:
            raise ValueError("the linearized variable of the CV is undefined when all incomes are equal")
        a2, a1, a0 = (cv / (2.0 * var * N) if var else 0.0), -cv / (mu * N), -cv / (2.0 * N)
        return cv, {("dev2", "@mean"): a2, ("y",): a1, ("one",): a0 - a1 * mu}, {}, None
    if name == "varlog":
        conv = v.spec.conventions.get("varlog", "log_mean")
        pt = "@lnmean" if conv == "log_mean" else "@lnmu"
        m = _mean_log(v.tot(("lny",), d), N, float(v.points["K"][0]))
        centre = m if conv == "log_mean" else math.log(mu)
        value = v.tot(("lndev2", pt), d) / N
        k = 2.0 * (centre - m) if conv == "log_of_mean" else 0.0
        return value, {("lndev2", pt): 1.0 / N, ("one",): (-value - k) / N, ("y",): k / (mu * N)}, {}, None
    if name == "jdiv":
        t, ct = v._entropy("theil", {}, d, N, Y, mu)
        m, cm = v._entropy("mld", {}, d, N, Y, mu)
        return t + m, _add(ct, cm, 1.0), {}, None
    if name == "zenga":
        if not Y > 0:
            raise ValueError("the Zenga index is undefined when every income is 0")
        st, big_n = v.sorted3.zg, float(v.sorted3.Nc[d])
        value = 1.0 - float(st["S1"][d]) / big_n
        return value, {("zenga",): 1.0, ("one",): float(st["S4"][d]) - float(st["S2"][d]) / big_n ** 2,
                       ("y",): -float(st["S3"][d]) / big_n}, {}, None
    if name == "wolfson" and v.spec.conventions.get("wolfson") == "wbpip":
        return _wolfson_wbpip(v, d, Y)
    if name in ("wolfson", "foster_wolfson"):
        factor = _FACTOR[v.spec.conventions.get("wolfson", "wolfson1994")] if name == "wolfson" else 1.0
        if Y == 0:
            raise ValueError("the Gini coefficient is undefined when total income is 0")
        m = float(v.quant[0.5][d])
        if not m > 0:
            raise ValueError(f"the Wolfson index needs a positive median, got {m:g}")
        g, cg, _, _ = v.estimate("gini", {}, d)
        cg = {("ygc",) if b == ("gini",) else b: c for b, c in cg.items()}  # the basis of the sorted fourth pass
        # N = C_n throughout, as the kernel (mu, GL and G nearly cancel: W is ~1/5 of mu / m)
        t, ct = v.lower_total(0.5, d, "fractional")
        N = float(v.Nc[d])
        t += 0.5 * (N - float(v.N[d])) * float(v.points["L0.5"][d])  # the boundary unit's share of p N, N = C_n
        mu = Y / N
        gl = t / N
        value = factor * (mu - 2.0 * gl - g * mu) / m
        if not se:
            return value, {}, {}, None
        _, cm = v.quantile(0.5, d)
        u = _add({}, {("y",): 1.0 / N, ("one",): -mu / N}, factor * (1.0 - g) / m)  # u_mu
        u = _add(u, _add({("one",): -gl / N}, ct, 1.0 / N), -2.0 * factor / m)  # u_GL
        u = _add(u, cg, -factor * mu / m)
        u = _add(u, cm, -value / m)
        return value, u, {}, None
    if name == "esteban_ray":
        a = float(p["alpha"])
        er = v.sorted3.er[("er", a)]
        big_n = float(er.Nc[d])
        mu = Y / big_n
        if not mu > 0:
            raise ValueError("Esteban-Ray polarization needs a positive mean income")
        if a != 0 and not er.h[d] > 0:
            raise ValueError("Esteban-Ray needs a positive bandwidth (are all incomes equal?)")
        pp = float(er.P[d]) / big_n
        scale = mu ** (a - 1.0)
        value = pp * scale
        c_er = scale / big_n
        c_y = -scale * float(er.cv[d]) / big_n ** 2 + (a - 1.0) * value / (big_n * mu)
        c_1 = scale * (float(er.cvy[d]) / big_n - (2.0 + a) * pp) / big_n - (a - 1.0) * value / big_n
        return value, {("er", a): c_er, ("y",): c_y, ("one",): c_1}, {}, None
    raise AssertionError(name)  # pragma: no cover


def _wolfson_wbpip(v, d, Y):
    """wbpip's Wolfson 2 ((1 - G) mu - mu_b) / m (prosperity.measures.wbpip_md.wolfson_sorted) and its u:
    2 [(1 - G) u_mu - mu u_G - u_mub] / m - (W / m) u_m, u_mub = [(y - mu_b) 1{y < m}
    - (m - mu_b)(1{y <= m} - 1/2)] / B, u_m = -(1{y <= m} - 1/2) / (N f(m))."""
    run = v.sorted3
    big_n = float(run.Nc[d])
    if Y == 0:
        raise ValueError("the Gini coefficient is undefined when total income is 0")
    mu = Y / big_n
    m = float(run.wb_m[d])
    if not m > 0:
        raise ValueError(f"the Wolfson index needs a positive median, got {m:g}")
    b = float(run.wb_b[d])
    if not b > 0:
        raise ValueError("wbpip's Wolfson index needs units strictly below the median (mu_b is their mean)")
    mu_b = float(run.wb_a[d]) / b
    g, cg, _, _ = v.estimate("gini", {}, d)
    cg = {("ygc",) if k == ("gini",) else k: c for k, c in cg.items()}
    value = 2.0 * ((1.0 - g) * mu - mu_b) / m
    if not v.spec.se:
        return value, {}, {}, None
    if not run.wb_h[d] > 0:
        raise ValueError("cannot estimate the density for a quantile's standard error: the interquartile range "
                         "is 0 (too many identical incomes); use se=False")
    nf = big_n * float(run.wb_f[d])
    le, lt, ylt = ("wble", "@wb"), ("wblt", "@wb"), ("wbylt", "@wb")
    u_mu = {("y",): 1.0 / big_n, ("one",): -mu / big_n}
    u_mub = {ylt: 1.0 / b, lt: -mu_b / b, le: -(m - mu_b) / b, ("one",): 0.5 * (m - mu_b) / b}
    u_m = {le: -1.0 / nf, ("one",): 0.5 / nf}
    u = _add(_add(_add({}, u_mu, 2.0 * (1.0 - g) / m), cg, -2.0 * mu / m), u_mub, -2.0 / m)
    return value, _add(u, u_m, -value / m), {}, None


# ============================================================================ every row its own PSU


def unit_variances(source, piece, domains, spec, ctx, needs, c_h, centre) -> dict:
    """{(label, domain): variance} of this module's rank-based measures when every row is its own PSU
    (module docstring), from one more sorted pass: t_k = w_k u_k per row, every coefficient known,
    sum t and sum t^2 per (domain, stratum), units outside the domain contributing 0 -- the in-memory
    estimator's own sums: V = sum_h c_h [sum t^2 - (sum t)^2 / n_h]."""
    from .streaming import _basis_values

    D, H = ctx.N.size, c_h.size
    todo = [(label, name, p) for label, name, p in spec.measures if name in MEASURES and any(
        b in needs.sorted3 for b in needs_of(needs, name, p))]
    if not todo:
        return {}
    coefs = {}
    for label, name, p in todo:  # coefficient of each basis per domain (0 where the measure is undefined)
        per: dict = {}
        for d in range(D):
            try:
                with np.errstate(divide="raise", invalid="raise", over="raise"):
                    own = estimate(ctx, name, p, d)[1]
            except (ValueError, ZeroDivisionError, FloatingPointError):
                continue
            for b, c in own.items():
                per.setdefault(b, np.zeros(D))[d] = c
        coefs[label] = per
    s1 = {label: np.zeros(D * H) for label, _, _ in todo}
    s2 = {label: np.zeros(D * H) for label, _, _ in todo}
    er_labels = {label: ("er", float(p["alpha"])) for label, name, p in todo if name == "esteban_ray"}
    row_coefs = {label: per for label, per in coefs.items() if label not in er_labels}
    bases = sorted({b for per in row_coefs.values() for b in per}, key=repr)
    prev = ctx.sorted3
    run = SortedPass(needs, ctx.N, ctx.Y, prev.Nc)
    for b, er in prev.er.items():  # the same windows again (bandwidths of the fourth pass)
        run.er[b] = _EstebanRay(b[1], er.Nc, ctx.Y, er.Yc, np.ones(1), np.ones(1))
        run.er[b].h = er.h

    def emit(b, d, y, w, hh, v):  # t = w u of the completed units of domain d (Esteban-Ray)
        for label, bl in er_labels.items():
            if bl == b:
                per = coefs[label]
                u = per.get(b, np.zeros(D))[d] * v + per.get(("y",), np.zeros(D))[d] * y + per.get(("one",), np.zeros(D))[d]
                t = w * u
                idx = d * H + hh
                s1[label] += np.bincount(idx, weights=t, minlength=D * H)
                s2[label] += np.bincount(idx, weights=t * t, minlength=D * H)

    for ch in source.sorted_chunks(stable=_tie_order_matters(needs)):
        y, w, cell, h = piece(ch)
        if not y.size:
            continue
        pre = run.piece(domains(cell), y, w, h, emit)
        if not row_coefs:
            continue
        for L, dom in domains(cell):
            d = np.full(y.size, L.offset, np.int64) if dom is None else dom
            vals = dict(pre[L.offset])
            for b in bases:
                if b not in vals:
                    v = _basis_values(b, y, lambda pt, d=d: ctx.points[pt][d])
                    vals[b] = np.broadcast_to(np.asarray(v, dtype=np.float64), y.shape)
            idx = d * H + h
            for label, per in row_coefs.items():
                u = np.zeros(y.size)
                for b, cvec in per.items():
                    u += cvec[d] * vals[b]
                t = w * u
                s1[label] += np.bincount(idx, weights=t, minlength=D * H)
                s2[label] += np.bincount(idx, weights=t * t, minlength=D * H)
    run.finish(emit)
    out = {}
    for label in coefs:
        a, b = s1[label].reshape(D, H), s2[label].reshape(D, H)
        for d in range(D):
            out[(label, d)] = float(max(np.dot(c_h, np.maximum(b[d] - a[d] * a[d] * centre, 0.0)), 0.0))
    return out


def needs_of(n, name: str, p: dict) -> set:
    """The bases measure ``name`` combines (as recorded by ``_Needs``)."""
    if name == "sgini" and float(p["nu"]) != 2.0:
        return {("sgini", float(p["nu"]))}
    if name == "zenga":
        return {("zenga",)}
    if name == "wolfson" and n.spec.conventions.get("wolfson") == "wbpip":
        return {("ygc",)} | {(k, "@wb") for k in _WB}
    if name in ("wolfson", "foster_wolfson"):
        return {("ygc",)}
    if name == "esteban_ray":
        return {("er", float(p["alpha"]))}
    return set()
