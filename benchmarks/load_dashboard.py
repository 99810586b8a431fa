"""Bounded load test of the dashboard on loopback: starts the dashboard app (uvicorn, one worker) on
127.0.0.1 (a free port), in this process (``--server thread``, the default, as in the first
measurements) or in a child process (``--server process``: the clients then do not share the
server's interpreter lock), then N concurrent clients (default 50) request the data endpoints and the
reform endpoint for T seconds (default 30) and stop by themselves. The reform requests draw from
``--distinct`` parameter combinations (default 15: 5 dibao multipliers x 3 pension minimums; a larger
number makes more of them new reforms to evaluate). Prints throughput and p50/p99 latency per
endpoint family; a failed connection counts as an error; writes benchmarks/results/dashboard_load.json
(or ``--out``).

    python benchmarks/load_dashboard.py [--clients 50] [--seconds 30] [--households 100000]
                                        [--server thread|process] [--distinct 15] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DATA_URLS = ["/api/meta", "/api/provinces?year={year}&measure=disp_income_pc_yuan", "/api/province?name={prov}",
             "/api/index?framework=affluence_sharing", "/api/runs"]


def reform_urls(distinct: int) -> list[str]:
    """``distinct`` reform queries: the first 15 are the original 5 dibao x 3 pension grid."""
    grid = [(d, p) for d in (1.0, 1.1, 1.2, 1.3, 1.5) for p in (123, 200, 300)]
    k = 0
    while len(grid) < distinct:  # further combinations on a 0.01 dibao grid, none repeated
        d, p = round(0.5 + 0.01 * (k % 251), 2), (123, 200, 300, 400, 500, 600)[k // 251 % 6]
        if (d, p) not in grid:
            grid.append((d, p))
        k += 1
    return [f"/api/reform?dibao={d:g}&pension={p}" for d, p in grid[:distinct]]


async def client(base, deadline, results, rng, provinces, reform_share, reforms):
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.perf_counter() < deadline:
            if rng.random() < reform_share:
                kind, url = "reform", rng.choice(reforms)
            else:
                kind = "data"
                url = rng.choice(DATA_URLS).format(year=rng.randint(2016, 2024), prov=rng.choice(provinces))
            t0 = time.perf_counter()
            try:
                status = (await http.get(url)).status_code
            except httpx.HTTPError:
                status = 599  # connection failed or timed out: an error
            results.append((kind, time.perf_counter() - t0, status, t0))


async def run(base, clients, seconds, provinces, reform_share, reforms):
    results: list = []
    deadline = time.perf_counter() + seconds
    rngs = [random.Random(k) for k in range(clients)]
    t0 = time.perf_counter()
    await asyncio.gather(*(client(base, deadline, results, rngs[k], provinces, reform_share, reforms)
                           for k in range(clients)))
    return results, time.perf_counter() - t0


def _serve(port: int, households: int) -> None:  # the child process of --server process
    import uvicorn

    from prosperity.report.dashboard import create_app

    uvicorn.run(create_app(households=households, draws=100), host="127.0.0.1", port=port, log_level="error")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--reform-share", type=float, default=0.2, help="share of requests to the reform endpoint")
    ap.add_argument("--server", choices=("thread", "process"), default="thread")
    ap.add_argument("--distinct", type=int, default=15, help="distinct reform parameter combinations")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "dashboard_load.json")
    args = ap.parse_args(argv)
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    child = server = thread = None
    if args.server == "process":
        import multiprocessing as mp

        child = mp.get_context("spawn").Process(target=_serve, args=(port, args.households), daemon=True)
        child.start()
        for _ in range(1200):
            try:
                httpx.get(base + "/api/meta", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
    else:
        import uvicorn

        from prosperity.report.dashboard import create_app

        app = create_app(households=args.households, draws=100)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
    t0 = time.perf_counter()
    first = httpx.get(base + "/api/reform", timeout=120)  # waits for the population and the baseline
    if first.status_code != 200:
        raise SystemExit(f"the reform endpoint answered {first.status_code}: {first.text[:300]}")
    httpx.get(base + "/api/index?framework=affluence_sharing", timeout=120)
    warm = time.perf_counter() - t0
    new_reform = httpx.get(base + "/api/reform?dibao=2.97&pension=1999", timeout=120).json()["seconds"]
    provinces = httpx.get(base + "/api/meta").json()["provinces"]
    results, wall = asyncio.run(run(base, args.clients, args.seconds, provinces, args.reform_share,
                                    reform_urls(args.distinct)))
    if child is not None:
        child.terminate()
        child.join(timeout=10)
    else:
        server.should_exit = True
        thread.join(timeout=10)
    out = {"clients": args.clients, "seconds": wall, "households": args.households, "warm_up_s": warm,
           "server": args.server, "distinct_reforms": args.distinct, "new_reform_seconds": new_reform,
           "requests": len(results), "throughput_rps": len(results) / wall,
           "errors": sum(1 for _, _, s, _ in results if s >= 500), "non_200": sum(1 for _, _, s, _ in results if s != 200)}
    print(f"dashboard load test: {args.clients} clients for {wall:.1f} s on 127.0.0.1, server in a {args.server} "
          f"({args.households:,}-household reform population; warm-up {warm:.1f} s; {args.distinct} distinct reforms; "
          f"one new reform {new_reform:.2f} s)")
    start = min(t for *_, t in results)
    for kind in ("data", "reform", "all"):
        lat = np.array([d for k, d, _, _ in results if kind == "all" or k == kind])
        if not lat.size:
            continue
        p50, p99 = np.percentile(lat, [50, 99]) * 1000
        # after the first 10 s: the distinct reforms have been asked (and kept) by then
        late = np.array([d for k, d, _, t in results if (kind == "all" or k == kind) and t - start >= 10])
        l50, l99 = (np.percentile(late, [50, 99]) * 1000) if late.size else (np.nan, np.nan)
        out[kind] = {"requests": int(lat.size), "rps": lat.size / wall, "p50_ms": p50, "p99_ms": p99,
                     "max_ms": float(lat.max() * 1000), "after_10s_p50_ms": l50, "after_10s_p99_ms": l99}
        print(f"  {kind:6s} {lat.size:7,d} requests  {lat.size / wall:8.1f} req/s  p50 {p50:8.1f} ms  p99 {p99:8.1f} ms"
              f"  max {lat.max() * 1000:8.1f} ms | after 10 s: p50 {l50:7.1f} ms  p99 {l99:8.1f} ms")
    print(f"  status >= 500: {out['errors']}, other non-200: {out['non_200'] - out['errors']}")
    path = args.out
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
