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
    assert set(meta) == {"years", "measures", "provinces", "frameworks", "read_only"}
    p = client.get("/api/provinces?year=2024&measure=disp_income_pc_yuan").json()
    values = {r["province"]: r["value"] for r in p["rows"]}
    assert len(values) == 31 and values["Shanghai"] == 88366 and values["Gansu"] == 26612 and p["unit"] == "yuan"
    prof = client.get("/api/province?name=Zhejiang").json()
    assert [r["year"] for r in prof["rows"]] == list(range(2016, 2025))
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


@pytest.mark.parametrize("url, status, message", [
    ("/api/provinces?year=abc", 400, "year='abc' is not a number"),
    ("/api/provinces?year=1990", 400, "year=1990 is outside [2016, 2024]"),
    ("/api/provinces?measure=gdp;DROP TABLE runs", 400, "is not one of disp_income_pc_yuan"),
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
        Select(driver.find_element("id", "year")).select_by_visible_text("2020")
        wait.until(lambda d: "2020" in d.find_element("css selector", "#map .gtitle").text)
        shown = {r.find_elements("tag name", "td")[0].text: float(r.find_elements("tag name", "td")[1].get_attribute("data-value"))
                 for r in driver.find_elements("css selector", "#province-table tr")[1:]}
        api = {r["province"]: r["value"] for r in client.get("/api/provinces?year=2020").json()["rows"]}
        assert shown == api
        driver.execute_script("const s = document.getElementById('dibao'); s.value = '1.5'; s.dispatchEvent(new Event('input'));")
        wait.until(lambda d: d.execute_script("return document.body.dataset.reformLoaded") == "dibao=1.5&pension=123&top_rate=0.45")
        cost = float(driver.find_element("id", "cost").get_attribute("data-value"))
        expected = client.get("/api/reform?dibao=1.5&pension=123&top_rate=0.45").json()["net_cost_bn_yuan"]
        assert cost == pytest.approx(expected, rel=1e-12) and cost > 0
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "dashboard.png"))
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(timeout=10)
