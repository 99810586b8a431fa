"""`prosperity measure` on a directory of Parquet files streams it out of core (DuckDB), and `--backend`
names the engine: the JSON equals the in-memory run's (same keys, values and SEs to 1e-12)."""

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

EUSILC = Path(__file__).resolve().parents[2] / "src" / "prosperity" / "data" / "laeken_eusilc_synthetic_austria2006.csv.gz"
ARGS = ["--income", "eqIncome", "--weight", "rb050", "--by", "db040", "--se", "--format", "json",
        "-m", "gini,arpr,qsr,theil,headcount", "--quiet"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    if not EUSILC.exists():
        pytest.skip("eusilc not bundled")
    d = pd.read_csv(EUSILC)
    tmp = tmp_path_factory.mktemp("measure_backend")
    (tmp / "dir").mkdir()
    d.iloc[:7000].to_parquet(tmp / "dir" / "a.parquet")
    d.iloc[7000:].to_parquet(tmp / "dir" / "b.parquet")
    d.to_parquet(tmp / "one.parquet")
    return tmp


def _run(cli, *args):
    r = CliRunner().invoke(cli, ["measure", *args, *ARGS])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def _same(a, b):
    assert len(a) == len(b) == 10 * 5  # whole sample + 9 provinces, 5 measures
    for x, y in zip(a, b):
        assert x.keys() == y.keys() and x["by"] == y["by"] and x["measure"] == y["measure"] and x["n"] == y["n"]
        for k in ("value", "se", "ci_low", "ci_high", "weight_sum", "line"):
            if x[k] is None:
                assert y[k] is None
            else:
                assert math.isclose(x[k], y[k], rel_tol=1e-12, abs_tol=1e-15), (x["measure"], x["by"], k)


def test_parquet_directory_and_backend_equal_memory(cli, files):
    memory = _run(cli, str(files / "one.parquet"))
    _same(memory, _run(cli, str(files / "dir")))                               # a directory: streamed
    _same(memory, _run(cli, str(files / "one.parquet"), "--backend", "duckdb"))  # a file, streamed on request


def test_backend_refusal_names_the_option(cli, files):
    r = CliRunner().invoke(cli, ["measure", str(files / "dir"), *ARGS, "--se-method", "bootstrap"])
    assert r.exit_code == 2 and "se_method='bootstrap'" in r.output and "backend='memory'" in r.output
