"""measure(..., domain=) and the bootstrap out of core (issue 11): the same MeasureResult as in memory --
values, SEs, intervals, lines, n and weight sums to 1e-12 (relative), the same undefined rows and
reasons, the same errors -- for every streamed measure, with by-groups, on the streaming engine over
memory, DuckDB (Parquet directory, a frame through a view) and Dask (LocalCluster).

The bootstrap: every replicate value equals the in-memory one to 1e-12 (relative; measured < 4e-13:
the same PSU draws, the same estimates). A bootstrap SE is a spread of those values, so it carries
their rounding as an *absolute* error of ~1e-13 x value: relative to the SE that is value / SE times
larger (gini ~ 100 x, atkinson:0.5 ~ 40 x), and DuckDB's scan order, which varies from run to run,
moves it (measured up to 2.4e-12 of the SE). So bootstrap SEs are held to 1e-12 of the SE or of the
value, whichever is larger; percentile intervals (quantiles of the values) to 1e-12 of themselves."""

from __future__ import annotations

import numpy as np
import pytest

import prosperity
from prosperity.backends import streaming_replicates
from prosperity.backends.sources import BackendError
from prosperity.io.errors import InvalidValueError, MeasureSpecError
from prosperity.table.plan import make_plan

from agreement import DOMAIN_MEASURES as MEASURES, STREAM_OPTIONS, assert_same_result as _same, domain_eusilc, streamed

DESIGN = dict(income="eqIncome", weight="rb050", measures=MEASURES)


@pytest.fixture(scope="module")
def eusilc(tmp_path_factory):
    return domain_eusilc(tmp_path_factory)


def _streamed(data, **kw):
    """The streaming engine on a MemorySource (kind "memory"), through the table's door."""
    return streamed(data, MEASURES, **kw)


# ============================================================================ domain=


DOMAIN_CASES = [  # (source, design, options)
    ("duckdb", dict(strata="db040", psu="db030"), dict(domain="db040=Tyrol", by="rb090", poor_if="le")),
    ("duckdb", dict(strata="db040"), dict(domain="age >= 65", by=["rb090", "db040"], margins=True)),
    ("duckdb", dict(psu="db030"), dict(domain="eqIncome > 15000", by="rb090", relative_line=0.5, relative_to="mean")),
    ("frame", dict(strata="db040", psu="db030"), dict(domain="old", by="db040", poverty_line=10000.0)),
    ("memory", dict(strata="db040", psu="db030"), dict(domain="rb090 != female", by="db040")),
    ("dask", dict(strata="db040", psu="db030"), dict(domain="age < 30", by="db040")),
]


@pytest.mark.parametrize("where,design,kw", DOMAIN_CASES,
                         ids=["duckdb-label", "duckdb-compare-unit-psus", "duckdb-income-mean-line", "frame-boolean",
                              "memory-not-equal", "dask-compare"])
def test_domain_equals_measure(eusilc, request, where, design, kw):
    d, folder = eusilc
    ref = prosperity.measure(d, **DESIGN, **design, **kw)
    assert any(n.startswith("domain:") for n in ref.notes) and len(ref) >= 2 * len(MEASURES)
    if where == "memory":
        got = _streamed(d, weight="rb050", **design, **kw)
    elif where == "frame":
        got = prosperity.measure(d, backend="duckdb", **DESIGN, **design, **kw)
    elif where == "dask":
        dd = pytest.importorskip("dask.dataframe")
        request.getfixturevalue("cluster")
        got = prosperity.measure(dd.read_parquet(str(folder / "*.parquet")), **DESIGN, **design, **kw)
        assert "backend: dask" in got.describe()
    else:
        got = prosperity.measure(folder, **DESIGN, **design, **kw)
        assert "backend: duckdb" in got.describe()
    _same(got, ref)


def test_domain_changes_the_estimate_not_the_design(eusilc):
    # the domain's mean differs from the whole sample's, and its SE is not the SE of the filtered rows
    # (those would lose the PSUs and strata outside the domain); both out-of-core numbers equal memory's
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=["mean", "arpr"], strata="db040", psu="db030")
    dom = prosperity.measure(folder, domain="age >= 65", **kw)
    whole = prosperity.measure(folder, **kw)
    old = d[d["age"] >= 65]
    filtered = prosperity.measure(old, **kw)
    assert dom.n[0] == len(old) and whole.n[0] == len(d)
    assert dom.value[0] == pytest.approx(filtered.value[0], rel=1e-12)  # the same point estimate...
    assert abs(dom.se[0] / filtered.se[0] - 1) > 1e-6  # ...but the domain variance of the full design
    assert dom.value[1] != pytest.approx(filtered.value[1], rel=1e-6)  # arpr: the whole sample's line, not the domain's
    _same(dom, prosperity.measure(d, domain="age >= 65", **kw))


def test_domain_array_on_a_frame_and_groups_outside_the_domain(eusilc):
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=["mean", "gini", "arpr"], by="db040", strata="db040", psu="db030")
    mask = (d["db040"] == "Tyrol").to_numpy()
    ref = prosperity.measure(d, domain=mask, **kw)
    got = prosperity.measure(d, backend="duckdb", domain=mask, **kw)
    assert len(ref.undefined) == 8 * 3 and "no unit of db040='Vorarlberg' lies in the domain given by a boolean array" in \
        ref.undefined[max(ref.undefined)]
    _same(got, ref)
    _same(prosperity.measure(folder, domain="db040=Tyrol", **kw), prosperity.measure(d, domain="db040=Tyrol", **kw))
    boot = dict(kw, se_method="bootstrap", replicates=20, seed=9, domain="db040=Tyrol")  # replicates of empty groups
    _same(prosperity.measure(folder, **boot), prosperity.measure(d, **boot))


@pytest.mark.parametrize("domain", ["age > 200", "db040=Nowhere", "rb090", "db040 > 3"])
def test_domain_errors_are_the_in_memory_ones(eusilc, domain):
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=["mean"], domain=domain)
    with pytest.raises(MeasureSpecError) as mem:
        prosperity.measure(d, **kw)
    for data in (folder, d):
        with pytest.raises(MeasureSpecError) as out:
            prosperity.measure(data, backend="duckdb", **kw)
        assert str(out.value) == str(mem.value)


def test_domain_refusals(eusilc):
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=["mean"])
    with pytest.raises(BackendError, match="boolean array needs a frame in memory"):
        prosperity.measure(folder, domain=np.ones(len(d), bool), **kw)
    with pytest.raises(BackendError, match="'py010n \\(domain\\)' has 2,720 missing"):  # memory refuses them too
        prosperity.measure(folder, domain="py010n > 0", **kw)
    with pytest.raises(InvalidValueError, match="missing values"):
        prosperity.measure(d, domain="py010n > 0", **kw)
    # domain= with line_within_groups=True streams now: tests/backends/test_stream_domain_lines.py
    with pytest.raises(InvalidValueError, match="mld needs positive incomes"):  # the domain's incomes are checked...
        prosperity.measure(d.assign(eqIncome=d["eqIncome"] - 5000.0), backend="duckdb", domain="age >= 65", **dict(kw, measures=["mld"]))
    low = d.assign(eqIncome=np.where(d["age"] >= 65, d["eqIncome"], -1.0))  # ...and only its incomes
    _same(prosperity.measure(low, backend="duckdb", domain="age >= 65", **dict(kw, measures=["mld", "gini"])),
          prosperity.measure(low, domain="age >= 65", **dict(kw, measures=["mld", "gini"])))


# ============================================================================ the bootstrap


BOOT_CASES = [
    ("duckdb", dict(strata="db040", psu="db030"), dict(se_method="bootstrap", replicates=40, seed=3, by="rb090")),
    ("memory", dict(strata="db040", psu="db030"),
     dict(se_method="rescaled_bootstrap", replicates=30, seed=11, by="db040", domain="age >= 65")),
    ("frame", dict(psu="db030"), dict(se_method="bootstrap", replicates=30, seed=5, by="rb090", line_within_groups=True,
                                      ci_method="normal")),
    ("dask", dict(strata="db040", psu="db030"),
     dict(se_method="bootstrap", replicates=25, seed=8, by=["rb090", "db040"], margins=True, poverty_line=10000.0)),
]


@pytest.mark.parametrize("where,design,kw", BOOT_CASES, ids=["duckdb", "memory-rescaled-domain-small-pieces",
                                                             "frame-own-lines-normal-ci", "dask-margins-absolute"])
def test_bootstrap_equals_measure(eusilc, request, monkeypatch, where, design, kw):
    d, folder = eusilc
    ref = prosperity.measure(d, **DESIGN, **design, **kw)
    assert ref.seed == kw["seed"] and np.isfinite(ref.se).all()
    if where == "memory":
        monkeypatch.setattr(streaming_replicates, "PIECE_ROWS", 2000)  # ~60 rows a piece: carries, ties across pieces
        got = _streamed(d, weight="rb050", **design, **kw)
    elif where == "frame":
        got = prosperity.measure(d, backend="duckdb", **DESIGN, **design, **kw)
    elif where == "dask":
        dd = pytest.importorskip("dask.dataframe")
        request.getfixturevalue("cluster")
        got = prosperity.measure(dd.read_parquet(str(folder / "*.parquet")), **DESIGN, **design, **kw)
    else:
        got = prosperity.measure(folder, **DESIGN, **design, **kw)
    assert f"{kw['replicates']} bootstrap replicates in the same passes" in got.describe()
    _same(got, ref)


@pytest.mark.parametrize("method", ["bootstrap", "rescaled_bootstrap"])
def test_every_replicate_value_equals_memory(eusilc, method):
    # the draws and the estimates themselves, replicate by replicate (not only their spread)
    from prosperity.backends.streaming import StreamSpec
    from prosperity.table.bootstrap import _bootstrap_pass
    from prosperity.table.inputs import read_inputs
    from prosperity.table.kernels import point_pass
    from prosperity.table.streamed import _layers, _source

    d, folder = eusilc
    R, seed = 30, 17
    plan = make_plan(MEASURES, **dict(STREAM_OPTIONS, income="eqIncome", by="db040", se_method=method, replicates=R, seed=seed))
    pp = point_pass(read_inputs(plan, d, "eqIncome", "rb050", "db040", "db030", None, False, None, {}))
    mem = _bootstrap_pass(pp.ctx, pp.s_all, pp.dv, pp.codes_all, pp.group_cache, method, R, seed)
    source = _source(folder, "duckdb", "eqIncome", "rb050", "db040", "db030", ["db040"])
    spec = StreamSpec(tuple((r.label, r.spec.name, dict(r.params)) for r in plan.requested), line_kind="relative",
                      se=False)
    mult = streaming_replicates.multiplier_matrix(source.design, method, R, seed)
    assert mult.shape == (R + 1, 5998) and np.all(mult[0] == 1.0)
    out, reps = streaming_replicates.evaluate_replicates(source, spec, _layers(source, plan), mult)
    assert reps.shape == mem.shape == (10 * len(MEASURES), R) and np.isfinite(mem).all()
    np.testing.assert_allclose(reps, mem, rtol=1e-12, atol=0)
    assert out.passes == 3 and out.n == len(d)


def test_bootstrap_seed_reproduces_and_differs(eusilc):
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=["gini", "arpr"], strata="db040", psu="db030",
              se_method="bootstrap", replicates=20)
    first = prosperity.measure(folder, **kw)  # no seed: one is drawn and reported
    again = prosperity.measure(folder, seed=first.seed, **kw)
    _same(again, first)
    _same(again, prosperity.measure(d, seed=first.seed, **kw))
    other = prosperity.measure(folder, seed=first.seed + 1, **kw)
    assert np.all(np.abs(other.se / first.se - 1) > 1e-6)
    lin = prosperity.measure(folder, **dict(kw, se_method="linearization", replicates=None))
    assert np.all(np.abs(first.se / lin.se - 1) < 0.5)  # the same order of magnitude as the linearized SEs


def test_bootstrap_refusals(eusilc):
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=["gini"], se_method="bootstrap", replicates=10, seed=1)
    with pytest.raises(MeasureSpecError, match="needs a PSU column"):
        prosperity.measure(folder, strata="db040", **kw)
    with pytest.raises(MeasureSpecError, match="integer PSU labels: PSU column 'hid' holds text"):
        prosperity.measure(d.assign(hid="h" + d["db030"].astype(str)), backend="duckdb", psu="hid", **kw)
    with pytest.raises(MeasureSpecError, match="holds floats"):
        prosperity.measure(d.assign(db030=d["db030"].astype(float)), backend="duckdb", psu="db030", **kw)
    one = d[d["db040"] != "Burgenland"].copy()
    one.loc[one["db040"] == "Tyrol", "db030"] = 1  # Tyrol: a single PSU
    with pytest.raises(Exception, match="single PSU|one PSU") as mem:
        prosperity.measure(one, strata="db040", psu="db030", **kw)
    with pytest.raises(type(mem.value), match="single PSU|one PSU"):
        prosperity.measure(one, backend="duckdb", strata="db040", psu="db030", **kw)
    certain = dict(kw, strata="db040", psu="db030", lonely_psu="certainty")  # multiplier 1 in both
    _same(prosperity.measure(one, backend="duckdb", **certain), prosperity.measure(one, **certain))
