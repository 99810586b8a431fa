"""measure(domain=, line_within_groups=True) out of core: the domain's own row and every group within
the domain take their own units' line for every line measure (src/prosperity/table/domain_lines.py),
as in memory -- values, SEs, intervals, lines, weight sums to 1e-12 (relative), the same undefined rows,
line rule and domain note -- on the streaming engine over memory, DuckDB (a Parquet directory, a frame
through a view) and Dask (LocalCluster), linearized and bootstrapped.

The streaming layers (src/prosperity/backends/streaming_domain.py) are the hidden whole sample, the
domain and each breakdown's groups within it; with line_within_groups every domain of every layer is
its own line's reference (``ref_dom = arange(D)`` in ``evaluate_stream``), so the domain's row uses the
domain's median and its own error, exactly the in-memory rule. The refusal of this combination is gone.
"""

from __future__ import annotations

import numpy as np
import pytest

import prosperity

from agreement import DOMAIN_MEASURES, assert_same_result as _same, domain_eusilc, streamed

# every streamed measure: test_stream_domain_bootstrap.py's 33, and the poverty ones with a line or own threshold
MEASURES = DOMAIN_MEASURES + ["sen", "sst", "rmpg", "poormed", "poormed:0.5", "rich:2:2", "rich_fgt:1:2"]


def _measures(kw) -> list:
    return [m for m in MEASURES if not (kw.get("poor_if") and m == "rmpg")]  # rmpg's poor are always y < t


@pytest.fixture(scope="module")
def eusilc(tmp_path_factory):
    return domain_eusilc(tmp_path_factory)


CASES = [  # (source, design, options): domain= with line_within_groups=True
    ("memory", dict(strata="db040", psu="db030"), dict(domain="age >= 65", by="rb090")),
    ("duckdb", dict(strata="db040", psu="db030"), dict(domain="age >= 65", by=["rb090", "db040"], margins=True)),
    ("duckdb", dict(strata="db040"), dict(domain="db040=Tyrol", by="rb090", relative_line=0.5, relative_to="mean")),
    ("frame", dict(psu="db030"), dict(domain="old", by="db040", poor_if="le")),
    ("dask", dict(strata="db040", psu="db030"), dict(domain="age < 30", by="db040", relative_line=0.5)),
    ("duckdb", dict(strata="db040", psu="db030"), dict(domain="rb090 != female")),  # no by=: the domain's row alone
]


def _got(where, d, folder, request, kw, design):
    common = dict(income="eqIncome", weight="rb050", measures=_measures(kw))
    if where == "memory":
        return streamed(d, _measures(kw), weight="rb050", **design, **kw)
    if where == "frame":
        return prosperity.measure(d, backend="duckdb", **common, **design, **kw)
    if where == "dask":
        dd = pytest.importorskip("dask.dataframe")
        request.getfixturevalue("cluster")
        got = prosperity.measure(dd.read_parquet(str(folder / "*.parquet")), **common, **design, **kw)
        assert "backend: dask" in got.describe()
        return got
    got = prosperity.measure(folder, **common, **design, **kw)
    assert "backend: duckdb" in got.describe()
    return got


@pytest.mark.parametrize("where,design,kw", CASES, ids=["memory-compare", "duckdb-margins", "duckdb-label-mean-line",
                                                        "frame-boolean-le", "dask-compare-half-median", "duckdb-no-by"])
def test_own_lines_in_a_domain_equal_measure(eusilc, request, where, design, kw):
    d, folder = eusilc
    kw = dict(kw, line_within_groups=True)
    ref = prosperity.measure(d, "eqIncome", _measures(kw), weight="rb050", **design, **kw)
    # the in-memory reference itself keeps one line per row: fgt:0 = arpr when the poor rule is the same
    f = ref.to_frame()
    a, b = f[f["measure"] == "arpr"], f[f["measure"] == "fgt:0"]
    if kw.get("relative_line") is None:
        np.testing.assert_array_equal(a["line"].to_numpy(), b["line"].to_numpy())
        np.testing.assert_allclose(a["value"].to_numpy(), b["value"].to_numpy(), rtol=1e-14)
    assert "relative lines the domain's own: line_within_groups" in ref.describe()
    _same(_got(where, d, folder, request, kw, design), ref)


def test_the_domains_row_line_is_the_domains_median_out_of_core(eusilc):
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", strata="db040", psu="db030", measures=["arpr", "fgt:0", "fgt:1",
              "middle_rel", "median"], domain="age >= 65", by="rb090", line_within_groups=True)
    got = prosperity.measure(folder, **kw)
    f = got.to_frame()
    whole = f[f["rb090"] == prosperity.table.ALL].set_index("measure")
    med = whole.loc["median", "value"]
    assert med == 17144.43  # the domain's weighted median (the whole sample's: 18098.73)
    for m in ("arpr", "fgt:0", "fgt:1"):
        assert whole.loc[m, "line"] == pytest.approx(0.6 * med, rel=1e-15), m
    assert whole.loc["middle_rel", "line"] == med
    assert whole.loc["arpr", "value"] == pytest.approx(whole.loc["fgt:0", "value"], rel=1e-14)
    assert whole.loc["arpr", "se"] == pytest.approx(whole.loc["fgt:0", "se"], rel=1e-12)
    assert "0.6 x median of the domain = 10286.7 (each row's own: line_within_groups)" in got.describe()
    _same(got, prosperity.measure(d, **kw))


BOOT = [
    ("duckdb", dict(strata="db040", psu="db030"),
     dict(se_method="bootstrap", replicates=30, seed=6, by="rb090", domain="age >= 65")),
    ("memory", dict(strata="db040", psu="db030"),
     dict(se_method="rescaled_bootstrap", replicates=25, seed=2, by="db040", domain="db040!=Tyrol")),
    ("dask", dict(psu="db030"), dict(se_method="bootstrap", replicates=20, seed=12, by="rb090", domain="old",
                                     ci_method="normal")),
]


@pytest.mark.parametrize("where,design,kw", BOOT, ids=["duckdb", "memory-rescaled", "dask-normal-ci"])
def test_own_lines_in_a_domain_bootstrap_equals_measure(eusilc, request, where, design, kw):
    d, folder = eusilc
    kw = dict(kw, line_within_groups=True)
    ref = prosperity.measure(d, "eqIncome", _measures(kw), weight="rb050", **design, **kw)
    defined = np.ones(len(ref), bool)
    defined[list(ref.undefined)] = False
    assert ref.seed == kw["seed"] and np.isfinite(ref.se[defined]).all()
    got = _got(where, d, folder, request, kw, design)
    assert f"{kw['replicates']} bootstrap replicates in the same passes" in got.describe()
    _same(got, ref)
