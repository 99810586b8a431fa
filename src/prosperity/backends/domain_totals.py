"""Per-(domain, PSU) totals of the streaming estimators, stored by each PSU's home group (issue 11).

The streaming passes (:mod:`prosperity.backends.streaming`) need, for every basis term b and every
domain d (the whole sample, each group of each breakdown), the PSU totals T_b(d, j) = sum_{k in d, k in
PSU j} w_k b_k. Held densely that is D x P floats a basis -- 32 domains x 2 M PSUs = 512 MB a basis at
10^8 rows -- and a piece's ``bincount`` over the D x P code space costs O(D P) however small the
piece. But a breakdown's groups are usually unions of PSUs (or cut few of them), so each breakdown has
at most about P non-zero totals.

:class:`DomainPSUTotals` keeps, per breakdown (a *layer*: a range of domains, one per group) and basis:

- the whole sample (a layer of one domain): P totals, ``bincount(psu, minlength=P)`` per piece;
- a breakdown: each PSU's **home** group, the group of the first row of the PSU the stream meets
  (``home[j]``, set once), and P totals of every PSU for its home group -- again one
  ``bincount(psu, minlength=P)`` a piece, O(piece + P), whatever the number of groups;
- the rows whose group is not their PSU's home (a PSU cut by the breakdown): sums over the distinct
  codes c = d P + j present in the piece (one ``pandas.factorize`` per piece, shared by every
  basis), kept as (codes, sums) blocks and compacted to sorted unique codes when the blocks outgrow
  twice the compacted size;
- when D x P is small (up to 2^18), simply one dense vector of D x P totals.

Each total is the sum of the same rows, in the same order (row order inside a piece, piece order
across pieces), as the dense accumulation; a domain's total over its PSUs sums its PSUs' totals
(pairwise, over the PSUs in ascending order). Memory: P floats a basis per breakdown plus the cut
PSUs' codes, instead of D x P.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
import pandas as pd

from .comoments import add_piece

_MIN_COMPACT = 1 << 20  # buffered entries before the first compaction
_DENSE_ALL = 1 << 18  # D x P up to this: one dense vector a basis (a bincount over it is cheap)


class _Sparse:
    """Sums by code, as compacted sorted (codes, values) plus blocks not yet merged."""

    __slots__ = ("codes", "values", "blocks", "buffered")

    def __init__(self):
        self.codes = np.empty(0, np.int64)
        self.values = np.empty(0, np.float64)
        self.blocks: list = []
        self.buffered = 0

    def add(self, codes: np.ndarray, values: np.ndarray) -> None:
        self.blocks.append((codes, values))
        self.buffered += codes.size
        if self.buffered > max(_MIN_COMPACT, 2 * self.codes.size):
            self.compact()

    def compact(self) -> None:
        if not self.blocks:
            return
        codes = np.concatenate([self.codes] + [c for c, _ in self.blocks])
        values = np.concatenate([self.values] + [v for _, v in self.blocks])
        self.codes, inverse = np.unique(codes, return_inverse=True)
        self.values = np.bincount(inverse.ravel(), weights=values, minlength=self.codes.size)
        self.blocks, self.buffered = [], 0

    def range(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(codes, sums) with lo <= code < hi."""
        self.compact()
        a, b = np.searchsorted(self.codes, [lo, hi])
        return self.codes[a:b], self.values[a:b]


def factorize_ints(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(inverse, uniques) of non-negative integer codes, ``uniques[inverse] == codes``: over a range at
    most 4 times the rows, by a ``bincount`` of presence (uniques ascending, no hash, no sort);
    otherwise ``pandas.factorize`` (uniques in order of first appearance)."""
    if codes.size:
        lo, hi = int(codes.min()), int(codes.max())
        if hi - lo <= 4 * codes.size + 1024:
            shifted = codes - lo
            present = np.bincount(shifted, minlength=hi - lo + 1) > 0
            rank = np.cumsum(present) - 1
            return rank[shifted], np.flatnonzero(present).astype(np.int64) + lo
    inverse, uniques = pd.factorize(codes, sort=False)
    return inverse, np.asarray(uniques, np.int64)


def domain_runs(dom, offset: int, *arrays: np.ndarray):
    """A piece's rows grouped by domain, for the sorted passes: (order, ds, arrays, starts, stops).
    ``dom``: each row's domain (None: every row in domain ``offset``, order None and the arrays as
    given); otherwise ``order`` is the stable sort of ``dom``, so each domain's rows keep their
    ascending incomes, ``ds`` = dom[order], ``arrays`` each reordered, and rows starts[i]..stops[i]-1
    are one domain's run."""
    n = arrays[0].size
    if dom is None:
        return None, np.full(n, offset, np.int64), arrays, np.array([0]), np.array([n])
    order = np.argsort(dom, kind="stable")
    ds = dom[order]
    starts = np.flatnonzero(np.r_[True, ds[1:] != ds[:-1]])
    return order, ds, tuple(a[order] for a in arrays), starts, np.r_[starts[1:], ds.size]


def _sums(index: np.ndarray, x, size: int) -> np.ndarray:
    if np.isscalar(x):
        return np.bincount(index, minlength=size) * float(x)
    return np.bincount(index, weights=x, minlength=size)


class DomainPSUTotals:
    """Totals of w x basis per (domain, PSU) for ``n_domains`` domains and ``n_psu`` PSUs; ``layer_starts``:
    the first domain of each breakdown (domain 0 the whole sample). :meth:`add` a piece, then
    :meth:`total`, :meth:`totals` and :meth:`psu_totals` (the module's docstring)."""

    def __init__(self, n_domains: int, n_psu: int, layer_starts=(0,)):
        self.D, self.P = int(n_domains), int(n_psu)
        starts = sorted({0, *(int(s) for s in layer_starts)})
        self.starts = np.array(starts, np.int64)
        self.ends = np.append(self.starts[1:], self.D)
        self.full_mode = self.D * self.P <= _DENSE_ALL
        self.home = [None if e - s == 1 else np.full(self.P, -1, np.int64) for s, e in zip(self.starts, self.ends)]
        self._order: dict = {}  # layer -> (PSUs sorted by home, each domain's slice bounds)
        self.dense: dict = {}  # (key, layer) -> P totals (for each PSU's home group)
        self.sparse: dict = {}  # key -> _Sparse over codes d * P + psu (rows outside their PSU's home)
        self.full: dict = {}  # key -> D x P totals (full_mode)
        self._totals: dict = {}  # key -> D totals (cache, cleared by add)
        self._last = None  # (dom, psu, split): one split of a piece, shared by its bases

    def _layer(self, d: int) -> int:
        return int(np.searchsorted(self.starts, d, side="right") - 1)

    def _split(self, dom: np.ndarray, psu: np.ndarray):
        last = self._last
        if last is not None and last[0] is dom and last[1] is psu:
            return last[2]
        if self.full_mode:
            out = ("full", dom.astype(np.int64) * self.P + psu)
        else:
            lo, hi = (int(dom.min()), int(dom.max())) if dom.size else (0, 0)
            li = self._layer(lo)
            if hi >= self.ends[li]:  # pragma: no cover - a piece's domains come from one breakdown
                raise AssertionError("domains of two breakdowns in one add")
            home = self.home[li]
            inside = None
            if home is not None:
                h = home[psu]
                new = h < 0
                if new.any():
                    home[psu[new]] = dom[new]  # a PSU's home: its first row's group (one of them, within a piece)
                    self._order.pop(li, None)
                    h = home[psu]
                inside = h == dom
                if inside.all():
                    inside = None
            if inside is None:
                out = ("home", li, psu, None, None, None)
            else:
                away = ~inside
                codes = dom[away].astype(np.int64) * self.P + psu[away]
                inverse, uniques = factorize_ints(codes)
                out = ("home", li, psu[inside], inside, uniques, (away, inverse))
        self._last = (dom, psu, out)
        return out

    def add(self, key, dom: np.ndarray, psu: np.ndarray, x) -> None:
        """Add w x basis of a piece's rows (``x``: per row, or one number for every row) at their
        (domain ``dom``, PSU ``psu``); the domains of one call belong to one breakdown."""
        split = self._split(dom, psu)
        self._totals.pop(key, None)
        if split[0] == "full":
            part = _sums(split[1], x, self.D * self.P)
            acc = self.full.get(key)
            if acc is None:
                self.full[key] = part
            else:
                acc += part
            return
        _, li, psu_in, inside, uniques, rest = split
        part = _sums(psu_in, x if inside is None or np.isscalar(x) else x[inside], self.P)
        acc = self.dense.get((key, li))
        if acc is None:
            self.dense[(key, li)] = part
        else:
            acc += part
        if rest is not None:
            away, inverse = rest
            store = self.sparse.get(key)
            if store is None:
                store = self.sparse[key] = _Sparse()
            store.add(uniques, _sums(inverse, x if np.isscalar(x) else x[away], uniques.size))

    def _home_order(self, li: int):
        got = self._order.get(li)
        if got is None:
            home = self.home[li]
            order = np.argsort(home, kind="stable")  # PSUs by home group, ascending PSU within a group
            bounds = np.searchsorted(home[order], np.arange(self.starts[li], self.ends[li] + 1))
            got = self._order[li] = (order, bounds)
        return got

    def psu_totals(self, key, d: int) -> np.ndarray:
        """The P totals of domain ``d`` (0 for PSUs with no row of the domain)."""
        if self.full_mode:
            full = self.full.get(key)
            return np.zeros(self.P) if full is None else full[d * self.P: (d + 1) * self.P].copy()
        li = self._layer(d)
        dense = self.dense.get((key, li))
        if dense is None:
            out = np.zeros(self.P)
        elif self.home[li] is None:
            out = dense.copy()
        else:
            out = np.where(self.home[li] == d, dense, 0.0)
        store = self.sparse.get(key)
        if store is not None:
            codes, values = store.range(d * self.P, (d + 1) * self.P)
            out[codes - d * self.P] += values
        return out

    def totals(self, key) -> np.ndarray:
        """Each domain's total (cached until the next :meth:`add`)."""
        got = self._totals.get(key)
        if got is not None:
            return got
        out = np.zeros(self.D)
        if self.full_mode:
            full = self.full.get(key)
            if full is not None:
                out = full.reshape(self.D, self.P).sum(axis=1)
        else:
            for li, (s, e) in enumerate(zip(self.starts, self.ends)):
                dense = self.dense.get((key, li))
                if dense is None:
                    continue
                if self.home[li] is None:
                    out[s] = dense.sum()
                    continue
                order, bounds = self._home_order(li)
                values = dense[order]
                for g in range(e - s):
                    out[s + g] = values[bounds[g]: bounds[g + 1]].sum()
            store = self.sparse.get(key)
            if store is not None:
                store.compact()
                for d in range(self.D):
                    out[d] += store.range(d * self.P, (d + 1) * self.P)[1].sum()
        self._totals[key] = out
        return out

    def total(self, key, d: int) -> float:
        return float(self.totals(key)[d])

    def add_code_sums(self, parts: dict) -> None:
        """Add a partial accumulation (:meth:`CodeSums.compact`: per key, sorted codes d x P + psu and
        their sums), e.g. a Dask worker's over one partition."""
        for key, (codes, sums) in parts.items():
            dom = codes // self.P
            psu = codes - dom * self.P
            bounds = np.searchsorted(codes, np.append(self.starts, self.D) * self.P)
            for a, b in zip(bounds[:-1], bounds[1:]):
                if b > a:
                    self.add(key, dom[a:b], psu[a:b], sums[a:b])


class CodeSums:
    """The totals of :class:`DomainPSUTotals`' :meth:`~DomainPSUTotals.add` for one partition only, by code
    c = d x P + psu over the codes present (one :func:`factorize_ints` a piece, shared by its bases): what
    a worker returns, O(distinct codes) instead of O(D x P)."""

    def __init__(self, n_psu: int, n_domains: int | None = None):
        self.P = int(n_psu)
        self.D = n_domains
        self.blocks: dict = {}
        self.pairs: dict = {}  # the co-moment states of the unit-PSU variance (comoments.add_piece)
        self._last = None

    def add(self, key, dom: np.ndarray, psu: np.ndarray, x) -> None:
        last = self._last
        if last is None or last[0] is not dom or last[1] is not psu:
            inverse, uniques = factorize_ints(dom.astype(np.int64) * self.P + psu)
            last = self._last = (dom, psu, uniques, inverse)
        uniques, inverse = last[2], last[3]
        self.blocks.setdefault(key, []).append((uniques, _sums(inverse, x, uniques.size)))

    def add_pair(self, key, dom, h, xa, xb, lo: int, hi: int, ref: bool) -> None:
        """The co-moments of :meth:`streaming._Accumulator.add_pair` over this partition only (merged on
        the client by :func:`.comoments.merge_states`)."""
        if self.D is None:  # pragma: no cover - internal
            raise AssertionError("CodeSums without n_domains keeps no co-moments")
        add_piece(self.pairs, key, self.D, self.P, dom, h, xa, xb, lo, hi, ref)

    def compact(self) -> dict:
        """Per key: (sorted distinct codes, their sums), the rows in order within each code."""
        out = {}
        for key, blocks in self.blocks.items():
            codes = np.concatenate([c for c, _ in blocks])
            values = np.concatenate([v for _, v in blocks])
            u, inverse = np.unique(codes, return_inverse=True)
            out[key] = (u, np.bincount(inverse.ravel(), weights=values, minlength=u.size))
        return out


def _run_partial(fn, n_psu: int, template: dict, n_domains, pieces):
    part = CodeSums(n_psu, n_domains)
    state = copy.deepcopy(template)
    for ch in pieces:
        fn(ch, part, state)
    return part.compact(), part.pairs, state


def partial_pass(fn, n_psu: int, template: dict, n_domains: int | None = None):
    """``g(pieces)`` -> (code sums, co-moment states, state): ``fn(piece, into, state)`` over one
    partition's pieces into a fresh :class:`CodeSums` (co-moments per (domain, stratum) when
    ``n_domains`` is given) and a copy of ``template`` (counts and sums at zero) -- what
    ``source.map_chunks(g)`` runs where the rows are; :func:`merge_state` adds the states."""
    return functools.partial(_run_partial, fn, int(n_psu), copy.deepcopy(template),  # a snapshot: the client merges into its own
                             None if n_domains is None else int(n_domains))


def merge_state(into: dict, part: dict) -> None:
    """Add a partition's state to ``into``: sums add (arrays in place), keys ending in ``_min`` take the minimum."""
    for k, v in part.items():
        if k.endswith("_min"):
            into[k] = min(into[k], v)
        elif isinstance(into[k], np.ndarray):
            into[k] += v
        else:
            into[k] = into[k] + v
