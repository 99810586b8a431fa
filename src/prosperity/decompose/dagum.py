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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .hierarchy import encode_hierarchy


@dataclass(frozen=True, eq=False)
class DagumDecomposition:
    """Dagum's Gini decomposition. ``G`` and ``D`` are k x k frames (diagonal of G = group Ginis)."""

    gini: float
    within: float
    net_between: float
    transvariation: float
    G: pd.DataFrame = field(repr=False)
    D: pd.DataFrame = field(repr=False)
    groups: pd.DataFrame = field(repr=False)

    @property
    def gross_between(self) -> float:
        return self.net_between + self.transvariation

    def to_frame(self) -> pd.DataFrame:
        rows = [("within", self.within), ("net_between", self.net_between), ("transvariation", self.transvariation)]
        return pd.DataFrame({"component": [r[0] for r in rows], "value": [r[1] for r in rows],
                             "share": [r[1] / self.gini if self.gini else np.nan for r in rows]})

    def __repr__(self) -> str:
        g = self.gini
        return (f"DagumDecomposition(gini={g:.6g}: within {self.within:.6g} ({100 * self.within / g:.2f} %), "
                f"net between {self.net_between:.6g} ({100 * self.net_between / g:.2f} %), "
                f"transvariation {self.transvariation:.6g} ({100 * self.transvariation / g:.2f} %), "
                f"{len(self.groups)} groups)")


def pairwise_mean_differences(y, w, codes, k: int) -> np.ndarray:
    """Matrix A_jh = sum_{i in j} sum_{r in h} w_i w_r |y_i - y_r| via one merged sort (see module doc)."""
    order = np.argsort(y, kind="stable")
    ys, ws, gs = y[order], w[order], codes[order]
    n_h = np.bincount(gs, weights=ws, minlength=k)
    y_h = np.bincount(gs, weights=ws * ys, minlength=k)
    a = np.empty((k, k))
    mask_w = np.empty_like(ws)
    for h in range(k):
        in_h = gs == h
        np.multiply(ws, in_h, out=mask_w)
        c_h = np.cumsum(mask_w)
        yc_h = np.cumsum(mask_w * ys)
        s_h = ys * (2.0 * c_h - n_h[h]) - (2.0 * yc_h - y_h[h])
        a[:, h] = np.bincount(gs, weights=ws * s_h, minlength=k)
    return 0.5 * (a + a.T)  # exact symmetry (the two triangles agree up to rounding)


def dagum_decomposition(y, w=None, *, groups, name: str | None = None) -> DagumDecomposition:
    """Dagum (1997) decomposition of the weighted Gini of ``y`` by ``groups`` (labels, one per row).

    >>> d = dagum_decomposition([1, 2, 3, 10, 11, 12], groups=["a"] * 3 + ["b"] * 3)
    >>> round(d.within + d.net_between + d.transvariation - d.gini, 12)
    0.0
    """
    y = np.asarray(y, dtype=np.float64)
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=np.float64)
    if y.ndim != 1 or w.shape != y.shape:
        raise ValueError(f"incomes and weights must be 1-D of the same length, got {y.shape} and {w.shape}")
    bad = np.flatnonzero(~np.isfinite(y) | ~np.isfinite(w) | (w < 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"data row {i + 1}: income {float(y[i])!r} and weight {float(w[i])!r} must be finite, weight >= 0")
    h = encode_hierarchy([groups], [name or getattr(groups, "name", None) or "group"], n_rows=y.shape[0])
    codes, labels = h.codes[0], h.labels[0]
    if labels is None or len(labels) == 0:
        labels = np.arange(int(codes.max()) + 1)
    codes = codes.astype(np.int64)
    k = len(labels)
    a = pairwise_mean_differences(y, w, codes, k)
    n_j = np.bincount(codes, weights=w, minlength=k)
    y_j = np.bincount(codes, weights=w * y, minlength=k)
    keep = np.flatnonzero(n_j > 0)
    a, n_j, y_j, labels = a[np.ix_(keep, keep)], n_j[keep], y_j[keep], np.asarray(labels)[keep]
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
    return DagumDecomposition(gini, within, net, trans, pd.DataFrame(g, index=idx, columns=idx),
                              pd.DataFrame(d, index=idx, columns=idx), groups_frame)
