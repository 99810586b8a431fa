"""Dagum (1997) Gini decomposition by subgroups, weighted, in O(n log n + n k).

With groups j = 1..k (population shares p_j = N_j/N, income shares s_j = Y_j/Y, means mu_j) and the
weighted mean absolute difference between groups

    E_jh = sum_{i in j} sum_{r in h} w_i w_r |y_i - y_r| / (N_j N_h),

the Gini (laeken convention, pairs counted with weights, own pair included: equal to
:func:`prosperity.measures.gini`) is G = sum_jh N_j N_h E_jh / (2 N^2 mu), and

    G_jj = E_jj / (2 mu_j)                      Gini of group j
    G_jh = E_jh / (mu_j + mu_h)                 between-group Gini (Dagum 1997, eq. 5)
    D_jh = (mu_j - mu_h) / E_jh                 relative economic affluence, in [-1, 1]
    Gw   = sum_j G_jj p_j s_j                                       within
    Gnb  = sum_{j<h} G_jh (p_j s_h + p_h s_j) |D_jh|                net between
    Gt   = sum_{j<h} G_jh (p_j s_h + p_h s_j) (1 - |D_jh|)          transvariation (overlap)
    G    = Gw + Gnb + Gt.

D_jh = (d_jh - p_jh)/(d_jh + p_jh) in Dagum's notation, where d_jh - p_jh = mu_j - mu_h and
d_jh + p_jh = E_jh. Gw, Gnb and Gt equal the Mookherjee-Shorrocks (1982) within, between-means
(Gini of the group means) and overlap terms.

E_jh for all pairs comes from one sort of all incomes: walking the merged sorted order with, for
each group h, the cumulative weight C_h and cumulative income Yc_h below each unit,
sum_{r in h} w_r |y_i - y_r| = y_i (2 C_h(y_i) - N_h) - (2 Yc_h(y_i) - Y_h) (ties contribute 0 on
either side), then summed by the group of i with ``numpy.bincount``.

**Standard errors.** With S_jh = sum_{i in j} sum_{r in h} w_i w_r |y_i - y_r| (so E_jh = S_jh / (N_j N_h)),
G_jj p_j s_j = S_jj / (2 N Y), G_jh (p_j s_h + p_h s_j) = S_jh / (N Y) and |D_jh| = |Y_j N_h - Y_h N_j| / S_jh,
so every term is a function of the group totals N_j, Y_j and of the S_jh:

    G   = sum_jh S_jh / (2 N Y)
    Gw  = sum_j S_jj / (2 N Y)
    Gnb = sum_{j<h} |Y_j N_h - Y_h N_j| / (N Y)          (the Gini of the group means)
    Gt  = G - Gw - Gnb.

The linearized variable of observation i is the derivative of the estimator with respect to its
weight w_i (Deville 1999; Osier 2009, whose Gini variable this reproduces; Langel & Tille 2013). For i
in group g: dN / dw_i = 1, dY / dw_i = y_i, dN_j / dw_i = [j = g], dY_j / dw_i = y_i [j = g] and
dS_jh / dw_i = [j = g] a_ih + [h = g] a_ij, where a_ih = sum_{r in h} w_r |y_i - y_r| (so 2 a_ig when
j = h = g; the own pair adds |y_i - y_i| = 0). With R_i = 1 / N + y_i / Y = d log(N Y) / dw_i:

    u_i(G)   = a_i / (N Y) - G R_i,            a_i = sum_h a_ih = y_i (2 C(y_i) - N) - (2 Yc(y_i) - Y)
    u_i(Gw)  = a_ig / (N Y) - Gw R_i
    u_i(Gnb) = sum_h sgn(mu_g - mu_h) (y_i N_h - Y_h) / (N Y) - Gnb R_i  =  (y_i A_g - B_g) / (N Y) - Gnb R_i,
               A_g = sum_h sgn(mu_g - mu_h) N_h,  B_g = sum_h sgn(mu_g - mu_h) Y_h
    u_i(Gt)  = u_i(G) - u_i(Gw) - u_i(Gnb)
    u_i(c / G) = (u_i(c) - (c / G) u_i(G)) / G                    (share of a component c)

u_i(G) is Osier's linearized Gini (:mod:`prosperity.measures.gini`), so the total has the SE of
:func:`prosperity.measure`'s Gini with the same design. a_ig is the walk's term for the unit's own
group, kept per observation, and a_i one more cumulative pass over the same sort: still
O(n log n + n k), no loop over pairs. The components' variables add up to u(G) and the shares' to 0.
The design variance of each is computed from its PSU totals sum_{i in PSU} w_i u_i
(:class:`prosperity.decompose.linearize.DesignRows`, shared with the GE decomposition; with-replacement
/ ultimate-cluster estimator as R survey's ``svyrecvar``).

The kink: |Y_j N_h - Y_h N_j| is not differentiable where mu_j = mu_h. There sgn(0) = 0 is used, the
midpoint of the two one-sided derivatives +-(y_i N_h - Y_h); the pair then adds nothing to u(Gnb).
Near equality (means within about two SEs of each other) any linearization, and the jackknife, give the
SE of the signed difference mu_j - mu_h, while |mu_j - mu_h| has a folded, smaller spread and is biased
upward: such a pair adds little to the value of Gnb but its full term to the variance, so the SEs of
Gnb and Gt are then approximate (on eusilc by state, where 27 of 36 pairs are that close, a PSU
bootstrap spreads Gnb about 15 % less; docs/decompose.md).
A row of a group with total weight 0 gets the one-sided derivative (its group's mean becomes y_i); its
w_i u_i = 0, so it does not move a variance.

References: C. Dagum (1997), A new approach to the decomposition of the Gini income inequality ratio,
Empirical Economics 22(4), 515-531. D. Mookherjee & A. Shorrocks (1982), A decomposition analysis of
the trend in UK income inequality, Economic Journal 92, 886-902. J.-C. Deville (1999), Variance
estimation for complex statistics and estimators: linearization and residual techniques, Survey
Methodology 25(2), 193-203. G. Osier (2009), Variance estimation for complex indicators of poverty and
inequality using linearization techniques, Survey Research Methods 3(3), 167-195. M. Langel & Y. Tille
(2013), Variance estimation of the Gini index: revisiting a result several times published, JRSS A
176(2), 521-540.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..compiled import lazily_compiled
from .hierarchy import encode_hierarchy

COMPONENTS = ("within", "net_between", "transvariation")


@dataclass(frozen=True, eq=False)
class DagumDecomposition:
    """Dagum's Gini decomposition. ``G`` and ``D`` are k x k frames (diagonal of G = group Ginis).

    With a survey design, ``gini_se`` is the Gini's linearized design-based SE and ``se`` /
    ``share_se`` map each component (``"within"``, ``"net_between"``, ``"transvariation"``) to the SE of
    its value and of its share of the Gini; all three are None without a design.
    """

    gini: float
    within: float
    net_between: float
    transvariation: float
    G: pd.DataFrame = field(repr=False)
    D: pd.DataFrame = field(repr=False)
    groups: pd.DataFrame = field(repr=False)
    gini_se: float | None = None
    se: dict | None = field(default=None, repr=False)
    share_se: dict | None = field(default=None, repr=False)

    @property
    def gross_between(self) -> float:
        return self.net_between + self.transvariation

    @property
    def has_se(self) -> bool:
        return self.gini_se is not None

    def to_frame(self) -> pd.DataFrame:
        """component, value, share, and se, share_se with a survey design."""
        values = [getattr(self, c) for c in COMPONENTS]
        out = {"component": list(COMPONENTS), "value": values,
               "share": [v / self.gini if self.gini else np.nan for v in values]}
        if self.has_se:
            out["se"] = [self.se[c] for c in COMPONENTS]
            out["share_se"] = [self.share_se[c] for c in COMPONENTS]
        return pd.DataFrame(out)

    def __repr__(self) -> str:
        g = self.gini

        def part(label: str, key: str) -> str:
            v = getattr(self, key)
            if not self.has_se:
                return f"{label} {v:.6g} ({100 * v / g:.2f} %)"
            return f"{label} {v:.6g} (se {self.se[key]:.3g}; {100 * v / g:.2f} %, se {100 * self.share_se[key]:.2f})"

        head = f"gini={g:.6g}" + (f" (se {self.gini_se:.3g})" if self.has_se else "")
        return (f"DagumDecomposition({head}: {part('within', 'within')}, {part('net between', 'net_between')}, "
                f"{part('transvariation', 'transvariation')}, {len(self.groups)} groups)")


def pairwise_mean_differences(y, w, codes, k: int) -> np.ndarray:
    """Matrix A_jh = sum_{i in j} sum_{r in h} w_i w_r |y_i - y_r| via one merged sort (see module doc)."""
    return _walk(y, w, codes, k)[0]


# From this many rows the walk runs as one compiled pass (numba; PROSPERITY_NO_NUMBA=1: never): it keeps
# the k running sums C_h, Yc_h and adds w_i s_ih to A[g(i), h] for every h, O(n k) flops in one read of
# the sorted rows instead of about 8 k full-length NumPy passes.
WALK_NUMBA_MIN = 1 << 15


def _walk(y, w, codes, k: int, rows: bool = False):
    """(A, a, a_own): the matrix of :func:`pairwise_mean_differences` and, with ``rows``, for every
    observation i (input order) a_i = sum_r w_r |y_i - y_r| and a_{i, g(i)} = sum over i's own group."""
    order = np.argsort(y, kind="stable")
    ys, ws, gs = y[order], w[order], codes[order]
    n_h = np.bincount(gs, weights=ws, minlength=k)
    y_h = np.bincount(gs, weights=ws * ys, minlength=k)
    loop = _compiled_walk() if ys.size >= WALK_NUMBA_MIN else None
    if loop is not None:
        own = np.empty_like(ys) if rows else np.empty(0)
        a = loop(ys, ws, gs.astype(np.int64), n_h, y_h, np.zeros((k, k)), own, rows)
        a = 0.5 * (a + a.T)
        if not rows:
            return a, None, None
        return a, *_every_and_own(ys, ws, n_h, y_h, own, order)
    a = np.empty((k, k))
    mask_w = np.empty_like(ws)
    own = np.empty_like(ys) if rows else None
    for h in range(k):
        in_h = gs == h
        np.multiply(ws, in_h, out=mask_w)
        c_h = np.cumsum(mask_w)
        yc_h = np.cumsum(mask_w * ys)
        s_h = ys * (2.0 * c_h - n_h[h]) - (2.0 * yc_h - y_h[h])
        a[:, h] = np.bincount(gs, weights=ws * s_h, minlength=k)
        if rows:
            own[in_h] = s_h[in_h]
    a = 0.5 * (a + a.T)  # exact symmetry (the two triangles agree up to rounding)
    if not rows:
        return a, None, None
    return a, *_every_and_own(ys, ws, n_h, y_h, own, order)


def _every_and_own(ys, ws, n_h, y_h, own, order):
    """Per observation, in input order: a_i over all groups and a_{i, g(i)} (from the sorted walk)."""
    every = ys * (2.0 * np.cumsum(ws) - n_h.sum()) - (2.0 * np.cumsum(ws * ys) - y_h.sum())
    a_all, a_own = np.empty_like(every), np.empty_like(every)
    a_all[order], a_own[order] = every, own
    return a_all, a_own


@lazily_compiled
def _compiled_walk(ys, ws, gs, n_h, y_h, a, own, rows):  # pragma: no cover - compiled
    """A[g, h] += w_i s_ih over the sorted rows, s_ih = sum_{r in h} w_r |y_i - y_r| from the running
    sums of group h; with ``rows`` also own[i] = s_{i, g(i)}."""
    k = n_h.size
    c = np.zeros(k)
    yc = np.zeros(k)
    for i in range(ys.size):
        g = gs[i]
        c[g] += ws[i]
        yc[g] += ws[i] * ys[i]
        yi, wi = ys[i], ws[i]
        for h in range(k):
            s = yi * (2.0 * c[h] - n_h[h]) - (2.0 * yc[h] - y_h[h])
            a[g, h] += wi * s
            if rows and h == g:
                own[i] = s
    return a


@dataclass(frozen=True, eq=False)
class _Parts:
    """What the linearized variables need besides the result: per-row walk sums and the group totals
    (one entry per group code, empty groups included)."""

    y: np.ndarray
    codes: np.ndarray
    a_all: np.ndarray
    a_own: np.ndarray
    n_g: np.ndarray
    y_g: np.ndarray


def _influences(d: DagumDecomposition, p: _Parts):
    """Yield u(G), u(Gw), u(Gnb), one array of n at a time (formulas in the module doc)."""
    y, n_g, y_g = p.y, p.n_g, p.y_g
    n, ytot = float(n_g.sum()), float(y_g.sum())
    ny = n * ytot
    r = y / ytot + 1.0 / n
    yield p.a_all / ny - d.gini * r
    yield p.a_own / ny - d.within * r
    mu_g = np.divide(y_g, n_g, out=np.zeros_like(y_g), where=n_g > 0)
    sign = np.sign(mu_g[:, None] - mu_g[None, :])  # sgn(0) = 0 at the kink mu_g = mu_h (module doc)
    a_g, b_g = sign @ n_g, sign @ y_g  # an empty group h has N_h = Y_h = 0: no term
    u = y * a_g[p.codes] - b_g[p.codes]
    lone = np.flatnonzero(n_g[p.codes] == 0)  # rows of a group of total weight 0: its mean becomes y_i
    if lone.size:
        yl = y[lone][:, None]
        u[lone] = np.sum(np.sign(yl - mu_g[None, :]) * (yl * n_g[None, :] - y_g[None, :]), axis=1)
    u /= ny
    u -= d.net_between * r
    yield u


def _combine(t_gini, t_within, t_net, d: DagumDecomposition) -> tuple[list, list]:
    """Linearized quantities of (Gw, Gnb, Gt) and of their shares from those of G, Gw and Gnb (linear:
    per observation or per PSU total alike)."""
    from .linearize import share_influences

    comps = [t_within, t_net, t_gini - t_within - t_net]
    return comps, share_influences(t_gini, comps, d.gini, [getattr(d, c) for c in COMPONENTS])


def _prepare(y, w, groups, name):
    """Checked incomes and weights, group codes 0..k-1 and their labels."""
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=np.float64)
    if y.ndim != 1 or w.shape != y.shape:
        raise ValueError(f"incomes and weights must be 1-D of the same length, got {y.shape} and {w.shape}")
    bad = np.flatnonzero(~np.isfinite(y) | ~np.isfinite(w) | (w < 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"data row {i + 1}: income {float(y[i])!r} and weight {float(w[i])!r} must be finite, weight >= 0")
    negative = np.flatnonzero(y < 0)
    if negative.size:
        i = int(negative[0])
        raise ValueError(f"data row {i + 1}: income {float(y[i])!r} is negative ({negative.size:,} such rows); the Gini "
                         "decomposition needs incomes >= 0 (group shares of total income lose their meaning otherwise). "
                         "Fix: bottom-code negative incomes at 0, or leave those rows out and report how many")
    h = encode_hierarchy([groups], [name or getattr(groups, "name", None) or "group"], n_rows=y.shape[0])
    codes, labels = h.codes[0], h.labels[0]
    if labels is None or len(labels) == 0:
        labels = np.arange(int(codes.max()) + 1)
    present = np.flatnonzero(np.bincount(codes, minlength=len(labels)))
    if present.size < len(labels):  # integer labels pass through as codes: keep only the groups that occur
        remap = np.zeros(len(labels), dtype=np.int64)
        remap[present] = np.arange(present.size)
        codes, labels = remap[codes], np.asarray(labels)[present]
    return y, w, codes.astype(np.int64), labels


def _decompose(y, w, codes, labels, rows: bool = False) -> tuple[DagumDecomposition, _Parts | None]:
    k = len(labels)
    a, a_all, a_own = _walk(y, w, codes, k, rows)
    n_all = np.bincount(codes, weights=w, minlength=k)
    y_all = np.bincount(codes, weights=w * y, minlength=k)
    keep = np.flatnonzero(n_all > 0)
    a, n_j, y_j, labels = a[np.ix_(keep, keep)], n_all[keep], y_all[keep], np.asarray(labels)[keep]
    n, ytot = n_j.sum(), y_j.sum()
    if ytot <= 0:
        raise ValueError("total income must be positive for the Gini decomposition")
    mu, mu_j = ytot / n, y_j / n_j
    p, s = n_j / n, y_j / ytot
    e = a / np.outer(n_j, n_j)
    gini = float(a.sum() / (2.0 * n * n * mu))
    with np.errstate(divide="ignore", invalid="ignore"):
        g = e / (mu_j[:, None] + mu_j[None, :])
        np.fill_diagonal(g, np.diag(e) / (2.0 * mu_j))
        d = np.where(e > 0, (mu_j[:, None] - mu_j[None, :]) / e, 0.0)
    np.fill_diagonal(d, 0.0)
    weight = p[:, None] * s[None, :] + p[None, :] * s[:, None]
    upper = np.triu(np.ones_like(g, dtype=bool), 1)
    # a group with zero income has an undefined own Gini but no weight (s_j = 0) in the within term
    within_c = np.where(s > 0, np.diag(g) * p * s, 0.0)
    within = float(within_c.sum())
    gb = g * weight
    net = float(np.sum((gb * np.abs(d))[upper]))
    trans = float(np.sum((gb * (1.0 - np.abs(d)))[upper]))
    idx = pd.Index(labels, name="group")
    groups_frame = pd.DataFrame({"group": labels, "population": n_j, "pop_share": p, "income_share": s,
                                 "mean": mu_j, "gini": np.diag(g), "within_contribution": within_c})
    result = DagumDecomposition(gini, within, net, trans, pd.DataFrame(g, index=idx, columns=idx),
                                pd.DataFrame(d, index=idx, columns=idx), groups_frame)
    return result, (_Parts(y, codes, a_all, a_own, n_all, y_all) if rows else None)


def dagum_decomposition(y, w=None, *, groups, name: str | None = None, design=None, strata=None, psu=None,
                        fpc=None, lonely_psu: str = "fail") -> DagumDecomposition:
    """Dagum (1997) decomposition of the weighted Gini of ``y`` by ``groups`` (labels, one per row).

    Standard errors: give the survey design, either ``design=`` (a :class:`prosperity.variance.Design`
    built for these rows) or ``strata=``, ``psu=``, ``fpc=`` (one value per row) and ``lonely_psu``
    (``fail``, ``adjust``, ``remove``, ``certainty``) as :func:`prosperity.measure` takes them. The Gini
    (``gini_se``) and every component and share (``se``, ``share_se``) then get a linearized
    design-based SE (formulas in the module doc); without a design nothing changes.

    >>> d = dagum_decomposition([1, 2, 3, 10, 11, 12], groups=["a"] * 3 + ["b"] * 3)
    >>> round(d.within + d.net_between + d.transvariation - d.gini, 12)
    0.0
    """
    from .linearize import design_rows

    w_given = w is not None
    y, w, codes, labels = _prepare(y, w, groups, name)
    rows = design_rows(y, w if w_given else None, design=design, strata=strata, psu=psu, fpc=fpc,
                       lonely_psu=lonely_psu)
    d, parts = _decompose(y, w, codes, labels, rows is not None)
    if rows is None:
        return d
    t_gini, t_within, t_net = (rows.totals(u) for u in _influences(d, parts))
    comps, shares = _combine(t_gini, t_within, t_net, d)
    se = rows.se_of_totals
    return replace(d, gini_se=se(t_gini), se=dict(zip(COMPONENTS, map(se, comps))),
                   share_se=dict(zip(COMPONENTS, map(se, shares))))


def dagum_influence(y, w=None, *, groups, name: str | None = None) -> pd.DataFrame:
    """Linearized variables of Dagum's decomposition, one row per observation (in input order).

    Columns ``gini``, ``within``, ``net_between``, ``transvariation`` and ``share within``,
    ``share net_between``, ``share transvariation``: column c is d(estimate c) / d w_i, so the design
    variance of c is that of sum_i w_i u_ic (e.g. ``Design.variance(w * frame[c])``, or replicate the
    weights). The components' columns add up to ``gini``; the shares' to 0.
    """
    y, w, codes, labels = _prepare(y, w, groups, name)
    d, parts = _decompose(y, w, codes, labels, rows=True)
    u_gini, u_within, u_net = _influences(d, parts)
    comps, shares = _combine(u_gini, u_within, u_net, d)
    out = {"gini": u_gini}
    out.update(zip(COMPONENTS, comps))
    out.update(zip([f"share {c}" for c in COMPONENTS], shares))
    return pd.DataFrame(out)
