"""``prosperity serve``: a local dashboard on the bundled data and the store of runs.

Stack: Starlette (a small, well-kept ASGI toolkit) served by uvicorn; the page is one HTML file using
the same plotly.js as the report, served from the installed plotly package (no CDN). Why: the
dashboard needs a handful of JSON endpoints and one page, not a framework with templates and an ORM;
Starlette gives routing, request parsing and a test client, uvicorn a production server. The province
map is the report's own figure (:func:`prosperity.report.sections.province_map`: polygons of the
bundled Natural Earth boundaries on plain axes), built on the server and sent as plotly JSON, so no
map tiles, topojson or fonts are fetched.

Region levels (``level``): ``province`` (31 provinces, NBS data), ``nbs_region`` (NBS's four economic
regions East/Central/West/Northeast; per-capita values are population-weighted means of the
provinces', x_R = sum_i P_i x_i / sum_i P_i with year-end resident population P_i from
:func:`prosperity.decompose.gaps.china_province_panel`; growth is the growth of x_R; the consumption
share is consumption_R / income_R), ``urban_rural`` (the NBS household survey's national urban and
rural tables; the bundled data have no provincial urban/rural split, so this level has no map).

JSON endpoints (a contract: add keys, never rename):
- ``GET /api/meta`` -> {"years": [..], "measures": [..], "provinces": [..], "frameworks": [..], "read_only": true,
  "levels": [..]}
- ``GET /api/provinces?year=Y&measure=M[&level=L]`` -> {"year", "measure", "unit", "level", "rows": [{"province",
  "value", "name", ...}]}: level ``province`` (default) rows keep ``province`` and add ``name`` (= province) and
  ``nbs_region``; other levels' rows have ``name`` and ``value`` (``nbs_region`` rows add ``population_10k`` and
  ``provinces``) and ``province`` = null.
- ``GET /api/map?year=Y&measure=M[&level=L]`` -> {"year", "measure", "unit", "level", "figure": plotly figure JSON}
- ``GET /api/lisa?year=Y&measure=M`` -> {"year", "measure", "unit", "permutations", "seed", "alpha", "moran_I",
  "moran_p_sim", "rows": [{"province", "value", "quadrant", "I", "p_sim", "cluster"}], "figure"}: the report's LISA
  cluster map of the 31 provinces (:func:`prosperity.report.sections.province_lisa`: queen contiguity,
  999 permutations, seed 12345, clusters at p_sim <= 0.05; Hainan, without a land neighbour, is ``island``);
  ``rows`` is empty and ``moran_I`` null when the year has fewer than 4 values (growth in the first year).
- ``GET /api/province?name=P`` -> {"province", "nbs_region", "rows": [{"year", MEASURE: value, ...}]}
- ``GET /api/index?framework=F`` -> {"framework", "year", "rows": [{"region", "score", "rank", "rank_q05", "rank_q95", "coverage"}]}
- ``GET /api/reform?dibao=X&pension=Y&top_rate=Z`` -> {"parameters", "net_cost_bn_yuan", "gini_baseline", "gini_reform",
  "deciles": [{"decile", "change_pct", "change_pc_yuan"}], "seconds"}: dibao = multiplier of the dibao standards
  (0.5-3), pension = residents' pension minimum in yuan a month (0-2000), top_rate = rate of the top IIT bracket (0-0.9).
  ``seconds`` is the time of the evaluation that produced the answer (answers are kept, see below).
- ``GET /api/runs`` -> {"runs": [...]} (the store, read-only).

Reform latency: the population and its baseline are built once (on start-up, in the background, and
shared by every request). A reform answer is kept by its parameters (an LRU of 256 answers, encoded
once) and served from the event loop without a thread hop; concurrent requests for the same new
reform share one evaluation (coalesced); new reforms run in a bounded pool of ``os.cpu_count()``
worker threads, so a slow new reform never holds up cached answers (no global lock: a small lock
guards only the dictionaries, never an evaluation). More than ``MAX_PENDING`` distinct reforms
waiting gives 503 with ``Retry-After: 1`` (back-pressure instead of an unbounded queue).

Security: binds 127.0.0.1 by default; read-only (no endpoint writes; ``--allow-write`` is accepted for
future write endpoints and shown in /api/meta); every query parameter is validated against a closed
list or a numeric range (HTTP 400 with a message, never a traceback or a 500); no request value
reaches a file path, SQL text or eval (the store is queried with fixed statements); request bodies
are refused above 4 KiB (413); unknown paths give 404.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from importlib import resources

import numpy as np
import pandas as pd

MEASURES = {"disp_income_pc_yuan": "yuan", "consumption_exp_pc_yuan": "yuan", "income_growth_pct": "%",
            "consumption_share_of_income": "fraction"}
LEVELS = ("province", "nbs_region", "urban_rural")
MAX_BODY = 4096
REFORM_CACHE = 256  # reform answers kept (LRU)
MAX_PENDING = 32  # distinct new reforms queued or running before 503
RESPONSE_MEMO = 1024  # encoded answers of the data endpoints kept (LRU)

from .sections import FRAMEWORKS  # noqa: E402  (the frameworks the report shows)

log = logging.getLogger("prosperity.dashboard")


class BadRequest(ValueError):
    pass


class Busy(RuntimeError):
    pass


def _derive(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Growth (%, nominal, on the previous year of the same unit) and the consumption share."""
    frame = frame.sort_values([by, "year"]).copy()
    frame["income_growth_pct"] = 100 * frame.groupby(by)["disp_income_pc_yuan"].pct_change()
    frame["consumption_share_of_income"] = frame["consumption_exp_pc_yuan"] / frame["disp_income_pc_yuan"]
    return frame


@lru_cache(maxsize=1)
def _provinces() -> pd.DataFrame:
    from ..datasets.china import provincial_income_consumption_2016_2024

    return _derive(provincial_income_consumption_2016_2024(), "province_en")


@lru_cache(maxsize=1)
def _nbs_regions() -> pd.DataFrame:
    """NBS regions by year: x_R = sum_i P_i x_i / sum_i P_i over the region's provinces i (P: year-end
    resident population, 10k), for income and consumption per head; growth and share from x_R."""
    from ..decompose.gaps import china_province_panel

    panel = china_province_panel()
    if panel["population"].isna().any() or panel["region"].isna().any():
        bad = panel[panel["population"].isna() | panel["region"].isna()][["province_en", "year"]]
        raise RuntimeError(f"province panel without population or region: {bad.to_dict(orient='records')}")
    panel = panel.assign(wi=panel["population"] * panel["mean"],
                         wc=panel["population"] * panel["consumption_exp_pc_yuan"])
    g = panel.groupby(["region", "year"], as_index=False).agg(
        population_10k=("population", "sum"), wi=("wi", "sum"), wc=("wc", "sum"), provinces=("province_en", "size"))
    g["disp_income_pc_yuan"] = g["wi"] / g["population_10k"]
    g["consumption_exp_pc_yuan"] = g["wc"] / g["population_10k"]
    order = {r: k for k, r in enumerate(("East", "Central", "West", "Northeast"))}
    out = _derive(g.drop(columns=["wi", "wc"]), "region")
    return out.sort_values(["year", "region"], key=lambda c: c.map(order) if c.name == "region" else c)


@lru_cache(maxsize=1)
def _urban_rural() -> pd.DataFrame:
    """National urban and rural residents by year (NBS household survey, 2015-2024; 2015 serves only
    as the base of 2016's growth)."""
    from ..datasets.china import nbs_household_survey

    s = nbs_household_survey(wide=True)
    s = s[s["area"].isin(["urban", "rural"])][["area", "year", "disp_income_pc_yuan", "consumption_exp_pc_yuan"]]
    out = _derive(s, "area")
    return out.sort_values(["year", "area"], ascending=[True, False])  # urban first


def _level_rows(level: str, year: int, measure: str) -> list[dict]:
    if level == "province":
        f = _provinces()
        cur = f[f["year"] == year]
        return [{"province": r.province_en, "value": _clean(getattr(r, measure)), "name": r.province_en,
                 "nbs_region": r.region} for r in cur.itertuples()]
    if level == "nbs_region":
        cur = _nbs_regions()
        cur = cur[cur["year"] == year]
        return [{"province": None, "value": _clean(getattr(r, measure)), "name": r.region,
                 "population_10k": _clean(r.population_10k), "provinces": int(r.provinces)} for r in cur.itertuples()]
    cur = _urban_rural()
    cur = cur[cur["year"] == year]
    return [{"province": None, "value": _clean(getattr(r, measure)), "name": r.area} for r in cur.itertuples()]


@lru_cache(maxsize=128)
def _map_json(level: str, year: int, measure: str) -> str:
    """The map panel's figure as plotly JSON: the report's province choropleth for ``province`` and
    ``nbs_region`` (each province coloured by its region's value), a bar chart for ``urban_rural``."""
    import plotly.graph_objects as go

    from .sections import province_geojson, province_map

    unit = MEASURES[measure]
    rows = _level_rows(level, year, measure)
    title = f"{measure} ({unit}), {year}, by {level.replace('_', ' ')}"
    if level == "urban_rural":
        fig = go.Figure(go.Bar(x=[r["name"] for r in rows], y=[r["value"] for r in rows],
                               marker_color=["#440154", "#21918c"]))
        fig.update_layout(title=title + " (national: no provincial urban/rural split in the bundled data)",
                          height=520)
        return fig.to_json()
    if level == "province":
        values = pd.Series({r["province"]: r["value"] for r in rows}, dtype=float)
        names = pd.Series(values.index, index=values.index)
    else:
        from ..decompose.gaps import CHINA_REGIONS

        by_region = {r["name"]: r["value"] for r in rows}
        values = pd.Series({p: by_region[g] for p, g in CHINA_REGIONS.items()}, dtype=float)
        names = pd.Series({p: f"{g} ({p})" for p, g in CHINA_REGIONS.items()})
    values = values.dropna()
    if values.empty:  # growth in the first year: no previous year
        fig = go.Figure()
        fig.add_annotation(text=f"no values of {measure} in {year} (growth needs the previous year)",
                           showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        fig.update_layout(title=title, height=520)
        return fig.to_json()
    return province_map(province_geojson(), values, names, title, unit).to_json()


@lru_cache(maxsize=64)
def _lisa(year: int, measure: str) -> bytes:
    """The LISA answer of ``/api/lisa`` (encoded once per year and measure)."""
    import plotly.graph_objects as go

    from .sections import (CLUSTER_COLOURS, LISA_ALPHA, LISA_PERMUTATIONS, LISA_SEED, province_category_map,
                           province_geojson, province_lisa)
    from .text import T

    f = _provinces()
    values = f[f["year"] == year].set_index("province_en")[measure].dropna()
    head = {"year": year, "measure": measure, "unit": MEASURES[measure], "permutations": LISA_PERMUTATIONS,
            "seed": LISA_SEED, "alpha": LISA_ALPHA}
    title = (f"LISA clusters of {measure}, {year}<br><sup>local Moran, {LISA_PERMUTATIONS} permutations, seed "
             f"{LISA_SEED}, p ≤ {LISA_ALPHA:g}")
    if len(values) < 4:
        fig = go.Figure()
        fig.add_annotation(text=f"no values of {measure} in {year} (growth needs the previous year)",
                           showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        fig.update_layout(title=title + "</sup>", height=520)
        return _encode({**head, "moran_I": None, "moran_p_sim": None, "rows": [], "figure": json.loads(fig.to_json())})
    local, glob, _ = province_lisa(values, measure, year)
    perm = glob[glob["inference"] == "permutation"].iloc[0]
    t = T("en")
    legend = {c: t(f"lisa_{c}", alpha=f"{LISA_ALPHA:g}") for c in CLUSTER_COLOURS}
    labels = local.set_index("region")["cluster"]
    fig = province_category_map(province_geojson(), labels, pd.Series(labels.index, index=labels.index),
                                f"{title}; global Moran's I {perm['I']:.3f} (p = {perm['p_value']:.3f})</sup>", legend)
    rows = [{"province": r.region, "value": _clean(r.value), "quadrant": r.quadrant, "I": _clean(r.I),
             "p_sim": _clean(r.p_sim), "cluster": r.cluster} for r in local.itertuples()]
    return _encode({**head, "moran_I": float(perm["I"]), "moran_p_sim": float(perm["p_value"]), "rows": rows,
                    "figure": json.loads(fig.to_json())})


@lru_cache(maxsize=4)
def _index(framework: str, draws: int) -> dict:
    from .sections import index_in_default_year

    res, sc = index_in_default_year(framework, draws)
    cols = ["region", "score", "rank", "coverage"] + (["rank_q05", "rank_q95"] if draws else [])
    return {"framework": framework, "name": res.framework.name, "year": int(res.default_year()),
            "rows": _records(sc[cols])}


def _clean(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not math.isfinite(v) else float(v)
    return v


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _clean(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


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


def _encode(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def default_workers(persons: int) -> int:
    """Reform evaluations at once: the cores, divided by the threads one evaluation already uses (the
    compiled kernel splits a population above its threshold over its own threads). Measured: with 2
    cores and 260,000 persons, two concurrent evaluations share the cores and both finish late, so a
    burst of new reforms clears sooner one at a time (first in, first out)."""
    cores = os.cpu_count() or 1
    try:
        from ..simulate import kernel

        inner = kernel.THREADS if persons >= kernel.PARALLEL_MIN_PERSONS else 1
    except (ImportError, AttributeError):
        inner = 1
    return max(1, cores // max(1, inner))


class ReformService:
    """Reform answers for the dashboard: the simulation built once, answers kept by parameters (LRU of
    ``cache_size`` encoded answers), identical in-flight requests coalesced onto one evaluation, new
    evaluations in a pool of ``workers`` threads. The lock guards the three dictionaries only.

    Thread safety of the shared :class:`~prosperity.simulate.Simulation`: after its baseline run,
    ``run(reform, metr=False)`` only reads the population, the fixed baseline arrays and the baseline
    caches (which the warm-up fills; any later lazy fill is write-once and idempotent)."""

    def __init__(self, households: int, *, workers: int | None = None, cache_size: int = REFORM_CACHE,
                 max_pending: int = MAX_PENDING):
        self.households = int(households)
        self.workers = max(1, workers or default_workers(int(2.6 * self.households)))
        self.cache_size, self.max_pending = cache_size, max_pending
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="prosperity-reform")
        self._lock = threading.Lock()
        self._answers: OrderedDict = OrderedDict()
        self._inflight: dict = {}
        self._sim: Future | None = None
        self.evaluations = 0  # reforms evaluated (not served from the cache), for tests and benchmarks

    # the simulation: one build, shared; requests during the build wait on the same future
    def _build(self):
        from ..simulate import Simulation
        from ..synth import synthesize_population

        sim = Simulation(synthesize_population(2024, persons=int(2.6 * self.households), seed=1), 2024)
        sim.run(None)  # fills the baseline caches (sorted incomes, measures, METR) once
        return sim

    def start(self) -> Future:
        with self._lock:
            if self._sim is None:
                self._sim = self._pool.submit(self._build)
            return self._sim

    def simulation(self):
        return self.start().result()

    def cached(self, key) -> bytes | None:
        with self._lock:
            hit = self._answers.get(key)
            if hit is not None:
                self._answers.move_to_end(key)
            return hit

    def submit(self, key) -> Future:
        """The future of ``key``'s encoded answer: a running evaluation's when there is one."""
        with self._lock:
            hit = self._answers.get(key)
            if hit is not None:
                f: Future = Future()
                f.set_result(hit)
                return f
            f = self._inflight.get(key)
            if f is None:
                if len(self._inflight) >= self.max_pending:
                    raise Busy(f"{len(self._inflight)} new reforms are being evaluated; retry in a second")
                f = self._pool.submit(self._evaluate, key)
                self._inflight[key] = f
            return f

    async def answer(self, key) -> bytes:
        hit = self.cached(key)
        if hit is not None:
            return hit
        return await asyncio.wrap_future(self.submit(key))

    def _evaluate(self, key) -> bytes:
        try:
            body = _encode(self.compute(*key))
            with self._lock:
                self._answers[key] = body
                self._answers.move_to_end(key)
                while len(self._answers) > self.cache_size:
                    self._answers.popitem(last=False)
                self.evaluations += 1
            return body
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    def compute(self, dibao, pension, top) -> dict:
        from ..simulate import Reform

        sim = self.simulation()
        t0 = time.perf_counter()
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

    def close(self):
        self._pool.shutdown(wait=False, cancel_futures=True)


def create_app(*, store=None, households: int = 100_000, draws: int = 100, allow_write: bool = False,
               workers: int | None = None, warm: bool = True):
    """The Starlette app. ``households``: size of the reform panel's synthetic population (about 2.6
    persons each); ``draws``: Monte Carlo draws of the index's rank intervals; ``workers``: threads
    evaluating new reforms (default: the number of cores); ``warm``: build the population and its
    baseline when the server starts (in the background) rather than on the first reform request."""
    from contextlib import asynccontextmanager

    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
    from starlette.routing import Route

    reforms = ReformService(households, workers=workers)
    memo: OrderedDict = OrderedDict()  # (path, query) -> encoded answer of the pure data endpoints
    memo_lock = threading.Lock()

    def json_bytes(body: bytes, status: int = 200, headers=None) -> Response:
        return Response(body, status_code=status, media_type="application/json", headers=headers)

    def handler(fn, *, pure: bool = True):
        async def wrapped(request: Request):
            key = (request.url.path, tuple(sorted(request.query_params.multi_items())))
            if pure:
                with memo_lock:
                    hit = memo.get(key)
                    if hit is not None:
                        memo.move_to_end(key)
                        return json_bytes(hit)
            try:  # in the thread pool: a first computation does not hold up the event loop
                body = await run_in_threadpool(lambda: fn(request.query_params))
            except BadRequest as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            except Exception:  # noqa: BLE001 - logged; the client gets no traceback
                log.exception("dashboard: %s failed", request.url.path)
                return JSONResponse({"error": "internal error (logged by the server)"}, status_code=500)
            body = body if isinstance(body, bytes) else _encode(body)
            if pure:
                with memo_lock:
                    memo[key] = body
                    while len(memo) > RESPONSE_MEMO:
                        memo.popitem(last=False)
            return json_bytes(body)
        return wrapped

    def years() -> list[int]:
        return sorted(int(y) for y in _provinces()["year"].unique())

    def meta(q):
        f = _provinces()
        return {"years": years(), "measures": list(MEASURES),
                "provinces": sorted(f["province_en"].unique().tolist()), "frameworks": list(FRAMEWORKS),
                "read_only": not allow_write, "levels": list(LEVELS)}

    def year_measure_level(q):
        ys = years()
        y = int(_number(q, "year", ys[0], ys[-1], ys[-1]))
        if y not in ys:
            raise BadRequest(f"year={y} is not in the data ({ys[0]}-{ys[-1]})")
        m = _choice(q, "measure", list(MEASURES), "disp_income_pc_yuan")
        level = _choice(q, "level", list(LEVELS), "province")
        return y, m, level

    def provinces(q):
        y, m, level = year_measure_level(q)
        return {"year": y, "measure": m, "unit": MEASURES[m], "level": level, "rows": _level_rows(level, y, m)}

    def map_figure(q):
        y, m, level = year_measure_level(q)
        head = _encode({"year": y, "measure": m, "unit": MEASURES[m], "level": level})[:-1]
        return head + b',"figure":' + _map_json(level, y, m).encode("utf-8") + b"}"

    def lisa(q):
        y, m, _ = year_measure_level(q)
        return _lisa(y, m)

    def province(q):
        f = _provinces()
        name = _choice(q, "name", sorted(f["province_en"].unique().tolist()))
        sub = f[f["province_en"] == name]
        return {"province": name, "nbs_region": str(sub["region"].iloc[0]), "rows": _records(sub[["year", *MEASURES]])}

    def index(q):
        fw = _choice(q, "framework", list(FRAMEWORKS), "affluence_sharing")
        return _index(fw, draws)

    async def reform(request: Request):
        q = request.query_params
        try:
            key = (_number(q, "dibao", 0.5, 3.0, 1.0), _number(q, "pension", 0.0, 2000.0, None),
                   _number(q, "top_rate", 0.0, 0.9, None))
            return json_bytes(await reforms.answer(key))
        except BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        except Busy as exc:
            return JSONResponse({"error": str(exc)}, status_code=503, headers={"Retry-After": "1"})
        except Exception:  # noqa: BLE001
            log.exception("dashboard: reform %s failed", dict(q))
            return JSONResponse({"error": "internal error (logged by the server)"}, status_code=500)

    def runs(q):
        from pathlib import Path

        from . import store as st

        path = store or st.default_store()
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
        return Response(_plotly_js(), media_type="application/javascript", headers={"Cache-Control": "max-age=86400"})

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

    @asynccontextmanager
    async def lifespan(app):
        if warm:
            reforms.start()  # population and baseline in the background; the data endpoints answer meanwhile
        try:
            yield
        finally:
            reforms.close()

    routes = [Route("/", page), Route("/static/plotly.js", plotly_js), Route("/favicon.ico", favicon),
              Route("/api/meta", handler(meta)), Route("/api/provinces", handler(provinces)),
              Route("/api/map", handler(map_figure)), Route("/api/lisa", handler(lisa)),
              Route("/api/province", handler(province)), Route("/api/index", handler(index)),
              Route("/api/reform", reform), Route("/api/runs", handler(runs, pure=False))]
    app = Starlette(routes=routes, middleware=[Middleware(BodyLimit)], exception_handlers={404: not_found},
                    lifespan=lifespan)
    app.state.simulation = reforms.simulation
    app.state.reforms = reforms
    return app


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _page() -> str:
    return (resources.files("prosperity") / "report" / "dashboard.html").read_text(encoding="utf-8")


PAGE = _page()
