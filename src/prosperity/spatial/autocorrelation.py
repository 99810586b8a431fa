"""Spatial autocorrelation: global Moran's I with its analytical moments and permutation inference, and
local Moran (LISA) with quadrants and conditional-permutation pseudo p-values (the conventions of PySAL
esda ``Moran`` and ``Moran_Local``).

Weights. W is taken as given and transformed first (``transformation="r"``: each row divided by its
sum, esda's default; ``"b"``: binary, every non-zero weight 1; ``"o"``: as given). Islands (no
neighbour) keep a zero row. s0 = sum_ij w_ij, s1 = 1/2 sum_ij (w_ij + w_ji)^2,
s2 = sum_i (w_i. + w_.i)^2.

Global Moran (Cliff & Ord 1981), z = y - mean(y):
  I = n / s0 * z'Wz / z'z,  E[I] = -1 / (n - 1),
  normality:      Var[I] = (n^2 s1 - n s2 + 3 s0^2) / ((n - 1)(n + 1) s0^2) - E[I]^2
  randomisation:  Var[I] = (n((n^2 - 3n + 3) s1 - n s2 + 3 s0^2) - b2((n^2 - n) s1 - 2n s2 + 6 s0^2))
                           / ((n - 1)(n - 2)(n - 3) s0^2) - E[I]^2,   b2 = m4 / m2^2 (kurtosis),
  z = (I - E[I]) / sd[I], p two-sided by default (``two_tailed``, as esda).
  Permutations: I recomputed on R random permutations of z; pseudo p = (M + 1) / (R + 1) with M the
  number of simulated I >= I_obs, or of those below when fewer (esda's folded one-sided rule);
  z_sim = (I - mean(sim)) / sd(sim) (sd with ddof 0), p_z_sim one-sided normal.

Local Moran (Anselin 1995), z_i standardised with the sd of ddof 0:
  I_i = (n - 1) z_i (Wz)_i / sum_j z_j^2.
  Quadrants (PySAL numbering): 1 HH (z_i > 0, (Wz)_i > 0), 2 LH, 3 LL, 4 HL.
  Moments under total randomisation (Sokal et al. 1998, A3/A4*): E[I_i] = -w_i / (n - 1),
  Var[I_i] = w_i^(2) (n - b2) / (n - 1) + (w_i^2 - w_i^(2)) (2 b2 - n) / ((n - 1)(n - 2)) - E[I_i]^2;
  under conditional randomisation (A7/A8): E = -z_i^2 w_i / ((n - 1) m2),
  Var = (z_i / m2)^2 n / (n - 2) (w_i^(2) - w_i^2 / (n - 1)) (m2 - z_i^2 / (n - 1)),
  with w_i = sum_j w_ij, w_i^(2) = sum_j w_ij^2, m2 = sum z^2 / n.
  Conditional permutation: z_i is held fixed and its card(i) neighbour values are drawn without
  replacement from the other n - 1 values, R times; pseudo p as for the global I, per region.
  Islands have no local statistic to test: their p-values are NaN here (esda reports 1 / (R + 1)).
  Exact ties: a replication that redraws the region's own neighbour values gives I_i again, up to
  rounding; such a value (within 1e-12 of the scale of I_i) counts as >= the observed one, as it does
  in exact arithmetic. esda compares the rounded values, so its p_sim can differ from ours by the
  number of such ties / (R + 1) where they occur (regions with 1-3 neighbours; ``ties`` counts them).

Random numbers. ``seed`` (an int) reproduces esda exactly: the global permutations are those of
``numpy.random.RandomState(seed).permutation`` (esda after ``numpy.random.seed(seed)``), the local
draws those of esda's ``Moran_Local(..., seed=seed)`` (numba's generator seeded with ``seed``, one
``choice(n - 1, max_card, replace=False)`` per replication). Without numba (or with
``PROSPERITY_NO_NUMBA``) the local draws come from ``numpy.random.default_rng(seed)``: the same
distribution, other draws (``stream`` says which).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from prosperity.dynamics.weights import SpatialWeights

TRANSFORMATIONS = ("r", "b", "o")
QUADRANTS = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
DEFAULT_SEED = 12345


# ------------------------------------------------------------------ inputs
def transform(w: np.ndarray, transformation: str = "r") -> np.ndarray:
    """W row-standardised (``"r"``), binary (``"b"``) or as given (``"o"``); zero rows stay zero."""
    w = np.asarray(w, dtype=float)
    t = str(transformation).lower()
    if t not in TRANSFORMATIONS:
        raise ValueError(f"transformation must be one of {TRANSFORMATIONS} (row-standardised, binary, original), "
                         f"got {transformation!r}")
    if t == "b":
        return (w != 0).astype(float)
    if t == "r":
        rs = w.sum(axis=1, keepdims=True)
        return np.divide(w, rs, out=np.zeros_like(w), where=rs != 0)
    return w.copy()


def align(values, weights, ids=None) -> tuple[np.ndarray, np.ndarray, tuple]:
    """(y, W, ids): ``values`` a pandas Series indexed by region id (or an array with ``ids``) and
    ``weights`` a :class:`SpatialWeights` (aligned by id) or an n x n array in the order of ``values``."""
    if isinstance(values, pd.Series):
        ids = tuple(values.index) if ids is None else tuple(ids)
        y = values.to_numpy(dtype=float)
    else:
        y = np.asarray(values, dtype=float).ravel()
        ids = tuple(range(y.size)) if ids is None else tuple(ids)
    if len(ids) != y.size:
        raise ValueError(f"{len(ids)} ids for {y.size} values")
    if len(set(ids)) != len(ids):
        dup = sorted({str(i) for i in ids if ids.count(i) > 1})[:5]
        raise ValueError(f"region id(s) {dup} appear more than once in the values")
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(f"values are missing or not finite for region(s) {[ids[k] for k in np.flatnonzero(bad)[:5]]}; "
                         "Moran's I needs one value per region (drop the region from the values and the weights)")
    if isinstance(weights, SpatialWeights):
        w = weights.matrix(ids, row_standardize=False)
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (y.size, y.size):
            raise ValueError(f"weights must be {y.size} x {y.size} (one row and column per value), got {w.shape}")
    if y.size < 4:
        raise ValueError(f"Moran's I needs at least 4 regions (the randomisation variance divides by (n-1)(n-2)(n-3)), got {y.size}")
    if np.ptp(y) == 0:
        raise ValueError("the values are all equal: Moran's I is undefined (z'z = 0)")
    if not np.any(w):
        raise ValueError("the weights have no links (every region is an island): Moran's I is undefined")
    return y, w, ids


def weight_sums(w: np.ndarray) -> tuple[float, float, float]:
    """(s0, s1, s2) of Cliff & Ord."""
    s0 = float(w.sum())
    s1 = float(0.5 * np.sum((w + w.T) ** 2))
    s2 = float(np.sum((w.sum(axis=1) + w.sum(axis=0)) ** 2))
    return s0, s1, s2


def _rng_legacy(seed):
    if isinstance(seed, (np.random.RandomState, np.random.Generator)):
        return seed
    return np.random.RandomState(DEFAULT_SEED if seed is None else int(seed))


def _folded_pseudo_p(sim: np.ndarray, observed, permutations: int, tolerance=0.0):
    """esda's pseudo p: (M + 1) / (R + 1), M = #(sim >= obs) or R - that when smaller (per column);
    a simulated value within ``tolerance`` of the observed one is an exact tie and counts as >=."""
    larger = np.sum(sim >= np.asarray(observed) - tolerance, axis=0)
    larger = np.minimum(larger, permutations - larger)
    return (larger + 1.0) / (permutations + 1.0)


def _one_sided_normal(z):
    z = np.asarray(z, dtype=float)
    return np.where(z > 0, stats.norm.sf(z), stats.norm.cdf(z))


# ------------------------------------------------------------------ global Moran
@dataclass(frozen=True)
class Moran:
    """Global Moran's I with its moments under normality and randomisation and permutation inference."""

    I: float
    n: int
    EI: float
    VI_norm: float
    VI_rand: float
    s0: float
    s1: float
    s2: float
    two_tailed: bool
    transformation: str
    permutations: int = 0
    seed: object = None
    sim: np.ndarray | None = field(default=None, repr=False)

    @property
    def seI_norm(self) -> float:
        return float(np.sqrt(self.VI_norm))

    @property
    def seI_rand(self) -> float:
        return float(np.sqrt(self.VI_rand))

    @property
    def z_norm(self) -> float:
        return (self.I - self.EI) / self.seI_norm

    @property
    def z_rand(self) -> float:
        return (self.I - self.EI) / self.seI_rand

    def _p(self, z) -> float:
        p = float(_one_sided_normal(z))
        return 2.0 * p if self.two_tailed else p

    @property
    def p_norm(self) -> float:
        return self._p(self.z_norm)

    @property
    def p_rand(self) -> float:
        return self._p(self.z_rand)

    @property
    def p_sim(self) -> float:
        return float(_folded_pseudo_p(self.sim, self.I, self.permutations)) if self.permutations else float("nan")

    @property
    def EI_sim(self) -> float:
        return float(self.sim.sum() / self.permutations) if self.permutations else float("nan")

    @property
    def seI_sim(self) -> float:
        return float(self.sim.std()) if self.permutations else float("nan")

    @property
    def z_sim(self) -> float:
        return (self.I - self.EI_sim) / self.seI_sim if self.permutations else float("nan")

    @property
    def p_z_sim(self) -> float:
        return float(_one_sided_normal(self.z_sim)) if self.permutations else float("nan")

    def to_frame(self) -> pd.DataFrame:
        """One row per null hypothesis: normality, randomisation, permutation (I, E[I], Var[I], z, p)."""
        rows = [
            ("normality", self.EI, self.VI_norm, self.z_norm, self.p_norm),
            ("randomisation", self.EI, self.VI_rand, self.z_rand, self.p_rand),
        ]
        if self.permutations:
            rows.append(("permutation", self.EI_sim, self.seI_sim ** 2, self.z_sim, self.p_sim))
        f = pd.DataFrame(rows, columns=["inference", "expected", "variance", "z", "p_value"])
        f.insert(0, "I", self.I)
        f["p_value_kind"] = ["two-sided" if self.two_tailed else "one-sided"] * 2 + (
            [f"pseudo (M+1)/(R+1), R={self.permutations}"] if self.permutations else [])
        return f

    def __repr__(self) -> str:
        perm = f", p_sim={self.p_sim:.4g} (R={self.permutations}, seed {self.seed})" if self.permutations else ""
        return (f"Moran(I={self.I:.6f}, n={self.n}, E[I]={self.EI:.6f}, z_norm={self.z_norm:.4f} (p={self.p_norm:.4g}), "
                f"z_rand={self.z_rand:.4f} (p={self.p_rand:.4g}){perm})")


def moran_statistic(z: np.ndarray, w: np.ndarray, s0: float) -> np.ndarray:
    """I for each row of ``z`` (centred values; several rows = several permutations)."""
    z = np.atleast_2d(z)
    return z.shape[1] / s0 * np.sum(z * (z @ w.T), axis=1) / np.sum(z * z, axis=1)


def moran(values, weights, *, ids=None, transformation: str = "r", permutations: int = 999, seed=DEFAULT_SEED,
          two_tailed: bool = True) -> Moran:
    """Global Moran's I (esda ``Moran``). ``values``: a Series by region id, or an array (``ids``
    optional); ``weights``: :class:`SpatialWeights` or an n x n array. ``seed``: an int (esda's stream,
    see the module notes), a ``numpy.random.RandomState`` or ``Generator``."""
    y, w, _ = align(values, weights, ids)
    w = transform(w, transformation)
    n = y.size
    z = y - y.mean()
    s0, s1, s2 = weight_sums(w)
    ei = -1.0 / (n - 1)
    n2, s02 = n * n, s0 * s0
    vi_norm = (n2 * s1 - n * s2 + 3 * s02) / ((n - 1) * (n + 1) * s02) - (1.0 / (n - 1)) ** 2
    b2 = (np.sum(z ** 4) / n) / (np.sum(z ** 2) / n) ** 2
    a = n * ((n2 - 3 * n + 3) * s1 - n * s2 + 3 * s02)
    b = b2 * ((n2 - n) * s1 - 2 * n * s2 + 6 * s02)
    vi_rand = (a - b) / ((n - 1) * (n - 2) * (n - 3) * s02) - ei * ei
    i_obs = float(n / s0 * np.sum(z * (w @ z)) / np.sum(z * z))
    sim = None
    permutations = int(permutations)
    if permutations < 0:
        raise ValueError(f"permutations must be >= 0, got {permutations}")
    if permutations:
        gen = _rng_legacy(seed)
        zs = np.array([gen.permutation(z) for _ in range(permutations)])
        sim = moran_statistic(zs, w, s0)
    return Moran(i_obs, n, ei, float(vi_norm), float(vi_rand), s0, s1, s2, two_tailed, transformation, permutations,
                 seed if isinstance(seed, (int, np.integer)) or seed is None else type(seed).__name__, sim)


# ------------------------------------------------------------------ local Moran
def _draws_loop(seed, n_minus_1, max_card, permutations):
    np.random.seed(seed)
    out = np.empty((permutations, max_card), dtype=np.int64)
    for k in range(permutations):
        out[k] = np.random.choice(n_minus_1, size=max_card, replace=False)
    return out


@functools.lru_cache(maxsize=1)
def _compiled_draws():
    from prosperity.compiled import njit

    jit = njit()
    return None if jit is None else jit(_draws_loop)


def conditional_draws(seed: int, n: int, max_card: int, permutations: int) -> tuple[np.ndarray, str]:
    """R x max_card indices into the n - 1 other regions, drawn without replacement per replication;
    ``(draws, stream)``, stream ``"esda"`` (numba, esda's draws for this seed) or ``"numpy"``."""
    max_card = max(int(max_card), 1)
    if max_card > n - 1:
        raise ValueError(f"a region has {max_card} neighbours but there are only {n - 1} other regions")
    fn = _compiled_draws()
    if fn is not None:
        return fn(int(seed), n - 1, max_card, int(permutations)), "esda"
    gen = np.random.default_rng(int(seed))
    return np.array([gen.choice(n - 1, size=max_card, replace=False) for _ in range(permutations)], dtype=np.int64), "numpy"


@dataclass(frozen=True)
class LocalMoran:
    """Local Moran's I_i per region with quadrants, moments and conditional-permutation pseudo p-values."""

    ids: tuple
    y: np.ndarray = field(repr=False)
    z: np.ndarray = field(repr=False)
    lag: np.ndarray = field(repr=False)  # (Wz)_i, W transformed
    Is: np.ndarray = field(repr=False)
    q: np.ndarray = field(repr=False)  # 1 HH, 2 LH, 3 LL, 4 HL
    EI: np.ndarray = field(repr=False)
    VI: np.ndarray = field(repr=False)
    EIc: np.ndarray = field(repr=False)
    VIc: np.ndarray = field(repr=False)
    islands: tuple
    transformation: str
    permutations: int = 0
    seed: object = None
    stream: str = ""
    sim: np.ndarray | None = field(default=None, repr=False)  # R x n
    tolerance: np.ndarray | None = field(default=None, repr=False)  # per region, for exact ties

    @property
    def ties(self) -> np.ndarray:
        """Per region: replications equal to the observed I_i up to rounding (a redraw of its own neighbours)."""
        if not self.permutations:
            return np.zeros(self.n, dtype=int)
        return np.sum(np.abs(self.sim - self.Is) <= self.tolerance, axis=0)

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def quadrant(self) -> np.ndarray:
        return np.array([QUADRANTS[int(k)] for k in self.q])

    def _island_nan(self, x):
        x = np.asarray(x, dtype=float).copy()
        mask = np.isin(np.arange(self.n), [self.ids.index(i) for i in self.islands])
        x[mask] = np.nan
        return x

    @property
    def p_sim(self) -> np.ndarray:
        if not self.permutations:
            return np.full(self.n, np.nan)
        return self._island_nan(_folded_pseudo_p(self.sim, self.Is, self.permutations, self.tolerance))

    @property
    def EI_sim(self) -> np.ndarray:
        return self.sim.mean(axis=0) if self.permutations else np.full(self.n, np.nan)

    @property
    def seI_sim(self) -> np.ndarray:
        return self.sim.std(axis=0) if self.permutations else np.full(self.n, np.nan)

    @property
    def z_sim(self) -> np.ndarray:
        if not self.permutations:
            return np.full(self.n, np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            return self._island_nan((self.Is - self.EI_sim) / self.seI_sim)

    @property
    def p_z_sim(self) -> np.ndarray:
        """One-sided normal p of z_sim, sf(|z_sim|) (esda)."""
        return stats.norm.sf(np.abs(self.z_sim))

    def clusters(self, alpha: float = 0.05) -> np.ndarray:
        """The quadrant label where p_sim <= alpha, else ``"ns"`` (not significant; islands ``"island"``)."""
        if not self.permutations:
            raise ValueError("LISA clusters need permutation p-values: run moran_local with permutations > 0")
        p = self.p_sim
        lab = np.where(p <= alpha, self.quadrant, "ns").astype(object)
        lab[np.isnan(p)] = "island"
        return lab

    def to_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """One row per region: value, z, lag, I_i, quadrant, moments, p_sim, z_sim, p_z_sim, cluster."""
        f = pd.DataFrame({
            "region": list(self.ids), "value": self.y, "z": self.z, "lag_z": self.lag, "I": self.Is,
            "quadrant": self.quadrant, "expected": self.EI, "variance": self.VI,
            "expected_conditional": self.EIc, "variance_conditional": self.VIc,
        })
        if self.permutations:
            f["p_sim"] = self.p_sim
            f["z_sim"] = self.z_sim
            f["p_z_sim"] = self.p_z_sim
            f["cluster"] = self.clusters(alpha)
        return f

    def __repr__(self) -> str:
        counts = pd.Series(self.quadrant).value_counts().reindex(list(QUADRANTS.values()), fill_value=0)
        quad = ", ".join(f"{k} {v}" for k, v in counts.items())
        perm = ""
        if self.permutations:
            sig = int(np.sum(self.p_sim <= 0.05))
            perm = f"; {sig} with p_sim <= 0.05 (R={self.permutations}, seed {self.seed}, {self.stream} draws)"
        return f"LocalMoran(n={self.n}; quadrants {quad}{perm}; islands {list(self.islands)})"


def local_moments(z: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(E, Var) of I_i under total and under conditional randomisation (Sokal et al. 1998)."""
    n = z.size
    m2 = np.sum(z * z) / n
    wi = w.sum(axis=1)
    wi2 = (w * w).sum(axis=1)
    eic = -(z ** 2 * wi) / ((n - 1) * m2)
    vic = (z / m2) ** 2 * (n / (n - 2)) * (wi2 - wi ** 2 / (n - 1)) * (m2 - z ** 2 / (n - 1))
    b2 = (np.sum(z ** 4) / n) / m2 ** 2
    ei = -wi / (n - 1)
    vi = wi2 * (n - b2) / (n - 1) + (wi ** 2 - wi2) * (2 * b2 - n) / ((n - 1) * (n - 2)) - ei ** 2
    return ei, vi, eic, vic


def moran_local(values, weights, *, ids=None, transformation: str = "r", permutations: int = 999,
                seed=DEFAULT_SEED) -> LocalMoran:
    """Local Moran (LISA, esda ``Moran_Local``) with PySAL quadrants 1 HH, 2 LH, 3 LL, 4 HL and
    conditional-permutation pseudo p-values (``seed``: an int, esda's draws; see the module notes)."""
    y, w, ids = align(values, weights, ids)
    w = transform(w, transformation)
    n = y.size
    z = (y - y.mean()) / y.std()
    den = np.sum(z * z)
    lag = w @ z
    is_ = (n - 1) * z * lag / den
    q = np.where(z > 0, np.where(lag > 0, 1, 4), np.where(lag > 0, 2, 3))
    ei, vi, eic, vic = local_moments(z, w)
    off = w.copy()
    np.fill_diagonal(off, 0.0)
    card = (off != 0).sum(axis=1)
    islands = tuple(ids[k] for k in np.flatnonzero(card == 0))
    sim, stream, tol = None, "", None
    permutations = int(permutations)
    if permutations < 0:
        raise ValueError(f"permutations must be >= 0, got {permutations}")
    if permutations:
        if not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int for the local permutations, got {type(seed).__name__}")
        draws, stream = conditional_draws(int(seed), n, int(card.max()), permutations)
        scaling = (n - 1) / den
        self_w = np.diag(w)
        sim = np.zeros((permutations, n))
        for i in range(n):
            cols = np.flatnonzero(off[i])  # ascending column order (scipy CSR), as esda reads the weights
            if cols.size == 0:
                continue
            others = np.delete(z, i)
            zrand = others[draws[:, : cols.size]]
            sim[:, i] = z[i] * (zrand @ off[i, cols] + self_w[i] * z[i]) * scaling
        tol = 1e-12 * scaling * np.abs(z) * (np.abs(off).sum(axis=1) * np.abs(z).max() + np.abs(self_w * z))
    return LocalMoran(ids, y, z, lag, is_, q, ei, vi, eic, vic, islands, transformation, permutations,
                      int(seed) if permutations else None, stream, sim, tol)
