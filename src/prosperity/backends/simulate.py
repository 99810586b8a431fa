"""A reform run chunked over partitions of households, its outputs aggregated exactly.

:meth:`prosperity.simulate.Simulation.run` holds the whole population in one process. Here the
persons are split into chunks of whole households (contiguous ranges of ``household_id``: a household
is never split), each chunk is simulated by the same engine, and every output of
:func:`prosperity.simulate.outputs.build_result` is rebuilt from what the chunks give:

- **the baseline's population totals** (the provincial scaling of dibao standards, the take-up
  calibrated to official recipients): sums over chunks, fed back to every chunk
  (``Simulation._total``), in three passes: the scaling's sums (from the populations alone), then the
  persons eligible under the global scaling, then the run;
- **the random draws** (social-insurance coverage per person, take-up per household) are those of the
  in-memory run: one PCG64 stream, each chunk advanced to its own stretch (persons first, then
  households, as ``Simulation._baseline_draws``);
- **totals** (fiscal items and balances, net cost, means, validation sums): sums over chunks;
- **rank-based measures** (median, quantiles, Gini overall and by area, S80/S20, NBS quintile
  means): exact passes over the per-household incomes in ascending order, running sums carried from
  piece to piece (Eurostat's quantile rule with the average when C_j = pN; Gini
  G = sum w y (2C - w - N) / (N Y), laeken), then one order-free pass for every sum that needs a
  quantile (S80/S20's T(0.2), T(0.8), ARPR at 60 % of the scenario's median, the relative middle
  band, the poverty lines fixed at 40/50/60 % of the baseline median);
- **deciles fixed on baseline income**: the nine cut points from the exact weighted quantile pass of
  the baseline, then each household's decile and the sums by decile (persons, incomes, changes,
  winners/losers bins, effective rates, METRs); by province and by urban/rural: sums by group.

Each chunk's three passes (read and check, calibrate, run) are tasks: one after the other in this
process, or, for a Dask source with a ``distributed`` client, on the workers (the spill directory
must then be visible to every worker). Each chunk leaves only a slim per-household table (per-capita incomes, weights, groups and the
per-household quantities summed later) in a spill directory (Parquet; DuckDB sorts it out of core)
or, for the memory backend, in memory. No process ever holds the persons of more than one chunk.

- **budget-neutral solving**: Brent over the net cost, each evaluation a sum over the chunks (their
  simulations built once and kept); only the final run needs the sorted passes;
- **the regional transfers** (east -> west fund, ecological compensation): the funds and the
  per-capita payments (``per_capita``, ``rural``) need each province's persons and rural persons,
  population totals summed in pass 1 and fed back like the scaling's; ``low_income`` (incomes before
  transfers raised to a floor per province until the fund is spent, ``rules.waterfill``) needs the
  floor of every evaluation that asks for one (the reform, its METR step, each Brent step): the chunks
  run in rounds, each round stopping at the first floor not known yet and handing back their funded
  households, whose floors come from one exact pass in ascending (province, income) order (an
  external sort of one slim table; :func:`_floor_levels`). The chunks' simulations are then built
  once and kept.

Not chunked (refused with a message): a ``low_income`` transfer in the baseline (``baseline_reform``:
the take-up calibration would need its floors inside the baseline's construction).
"""

from __future__ import annotations

import math
import os
import pickle
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import pandas as pd

from ..simulate.engine import (Simulation, budget_neutral_bracket, province_persons,
                               solve_net_cost)
from ..simulate.parameter_tree import bundled_parameters, default_instant
from ..simulate.reform import Reform
from ..simulate.outputs import (BALANCES, BINS, FISCAL_ITEMS, SimulationResult, _bins, _metr, assumptions_of,
                                result_warnings, scenario_lines, summary_table, taxes_and_benefits, validation_table)
from ..simulate.population import PROVINCES, Population, provincial_context
from .sources import BackendError, _sql_name, duckdb_connection, parquet_files, sql_file_list

_TIE_RTOL = 1e-12  # as prosperity.measures.quantiles: F_j within rounding of p counts as equal
AREAS = ("urban", "rural")  # area code 0, 1 (as build_result: np.where(pop.urban, 0, 1))


# ------------------------------------------------------------------------------------ the chunks


class _ChunkSimulation(Simulation):
    """A Simulation of one chunk of a larger population: its random draws are its stretch of the whole
    population's stream and its calibration totals are the whole population's."""

    def __init__(self, population, year, *, person_offset: int, household_offset: int, persons_total: int,
                 totals: dict, **kw):
        self._offsets = (int(person_offset), int(household_offset), int(persons_total))
        self._global = dict(totals)
        self.recorded: dict = {}
        super().__init__(population, year, **kw)
        self.fixed.waterfill = self.floors = _Floors(self._offsets[1])  # after the baseline (refused there)

    def _baseline_draws(self):
        pop = self.population
        persons_before, households_before, persons_total = self._offsets
        seed = pop.seed + 7919

        def stretch(skip: int, n: int) -> np.ndarray:
            bits = np.random.PCG64(seed)  # = np.random.default_rng(seed)'s generator
            bits.advance(skip)  # one 64-bit step per double drawn
            return np.random.Generator(bits).random(n)

        return (stretch(persons_before, pop.n_persons),
                stretch(persons_total + households_before, pop.n_households))

    def _total(self, key, value):
        self.recorded[key] = value
        return self._global.get(key, value)


class _NeedFloor(Exception):
    """Raised inside a chunk's evaluation: the low-income floor of call ``call`` is not known yet."""

    def __init__(self, call: int, fund: np.ndarray, table: dict):
        super().__init__(call)
        self.call, self.fund, self.table = call, fund, table


class _Floors:
    """The ``low_income`` rule of a chunk (``rules.waterfill``'s signature): the floors per province are
    the whole population's, given by call number (the n-th floor the chunk's evaluations ask for; every
    chunk asks in the same order); an unknown one raises :class:`_NeedFloor` with the chunk's
    households of the funded provinces (province, income before transfers, persons, household index)."""

    def __init__(self, first_household: int):
        self.first = int(first_household)
        self.levels: dict = {}
        self.calls = 0

    def reset(self, levels: dict) -> None:
        self.levels, self.calls = dict(levels), 0

    def __call__(self, income_pc, persons, group, fund, n_groups):
        call = self.calls
        self.calls += 1
        funded = fund[group] > 0
        if call not in self.levels:
            idx = np.flatnonzero(funded)
            raise _NeedFloor(call, np.asarray(fund, float), {
                "g": group[idx].astype(np.int16), "y": np.asarray(income_pc, float)[idx],
                "n": np.asarray(persons, float)[idx], "hh": idx.astype(np.int64) + self.first})
        level = self.levels[call]
        return np.where(funded, np.maximum(level[group] - income_pc, 0.0), 0.0)


def _floor_levels(fund: np.ndarray, spill) -> np.ndarray:
    """The floors per province of ``rules.waterfill`` from one pass over the funded households in
    ascending (province, income, household) order: with C, Y the persons and person-income below the
    j-th household, the first j whose cost y_j C - Y of raising them to y_j exceeds the fund F stops
    the fill at m = max(j, 1) households, and the floor is (F + Y_m) / C_m (m = all when none does)."""
    level = np.full(fund.size, np.nan)
    c = np.zeros(fund.size)
    yc = np.zeros(fund.size)
    done = np.zeros(fund.size, bool)
    for p in spill.sorted_pieces(("g", "y"), ["n"]):
        g, y, n = p["g"].astype(np.int64), p["y"], p["n"]
        bounds = np.flatnonzero(np.diff(g)) + 1
        for a, b in zip(np.r_[0, bounds], np.r_[bounds, g.size]):
            k = int(g[a])
            if done[k]:
                continue
            ys, ns = y[a:b], n[a:b]
            cum_n = np.cumsum(ns) + c[k]
            cum_yn = np.cumsum(ys * ns) + yc[k]
            before_n = np.concatenate([[c[k]], cum_n[:-1]])
            before_yn = np.concatenate([[yc[k]], cum_yn[:-1]])
            over = np.flatnonzero(ys * before_n - before_yn > fund[k])  # never the first: its cost is 0 < F
            if over.size:
                j = int(over[0])
                level[k] = (fund[k] + before_yn[j]) / before_n[j]
                done[k] = True
            else:
                c[k], yc[k] = float(cum_n[-1]), float(cum_yn[-1])
    open_ = ~done & (c > 0)
    level[open_] = (fund[open_] + yc[open_]) / c[open_]
    return level


def _with_floors(run, job, task, arglist):
    """Run ``task`` over the chunks until no chunk needs a low-income floor it was not given: each
    round, the chunks stop at the first unknown floor and hand back their funded households; its
    floors per province come from one ascending pass over them (:func:`_floor_levels`)."""
    levels: dict = {}
    while True:
        outs = list(run(task, [args + (levels,) for args in arglist]))
        needs = [o for o in outs if isinstance(o, _Need)]
        if not needs:
            return outs
        if len(needs) != len(outs) or len({o.call for o in needs}) != 1 or needs[0].call in levels:  # pragma: no cover
            raise RuntimeError("the chunks asked for different low-income floors: their evaluations differ")
        spill = _Spill(job.spill_dir)
        for o in needs:
            spill.add(o.table)
        try:
            levels = {**levels, needs[0].call: _floor_levels(needs[0].fund, spill)}
        finally:
            for path in spill.files:
                if os.path.exists(path):
                    os.remove(path)


@dataclass(frozen=True)
class _Need:
    """A chunk's answer when it needs floor ``call``: the fund per province and its funded households
    (a dict of arrays, or the Parquet file it wrote)."""

    call: int
    fund: np.ndarray
    table: object


def _need(job, k: int, need: _NeedFloor) -> _Need:
    table = need.table
    if job.spill_dir is not None:
        path = os.path.join(job.spill_dir, f"floor{k:05d}_{need.call}.parquet")
        _write_table(table, path)
        table = path
    return _Need(need.call, need.fund, table)


@dataclass(frozen=True)
class ChunkPlan:
    """Chunk k holds the households with ``lower[k] <= household_id < lower[k + 1]`` (the last has no
    upper bound): ``persons[k]`` persons in ``households[k]`` households (``None`` until the chunks
    are read: a Dask source counts them in pass 1)."""

    lower: tuple
    persons: tuple[int, ...]
    households: tuple[int, ...]

    @property
    def n_chunks(self) -> int:
        return len(self.lower)

    def offsets(self, k: int) -> tuple[int, int]:
        return int(sum(self.persons[:k])), int(sum(self.households[:k]))


def _split_ids(ids_sorted_unique: np.ndarray, n_chunks: int) -> tuple:
    cut = np.unique(np.linspace(0, ids_sorted_unique.size, n_chunks + 1).astype(np.int64)[:-1])
    return tuple(ids_sorted_unique[cut].tolist())


class _MemoryChunks:
    """A person-level pandas frame cut into chunks of whole households."""

    name = "memory"

    def __init__(self, frame: pd.DataFrame, n_chunks: int):
        if "household_id" not in frame.columns:
            raise BackendError("the population has no 'household_id' column", hint="households are the chunks' unit")
        self.frame = frame
        hid = frame["household_id"].to_numpy()
        lower = _split_ids(np.unique(hid), n_chunks)
        k = np.searchsorted(np.asarray(lower), hid, side="right") - 1
        self.index = k
        persons = np.bincount(k, minlength=len(lower))
        households = np.array([np.unique(hid[k == j]).size for j in range(len(lower))])
        self.plan = ChunkPlan(lower, tuple(int(x) for x in persons), tuple(int(x) for x in households))

    def chunk(self, k: int) -> pd.DataFrame:
        return self.frame[self.index == k]

    def lazy_chunk(self, k: int):
        return lambda: self.chunk(k)


class _DuckDBChunks:
    """Parquet file(s) (person level) read chunk by chunk with DuckDB; within a household the persons
    keep the order of the files (sorted by name) and of the rows in them."""

    name = "duckdb"

    def __init__(self, path, n_chunks: int, memory_limit: str = "2GB", threads: int | None = None):
        files = parquet_files(path, "population")
        self.con = duckdb_connection(memory_limit, threads, keep_order=True)
        self.con.execute("SET enable_progress_bar = false")  # no bars on stdout from the long scans
        listing = sql_file_list(files)
        self.files = files
        self.relation = f"read_parquet([{listing}], filename = true, file_row_number = true)"
        columns = [r[0] for r in self.con.execute(f"DESCRIBE SELECT * FROM read_parquet([{listing}])").fetchall()]
        if "household_id" not in columns:
            raise BackendError("the population has no 'household_id' column", hint="households are the chunks' unit")
        # the cuts: quantiles of the household ids of at most ~10^6 persons (every person up to 2 x 10^6
        # rows; above, the households whose id hashes to 0 mod m: deterministic, whole households);
        # any cut is exact, these only balance the chunks
        qs = [j / n_chunks for j in range(1, n_chunks)]
        rows, first = self.con.execute(f"SELECT count(*), min(household_id) FROM read_parquet([{listing}])").fetchall()[0]
        m = max(1, int(rows) // 10**6)
        sample = f"(SELECT household_id FROM read_parquet([{listing}])" + (f" WHERE hash(household_id) % {m} = 0)" if m > 1 else ")")
        cuts = self.con.execute(f"SELECT quantile_disc(household_id, {qs!r}) FROM {sample}").fetchall()[0][0] if qs else []
        lower = sorted(set([first] + [v for v in (cuts or []) if v is not None]))
        self.lower = lower
        cases = " ".join(f"WHEN household_id >= {v!r} THEN {j}" for j, v in reversed(list(enumerate(lower))))
        counts = self.con.execute(f"SELECT CASE {cases} END AS k, count(*) FROM read_parquet([{listing}]) "
                                  "GROUP BY k ORDER BY k").fetchall()
        persons = dict((int(k), int(n)) for k, n in counts)
        # households per chunk: counted when the chunks are read (pass 1); a distinct count over every
        # household id here would hold them all (10^8 persons: out of a 2 GB memory limit)
        self.plan = ChunkPlan(tuple(lower), tuple(persons.get(j, 0) for j in range(len(lower))), None)

    def chunk(self, k: int) -> pd.DataFrame:
        lo = self.lower[k]
        where = f"household_id >= {lo!r}" + (f" AND household_id < {self.lower[k + 1]!r}" if k + 1 < len(self.lower) else "")
        # the files' order (sorted names) and the rows' order in them: the order of the in-memory frame
        df = self.con.execute(f"SELECT * FROM {self.relation} WHERE {where} ORDER BY filename, file_row_number").df()
        return df.drop(columns=["filename", "file_row_number"])

    def lazy_chunk(self, k: int):
        return lambda: self.chunk(k)


class _DaskChunks:
    """A Dask dataframe (person level) filtered chunk by chunk (partitions computed in order). Each
    chunk reads only the partitions whose household-id range meets its own (their min and max found
    in one pass): on a frame in household order (the synthetic population's files) a chunk touches
    one or two partitions, not the whole frame."""

    name = "dask"

    def __init__(self, frame, n_chunks: int):
        if "household_id" not in frame.columns:
            raise BackendError("the population has no 'household_id' column", hint="households are the chunks' unit")
        self.frame = frame
        hid = frame["household_id"]
        qs = np.linspace(0, 1, n_chunks + 1)[1:-1]
        inner = hid.quantile(qs).compute().to_numpy() if qs.size else np.array([])  # approximate: any cut is exact
        lower = sorted({int(hid.min().compute())} | {int(np.ceil(v)) for v in inner})
        self.lower = lower
        bounds = np.asarray(lower)

        def chunk_of(part: pd.DataFrame) -> pd.DataFrame:
            ids = part["household_id"].to_numpy()
            return pd.DataFrame({"k": np.searchsorted(bounds, ids, side="right") - 1, "household_id": ids})

        keys = frame.map_partitions(chunk_of, meta=pd.DataFrame({"k": pd.Series(dtype=np.int64),
                                                                  "household_id": pd.Series(dtype=np.int64)}))
        persons = keys["k"].value_counts().compute()

        def id_range(part: pd.DataFrame) -> pd.DataFrame:
            ids = part["household_id"].to_numpy()
            return pd.DataFrame({"lo": [ids.min() if ids.size else np.nan], "hi": [ids.max() if ids.size else np.nan]})

        ranges = frame.map_partitions(id_range, meta=pd.DataFrame({"lo": pd.Series(dtype=float),
                                                                    "hi": pd.Series(dtype=float)})).compute()
        self.ranges = (ranges["lo"].to_numpy(float), ranges["hi"].to_numpy(float))
        # households per chunk: counted when the chunks are read (pass 1); a distinct count here would
        # gather every household id into one partition
        self.plan = ChunkPlan(tuple(lower), tuple(int(persons.get(j, 0)) for j in range(len(lower))), None)

    def chunk(self, k: int) -> pd.DataFrame:
        return self.lazy_chunk(k).compute()

    def lazy_chunk(self, k: int):
        """The chunk as a Dask dataframe (computed on the cluster when a client runs the tasks): the
        partitions that can hold its households, filtered, in their order."""
        lo, hi = self.ranges
        upper = self.lower[k + 1] if k + 1 < len(self.lower) else math.inf
        meets = np.flatnonzero((hi >= self.lower[k]) & (lo < upper))  # NaN (an empty partition) never meets
        frame = self.frame.partitions[[int(i) for i in meets]] if meets.size else self.frame.partitions[[0]]
        hid = frame["household_id"]
        mask = hid >= self.lower[k]
        if k + 1 < len(self.lower):
            mask = mask & (hid < self.lower[k + 1])
        return frame[mask]


def _chunks_of(data, backend, n_chunks, options):
    kind = backend
    if kind is None:
        if isinstance(data, (str, os.PathLike)) or (isinstance(data, (list, tuple)) and data
                                                    and isinstance(data[0], (str, os.PathLike))):
            kind = "duckdb"
        elif type(data).__module__.startswith("dask"):
            kind = "dask"
        else:
            kind = "memory"
    if kind == "memory":
        if hasattr(data, "to_pandas") and not isinstance(data, pd.DataFrame):
            data = data.to_pandas()
        return _MemoryChunks(data, n_chunks)
    if kind == "duckdb":
        return _DuckDBChunks(data, n_chunks, **options)
    if kind == "dask":
        return _DaskChunks(data, n_chunks)
    raise BackendError(f"unknown backend {backend!r}", hint="use 'memory', 'duckdb' or 'dask'")


# ---------------------------------------------------------------------- the slim per-household tables


class _Spill:
    """The chunks' per-household tables: in memory (memory backend) or Parquet files in a directory,
    read back in pieces (any order) or in ascending order of one column (DuckDB's external sort)."""

    def __init__(self, directory: str | None, memory_limit: str = "2GB", piece_rows: int = 1 << 20):
        self.directory = directory
        self.tables: list[dict] = []
        self.files: list[str] = []
        self.memory_limit = memory_limit
        self.piece_rows = piece_rows

    def add(self, table) -> None:
        """A chunk's table: a dict of arrays (kept in memory), or the path of the Parquet file its task wrote."""
        if isinstance(table, str):
            self.files.append(table)
        elif self.directory is None:
            self.tables.append(table)
        else:
            path = os.path.join(self.directory, f"chunk{len(self.files):05d}.parquet")
            _write_table(table, path)
            self.files.append(path)

    def pieces(self, columns):
        if self.directory is None:
            for t in self.tables:
                yield {c: t[c] for c in columns}
            return
        import pyarrow.parquet as pq

        for path in self.files:
            t = pq.read_table(path, columns=list(columns))
            yield {c: t.column(c).to_numpy() for c in columns}

    def sorted_pieces(self, key, columns):
        """Pieces in ascending order of ``key`` (a column, or a tuple of columns: by the first, then
        the next ...), ties in household order (column ``hh``)."""
        keys = [key] if isinstance(key, str) else list(key)
        columns = list(dict.fromkeys(keys + list(columns) + ["hh"]))
        if self.directory is None:
            cat = {c: np.concatenate([t[c] for t in self.tables]) for c in columns}
            order = np.lexsort((cat["hh"],) + tuple(cat[k] for k in reversed(keys)))
            for a in range(0, order.size, self.piece_rows):
                idx = order[a: a + self.piece_rows]
                yield {c: v[idx] for c, v in cat.items()}
            return
        con = duckdb_connection(self.memory_limit)
        con.execute("SET enable_progress_bar = false")
        listing = sql_file_list(self.files)
        cols = ", ".join(_sql_name(c) for c in columns)
        # ties in the order of the households (as the in-memory stable sort): NBS quintile groups split
        # a run of equal incomes (e.g. households topped up to one dibao standard) by that order
        rel = con.sql(f"SELECT {cols} FROM read_parquet([{listing}]) ORDER BY {', '.join(_sql_name(k) for k in keys)}, hh")
        reader = rel.to_arrow_reader(self.piece_rows) if hasattr(rel, "to_arrow_reader") else rel.fetch_arrow_reader(self.piece_rows)
        for batch in reader:
            yield {name: batch.column(i).to_numpy(zero_copy_only=False) for i, name in enumerate(batch.schema.names)}
        con.close()


def _household_table(sim, base, state, mb, mr) -> dict:
    pop = sim.population
    change = state["disposable"] - base["disposable"]
    tb, bb = taxes_and_benefits(base)
    tr, br = taxes_and_benefits(state)
    nan = np.full(pop.n_households, np.nan)
    first = sim._offsets[1]  # the chunk's first household in the whole population's order
    return {"hh": np.arange(first, first + pop.n_households, dtype=np.int64),
            "yb": base["disposable_pc"], "yr": state["disposable_pc"], "pw": pop.persons_weight,
            "w": pop.household_weight, "size": pop.size, "area": np.where(pop.urban, 0, 1).astype(np.int8),
            "province": pop.province.astype(np.int16), "db": base["disposable"], "change": change,
            "bin": _bins(change, base["disposable"]).astype(np.int8), "mkt_b": base["market_income"],
            "mkt_r": state["market_income"], "net_b": tb - bb, "net_r": tr - br,
            "mb": nan if mb is None else mb, "mr": nan if mr is None else mr,
            "dib_b": (base["dibao"] > 0).astype(np.int8), "dib_r": (state["dibao"] > 0).astype(np.int8),
            "reg": state["east_west_transfer"] + state["ecological_compensation"] - state["levy"]}


class _Sums:
    """Named running sums (floats or arrays), added chunk by chunk."""

    def __init__(self):
        self.v: dict = {}

    def add(self, key, value) -> None:
        self.v[key] = self.v[key] + value if key in self.v else value

    def __getitem__(self, key):
        return self.v[key]

    def merge(self, other: dict) -> None:
        """Add another chunk's sums (in chunk order: the additions of a sequential run)."""
        for key, value in other.items():
            if isinstance(key, tuple) and key[-1] == "ymin":
                self.v[key] = min(self.v.get(key, math.inf), value)
            else:
                self.add(key, value)


def _order_free_chunk_sums(acc: _Sums, sim, base, state) -> None:
    pop = sim.population
    w, pw = pop.household_weight, pop.persons_weight
    for name, _, _ in FISCAL_ITEMS:
        acc.add(("fiscal", "b", name), float(np.dot(w, base[name])))
        acc.add(("fiscal", "r", name), float(np.dot(w, state[name])))
    for key, _ in BALANCES:
        acc.add(("fiscal", "b", key), float(np.dot(w, base[key])))
        acc.add(("fiscal", "r", key), float(np.dot(w, state[key])))
    acc.add("net_cost", float(np.dot(w, state["disposable"] - base["disposable"])))
    for tag, st in (("b", base), ("r", state)):
        y = st["disposable_pc"]
        acc.add((tag, "N"), float(pw.sum()))
        acc.add((tag, "Y"), float(np.dot(pw, y)))
        acc.v[(tag, "ymin")] = min(acc.v.get((tag, "ymin"), math.inf), float(y.min()))
        for a, u in enumerate((True, False)):
            m = pop.urban == u
            acc.add((tag, "N", a), float(pw[m].sum()))
            acc.add((tag, "Y", a), float(np.dot(pw[m], y[m])))
    for a, u in enumerate((True, False)):  # validation: household weights by area, dibao, standards
        m = pop.urban == u
        acc.add(("W", a), float(w[m].sum()))
        acc.add(("recipients", a), float(np.sum(np.where(m & (base["dibao"] > 0), pw, 0.0))))
        acc.add(("standard", a), float(np.dot(pw[m], base["dibao_standard_monthly"][m])))
    acc.add(("W", "national"), float(w.sum()))
    for name in ("iit", "resident_pension_recipients", "dibao"):
        acc.add(("total", name), float(np.dot(w, base[name])))
    acc.add("households", pop.n_households)
    acc.add("persons", pop.n_persons)


# -------------------------------------------------------------------------- exact passes in order


class _RankPass:
    """One pass over incomes in ascending order: exact weighted quantiles (Eurostat), the Gini overall
    and by area, and (optionally) the NBS quintile group means by area (household weights)."""

    def __init__(self, big_n: float, n_area, ps, quintile_totals: dict | None = None):
        self.big_n, self.n_area = big_n, n_area
        self.ps = sorted(set(ps))
        self.todo, self.pending, self.q = list(self.ps), {}, {}
        self.c, self.g = 0.0, 0.0
        self.ca, self.ga = [0.0, 0.0], [0.0, 0.0]
        self.qt = quintile_totals  # {"national": W, 0: W_urban, 1: W_rural}
        if quintile_totals is not None:
            self.qc = {k: 0.0 for k in quintile_totals}
            self.qnum = {k: np.zeros(5) for k in quintile_totals}
            self.qden = {k: np.zeros(5) for k in quintile_totals}

    def add(self, p: dict) -> None:
        y, pw, area = p["y"], p["pw"], p["area"]
        if not y.size:
            return
        for prob in list(self.pending):
            self.q[prob] = 0.5 * (self.pending.pop(prob) + float(y[0]))
        cw = np.cumsum(pw) + self.c
        self.g += float(np.dot(pw * y, 2.0 * cw - pw - self.big_n))
        for prob in list(self.todo):
            target = prob * self.big_n
            j = int(np.searchsorted(cw, target * (1 - _TIE_RTOL), side="left"))
            if j >= y.size:
                continue
            self.todo.remove(prob)
            if abs(cw[j] - target) <= _TIE_RTOL * self.big_n:
                if j + 1 < y.size:
                    self.q[prob] = 0.5 * (float(y[j]) + float(y[j + 1]))
                else:
                    self.pending[prob] = float(y[j])
            else:
                self.q[prob] = float(y[j])
        self.c = float(cw[-1])
        for a in (0, 1):
            m = area == a
            ya, wa = y[m], pw[m]
            if ya.size:
                ca = np.cumsum(wa) + self.ca[a]
                self.ga[a] += float(np.dot(wa * ya, 2.0 * ca - wa - self.n_area[a]))
                self.ca[a] = float(ca[-1])
        if self.qt is not None:
            for scope, total in self.qt.items():
                m = slice(None) if scope == "national" else area == scope
                ys, ss, ws = y[m], p["size"][m], p["w"][m]
                if not ys.size:
                    continue
                cum = np.cumsum(ws) + self.qc[scope]
                lower = cum - ws
                for k in range(5):
                    a, b = total * k / 5, total * (k + 1) / 5
                    share = np.clip(np.minimum(cum, b) - np.maximum(lower, a), 0.0, None)
                    self.qnum[scope][k] += float(np.sum(share * ss * ys))
                    self.qden[scope][k] += float(np.sum(share * ss))
                self.qc[scope] = float(cum[-1])

    def finish(self) -> None:
        for prob, v in self.pending.items():
            self.q[prob] = v
        for prob in self.todo:
            self.q[prob] = float("nan")

    def gini(self, big_y: float) -> float:
        return self.g / (self.big_n * big_y)

    def gini_area(self, a: int, big_y_a: float) -> float:
        return self.ga[a] / (self.n_area[a] * big_y_a)


class _StreamStats:
    """The validation table's statistics from the chunked run's sums and the baseline's sorted pass."""

    def __init__(self, acc: _Sums, rank: _RankPass, gini: float):
        self.acc, self.rank, self._gini = acc, rank, gini

    def quintile_means(self, area):
        scope = "national" if area == "national" else AREAS.index(area)
        if scope != "national" and self.acc.v.get(("b", "N", scope), 0.0) == 0.0:
            return None
        return self.rank.qnum[scope] / self.rank.qden[scope]

    def has_households(self, area):
        return self.acc.v.get(("b", "N", AREAS.index(area)), 0.0) > 0.0

    def gini(self):
        return self._gini

    def mean_income(self, area):
        a = AREAS.index(area)
        return float(self.acc[("b", "Y", a)] / self.acc[("b", "N", a)])

    def total(self, name):
        return self.acc[("total", name)]

    def recipients(self, area):
        return self.acc[("recipients", AREAS.index(area))]

    def standard(self, area):
        a = AREAS.index(area)
        return float(self.acc[("standard", a)] / self.acc[("b", "N", a)])


# ------------------------------------------------------------------------------------- the run


def simulate_chunked(population, reform=None, year: int = 2024, *, backend: str | None = None, chunks: int = 4,
                     metr: bool = True, spill_dir: str | None = None, seed: int = 1, wages: str = "gross",
                     columns: dict | None = None, memory_limit: str = "2GB", budget_neutral: str | None = None,
                     target_cost: float = 0.0, **kw) -> SimulationResult:
    """``Simulation(population, year).run(reform)`` with the persons cut into ``chunks`` chunks of whole
    households, each simulated alone, the outputs aggregated exactly (see the module doc): the same
    :class:`~prosperity.simulate.SimulationResult`, equal to the in-memory one up to the order of
    floating-point additions (tests: 1e-12 relative).

    ``population``: a person-level pandas frame (memory), Parquet file(s) or a directory (DuckDB), a
    Dask dataframe (Dask; with a ``distributed`` client the chunks are simulated on its workers);
    ``backend`` names it explicitly. ``spill_dir``: where the chunks' populations and per-household
    tables go (default: a temporary directory, removed at the end; the memory backend keeps them in
    memory; with Dask workers it must be a directory they all see). ``kw``: ``parameters``, ``instant``, ``baseline_reform`` as :class:`Simulation` takes them.

    ``budget_neutral``, ``target_cost``: as :meth:`Simulation.run`: the parameter at that path is solved
    (Brent, the same bracket and tolerances: :func:`prosperity.simulate.engine.solve_net_cost`) so
    that the net cost is ``target_cost`` yuan, each net cost a sum over the chunks (their simulations
    built once and kept, pickled when spilling); then the run with the solved value. ReformError as in
    memory when no value in the bracket reaches the target.
    """
    started = time.perf_counter()
    options = {"memory_limit": memory_limit} if backend == "duckdb" or (backend is None and isinstance(population, (str, os.PathLike, list, tuple))) else {}
    source = _chunks_of(population, backend, int(chunks), options)
    plan = source.plan
    persons_total = int(sum(plan.persons))
    sim_kw = dict(seed=seed, wages=wages, columns=columns, **kw)

    # the chunks' populations: read and checked once (pass 1), kept for passes 2 and 3 (in memory for
    # the memory backend, pickled to the spill directory otherwise: one chunk in memory at a time)
    temp = None
    if source.name != "memory" and spill_dir is None:
        temp = spill_dir = tempfile.mkdtemp(prefix="prosperity_spill_")
    elif spill_dir is not None:
        os.makedirs(spill_dir, exist_ok=True)
    job = _Job(year, persons_total, sim_kw, reform, bool(metr), spill_dir if source.name != "memory" else None)
    run = _mapper(source)
    ks = [k for k in range(plan.n_chunks) if plan.persons[k]]
    kept: dict = {}
    try:
        # pass 1: the sums of the dibao standards' provincial scaling (from the populations alone);
        # pass 2: the persons eligible for dibao under that scaling (the take-up calibration's totals)
        totals: dict = {}
        households = {}
        for k, (sums, ref, n_households) in zip(ks, run(_task_read, [(job, k, source.lazy_chunk(k)) for k in ks])):
            kept[k] = ref
            households[k] = n_households
            for key, value in sums.items():
                totals[key] = totals.get(key, 0.0) + value
        counted = tuple(households.get(k, 0) for k in range(plan.n_chunks))
        if plan.households is not None and plan.households != counted:  # pragma: no cover - a guard
            raise RuntimeError(f"households per chunk: planned {plan.households}, read {counted}")
        plan = replace(plan, households=counted)
        found: dict = {}
        for eligible in run(_task_calibrate, [(job, k, kept[k], plan.offsets(k), totals) for k in ks]):
            for key, value in eligible.items():
                found[key] = found.get(key, 0.0) + value
        totals.update(found)

        solved = None
        if budget_neutral:
            reform, solved = _solve_chunked(run, job, ks, kept, plan, totals, reform, budget_neutral, target_cost)
            job = replace(job, reform=reform)
        elif reform is not None and _uses_low_income(reform.apply(_tree(job)[0]).at(_tree(job)[1])):
            _prepare(run, job, ks, kept, plan, totals)  # pass 3 runs in rounds, one per floor

        # pass 3: the run; order-free sums and the per-household tables
        spill = _Spill(job.spill_dir, memory_limit=memory_limit)
        acc = _Sums()
        context = None
        for sums, table, ctx in _with_floors(run, job, _task_run, [(job, k, kept[k], plan.offsets(k), totals, k == ks[-1])
                                                                 for k in ks]):
            acc.merge(sums)
            spill.add(table)
            context = ctx or context
        result = _aggregate(context, reform, year, acc, spill, metr, time.perf_counter() - started)
        return replace(result, budget_neutral={"parameter": budget_neutral, "value": solved}) if budget_neutral else result
    finally:
        if temp is not None:
            shutil.rmtree(temp, ignore_errors=True)
        elif job.spill_dir is not None:
            for path in kept.values():
                if isinstance(path, str) and os.path.exists(path):
                    os.remove(path)


def _tree(job):
    """The parameter tree and date of the chunks' simulations (as :class:`Simulation` makes them)."""
    kw = job.sim_kw
    tree = kw.get("parameters") or bundled_parameters()
    tree = kw["baseline_reform"].apply(tree) if kw.get("baseline_reform") else tree
    return tree, kw.get("instant") or default_instant(job.year)


def _prepare(run, job, ks, kept, plan, totals) -> None:
    """Build every chunk's simulation once (``kept[k]`` then holds it, or its pickle), for runs that
    evaluate the chunks more than once (Brent's net costs, rounds for low-income floors)."""
    for k, ref in zip(ks, run(_task_prepare, [(job, k, kept[k], plan.offsets(k), totals) for k in ks])):
        if isinstance(kept[k], str) and os.path.exists(kept[k]):
            os.remove(kept[k])
        kept[k] = ref


def _solve_chunked(run, job, ks, kept, plan, totals, reform, path: str, target: float):
    """The budget-neutral value of ``path``: the chunks' simulations are built once (``kept`` then holds
    them), and each net cost Brent asks for is the sum of the chunks' net costs (``math.fsum``, each
    value asked for once). Returns (the reform with the solved value, the value)."""
    tree, instant = _tree(job)
    reform = reform or Reform("baseline")
    start, bounds = budget_neutral_bracket(tree, instant, job.year, reform, path)
    _prepare(run, job, ks, kept, plan, totals)
    costs: dict = {}

    def f(x: float) -> float:
        if x not in costs:
            trial = reform.with_value(path, x, start)
            costs[x] = math.fsum(_with_floors(run, job, _task_net_cost, [(job, k, kept[k], trial) for k in ks]))
        return costs[x] - target

    x = solve_net_cost(f, path, target, bounds)
    return reform.with_value(path, x, start), x


# ---------------------------------------------------------------- the work of one chunk (a task)


@dataclass(frozen=True)
class _Job:
    """What every chunk's task needs besides its own data (small; shipped to Dask workers)."""

    year: int
    persons_total: int
    sim_kw: dict
    reform: object
    metr: bool
    spill_dir: str | None  # None: results stay in memory (memory backend)


def _chunk_sim(job: _Job, kept, offsets, totals) -> _ChunkSimulation:
    """The chunk's simulation: built from its population (kept, or pickled at a path) with the whole
    population's totals, or the one built before (kept, or pickled, by the budget-neutral solve)."""
    if isinstance(kept, str):
        with open(kept, "rb") as fh:
            kept = pickle.load(fh)
    if isinstance(kept, _ChunkSimulation):
        return kept
    return _ChunkSimulation(kept, job.year, person_offset=offsets[0], household_offset=offsets[1],
                            persons_total=job.persons_total, totals=totals, **job.sim_kw)


def _task_read(job: _Job, k: int, frame):
    """Pass 1: the chunk's population, checked, with its scaling sums; kept (pickled when spilling)."""
    if callable(frame):
        frame = frame()
    elif hasattr(frame, "__dask_graph__"):  # a Dask source without a distributed client
        frame = frame.compute()
    kw = job.sim_kw
    pop = Population.from_frame(frame, columns=kw.get("columns"), seed=kw.get("seed", 1), wages=kw.get("wages", "gross"))
    sums = _scaling_sums(pop, job.year)
    if job.spill_dir is None:
        return sums, pop, pop.n_households
    path = os.path.join(job.spill_dir, f"population{k:05d}.pickle")
    with open(path, "wb") as fh:
        pickle.dump(pop, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return sums, path, pop.n_households


def _task_calibrate(job: _Job, k: int, kept, offsets, totals) -> dict:
    """Pass 2: the chunk's persons eligible for dibao under the whole population's scaling."""
    sim = _chunk_sim(job, kept, offsets, totals)
    _check_chunkable(sim, job.reform)
    own = _scaling_sums(sim.population, job.year)
    if any(not np.array_equal(sim.recorded.get(key), value) for key, value in own.items()):  # pragma: no cover - a guard
        raise RuntimeError("the engine's population totals changed: update prosperity.backends.simulate._scaling_sums")
    return {key: value for key, value in sim.recorded.items() if key[0] == "dibao eligible"}


def _task_run(job: _Job, k: int, kept, offsets, totals, want_context: bool, floors: dict):
    """Pass 3: baseline, reform and METRs of the chunk; its order-free sums and its per-household table
    (written to the spill directory when spilling); with ``want_context`` what the validation table and
    the assumptions read from a simulation (the parameters, the tree, the take-up). ``floors``: the
    low-income floors known so far; a :class:`_Need` when the evaluations need another."""
    sim = _chunk_sim(job, kept, offsets, totals)
    _check_chunkable(sim, job.reform)
    sim.floors.reset(floors)
    base = sim.baseline
    mb = mr = None
    try:
        state = sim.evaluate(job.reform)
        if job.metr:
            mb = _metr(sim, sim.evaluate, None, base)
            mr = _metr(sim, sim.evaluate, job.reform, state)
    except _NeedFloor as need:
        return _need(job, k, need)
    acc = _Sums()
    _order_free_chunk_sums(acc, sim, base, state)
    table = _household_table(sim, base, state, mb, mr)
    if job.spill_dir is not None:
        path = os.path.join(job.spill_dir, f"chunk{k:05d}.parquet")
        _write_table(table, path)
        table = path
    context = None
    if want_context:
        context = SimpleNamespace(year=sim.year, params=sim.params, tree=sim.tree, instant=sim.instant,
                                  fixed=SimpleNamespace(take_up_source=sim.fixed.take_up_source,
                                                        take_up_rate=dict(sim.fixed.take_up_rate)))
    return acc.v, table, context


def _task_prepare(job: _Job, k: int, kept, offsets, totals):
    """The budget-neutral solve's first pass: the chunk's simulation built once with the whole
    population's totals, kept for the net-cost evaluations and the run (pickled when spilling)."""
    sim = _chunk_sim(job, kept, offsets, totals)
    if job.spill_dir is None:
        return sim
    path = os.path.join(job.spill_dir, f"simulation{k:05d}.pickle")
    with open(path, "wb") as fh:
        pickle.dump(sim, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _task_net_cost(job: _Job, k: int, kept, reform, floors: dict):
    """The chunk's net cost (yuan) under ``reform``: Sum_h w_h (disposable_h(reform) - disposable_h(baseline))
    (a :class:`_Need` when it needs a low-income floor not in ``floors``)."""
    sim = _chunk_sim(job, kept, None, None)
    _check_chunkable(sim, reform)
    sim.floors.reset(floors)
    try:
        return sim.net_cost(sim.evaluate(reform))
    except _NeedFloor as need:
        return _need(job, k, need)


def _uses_low_income(p: dict) -> bool:
    ew, eco = "regional_transfers.east_west.", "regional_transfers.ecological_compensation."
    return (p[ew + "amount_per_capita"] > 0 and p[ew + "distribution"] == "low_income") or \
        (p[eco + "carbon_price"] > 0 and p[eco + "distribution"] == "low_income")


def _check_chunkable(sim, reform) -> None:
    if _uses_low_income(sim.params):
        raise BackendError("a regional transfer distributed 'low_income' in the baseline (baseline_reform) is not "
                           "chunked yet (the baseline's calibration would need its floors)",
                           hint="switch it on in the reform instead, or run Simulation(...).run() in memory")


def _write_table(table: dict, path: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table(table), path)


def _mapper(source):
    """How the chunks' tasks run: one after the other here, or, for a Dask source with a distributed
    client, on the workers (at most two tasks per worker in flight; results in chunk order)."""
    client = None
    if source.name == "dask":
        try:
            from distributed import get_client

            client = get_client()
        except (ImportError, ValueError):
            client = None
    if client is None:
        return lambda fn, arglist: (fn(*args) for args in arglist)

    def run(fn, arglist):
        from distributed import wait

        window = 2 * max(1, len(client.scheduler_info()["workers"]))
        futures, out = [], []
        for args in arglist:
            args = tuple(client.compute(a) if hasattr(a, "__dask_graph__") else a for a in args)
            futures.append(client.submit(fn, *args, pure=False))
            if len(futures) - len(out) >= window:
                wait(futures[len(out)])
                out.append(futures[len(out)].result())
        out.extend(f.result() for f in futures[len(out):])
        return out

    return run


def _scaling_sums(pop, year) -> dict:
    """Per area: persons and persons x the province's relative consumption, the two totals of the
    dibao standards' scaling in ``Simulation._fix_baseline``; per province: persons and rural persons,
    over which the regional transfers' funds are spread (checked against the engine's in pass 2)."""
    rel = provincial_context(year)["consumption_rel"].to_numpy(float)[pop.province]
    out = {("province persons", k): v for k, v in province_persons(pop).items()}
    for area, u in (("urban", True), ("rural", False)):
        m = pop.urban == u
        if m.any():
            out[("persons", area)] = float(pop.persons_weight[m].sum())
            out[("scaled persons", area)] = float(np.dot(pop.persons_weight[m], rel[m]))
    return out


def _rank(spill, key, acc, tag, ps, quintiles=False):
    cols = ["pw", "area"] + (["w", "size"] if quintiles else [])
    qt = ({"national": acc[("W", "national")], 0: acc[("W", 0)], 1: acc[("W", 1)]} if quintiles else None)
    r = _RankPass(acc[(tag, "N")], [acc[(tag, "N", 0)], acc[(tag, "N", 1)]], ps, qt)
    for p in spill.sorted_pieces(key, cols):
        p["y"] = p[key]
        r.add(p)
    r.finish()
    return r


def _aggregate(sim, reform, year, acc: _Sums, spill: _Spill, metr: bool, seconds: float) -> SimulationResult:
    deciles_p = [k / 10 for k in range(1, 10)]
    rb = _rank(spill, "yb", acc, "b", deciles_p + [0.5, 0.2, 0.8], quintiles=True)
    rr = _rank(spill, "yr", acc, "r", [0.5, 0.2, 0.8])
    base_median = rb.q[0.5]
    lines, nbs_band = scenario_lines(year, base_median)
    edges = np.array([rb.q[p] for p in deciles_p])
    z60 = lines["rel60"]
    scen = {"b": ("yb", rb), "r": ("yr", rr)}
    mu = {t: acc[(t, "Y")] / acc[(t, "N")] for t in scen}
    floor = np.finfo(np.float64).tiny
    s = _Sums()
    for p in spill.pieces(list(_household_columns())):
        pw, w = p["pw"], p["w"]
        for t, (col, r) in scen.items():
            y = p[col]
            z = y / mu[t]
            ymin = acc[(t, "ymin")]
            if ymin >= 0:
                s.add((t, "theil"), float(np.dot(pw, z * np.log(z if ymin > 0 else np.maximum(z, floor)))))
            s.add((t, "T20"), float(np.dot(pw[y <= r.q[0.2]], y[y <= r.q[0.2]])))
            s.add((t, "T80"), float(np.dot(pw[y <= r.q[0.8]], y[y <= r.q[0.8]])))
            for name, line in lines.items():
                poor = y < line
                s.add((t, "h", name), float(pw[poor].sum()))
                s.add((t, "g", name), float(np.dot(pw[poor], 1.0 - y[poor] / line)))
            s.add((t, "arpr"), float(pw[y < 0.6 * r.q[0.5]].sum()))
            s.add((t, "mid_abs"), float(pw[(y >= nbs_band[0]) & (y < nbs_band[1])].sum()))
            m = r.q[0.5]
            s.add((t, "mid_rel"), float(pw[(y >= 0.75 * m) & (y < 2.0 * m)].sum()))
        d = np.searchsorted(edges, p["yb"], side="right")
        one = np.ones_like(pw)

        def by(weights, x, groups=d, n=10):
            return np.bincount(groups, weights=weights * x, minlength=n)

        s.add("d_persons", by(pw, one))
        s.add("d_base", by(w, p["db"]))
        s.add("d_change", by(w, p["change"]))
        for b in range(5):
            s.add(("wl", b), by(pw, p["bin"] == b))
            s.add(("wl_all", b), float(np.sum(pw * (p["bin"] == b))))
        for t in ("b", "r"):
            s.add(("aetr_num", t), by(w, p[f"net_{t}"]))
            s.add(("aetr_den", t), by(w, p[f"mkt_{t}"]))
        if metr:
            ok = np.isfinite(p["mb"])
            s.add("metr_b", by(pw, np.where(ok, p["mb"], 0.0)))
            s.add("metr_r", by(pw, np.where(ok, p["mr"], 0.0)))
            s.add("metr_ok", by(pw, ok))
        for gname, codes, n in (("area", p["area"].astype(np.int64), 2), ("prov", p["province"].astype(np.int64), len(PROVINCES))):
            s.add((gname, "persons"), by(pw, one, codes, n))
            s.add((gname, "b"), by(w, p["db"], codes, n))
            s.add((gname, "c"), by(w, p["change"], codes, n))
            s.add((gname, "pb"), by(pw, p["yb"] < z60, codes, n))
            s.add((gname, "pr"), by(pw, p["yr"] < z60, codes, n))
            s.add((gname, "db"), by(pw, p["dib_b"] > 0, codes, n))
            s.add((gname, "dr"), by(pw, p["dib_r"] > 0, codes, n))
            s.add((gname, "reg"), by(w, p["reg"], codes, n))

    def measures(t):
        col, r = scen[t]
        big_n, big_y = acc[(t, "N")], acc[(t, "Y")]
        out = {"mean_income_pc": big_y / big_n, "median_income_pc": r.q[0.5], "gini": r.gini(big_y)}
        out["theil"] = s[(t, "theil")] / big_n if acc[(t, "ymin")] >= 0 else float("nan")
        out["s80_s20"] = (big_y - s[(t, "T80")]) / s[(t, "T20")]
        for name in lines:
            out[f"poverty_headcount_{name}"] = s[(t, "h", name)] / big_n
            out[f"poverty_gap_{name}"] = s[(t, "g", name)] / big_n
        out["arpr_60pct_own_median"] = s[(t, "arpr")] / big_n
        out["middle_income_share_nbs_absolute"] = s[(t, "mid_abs")] / big_n
        out["middle_income_share_relative_75_200"] = s[(t, "mid_rel")] / big_n
        return out

    base_measures, ref_measures = measures("b"), measures("r")
    summary = summary_table(base_measures, ref_measures, lines)
    d_persons, d_base, d_change = s["d_persons"], s["d_base"], s["d_change"]
    deciles = pd.DataFrame({"decile": np.arange(1, 11), "persons_m": d_persons / 1e6,
                            "baseline_income_pc": d_base / d_persons, "change_pc_yuan": d_change / d_persons,
                            "change_pct": 100 * d_change / d_base})
    wl = np.zeros((11, 5))
    for b in range(5):
        wl[:10, b] = s[("wl", b)] / d_persons
        wl[10, b] = s[("wl_all", b)] / acc[("b", "N")]
    winners = pd.DataFrame(wl, columns=BINS)
    winners.insert(0, "group", [f"decile {k}" for k in range(1, 11)] + ["all"])

    def group_table(g, names):
        persons, b, c = s[(g, "persons")], s[(g, "b")], s[(g, "c")]
        return pd.DataFrame({"group": names, "persons_m": persons / 1e6, "baseline_income_pc": b / persons,
                             "change_pc_yuan": c / persons, "change_pct": 100 * c / b,
                             "poverty_rel60_baseline": s[(g, "pb")] / persons, "poverty_rel60_reform": s[(g, "pr")] / persons,
                             "dibao_recipients_m_baseline": s[(g, "db")] / 1e6, "dibao_recipients_m_reform": s[(g, "dr")] / 1e6,
                             "regional_transfers_net_bn": s[(g, "reg")] / 1e9})

    with np.errstate(invalid="ignore", divide="ignore"):
        by_area = group_table("area", list(AREAS))
        by_area["gini_baseline"] = [rb.gini_area(a, acc[("b", "Y", a)]) if acc[("b", "N", a)] > 0 else float("nan") for a in (0, 1)]
        by_area["gini_reform"] = [rr.gini_area(a, acc[("r", "Y", a)]) if acc[("r", "N", a)] > 0 else float("nan") for a in (0, 1)]
        by_province = group_table("prov", list(PROVINCES))
    by_province = by_province[by_province["persons_m"] > 0].reset_index(drop=True)

    fiscal = pd.DataFrame([(name, kind, who, acc[("fiscal", "b", name)] / 1e9, acc[("fiscal", "r", name)] / 1e9)
                           for name, kind, who in FISCAL_ITEMS], columns=["item", "kind", "budget", "baseline_bn", "reform_bn"])
    sector_rows = pd.DataFrame([(f"balance: {label}", "balance", label, acc[("fiscal", "b", key)] / 1e9,
                                 acc[("fiscal", "r", key)] / 1e9) for key, label in BALANCES], columns=fiscal.columns)
    fiscal = pd.concat([fiscal, sector_rows], ignore_index=True)
    fiscal["change_bn"] = fiscal["reform_bn"] - fiscal["baseline_bn"]
    net_cost = acc["net_cost"] / 1e9
    residual = net_cost + float(sector_rows["reform_bn"].sum() - sector_rows["baseline_bn"].sum())

    rates = pd.DataFrame({"decile": np.arange(1, 11), "aetr_baseline": s[("aetr_num", "b")] / s[("aetr_den", "b")],
                          "aetr_reform": s[("aetr_num", "r")] / s[("aetr_den", "r")]})
    if metr:
        rates["metr_baseline"] = s["metr_b"] / s["metr_ok"]
        rates["metr_reform"] = s["metr_r"] / s["metr_ok"]
        rates["earner_households_share"] = s["metr_ok"] / d_persons

    validation = validation_table(sim, _StreamStats(acc, rb, base_measures["gini"]))
    warnings = result_warnings(validation, residual, net_cost)
    changes = [c.describe() for c in (reform.changes if reform else ())]
    return SimulationResult(
        year=year, reform_name=reform.name if reform else "baseline", reform_changes=tuple(changes),
        summary=summary, deciles=deciles, winners_losers=winners, by_area=by_area, by_province=by_province,
        fiscal=fiscal, effective_rates=rates, validation=validation, net_cost_bn=net_cost,
        identity_residual_bn=residual, budget_neutral=None, assumptions=assumptions_of(sim), warnings=tuple(warnings),
        population={"households": int(acc["households"]), "persons": int(acc["persons"]),
                    "households_represented_m": acc[("W", "national")] / 1e6,
                    "persons_represented_m": acc[("b", "N")] / 1e6},
    )


def _household_columns():
    return ("hh", "yb", "yr", "pw", "w", "size", "area", "province", "db", "change", "bin", "mkt_b", "mkt_r", "net_b",
            "net_r", "mb", "mr", "dib_b", "dib_r", "reg")


__all__ = ["ChunkPlan", "simulate_chunked"]
