"""Scale benchmark (issue 11): the streaming measures on DuckDB (out of core over Parquet) and Dask
(a 2-worker LocalCluster), against the in-memory measure() and against the floor the issue names: one
DuckDB pass that reads the income column and sorts it.

    python benchmarks/bench_scale.py [--sizes 1e6,1e7] [--dir /tmp/prosperity_scale] [--skip-dask]
                                     [--repeat 3] [--dask-worker-memory 1.5GB]

Each run is its own process, so its peak resident memory (ru_maxrss) is its own; for Dask the peak
is the sum over the client (with the scheduler), the 2 workers (``memory_limit`` from
``--dask-worker-memory``) and their nannies, each process's own peak (an upper bound of the peak of
the sum). Dask reads the Parquet with one partition per row group (10^6 rows) and sorts by splitters
through a spill directory (``prosperity.backends.dask_sort``). Every kind runs ``--repeat`` times,
each in a fresh process; the table gives the fastest run (the machine is shared: the 1-minute load
average at the start of each run is printed). A run that fails (e.g. Dask workers killed) is reported
as FAILED and the others go on. The population:
lognormal incomes (sigma 0.8), weights 50-150, 31 strata, PSUs of 50 rows; Parquet files of at most
10^7 rows, row groups of 10^6.
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

MEASURES = ["mean", "median", "gini", "theil", "atkinson:0.5", "arpr"]


def write_population(folder: Path, n: int, seed: int = 1) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    if (folder / "_done").exists():
        return
    rng = np.random.default_rng(seed)
    per_file = 10**7
    start = 0
    k = 0
    while start < n:
        m = min(per_file, n - start)
        with pq.ParquetWriter(folder / f"part{k:04d}.parquet", pa.schema([("income", pa.float64()), ("weight", pa.float64()),
                                                                          ("stratum", pa.int32()), ("psu", pa.int64())])) as writer:
            for a in range(0, m, 10**6):
                b = min(m, a + 10**6)
                rows = np.arange(start + a, start + b, dtype=np.int64)
                psu = rows // 50
                table = pa.table({"income": np.exp(rng.normal(10.0, 0.8, b - a)),
                                  "weight": rng.uniform(50, 150, b - a),
                                  "stratum": (psu % 31).astype(np.int32), "psu": psu})
                writer.write_table(table)
        start += m
        k += 1
    (folder / "_done").write_text(str(n))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _process_peak_mb() -> float:  # runs on the Dask workers and nannies too
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _process_cpu_s() -> float:  # user + system CPU seconds of this process (all its threads); on workers too
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_one(kind: str, folder: str, worker_memory: str = "1.5GB") -> dict:
    t0 = time.perf_counter()
    cpu0 = _process_cpu_s()
    if kind == "floor":  # one DuckDB pass: read the income column, sort it, stream it out
        import duckdb

        con = duckdb.connect()
        con.execute("SET memory_limit = '2GB'")
        rows = 0
        for batch in con.sql(f"SELECT income FROM read_parquet('{folder}/*.parquet') ORDER BY income").to_arrow_reader(1 << 21):
            rows += batch.num_rows
        out = {"rows": rows}
    elif kind == "duckdb":
        from prosperity.backends import measure_stream, open_source

        res = measure_stream(open_source(folder, "income", "weight", strata="stratum", psu="psu"), MEASURES)
        out = {"values": {e.measure: [e.value, e.se] for e in res.estimates}}
    elif kind == "dask":
        import dask.dataframe as dd
        from distributed import Client, LocalCluster

        from prosperity.backends import measure_stream, open_source

        with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=worker_memory, host="127.0.0.1", dashboard_address="127.0.0.1:0",
                          worker_dashboard_address="127.0.0.1:0") as cluster, \
                Client(cluster) as client:
            t0 = time.perf_counter()  # the cluster's start is not the measure's cost
            cpu0 = _process_cpu_s() + sum(client.run(_process_cpu_s).values())
            frame = dd.read_parquet(f"{folder}/*.parquet", split_row_groups=True)
            with open_source(frame, "income", "weight", strata="stratum", psu="psu") as src:
                res = measure_stream(src, MEASURES)
                plan = src.last_plan
            seconds = time.perf_counter() - t0
            cpu = _process_cpu_s() + sum(client.run(_process_cpu_s).values()) - cpu0
            peaks = list(client.run(_process_peak_mb).values()) + list(client.run(_process_peak_mb, nanny=True).values())
        out = {"values": {e.measure: [e.value, e.se] for e in res.estimates}, "seconds": seconds, "cpu_s": cpu,
               "buckets": int((plan.rows > 0).sum()), "largest_bucket": int(plan.rows.max()),
               "peak_rss_mb": _peak_mb() + sum(peaks), "worker_peak_mb": max(peaks[:2])}
    elif kind == "memory":
        import pandas as pd

        import prosperity

        frame = pd.read_parquet(folder)
        t0 = time.perf_counter()  # reading the file is not the measure's cost
        cpu0 = _process_cpu_s()
        r = prosperity.measure(frame, income="income", weight="weight", strata="stratum", psu="psu", measures=MEASURES).to_frame()
        out = {"values": {m: [v, s] for m, v, s in zip(r["measure"], r["value"], r["se"])}}
    else:
        raise SystemExit(f"unknown kind {kind}")
    out.setdefault("seconds", time.perf_counter() - t0)
    out.setdefault("cpu_s", _process_cpu_s() - cpu0)
    out.setdefault("peak_rss_mb", _peak_mb())
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1e6,1e7")
    ap.add_argument("--dir", default="/tmp/prosperity_scale")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--memory-up-to", type=float, default=1e7, help="largest size run in memory")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each kind (the fastest is kept)")
    ap.add_argument("--dask-worker-memory", default="1.5GB", help="memory_limit of each of the 2 Dask workers")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--suite", default="measures",
                    help="comma-separated: measures (this file), decompose (4-level GE), reform (chunked dibao +20 %%)")
    args = ap.parse_args()
    extra = [x.strip() for x in args.suite.split(",") if x.strip() in ("decompose", "reform")]
    if extra and not args.one:  # the rows of benchmarks/bench_scale_rows.py, in their own table
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import bench_scale_rows

        sizes = [int(float(x)) for x in args.sizes.split(",")]
        bench_scale_rows.print_table([row for suite in extra for row in bench_scale_rows.run_suite(
            suite, sizes, args.dir, args.memory_up_to, args.skip_dask)])
        if "measures" not in args.suite.split(","):
            return
    if args.one:
        print(json.dumps(run_one(*args.one)))
        return
    rows = []
    for size in (int(float(s)) for s in args.sizes.split(",")):
        folder = Path(args.dir) / f"n{size}"
        t0 = time.perf_counter()
        write_population(folder, size)
        print(f"n = {size:,}: Parquet in {folder} ({time.perf_counter() - t0:.0f} s to write or reuse)", flush=True)
        kinds = ["floor", "duckdb"] + ([] if args.skip_dask else ["dask"]) + (["memory"] if size <= args.memory_up_to else [])
        results = {}
        for _ in range(args.repeat):
            for kind in kinds:
                load = os.getloadavg()[0]
                proc = subprocess.run([sys.executable, __file__, "--one", kind, str(folder), args.dask_worker_memory],
                                      capture_output=True, text=True)
                if proc.returncode:
                    last = [line for line in proc.stderr.strip().splitlines() if line.strip()][-1:] or ["(no message)"]
                    print(f"  {kind:7s} FAILED at n={size:,} (load {load:.1f}): {last[0][:300]}", flush=True)
                    continue
                got = json.loads(proc.stdout.strip().splitlines()[-1])
                extra = (f"   {got['buckets']} buckets (largest {got['largest_bucket']:,} rows), worker peak "
                         f"{got['worker_peak_mb']:.0f} MB" if kind == "dask" else "")
                print(f"  {kind:7s} {got['seconds']:8.2f} s   CPU {got['cpu_s']:7.2f} s   peak RSS {got['peak_rss_mb']:7.0f} MB   load {load:4.1f}{extra}", flush=True)
                if kind not in results or got["seconds"] < results[kind]["seconds"]:
                    results[kind] = got
        ref = results.get("memory") or results["duckdb"]
        worst = 0.0
        for kind in ("duckdb", "dask"):
            if kind in results and (kind != "duckdb" or "memory" in results):
                for m, (v, s) in results[kind]["values"].items():
                    rv, rs = ref["values"][m]
                    worst = max(worst, abs(v / rv - 1), abs(s / rs - 1))
        floor = results["floor"]["seconds"]
        rows.append((size, floor, results["duckdb"]["seconds"], results.get("dask", {}).get("seconds"),
                     results.get("memory", {}).get("seconds"), results["duckdb"]["peak_rss_mb"],
                     results.get("dask", {}).get("peak_rss_mb"), worst))
        print(f"  duckdb / floor = {results['duckdb']['seconds'] / floor:.2f}"
              + (f", dask / duckdb = {results['dask']['seconds'] / results['duckdb']['seconds']:.2f}" if "dask" in results else "")
              + f", largest relative difference between backends {worst:.1e}", flush=True)
    print("\n| rows | floor: DuckDB sort of income (s) | DuckDB suite + SEs (s) | ratio | Dask 2 workers (s) | Dask/DuckDB | "
          "in memory (s) | DuckDB peak RSS (MB) | Dask peak RSS, all processes (MB) | agreement |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, floor, duck, dask_s, mem, rss, dask_rss, worst in rows:
        print(f"| {size:.0e} | {floor:.2f} | {duck:.2f} | {duck / floor:.2f} | {'' if dask_s is None else f'{dask_s:.2f}'} | "
              f"{'' if dask_s is None else f'{dask_s / duck:.2f}'} | {'' if mem is None else f'{mem:.2f}'} | {rss:.0f} | "
              f"{'' if dask_rss is None else f'{dask_rss:.0f}'} | {worst:.1e} |")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
