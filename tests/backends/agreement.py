"""What "the same answer out of core" means in tests/backends, and the samples those comparisons run on.

Every backend (memory in pieces, DuckDB over Parquet, Dask on a LocalCluster) is held to the in-memory
implementation to 1e-12 (relative):

* ``assert_same_result``: two ``MeasureResult`` tables -- the same rows, labels, n, undefined rows and
  reasons, line rule, SE method, units, replicates, seed and domain note; value, SE, interval, line and
  weight sum to 1e-12 of themselves (a bootstrap SE to 1e-12 of the SE or of the value, whichever is larger:
  tests/backends/test_stream_domain_bootstrap.py says why);
* ``assert_same_estimates``: a ``measure_stream`` result against a ``measure()`` frame indexed by measure;
* ``assert_same_decomposition``: two nested decompositions, with or without their design-based SEs;
* ``assert_same_run``: two reform runs, table by table.

The samples: laeken's synthetic EU-SILC (positive incomes, as two Parquet files), the synthetic China
population with four nested levels, and ``streamed()``, the streaming engine on an in-memory source
through the table's door (``prosperity.table.streamed.measure_streamed``) with ``measure()``'s defaults.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from prosperity.synth import synthesize_population
from prosperity.table.plan import make_plan
from prosperity.table.streamed import measure_streamed

EUSILC = Path(__file__).resolve().parents[2] / "src" / "prosperity" / "data" / "laeken_eusilc_synthetic_austria2006.csv.gz"
# the numeric columns of a MeasureResult's frame, compared to 1e-12 (relative) when present
COLUMNS = ["value", "se", "ci_low", "ci_high", "line", "weight_sum"]
RTOL = 1e-12

# measure()'s defaults, as the streaming door (make_plan + measure_streamed) takes them
STREAM_OPTIONS = dict(by=None, poverty_line=None, relative_line=None, relative_to="median", line_within_groups=False,
                      se=True, se_method="linearization", replicates=None, seed=None, confidence=0.95, ci_method=None,
                      quantile_convention="eurostat", conventions=None, poor_if=None, domain=None, undefined="missing",
                      lonely_psu="fail", margins=False)

# the 33 streamed measures of the domain= and bootstrap tests (test_stream_domain_bootstrap.py, test_stream_domain_lines.py)
DOMAIN_MEASURES = ["mean", "median", "quantile:0.9", "qratio:0.8:0.2", "p90p10", "p90p50", "p50p10", "gini", "theil", "mld",
                   "ge:2", "atkinson:0.5", "atkinson:1", "fgt:0", "fgt:1", "fgt:2", "headcount", "pgap", "watts", "arpt",
                   "arpr", "qsr", "palma", "share:0:0.4", "share:0.9", "share:0.2:0.5", "lorenz:0.4", "lorenz:0.8",
                   "glorenz:0.5", "middle_abs:10000:30000", "middle_abs_income:10000:30000", "middle_rel",
                   "middle_rel_income"]

# the 4-level nested decomposition of the China population
LEVELS = ["region", "province_en", "province_area", "county"]
INCOME = "disp_income_pc_yuan"
DECOMPOSE_MEASURES = ["theil", "mld", "ge:2", "ge:-1", "ge:0.5"]
UNIT_COLUMNS = ["population", "pop_share", "income_share", "mean", "relative_mean", "inequality_inside", "contribution",
                "share"]

# a reform run: differences of two nearly equal numbers (a change, an error against a published figure)
# are compared relative to the numbers they are differences of
DIFFERENCES = {"summary": {"change": ("baseline", "reform")}, "validation": {"error": ("baseline",)},
               "fiscal": {"change_bn": ("baseline_bn", "reform_bn")}}


# ============================================================================ samples


def positive_eusilc() -> pd.DataFrame:
    """laeken's synthetic EU-SILC (Austria 2006), the rows with a positive eqIncome (MLD, Watts, varlog,
    the prosperity gap need them), index 0..n-1."""
    df = pd.read_csv(EUSILC)
    return df[df["eqIncome"] > 0].reset_index(drop=True)


def in_two_parquet_files(d: pd.DataFrame, folder: Path, first_rows: int) -> Path:
    """Write rows [0, first_rows) and [first_rows, n) of ``d`` as part0.parquet and part1.parquet in
    ``folder`` (a directory of Parquet: DuckDB's source); return the folder."""
    d.iloc[:first_rows].to_parquet(folder / "part0.parquet")
    d.iloc[first_rows:].to_parquet(folder / "part1.parquet")
    return folder


def domain_eusilc(tmp_path_factory):
    """(frame, folder) of the domain= tests: the positive-income EU-SILC rows with a boolean column ``old``
    (age >= 65), the first 7,000 rows and the rest as two Parquet files."""
    d = positive_eusilc()
    d["old"] = d["age"] >= 65  # a boolean column
    return d, in_two_parquet_files(d, tmp_path_factory.mktemp("eusilc_domain"), 7000)


def china_levels(persons: int = 20_000, seed: int = 3) -> pd.DataFrame:
    """The synthetic China population, four nested levels: NBS region > province > urban/rural within
    the province > a 'county' (five per province and area), as strings."""
    d = synthesize_population(2024, persons=persons, seed=seed)
    for c in ("region", "province_en", "area"):
        d[c] = d[c].astype(str)
    d["province_area"] = d["province_en"] + "/" + d["area"]
    d["county"] = d["province_area"] + "/" + (d["household_id"] % 5).astype(str)
    return d


def in_two_halves(d: pd.DataFrame, folder: Path) -> Path:
    """Write the two halves of ``d`` as part0.parquet and part1.parquet in ``folder``; return it."""
    return in_two_parquet_files(d, folder, len(d) // 2)


def streamed(data, measures, kind="memory", *, income="eqIncome", weight=None, strata=None, psu=None, **options):
    """The streaming engine on ``data`` (``kind`` "memory": a MemorySource) through the table's door, with
    measure()'s defaults for every option not given."""
    opts = {**STREAM_OPTIONS, "income": income, **options}
    return measure_streamed(make_plan(measures, **opts), data, kind, income=income, weight=weight, strata=strata,
                            psu=psu, fpc=None, drop_missing=False, sheet=None, sample_options={})


# ============================================================================ comparisons


def assert_same_result(got, ref) -> float:
    """Assert two MeasureResults are the same table to 1e-12 (relative), see the module docstring; return
    the largest relative difference over the finite, non-zero numbers compared."""
    a, b = got.to_frame(), ref.to_frame()
    assert list(a.columns) == list(b.columns)
    keys = [c for c in b.columns if c not in COLUMNS + ["n", "note"]]
    assert a[keys].astype(str).equals(b[keys].astype(str))  # same rows, same order, same labels
    np.testing.assert_array_equal(a["n"], b["n"])
    assert got.undefined == ref.undefined  # the same missing rows, with the same reasons
    worst = 0.0
    for c in (c for c in COLUMNS if c in b):  # no "line" column when no measure has one
        x, y = a[c].to_numpy(float), b[c].to_numpy(float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), c
        tol = RTOL * np.abs(y)
        if c == "se" and ref.se_method not in (None, "linearization"):  # a spread of the replicates
            tol = np.maximum(tol, RTOL * np.abs(b["value"].to_numpy(float)))
        bad = ~np.isnan(y) & (x != y) & ~(np.abs(x - y) <= tol)
        assert not bad.any(), (c, a.loc[bad, ["measure", c]].to_string(), y[bad])
        both = np.isfinite(y) & (y != 0)
        if both.any():
            worst = max(worst, float(np.max(np.abs(x[both] / y[both] - 1))))
    assert (got.line_rule, got.se_method, got.n_units, got.replicates, got.seed) == \
        (ref.line_rule, ref.se_method, ref.n_units, ref.replicates, ref.seed)
    assert [n for n in got.notes if n.startswith("domain:")] == [n for n in ref.notes if n.startswith("domain:")]
    return worst


def assert_same_estimates(res, ref: pd.DataFrame) -> None:
    """A measure_stream result against measure()'s frame indexed by measure: values and SEs to 1e-12."""
    got = res.to_frame().set_index("measure").loc[ref.index]
    np.testing.assert_allclose(got["value"], ref["value"], rtol=RTOL, atol=0)
    np.testing.assert_allclose(got["se"], ref["se"], rtol=RTOL, atol=0)


def assert_same_decomposition(got, ref) -> None:
    """Two nested decompositions: the total, population, mean, every component and share (and, when the
    reference has them, the SEs of the total, components and shares) to 1e-12 (relative); the unit table
    with the same units and parents, its numbers to 1e-12 of each column's scale."""
    assert type(got) is type(ref)
    assert got.measure == ref.measure and got.levels == ref.levels and got.alpha == ref.alpha
    assert got.has_se == ref.has_se
    assert math.isclose(got.total, ref.total, rel_tol=RTOL)
    assert math.isclose(got.population, ref.population, rel_tol=RTOL)
    assert math.isclose(got.mean, ref.mean, rel_tol=RTOL)
    a, b = got.to_frame(), ref.to_frame()
    assert list(a.columns) == list(b.columns)
    assert list(a["level"]) == list(b["level"]) and list(a["component"]) == list(b["component"])
    numbers = ["value", "share"]
    if ref.has_se:
        assert math.isclose(got.total_se, ref.total_se, rel_tol=RTOL)
        assert list(a.columns) == ["level", "component", "value", "share", "se", "share_se"]
        numbers += ["se", "share_se"]
    for c in numbers:
        np.testing.assert_allclose(a[c], b[c], rtol=RTOL, atol=0, err_msg=c)
    assert np.isclose(a["value"].sum(), got.total, rtol=RTOL)
    pd.testing.assert_frame_equal(got.units[["level", "unit", "parent"]], ref.units[["level", "unit", "parent"]])
    for c in UNIT_COLUMNS:
        # a unit with one sub-unit has 0 between inequality: the two sums give 0 or ~1e-17, so the
        # comparison is relative to the column's scale there
        scale = float(np.abs(ref.units[c]).max())
        np.testing.assert_allclose(got.units[c], ref.units[c], rtol=RTOL, atol=RTOL * scale, err_msg=c)


def assert_same_run(got, ref) -> None:
    """Two reform runs (Simulation.run() and a chunked run): the same reform, assumptions, warnings and
    population totals; the net cost to 1e-12 and the identity residual to 1e-12 of it; every output
    table with the same columns and shape, labels equal, numbers to 1e-12 (differences relative to the
    numbers they are differences of, ``DIFFERENCES``)."""
    assert got.year == ref.year and got.reform_name == ref.reform_name and got.reform_changes == ref.reform_changes
    assert got.assumptions == ref.assumptions and got.warnings == ref.warnings
    assert got.population.keys() == ref.population.keys()
    for k, v in ref.population.items():
        assert math.isclose(got.population[k], v, rel_tol=RTOL), k
    assert math.isclose(got.net_cost_bn, ref.net_cost_bn, rel_tol=RTOL)
    assert abs(got.identity_residual_bn - ref.identity_residual_bn) <= RTOL * abs(ref.net_cost_bn)
    for name, a in ref.tables().items():
        b = got.tables()[name]
        assert list(b.columns) == list(a.columns) and b.shape == a.shape, name
        for c in a.columns:
            if a[c].dtype.kind not in "fc":
                assert b[c].astype(str).tolist() == a[c].astype(str).tolist(), (name, c)
                continue
            x, y = a[c].to_numpy(float), b[c].to_numpy(float)
            scale = np.zeros_like(x)
            for of in DIFFERENCES.get(name, {}).get(c, ()):
                ref_col = a[of].to_numpy(float)
                if name == "validation":  # error = baseline / published - 1
                    ref_col = ref_col / a["published"].to_numpy(float)
                scale = np.maximum(scale, np.abs(ref_col))
            np.testing.assert_allclose(y, x, rtol=RTOL, atol=0 if not scale.any() else RTOL * np.nanmax(scale),
                                       err_msg=f"{name}.{c}")
