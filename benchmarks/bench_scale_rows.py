"""Scale rows for the 4-level nested decomposition and one chunked reform (issue 11), run from
``bench_scale.py --suite decompose,reform`` or alone:

    python benchmarks/bench_scale_rows.py [--suite decompose,reform] [--sizes 1e6,1e7] [--dir /tmp/prosperity_scale]

Each run is its own process (peak RSS = ru_maxrss of that process; for Dask the client's plus each
worker's own peak). The decomposition's population: lognormal incomes (sigma 0.8), weights 50-150,
2,914 counties > 62 province x area cells > 31 provinces > 4 regions (integer codes, nested by
construction), Parquet files of at most 10^7 rows, row groups of 10^6. Theil, MLD and GE(2) are
decomposed from one pass (DuckDB: one GROUP BY; Dask: per-partition tables summed; in memory:
``decompose()`` once per measure, each its own pass). The reform: ``dibao_plus_20pct`` on the bundled
synthetic China population (the rows of ``synthesize_population``, persons, streamed block by block
to Parquet files of 10^7 persons: bounded memory at any size, 10^8 included), chunks of 10^6 persons,
DuckDB reading the Parquet, or Dask (2 workers of 3 GB: each chunk's three passes run as tasks on the
workers), against ``Simulation(frame).run(reform)`` in memory (up to ``--memory-up-to``). The chunks'
spill goes to the temporary directory (``TMPDIR``): about 35 bytes per person of pickled chunk
populations plus the per-household tables.

    TMPDIR=/big/tmp python benchmarks/bench_scale_rows.py --suite reform --sizes 1e8 --dir /big
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

LEVELS = ["region", "province", "province_area", "county"]
MEASURES = ["theil", "mld", "ge:2"]
CHUNK_PERSONS = 10**6


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_levels_population(folder: Path, n: int, seed: int = 2) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "_done").exists():
        return
    rng = np.random.default_rng(seed)
    start, k = 0, 0
    while start < n:
        m = min(10**7, n - start)
        schema = pa.schema([("income", pa.float64()), ("weight", pa.float64()), ("region", pa.int8()),
                            ("province", pa.int16()), ("province_area", pa.int16()), ("county", pa.int32())])
        with pq.ParquetWriter(folder / f"part{k:04d}.parquet", schema) as writer:
            for a in range(0, m, 10**6):
                b = min(m, a + 10**6)
                county = rng.integers(0, 2914, b - a).astype(np.int32)
                cell = county // 47  # 62 province x area cells
                province = cell // 2
                writer.write_table(pa.table({"income": np.exp(rng.normal(10.0, 0.8, b - a) + 0.1 * np.log1p(county % 7)),
                                             "weight": rng.uniform(50, 150, b - a), "region": (province // 8).astype(np.int8),
                                             "province": province.astype(np.int16), "province_area": cell.astype(np.int16),
                                             "county": county}, schema=schema))
        start += m
        k += 1
    (folder / "_done").write_text(str(n))


def write_persons_population(folder: Path, n: int, per_file: int = 10**7) -> None:
    """The bundled synthetic China population of ``n`` persons (2024, seed 1), streamed block by block
    (``iter_population``: the rows of ``synthesize_population``, in its order) into Parquet files of
    about ``per_file`` persons, row groups of about 10^6: memory stays bounded whatever ``n`` is."""
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "_done").exists():
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    from prosperity.synth.generate import iter_population, make_plan

    writer, in_file, k = None, 0, 0
    try:
        for frame in iter_population(make_plan(2024, n, 1), chunk_persons=10**6):  # whole blocks
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(folder / f"part{k:04d}.parquet", table.schema, compression="zstd")
            writer.write_table(table.cast(writer.schema))
            in_file += table.num_rows
            if in_file >= per_file:
                writer.close()
                writer, in_file, k = None, 0, k + 1
    finally:
        if writer is not None:
            writer.close()
    (folder / "_done").write_text(str(n))


def _decomposition_values(result: dict) -> dict:
    return {m: [c.value for c in d.components] + [d.total] for m, d in result.items()}


def run_one(kind: str, folder: str) -> dict:
    t0 = time.perf_counter()
    if kind == "decompose-duckdb":
        from prosperity.backends.decompose import nested_decomposition_many

        out = {"values": _decomposition_values(nested_decomposition_many(folder, "income", LEVELS, "weight", MEASURES))}
    elif kind == "decompose-dask":
        import dask.dataframe as dd
        from distributed import Client, LocalCluster

        from prosperity.backends.decompose import nested_decomposition_many

        with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="1.5GB", host="127.0.0.1", dashboard_address="127.0.0.1:0",
                          worker_dashboard_address="127.0.0.1:0") as cluster, \
                Client(cluster) as client:
            t0 = time.perf_counter()  # the cluster's start is not the decomposition's cost
            frame = dd.read_parquet(f"{folder}/*.parquet", split_row_groups=True)
            res = nested_decomposition_many(frame, "income", LEVELS, "weight", MEASURES)
            seconds = time.perf_counter() - t0
            peaks = list(client.run(_peak_mb).values())
        out = {"values": _decomposition_values(res), "seconds": seconds, "peak_rss_mb": _peak_mb() + sum(peaks)}
    elif kind == "decompose-memory":
        import pandas as pd

        from prosperity.decompose import decompose

        frame = pd.read_parquet(folder)
        t0 = time.perf_counter()  # reading the files is not the decomposition's cost
        out = {"values": _decomposition_values({m: decompose(frame, "income", LEVELS, "weight", m) for m in MEASURES})}
    elif kind == "reform-duckdb":
        from prosperity.backends.simulate import simulate_chunked
        from prosperity.simulate import load_reforms

        n = int(Path(folder, "_done").read_text())
        res = simulate_chunked(folder, load_reforms(["dibao_plus_20pct"]), 2024, chunks=max(1, n // CHUNK_PERSONS))
        out = {"values": {"summary": res.summary["reform"].tolist(), "net_cost_bn": res.net_cost_bn,
                          "deciles": res.deciles["change_pc_yuan"].tolist()}}
    elif kind == "reform-dask":
        import dask.dataframe as dd
        from distributed import Client, LocalCluster

        from prosperity.backends.simulate import simulate_chunked
        from prosperity.simulate import load_reforms

        n = int(Path(folder, "_done").read_text())
        with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="3GB", host="127.0.0.1", dashboard_address="127.0.0.1:0",
                          worker_dashboard_address="127.0.0.1:0") as cluster, \
                Client(cluster) as client:
            t0 = time.perf_counter()
            frame = dd.read_parquet(f"{folder}/*.parquet", split_row_groups=True)
            res = simulate_chunked(frame, load_reforms(["dibao_plus_20pct"]), 2024, chunks=max(1, n // CHUNK_PERSONS))
            seconds = time.perf_counter() - t0
            peaks = list(client.run(_peak_mb).values())
        out = {"values": {"summary": res.summary["reform"].tolist(), "net_cost_bn": res.net_cost_bn,
                          "deciles": res.deciles["change_pc_yuan"].tolist()}, "seconds": seconds,
               "peak_rss_mb": _peak_mb() + sum(peaks)}
    elif kind == "reform-memory":
        import pandas as pd

        from prosperity.simulate import Simulation, load_reforms

        frame = pd.read_parquet(folder)
        t0 = time.perf_counter()
        res = Simulation(frame, 2024).run(load_reforms(["dibao_plus_20pct"]))
        out = {"values": {"summary": res.summary["reform"].tolist(), "net_cost_bn": res.net_cost_bn,
                          "deciles": res.deciles["change_pc_yuan"].tolist()}}
    else:
        raise SystemExit(f"unknown kind {kind}")
    out.setdefault("seconds", time.perf_counter() - t0)
    out.setdefault("peak_rss_mb", _peak_mb())
    return out


def _flat(v):
    if isinstance(v, dict):
        return [x for k in sorted(v) for x in _flat(v[k])]
    if isinstance(v, (list, tuple)):
        return [x for e in v for x in _flat(e)]
    return [float(v)]


def _worst(a: dict, b: dict, suite: str) -> float:
    """Largest relative difference; for the decomposition relative to the measure's total (a
    component near 0, e.g. between regions that differ little, has no relative digits to compare)."""
    if suite == "decompose":
        return max(abs(x - y) / abs(b[m][-1]) for m in b for x, y in zip(a[m], b[m]))
    worst = 0.0
    for x, y in zip(_flat(a), _flat(b)):
        if x != x and y != y:
            continue
        worst = max(worst, abs(x - y) / max(abs(y), 1e-300))
    return worst


def run_suite(suite: str, sizes, base_dir: str, memory_up_to: float, skip_dask: bool) -> list[tuple]:
    rows = []
    for size in sizes:
        if suite == "decompose":
            folder = Path(base_dir) / f"levels_n{size}"
            write = write_levels_population
            kinds = ["decompose-duckdb"] + ([] if skip_dask else ["decompose-dask"]) + (
                ["decompose-memory"] if size <= memory_up_to else [])
        else:
            folder = Path(base_dir) / f"persons_n{size}"
            write = write_persons_population
            kinds = ["reform-duckdb"] + ([] if skip_dask else ["reform-dask"]) + (["reform-memory"] if size <= memory_up_to else [])
        t0 = time.perf_counter()
        write(folder, size)
        print(f"{suite}, n = {size:,}: Parquet in {folder} ({time.perf_counter() - t0:.0f} s to write or reuse)", flush=True)
        results = {}
        for kind in kinds:
            load = os.getloadavg()[0]
            proc = subprocess.run([sys.executable, __file__, "--one", kind, str(folder)], capture_output=True, text=True)
            if proc.returncode:
                last = [line for line in proc.stderr.strip().splitlines() if line.strip()][-1:] or ["(no message)"]
                print(f"  {kind:17s} FAILED (load {load:.1f}): {last[0][:300]}", flush=True)
                continue
            results[kind] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"  {kind:17s} {results[kind]['seconds']:8.2f} s   peak RSS {results[kind]['peak_rss_mb']:7.0f} MB   "
                  f"load {load:4.1f}", flush=True)
        ref = results.get(f"{suite}-memory") or results.get(f"{suite}-duckdb")  # without memory: against DuckDB
        worst = max((_worst(r["values"], ref["values"], suite) for r in results.values() if ref and r is not ref),
                    default=float("nan"))
        rows.append((suite, size, {k.split("-")[1]: (r["seconds"], r["peak_rss_mb"]) for k, r in results.items()}, worst))
    return rows


def print_table(rows) -> None:
    print("\n| what | rows | DuckDB (s) | DuckDB peak RSS (MB) | Dask 2 workers (s) | Dask peak RSS, client + workers (MB) "
          "| in memory (s) | in-memory peak RSS (MB) | largest relative difference (to memory, else to DuckDB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for suite, size, r, worst in rows:
        cell = (lambda k, i: f"{r[k][i]:.2f}" if i == 0 and k in r else f"{r[k][i]:.0f}" if k in r else "")
        what = "4-level decomposition, Theil + MLD + GE(2)" if suite == "decompose" else "reform dibao +20 %, chunks of 10^6 persons"
        print(f"| {what} | {size:.0e} | {cell('duckdb', 0)} | {cell('duckdb', 1)} | {cell('dask', 0)} | {cell('dask', 1)} | "
              f"{cell('memory', 0)} | {cell('memory', 1)} | {'' if worst != worst else f'{worst:.1e}'} |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", default="decompose,reform")
    ap.add_argument("--sizes", default="1e6,1e7")
    ap.add_argument("--dir", default="/tmp/prosperity_scale")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--memory-up-to", type=float, default=1e7, help="largest size run in memory")
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one)))
        return
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    rows = []
    for suite in args.suite.split(","):
        rows += run_suite(suite.strip(), sizes, args.dir, args.memory_up_to, args.skip_dask)
    print_table(rows)


if __name__ == "__main__":
    main()
