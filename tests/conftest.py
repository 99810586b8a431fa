"""Shared fixtures: bundled reference data and a runner for R peers (laeken, survey)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

import prosperity

DATA = Path(prosperity.__file__).parent / "data"

# Property tests fail on a counterexample, never on the machine's speed: a loaded CI runner (or two
# pytest workers next to a bootstrap) must not turn data generation time into a failure.
settings.register_profile("prosperity", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("prosperity")


@pytest.fixture(scope="session")
def eusilc() -> pd.DataFrame:
    """laeken's synthetic EU-SILC sample (14,827 persons, Austria 2006)."""
    return pd.read_csv(DATA / "laeken_eusilc_synthetic_austria2006.csv.gz")


@pytest.fixture(scope="session")
def ilocos() -> pd.DataFrame:
    """ineq's Ilocos FIES 1997 household sample (632 households)."""
    return pd.read_csv(DATA / "ineq_Ilocos_philippines_fies1997_1998.csv")


def r_available(*packages: str) -> bool:
    if shutil.which("Rscript") is None:
        return False
    test = " && ".join(f'requireNamespace("{p}", quietly = TRUE)' for p in packages) or "TRUE"
    return subprocess.run(["Rscript", "-e", f"quit(status = !({test}))"], capture_output=True).returncode == 0


def run_r(code: str, timeout: float = 120) -> object:
    """Run R code whose last action is ``cat(jsonlite-free JSON)``; returns the parsed JSON.

    The code must print exactly one JSON document on stdout (build it with ``sprintf``/``paste``,
    numbers with ``format(x, digits = 17)``), so no R JSON package is needed.
    """
    out = subprocess.run(["Rscript", "--vanilla", "-e", code], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"R failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)


@pytest.fixture(scope="session")
def r_laeken():
    if not r_available("laeken"):
        pytest.skip("Rscript with the laeken package is not installed (make test installs it via apt)")
    return run_r


@pytest.fixture(scope="session")
def r_survey():
    if not r_available("survey"):
        pytest.skip("Rscript with the survey package is not installed (make test installs it via apt)")
    return run_r


@pytest.fixture(scope="session")
def cli():
    """The package's registered ``prosperity`` app (sub-commands registered once per process)."""
    from prosperity.cli import _register, app

    if not app.registered_commands:
        _register()
    return app


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    """Bootstraps and kernels call np.dot on short vectors thousands of times; multi-threaded BLAS makes
    each call far slower on a busy 2-core machine (thread hand-off), so the suite runs with one BLAS
    thread (pytest-xdist already uses both cores)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield
