"""Shapley-value decomposition of any measure by factors (Shorrocks 2013).

Given factors K and a value v(S) for every subset S of K (the measure when only the factors in S
are "switched on"), factor k receives

    phi_k = sum_{S subset of K \\ {k}} |S|! (|K| - |S| - 1)! / |K|!  [v(S + k) - v(S)],

and sum_k phi_k = v(K) - v(empty) exactly. All 2^|K| subsets are evaluated once (cached), so the
exact value is practical up to about 12-16 factors.

Two ready-made uses:
- :func:`shapley_sources` - inequality by income source; a source that is "off" is removed (set to 0)
  or equalised (replaced by its mean);
- :func:`shapley_between_within` - between/within: "between" on = everyone at the group mean,
  "within" on = each group rescaled to the overall mean, both on = actual incomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from math import factorial
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

MAX_FACTORS = 16


@dataclass(frozen=True, eq=False)
class ShapleyDecomposition:
    """``contributions`` by factor; they add up to ``total`` = v(all) - v(none)."""

    factors: tuple[str, ...]
    contributions: tuple[float, ...]
    total: float
    full: float
    empty: float

    def to_frame(self) -> pd.DataFrame:
        c = np.asarray(self.contributions)
        return pd.DataFrame({"factor": list(self.factors), "contribution": c,
                             "share": c / self.total if self.total else np.nan})

    def __repr__(self) -> str:
        parts = ", ".join(f"{f}={c:.6g}" for f, c in zip(self.factors, self.contributions))
        return f"ShapleyDecomposition(total={self.total:.6g}: {parts})"


def shapley(value: Callable[[frozenset], float], factors: Sequence[str]) -> ShapleyDecomposition:
    """Exact Shapley decomposition of ``value`` (a function of a frozenset of factor names).

    >>> r = shapley(lambda s: len(s) ** 2, ["a", "b"])
    >>> r.contributions, r.total
    ((2.0, 2.0), 4.0)
    """
    factors = list(factors)
    k = len(factors)
    if len(set(factors)) != k:
        raise ValueError(f"factor names must differ, got {factors}")
    if k > MAX_FACTORS:
        raise ValueError(f"{k} factors need 2^{k} evaluations; the exact Shapley value is limited to "
                         f"{MAX_FACTORS} factors (group some of them)")
    cache: dict[frozenset, float] = {}

    def v(s: frozenset) -> float:
        if s not in cache:
            cache[s] = float(value(s))
        return cache[s]

    weights = [factorial(m) * factorial(k - m - 1) / factorial(k) for m in range(k)]
    phi = []
    for f in factors:
        others = [g for g in factors if g != f]
        total = 0.0
        for m in range(k):
            for s in combinations(others, m):
                fs = frozenset(s)
                total += weights[m] * (v(fs | {f}) - v(fs))
        phi.append(total)
    full, empty = v(frozenset(factors)), v(frozenset())
    return ShapleyDecomposition(tuple(factors), tuple(phi), full - empty, full, empty)


def _measure_fn(measure) -> Callable[[np.ndarray, np.ndarray | None], float]:
    if callable(measure):
        return measure
    if str(measure).lower() == "gini":
        from ..measures import gini

        return lambda y, w: gini(y, w)
    from .entropy import ge, parse_ge

    parse_ge(measure)  # validate early
    return lambda y, w: ge(y, w, measure)


def shapley_sources(sources: Mapping[str, object] | pd.DataFrame, w=None, *, measure="gini",
                    eliminate: str = "zero") -> ShapleyDecomposition:
    """Shapley decomposition of inequality of total income by source. ``eliminate``: ``"zero"`` (an
    "off" source is removed; v(none) = 0) or ``"mean"`` (an "off" source is replaced by its mean)."""
    if isinstance(sources, pd.DataFrame):
        sources = {c: sources[c] for c in sources.columns}
    if eliminate not in ("zero", "mean"):
        raise ValueError(f"eliminate must be 'zero' or 'mean', got {eliminate!r}")
    names = list(sources)
    x = {k: np.asarray(getattr(sources[k], "to_numpy", lambda: sources[k])(), dtype=float) for k in names}
    wv = None if w is None else np.asarray(w, dtype=float)
    fn = _measure_fn(measure)
    means = {k: float(np.average(x[k], weights=wv)) for k in names}

    def value(s: frozenset) -> float:
        if not s:
            return 0.0
        y = sum(x[k] if k in s else (means[k] if eliminate == "mean" else 0.0) for k in names)
        y = np.broadcast_to(y, x[names[0]].shape).astype(float)
        if np.allclose(y, y[0]):
            return 0.0
        return fn(y, wv)

    return shapley(value, names)


def shapley_between_within(y, w=None, *, groups, measure="gini") -> ShapleyDecomposition:
    """Two-factor Shapley split of a measure into "between" and "within" groups (any measure,
    e.g. the Gini, which has no exact additive decomposition)."""
    y = np.asarray(y, dtype=float)
    wv = np.ones_like(y) if w is None else np.asarray(w, dtype=float)
    codes, _ = pd.factorize(np.asarray(groups), sort=True)
    if (codes < 0).any():
        raise ValueError(f"group label missing at data row {int(np.flatnonzero(codes < 0)[0]) + 1}")
    n_g = np.bincount(codes, weights=wv)
    mu_g = np.bincount(codes, weights=wv * y) / n_g
    mu = float(np.dot(wv, y) / wv.sum())
    fn = _measure_fn(measure)
    at_group_mean = mu_g[codes]
    rescaled = y * (mu / mu_g[codes])

    def value(s: frozenset) -> float:
        if s == {"between", "within"}:
            return fn(y, wv)
        if s == {"between"}:
            return fn(at_group_mean, wv)
        if s == {"within"}:
            return fn(rescaled, wv)
        return 0.0

    return shapley(value, ["between", "within"])
