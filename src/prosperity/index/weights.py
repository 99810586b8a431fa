"""Indicator weights: objective (entropy, CRITIC, CV, std, PCA), subjective (AHP), combinations.

All objective methods take the *normalised* matrix ``Z`` (units in rows, indicators in columns,
higher = better, NaN = missing) except the coefficient of variation, which needs the raw, positive
data (it is scale-free by construction). Each returns weights summing to 1.

Entropy (熵权法). p_ij = z_ij / sum_i z_ij, e_j = -(1/ln n_j) sum_i p_ij ln p_ij, d_j = 1 - e_j,
w_j = d_j / sum_k d_k (n_j = units with a value for indicator j). The zero-handling variants in
circulation, by name:

=============  ==============================================================  ====================
``zero``       0 * ln 0 = 0 (limit); most papers, MATLAB/numpy code            default
``shift``      z + eps before p (eps = 1e-4, "非零平移")                      "translation" code
``rescale``    z -> eps + (1 - 2 eps) z, i.e. onto [eps, 1 - eps], eps = 0.002  R mathmodels
``max_weight`` any p_ij = 0 => e_j := 0 (the indicator gets the largest weight)   pymcdm (git master)
``raw``        the caller passes raw positive data, no normalisation             pymcdm 1.4 (raises
                                                                                 on zeros)
``epsilon``    p_ij = 0 replaced by eps = 1e-12 inside p ln p (p is not           R scripts
               renormalised; p = 1 needs no replacement, 1 ln 1 = 0)             (``P[P == 0] <- 1e-12``)
=============  ==============================================================  ====================

Panel entropy (面板熵值法) is entropy over the pooled region-years: pass the pooled matrix
(``scope="pooled"`` in the pipeline); ln(n T) then appears in e_j.

CRITIC (Diakoulaki et al. 1995): s_j = sd(z_j) (ddof 1), r Pearson correlation, C_j = s_j sum_k
(1 - r_jk), w = C / sum C (= pymcdm ``critic_weights`` on min-max data). Variant ``"entropy"``
replaces s_j with 1 - e_j.

MEREC (Keshavarz-Ghorabaee et al. 2021), Gini-coefficient and variance weights follow pymcdm's
definitions (``merec_weights``, ``gini_weights``, ``variance_weights``); see each function.

AHP (Saaty 1980): principal right eigenvector of the reciprocal matrix, lambda_max, CI = (lambda_max
- n)/(n - 1), CR = CI / RI(n); accepted if CR < 0.1 (a warning, never a refusal). RI tables are
named: ``saaty`` (Saaty 1980 / mathmodels, n <= 15) and ``tummala_ling`` (Tummala & Ling 1998, used
by pymcdm).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

ENTROPY_VARIANTS = ("zero", "shift", "rescale", "max_weight", "raw", "epsilon")
ENTROPY_EPSILON = 1e-12  # the "epsilon" variant's default replacement of p = 0
OBJECTIVE = ("equal", "entropy", "critic", "cv", "std", "pca", "pca1", "merec", "gini", "variance")

RI_TABLES = {
    # n = 1 .. 15
    "saaty": (0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59),
    "tummala_ling": (0.0, 0.0, 0.5799, 0.8921, 1.1159, 1.2358, 1.3322, 1.3952, 1.4537, 1.4882, 1.5117,
                     1.5356, 1.5571, 1.5714, 1.5831),
}


def _normalise_sum(v: np.ndarray, what: str) -> np.ndarray:
    s = float(np.sum(v))
    if not np.isfinite(s) or s <= 0:
        raise ValueError(f"{what}: the weights cannot be normalised (sum = {s}); "
                         "every indicator is constant or the data are degenerate")
    return v / s


def equal_weights(m: int) -> np.ndarray:
    return np.full(m, 1.0 / m)


def entropy_diversity(Z: np.ndarray, variant: str = "zero", eps: float | None = None) -> np.ndarray:
    """d_j = 1 - e_j per column (the "information utility" before normalising).

    ``variant`` names the zero handling (module table); ``eps`` is that variant's constant (the shift,
    the rescale margin, or for ``epsilon`` the value replacing p_ij = 0, default 1e-12)."""
    if variant not in ENTROPY_VARIANTS:
        raise ValueError(f"unknown entropy variant {variant!r}; choose one of {', '.join(ENTROPY_VARIANTS)}")
    Z = np.asarray(Z, dtype=float)
    if variant == "shift":
        Z = Z + (1e-4 if eps is None else eps)
    elif variant == "rescale":
        e = 0.002 if eps is None else eps
        Z = e + (1.0 - 2.0 * e) * Z
    ok = ~np.isnan(Z)
    if np.any(Z[ok] < 0):
        j = int(np.where((Z < 0).any(axis=0))[0][0])
        raise ValueError(
            f"entropy weights need non-negative values; column {j} has negatives "
            "(use a min-max normalisation, or z-scores are not suitable for entropy)"
        )
    if variant == "raw" and np.any(Z[ok] == 0):
        raise ValueError("entropy variant 'raw' needs strictly positive data (pymcdm 1.4 convention)")
    n = ok.sum(axis=0)
    col = np.where(ok, Z, 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        P = np.where(ok, Z, 0.0) / col
        if variant == "epsilon":
            e_rep = ENTROPY_EPSILON if eps is None else float(eps)
            if not 0 < e_rep < 1:
                raise ValueError(f"entropy variant 'epsilon' needs 0 < eps < 1 (the value replacing p = 0), got {eps!r}")
            Pe = np.where(ok & (P == 0), e_rep, P)  # only observed cells; a missing cell stays out
            plogp = np.where(ok & (Pe > 0), Pe * np.log(np.where(Pe > 0, Pe, 1.0)), 0.0)
        else:
            plogp = np.where(P > 0, P * np.log(np.where(P > 0, P, 1.0)), 0.0)
        e = -plogp.sum(axis=0) / np.log(n)
    if variant == "max_weight":
        e = np.where((np.where(ok, P, 1.0) == 0).any(axis=0), 0.0, e)
    e = np.where(col == 0, 1.0, e)  # an all-zero column carries no information
    return 1.0 - e


def entropy_weights(Z: np.ndarray, variant: str = "zero", eps: float | None = None) -> np.ndarray:
    return _normalise_sum(entropy_diversity(Z, variant, eps), "entropy")


def _pearson(Z: np.ndarray) -> np.ndarray:
    Z = np.asarray(Z, dtype=float)
    if np.isnan(Z).any():
        import pandas as pd

        return pd.DataFrame(Z).corr().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(Z, rowvar=False)
    return np.nan_to_num(np.atleast_2d(r), nan=0.0)


def critic_weights(Z: np.ndarray, variant: str = "std") -> np.ndarray:
    Z = np.asarray(Z, dtype=float)
    if variant == "std":
        s = np.nanstd(Z, axis=0, ddof=1)
    elif variant == "entropy":
        s = entropy_diversity(Z)
    else:
        raise ValueError("CRITIC variant must be 'std' or 'entropy'")
    r = _pearson(Z)
    c = s * np.sum(1.0 - r, axis=0)
    return _normalise_sum(c, "CRITIC")


def cv_weights(X: np.ndarray, ddof: int = 1) -> np.ndarray:
    """Coefficient of variation sd_j/mean_j on the raw data (ddof 1, as R ``sd``)."""
    X = np.asarray(X, dtype=float)
    mean = np.nanmean(X, axis=0)
    if np.any(mean <= 0):
        j = int(np.where(mean <= 0)[0][0])
        raise ValueError(f"coefficient-of-variation weights need a positive mean; column {j} has mean {mean[j]:.4g}")
    return _normalise_sum(np.nanstd(X, axis=0, ddof=ddof) / mean, "coefficient of variation")


def std_weights(Z: np.ndarray, ddof: int = 1) -> np.ndarray:
    return _normalise_sum(np.nanstd(np.asarray(Z, dtype=float), axis=0, ddof=ddof), "standard deviation")


def _complete_positive(X: np.ndarray, what: str, names=None) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"{what} weights need a matrix with at least two units (rows), got shape {X.shape}")
    miss = np.argwhere(np.isnan(X))
    if miss.size:
        i, j = miss[0]
        col = names[j] if names is not None else f"column {j}"
        raise ValueError(f"{what} weights need complete data: {col} is missing at row {i} "
                         f"({len(miss)} missing cell(s)); impute first (--imputation)")
    bad = np.argwhere(X <= 0)
    if bad.size:
        i, j = bad[0]
        col = names[j] if names is not None else f"column {j}"
        raise ValueError(f"{what} weights need strictly positive raw values (they take logarithms or ratios): "
                         f"{col} is {X[i, j]:.4g} at row {i} ({len(bad)} value(s) <= 0); choose another weighting "
                         "(entropy, critic, std, variance) for such indicators")
    return X


def merec_weights(X: np.ndarray, types, names=None) -> np.ndarray:
    """MEREC weights (Method based on the Removal Effects of Criteria; Keshavarz-Ghorabaee, Amiri,
    Zavadskas, Turskis & Antucheviciene 2021, Symmetry 13(4):525), as pymcdm ``merec_weights``.

    On the raw, strictly positive decision matrix X (n units x m indicators) with ``types`` (+1 more
    is better, -1 less is better):

    * n_ij = min_k x_kj / x_ij for a +1 indicator, x_ij / max_k x_kj for a -1 indicator (all in (0, 1]);
    * S_i = ln(1 + (1/m) sum_j |ln n_ij|), the unit's overall performance;
    * S'_ij = ln(1 + (1/m) sum_{k != j} |ln n_ik|), the same with indicator j removed (still 1/m);
    * E_j = sum_i |S'_ij - S_i|, w_j = E_j / sum_k E_k.
    """
    X = _complete_positive(X, "MEREC", names)
    t = np.asarray(types, dtype=float).ravel()
    if t.shape != (X.shape[1],):
        raise ValueError(f"MEREC needs one type per indicator; got {t.size} types for {X.shape[1]} indicators")
    bad = np.flatnonzero(~np.isin(t, (-1.0, 1.0)))
    if bad.size:
        col = names[bad[0]] if names is not None else f"column {bad[0]}"
        raise ValueError(f"MEREC needs each indicator's type, +1 (more is better) or -1 (less is better); {col} has "
                         f"{t[bad[0]]:g} (a 'moderate' indicator has no monotone direction: weight it otherwise)")
    N = np.where(t > 0, X.min(axis=0) / X, X / X.max(axis=0))
    L = np.abs(np.log(N))
    m = X.shape[1]
    S = np.log1p(L.sum(axis=1) / m)
    S_without = np.log1p((L.sum(axis=1, keepdims=True) - L) / m)  # column j: indicator j removed
    E = np.abs(S_without - S[:, None]).sum(axis=0)
    return _normalise_sum(E, "MEREC")


def gini_weights(X: np.ndarray, names=None) -> np.ndarray:
    """Gini-coefficient weights, as pymcdm ``gini_weights``: w_j ∝ G_j, the Gini coefficient of
    indicator j over the units, G_j = sum_i sum_k |x_ij - x_kj| / (2 n_j^2 mean_j) (the n^2 form, no
    small-sample factor; n_j = units with a value). Scale-free, so it takes the raw data (as the
    coefficient of variation does); a column needs a positive mean. Computed from the sorted values,
    sum_i sum_k |x_i - x_k| = 2 sum_i (2i - n - 1) x_(i).
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"Gini weights need a matrix with at least two units (rows), got shape {X.shape}")
    G = np.zeros(X.shape[1])
    for j in range(X.shape[1]):
        x = np.sort(X[~np.isnan(X[:, j]), j])
        n = x.size
        mean = x.mean() if n else np.nan
        if not n >= 2 or not mean > 0:
            col = names[j] if names is not None else f"column {j}"
            raise ValueError(f"Gini weights need at least two values with a positive mean per indicator; {col} has "
                             f"{n} value(s), mean {mean:.4g}; use std or variance weights for such indicators")
        G[j] = 2.0 * np.dot(2.0 * np.arange(1, n + 1) - n - 1, x) / (2.0 * n * n * mean)
    return _normalise_sum(G, "Gini")


def variance_weights(Z: np.ndarray, ddof: int = 1) -> np.ndarray:
    """Variance weights, as pymcdm ``variance_weights``: w_j ∝ var(z_j) (ddof 1) of the min-max
    normalised indicator. pymcdm min-max-normalises the raw matrix itself; here Z is the pipeline's
    normalised matrix, so the two agree when the normalisation is min-max (any range: the scale
    cancels, and a direction flip 1 - z leaves the variance unchanged)."""
    return _normalise_sum(np.nanvar(np.asarray(Z, dtype=float), axis=0, ddof=ddof), "variance")


def varimax(L: np.ndarray, tol: float = 1e-10, max_iter: int = 500) -> np.ndarray:
    """Kaiser's varimax rotation (raw, no row normalisation) of a loading matrix."""
    p, k = L.shape
    if k < 2:
        return L.copy()
    R = np.eye(k)
    d = 0.0
    for _ in range(max_iter):
        Lr = L @ R
        u, s, vt = np.linalg.svd(L.T @ (Lr**3 - Lr @ np.diag(np.sum(Lr**2, axis=0)) / p))
        R = u @ vt
        d_new = s.sum()
        if d_new < d * (1 + tol):
            break
        d = d_new
    return L @ R


def pca_weights(Z: np.ndarray, variant: str = "handbook", min_eigenvalue: float = 1.0) -> np.ndarray:
    """PCA/factor weights.

    ``handbook`` (OECD/JRC Handbook 2008, sec. 6.1; Nicoletti et al. 2000): components of the
    correlation matrix with eigenvalue > ``min_eigenvalue`` (at least one), varimax-rotated loadings,
    squared loadings scaled to sum 1 within each factor, each indicator assigned to the factor on
    which it loads most, weight = scaled squared loading x factor's share of explained variance,
    renormalised. ``first`` (``pca1``): |loading on the first component| normalised.
    """
    Z = np.asarray(Z, dtype=float)
    if np.isnan(Z).any():
        raise ValueError("PCA weights need complete data; impute missing values first")
    sd = Z.std(axis=0, ddof=1)
    keep = sd > 0
    S = np.zeros_like(Z)
    S[:, keep] = (Z[:, keep] - Z[:, keep].mean(axis=0)) / sd[keep]
    R = np.corrcoef(S[:, keep], rowvar=False)
    vals, vecs = np.linalg.eigh(np.atleast_2d(R))
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    w = np.zeros(Z.shape[1])
    if variant == "first":
        w[keep] = np.abs(vecs[:, 0])
        return _normalise_sum(w, "PCA")
    if variant != "handbook":
        raise ValueError("PCA variant must be 'handbook' or 'first'")
    k = max(1, int(np.sum(vals > min_eigenvalue)))
    L = vecs[:, :k] * np.sqrt(np.maximum(vals[:k], 0.0))
    L = varimax(L)
    sq = L**2
    explained = sq.sum(axis=0)
    scaled = sq / explained
    assigned = np.argmax(scaled, axis=1)
    share = explained / explained.sum()
    wk = scaled[np.arange(len(assigned)), assigned] * share[assigned]
    w[keep] = wk
    return _normalise_sum(w, "PCA")


@dataclass(frozen=True)
class AHPResult:
    weights: np.ndarray
    lambda_max: float
    ci: float
    ri: float
    cr: float
    method: str
    ri_table: str

    @property
    def consistent(self) -> bool:
        return self.cr < 0.1

    def __repr__(self) -> str:
        w = ", ".join(f"{v:.4f}" for v in self.weights)
        flag = "acceptable" if self.consistent else "NOT acceptable (CR >= 0.1)"
        return (f"AHPResult(weights=[{w}], lambda_max={self.lambda_max:.4f}, CI={self.ci:.4f}, "
                f"RI={self.ri:.4f} [{self.ri_table}], CR={self.cr:.4f} {flag})")


def _check_pairwise(A: np.ndarray, where: str = "") -> np.ndarray:
    A = np.asarray(A, dtype=float)
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"AHP matrix{where} must be square, got shape {A.shape}")
    if np.any(~np.isfinite(A)) or np.any(A <= 0):
        raise ValueError(f"AHP matrix{where} must hold positive numbers (Saaty's 1/9 .. 9 scale)")
    bad = np.argwhere(~np.isclose(A * A.T, 1.0, rtol=1e-6))
    if bad.size:
        i, j = bad[0]
        raise ValueError(
            f"AHP matrix{where} is not reciprocal: a[{i},{j}] = {A[i, j]:.4g} but a[{j},{i}] = {A[j, i]:.4g} "
            f"(it should be {1 / A[i, j]:.4g})"
        )
    return A


def ahp(A, method: str = "eigenvector", ri_table: str = "saaty") -> AHPResult:
    """AHP weights and consistency. ``method``: ``eigenvector`` (Saaty) or ``geometric`` (row
    geometric means, Crawford & Williams 1985); lambda_max is always the mean of (A w)_i / w_i."""
    A = _check_pairwise(A)
    n = A.shape[0]
    if method == "eigenvector":
        vals, vecs = np.linalg.eig(A)
        k = int(np.argmax(vals.real))
        w = np.abs(vecs[:, k].real)
        w = w / w.sum()
        lam = float(vals[k].real)
    elif method == "geometric":
        w = np.exp(np.log(A).mean(axis=1))
        w = w / w.sum()
        lam = float(np.mean((A @ w) / w))
    else:
        raise ValueError("AHP method must be 'eigenvector' or 'geometric'")
    if ri_table not in RI_TABLES:
        raise ValueError(f"unknown RI table {ri_table!r}; choose one of {', '.join(RI_TABLES)}")
    table = RI_TABLES[ri_table]
    if n > len(table):
        raise ValueError(f"the {ri_table} RI table stops at n = {len(table)}; got a {n} x {n} matrix")
    ci = (lam - n) / (n - 1) if n > 1 else 0.0
    ri = table[n - 1]
    cr = ci / ri if ri > 0 else 0.0
    res = AHPResult(w, lam, ci, ri, cr, method, ri_table)
    if not res.consistent:
        warnings.warn(f"AHP matrix is not consistent enough: CR = {cr:.3f} >= 0.1 (Saaty's rule); "
                      "revise the judgements", stacklevel=2)
    return res


def group_ahp(matrices, method: str = "eigenvector", ri_table: str = "saaty") -> AHPResult:
    """Group AHP by the element-wise geometric mean of the experts' matrices (Aczél & Saaty 1983)."""
    Ms = np.array([_check_pairwise(M, f" of expert {k + 1}") for k, M in enumerate(matrices)])
    return ahp(np.exp(np.log(Ms).mean(axis=0)), method=method, ri_table=ri_table)


def combine_weights(subjective, objective, *, method: str = "linear", alpha: float = 0.5) -> np.ndarray:
    """Combined weights: ``linear`` w = alpha w_s + (1 - alpha) w_o; ``multiplicative``
    w ∝ w_s w_o (both as in R mathmodels ``combine_weights``)."""
    ws = np.asarray(subjective, dtype=float)
    wo = np.asarray(objective, dtype=float)
    if ws.shape != wo.shape:
        raise ValueError("subjective and objective weights must have the same length")
    if method == "linear":
        if not 0 <= alpha <= 1:
            raise ValueError("alpha must be in [0, 1]")
        return _normalise_sum(alpha * ws / ws.sum() + (1 - alpha) * wo / wo.sum(), "combined")
    if method == "multiplicative":
        return _normalise_sum(ws * wo, "combined")
    raise ValueError("combination method must be 'linear' or 'multiplicative'")


def objective_weights(method: str, Z: np.ndarray, X: np.ndarray | None = None, **options) -> np.ndarray:
    """Dispatch by name: equal, entropy, critic, cv, std, pca (handbook), pca1 (first component),
    merec (raw data X and ``types``), gini (raw data X), variance. ``options``: entropy_variant,
    entropy_eps, critic_variant, types (+1/-1 per column, for MEREC), names (column names for errors)."""
    m = Z.shape[1]
    names = options.get("names")
    if method == "equal":
        return equal_weights(m)
    if method == "entropy":
        return entropy_weights(Z, options.get("entropy_variant", "zero"), options.get("entropy_eps"))
    if method == "critic":
        return critic_weights(Z, options.get("critic_variant", "std"))
    if method == "cv":
        if X is None:
            raise ValueError("coefficient-of-variation weights need the raw data")
        return cv_weights(X)
    if method == "std":
        return std_weights(Z)
    if method == "pca":
        return pca_weights(Z, "handbook")
    if method == "pca1":
        return pca_weights(Z, "first")
    if method in ("merec", "gini") and X is None:
        raise ValueError(f"{method} weights need the raw data")
    if method == "merec":
        types = options.get("types")
        if types is None:
            raise ValueError("MEREC weights need the indicators' directions (types: +1 or -1 per indicator)")
        return merec_weights(X, types, names)
    if method == "gini":
        return gini_weights(X, names)
    if method == "variance":
        return variance_weights(Z)
    raise ValueError(f"unknown weighting {method!r}; choose one of {', '.join(OBJECTIVE + ('user', 'ahp'))}")
