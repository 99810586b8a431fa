"""Aggregation of normalised indicators into scores, and MCDA scorings.

Weighted means (row-wise, weights w >= 0; a missing value drops out and the remaining weights are
renormalised, COINr's default, unless ``missing="propagate"``):

* arithmetic   sum w z / sum w                                   (compensatory)
* geometric    exp(sum w ln z / sum w)       needs z > 0          (partly compensatory)
* harmonic     sum w / sum (w / z)           needs z > 0
* generalised  (sum w z^p / sum w)^(1/p)     p != 0 (p = 1 arithmetic, p -> 0 geometric, p = -1 harmonic)

Every function has a ``*_batch`` form taking a weight matrix W (draws x indicators) and returning
scores (draws x units), the work-horse of Monte Carlo uncertainty analysis.

MCDA scorings on the normalised, direction-adjusted matrix Z (higher = better):

* TOPSIS (Hwang & Yoon 1981): v = w z, A+ = column max of v, A- = column min, C = D- / (D+ + D-).
  On a vector-normalised Z this is classic TOPSIS; on a min-max Z it is pymcdm's default.
  ``ideal="fixed"`` uses A+ = w (z = 1), A- = 0 (absolute mode, comparable across samples).
  ``weighting="distance"`` puts the weights in the distance, D = sqrt(sum w (z - z*)^2), a variant
  seen in Chinese papers.
* VIKOR (Opricovic 1998), v = 0.5: S = sum w (f* - z)/(f* - f-), R = max_j of the same,
  Q = v (S - S*)/(S- - S*) + (1 - v)(R - R*)/(R- - R*); lower Q is better. The pipeline reports
  score = 1 - Q so that higher is better everywhere.
* Grey relational analysis (Deng 1982), rho = 0.5: reference = column max of Z,
  xi_ij = (Dmin + rho Dmax)/(D_ij + rho Dmax), Dmin/Dmax over the whole matrix; grade = sum w xi.
* Obstacle degree (障碍度): I_ij = 1 - z_ij, O_ij = w_j I_ij / sum_k w_k I_ik.
* Copeland (COINr ``a_copeland``, on COINr's ``outrankMatrix``): e_ab = sum of the weights of the
  indicators on which unit a beats unit b plus half the weights of those tied; score_a = number of
  units a outranks (e_ab > 0.5) minus the number that outrank it (e_ab < 0.5). See :func:`outranking`.

Where an MCDA method runs (``mcda_scope`` of the pipeline): ``per_dimension`` (default) scores each
dimension's indicators with the method and combines dimension scores by their group's aggregation
(arithmetic unless set); ``flat`` scores every group, the index included, with the method on the flat
set of all its indicators, weighted by their effective (nested-product) weights within the group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MEANS = ("arithmetic", "geometric", "harmonic", "generalised")
MCDA = ("topsis", "vikor", "gra", "copeland")
MCDA_SCOPES = ("per_dimension", "flat")
AGGREGATIONS = MEANS + MCDA

ALIASES = {
    "weighted-sum": "arithmetic",
    "weighted_sum": "arithmetic",
    "sum": "arithmetic",
    "linear": "arithmetic",
    "mean": "arithmetic",
    "amean": "arithmetic",
    "gmean": "geometric",
    "hmean": "harmonic",
    "generalized": "generalised",
    "grey": "gra",
    "grey-relational": "gra",
}


def canonical_aggregation(name: str) -> str:
    key = ALIASES.get(name, name)
    if key not in AGGREGATIONS:
        raise ValueError(f"unknown aggregation {name!r}; choose one of weighted-sum, {', '.join(AGGREGATIONS)}")
    return key


def _positive(Z: np.ndarray, kind: str, names=None, units=None) -> None:
    bad = np.argwhere(~np.isnan(Z) & (Z <= 0))
    if bad.size:
        i, j = bad[0]
        col = names[j] if names is not None else f"column {j}"
        row = units[i] if units is not None else f"row {i}"
        raise ValueError(
            f"{kind} mean needs positive values, but {col} is {Z[i, j]:.4g} for {row} "
            f"({len(bad)} value(s) <= 0). A min-max normalisation to [0, 1] puts the worst unit at 0: "
            "normalise to [1, 100] (--range 1,100) or use the arithmetic mean"
        )


def weighted_mean_batch(
    Z: np.ndarray, W: np.ndarray, kind: str = "arithmetic", p: float | None = None, missing: str = "reweight",
    names=None, units=None,
) -> np.ndarray:
    """Scores for many weight vectors at once: Z (units x m), W (draws x m) -> (draws x units)."""
    Z = np.asarray(Z, dtype=float)
    W = np.atleast_2d(np.asarray(W, dtype=float))
    kind = canonical_aggregation(kind)
    miss = np.isnan(Z)
    M = (~miss).astype(float)
    if kind == "arithmetic":
        T = np.where(miss, 0.0, Z)
    elif kind == "geometric":
        _positive(Z, "a geometric", names, units)
        T = np.where(miss, 0.0, np.log(np.where(miss, 1.0, Z)))
    elif kind == "harmonic":
        _positive(Z, "a harmonic", names, units)
        T = np.where(miss, 0.0, 1.0 / np.where(miss, 1.0, Z))
    elif kind == "generalised":
        if p is None or p == 0:
            raise ValueError("the generalised mean needs a power p != 0 (p -> 0 is the geometric mean)")
        if p < 0:
            _positive(Z, "a generalised (p < 0)", names, units)
        T = np.where(miss, 0.0, np.where(miss, 1.0, Z) ** p)
    else:
        raise ValueError(f"{kind!r} is not a weighted mean")
    num = T @ W.T  # units x draws
    den = M @ W.T
    if missing == "propagate":
        den = np.where(miss.any(axis=1)[:, None], np.nan, den)
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "arithmetic":
            out = num / den
        elif kind == "geometric":
            out = np.exp(num / den)
        elif kind == "harmonic":
            out = den / num
        else:
            out = (num / den) ** (1.0 / p)
    out = np.where(den > 0, out, np.nan)
    return out.T


def weighted_mean(Z, w, kind: str = "arithmetic", p: float | None = None, missing: str = "reweight",
                  names=None, units=None) -> np.ndarray:
    return weighted_mean_batch(Z, np.asarray(w, dtype=float)[None, :], kind, p, missing, names, units)[0]


@dataclass(frozen=True)
class TopsisResult:
    score: np.ndarray
    d_best: np.ndarray
    d_worst: np.ndarray


def topsis_batch(Z: np.ndarray, W: np.ndarray, *, ideal: str = "sample", weighting: str = "matrix",
                 chunk: int = 256) -> np.ndarray:
    """TOPSIS closeness for many weight vectors: Z (units x m, complete), W (draws x m)."""
    Z = np.asarray(Z, dtype=float)
    if np.isnan(Z).any():
        raise ValueError("TOPSIS needs complete data; impute missing values first")
    W = np.atleast_2d(np.asarray(W, dtype=float))
    if ideal == "sample":
        zb, zw = Z.max(axis=0), Z.min(axis=0)
    elif ideal == "fixed":
        zb, zw = np.ones(Z.shape[1]), np.zeros(Z.shape[1])
    else:
        raise ValueError("TOPSIS ideal must be 'sample' or 'fixed'")
    # squared gaps to the ideal points; weights enter squared ("matrix") or linearly ("distance")
    gb = (Z - zb) ** 2
    gw = (Z - zw) ** 2
    if weighting == "matrix":
        Wk = W**2
    elif weighting == "distance":
        Wk = W
    else:
        raise ValueError("TOPSIS weighting must be 'matrix' (v = w z) or 'distance' (D = sqrt(sum w gap^2))")
    # when the ideal is taken on the weighted matrix, max(w z) = w max(z) for w >= 0, so the gaps
    # above are exact; a linear algebra form keeps this O(units x m x draws) without 3-D arrays
    db = np.sqrt(np.maximum(gb @ Wk.T, 0.0)).T
    dw = np.sqrt(np.maximum(gw @ Wk.T, 0.0)).T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(db + dw > 0, dw / (db + dw), np.nan)


def topsis(Z, w, *, ideal: str = "sample", weighting: str = "matrix") -> TopsisResult:
    Z = np.asarray(Z, dtype=float)
    w = np.asarray(w, dtype=float)
    if ideal == "sample":
        zb, zw = Z.max(axis=0), Z.min(axis=0)
    else:
        zb, zw = np.ones(Z.shape[1]), np.zeros(Z.shape[1])
    wk = w**2 if weighting == "matrix" else w
    db = np.sqrt(((Z - zb) ** 2) @ wk)
    dw = np.sqrt(((Z - zw) ** 2) @ wk)
    with np.errstate(invalid="ignore", divide="ignore"):
        return TopsisResult(np.where(db + dw > 0, dw / (db + dw), np.nan), db, dw)


@dataclass(frozen=True)
class VikorResult:
    S: np.ndarray
    R: np.ndarray
    Q: np.ndarray

    @property
    def score(self) -> np.ndarray:
        return 1.0 - self.Q


def vikor(Z, w, v: float = 0.5) -> VikorResult:
    Z = np.asarray(Z, dtype=float)
    if np.isnan(Z).any():
        raise ValueError("VIKOR needs complete data; impute missing values first")
    w = np.asarray(w, dtype=float)
    fb, fw = Z.max(axis=0), Z.min(axis=0)
    const = fb == fw
    if const.any():
        raise ValueError(f"VIKOR is undefined when an indicator is constant (columns {np.where(const)[0].tolist()})")
    G = w * (fb - Z) / (fb - fw)
    S, R = G.sum(axis=1), G.max(axis=1)
    qs = (S - S.min()) / (S.max() - S.min()) if S.max() > S.min() else np.zeros_like(S)
    qr = (R - R.min()) / (R.max() - R.min()) if R.max() > R.min() else np.zeros_like(R)
    return VikorResult(S, R, v * qs + (1 - v) * qr)


def vikor_batch(Z: np.ndarray, W: np.ndarray, v: float = 0.5) -> np.ndarray:
    """1 - Q for many weight vectors (draws x units)."""
    Z = np.asarray(Z, dtype=float)
    W = np.atleast_2d(np.asarray(W, dtype=float))
    fb, fw = Z.max(axis=0), Z.min(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        G0 = np.where(fb > fw, (fb - Z) / (fb - fw), 0.0)  # units x m
    S = W @ G0.T  # draws x units
    R = np.max(W[:, None, :] * G0[None, :, :], axis=2)

    def scale(a):
        lo, hi = a.min(axis=1, keepdims=True), a.max(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(hi > lo, (a - lo) / (hi - lo), 0.0)

    return 1.0 - (v * scale(S) + (1 - v) * scale(R))


def grey_relational_coefficients(Z, rho: float = 0.5) -> np.ndarray:
    Z = np.asarray(Z, dtype=float)
    if not 0 < rho <= 1:
        raise ValueError("the distinguishing coefficient rho must be in (0, 1]")
    D = np.abs(Z.max(axis=0) - Z)
    dmin, dmax = np.nanmin(D), np.nanmax(D)
    if dmax == 0:
        return np.ones_like(Z)
    return (dmin + rho * dmax) / (D + rho * dmax)


def gra_batch(Z: np.ndarray, W: np.ndarray, rho: float = 0.5) -> np.ndarray:
    X = grey_relational_coefficients(Z, rho)
    return weighted_mean_batch(X, W, "arithmetic")


def gra(Z, w, rho: float = 0.5) -> np.ndarray:
    return gra_batch(Z, np.asarray(w, dtype=float)[None, :], rho)[0]


def obstacle_degree(Z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """O_ij = w_j (1 - z_ij) / sum_k w_k (1 - z_ik), rows sum to 1 (a unit at the best value on
    every indicator has no obstacle: its row is 0). Z must be on [0, 1]."""
    Z = np.asarray(Z, dtype=float)
    w = np.asarray(w, dtype=float)
    I = np.where(np.isnan(Z), 0.0, 1.0 - Z) * w
    tot = I.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, I / tot, 0.0)


@dataclass(frozen=True)
class OutrankingResult:
    """COINr ``outrankMatrix``: ``matrix`` (units x units, e_ab as in :func:`outranking`), the number of
    dominance pairs (e_ab = 1: a beats or ties b on every indicator with a value) and their share of
    the n (n - 1) / 2 pairs, and the Copeland scores."""

    matrix: np.ndarray
    n_dominant: int
    frac_dominant: float
    copeland: np.ndarray
    units: tuple | None = None

    def to_frame(self):
        import pandas as pd

        labels = list(self.units) if self.units is not None else list(range(self.matrix.shape[0]))
        return pd.DataFrame(self.matrix, index=labels, columns=labels)


def _outranking_batch(Z: np.ndarray, W: np.ndarray) -> np.ndarray:
    """e_ab for every weight vector: Z (n x m), W (draws x m, rows summing to 1) -> (draws x n x n)."""
    n = Z.shape[0]
    win = np.zeros((W.shape[0], n, n))
    tie = np.zeros((W.shape[0], n, n))
    # as COINr: the sum of the winning weights plus half the sum of the tied weights, indicators in
    # order (a comparison with a missing value is False on both counts)
    for k in range(Z.shape[1]):
        z = Z[:, k]
        w = W[:, k][:, None, None]
        win += w * (z[:, None] > z[None, :])
        tie += w * (z[:, None] == z[None, :])
    E = win + tie / 2.0
    lower = np.tril_indices(n, -1)
    E[:, lower[0], lower[1]] = 1.0 - E[:, lower[1], lower[0]]  # COINr fills the lower triangle as 1 - upper
    idx = np.arange(n)
    E[:, idx, idx] = 0.0
    return E


def _check_weights(w: np.ndarray, m: int, what: str) -> np.ndarray:
    w = np.atleast_2d(np.asarray(w, dtype=float))
    if w.shape[1] != m:
        raise ValueError(f"{what}: {w.shape[1]} weights for {m} indicators")
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise ValueError(f"{what}: weights must be finite and >= 0")
    tot = w.sum(axis=1, keepdims=True)
    if np.any(tot <= 0):
        raise ValueError(f"{what}: the weights sum to 0")
    return w / tot


def outranking(Z, w=None, units=None) -> OutrankingResult:
    """Outranking matrix and Copeland scores, as COINr ``outrankMatrix`` / ``a_copeland`` (COINr >= 1.0).

    With weights w rescaled to sum to 1 and Z (units x indicators, higher = better, NaN = missing):
    for a < b, e_ab = sum_k w_k [z_ak > z_bk] + (1/2) sum_k w_k [z_ak = z_bk] over the indicators where
    both units have a value (the weights are not rescaled per pair); e_ba = 1 - e_ab; e_aa = 0.
    Copeland: c_ab = 1 if e_ab > 0.5, -1 if e_ab < 0.5, 0 if e_ab = 0.5 (a == b: 0); score_a = sum_b c_ab,
    an integer in [-(n - 1), n - 1]. Dominance pairs: entries equal to 1; their share is over
    n (n - 1) / 2 pairs. Reference: Munda & Nardo (2009), Noncompensatory/nonlinear composite
    indicators for ranking countries, Applied Economics 41(12); COINr (Becker et al. 2022, JOSS 7(78)).
    ``w=None`` is equal weights."""
    Z = np.asarray(Z, dtype=float)
    if Z.ndim != 2:
        raise ValueError(f"the outranking matrix needs a units x indicators matrix, got shape {Z.shape}")
    w = np.ones(Z.shape[1]) if w is None else w
    W = _check_weights(w, Z.shape[1], "outranking matrix")
    E = _outranking_batch(Z, W)[0]
    n = Z.shape[0]
    ndom = int(np.sum(E == 1.0))
    return OutrankingResult(E, ndom, ndom / (n * (n - 1) / 2) if n > 1 else np.nan, _copeland_from(E[None])[0],
                            None if units is None else tuple(units))


def _copeland_from(E: np.ndarray) -> np.ndarray:
    C = np.where(E > 0.5, 1.0, np.where(E < 0.5, -1.0, 0.0))
    idx = np.arange(E.shape[1])
    C[:, idx, idx] = 0.0
    return C.sum(axis=2)


def copeland_batch(Z: np.ndarray, W: np.ndarray, max_cells: int = 4_000_000) -> np.ndarray:
    """Copeland scores (COINr ``a_copeland``) for many weight vectors: Z (n x m), W (draws x m) ->
    (draws x n); draws are processed in chunks of at most ``max_cells`` outranking entries."""
    Z = np.asarray(Z, dtype=float)
    W = _check_weights(W, Z.shape[1], "Copeland")
    n = Z.shape[0]
    step = max(1, max_cells // max(1, n * n))
    return np.concatenate([_copeland_from(_outranking_batch(Z, W[s:s + step])) for s in range(0, W.shape[0], step)])


def copeland(Z, w=None) -> np.ndarray:
    """Copeland scores of the units (COINr ``a_copeland``); see :func:`outranking`."""
    return outranking(Z, w).copeland


def aggregate_batch(kind: str, Z: np.ndarray, W: np.ndarray, *, p: float | None = None, topsis_ideal="sample",
                    topsis_weighting="matrix", vikor_v: float = 0.5, gra_rho: float = 0.5,
                    names=None, units=None) -> np.ndarray:
    kind = canonical_aggregation(kind)
    if kind in MEANS:
        return weighted_mean_batch(Z, W, kind, p, names=names, units=units)
    if kind == "topsis":
        return topsis_batch(Z, W, ideal=topsis_ideal, weighting=topsis_weighting)
    if kind == "vikor":
        return vikor_batch(Z, W, vikor_v)
    if kind == "copeland":
        return copeland_batch(Z, W)
    return gra_batch(Z, W, gra_rho)
