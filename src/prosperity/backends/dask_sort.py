"""An exact global sort of a Dask dataframe by splitters, spilled to disk, without a shuffle (issue 11).

``dask.dataframe.sort_values`` moves every row through the workers' memory in a shuffle; at 10^8 rows
it kills 3 GB workers. The rank-based measures only need the rows *in ascending order of income, a
bounded piece at a time*, so :class:`SpilledFrame` sorts in steps that never hold more than one
partition or one bucket in a task, and moves the rows between workers and the client through a spill
directory instead of the network:

1. **splitters** (one read of the income column): each partition returns its row count n_p and
   m_p = min(n_p, ``sample_rows``) incomes drawn at random; each drawn income stands for n_p / m_p rows,
   and the B - 1 splitters s_1 < ... < s_{B-1} are the *weighted* quantiles of the sample at
   k / B (k = 1..B-1), B = ceil(n / ``bucket_rows``). Weighted by rows, not by survey weights: what must
   fit in a worker is a bucket's rows. Repeated splitters are merged (fewer buckets, never a split tie).
2. **staging** (one task per partition, all in parallel, no shuffle; this is also the streaming
   estimators' first, order-free pass): bucket(y) = #{k : s_k <= y}
   (``np.searchsorted(s, y, side="right")``), so every row with the same income lands in the same
   bucket; the partition's rows, stably reordered by bucket, are written to ``<spill>/p<p>_{y,w,psu}.bin``
   and the task returns, per bucket, its rows, sum w and sum w y (the bucket's weight offsets
   W_before(b) = sum_{b' < b} W(b') follow from them exactly, before any row is sorted). The client
   reads each staged partition as soon as it is written; later order-free passes read the staged files
   (no second Parquet decode, no second design lookup).
3. **per bucket** (one task each, at most ``window`` ahead of the client): read the bucket's slice of
   every staged partition in partition order (a positioned read of only those bytes: a memory map
   would count whole files' cached pages in the worker's resident memory), concatenate, sort by income
   with a stable sort (:func:`stable_order`: introsort, then the runs of ties in row order) and write the sorted run to ``<spill>/b<b>_*.bin``, which the client reads and
   deletes. Because
   the concatenation is in the original row order restricted to the bucket, the runs are exactly
   ``np.argsort(y, kind="stable")`` of the whole column, bucket by bucket: the same rows in the same
   order as the in-memory source, ties included.

Files are raw little-endian arrays (float64 y and w, int64 psu). The spill directory is created by the client (in ``spill_dir``, default the system's temporary
directory) and removed by :meth:`SpilledFrame.close` (or when the object is collected). Workers and
client must see it: on a ``LocalCluster`` any local directory; on a multi-node cluster a shared mount.
Disk use: the staged rows (24 bytes a row) plus at most ``window`` sorted runs.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import weakref
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .sources import BackendError

DEFAULT_BUCKET_ROWS = 1 << 22  # ~4.2 M rows: ~56 bytes a row while a bucket is sorted, ~240 MB a task
DEFAULT_SAMPLE_ROWS = 4096  # incomes drawn per partition for the splitters
DEFAULT_WINDOW = 3  # tasks in flight (computed, waiting to be read in order)
COLUMNS = ("y", "w", "psu")
DTYPES = {"y": np.float64, "w": np.float64, "psu": np.int64}


@dataclass(frozen=True)
class BucketPlan:
    """What the bucketing pass learnt: the splitters, the rows of partition p in bucket b
    (``counts[p, b]``), and per bucket its rows, weight sum W(b) and weighted income sum; the offsets
    ``weight_before[b]`` = sum_{b' < b} W(b') are the cumulative weight before the bucket's first row."""

    splitters: np.ndarray
    counts: np.ndarray
    weight: np.ndarray
    weighted_income: np.ndarray

    @property
    def n_buckets(self) -> int:
        return int(self.splitters.size + 1)

    @property
    def rows(self) -> np.ndarray:
        return self.counts.sum(axis=0)

    @property
    def weight_before(self) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(self.weight)[:-1]])

    def to_frame(self) -> pd.DataFrame:
        lower = np.concatenate([[-np.inf], self.splitters])
        upper = np.concatenate([self.splitters, [np.inf]])
        return pd.DataFrame({"bucket": np.arange(self.n_buckets), "lower": lower, "upper": upper, "rows": self.rows,
                             "weight": self.weight, "weight_before": self.weight_before,
                             "weighted_income": self.weighted_income})


def weighted_splitters(sample: np.ndarray, weight: np.ndarray, n_buckets: int) -> np.ndarray:
    """The distinct weighted quantiles of ``sample`` at k / B, k = 1..B-1: for each k the smallest
    sample value x with sum_{x_i <= x} w_i >= (k / B) sum w_i (the lower weighted quantile)."""
    if n_buckets <= 1 or sample.size == 0:
        return np.empty(0, np.float64)
    order = np.argsort(sample, kind="stable")
    x = np.asarray(sample, np.float64)[order]
    cw = np.cumsum(np.asarray(weight, np.float64)[order])
    targets = cw[-1] * np.arange(1, n_buckets) / n_buckets
    idx = np.minimum(np.searchsorted(cw, targets, side="left"), x.size - 1)
    s = np.unique(x[idx])
    return s[np.isfinite(s)]


def bucket_of(y: np.ndarray, splitters: np.ndarray) -> np.ndarray:
    """bucket(y) = #{k : s_k <= y}: equal incomes share a bucket; buckets ascend with income (NaN: last)."""
    return np.searchsorted(splitters, y, side="right").astype(np.uint32 if splitters.size >= 65535 else np.uint16)


def checked_bucket_rows(value) -> int:
    """``bucket_rows`` as a positive int (``None``: the default); the package's error otherwise."""
    if value is None:
        return DEFAULT_BUCKET_ROWS
    try:
        rows = int(value)
    except (TypeError, ValueError):
        rows = 0
    if rows < 1 or rows != value:
        raise BackendError(f"bucket_rows={value!r}: a bucket needs a whole number of rows, at least 1",
                           hint="give the rows a worker can sort at once, e.g. bucket_rows=4_000_000")
    return rows


# ---- worker tasks (module-level functions: pickled by reference to the workers)

def _sample_partition(y: pd.Series, m: int, seed: int, p: int) -> tuple[int, np.ndarray]:
    v = y.to_numpy(np.float64)
    if v.size <= m:
        return v.size, v.copy()
    rng = np.random.default_rng([seed, p])
    return v.size, v[rng.integers(0, v.size, m)]


def _path(folder: str, stem: str, column: str) -> str:
    return os.path.join(folder, f"{stem}_{column}.bin")


def _read(folder: str, stem: str, column: str, start: int = 0, stop: int = -1) -> np.ndarray:
    dtype = np.dtype(DTYPES[column]).newbyteorder("<")
    count = -1 if stop < 0 else stop - start
    return np.fromfile(_path(folder, stem, column), dtype=dtype, count=count, offset=start * dtype.itemsize).astype(DTYPES[column], copy=False)


def _write(folder: str, stem: str, column: str, values: np.ndarray) -> None:
    np.ascontiguousarray(values, dtype=np.dtype(DTYPES[column]).newbyteorder("<")).tofile(_path(folder, stem, column))


def _stem(p: int) -> str:
    return f"p{p:06d}"


def _write_partition(part: pd.DataFrame, splitters: np.ndarray, folder: str, p: int):
    arrays = {c: np.asarray(part[c], dtype=DTYPES[c]) for c in COLUMNS}
    b = bucket_of(arrays["y"], splitters)
    order = np.argsort(b, kind="stable")  # radix sort of small integers: O(n), keeps the row order
    nb = splitters.size + 1
    counts = np.bincount(b, minlength=nb)
    w, y = arrays["w"], arrays["y"]
    weight = np.bincount(b, weights=w, minlength=nb)
    weighted_income = np.bincount(b, weights=w * y, minlength=nb)
    for c in COLUMNS:
        _write(folder, _stem(p), c, arrays[c][order])
    return counts, weight, weighted_income


def stable_order(y: np.ndarray) -> np.ndarray:
    """``np.argsort(y, kind="stable")``, computed as an unstable sort (introsort, ~3x faster on floats)
    followed by a stable reordering of the runs of equal values only: within a run of ties the row
    indices are put in ascending order, which is what the stable sort gives. With ties on most rows
    the stable sort itself is used."""
    order = np.argsort(y, kind="quicksort")
    ys = y[order]
    tie = ys[1:] == ys[:-1]
    if not tie.any():
        return order
    in_run = np.zeros(ys.size, bool)
    in_run[1:] |= tie
    in_run[:-1] |= tie
    idx = np.flatnonzero(in_run)
    if idx.size > ys.size // 2:
        return np.argsort(y, kind="stable")
    run = np.cumsum(np.r_[True, ~tie])[idx]  # the run of equal values each tied position is in
    tied = order[idx]
    order[idx] = tied[np.lexsort((tied, run))]
    return order


def _sort_bucket(folder: str, b: int, pieces: Sequence[tuple[int, int, int]]) -> int:
    """Sort one bucket: slices (p, start, stop) of each staged partition, in partition order, then a
    stable sort by income; the sorted run is written to ``b<b>_*.bin``. Returns its rows."""
    total = sum(stop - start for _, start, stop in pieces)
    joined = {c: np.empty(total, DTYPES[c]) for c in COLUMNS}
    at = 0
    for p, start, stop in pieces:
        for c in COLUMNS:
            joined[c][at: at + stop - start] = _read(folder, _stem(p), c, start, stop)
        at += stop - start
    order = stable_order(joined["y"])
    for c in COLUMNS:
        _write(folder, f"b{b:06d}", c, joined[c][order])
    return int(order.size)


def _map_staged(folder: str, p: int, fn, chunk_rows: int):
    """``fn`` over staged partition p's rows, given as pieces of at most ``chunk_rows`` (on a worker)."""
    part = _load(folder, _stem(p))
    n = part["y"].size
    return fn({c: v[a: a + chunk_rows] for c, v in part.items()} for a in range(0, n, chunk_rows))


def _load(folder: str, stem: str, remove: bool = False) -> dict:
    out = {}
    for c in COLUMNS:
        out[c] = _read(folder, stem, c)
        if remove:
            os.remove(_path(folder, stem, c))
    return out


# ---- running tasks in order, a bounded number ahead

def _client():
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def in_order(tasks, window: int | None = DEFAULT_WINDOW) -> Iterator:
    """Compute Dask delayed ``tasks`` and yield their results in order, at most ``window`` of them
    computed ahead of the caller (``None``: all submitted at once, for tasks whose results are small),
    on the ``distributed`` client if there is one; without one, one at a time with the local scheduler."""
    client = _client()
    tasks = list(tasks)
    if client is None:
        for t in tasks:
            yield t.compute()
        return
    ahead = len(tasks) if window is None else max(1, int(window))
    pending: deque = deque(client.compute(tasks[:ahead]))
    nxt = ahead
    try:
        while pending:
            future = pending.popleft()
            result = future.result()
            future.release()
            if nxt < len(tasks):
                pending.append(client.compute(tasks[nxt]))
                nxt += 1
            yield result
    finally:
        for future in pending:
            future.cancel()


class SpilledFrame:
    """The rows of a Dask dataframe with columns ``y``, ``w``, ``psu``, staged once to a spill directory
    by bucket of income (see the module's docstring): :meth:`chunks` gives them partition by partition
    (any order), :meth:`sorted_buckets` bucket by bucket in ascending order of ``y`` (exact, stable).
    ``income``: the same ``y`` column as a Dask series, possibly from a cheaper graph (it is only
    sampled for the splitters). ``plan``: the :class:`BucketPlan` once staged. ``raw``: instead of
    ``frame`` and ``income``, a :class:`~prosperity.backends.dask_stage.RawStage` (the rows already read
    once, with their splitter sample, in its folder): staging buckets those raw files, and the folder
    is this object's (removed by :meth:`close`); ``restage``: a function giving a new raw stage, for a
    pass after :meth:`close` (without one such a pass is refused)."""

    def __init__(self, frame, income, *, bucket_rows: int = DEFAULT_BUCKET_ROWS, sample_rows: int = DEFAULT_SAMPLE_ROWS,
                 spill_dir: str | None = None, window: int = DEFAULT_WINDOW, seed: int = 20261207, raw=None,
                 restage=None):
        self.frame, self.income, self.raw, self.restage = frame, income, raw, restage
        bucket_rows = checked_bucket_rows(bucket_rows)
        self.bucket_rows, self.sample_rows, self.window, self.seed = int(bucket_rows), int(sample_rows), int(window), int(seed)
        self.spill_dir = spill_dir
        self.folder: str | None = None
        self.plan: BucketPlan | None = None
        self._finalizer = None
        if raw is not None:
            self.folder = raw.folder
            self._finalizer = weakref.finalize(self, shutil.rmtree, self.folder, True)

    def splitters(self) -> np.ndarray:
        """Sample the income column and return the splitters for buckets of about ``bucket_rows`` rows."""
        import dask

        samples = dask.compute(*[dask.delayed(_sample_partition)(part, self.sample_rows, self.seed, p)
                                 for p, part in enumerate(self.income.to_delayed())])
        n = sum(k for k, _ in samples)
        if n == 0:
            return np.empty(0, np.float64)
        values = np.concatenate([s for _, s in samples])
        rows = np.concatenate([np.full(s.size, k / s.size if s.size else 0.0) for k, s in samples])
        return weighted_splitters(values, rows, max(1, math.ceil(n / self.bucket_rows)))

    def _stage(self) -> Iterator[int]:
        """Write every partition by bucket; yield p as partition p is written (in order)."""
        import dask

        if self.raw is not None:  # the rows were read once already: bucket the raw files
            if self.folder is None or not os.path.isdir(self.folder):
                if self.restage is None:
                    raise BackendError("this Dask source is closed: its staged rows were removed",
                                       hint="open the source again (open_source(...)) for another measure")
                self.raw = self.restage()  # closed: read the partitions again
                self.folder = self.raw.folder
                self._finalizer = weakref.finalize(self, shutil.rmtree, self.folder, True)
            splitters = self.raw.splitters
            tasks = self.raw.tasks(splitters)
        else:
            self.close()
            splitters = self.splitters()
            self.folder = tempfile.mkdtemp(prefix="prosperity-sort-", dir=self.spill_dir)
            self._finalizer = weakref.finalize(self, shutil.rmtree, self.folder, True)
            tasks = [dask.delayed(_write_partition)(part, splitters, self.folder, p) for p, part in enumerate(self.frame.to_delayed())]
        stats = []
        done = False
        try:
            for p, st in enumerate(in_order(tasks, None)):  # small results: every partition at once
                stats.append(st)
                yield p
            done = True
        finally:
            if not done:
                self.close()
        nb = splitters.size + 1
        counts = np.array([c for c, _, _ in stats], dtype=np.int64).reshape(len(stats), nb)
        weight = np.array([wt for _, wt, _ in stats], dtype=np.float64).reshape(len(stats), nb).sum(axis=0)
        wy = np.array([x for _, _, x in stats], dtype=np.float64).reshape(len(stats), nb).sum(axis=0)
        self.plan = BucketPlan(splitters, counts, weight, wy)

    def chunks(self) -> Iterator[dict]:
        """Each partition's rows (grouped by bucket inside it), staging them on the first call."""
        if self.plan is None:
            for p in self._stage():
                yield _load(self.folder, _stem(p))
            return
        for p in range(self.plan.counts.shape[0]):
            yield _load(self.folder, _stem(p))

    def staged_plan(self) -> BucketPlan:
        """The :class:`BucketPlan`, staging the rows first if needed."""
        if self.plan is None:
            for _ in self._stage():
                pass
        return self.plan

    def map_partitions(self, fn, chunk_rows: int) -> Iterator:
        """``fn(pieces)`` for each staged partition, run where the rows are (one task a partition, all
        at once: the results are small summaries), yielded in partition order; stages first if needed."""
        import dask

        if self.plan is None:
            for _ in self._stage():
                pass
        tasks = [dask.delayed(_map_staged, pure=False)(self.folder, p, fn, int(chunk_rows)) for p in range(self.plan.counts.shape[0])]
        yield from in_order(tasks, None)

    def sorted_buckets(self) -> Iterator[dict]:
        """The rows bucket by bucket in ascending order of ``y`` (ties in the original row order)."""
        import dask

        if self.plan is None:
            for _ in self._stage():
                pass
        counts = self.plan.counts
        ends = np.cumsum(counts, axis=1)
        starts = ends - counts
        buckets = [b for b in range(counts.shape[1]) if counts[:, b].any()]
        jobs = [dask.delayed(_sort_bucket, pure=False)(self.folder, b, [(p, int(starts[p, b]), int(ends[p, b]))
                                                                     for p in range(counts.shape[0]) if counts[p, b]])
                for b in buckets]
        for b, _ in zip(buckets, in_order(jobs, self.window)):
            yield _load(self.folder, f"b{b:06d}", remove=True)

    def close(self) -> None:
        """Remove the spill directory (the staged rows); a later pass stages again."""
        if self._finalizer is not None:
            self._finalizer()
        self._finalizer, self.folder, self.plan = None, None, None
