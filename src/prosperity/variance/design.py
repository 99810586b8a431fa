"""Design-based variance of a linearized estimator (Taylor / influence-function linearization).

For an estimator with linearized variable u (``theta_hat - theta ~= sum_k w_k u_k``), the
with-replacement (ultimate cluster) variance estimator of a stratified multi-stage design is

    V = sum_h (1 - f_h) * n_h / (n_h - 1) * sum_{i in h} (t_hi - tbar_h)^2,
    t_hi = sum_{k in PSU i of stratum h} w_k u_k,

n_h the number of PSUs in stratum h, f_h = n_h / N_h the sampling fraction when a finite
population correction is given (else 0). Without PSUs every unit is its own PSU; without strata
there is one stratum. This is R survey's ``svyrecvar`` (used by convey) for a first-stage design.

Domains (``by=`` groups): pass the domain's u with ``index`` (positions of the domain's units in the
full sample). Units outside the domain contribute t = 0, and n_h counts every PSU of the full
design, as domain estimation requires (a domain is not a separate sample).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..compiled import lazily_compiled

LONELY_PSU_RULES = ("fail", "adjust", "remove", "certainty")


@dataclass(frozen=True)
class Design:
    """Codes of the sampling design of ``n`` units, prepared once and reused for every measure."""

    n: int
    psu: np.ndarray  # int64 code per unit, 0..n_psu-1, unique across strata
    psu_stratum: np.ndarray  # stratum code of every PSU
    n_h: np.ndarray  # number of PSUs per stratum
    fpc_h: np.ndarray  # sampling fraction per stratum (0 when no fpc)
    lonely_psu: str = "fail"
    stratum_labels: np.ndarray = field(default=None, repr=False)

    @classmethod
    def build(cls, n: int, strata=None, psu=None, fpc=None, lonely_psu: str = "fail") -> "Design":
        """Build a design from per-unit strata and PSU labels (any hashable values).

        ``fpc``: per-unit total number of PSUs in the unit's stratum in the population (N_h), as in
        R survey's ``fpc=``; values <= 1 are read as sampling fractions.
        """
        if lonely_psu not in LONELY_PSU_RULES:
            raise ValueError(f"lonely_psu must be one of {LONELY_PSU_RULES}, got {lonely_psu!r}")
        if strata is None:
            s_codes = np.zeros(n, dtype=np.int64)
            s_labels = np.array(["(all)"], dtype=object)
        else:
            s_codes, s_labels = dense_codes(np.asarray(strata), sort=True)
        if psu is None:
            p_codes = np.arange(n, dtype=np.int64)
        elif n:
            # a PSU label is only unique within its stratum: code the (stratum, psu) pair
            p_codes = stratum_psu_codes(s_codes if strata is not None else None, np.asarray(psu))
        else:
            p_codes = np.zeros(0, dtype=np.int64)
        n_psu = int(p_codes.max()) + 1 if n else 0
        psu_stratum = np.zeros(n_psu, dtype=np.int64)
        psu_stratum[p_codes] = s_codes
        n_strata = int(s_codes.max()) + 1 if n else 0
        n_h = np.bincount(psu_stratum, minlength=n_strata)
        fpc_h = np.zeros(n_strata)
        if fpc is not None:
            fpc = np.asarray(fpc, dtype=np.float64)
            big_n = np.zeros(n_strata)
            big_n[s_codes] = fpc
            check = np.zeros(n_strata)
            check[s_codes[::-1]] = fpc[::-1]
            if not np.array_equal(big_n, check):
                raise ValueError("fpc must be constant within each stratum")
            fpc_h = np.where(big_n <= 1, big_n, n_h / np.where(big_n > 0, big_n, 1))
            if np.any(fpc_h > 1):
                raise ValueError("fpc gives fewer population PSUs than sampled PSUs in some stratum")
        return cls(n, p_codes, psu_stratum, n_h, fpc_h, lonely_psu, s_labels)

    def variance(self, wu: np.ndarray, index: np.ndarray | None = None) -> float:
        """Variance of ``sum(wu)`` where ``wu = w * u`` (u the linearized variable).

        ``index``: positions (in the full sample) of the units ``wu`` belongs to; None means all.
        """
        wu = np.asarray(wu, dtype=np.float64)
        codes = self.psu if index is None else self.psu[index]
        return self.variance_of_totals(np.bincount(codes, weights=wu, minlength=self.psu_stratum.size))

    def variance_of_totals(self, t: np.ndarray) -> float:
        """The variance from PSU totals ``t`` (t_c = sum of w u over PSU c, c = 0..n_psu-1), so that
        several estimators whose totals are linear combinations of a few PSU totals cost O(n_psu) each."""
        t = np.asarray(t, dtype=np.float64)
        if t.shape != self.psu_stratum.shape:
            raise ValueError(f"{t.size} PSU totals given for a design of {self.psu_stratum.size} PSUs")
        n_strata = self.n_h.size
        t_sum = np.bincount(self.psu_stratum, weights=t, minlength=n_strata)
        single = self.n_h == 1
        if single.any():
            if self.lonely_psu == "fail":
                bad = [str(x) for x in np.asarray(self.stratum_labels)[single][:5]]
                raise ValueError(
                    f"{int(single.sum())} stratum/strata have a single PSU (e.g. {bad}); the variance "
                    "is not defined there. Merge strata, or pass lonely_psu='adjust' (centre at the population "
                    "mean, as R survey), 'remove' or 'certainty' (contribute 0)."
                )
        with np.errstate(invalid="ignore", divide="ignore"):
            t_bar = np.where(self.n_h > 0, t_sum / np.maximum(self.n_h, 1), 0.0)
            if single.any() and self.lonely_psu == "adjust":
                # R survey's "adjust": a lonely PSU deviates from the population mean of the
                # linearized totals, which is 0 (svyrecvar leaves it uncentred).
                t_bar = np.where(single, 0.0, t_bar)
            dev = t - t_bar[self.psu_stratum]
            ss = np.bincount(self.psu_stratum, weights=dev * dev, minlength=n_strata)
            factor = np.where(single, 1.0 if self.lonely_psu == "adjust" else 0.0, self.n_h / np.maximum(self.n_h - 1, 1))
        return float(np.sum((1.0 - self.fpc_h) * factor * ss))

    def se(self, wu: np.ndarray, index: np.ndarray | None = None) -> float:
        return float(np.sqrt(self.variance(wu, index)))


# From this many units, psu_totals uses a compiled loop when numba is installed (PROSPERITY_NO_NUMBA=1:
# never); it adds the same products in the same order as np.bincount, so the totals are identical.
PSU_TOTALS_NUMBA_MIN = 1 << 16


def psu_totals(codes: np.ndarray, u: np.ndarray, w: np.ndarray, n_psu: int) -> np.ndarray:
    """t_c = sum_{k: codes_k = c} w_k u_k for c = 0..n_psu-1 (``np.bincount(codes, w * u)``), without
    the full-length product array when numba is available."""
    if codes.size >= PSU_TOTALS_NUMBA_MIN and codes.dtype == np.int64:
        loop = _compiled_totals()
        if loop is not None:
            return loop(codes, np.asarray(u, dtype=np.float64), np.asarray(w, dtype=np.float64), np.zeros(n_psu))
    return np.bincount(codes, weights=np.multiply(u, w), minlength=n_psu)


@lazily_compiled
def _compiled_totals(codes, u, w, out):  # pragma: no cover - compiled
    for i in range(codes.size):
        out[codes[i]] += u[i] * w[i]
    return out


# ----------------------------------------------------------------- codes (hash-free fast paths)
def dense_codes(values: np.ndarray, sort: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(codes 0..k-1, levels) like ``pd.factorize``; integer labels of small range use a lookup table
    (no hashing, lower memory), sorted."""
    v = np.asarray(values)
    if v.dtype.kind in "iu" and v.size:
        lo, hi = int(v.min()), int(v.max())
        span = hi - lo + 1
        if span <= 4 * v.size + 1024:
            shifted = v.astype(np.int64, copy=True)
            if lo:
                shifted -= lo
            present = np.flatnonzero(np.bincount(shifted, minlength=span))
            lookup = np.full(span, -1, dtype=np.int64)
            lookup[present] = np.arange(present.size)
            codes = np.take(lookup, shifted, out=shifted)
            return codes, present + lo
    codes, levels = pd.factorize(v, sort=sort)
    return codes.astype(np.int64, copy=False), np.asarray(levels)


def stratum_psu_codes(strata, psu) -> np.ndarray:
    """0..n_psu-1 per unit for the (stratum, PSU) pair: a PSU label is only unique within its stratum.
    Integer labels are combined arithmetically (one pass, no hashing)."""
    p = np.asarray(psu)
    if p.dtype.kind not in "iu":
        p = pd.factorize(p)[0]
    if strata is None:
        return dense_codes(p)[0]
    h = np.asarray(strata)
    if h.dtype.kind not in "iu":
        h = pd.factorize(h)[0]
    p_lo, h_lo = int(p.min()), int(h.min())
    span = int(p.max()) - p_lo + 1
    if span * (int(h.max()) - h_lo + 1) >= 2**62:
        p = pd.factorize(p)[0]
        p_lo, span = 0, int(p.max()) + 1
    key = h.astype(np.int64, copy=True)
    key -= h_lo
    key *= span
    key += p
    if p_lo:
        key -= p_lo
    return dense_codes(key)[0]
