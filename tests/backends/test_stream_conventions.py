"""The non-default conventions out of core (prosperity.backends.streaming_conventions): the laeken and
inverse-CDF quantile rules, every Gini convention, Theil "pysal", MLD "pip", the Lorenz ordinates at a
quantile, and RMPG's median of the poor under the call's rule -- value, SE, interval, line and weight sum
equal to the in-memory prosperity.measure() with the same conventions to 1e-12 (relative), by groups,
under strata + PSUs and unit PSUs, on the streaming engine in memory, DuckDB and Dask. What cannot stream
(the interpolated rule, two quantile rules in one call, an unknown convention) is refused with why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import prosperity
from prosperity.io.errors import EmptyGroupError, MeasureSpecError

from agreement import EUSILC, assert_same_result as _same, in_two_parquet_files, positive_eusilc, streamed

# every streamed measure that reads a quantile (its own, a line's median or a share's boundary)
QUANTILE = ["median", "quantile:0.9", "qratio:0.8:0.2", "p90p10", "p90p50", "p50p10", "arpt", "arpr", "fgt:0",
            "fgt:1", "headcount", "watts", "middle_rel", "middle_rel_income", "sen", "sst", "rmpg", "poormed",
            "rich:2:2", "gini"]
SHARES = ["qsr", "palma", "share:0:0.4", "share:0.2:0.5", "lorenz:0.4", "glorenz:0.5"]
GINI = ("convey", "ineqpy", "unbiased", "unbiased_frequency")


@pytest.fixture(scope="module")
def eusilc(tmp_path_factory):
    """Positive incomes with three weights: the survey's (rb050), equal (w1: F_j = p exactly, where the
    quantile rules differ) and whole numbers (wi: frequency weights)."""
    d = positive_eusilc().assign(w1=1.0)
    d["wi"] = np.maximum(np.rint(d["rb050"]), 1.0)
    return d, in_two_parquet_files(d, tmp_path_factory.mktemp("eusilc_conventions"), 6000)


def _streamed(data, **kw):
    """The streaming engine on an in-memory source, through the table's door."""
    return streamed(data, kw.pop("measures"), **kw)


def _differs(a, b) -> bool:
    """Some value or SE of two results differs (the convention changes something: the test can fail)."""
    x, y = a.to_frame(), b.to_frame()
    return bool(np.any(np.abs(x["value"] - y["value"]) > 1e-9 * np.abs(y["value"]))
                or np.any(np.abs(x["se"] - y["se"]) > 1e-9 * np.abs(y["se"])))


RULES = [
    ("laeken", "w1", dict(strata="db040", psu="db030"), dict(by="db040")),
    ("laeken", "rb050", dict(strata="db040"), dict(by="rb090", line_within_groups=True)),
    ("inverse_cdf", "w1", dict(strata="db040", psu="db030"), dict(by=["rb090", "db040"], margins=True, poor_if="le")),
    ("inverse_cdf", "rb050", dict(psu="db030"), dict(by="db040", relative_line=0.5)),
    ("interpolated", "rb050", dict(strata="db040", psu="db030"), dict(by="db040")),
    ("interpolated", "wi", dict(strata="db040"), dict(by=["rb090", "db040"], margins=True, line_within_groups=True)),
]


@pytest.mark.parametrize("rule,weight,design,kw", RULES, ids=["laeken,w1", "laeken,own-lines", "icdf,margins", "icdf,rb050", "interpolated", "interpolated,own-lines"])
def test_quantile_rules_stream_exactly(eusilc, rule, weight, design, kw):
    d, folder = eusilc
    measures = QUANTILE + (SHARES if rule == "laeken" else [])
    if kw.get("poor_if") or rule == "interpolated":  # rmpg's poor are y < t; its interpolated median is refused
        measures = [m for m in measures if m != "rmpg"]
    conventions = {"lorenz": rule, "glorenz": rule} if rule == "laeken" else None
    args = dict(income="eqIncome", weight=weight, measures=measures, conventions=conventions, **design, **kw)
    ref = prosperity.measure(d, quantile_convention=rule, **args)
    got = prosperity.measure(folder, quantile_convention=rule, **args)
    assert "backend: duckdb" in got.describe() and len(got) >= 3 * len(measures)
    _same(got, ref)
    if weight == "w1":  # equal weights: F_j = p exactly, so the rule changes the quantiles
        eurostat = prosperity.measure(d, **dict(args, conventions={"lorenz": "eurostat", "glorenz": "eurostat"}
                                                 if conventions else None))
        assert _differs(ref, eurostat)
    _same(_streamed(d, quantile_convention=rule, **args), ref)


def test_the_interpolated_rule_with_ties_across_pieces(tmp_path, monkeypatch):
    # incomes in runs of ties, unequal weights within a run (lightest first), runs cut by the pieces
    rng = np.random.default_rng(5)
    y = np.repeat(np.round(rng.lognormal(9, 0.6, 400), -2), rng.integers(1, 6, 400))
    frame = pd.DataFrame({"y": y, "w": rng.uniform(0.5, 4.0, y.size), "g": rng.integers(0, 3, y.size)})
    shuffled = frame.sample(frac=1.0, random_state=1)
    for k in range(4):
        shuffled.iloc[k::4].to_parquet(tmp_path / f"p{k}.parquet")
    kw = dict(income="y", weight="w", measures=["median", "quantile:0.1", "quantile:0.37", "quantile:0.9", "p90p10", "arpr"],
              by="g", quantile_convention="interpolated")
    ref = prosperity.measure(frame, **kw)
    got = prosperity.measure(tmp_path, backend="duckdb", **kw)
    _same(got, ref)
    assert _differs(ref, prosperity.measure(frame, **dict(kw, quantile_convention="eurostat")))
    from prosperity.measures.quantiles import weighted_quantile
    assert got.value[0] == pytest.approx(weighted_quantile(frame.y, 0.5, frame.w, "interpolated"), rel=1e-14)
    from prosperity.backends.sources import open_source
    from prosperity.table import streamed

    for rows in (7, 101):  # pieces far smaller than the runs and the groups: every run cut somewhere
        def source(data, kind, income, weight, strata, psu, by_cols, options=None, rows=rows):
            return open_source(data, income, weight, strata=strata, psu=psu, backend="memory",
                               groups=list(by_cols) or None, chunk_rows=rows)
        monkeypatch.setattr(streamed, "_source", source)
        _same(_streamed(shuffled, **kw), ref)


@pytest.mark.parametrize("kw", [
    dict(conventions={"median": "laeken"}, measures=["median", "qsr", "gini", "arpr", "fgt:0"], strata="db040", psu="db030"),
    dict(conventions={"lorenz": "eurostat", "glorenz": "laeken", "quantile": "inverse_cdf"}, quantile_convention="interpolated",
         measures=["median", "lorenz:0.4", "glorenz:0.5", "quantile:0.9", "mean", "arpr"], by=["rb090", "db040"], margins=True),
    dict(conventions={"median": "inverse_cdf", "qsr": "laeken"}, measures=["median", "qsr", "arpr"], strata="db040", domain="age < 40"),
], ids=["median-laeken", "four-rules,margins", "domain,unit-psus"])
def test_two_quantile_rules_in_one_call_run_the_passes_once_per_rule(eusilc, kw):
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="w1", by=kw.pop("by", "db040"), **kw)
    ref = prosperity.measure(d, **kw)
    got = prosperity.measure(folder, **kw)
    _same(got, ref)
    one = prosperity.measure(folder, **dict(kw, conventions=None))
    assert _differs(ref, prosperity.measure(d, **dict(kw, conventions=None)))
    assert int(got.describe().split("streamed in ")[1].split(" pass")[0]) > int(one.describe().split("streamed in ")[1].split(" pass")[0])


def test_the_laeken_median_on_equal_weights(eusilc):
    # unweighted, an even count: Eurostat averages the two middle units, laeken takes the upper one
    d, folder = eusilc
    sub = d.iloc[:1000]
    y = np.sort(sub["eqIncome"].to_numpy())
    kw = dict(income="eqIncome", weight="w1", measures=["median"])
    got = {rule: prosperity.measure(sub, backend="duckdb", quantile_convention=rule, **kw).value[0]
           for rule in ("eurostat", "laeken", "inverse_cdf")}
    assert got == {"eurostat": 0.5 * (y[499] + y[500]), "laeken": y[500], "inverse_cdf": y[499]}


@pytest.mark.parametrize("convention", GINI)
def test_gini_conventions(eusilc, convention):
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="wi", measures=["gini", "mean"], conventions={"gini": convention})
    for design in (dict(strata="db040", psu="db030", by=["rb090", "db040"], margins=True), dict(strata="db040", by="rb090")):
        ref = prosperity.measure(d, **kw, **design)
        _same(prosperity.measure(folder, **kw, **design), ref)
        assert _differs(ref, prosperity.measure(d, **dict(kw, conventions=None), **design))
    _same(_streamed(d, **kw, strata="db040", psu="db030", by="db040"), prosperity.measure(d, **kw, strata="db040", psu="db030", by="db040"))


def test_unbiased_frequency_needs_whole_weights(eusilc):
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=["gini"], conventions={"gini": "unbiased_frequency"})
    with pytest.raises(EmptyGroupError, match="needs frequency weights") as exc:
        prosperity.measure(folder, **kw)
    assert "14,448 weight(s) are not" in str(exc.value)
    with pytest.raises(EmptyGroupError) as mem:
        prosperity.measure(d, **kw)
    # the same refusal (the in-memory one also quotes the first such weight in sorted order)
    assert str(mem.value).startswith(str(exc.value).split(" are not")[0] + " are not")


def test_entropy_conventions_with_zero_incomes(eusilc, tmp_path):
    d, _ = eusilc
    full = pd.read_csv(EUSILC)  # three zero incomes: Theil's "pysal" and MLD's "pip" are about them
    full.to_parquet(tmp_path / "full.parquet")
    kw = dict(income="eqIncome", weight="rb050", measures=["theil", "mld", "mean"], conventions={"theil": "pysal", "mld": "pip"},
              strata="db040", psu="db030", by="db040")
    ref = prosperity.measure(full, **kw)
    _same(prosperity.measure(tmp_path / "full.parquet", backend="duckdb", **kw), ref)
    assert ref.value_of("mld") != prosperity.measure(d, **kw).value_of("mld")  # the zeros count (as 1)
    with pytest.raises(prosperity.io.errors.InvalidValueError, match="mld needs positive incomes"):
        prosperity.measure(tmp_path / "full.parquet", backend="duckdb", **dict(kw, conventions={"theil": "pysal"}))


def test_shares_under_a_rule_that_is_no_share_rule_fail_as_in_memory(eusilc):
    d, folder = eusilc
    kw = dict(income="eqIncome", weight="rb050", measures=["median", "qsr"], quantile_convention="inverse_cdf")
    with pytest.raises(EmptyGroupError) as mem:
        prosperity.measure(d, **kw)
    with pytest.raises(EmptyGroupError) as out:
        prosperity.measure(folder, **kw)
    message = str(mem.value).split(". Fix:")[0]  # (the hints differ: the out-of-core one has no bootstrap)
    assert str(out.value).split(". Fix:")[0] == message and "unknown share convention 'inverse_cdf'" in message


def test_dask_on_a_local_cluster(eusilc, cluster):
    dd = pytest.importorskip("dask.dataframe")
    d, folder = eusilc
    frame = dd.read_parquet(str(folder / "*.parquet"))
    kw = dict(income="eqIncome", weight="wi", measures=QUANTILE + SHARES, quantile_convention="laeken",
              conventions={"gini": "convey", "lorenz": "laeken", "glorenz": "laeken"}, strata="db040", psu="db030", by="db040")
    got = prosperity.measure(frame, **kw)
    assert "backend: dask" in got.describe()
    _same(got, prosperity.measure(d, **kw))


@pytest.mark.parametrize("kw,text", [
    (dict(quantile_convention="interpolated", measures=["median", "rmpg"]), "rmpg under the 'interpolated' quantile rule"),
    (dict(conventions={"arpr": "laeken"}), "arpr reads two quantile rules \\('eurostat': arpr's line \\(quantile_convention\\); 'laeken': arpr\\)"),
    (dict(conventions={"median": "laeken"}, measures=["median", "qsr"], se_method="bootstrap", psu="db030", replicates=5),
     "two quantile rules in one call \\('eurostat': qsr; 'laeken': median\\) with the bootstrap"),
    (dict(conventions={"poormed": "laeken"}, measures=["poormed"]), "convention 'laeken' for poormed"),
], ids=["interpolated-rmpg", "arpr-two-rules", "mixed-bootstrap", "poormed"])
def test_what_cannot_stream_is_refused_with_why(eusilc, kw, text):
    d, folder = eusilc
    kw = {"measures": ["median", "arpr"], **kw}
    with pytest.raises(MeasureSpecError, match=text) as exc:
        prosperity.measure(folder, income="eqIncome", weight="rb050", **kw)
    assert "backend='memory'" in str(exc.value.hint)
    prosperity.measure(d, income="eqIncome", weight="rb050", **kw)  # in memory it runs


def test_a_gini_convention_next_to_the_gini_based_indices_is_refused(eusilc):
    # out of core wolfson / foster_wolfson / sgini would read the convention's Gini sums (1.8e-4 off in memory's terms)
    d, folder = eusilc
    with pytest.raises(MeasureSpecError, match="for gini together with wolfson"):
        prosperity.measure(folder, income="eqIncome", weight="rb050", measures=["gini", "wolfson"],
                           conventions={"gini": "unbiased"})
