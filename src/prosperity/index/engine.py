"""The vectorised scoring engine shared by the nominal index and Monte Carlo analysis.

Given normalised indicators Z (units x m), a framework tree and, for each group, a matrix of child
weights (draws x children), compute every group's score for every draw at once, bottom-up.
Leaf groups use matrix products (no draws x units x m arrays); upper groups, whose children differ
between draws, work on draws x units x children arrays (children are few).

Scope: MCDA methods (TOPSIS, VIKOR, GRA, Copeland) take their ideal points (or outranking pairs) over
a block of units; ``blocks`` lists the row sets (one block = the pooled panel; one block per year =
relative per year). With ``opts["mcda_scope"] == "flat"`` an upper group whose aggregation is an MCDA
method scores the flat set of all its indicators with their effective weights (``flat_weights``)
instead of its children's scores.
"""

from __future__ import annotations

import numpy as np

from .aggregate import MCDA, MEANS, canonical_aggregation, copeland_batch, grey_relational_coefficients, weighted_mean_batch


def _rescale01(a: np.ndarray, axis: int) -> np.ndarray:
    lo = np.nanmin(a, axis=axis, keepdims=True)
    hi = np.nanmax(a, axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hi > lo, (a - lo) / (hi - lo), 0.0)


def agg_leaf(kind: str, Z: np.ndarray, W: np.ndarray, blocks, opts: dict, names=None, units=None) -> np.ndarray:
    """Z (n x k) shared by all draws, W (N x k) -> (N x n)."""
    kind = canonical_aggregation(kind)
    W = W / W.sum(axis=1, keepdims=True)
    if kind in MEANS:
        return weighted_mean_batch(Z, W, kind, opts.get("p"), names=names, units=units)
    out = np.empty((W.shape[0], Z.shape[0]))
    for rows in blocks:
        Zb = Z[rows]
        if kind == "copeland":  # COINr's outranking counts only the indicators both units have
            out[:, rows] = copeland_batch(Zb, W)
            continue
        if np.isnan(Zb).any():
            raise ValueError(f"{kind.upper()} needs complete data; impute missing values first (--imputation)")
        if kind == "topsis":
            if opts.get("topsis_ideal", "sample") == "fixed":
                zb, zw = np.ones(Zb.shape[1]), np.zeros(Zb.shape[1])
            else:
                zb, zw = Zb.max(axis=0), Zb.min(axis=0)
            Wk = W**2 if opts.get("topsis_weighting", "matrix") == "matrix" else W
            db = np.sqrt(np.maximum(((Zb - zb) ** 2) @ Wk.T, 0.0)).T
            dw = np.sqrt(np.maximum(((Zb - zw) ** 2) @ Wk.T, 0.0)).T
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, rows] = np.where(db + dw > 0, dw / (db + dw), np.nan)
        elif kind == "vikor":
            v = opts.get("vikor_v", 0.5)
            fb, fw = Zb.max(axis=0), Zb.min(axis=0)
            with np.errstate(invalid="ignore", divide="ignore"):
                G0 = np.where(fb > fw, (fb - Zb) / (fb - fw), 0.0)
            S = W @ G0.T
            R = np.empty_like(S)
            step = max(1, int(2e7 // max(1, G0.size)))
            for s in range(0, W.shape[0], step):
                R[s:s + step] = np.max(W[s:s + step, None, :] * G0[None, :, :], axis=2)
            out[:, rows] = 1.0 - (v * _rescale01(S, 1) + (1 - v) * _rescale01(R, 1))
        else:  # gra
            X = grey_relational_coefficients(Zb, opts.get("gra_rho", 0.5))
            out[:, rows] = W @ X.T
    return out


def agg_upper(kind: str, T: np.ndarray, W: np.ndarray, blocks, opts: dict) -> np.ndarray:
    """T (N x n x k) differs per draw, W (N x k) -> (N x n)."""
    kind = canonical_aggregation(kind)
    W = W / W.sum(axis=1, keepdims=True)
    Wb = W[:, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "arithmetic":
            return np.sum(Wb * T, axis=2)
        if kind == "geometric":
            if np.any(T <= 0):
                raise ValueError("a geometric mean of dimension scores needs positive scores; normalise to "
                                 "[1, 100] (--range 1,100) or aggregate the dimensions arithmetically")
            return np.exp(np.sum(Wb * np.log(T), axis=2))
        if kind == "harmonic":
            if np.any(T <= 0):
                raise ValueError("a harmonic mean of dimension scores needs positive scores")
            return 1.0 / np.sum(Wb / T, axis=2)
        if kind == "generalised":
            p = opts.get("p")
            return np.sum(Wb * T**p, axis=2) ** (1.0 / p)
    out = np.empty(T.shape[:2])
    for rows in blocks:
        Tb = T[:, rows, :]
        if kind == "copeland":  # children differ per draw: one outranking matrix per draw
            out[:, rows] = np.vstack([copeland_batch(Tb[d], W[d:d + 1]) for d in range(T.shape[0])])
            continue
        if kind == "topsis":
            if opts.get("topsis_ideal", "sample") == "fixed":
                zb, zw = np.ones((1, 1, T.shape[2])), np.zeros((1, 1, T.shape[2]))
            else:
                zb, zw = Tb.max(axis=1, keepdims=True), Tb.min(axis=1, keepdims=True)
            Wk = (W**2 if opts.get("topsis_weighting", "matrix") == "matrix" else W)[:, None, :]
            db = np.sqrt(np.sum(Wk * (Tb - zb) ** 2, axis=2))
            dw = np.sqrt(np.sum(Wk * (Tb - zw) ** 2, axis=2))
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:, rows] = np.where(db + dw > 0, dw / (db + dw), np.nan)
        elif kind == "vikor":
            v = opts.get("vikor_v", 0.5)
            fb, fw = Tb.max(axis=1, keepdims=True), Tb.min(axis=1, keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                G = np.where(fb > fw, (fb - Tb) / (fb - fw), 0.0) * W[:, None, :]
            S, R = G.sum(axis=2), G.max(axis=2)
            out[:, rows] = 1.0 - (v * _rescale01(S, 1) + (1 - v) * _rescale01(R, 1))
        else:
            rho = opts.get("gra_rho", 0.5)
            D = np.abs(Tb.max(axis=1, keepdims=True) - Tb)
            dmin = D.min(axis=(1, 2), keepdims=True)
            dmax = D.max(axis=(1, 2), keepdims=True)
            with np.errstate(invalid="ignore", divide="ignore"):
                X = np.where(dmax > 0, (dmin + rho * dmax) / (D + rho * dmax), 1.0)
            out[:, rows] = np.sum(W[:, None, :] * X, axis=2)
    return out


def evaluate(Z: np.ndarray, groups, group_weights: list[np.ndarray], aggregations: list[str], blocks,
             opts: dict, names=None, units=None, chunk: int = 2000, min_coverage: float = 0.0,
             coverage_out: list | None = None) -> list[np.ndarray]:
    """Scores of every group (list aligned with ``groups``), each (N x n).

    Data availability (COINr's ``dat_thresh``): a unit's score in a group is computed only where the
    share of the group's children (indicators or sub-groups) with a value is at least
    ``min_coverage``; otherwise it is missing (NaN), and so is every group above it that cannot reach
    its own threshold without it. ``coverage_out``, if given, receives each group's coverage
    (share of children present, units; from the first draw: availability does not vary by draw)."""
    N = group_weights[0].shape[0] if group_weights else 1
    if N > chunk and any(g.group_children for g in groups):
        parts = [evaluate(Z, groups, [w[s:s + chunk] for w in group_weights], aggregations, blocks, opts,
                          names, units, chunk, min_coverage, coverage_out if s == 0 else None)
                 for s in range(0, N, chunk)]
        return [np.concatenate([p[g] for p in parts], axis=0) for g in range(len(groups))]
    scores: list[np.ndarray | None] = [None] * len(groups)
    if coverage_out is not None:
        coverage_out.clear()
    for g, grp in enumerate(groups):
        W = group_weights[g]
        if not grp.group_children:
            cols = grp.indicator_children
            coverage = np.mean(~np.isnan(Z[:, cols]), axis=1)[None, :]
            scores[g] = agg_leaf(aggregations[g], Z[:, cols], W, blocks, opts,
                                 names=[names[c] for c in cols] if names is not None else None, units=units)
            scores[g] = np.where(coverage >= min_coverage - 1e-12, scores[g], np.nan)
            if coverage_out is not None:
                coverage_out.append(coverage[0])
            continue
        parts = [np.broadcast_to(Z[None, :, c], (W.shape[0], Z.shape[0])) for c in grp.indicator_children]
        parts += [scores[c] for c in grp.group_children]
        T = np.stack(parts, axis=2)
        coverage = np.mean(~np.isnan(T), axis=2)
        if coverage_out is not None:
            coverage_out.append(coverage[0])
        if opts.get("mcda_scope", "per_dimension") == "flat" and canonical_aggregation(aggregations[g]) in MCDA:
            cols, Weff = flat_weights(groups, group_weights, g)
            scores[g] = agg_leaf(aggregations[g], Z[:, cols], Weff, blocks, opts,
                                 names=[names[c] for c in cols] if names is not None else None, units=units)
        else:
            scores[g] = _aggregate_upper(aggregations[g], T, W, blocks, opts)
        scores[g] = np.where(coverage >= min_coverage - 1e-12, scores[g], np.nan)
    return scores  # type: ignore[return-value]


def flat_weights(groups, group_weights: list[np.ndarray], g: int) -> tuple[list[int], np.ndarray]:
    """The indicators below group ``g`` (in tree order) and their effective weights within it, per
    draw: the product of the (row-normalised) child weights down the tree (COINr ``get_eff_weights``
    restricted to the group). Returns (indicator positions, draws x indicators)."""
    grp = groups[g]
    W = group_weights[g] / group_weights[g].sum(axis=1, keepdims=True)
    cols = list(grp.indicator_children)
    parts = [W[:, :len(cols)]]
    for k, c in enumerate(grp.group_children):
        sub_cols, sub_w = flat_weights(groups, group_weights, c)
        cols += sub_cols
        parts.append(W[:, len(grp.indicator_children) + k][:, None] * sub_w)
    return cols, np.concatenate(parts, axis=1)


def _aggregate_upper(kind, T, W, blocks, opts):
    """An upper group's score; with missing children, the arithmetic mean reweights around them."""
    if np.isnan(T).any() and canonical_aggregation(kind) == "arithmetic":
        M = ~np.isnan(T)
        Wm = np.where(M, W[:, None, :], 0.0)
        Wm = Wm / np.where(Wm.sum(axis=2, keepdims=True) > 0, Wm.sum(axis=2, keepdims=True), 1.0)
        return np.where(M.any(axis=2), np.sum(Wm * np.where(M, T, 0.0), axis=2), np.nan)
    return agg_upper(kind, T, W, blocks, opts)
