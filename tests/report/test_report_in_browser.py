"""The report in a real browser (Debian chromium through chromium-driver and Selenium): it opens
from disk with the network off, makes no network request, and every figure renders. Screenshots go
to test-artifacts/ (kept for review)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from prosperity.report import build_monitor

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _driver():
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    driver_path = shutil.which("chromedriver")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not driver_path or not browser:
        pytest.skip("Debian chromium/chromium-driver not installed (scripts/install-system-deps.sh installs them)")
    opts = Options()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900",
                "--proxy-server=http://127.0.0.1:9"):  # any request off this machine fails (loopback is not proxied)
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(service=Service(driver_path), options=opts)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return build_monitor(2024, out=tmp_path_factory.mktemp("monitor_browser"), persons=20_000, draws=20, store=False)


def test_report_renders_offline_without_network_requests(report):
    driver = _driver()
    try:
        driver.get(report.html_path.resolve().as_uri())
        driver.implicitly_wait(5)
        n_figures = driver.execute_script("return document.querySelectorAll('div.figure').length")
        rendered = driver.execute_script(
            "return Array.from(document.querySelectorAll('div.figure .js-plotly-plot'))"
            ".filter(d => d.querySelector('svg.main-svg') && d._fullLayout).length")
        assert n_figures >= 12 and rendered == n_figures
        requests = []
        for entry in driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                requests.append(msg["params"]["request"]["url"])
        external = [u for u in requests if not u.startswith(("file:", "data:", "blob:", "about:"))]
        assert requests and not external, external
        ARTIFACTS.mkdir(exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "report_top.png"))
        driver.execute_script("document.getElementById('regions').scrollIntoView()")
        driver.save_screenshot(str(ARTIFACTS / "report_regions.png"))
        driver.execute_script("document.getElementById('index').scrollIntoView()")
        driver.save_screenshot(str(ARTIFACTS / "report_index.png"))
        assert (ARTIFACTS / "report_regions.png").stat().st_size > 10_000
    finally:
        driver.quit()
