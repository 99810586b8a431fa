"""The store of runs (issue 10): a run, a second run with one changed input, `runs diff` naming what
changed; a run killed while writing leaves the store consistent."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from prosperity.report import store as st


def _inputs(hash_b="b" * 64):
    return pd.DataFrame({"file": ["survey.csv", "provinces.csv"], "bytes": [10, 20], "sha256": ["a" * 64, hash_b]})


def _tables(gini=0.465, rows=3):
    return {"headline": pd.DataFrame({"indicator": ["gini", "ratio", "income"][:rows], "value": [gini, 2.34, 41314.0][:rows]}),
            "flags": pd.DataFrame({"ok": [True, False]})}


def _record(path, **kw):
    args = dict(tables=_tables(), inputs=_inputs(), parameters={"year": 2024}, version="0.1.0",
                started=dt.datetime(2026, 12, 7, 5, 0), duration_s=1.5, year=2024, lang="en")
    args.update(kw)
    return st.record_run(path, **args)


def test_two_runs_and_their_diff(tmp_path):
    path = tmp_path / "s.duckdb"
    assert _record(path) == 1
    assert _record(path, tables=_tables(gini=0.47), inputs=_inputs(hash_b="c" * 64)) == 2
    runs = st.list_runs(path)
    assert runs["run_id"].tolist() == [1, 2] and runs["tables"].tolist() == [2, 2]
    back = st.result_table(path, 1, "headline")
    assert back["value"].astype(float).tolist() == [0.465, 2.34, 41314.0] and back["indicator"].tolist() == ["gini", "ratio", "income"]
    d = st.diff_runs(path, 1, 2)
    assert d["inputs_changed"] == [{"file": "provinces.csv", "sha256_a": "b" * 64, "sha256_b": "c" * 64}]
    assert d["code_changed"] is False and d["parameters_changed"] == {}
    assert d["cells_moved"] == 1
    m = d["moved"].iloc[0]
    assert (m["table_name"], m["row_number"], m["column_name"], m["value_a"], m["value_b"]) == ("headline", 0, "value", 0.465, 0.47)
    same = st.diff_runs(path, 1, 1)
    assert same["cells_moved"] == 0 and same["inputs_changed"] == []
    # a row present in one run only is reported too
    _record(path, tables=_tables(rows=2))
    assert st.diff_runs(path, 1, 3)["cells_moved"] == 2  # income: indicator and value
    with pytest.raises(ValueError, match=r"run 9 is not in the store \(runs: 1, 2, 3\)"):
        st.show_run(path, 9)


def test_cli_runs_diff_names_what_changed(tmp_path):
    from prosperity.cli import _register, app

    _register()
    path = tmp_path / "s.duckdb"
    _record(path)
    _record(path, tables=_tables(gini=0.47), inputs=_inputs(hash_b="c" * 64), parameters={"year": 2023})
    out = CliRunner().invoke(app, ["runs", "diff", "1", "2", "--store", str(path)])
    assert out.exit_code == 0, out.output
    assert "1 cell(s) moved" in out.stdout and "inputs changed: provinces.csv" in out.stdout
    assert "parameters changed: year 2024 -> 2023" in out.stdout and "code changed: no" in out.stdout
    listed = CliRunner().invoke(app, ["runs", "list", "--store", str(path), "--format", "json"])
    assert listed.exit_code == 0 and '"run_id":2' in listed.stdout.replace(" ", "")
    bad = CliRunner().invoke(app, ["runs", "show", "7", "--store", str(path)])
    assert bad.exit_code == 2 and "run 7 is not in the store" in bad.output


KILLED_WRITER = """
import datetime as dt, sys, time, pandas as pd
from prosperity.report import store as st
tables = {"big": pd.DataFrame({"x": range(50_000)})}
inputs = pd.DataFrame({"file": ["f.csv"], "bytes": [1], "sha256": ["d" * 64]})
def pause():
    print("inside", flush=True)
    time.sleep(60)
st.record_run(sys.argv[1], tables=tables, inputs=inputs, parameters={}, version="x", started=dt.datetime.now(),
              duration_s=0.0, year=2024, lang="en", _pause_inside=pause)
"""


def test_a_killed_run_leaves_the_store_consistent(tmp_path):
    path = tmp_path / "s.duckdb"
    _record(path)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "inside"  # the run's rows are written, not committed
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    time.sleep(0.2)
    runs = st.list_runs(path)
    assert runs["run_id"].tolist() == [1]
    con = st.connect(path)
    try:
        assert con.execute("SELECT count(*) FROM results WHERE run_id <> 1").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM datasets WHERE sha256 = ?", ["d" * 64]).fetchone()[0] == 0
    finally:
        con.close()
    assert _record(path) == 2  # the store keeps working
