"""Rank mobility of regions: Kendall's tau between periods, spatial tau, and Theta (Rey 2004).

- Kendall's tau-b between the values of two periods (``scipy.stats.kendalltau``): 1 = ranks unchanged.
  Two p-values: ``tau_p_value`` is scipy's (the variance of tau corrected for ties; with no ties and
  n <= 33 scipy's exact permutation distribution), ``tau_p_value_untied`` is giddy ``Tau.tau_p``:
  z = tau / sqrt((4n + 10) / (9n(n - 1))), the no-ties variance whatever the ties,
  p = erfc(|z| / 1.4142136) (giddy's rounded sqrt 2, kept so the numbers are giddy's to the last digit).
- Spatial tau (Rey 2004): tau-b restricted to pairs of neighbours (w_ij != 0),
  tau_w = (C_w - D_w) / sqrt(n1_w n2_w), with n1_w (n2_w) the neighbour pairs not tied in x (y).
  Values below the global tau mean neighbours exchange ranks more often than other pairs.
  Inference by random permutation of regions over the map (``permutations``, seeded ``rng``).
- Theta (Rey 2004): the share of rank changes that happen within groups (regimes) of regions,
  theta_t = sum_g |sum_{i in g} (r_i,t+1 - r_i,t)| / sum_i |r_i,t+1 - r_i,t|,
  with permutation p-values (regime labels shuffled).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import erfc

import numpy as np
import pandas as pd
from scipy import stats

from .panel import RegionPanel, as_panel
from .weights import SpatialWeights


def tau_p_value_untied(tau: float, n: int) -> float:
    """giddy ``Tau.tau_p``: normal p-value of tau with the no-ties variance (4n + 10) / (9n(n - 1))."""
    z = tau / np.sqrt((4.0 * n + 10) / (9.0 * n * (n - 1)))
    return erfc(abs(z) / 1.4142136)


def _neighbor_pairs(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.nonzero(np.triu((w != 0) | (w.T != 0), k=1))
    return i, j


def _spatial_tau(x, y, i, j) -> tuple[float, int, int]:
    dx, dy = x[i] - x[j], y[i] - y[j]
    prod = dx * dy
    conc = int(np.sum(prod > 0))
    disc = int(np.sum(prod < 0))
    n1 = int(np.sum(dx != 0))
    n2 = int(np.sum(dy != 0))
    return (conc - disc) / np.sqrt(n1 * n2), conc, disc


@dataclass(frozen=True)
class RankMobility:
    """Kendall's tau (and spatial tau) between consecutive (or chosen) periods."""

    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        return f"RankMobility({len(self.table)} period pairs)\n{self.table.to_string(float_format=lambda v: f'{v:.4f}')}"


def _weights_matrix(weights, panel: RegionPanel) -> np.ndarray:
    if isinstance(weights, SpatialWeights):
        return weights.matrix(panel.regions, row_standardize=False)
    w = np.asarray(weights, dtype=float)
    if w.shape != (panel.n_regions, panel.n_regions):
        raise ValueError(f"weights must be {panel.n_regions} x {panel.n_regions}, got {w.shape}")
    return w


def rank_mobility(
    data,
    weights=None,
    *,
    pairs: str = "consecutive",
    permutations: int = 0,
    rng=None,
    region=None,
    time=None,
    value=None,
) -> RankMobility:
    """Kendall's tau between periods: ``pairs="consecutive"`` (t, t+1) or ``"first"`` (first, t).
    With ``weights`` (a :class:`SpatialWeights` or n x n array) also the spatial tau, with a
    permutation pseudo p-value when ``permutations > 0``."""
    panel = as_panel(data, region=region, time=time, value=value)
    y = panel.values
    if pairs not in ("consecutive", "first"):
        raise ValueError(f"pairs must be 'consecutive' or 'first', got {pairs!r}")
    idx = [(t, t + 1) for t in range(panel.n_times - 1)] if pairs == "consecutive" else [(0, t) for t in range(1, panel.n_times)]
    gen = np.random.default_rng(rng)
    if weights is not None:
        ii, jj = _neighbor_pairs(_weights_matrix(weights, panel))
    rows = []
    for a, b in idx:
        res = stats.kendalltau(y[:, a], y[:, b])
        row = {"time_from": panel.times[a], "time_to": panel.times[b], "tau": res.statistic, "tau_p_value": res.pvalue,
               "tau_p_value_untied": tau_p_value_untied(res.statistic, panel.n_regions)}
        if weights is not None:
            tau_w, conc, disc = _spatial_tau(y[:, a], y[:, b], ii, jj)
            row.update(tau_spatial=tau_w, neighbor_pairs=len(ii), concordant_spatial=conc, discordant_spatial=disc)
            if permutations:
                sims = np.empty(permutations)
                for r in range(permutations):
                    perm = gen.permutation(panel.n_regions)
                    sims[r] = _spatial_tau(y[perm, a], y[perm, b], ii, jj)[0]
                larger = np.sum(sims >= tau_w)
                p = (larger + 1.0) / (permutations + 1.0)
                row["tau_spatial_p_value"] = min(p, (permutations - larger + 1.0) / (permutations + 1.0))
        rows.append(row)
    return RankMobility(pd.DataFrame(rows))


@dataclass(frozen=True)
class Theta:
    """Share of rank changes within regimes, per period pair, with permutation p-values."""

    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        return f"Theta\n{self.table.to_string(float_format=lambda v: f'{v:.4f}')}"


def theta(data, regimes, *, permutations: int = 999, rng=None, region=None, time=None, value=None) -> Theta:
    """Rey's (2004) Theta. ``regimes``: a mapping region id -> group label, or a sequence in the
    panel's region order."""
    panel = as_panel(data, region=region, time=time, value=value)
    if isinstance(regimes, (dict, pd.Series)):
        missing = [r for r in panel.regions if r not in regimes]
        if missing:
            raise KeyError(f"no regime given for region(s) {missing[:8]}")
        labels = np.array([regimes[r] for r in panel.regions])
    else:
        labels = np.asarray(regimes)
        if labels.shape != (panel.n_regions,):
            raise ValueError(f"regimes must have one label per region ({panel.n_regions}), got {labels.shape}")
    ranks = stats.rankdata(panel.values, axis=0)
    d = np.diff(ranks, axis=1)
    total = np.abs(d).sum(axis=0)
    groups, codes = np.unique(labels, return_inverse=True)

    def theta_of(c):
        sums = np.zeros((groups.size, d.shape[1]))
        np.add.at(sums, c, d)
        return np.abs(sums).sum(axis=0) / total

    th = theta_of(codes)
    out = {"time_from": panel.times[:-1], "time_to": panel.times[1:], "theta": th}
    if permutations:
        gen = np.random.default_rng(rng)
        sims = np.array([theta_of(gen.permutation(codes)) for _ in range(permutations)])
        den = permutations + 1.0
        out["p_value_left"] = (1 + (sims <= th).sum(axis=0)) / den
        out["p_value_right"] = ((sims > th).sum(axis=0)) / den
    return Theta(pd.DataFrame(out))
