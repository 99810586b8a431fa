"""Bounded load test of the dashboard on loopback: starts `prosperity serve` in-process on 127.0.0.1
(a free port), then N concurrent clients (default 50) request the data endpoints and the reform
endpoint for T seconds (default 30) and stop by themselves. Prints throughput and p50/p99 latency
per endpoint family; writes benchmarks/results/dashboard_load.json.

    python benchmarks/load_dashboard.py [--clients 50] [--seconds 30] [--households 100000]
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


async def client(base, deadline, results, rng, provinces, reform_share):
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.perf_counter() < deadline:
            if rng.random() < reform_share:
                kind = "reform"
                url = f"/api/reform?dibao={rng.choice([1.0, 1.1, 1.2, 1.3, 1.5]):.1f}&pension={rng.choice([123, 200, 300])}"
            else:
                kind = "data"
                url = rng.choice(DATA_URLS).format(year=rng.randint(2016, 2024), prov=rng.choice(provinces))
            t0 = time.perf_counter()
            r = await http.get(url)
            results.append((kind, time.perf_counter() - t0, r.status_code))


async def run(base, clients, seconds, provinces, reform_share):
    results: list = []
    deadline = time.perf_counter() + seconds
    rngs = [random.Random(k) for k in range(clients)]
    t0 = time.perf_counter()
    await asyncio.gather(*(client(base, deadline, results, rngs[k], provinces, reform_share) for k in range(clients)))
    return results, time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--reform-share", type=float, default=0.2, help="share of requests to the reform endpoint")
    args = ap.parse_args(argv)
    import uvicorn

    from prosperity.report.dashboard import create_app

    app = create_app(households=args.households, draws=100)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    import httpx

    base = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    httpx.get(base + "/api/reform", timeout=120)  # builds the population and the baseline once
    httpx.get(base + "/api/index?framework=affluence_sharing", timeout=120)
    warm = time.perf_counter() - t0
    provinces = httpx.get(base + "/api/meta").json()["provinces"]
    results, wall = asyncio.run(run(base, args.clients, args.seconds, provinces, args.reform_share))
    server.should_exit = True
    thread.join(timeout=10)
    out = {"clients": args.clients, "seconds": wall, "households": args.households, "warm_up_s": warm,
           "requests": len(results), "throughput_rps": len(results) / wall,
           "errors": sum(1 for _, _, s in results if s >= 500), "non_200": sum(1 for _, _, s in results if s != 200)}
    print(f"dashboard load test: {args.clients} clients for {wall:.1f} s on 127.0.0.1 "
          f"({args.households:,}-household reform population; warm-up {warm:.1f} s)")
    for kind in ("data", "reform", "all"):
        lat = np.array([d for k, d, _ in results if kind == "all" or k == kind])
        if not lat.size:
            continue
        p50, p99 = np.percentile(lat, [50, 99]) * 1000
        out[kind] = {"requests": int(lat.size), "rps": lat.size / wall, "p50_ms": p50, "p99_ms": p99}
        print(f"  {kind:6s} {lat.size:7,d} requests  {lat.size / wall:8.1f} req/s  p50 {p50:8.1f} ms  p99 {p99:8.1f} ms")
    print(f"  status >= 500: {out['errors']}, other non-200: {out['non_200'] - out['errors']}")
    path = HERE / "results" / "dashboard_load.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(out, indent=2))
    print(f"written {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
