"""Uncertainty and sensitivity analysis of a composite index (OECD/JRC Handbook step 7; Saisana,
Saltelli & Tarantola 2005; COINr ``get_sensitivity``).

The methodological choices are random inputs:

* ``normalisation``  one of the alternatives given (e.g. minmax, zscore, rank)
* ``weighting``      one of the alternatives (e.g. entropy, critic, equal)
* ``aggregation``    one of the alternatives (e.g. arithmetic, geometric, topsis)
* ``weights``        every weight perturbed as w' = w (1 + (2U - 1) f), U ~ U(0, 1) (COINr's
                     noise rule), then renormalised within its group
* ``exclusion``      (optional) one indicator left out, or none, uniformly

Uncertainty analysis draws N independent configurations and reports, per unit, the nominal rank,
the median and the 5 % / 95 % rank quantiles (COINr ``plot_uncertainty``). Sensitivity analysis
uses the scalar output y = mean_units |rank - nominal rank|, a Saltelli design A, B, A_B^(i)
(uniform random numbers, as COINr), first-order indices S_i = mean(y_B (y_ABi - y_A)) / V
(Saltelli et al. 2010) and total indices S_Ti = mean((y_A - y_ABi)^2) / (2 V) (Jansen 1999),
V = var(y_A ∪ y_B), with bootstrap confidence intervals. Every draw is seeded
(``numpy.random.default_rng(seed)``) and the configurations sharing (normalisation, weighting,
aggregation) are scored together as one matrix computation.

When geometric or harmonic means are among the alternatives and a normalisation puts a unit at 0,
the normalised values are lifted to [0.01, 1] (z' = 0.01 + 0.99 z; ``positive_floor``), the usual
fix (COINr issues #47, #65) — named here so nobody is surprised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .aggregate import canonical_aggregation
from .engine import evaluate
from .pipeline import (IndexResult, Prepared, _aggregations, base_weights, normalise_matrix, rank_within,
                       resolve_config, year_blocks, NORMALISATION_ALIASES)


class _Context:
    """Everything precomputed once: normalised matrices, base weights per combination."""

    def __init__(self, prep: Prepared, normalisations, weightings, aggregations, positive_floor: float = 0.01):
        self.prep = prep
        cfg = prep.config
        self.fw = prep.framework
        self.norms = [NORMALISATION_ALIASES.get(n, n) for n in (normalisations or [cfg.normalisation])]
        self.weights_m = list(weightings or [cfg.weighting])
        self.aggs = [canonical_aggregation(a) for a in (aggregations or [cfg.aggregation])]
        self.yb = year_blocks(prep.keys)
        need_pos = any(a in ("geometric", "harmonic") for a in self.aggs)
        self.Z, self.Zpos = {}, {}
        for nm in self.norms:
            Z = normalise_matrix(prep, nm)
            self.Z[nm] = Z
            if need_pos and np.nanmin(Z) <= 0:
                lo, hi = np.nanmin(Z), np.nanmax(Z)
                Z = positive_floor + (1 - positive_floor) * (Z - lo) / (hi - lo)
            self.Zpos[nm] = Z
        # base weights: per (normalisation, weighting), per block (one block unless by_year)
        self.bw = {}
        for nm in self.norms:
            for wm in self.weights_m:
                override = None if wm == cfg.weighting else wm
                self.bw[(nm, wm)] = [base_weights(prep, self.Z[nm], override, rows=rows) for rows in self.block_rows]
        self.opts = cfg.opts()
        # indicators that can be left out: those with a sibling
        self.excludable = [j for g in self.fw.groups if len(g.indicator_children) + len(g.group_children) > 1
                           for j in g.indicator_children]
        self.nominal = self.run(np.zeros(1, int), np.zeros(1, int), np.zeros(1, int), None, np.full(1, -1))[0][0]
        self.nominal_rank = rank_within(self.nominal, self.yb)

    @property
    def block_rows(self):
        return self.prep.blocks if self.prep.config.scope == "by_year" else [np.arange(self.prep.X.shape[0])]

    def run(self, ni, wi, ai, noise, excl, noise_f: float = 0.0):
        """Scores (N x units) for per-draw choice indices; ``noise`` is (N x total weights) in [0,1)."""
        N = len(ni)
        n = self.prep.X.shape[0]
        out = np.full((N, n), np.nan)
        sizes = [len(g.indicator_children) + len(g.group_children) for g in self.fw.groups]
        offs = np.concatenate([[0], np.cumsum(sizes)])
        combo = ni * 10000 + wi * 100 + ai
        for c in np.unique(combo):
            D = np.where(combo == c)[0]
            nm, wm, ag = self.norms[ni[D[0]]], self.weights_m[wi[D[0]]], self.aggs[ai[D[0]]]
            Z = self.Zpos[nm] if ag in ("geometric", "harmonic") else self.Z[nm]
            aggs = _aggregations(self.fw, self.prep.config, ag)
            for b, rows in enumerate(self.block_rows):
                gws = []
                for g, grp in enumerate(self.fw.groups):
                    W = np.repeat(self.bw[(nm, wm)][b][g][None, :], len(D), axis=0)
                    if noise is not None and noise_f > 0:
                        W = W * (1.0 + (2.0 * noise[D, offs[g]:offs[g + 1]] - 1.0) * noise_f)
                    for k, j in enumerate(grp.indicator_children):
                        W[excl[D] == j, k] = 0.0
                    gws.append(W)
                blocks = [np.arange(len(rows))] if len(self.block_rows) > 1 else self.prep.blocks
                s = evaluate(Z[rows], self.fw.groups, gws, aggs, blocks, self.opts, names=self.fw.codes,
                             min_coverage=self.prep.config.min_coverage)
                out[np.ix_(D, rows)] = s[-1]
        return out, offs[-1]


def _context(obj, normalisations, weightings, aggregations) -> _Context:
    if isinstance(obj, IndexResult):
        prep = obj.prepared
        if prep is None:
            raise ValueError("this IndexResult carries no prepared data; rebuild it with build_index")
    elif isinstance(obj, Prepared):
        prep = obj
    else:
        raise TypeError("pass an IndexResult (from build_index) or a Prepared panel")
    return _Context(prep, normalisations, weightings, aggregations)


@dataclass
class UncertaintyResult:
    summary: pd.DataFrame  # region, year, nominal rank/score, median rank, q05, q95, ...
    ranks: np.ndarray  # draws x units
    scores: np.ndarray
    draws: pd.DataFrame  # the configuration of each draw
    seed: int

    def to_frame(self) -> pd.DataFrame:
        return self.summary

    def __repr__(self) -> str:
        return (f"UncertaintyResult({self.ranks.shape[0]} draws, seed={self.seed})\n"
                + self.summary.head(10).to_string(index=False))


def uncertainty(result, n: int = 1000, *, seed: int = 0, normalisations=None, weightings=None, aggregations=None,
                weight_noise: float = 0.25, exclude_one: bool = False, keep_draws: bool = True) -> UncertaintyResult:
    """Monte Carlo over the methodological choices; rank intervals per unit."""
    ctx = _context(result, normalisations, weightings, aggregations)
    rng = np.random.default_rng(seed)
    ni = rng.integers(len(ctx.norms), size=n)
    wi = rng.integers(len(ctx.weights_m), size=n)
    ai = rng.integers(len(ctx.aggs), size=n)
    total = sum(len(g.indicator_children) + len(g.group_children) for g in ctx.fw.groups)
    noise = rng.random((n, total)) if weight_noise > 0 else None
    if exclude_one and ctx.excludable:
        pick = rng.integers(len(ctx.excludable) + 1, size=n) - 1
        excl = np.where(pick >= 0, np.asarray(ctx.excludable)[np.maximum(pick, 0)], -1)
    else:
        excl = np.full(n, -1)
    S, _ = ctx.run(ni, wi, ai, noise, excl, weight_noise)
    R = rank_within(S, ctx.yb)
    keys = ctx.prep.keys.reset_index(drop=True)
    summ = keys.copy()
    summ["nominal_score"] = ctx.nominal
    summ["nominal_rank"] = ctx.nominal_rank
    summ["median_rank"] = np.nanmedian(R, axis=0)
    summ["mean_rank"] = np.nanmean(R, axis=0)
    summ["rank_q05"] = np.nanquantile(R, 0.05, axis=0)
    summ["rank_q95"] = np.nanquantile(R, 0.95, axis=0)
    if len(ctx.norms) == 1 and len(ctx.aggs) == 1:  # scores are on one scale only then
        summ["score_q05"] = np.nanquantile(S, 0.05, axis=0)
        summ["score_q95"] = np.nanquantile(S, 0.95, axis=0)
    codes = ctx.fw.codes
    draws = pd.DataFrame({"normalisation": np.asarray(ctx.norms)[ni], "weighting": np.asarray(ctx.weights_m)[wi],
                          "aggregation": np.asarray(ctx.aggs)[ai],
                          "excluded": [codes[e] if e >= 0 else None for e in excl]})
    return UncertaintyResult(summ, R if keep_draws else R[:0], S if keep_draws else S[:0], draws, seed)


@dataclass
class SobolResult:
    indices: pd.DataFrame  # factor, S1, S1 CI, ST, ST CI
    n: int
    variance: float
    seed: int

    def to_frame(self) -> pd.DataFrame:
        return self.indices

    def __repr__(self) -> str:
        return f"SobolResult(N={self.n}, var(y)={self.variance:.4g}, seed={self.seed})\n{self.indices.to_string()}"


def saltelli_jansen(yA: np.ndarray, yB: np.ndarray, yAB: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """First-order (Saltelli 2010) and total (Jansen 1999) indices from model outputs on A, B and
    the d matrices A_B^(i) (yAB: d x N)."""
    V = np.var(np.concatenate([yA, yB]))
    if V == 0:
        return np.zeros(len(yAB)), np.zeros(len(yAB)), 0.0
    # y_B is centred first: same expectation, much smaller variance when E[y] is far from 0
    c = np.mean(np.concatenate([yA, yB]))
    S1 = np.mean((yB - c)[None, :] * (yAB - yA[None, :]), axis=1) / V
    ST = np.mean((yA[None, :] - yAB) ** 2, axis=1) / (2 * V)
    return S1, ST, float(V)


def sobol_indices(result, n: int = 1000, *, seed: int = 0, normalisations=None, weightings=None, aggregations=None,
                  weight_noise: float = 0.25, exclude_one: bool = False, n_boot: int = 200,
                  weight_bank: int = 1000, output: str = "mean_abs_rank_shift") -> SobolResult:
    """Sobol first-order and total indices of the choices on y = mean |rank - nominal rank|."""
    ctx = _context(result, normalisations, weightings, aggregations)
    factors = []
    if len(ctx.norms) > 1:
        factors.append("normalisation")
    if len(ctx.weights_m) > 1:
        factors.append("weighting")
    if len(ctx.aggs) > 1:
        factors.append("aggregation")
    if weight_noise > 0:
        factors.append("weights")
    if exclude_one and ctx.excludable:
        factors.append("exclusion")
    if not factors:
        raise ValueError("nothing varies: give alternatives (normalisations/weightings/aggregations), "
                         "weight_noise > 0 or exclude_one=True")
    d = len(factors)
    rng = np.random.default_rng(seed)
    M = rng.random((n, 2 * d))
    A, B = M[:, :d], M[:, d:]
    design = [A, B] + [np.where(np.arange(d) == i, B, A) for i in range(d)]
    U = np.vstack(design)
    total = sum(len(g.indicator_children) + len(g.group_children) for g in ctx.fw.groups)
    bank = rng.random((weight_bank, total))

    def col(name):
        return U[:, factors.index(name)] if name in factors else np.zeros(len(U))

    ni = np.minimum((col("normalisation") * len(ctx.norms)).astype(int), len(ctx.norms) - 1)
    wi = np.minimum((col("weighting") * len(ctx.weights_m)).astype(int), len(ctx.weights_m) - 1)
    ai = np.minimum((col("aggregation") * len(ctx.aggs)).astype(int), len(ctx.aggs) - 1)
    noise = bank[np.minimum((col("weights") * weight_bank).astype(int), weight_bank - 1)] if weight_noise > 0 else None
    if "exclusion" in factors:
        k = np.minimum((col("exclusion") * (len(ctx.excludable) + 1)).astype(int), len(ctx.excludable)) - 1
        excl = np.where(k >= 0, np.asarray(ctx.excludable)[np.maximum(k, 0)], -1)
    else:
        excl = np.full(len(U), -1)
    S, _ = ctx.run(ni, wi, ai, noise, excl, weight_noise)
    R = rank_within(S, ctx.yb)
    if output != "mean_abs_rank_shift":
        raise ValueError("output must be 'mean_abs_rank_shift'")
    y = np.nanmean(np.abs(R - ctx.nominal_rank[None, :]), axis=1)
    yA, yB = y[:n], y[n:2 * n]
    yAB = y[2 * n:].reshape(d, n)
    S1, ST, V = saltelli_jansen(yA, yB, yAB)
    boots = np.empty((n_boot, 2, d))
    for b in range(n_boot):
        idx = rng.integers(n, size=n)
        s1, st, _ = saltelli_jansen(yA[idx], yB[idx], yAB[:, idx])
        boots[b, 0], boots[b, 1] = s1, st
    q = np.quantile(boots, [0.025, 0.975], axis=0) if n_boot else np.full((2, 2, d), np.nan)
    df = pd.DataFrame({"factor": factors, "S1": S1, "S1_low": q[0, 0], "S1_high": q[1, 0],
                       "ST": ST, "ST_low": q[0, 1], "ST_high": q[1, 1]}).set_index("factor")
    return SobolResult(df, n, V, seed)


def leave_one_out(result) -> pd.DataFrame:
    """Remove one indicator at a time (its siblings' weights renormalised; COINr ``remove_elements``):
    mean and max absolute rank change over units, per indicator."""
    ctx = _context(result, None, None, None)
    ex = np.asarray(ctx.excludable)
    m = len(ex)
    z = np.zeros(m, int)
    S, _ = ctx.run(z, z, z, None, ex)
    R = rank_within(S, ctx.yb)
    shift = np.abs(R - ctx.nominal_rank[None, :])
    codes = ctx.fw.codes
    return pd.DataFrame({"indicator": [codes[j] for j in ex], "mean_abs_rank_change": np.nanmean(shift, axis=1),
                         "max_abs_rank_change": np.nanmax(shift, axis=1),
                         "mean_score_change": np.nanmean(S - ctx.nominal[None, :], axis=1)}).set_index("indicator")
