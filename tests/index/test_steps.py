"""The pipeline's steps in the order a framework lists them, the step log, and the coupling floor.

Hand-worked cases: every expected number below is computed in the test's comments from the
small frame, not read off the pipeline.
"""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prosperity.index import build_index
from prosperity.index.china import china_provincial_panel
from prosperity.index.framework import COINR_ORDER, DEFAULT_ORDER, FrameworkError, loads


def _quiet(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_index(*args, **kw)


# a numerator with one gap, a denominator, and a second indicator
SMALL = pd.DataFrame({"region": list("abcd"), "x": [10.0, 20.0, np.nan, 40.0], "pop": [1.0, 4.0, 5.0, 8.0],
                      "y": [1.0, 2.0, 3.0, 4.0]})

HEAD = """name: small
defaults: {weighting: equal}
"""
DIMS = """dimensions:
  - code: only
    indicators:
      - {code: x_pc, column: x, denominator: pop, direction: "+"}
      - {code: y, direction: "+"}
"""


def _fw(steps: str | None, defaults_extra: str = ""):
    head = HEAD.replace("weighting: equal", "weighting: equal" + defaults_extra)
    return loads(head + (steps or "") + DIMS)


# ----------------------------------------------------------------------------- the order matters
def test_impute_before_or_after_denominate_by_hand():
    # default order (denominate, screen, impute, treat): x/pop = 10, 5, NaN, 5; the mean of the
    # ratios fills c: (10 + 5 + 5)/3 = 20/3. min-max: c = (20/3 - 5)/(10 - 5) = 1/3.
    # y min-max: 0, 1/3, 2/3, 1. Equal weights: score c = (1/3 + 2/3)/2 = 1/2.
    default = _quiet(SMALL, _fw(None, ", imputation: mean"), year=None)
    assert default.steps.order == DEFAULT_ORDER
    assert default.raw["x_pc"].tolist() == pytest.approx([10, 5, 20 / 3, 5], abs=1e-14)
    assert default.scores.set_index("region").loc["c", "score"] == pytest.approx(0.5, abs=1e-14)
    # COINr's order (denominate after impute would be: impute, then denominate): the mean of the
    # numerators fills c: (10 + 20 + 40)/3 = 70/3, then / 5 = 14/3. Ratios 10, 5, 14/3, 5:
    # min-max c = 0, b = d = (5 - 14/3)/(10 - 14/3) = 1/16. Score c = (0 + 2/3)/2 = 1/3.
    steps = "steps: [impute, denominate, screen, treat, normalise, aggregate]\n"
    fw = loads(HEAD + steps.replace("impute,", "{impute: mean},") + DIMS)
    swapped = _quiet(SMALL, fw, year=None)
    assert swapped.steps.order == ("impute", "denominate", "screen", "treat", "normalise", "aggregate")
    assert swapped.raw["x_pc"].tolist() == pytest.approx([10, 5, 14 / 3, 5], abs=1e-14)
    s = swapped.scores.set_index("region")["score"]
    assert s["c"] == pytest.approx(1 / 3, abs=1e-14)
    assert s["b"] == pytest.approx((1 / 16 + 1 / 3) / 2, abs=1e-14)
    # the log says what each did: 3 ratios divided then 1 imputed, versus 1 numerator imputed
    # then 4 cells divided
    assert default.steps["denominate"].count("cells_denominated") == 3
    assert swapped.steps["denominate"].count("cells_denominated") == 4
    for res in (default, swapped):
        imp = res.steps["impute"]
        assert imp.count("cells_imputed") == 1 and imp.names("cells_imputed") == ("x_pc",)
        assert imp.options == {"method": "mean", "groups": "year"}
    assert [r.position for r in swapped.steps.records] == [1, 2, 3, 4, 5, 6]
    assert swapped.steps.source.startswith("the framework's steps: (line 3)")


def test_screen_before_or_after_impute_by_hand():
    # unit b has 1 of 3 indicators: screening at 0.6 drops it when it runs first (the default
    # order); after mean imputation (COINr's order) b is complete and stays.
    df = pd.DataFrame({"region": list("abcd"), "u": [1.0, np.nan, 3.0, 4.0], "v": [2.0, np.nan, 6.0, 1.0],
                       "w": [5.0, 7.0, 6.0, 9.0]})
    first = _quiet(df, year=None, positive=["rest"], imputation="mean", min_availability=0.6)
    assert first.steps["screen"].count("units_dropped") == 1 and first.steps["screen"].names("units_dropped") == ("b",)
    assert first.steps["impute"].count("cells_imputed") == 0 and len(first.scores) == 3
    later = _quiet(df, year=None, positive=["rest"], imputation="mean", min_availability=0.6, steps=COINR_ORDER)
    assert later.steps.source == "the steps= option"
    assert later.steps["screen"].count("units_dropped") == 0 and len(later.scores) == 4
    # b's u = mean(1, 3, 4) = 8/3, v = mean(2, 6, 1) = 3
    b = later.raw.iloc[1]
    assert b["u"] == pytest.approx(8 / 3, abs=1e-14) and b["v"] == pytest.approx(3.0, abs=1e-14)
    assert later.steps["impute"].count("cells_imputed") == 2


def test_explicit_default_order_changes_nothing():
    steps = "steps: [denominate, screen, {impute: mean}, treat, normalise, aggregate]\n"
    a = _quiet(SMALL, _fw(None, ", imputation: mean"), year=None)
    b = _quiet(SMALL, loads(HEAD + steps + DIMS), year=None)
    assert a.scores.equals(b.scores) and a.to_dict()["steps"] == b.to_dict()["steps"]


def test_step_options_set_the_run():
    steps = ("steps:\n  - denominate\n  - impute: {method: median}\n  - normalise: {method: minmax, range: [1, 100]}\n"
             "  - aggregate: {method: geometric}\n")
    res = _quiet(SMALL, loads(HEAD + steps + DIMS), year=None)
    assert res.steps.order == ("denominate", "impute", "normalise", "aggregate")
    assert res.config.imputation == "median" and res.config.range == (1.0, 100.0)
    assert res.config.aggregation == "geometric"
    # ratios 10, 5, NaN, 5: the median fills c with 5; y on [1, 100]: 1, 34, 67, 100
    assert res.raw["x_pc"].tolist() == [10.0, 5.0, 5.0, 5.0]
    # geometric mean of (1, 1) for a: x_pc min-max [1,100] -> 100 for a, 1 for the rest
    s = res.scores.set_index("region")["score"]
    assert s["a"] == pytest.approx(np.sqrt(100 * 1), abs=1e-12)
    assert s["d"] == pytest.approx(np.sqrt(1 * 100), abs=1e-12)
    assert s["b"] == pytest.approx(np.sqrt(1 * 34), abs=1e-12)


# ----------------------------------------------------------------------------- the log on the bundled frameworks
@pytest.fixture(scope="module")
def china():
    return china_provincial_panel(2010, 2018)


def test_step_log_counts_on_bundled_frameworks(china):
    res = _quiet(china, "five_concepts", region="province", imputation="linear,latest,mean", treatment="coinr")
    codes = res.framework.codes
    assert res.steps.order == DEFAULT_ORDER
    # imputation: the log's count is the gaps in the data themselves (counted on the panel)
    gaps = china[codes].isna()
    imp = res.steps["impute"]
    assert imp.count("cells_imputed") == int(gaps.to_numpy().sum()) == 40
    assert imp.names("cells_imputed") == tuple(c for c in codes if gaps[c].any()) == ("so2_intensity", "coal_intensity")
    assert imp.count("cells_imputed") == sum(d["cells_imputed"] for d in res.steps if d["step"] == "imputation")
    assert imp.count("cells_still_missing") == 0 == int(res.raw.isna().to_numpy().sum())
    # treatment: the indicators whose values changed are the ones the log names
    untreated = _quiet(china, "five_concepts", region="province", imputation="linear,latest,mean")
    changed = tuple(c for c in codes if not np.array_equal(untreated.raw[c], res.raw[c]))
    tr = res.steps["treat"]
    assert tr.names("indicators_treated") == changed == ("so2_intensity", "pub_education_pc")
    points = sum(int((untreated.raw[c] != res.raw[c]).sum()) for c in changed)
    assert tr.count("points_winsorised") == points == 3
    assert res.steps["screen"].count("units_dropped") == 0
    agg = res.steps["aggregate"]
    assert agg.names("groups_level_1") == ("innovation", "coordination", "green", "sharing")
    assert agg.count("units_unscored") == int(res.scores["score"].isna().sum()) == 0
    assert res.steps["normalise"].count("indicators_normalised") == len(codes) == 14

    two = _quiet(china, "affluence_sharing", region="province", imputation="linear,mean")
    a = two.steps["aggregate"]
    assert a.names("groups_level_2") == ("income_gap", "urban_rural", "public_services")
    assert a.names("groups_level_1") == ("affluence", "sharing") and a.names("groups_level_0") == ("index",)

    z = _quiet(china_provincial_panel(2016, 2023), "zhejiang_2025", region="province")
    n = z.steps["normalise"]
    # realisation degree where a target exists; pub_education_pc has goalposts only
    assert n.names("indicators_goalposts") == ("pub_education_pc",)
    assert n.count("indicators_normalised") == 4
    assert z.steps["impute"].count("cells_still_missing") == int(z.raw.isna().to_numpy().sum())

    frame = res.steps.to_frame()
    assert list(frame.columns) == ["position", "step", "options", "changed", "count", "names"]
    row = frame[(frame.step == "impute") & (frame.changed == "cells_imputed")].iloc[0]
    assert row["count"] == 40 and row["names"] == "so2_intensity, coal_intensity" and row["position"] == 3


def test_json_keeps_steps_and_adds_step_log():
    res = _quiet(SMALL, _fw(None, ", imputation: mean"), year=None)
    d = json.loads(res.to_json())
    assert [s["step"] for s in d["steps"]] == ["denomination", "screening", "imputation", "normalisation",
                                               "weighting", "aggregation"]
    log = d["step_log"]
    assert log["order"] == list(DEFAULT_ORDER) and log["source"] == "the default order"
    imp = log["steps"][2]
    assert imp["step"] == "impute" and imp["position"] == 3
    assert {"what": "cells_imputed", "count": 1, "names": ["x_pc"]} in imp["changes"]
    # the list-of-dicts access of older code still works
    assert [s for s in res.steps if s["step"] == "imputation"][0]["cells_imputed"] == 1


# ----------------------------------------------------------------------------- refused orders
def _issues(steps: str, defaults_extra: str = "", dims: str = DIMS):
    with pytest.raises(FrameworkError) as exc:
        loads(HEAD.replace("weighting: equal", "weighting: equal" + defaults_extra) + steps + dims)
    return [(i.line, i.path, i.message) for i in exc.value.issues]


def test_aggregate_before_normalise_is_refused_with_line():
    got = _issues("steps:\n  - denominate\n  - aggregate\n  - normalise\n")
    assert got == [(5, "steps[1]", "aggregate (line 5) comes before normalise (line 6): aggregation combines "
                    "normalised indicators. Fix: put normalise before aggregate")]


def test_step_twice_unknown_and_late_data_step():
    got = _issues("steps:\n  - denominate\n  - imputation\n  - normalise\n  - treat\n  - aggregate\n  - denominate\n")
    lines = {(ln, p): m for ln, p, m in got}
    assert "unknown step 'imputation' (did you mean 'impute'?)" in lines[(5, "steps[1]")]
    assert lines[(9, "steps[5]")].startswith("step 'denominate' is listed twice (first at line 4)")
    assert lines[(7, "steps[3]")].startswith("treat (line 7) comes after normalise (line 6)")
    assert "Fix: move treat before normalise" in lines[(7, "steps[3]")]
    assert _issues("steps: [denominate, normalize, aggregate]\n")[0][2].startswith(
        "unknown step 'normalize' (did you mean 'normalise'?)")


def test_missing_steps_options_and_conflicts():
    got = _issues("steps: [denominate, normalise]\n")
    assert got == [(3, "steps", "the steps lack 'aggregate', which every index needs. Fix: add `- aggregate` "
                    "as the last step")]
    got = _issues("steps:\n  - denominate\n  - impute: {method: mena, grups: region}\n  - normalise\n  - aggregate\n")
    msgs = {p: m for _, p, m in got}
    assert msgs["steps[1].impute.grups"] == "unknown option 'grups' of step 'impute' (did you mean 'groups'?)"
    assert msgs["steps[1].impute.method"].startswith("impute method must be one of none, mean, median")
    # defaults and a step that disagree, a default whose step is absent, a denominator without denominate
    got = _issues("steps:\n  - denominate\n  - impute: median\n  - normalise\n  - aggregate\n", ", imputation: mean")
    assert got[0][:2] == (5, "steps[1].impute.method") and "defaults.imputation is 'mean' (line 2)" in got[0][2]
    got = _issues("steps: [denominate, normalise, aggregate]\n", ", treatment: coinr")
    assert got == [(2, "defaults.treatment", "defaults.treatment is 'coinr', but steps: lists no treat step, so it "
                    "would not run. Fix: add `- treat: coinr` to steps: where it belongs in the order, or remove "
                    "defaults.treatment")]
    got = _issues("steps: [impute, normalise, aggregate]\n")
    assert got[0][1] == "dimensions[only].indicators[x_pc].denominator" and got[0][0] == 7
    assert "steps: lists no denominate step" in got[0][2]


def test_run_options_and_steps_option_are_checked():
    with pytest.raises(ValueError, match=r"steps=impute,aggregate,normalise: aggregate \(step 2\) comes before normalise \(step 3\)"):
        build_index(SMALL, _fw(None), year=None, steps="impute,aggregate,normalise")
    with pytest.raises(ValueError, match=r"imputation='mean' was asked for, but the framework's steps: \(from line 4\) "
                                         "list no impute step"):
        build_index(SMALL, loads(HEAD + "steps:\n  - denominate\n  - normalise\n  - aggregate\n" + DIMS), year=None,
                    imputation="mean")
    with pytest.raises(ValueError, match="have no denominate step, but x_pc has a denominator in the framework"):
        build_index(SMALL, _fw(None), year=None, steps="impute,normalise,aggregate")


# ----------------------------------------------------------------------------- coupling floor
COUPLED = """name: two systems
defaults: {weighting: equal, coupling_floor: 1.0e-10}
dimensions:
  - {code: s1, indicators: [{code: x, direction: "+"}]}
  - {code: s2, indicators: [{code: y, direction: "+"}]}
"""


def test_coupling_floor_from_the_framework_by_hand():
    df = pd.DataFrame({"region": list("pqr"), "x": [0.0, 1.0, 2.0], "y": [2.0, 0.0, 1.0]})
    # min-max: U(p) = (0, 1), U(q) = (0.5, 0), U(r) = (1, 0.5)
    floored = _quiet(df, loads(COUPLED), year=None).coupling.set_index("region")
    plain = _quiet(df, loads(COUPLED.replace(", coupling_floor: 1.0e-10", "")), year=None).coupling.set_index("region")
    # without a floor C = 2 sqrt(U1 U2)/(U1 + U2) = 0 when a system scores 0; with it U1 = 1e-10:
    c_p = 2 * np.sqrt(1e-10 * 1.0) / (1e-10 + 1.0)
    assert plain.loc["p", "C"] == 0.0 and plain.loc["p", "D"] == 0.0
    assert floored.loc["p", "C"] == pytest.approx(c_p, rel=1e-12)
    assert floored.loc["p", "D"] == pytest.approx(np.sqrt(c_p * 0.5), rel=1e-12)  # T = (0 + 1)/2, unfloored
    c_q = 2 * np.sqrt(0.5 * 1e-10) / (0.5 + 1e-10)
    assert floored.loc["q", "C"] == pytest.approx(c_q, rel=1e-12)
    # a unit with no zero is untouched: C = 2 sqrt(0.5)/1.5
    assert floored.loc["r", "C"] == plain.loc["r", "C"] == pytest.approx(2 * np.sqrt(0.5) / 1.5, rel=1e-14)
    with pytest.raises(FrameworkError, match="coupling_floor"):
        loads(COUPLED.replace("1.0e-10", "2"))
    with pytest.raises(ValueError, match="coupling_floor must lie between 0 and 1"):
        build_index(df, loads(COUPLED), year=None, coupling_floor=1.5)


# ----------------------------------------------------------------------------- CLI
def test_cli_prints_the_steps_and_json_has_the_log(cli, tmp_path):
    fw = tmp_path / "fw.yaml"
    fw.write_text(HEAD + "steps: [{impute: mean}, denominate, screen, treat, normalise, aggregate]\n" + DIMS)
    data = tmp_path / "d.csv"
    SMALL.to_csv(data, index=False)
    res = CliRunner().invoke(cli, ["index", str(data), "--framework", str(fw)], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "steps, in the order they ran (the framework's steps: (line 3))" in out
    lines = out.splitlines()
    assert max(len(x) for x in lines) <= 80 and not any("…" in x for x in lines)
    first = next(i for i, x in enumerate(lines) if "│ 1 " in x)
    assert "impute" in lines[first] and "1 of 1 missing cells" in out
    assert "4 cells of 1" in out  # denominate after impute divides all four numerators
    res = CliRunner().invoke(cli, ["index", str(data), "--framework", str(fw), "--format", "json"])
    d = json.loads(res.stdout)
    assert d["step_log"]["order"] == list(COINR_ORDER[1:2] + COINR_ORDER[:1] + COINR_ORDER[2:])
    assert d["scores"] and [s["step"] for s in d["steps"]][0] == "imputation"
    bad = CliRunner().invoke(cli, ["index", str(data), "--framework", str(fw), "--steps", "normalise,impute,aggregate"])
    assert bad.exit_code == 2 and "impute (step 2) comes after normalise (step 1)" in bad.output


# ----------------------------------------------------------------------------- COINr's example order, one call
def test_one_call_pipeline_in_coinr_order_equals_the_coinr_rebuild():
    """build_index with COINr's steps (Denominate, Impute i_mean_grp, Screen 0.9, Treat, Normalise
    n_minmax 0-100, Aggregate a_amean) gives the scores of coinr_example.build_example, which follows
    build_example_coin() function by function, on a COINr-format iData/iMeta."""
    from prosperity.index import coinr_example as ce

    idata = pd.DataFrame({
        "uCode": list("ABCDEF"), "EurAsia_group": ["Asia", "Asia", "Europe", "Europe", "Europe", "Asia"],
        "Pop": [1.0, 2.0, 4.0, 5.0, 10.0, 3.0],
        "i1": [1.0, 2.0, 3.0, 4.0, 5.0, 9.0], "i2": [10.0, 8.0, 6.0, np.nan, 2.0, 1.0],
        "i3": [2.0, 4.0, 6.0, 8.0, 20.0, np.nan]})
    imeta = pd.DataFrame({
        "Level": [1, 1, 1, 2, 2, 3, np.nan], "iCode": ["i1", "i2", "i3", "P1", "P2", "Index", "Pop"],
        "Direction": [1, -1, 1, 1, 1, 1, np.nan], "Weight": [1, 1, 1, 1, 2, 1, np.nan],
        "Denominator": [None, None, "Pop", None, None, None, None],
        "Parent": ["P1", "P1", "P2", "Index", "Index", None, None],
        "Type": ["Indicator"] * 3 + ["Aggregate"] * 3 + ["Denominator"]})
    ref = ce.build_example(idata, imeta)
    yaml_text = """name: COINr example (small)
steps:
  - denominate
  - impute: {method: mean, groups: EurAsia_group}
  - screen: {min_availability: 0.9}
  - treat: coinr
  - normalise: {method: minmax, range: [0, 100]}
  - aggregate: {method: arithmetic, weighting: user}
dimensions:
  - code: P1
    weight: 0.3333333333333333
    indicators:
      - {code: i1, direction: "+", weight: 0.5}
      - {code: i2, direction: "-", weight: 0.5}
  - code: P2
    weight: 0.6666666666666667
    indicators:
      - {code: i3, direction: "+", denominator: Pop, weight: 1}
"""
    res = _quiet(idata, loads(yaml_text), region="uCode", year=None)
    assert res.steps.order == COINR_ORDER
    got = res.scores.set_index("region")["score"]
    assert np.allclose(got.to_numpy(), ref.index.loc[got.index].to_numpy(), rtol=0, atol=1e-12)
    # by hand for D: i2 = Europe mean (6 + 2)/2 = 4 -> 100 (10 - 4)/(10 - 1); F: i3/Pop = Asia mean of
    # 2, 2 = 2 (ratios: A 2, B 2, C 1.5, D 1.6, E 2, F 2)
    assert res.normalised.iloc[3]["i2"] == pytest.approx(100 * 6 / 9, abs=1e-12)
    assert res.raw.iloc[5]["i3"] == 2.0
    assert res.steps["impute"].count("cells_imputed") == 2
