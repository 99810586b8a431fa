"""No silent wrong answer from the composite index (issue 13): the year shown, the data-availability
rule, directions never guessed, imputation on a cross-section and by group, degenerate indicators."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from prosperity.index import build_index, loads
from prosperity.index.china import china_provincial_panel


@pytest.fixture(scope="module")
def china():
    return china_provincial_panel()


def _quiet(*args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_index(*args, **kw)


@pytest.mark.parametrize("framework, year", [("affluence_sharing", 2018), ("five_concepts", 2018),
                                             ("zhejiang_2025", 2018)])
def test_the_default_year_is_the_latest_with_data(china, framework, year):
    res = _quiet(china, framework, region="province")
    assert res.default_year() == year
    shown = res.scores[res.scores["year"] == year]
    assert shown["score"].notna().all() and len(shown) == 31
    dy = res.data_years.set_index("year")
    assert dy.loc[2024, "units_scored"] == 0  # the bundled frameworks' indicators end before 2024
    assert any("no index score in year(s)" in w and "2024" in w for w in res.warnings)


def test_a_year_without_data_is_refused_with_the_indicators_and_their_last_year(china):
    res = _quiet(china, "affluence_sharing", region="province")
    with pytest.raises(ValueError) as e:
        res.check_year(2024)
    msg = str(e.value)
    assert msg.startswith("year 2024: the index is scored for 0 of 31 units only; indicators without data that year:")
    assert "consumption_pc (last year 2018)" in msg and "gdp_pc (last year 2023)" in msg
    assert "(latest with enough: 2018)" in msg
    res.check_year(2018)  # a year with data passes


def test_zhejiang_2024_is_not_scored_from_one_dimension(china):
    res = _quiet(china, "zhejiang_2025", region="province")
    y24 = res.scores[res.scores["year"] == 2024]
    assert y24["score"].isna().all()  # one of four dimensions: below the 50 % rule
    cov = res.coverage[res.coverage["year"] == 2024]
    assert np.allclose(cov["index"], 0.25)
    y23 = res.coverage[res.coverage["year"] == 2023]
    assert np.allclose(y23["index"], 0.5)  # two of four: scored, and the coverage says so
    strict = _quiet(china, "zhejiang_2025", region="province", min_coverage=0.75)
    assert strict.scores.loc[strict.scores["year"] == 2023, "score"].isna().all()
    assert strict.default_year() == 2018


def test_coverage_rule_by_hand():
    df = pd.DataFrame({"region": list("abc"), "x1": [1.0, 2.0, 3.0], "x2": [2.0, np.nan, 1.0],
                       "y1": [1.0, np.nan, 3.0], "y2": [3.0, np.nan, 2.0]})
    fw = loads("name: t\ndimensions:\n"
               "  - code: X\n    indicators: [{code: x1, direction: '+'}, {code: x2, direction: '+'}]\n"
               "  - code: Y\n    indicators: [{code: y1, direction: '+'}, {code: y2, direction: '+'}]\n")
    res = _quiet(df, fw, year=None, weighting="equal")
    # unit b: X has 1 of 2 indicators (50 %: scored), Y has 0 of 2 (missing); the index has 1 of 2 dimensions
    cov = res.coverage.set_index("region")
    assert cov.loc["b", "X"] == 0.5 and cov.loc["b", "Y"] == 0.0 and cov.loc["b", "index"] == 0.5
    dims = res.dimensions
    assert np.isnan(dims["Y"][1]) and dims["X"][1] == pytest.approx(0.5)  # x1 min-max (2-1)/(3-1)
    assert res.scores["score"][1] == pytest.approx(0.5)
    strict = _quiet(df, fw, year=None, weighting="equal", min_coverage=1.0)
    assert np.isnan(strict.scores["score"][1]) and np.isnan(strict.dimensions["X"][1])
    assert any("1 of 3 units have no index score" in w for w in strict.warnings)


def test_directions_are_never_guessed():
    df = pd.DataFrame({"region": list("abcd"), "income": [1.0, 2, 3, 4], "unemployment": [5.0, 4, 6, 3]})
    with pytest.raises(ValueError, match=r"no direction for 2 indicator column\(s\): income, unemployment\. "
                                         r"A direction is never guessed"):
        build_index(df, year=None)
    with pytest.raises(ValueError, match=r"no direction for 1 indicator column\(s\): income"):
        build_index(df, year=None, negative=["unemployment"])
    res = _quiet(df, year=None, negative=["unemployment"], positive=["income"], weighting="equal")
    assert res.weights.loc["unemployment", "direction"] == "-"
    # a: income 0, unemployment (6-5)/3; d: 1 and 1
    assert res.scores["score"].tolist() == pytest.approx([(0 + 1 / 3) / 2, (1 / 3 + 2 / 3) / 2, (2 / 3 + 0) / 2, 1.0])
    with pytest.raises(ValueError, match="declared both positive and negative: income"):
        build_index(df, year=None, negative=["income"], positive=["income"])


def test_the_bundled_panel_carries_directions_and_roles(china):
    meta = china.attrs["columns"]
    assert meta["unemployment_rate"]["direction"] == "-" and meta["so2_intensity"]["direction"] == "-"
    assert meta["pop"]["role"] == "denominator" and meta["year"]["role"] == "identifier"
    res = _quiet(china, region="province")
    w = res.weights
    for less in ("unemployment_rate", "so2_intensity", "coal_intensity", "crime_cost_share", "divorce_rate",
                 "commuting_min", "atkinson"):
        assert w.loc[less, "direction"] == "-", less
    assert w.loc["investment_rate", "direction"] == "moderate"
    assert "pop" not in w.index and "pop_interpolated" not in w.index


def test_mean_imputation_on_a_cross_section_and_by_group():
    df = pd.DataFrame({"region": list("abcdef"), "grp": ["E", "E", "E", "W", "W", "W"],
                       "x": [1.0, 2, np.nan, 10, 20, np.nan], "y": [3.0, 1, 2, 5, 4, 6]})
    res = _quiet(df, year=None, imputation="mean", positive=["rest"])
    step = next(s for s in res.steps if s["step"] == "imputation")
    assert step["cells_imputed"] == 2 and "cross-section" in step["groups"]
    assert res.raw["x"].tolist() == [1.0, 2.0, 8.25, 10.0, 20.0, 8.25]
    by = _quiet(df, year=None, imputation="mean", impute_groups="grp", positive=["rest"])
    assert by.raw["x"].tolist() == [1.0, 2.0, 1.5, 10.0, 20.0, 15.0]
    with pytest.raises(ValueError, match="impute_groups='gpr' is not a column of the data \\(did you mean grp"):
        build_index(df, year=None, imputation="mean", impute_groups="gpr", positive=["rest"])


def test_degenerate_indicators_are_named():
    df = pd.DataFrame({"region": list("abcd"), "x": [1.0, 2, 3, 4], "k": [5.0] * 4, "one": [np.nan, 2, np.nan, np.nan]})
    res = _quiet(df[["region", "x", "k"]], year=None, positive=["rest"])
    assert any(w.startswith("indicator 'k' is constant (5 in all 4 units") for w in res.warnings)
    assert res.weights.loc["k", "effective"] == 0.0
    with pytest.raises(ValueError, match=r"fewer than two values cannot be normalised: one \(1 of 4 units: only at b\)"):
        build_index(df[["region", "x", "one"]], year=None, positive=["rest"])
    fw = loads("name: t\ndimensions:\n  - code: d1\n    weight: 0\n    indicators: [{code: x, direction: '+'}]\n"
               "  - code: d2\n    weight: 1\n    indicators: [{code: k2, direction: '+'}]\n")
    res = _quiet(df.assign(k2=[3.0, 1, 4, 1]), fw, year=None)
    assert "group 'index' gives weight 0 to d1: it does not enter the index" in res.warnings
    assert res.scores["score"].tolist() == pytest.approx([2 / 3, 0.0, 1.0, 0.0])


def test_cli_shows_the_default_year_and_coverage(china):
    from prosperity.cli import _register, app

    _register()
    out = CliRunner().invoke(app, ["index", "china", "--framework", "affluence_sharing"], env={"COLUMNS": "120"})
    assert out.exit_code == 0, out.output
    import re

    assert "scores (2018)" in out.stdout and not re.search(r"\bnan\b", out.stdout)
    assert "year shown: 2018" in out.stdout and "2019-2024 too little data" in out.stdout
    bad = CliRunner().invoke(app, ["index", "china", "--framework", "affluence_sharing", "--show-year", "2024"])
    assert bad.exit_code == 2 and "indicators without data that year" in bad.output
    js = CliRunner().invoke(app, ["index", "china", "--framework", "zhejiang_2025", "--format", "json"])
    doc = json.loads(js.stdout)
    assert doc["default_year"] == 2018 and {"coverage", "data_years"} <= set(doc)
