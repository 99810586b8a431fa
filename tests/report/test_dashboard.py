"""The dashboard (issue 10): JSON endpoints as a contract, validated parameters (4xx, never 500),
read-only, size-limited bodies; in Debian chromium, a changed control shows the endpoint's numbers."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from prosperity.report.dashboard import create_app  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    return create_app(store=tmp_path_factory.mktemp("dash") / "store.duckdb", households=20_000, draws=20)


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app, raise_server_exceptions=False)


def test_endpoints_contract(client):
    meta = client.get("/api/meta").json()
    assert meta["years"][0] == 2016 and meta["years"][-1] == 2024 and meta["read_only"] is True
    assert set(meta) == {"years", "measures", "provinces", "frameworks", "read_only", "levels"}
    assert meta["levels"] == ["province", "nbs_region", "urban_rural"]
    p = client.get("/api/provinces?year=2024&measure=disp_income_pc_yuan").json()
    values = {r["province"]: r["value"] for r in p["rows"]}
    assert len(values) == 31 and values["Shanghai"] == 88366 and values["Gansu"] == 26612 and p["unit"] == "yuan"
    assert p["level"] == "province" and p["rows"][0] == {"province": "Anhui", "value": 36782, "name": "Anhui",
                                                         "nbs_region": "Central"}
    assert client.get("/api/provinces?year=2024&measure=disp_income_pc_yuan&level=province").json() == p
    prof = client.get("/api/province?name=Zhejiang").json()
    assert [r["year"] for r in prof["rows"]] == list(range(2016, 2025)) and prof["nbs_region"] == "East"
    z = {r["year"]: r for r in prof["rows"]}
    assert z[2024]["disp_income_pc_yuan"] == 67013 and z[2016]["income_growth_pct"] is None
    assert z[2024]["income_growth_pct"] == pytest.approx(100 * (67013 / 63830 - 1), rel=1e-12)
    idx = client.get("/api/index?framework=affluence_sharing").json()
    assert idx["year"] == 2018 and len(idx["rows"]) == 31 and idx["rows"][0]["rank"] == 1
    assert all(r["rank_q05"] <= r["rank"] <= r["rank_q95"] for r in idx["rows"])
    base = client.get("/api/reform").json()
    assert abs(base["net_cost_bn_yuan"]) < 1e-9 and base["gini_reform"] == pytest.approx(base["gini_baseline"])
    up = client.get("/api/reform?dibao=1.2").json()
    assert up["net_cost_bn_yuan"] > 0 and up["gini_reform"] < up["gini_baseline"]
    assert [d["decile"] for d in up["deciles"]] == list(range(1, 11)) and up["deciles"][0]["change_pct"] > 0
    assert up["seconds"] < 5
    assert client.get("/api/runs").json()["runs"] == []


def _rows(client, url):
    r = client.get(url)
    assert r.status_code == 200, r.text
    return {row["name"]: row for row in r.json()["rows"]}


def test_level_nbs_region_is_the_population_weighted_mean(client):
    """x_R = sum_i P_i x_i / sum_i P_i: NBS incomes and year-end population (10k) from the bundled CSVs."""
    rows = _rows(client, "/api/provinces?year=2024&measure=disp_income_pc_yuan&level=nbs_region")
    assert list(rows) == ["East", "Central", "West", "Northeast"]
    ne = rows["Northeast"]
    pop = {"Liaoning": 4155, "Jilin": 2317, "Heilongjiang": 3029}  # china_prov_population_2024_nbs.csv
    inc = {"Liaoning": 39844, "Jilin": 31318, "Heilongjiang": 31269}
    assert ne["value"] == pytest.approx(sum(pop[k] * inc[k] for k in pop) / sum(pop.values()), rel=1e-13)
    assert ne["value"] == pytest.approx(35030.989053783815, rel=1e-13)
    assert ne["population_10k"] == 9501 and ne["provinces"] == 3 and ne["province"] is None
    assert [rows[k]["provinces"] for k in rows] == [10, 6, 12, 3]
    assert sum(rows[k]["population_10k"] for k in rows) == 140628  # the 31 provinces' 2024 total (SOURCES.md)
    # 2020: census population (persons / 1e4) as weights
    ne20 = _rows(client, "/api/provinces?year=2020&level=nbs_region")["Northeast"]
    pop20 = {"Liaoning": 42591407, "Jilin": 24073453, "Heilongjiang": 31850088}
    inc20 = {"Liaoning": 32738, "Jilin": 25751, "Heilongjiang": 24902}
    assert ne20["value"] == pytest.approx(sum(pop20[k] * inc20[k] for k in pop20) / sum(pop20.values()), rel=1e-13)
    share = _rows(client, "/api/provinces?year=2024&measure=consumption_share_of_income&level=nbs_region")
    cons = {"Liaoning": 25963, "Jilin": 23118, "Heilongjiang": 23467}
    assert share["Northeast"]["value"] == pytest.approx(
        sum(pop[k] * cons[k] for k in pop) / sum(pop[k] * inc[k] for k in pop), rel=1e-13)
    growth = _rows(client, "/api/provinces?year=2024&measure=income_growth_pct&level=nbs_region")
    prev = _rows(client, "/api/provinces?year=2023&level=nbs_region")
    assert growth["East"]["value"] == pytest.approx(100 * (rows["East"]["value"] / prev["East"]["value"] - 1), rel=1e-12)
    assert _rows(client, "/api/provinces?year=2016&measure=income_growth_pct&level=nbs_region")["West"]["value"] is None


def test_level_urban_rural_is_the_nbs_survey(client):
    rows = _rows(client, "/api/provinces?year=2024&measure=disp_income_pc_yuan&level=urban_rural")
    assert list(rows) == ["urban", "rural"] and rows["urban"]["value"] == 54188 and rows["rural"]["value"] == 23119
    g = _rows(client, "/api/provinces?year=2016&measure=income_growth_pct&level=urban_rural")
    assert g["rural"]["value"] == pytest.approx(100 * (12363 / 11422 - 1), rel=1e-12)  # 2015 is the base
    c = _rows(client, "/api/provinces?year=2024&measure=consumption_share_of_income&level=urban_rural")
    assert c["rural"]["value"] == pytest.approx(19280 / 23119, rel=1e-13)


def test_map_endpoint_is_the_report_choropleth(client):
    r = client.get("/api/map?year=2024&measure=disp_income_pc_yuan").json()
    assert (r["year"], r["measure"], r["unit"], r["level"]) == (2024, "disp_income_pc_yuan", "yuan", "province")
    polys = [t for t in r["figure"]["data"] if t.get("fill") == "toself"]
    assert {t["legendgroup"] for t in polys} == set(client.get("/api/meta").json()["provinces"])
    sh = next(t for t in polys if t["legendgroup"] == "Shanghai")
    assert sh["text"] == "Shanghai: 88,366.0 yuan"
    colour = next(t for t in r["figure"]["data"] if t.get("marker", {}).get("showscale"))["marker"]
    assert (colour["cmin"], colour["cmax"]) == (26612, 88366)  # Gansu, Shanghai
    reg = client.get("/api/map?year=2024&level=nbs_region").json()["figure"]["data"]
    jilin = next(t for t in reg if t.get("legendgroup") == "Jilin")
    assert jilin["text"] == "Northeast (Jilin): 35,031.0 yuan"
    ur = client.get("/api/map?year=2024&level=urban_rural").json()["figure"]["data"]
    assert ur[0]["type"] == "bar" and list(ur[0]["x"]) == ["urban", "rural"]
    first = client.get("/api/map?year=2016&measure=income_growth_pct").json()["figure"]
    assert "growth needs the previous year" in first["layout"]["annotations"][0]["text"]


def test_reform_answers_are_kept_and_coalesced(app, client):
    import asyncio

    svc = app.state.reforms
    before = svc.evaluations
    key = (1.7, 250.0, None)

    async def many():
        return await asyncio.gather(*(svc.answer(key) for _ in range(8)))

    answers = asyncio.run(many())
    assert len(set(answers)) == 1 and svc.evaluations == before + 1  # eight requests, one evaluation
    again = client.get("/api/reform?dibao=1.7&pension=250").json()
    assert svc.evaluations == before + 1 and again["parameters"] == {"dibao": 1.7, "pension": 250.0, "top_rate": None}
    direct = svc.compute(1.7, 250.0, None)
    assert again["net_cost_bn_yuan"] == direct["net_cost_bn_yuan"] and again["deciles"] == direct["deciles"]


def test_reform_cache_is_bounded_and_back_pressure_is_503():
    from prosperity.report.dashboard import Busy, ReformService

    svc = ReformService(1000, workers=1, cache_size=2, max_pending=1)
    svc.compute = lambda d, p, t: {"d": d}  # the cache policy only, no simulation
    for k in range(4):
        svc.submit((float(k), None, None)).result()
    assert list(svc._answers) == [(2.0, None, None), (3.0, None, None)] and svc.evaluations == 4
    import threading
    gate = threading.Event()
    svc.compute = lambda d, p, t: gate.wait(10) and {"d": d}
    svc.submit((9.0, None, None))
    with pytest.raises(Busy, match="1 new reforms are being evaluated"):
        svc.submit((8.0, None, None))
    gate.set()
    svc.close()


@pytest.mark.parametrize("url, status, message", [
    ("/api/provinces?year=abc", 400, "year='abc' is not a number"),
    ("/api/provinces?year=1990", 400, "year=1990 is outside [2016, 2024]"),
    ("/api/provinces?measure=gdp;DROP TABLE runs", 400, "is not one of disp_income_pc_yuan"),
    ("/api/provinces?level=county", 400, "level='county' is not one of province, nbs_region, urban_rural"),
    ("/api/provinces?level=", 400, "level='' is not one of province, nbs_region, urban_rural"),
    ("/api/provinces?level=NBS_REGION", 400, "level='NBS_REGION' is not one of province, nbs_region, urban_rural"),
    ("/api/map?level=../../etc", 400, "level='../../etc' is not one of province, nbs_region, urban_rural"),
    ("/api/map?year=2030", 400, "year=2030 is outside [2016, 2024]"),
    ("/api/map?measure=x", 400, "measure='x' is not one of disp_income_pc_yuan"),
    ("/api/province?name=../../etc/passwd", 400, "name='../../etc/passwd' is not one of Anhui"),
    ("/api/province", 400, "name is required"),
    ("/api/index?framework=__import__('os')", 400, "is not one of affluence_sharing"),
    ("/api/reform?dibao=99", 400, "dibao=99 is outside [0.5, 3]"),
    ("/api/reform?top_rate=nan", 400, "top_rate=nan is outside [0, 0.9]"),
    ("/api/reform?pension=-1", 400, "pension=-1 is outside [0, 2000]"),
    ("/nope", 404, "no such path: /nope"),
])
def test_bad_requests_get_clear_4xx(client, url, status, message):
    r = client.get(url)
    assert r.status_code == status and message in r.json()["error"]


def test_read_only_and_body_limit(client):
    assert client.post("/api/reform", content=b"{}").status_code == 405
    assert client.post("/api/reform", content=b"x" * 10_000).status_code == 413


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dashboard_in_chromium_shows_the_endpoint_numbers(app, client):
    from test_report_in_browser import _driver

    uvicorn = pytest.importorskip("uvicorn")
    if not shutil.which("chromedriver"):
        pytest.skip("chromium-driver not installed")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    driver = _driver()
    try:
        from selenium.webdriver.support.ui import Select, WebDriverWait

        driver.get(f"http://127.0.0.1:{port}/")
        wait = WebDriverWait(driver, 60)
        wait.until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")
        def table():
            return {r.find_elements("tag name", "td")[0].text: float(r.find_elements("tag name", "td")[1].get_attribute("data-value"))
                    for r in driver.find_elements("css selector", "#province-table tr")[1:]}

        # the map: the report's choropleth, one filled polygon trace (or more) per province, drawn
        traces = driver.execute_script(
            "const m = document.getElementById('map'); return [m.data.filter(t => t.fill === 'toself').map(t => t.legendgroup),"
            " m.querySelectorAll('g.trace.scatter').length, !!m._fullLayout]")
        assert set(traces[0]) == set(client.get("/api/meta").json()["provinces"]) and len(set(traces[0])) == 31
        assert traces[1] >= 31 and traces[2] is True
        Select(driver.find_element("id", "year")).select_by_visible_text("2020")
        wait.until(lambda d: d.execute_script("return document.body.dataset.mapLoaded")
                   == "year=2020&measure=disp_income_pc_yuan&level=province")
        assert "2020" in driver.find_element("css selector", "#map .gtitle").text
        api = {r["province"]: r["value"] for r in client.get("/api/provinces?year=2020").json()["rows"]}
        assert table() == api
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "dashboard_map_province.png"))
        for level, n in (("nbs_region", 4), ("urban_rural", 2)):
            Select(driver.find_element("id", "level")).select_by_visible_text(level)
            wait.until(lambda d: d.execute_script("return document.body.dataset.mapLoaded")
                       == f"year=2020&measure=disp_income_pc_yuan&level={level}")
            api = {r["name"]: r["value"] for r in client.get(f"/api/provinces?year=2020&level={level}").json()["rows"]}
            shown = table()
            assert shown == api and len(shown) == n
            assert driver.find_element("id", "province-table").get_attribute("data-level") == level
            driver.save_screenshot(str(ARTIFACTS / f"dashboard_map_{level}.png"))
        # the LISA view (issue 14): each province in its cluster's colour, as /api/lisa says
        from prosperity.report.sections import CLUSTER_COLOURS

        Select(driver.find_element("id", "level")).select_by_visible_text("province")
        driver.find_element("id", "lisa").click()
        wait.until(lambda d: d.execute_script("return document.body.dataset.mapLoaded")
                   == "year=2020&measure=disp_income_pc_yuan&level=province&lisa=1")
        fills = driver.execute_script("return document.getElementById('map').data.filter(t => t.fill === 'toself')"
                                      ".map(t => [t.legendgroup, t.fillcolor])")
        clusters = {r["province"]: r["cluster"] for r in client.get("/api/lisa?year=2020").json()["rows"]}
        assert {g for g, _ in fills} == set(clusters) and len(clusters) == 31
        assert all(colour == CLUSTER_COLOURS[clusters[g]] for g, colour in fills)
        assert "LISA clusters" in driver.find_element("css selector", "#map .gtitle").text
        driver.save_screenshot(str(ARTIFACTS / "dashboard_map_lisa.png"))
        driver.find_element("id", "lisa").click()
        wait.until(lambda d: d.execute_script("return document.body.dataset.mapLoaded")
                   == "year=2020&measure=disp_income_pc_yuan&level=province")
        Select(driver.find_element("id", "province")).select_by_visible_text("Gansu")
        wait.until(lambda d: d.execute_script("return document.body.dataset.profileLoaded") == "Gansu")
        profile = driver.execute_script("return document.getElementById('profile').data[0].y")
        assert list(profile) == [r["disp_income_pc_yuan"] for r in client.get("/api/province?name=Gansu").json()["rows"]]
        ranks = driver.execute_script("const t = document.getElementById('index').data[0]; return [t.y.length, t.error_x.array.length]")
        assert ranks == [31, 31]
        driver.execute_script("const s = document.getElementById('dibao'); s.value = '1.5'; s.dispatchEvent(new Event('input'));")
        wait.until(lambda d: d.execute_script("return document.body.dataset.reformLoaded") == "dibao=1.5&pension=123&top_rate=0.45")
        cost = float(driver.find_element("id", "cost").get_attribute("data-value"))
        expected = client.get("/api/reform?dibao=1.5&pension=123&top_rate=0.45").json()["net_cost_bn_yuan"]
        assert cost == pytest.approx(expected, rel=1e-12) and cost > 0
        driver.save_screenshot(str(ARTIFACTS / "dashboard.png"))
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(timeout=10)


def test_lisa_endpoint_gives_the_report_s_clusters(client):
    """/api/lisa (issue 14): the report's LISA of the same values (the regions section's province_lisa),
    its map of the 31 provinces, and no statistics where the year has no values."""
    from prosperity.datasets.china import provincial_income_consumption_2016_2024
    from prosperity.report import sections as S

    d = client.get("/api/lisa?year=2024&measure=disp_income_pc_yuan").json()
    assert (d["permutations"], d["seed"], d["alpha"]) == (999, 12345, 0.05)
    p = provincial_income_consumption_2016_2024()
    local, glob, _ = S.province_lisa(p[p["year"] == 2024].set_index("province_en")["disp_income_pc_yuan"],
                                     "disp_income_pc_yuan", 2024)
    assert {r["province"]: r["cluster"] for r in d["rows"]} == dict(zip(local["region"], local["cluster"]))
    assert d["moran_I"] == pytest.approx(0.432766, abs=5e-7)
    assert d["moran_p_sim"] == glob.loc[glob["inference"] == "permutation", "p_value"].item()
    groups = {tr.get("legendgroup") for tr in d["figure"]["data"] if tr.get("fill") == "toself"}
    assert len(groups) == 31
    empty = client.get("/api/lisa?year=2016&measure=income_growth_pct").json()
    assert empty["rows"] == [] and empty["moran_I"] is None
    assert client.get("/api/lisa?year=2024&measure=gdp").status_code == 400
