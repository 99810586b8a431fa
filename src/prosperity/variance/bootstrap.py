"""Bootstrap replicate weights for stratified cluster samples, seeded and vectorised.

A replicate multiplies every unit's weight by its PSU's multiplier m*_hi. Per stratum h with n_h
PSUs:

- ``"bootstrap"`` (naive; laeken's ``bootType = "naive"`` with strata): draw n_h PSUs with
  replacement; m*_hi = number of times PSU i was drawn. The variance is biased by (n_h - 1) / n_h,
  negligible unless strata hold few PSUs.
- ``"rescaled_bootstrap"`` (Rao & Wu 1988, with m_h = n_h - 1 draws, Rao, Wu & Yue 1992; R survey's
  ``subbootstrap``): draw n_h - 1 PSUs with replacement, r_hi the draw counts, and
  m*_hi = 1 - lambda_h + lambda_h n_h / (n_h - 1) r_hi with lambda_h = sqrt(1 - f_h) (f_h the
  sampling fraction, 0 without fpc): unbiased for linear statistics.

A stratum with a single PSU gets m* = 1 (it adds no variance, as ``lonely_psu="certainty"``).
Replicates come in chunks (a ``(replicates, n_psu)`` matrix each), drawn from
``numpy.random.default_rng([seed, chunk])``, so a run is reproducible from its seed and memory stays
bounded. The variance of a statistic is the variance of its replicate values (ddof = 1, as R survey's
bootstrap designs); percentile confidence intervals are quantiles of the replicate values.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

BOOTSTRAP_METHODS = ("bootstrap", "rescaled_bootstrap")
_CHUNK_CELLS = 2_000_000  # replicates x PSUs per chunk


def replicate_multipliers(
    psu_stratum: np.ndarray,
    fpc_h: np.ndarray | None = None,
    *,
    replicates: int,
    method: str = "bootstrap",
    seed: int = 0,
    chunk: int | None = None,
) -> Iterator[np.ndarray]:
    """Yield ``(r, n_psu)`` arrays of PSU weight multipliers, ``replicates`` rows in total.

    ``psu_stratum``: the stratum code (0..H-1) of every PSU; ``fpc_h``: sampling fraction per
    stratum (None or zeros: with replacement).
    """
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"unknown bootstrap method {method!r}; use one of {BOOTSTRAP_METHODS}")
    psu_stratum = np.asarray(psu_stratum, dtype=np.int64)
    n_psu = psu_stratum.size
    n_h = np.bincount(psu_stratum)
    H = n_h.size
    f_h = np.zeros(H) if fpc_h is None else np.asarray(fpc_h, dtype=np.float64)
    by_stratum = np.argsort(psu_stratum, kind="stable")  # PSUs grouped by stratum
    start = np.concatenate([[0], np.cumsum(n_h)[:-1]])
    single = n_h == 1
    draws = np.where(single, 0, n_h if method == "bootstrap" else n_h - 1)
    slot_stratum = np.repeat(np.arange(H), draws)
    slot_start = start[slot_stratum]
    slot_size = n_h[slot_stratum]
    if method == "rescaled_bootstrap":
        lam = np.sqrt(1.0 - f_h)
        scale_h = np.where(single, 0.0, lam * n_h / np.maximum(n_h - 1, 1))
        base_h = np.where(single, 1.0, 1.0 - lam)
        scale, base = scale_h[psu_stratum], base_h[psu_stratum]
    else:
        scale = np.ones(n_psu)
        base = np.where(single[psu_stratum], 1.0, 0.0)
    per_chunk = chunk or max(1, min(replicates, _CHUNK_CELLS // max(n_psu, 1)))
    done, index = 0, 0
    while done < replicates:
        r = min(per_chunk, replicates - done)
        rng = np.random.default_rng([int(seed), index])
        u = rng.random((r, slot_stratum.size))
        picked = by_stratum[slot_start + np.minimum((u * slot_size).astype(np.int64), slot_size - 1)]
        picked += (np.arange(r, dtype=np.int64) * n_psu)[:, None]
        counts = np.bincount(picked.ravel(), minlength=r * n_psu).reshape(r, n_psu)
        yield base + scale * counts
        done += r
        index += 1


def replicate_variance(values: np.ndarray) -> np.ndarray:
    """Variance over replicates (last axis), ddof = 1, ignoring failed (NaN) replicates."""
    return np.nanvar(values, axis=-1, ddof=1)


def replicate_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval: the (1 - c)/2 and (1 + c)/2 quantiles of the replicate values."""
    a = (1.0 - confidence) / 2.0
    lo, hi = np.nanquantile(values, [a, 1.0 - a], axis=-1)
    return lo, hi
