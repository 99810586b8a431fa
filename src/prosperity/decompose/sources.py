"""Gini decomposition by income source (Lerman & Yitzhaki 1985).

Total income y = sum_k x_k. With F the rank of y (cumulative population share) and mu_k the mean of
source k,

    G   = 2 cov(y, F) / mu                       (the laeken Gini)
    C_k = 2 cov(x_k, F) / mu_k                   concentration coefficient of source k
    G_k = Gini of x_k (ranked by x_k)            R_k = C_k / G_k  (Gini correlation)
    S_k = mu_k / mu                              G = sum_k S_k R_k G_k = sum_k S_k C_k

Contribution S_k C_k, share S_k C_k / G, and the relative marginal effect of a 1 % rise in source k
on the Gini: dG/de_k / G = S_k R_k G_k / G - S_k (Lerman & Yitzhaki 1985, eq. 7); positive means
the source raises inequality.

Weighted ranks: F_i = (C_i - w_i / 2) / N with C_i the cumulative weight in ascending order, which
makes 2 cov(y, F)/mu equal to the laeken Gini exactly. **Tie rule:** units with the same total income
share one rank, the mean F of their block ((C before the block + W_block / 2) / N). Without it the
concentration coefficients would depend on the input order of tied units; with it they do not, and
sum_k S_k C_k = G still holds exactly. Source Ginis G_k do not depend on ties.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np
import pandas as pd

from ..measures import gini


def _ranks(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted mid-ranks F (tied incomes share the mean rank of their block)."""
    order = np.argsort(y, kind="stable")
    ys, ws = y[order], w[order]
    n = ws.sum()
    cw = np.cumsum(ws)
    # block = run of equal incomes; each gets (weight before the block + half the block's weight) / N
    start = np.concatenate(([True], ys[1:] != ys[:-1]))
    block = np.cumsum(start) - 1
    end_cw = cw[np.concatenate((np.flatnonzero(start)[1:] - 1, [ys.size - 1]))]
    block_w = np.diff(np.concatenate(([0.0], end_cw)))
    f_sorted = (end_cw - block_w / 2.0)[block] / n
    f = np.empty_like(f_sorted)
    f[order] = f_sorted
    return f


@dataclass(frozen=True, eq=False)
class SourceDecomposition:
    """Lerman-Yitzhaki decomposition; ``table`` has one row per source."""

    gini: float
    table: pd.DataFrame = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        lines = [f"SourceDecomposition(gini={self.gini:.6g})"]
        for r in self.table.itertuples(index=False):
            lines.append(f"  {r.source:<20} S={r.share_of_income:7.4f} G={r.gini:7.4f} R={r.gini_correlation:7.4f} "
                         f"contribution {100 * r.share_of_gini:6.2f} %  marginal {r.marginal_effect:+.4f}")
        return "\n".join(lines)


def gini_by_source(sources: Mapping[str, object] | pd.DataFrame, w=None, *, total=None,
                   rtol: float = 1e-9) -> SourceDecomposition:
    """Lerman-Yitzhaki decomposition of the weighted Gini of total income by its ``sources``
    (a mapping name -> column, or a frame whose columns are the sources). ``total`` (optional) must
    equal the row sums of the sources; the first row where it does not is reported.
    """
    if isinstance(sources, pd.DataFrame):
        sources = {c: sources[c] for c in sources.columns}
    names = list(sources)
    if not names:
        raise ValueError("give at least one income source")
    x = np.column_stack([np.asarray(getattr(sources[k], "to_numpy", lambda: sources[k])(), dtype=float)
                         for k in names])
    n = x.shape[0]
    w = np.ones(n) if w is None else np.asarray(w, dtype=float)
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1) | ~np.isfinite(w) | (w < 0))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"data row {i + 1}: sources {dict(zip(names, x[i].tolist()))} and weight {float(w[i])!r} must be finite "
                         "(weight >= 0)")
    y = x.sum(axis=1)
    if total is not None:
        t = np.asarray(total, dtype=float)
        off = np.flatnonzero(~np.isclose(t, y, rtol=rtol, atol=1e-9 * max(1.0, float(np.abs(y).max()))))
        if off.size:
            i = int(off[0])
            raise ValueError(f"data row {i + 1}: total income {float(t[i])!r} differs from the sum of the sources {float(y[i])!r}; "
                             "the decomposition needs total = sum of sources (add an 'other' source)")
    big_n = w.sum()
    mu = float(np.dot(w, y) / big_n)
    if mu <= 0:
        raise ValueError("mean total income must be positive")
    f = _ranks(y, w)
    fc = f - float(np.dot(w, f) / big_n)  # = f - 1/2
    g_total = 2.0 * float(np.dot(w, y * fc)) / (big_n * mu)
    rows = []
    for j, name in enumerate(names):
        xk = x[:, j]
        mu_k = float(np.dot(w, xk) / big_n)
        s_k = mu_k / mu
        cov_k = float(np.dot(w, xk * fc)) / big_n
        c_k = 2.0 * cov_k / mu_k if mu_k != 0 else np.nan
        g_k = gini(xk, w) if mu_k != 0 else np.nan
        r_k = c_k / g_k if np.isfinite(g_k) and g_k != 0 else np.nan
        contrib = 2.0 * cov_k / mu  # = S_k C_k, defined even when mu_k = 0
        rows.append({"source": name, "mean": mu_k, "share_of_income": s_k, "gini": g_k, "gini_correlation": r_k,
                     "concentration": c_k, "contribution": contrib, "share_of_gini": contrib / g_total,
                     "marginal_effect": contrib / g_total - s_k})
    return SourceDecomposition(g_total, pd.DataFrame(rows))
