"""The embedded store of monitoring runs: one DuckDB file holding every data set a run read (with its
SHA-256), every run (inputs' hashes, parameters, package version, code hash, start time, duration)
and its result tables, so runs are reproducible and comparable.

Default location: ``$PROSPERITY_STORE`` if set, else ``~/.local/share/prosperity/store.duckdb``
(``--store FILE`` to choose). A run is written in one transaction: a run that fails or is killed
while writing leaves no trace (DuckDB's write-ahead log rolls the open transaction back).

Tables:
- ``datasets(sha256, name, bytes, first_seen)``;
- ``runs(run_id, started, duration_s, version, code_sha256, year, lang, parameters, inputs)``
  (``parameters`` and ``inputs`` as JSON; ``inputs`` maps file name to SHA-256);
- ``results(run_id, table_name, row_number, column_name, value_double, value_text)``: every cell of
  every result table, numbers as doubles and everything else as text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
from importlib import resources
from pathlib import Path

import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (sha256 VARCHAR PRIMARY KEY, name VARCHAR, bytes BIGINT, first_seen TIMESTAMP);
CREATE TABLE IF NOT EXISTS runs (run_id INTEGER PRIMARY KEY, started TIMESTAMP, duration_s DOUBLE, version VARCHAR,
    code_sha256 VARCHAR, year INTEGER, lang VARCHAR, parameters VARCHAR, inputs VARCHAR);
CREATE TABLE IF NOT EXISTS results (run_id INTEGER, table_name VARCHAR, row_number INTEGER, column_name VARCHAR,
    value_double DOUBLE, value_text VARCHAR);
"""


def default_store() -> Path:
    env = os.environ.get("PROSPERITY_STORE")
    return Path(env) if env else Path.home() / ".local" / "share" / "prosperity" / "store.duckdb"


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in blocks (the data files' fingerprints in reports and runs)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def code_sha256() -> str:
    """SHA-256 over the package's Python sources (path and content, sorted): says whether the code changed."""
    root = Path(str(resources.files("prosperity")))
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def connect(path: str | Path):
    import duckdb

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute(SCHEMA)
    return con


def _cells(run_id: int, tables: dict) -> pd.DataFrame:
    parts = []
    for name, frame in tables.items():
        f = frame.reset_index(drop=True)
        for col in f.columns:
            s = f[col]
            num = pd.to_numeric(s, errors="coerce") if s.dtype != bool else s.astype(float)
            is_num = pd.api.types.is_numeric_dtype(s) or s.dtype == bool
            parts.append(pd.DataFrame({
                "run_id": run_id, "table_name": name, "row_number": range(len(f)), "column_name": str(col),
                "value_double": num.astype(float) if is_num else None,
                "value_text": None if is_num else s.astype(str).where(s.notna(), None)}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def record_run(path, *, tables: dict, inputs: pd.DataFrame, parameters: dict, version: str, started: dt.datetime,
               duration_s: float, year: int, lang: str, _pause_inside=None) -> int:
    """Write one run (its data sets, metadata and every result cell) in a single transaction; returns
    its id. ``inputs``: file, bytes, sha256 per data set read."""
    con = connect(path)
    try:
        con.execute("BEGIN TRANSACTION")
        run_id = int(con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchone()[0])
        for r in inputs.itertuples():
            con.execute("INSERT INTO datasets SELECT ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM datasets WHERE sha256 = ?)",
                        [r.sha256, r.file, int(r.bytes), started, r.sha256])
        con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, started, duration_s, version, code_sha256(), year, lang, json.dumps(parameters),
                     json.dumps(dict(zip(inputs["file"], inputs["sha256"])))])
        cells = _cells(run_id, tables)
        con.register("cells", cells)
        con.execute("INSERT INTO results SELECT run_id, table_name, row_number, column_name, value_double, value_text FROM cells")
        con.unregister("cells")
        if _pause_inside is not None:  # tests: a run killed while writing
            _pause_inside()
        con.execute("COMMIT")
        return run_id
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except Exception:  # noqa: BLE001 - the connection may be gone
            pass
        raise
    finally:
        con.close()


def list_runs(path) -> pd.DataFrame:
    con = connect(path)
    try:
        return con.execute("SELECT r.run_id, r.started, r.duration_s, r.version, r.year, r.lang, "
                           "(SELECT count(DISTINCT table_name) FROM results x WHERE x.run_id = r.run_id) AS tables "
                           "FROM runs r ORDER BY r.run_id").df()
    finally:
        con.close()


def _run_row(con, run_id: int) -> dict:
    row = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]).df()
    if row.empty:
        known = [int(r[0]) for r in con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()]
        raise ValueError(f"run {run_id} is not in the store (runs: {', '.join(map(str, known)) or 'none'}); "
                         "see `prosperity runs list`")
    return row.iloc[0].to_dict()


def show_run(path, run_id: int) -> dict:
    con = connect(path)
    try:
        run = _run_row(con, run_id)
        tables = con.execute("SELECT table_name, max(row_number) + 1 AS rows, count(DISTINCT column_name) AS columns "
                             "FROM results WHERE run_id = ? GROUP BY table_name ORDER BY table_name", [run_id]).df()
        run["parameters"] = json.loads(run["parameters"])
        run["inputs"] = json.loads(run["inputs"])
        run["tables"] = tables.to_dict(orient="records")
        return run
    finally:
        con.close()


def result_table(path, run_id: int, name: str) -> pd.DataFrame:
    """A stored result table, rebuilt (numbers as floats, other cells as text)."""
    con = connect(path)
    try:
        _run_row(con, run_id)
        cells = con.execute("SELECT row_number, column_name, value_double, value_text FROM results "
                            "WHERE run_id = ? AND table_name = ?", [run_id, name]).df()
    finally:
        con.close()
    if cells.empty:
        raise ValueError(f"run {run_id} has no table {name!r}")
    cells["value"] = cells["value_double"].where(cells["value_text"].isna(), cells["value_text"])
    return cells.pivot(index="row_number", columns="column_name", values="value").reset_index(drop=True)


def diff_runs(path, a: int, b: int, rel_tol: float = 1e-9) -> dict:
    """What moved between runs ``a`` and ``b``: changed inputs (by hash), whether the code or the version
    changed, parameters that differ, and every numeric cell that moved by more than ``rel_tol``
    (relative) plus cells present in one run only."""
    con = connect(path)
    try:
        ra, rb = _run_row(con, a), _run_row(con, b)
        moved = con.execute("""
            SELECT coalesce(x.table_name, y.table_name) AS table_name, coalesce(x.row_number, y.row_number) AS row_number,
                   coalesce(x.column_name, y.column_name) AS column_name, x.value_double AS value_a,
                   y.value_double AS value_b, x.value_text AS text_a, y.value_text AS text_b
            FROM (SELECT * FROM results WHERE run_id = ?) x
            FULL OUTER JOIN (SELECT * FROM results WHERE run_id = ?) y
              ON x.table_name = y.table_name AND x.row_number = y.row_number AND x.column_name = y.column_name
            WHERE x.run_id IS NULL OR y.run_id IS NULL
               OR (x.value_double IS DISTINCT FROM y.value_double AND NOT (isnan(x.value_double) AND isnan(y.value_double))
                   AND (x.value_double IS NULL OR y.value_double IS NULL
                        OR abs(x.value_double - y.value_double) > ? * greatest(abs(x.value_double), abs(y.value_double), 1e-300)))
               OR x.value_text IS DISTINCT FROM y.value_text
            ORDER BY 1, 2, 3""", [a, b, rel_tol]).df()
    finally:
        con.close()
    ia, ib = json.loads(ra["inputs"]), json.loads(rb["inputs"])
    inputs = [{"file": f, "sha256_a": ia.get(f), "sha256_b": ib.get(f)} for f in sorted(set(ia) | set(ib))
              if ia.get(f) != ib.get(f)]
    pa, pb = json.loads(ra["parameters"]), json.loads(rb["parameters"])
    params = {k: [pa.get(k), pb.get(k)] for k in sorted(set(pa) | set(pb)) if pa.get(k) != pb.get(k)}
    for col in ("value_a", "value_b"):
        moved[col] = moved[col].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else v)
    return {"a": a, "b": b, "inputs_changed": inputs, "code_changed": ra["code_sha256"] != rb["code_sha256"],
            "version": [ra["version"], rb["version"]], "parameters_changed": params,
            "cells_moved": int(len(moved)), "moved": moved}
