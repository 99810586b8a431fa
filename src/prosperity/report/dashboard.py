"""``prosperity serve``: a local dashboard on the bundled data and the store of runs.

Stack: Starlette (a small, well-kept ASGI toolkit) served by uvicorn; the page is one HTML file using
the same plotly.js as the report, served from the installed plotly package (no CDN). Why: the
dashboard needs a handful of JSON endpoints and one page, not a framework with templates and an ORM;
Starlette gives routing, request parsing and a test client, uvicorn a production server.

JSON endpoints (a contract: add keys, never rename):
- ``GET /api/meta`` -> {"years": [..], "measures": [..], "provinces": [..], "frameworks": [..], "read_only": true}
- ``GET /api/provinces?year=Y&measure=M`` -> {"year", "measure", "unit", "rows": [{"province", "value"}]}
- ``GET /api/province?name=P`` -> {"province", "rows": [{"year", MEASURE: value, ...}]}
- ``GET /api/index?framework=F`` -> {"framework", "year", "rows": [{"region", "score", "rank", "rank_q05", "rank_q95", "coverage"}]}
- ``GET /api/reform?dibao=X&pension=Y&top_rate=Z`` -> {"parameters", "net_cost_bn_yuan", "gini_baseline", "gini_reform",
  "deciles": [{"decile", "change_pct", "change_pc_yuan"}], "seconds"}: dibao = multiplier of the dibao standards
  (0.5-3), pension = residents' pension minimum in yuan a month (0-2000), top_rate = rate of the top IIT bracket (0-0.9).
- ``GET /api/runs`` -> {"runs": [...]} (the store, read-only).

Security: binds 127.0.0.1 by default; read-only (no endpoint writes; ``--allow-write`` is accepted for
future write endpoints and shown in /api/meta); every query parameter is validated against a closed
list or a numeric range (HTTP 400 with a message, never a traceback or a 500); no request value
reaches a file path, SQL text or eval (the store is queried with fixed statements); request bodies
are refused above 4 KiB (413); unknown paths give 404.
"""

from __future__ import annotations

import math
import threading
import time
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

MEASURES = {"disp_income_pc_yuan": "yuan", "consumption_exp_pc_yuan": "yuan", "income_growth_pct": "%",
            "consumption_share_of_income": "fraction"}
MAX_BODY = 4096

from .sections import FRAMEWORKS  # noqa: E402  (the frameworks the report shows)


class BadRequest(ValueError):
    pass


@lru_cache(maxsize=1)
def _provinces() -> pd.DataFrame:
    from ..datasets.china import provincial_income_consumption_2016_2024

    f = provincial_income_consumption_2016_2024().sort_values(["province_en", "year"]).copy()
    f["income_growth_pct"] = 100 * f.groupby("province_en")["disp_income_pc_yuan"].pct_change()
    f["consumption_share_of_income"] = f["consumption_exp_pc_yuan"] / f["disp_income_pc_yuan"]
    return f


@lru_cache(maxsize=4)
def _index(framework: str, draws: int) -> dict:
    from .sections import index_in_default_year

    res, sc = index_in_default_year(framework, draws)
    cols = ["region", "score", "rank", "coverage"] + (["rank_q05", "rank_q95"] if draws else [])
    return {"framework": framework, "name": res.framework.name, "year": int(res.default_year()),
            "rows": _records(sc[cols])}


def _records(frame: pd.DataFrame) -> list[dict]:
    out = []
    for r in frame.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and not math.isfinite(v) else
                        (int(v) if isinstance(v, (np.integer,)) else float(v) if isinstance(v, np.floating) else v))
                    for k, v in r.items()})
    return out


def _number(params, key, lo, hi, default):
    raw = params.get(key)
    if raw is None:
        return default
    try:
        v = float(raw)
    except ValueError:
        raise BadRequest(f"{key}={raw!r} is not a number") from None
    if not (lo <= v <= hi) or not math.isfinite(v):
        raise BadRequest(f"{key}={raw} is outside [{lo:g}, {hi:g}]")
    return v


def _choice(params, key, allowed, default=None):
    raw = params.get(key, default)
    if raw is None:
        raise BadRequest(f"{key} is required; one of {', '.join(map(str, allowed))}")
    if raw not in allowed:
        raise BadRequest(f"{key}={raw!r} is not one of {', '.join(map(str, allowed))}")
    return raw


def create_app(*, store=None, households: int = 100_000, draws: int = 100, allow_write: bool = False):
    """The Starlette app. ``households``: size of the reform panel's synthetic population (about 2.6
    persons each); ``draws``: Monte Carlo draws of the index's rank intervals."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    from ..simulate import Reform, Simulation
    from ..synth import synthesize_population

    state: dict = {}
    results: dict = {}  # reform answers by parameters (sliders repeat values)
    lock = threading.Lock()  # one simulation at a time: the Simulation caches are not shared-write safe

    def simulation() -> Simulation:
        if "sim" not in state:
            state["sim"] = Simulation(synthesize_population(2024, persons=int(2.6 * households), seed=1), 2024)
            state["sim"].run(None)  # caches the baseline's sorted incomes, measures and METR
        return state["sim"]

    def handler(fn):
        async def wrapped(request: Request):
            try:  # in the thread pool: a reform being computed does not hold up the data endpoints
                return JSONResponse(await run_in_threadpool(fn, request.query_params))
            except BadRequest as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return wrapped

    def meta(q):
        f = _provinces()
        return {"years": sorted(int(y) for y in f["year"].unique()), "measures": list(MEASURES),
                "provinces": sorted(f["province_en"].unique().tolist()), "frameworks": list(FRAMEWORKS),
                "read_only": not allow_write}

    def provinces(q):
        f = _provinces()
        years = sorted(int(y) for y in f["year"].unique())
        y = int(_number(q, "year", years[0], years[-1], years[-1]))
        if y not in years:
            raise BadRequest(f"year={y} is not in the data ({years[0]}-{years[-1]})")
        m = _choice(q, "measure", list(MEASURES), "disp_income_pc_yuan")
        rows = f[f["year"] == y][["province_en", m]].rename(columns={"province_en": "province", m: "value"})
        return {"year": y, "measure": m, "unit": MEASURES[m], "rows": _records(rows)}

    def province(q):
        f = _provinces()
        name = _choice(q, "name", sorted(f["province_en"].unique().tolist()))
        rows = f[f["province_en"] == name][["year", *MEASURES]]
        return {"province": name, "rows": _records(rows)}

    def index(q):
        fw = _choice(q, "framework", list(FRAMEWORKS), "affluence_sharing")
        return _index(fw, draws)

    def reform(q):
        dibao = _number(q, "dibao", 0.5, 3.0, 1.0)
        pension = _number(q, "pension", 0.0, 2000.0, None)
        top = _number(q, "top_rate", 0.0, 0.9, None)
        key = (dibao, pension, top)
        with lock:
            cached = results.get(key)
            if cached is None:
                cached = _reform(dibao, pension, top)
                results[key] = cached
                while len(results) > 256:  # bounded: the oldest answers go first
                    results.pop(next(iter(results)))
        return cached

    def _reform(dibao, pension, top):
        t0 = time.perf_counter()
        sim = simulation()
        changes = {"dibao.standard.urban": {"2024-01-01": {"multiply": dibao}},
                   "dibao.standard.rural": {"2024-01-01": {"multiply": dibao}}}
        if pension is not None:
            changes["resident_pension.minimum"] = {"2024-01-01": pension}
        if top is not None:
            changes["iit.rates.brackets.6.rate"] = {"2024-01-01": top}
        res = sim.run(Reform.from_dict(changes, name="dashboard"), metr=False)
        s = res.summary.set_index("measure")
        return {"parameters": {"dibao": dibao, "pension": pension, "top_rate": top},
                "net_cost_bn_yuan": res.net_cost_bn, "gini_baseline": float(s.loc["gini", "baseline"]),
                "gini_reform": float(s.loc["gini", "reform"]),
                "deciles": _records(res.deciles[["decile", "change_pct", "change_pc_yuan"]]),
                "seconds": time.perf_counter() - t0}

    def runs(q):
        from . import store as st

        path = store or st.default_store()
        from pathlib import Path

        if not Path(path).exists():  # read-only: never create a store
            return {"runs": [], "store": str(path), "note": "no store yet: run prosperity monitor"}
        try:
            frame = st.list_runs(path)
        except Exception:  # noqa: BLE001 - no store yet, or unreadable: an empty list, said so
            return {"runs": [], "store": str(path), "note": "no readable store"}
        frame["started"] = frame["started"].astype(str)
        return {"runs": _records(frame), "store": str(path)}

    async def page(request: Request):
        return HTMLResponse(PAGE)

    async def plotly_js(request: Request):
        from plotly.offline import get_plotlyjs

        return Response(get_plotlyjs(), media_type="application/javascript",
                        headers={"Cache-Control": "max-age=86400"})

    async def not_found(request: Request, exc):
        return JSONResponse({"error": f"no such path: {request.url.path}"}, status_code=404)

    class BodyLimit:
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                size = dict(scope.get("headers") or []).get(b"content-length")
                if size is not None and (not size.isdigit() or int(size) > MAX_BODY):
                    await PlainTextResponse(f"request body above {MAX_BODY} bytes", status_code=413)(scope, receive, send)
                    return
                if scope["method"] not in ("GET", "HEAD"):
                    await JSONResponse({"error": "read-only dashboard: only GET"}, status_code=405)(scope, receive, send)
                    return
            await self.app(scope, receive, send)

    async def favicon(request: Request):
        return Response(status_code=204)

    routes = [Route("/", page), Route("/static/plotly.js", plotly_js), Route("/favicon.ico", favicon),
              Route("/api/meta", handler(meta)), Route("/api/provinces", handler(provinces)),
              Route("/api/province", handler(province)), Route("/api/index", handler(index)),
              Route("/api/reform", handler(reform)), Route("/api/runs", handler(runs))]
    app = Starlette(routes=routes, middleware=[Middleware(BodyLimit)], exception_handlers={404: not_found})
    app.state.simulation = simulation
    return app


def _page() -> str:
    return (resources.files("prosperity") / "report" / "dashboard.html").read_text(encoding="utf-8")


PAGE = _page()
