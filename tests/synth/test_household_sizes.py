"""The household-size distribution of the synthetic population is a parameter (``household_sizes``):
the default is the bundled census file, unchanged; a user distribution is calibrated with, generated
and reported by ``margins``; bad distributions are refused with located messages."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from prosperity.cli import synth_cmd
from prosperity.synth import calibrate, make_plan, margins, synthesize_population, write_population
from prosperity.synth.generate import Plan
from prosperity.synth.targets import (DEFAULT_HOUSEHOLD_SIZES, HOUSEHOLD_SIZE_SHARES, household_size_distribution,
                                      read_household_sizes)

# 2010 census, national row of table 1-10 (family households by size, 1 .. 10+ persons)
COUNTS_2010 = [58396327, 97947686, 107978654, 70598493, 40332512, 16887554, 5753970, 2235271, 942511, 861218]
SIZES_2010 = {k + 1: c / sum(COUNTS_2010) for k, c in enumerate(COUNTS_2010)}


# --- (a) the default is the bundled distribution, and the numbers did not move ---------------------

def test_default_is_the_bundled_census_file():
    assert household_size_distribution(None) is DEFAULT_HOUSEHOLD_SIZES
    assert DEFAULT_HOUSEHOLD_SIZES.as_dict() == HOUSEHOLD_SIZE_SHARES
    assert DEFAULT_HOUSEHOLD_SIZES.sizes == (1, 2, 3, 4, 5, 6, 7, 8)
    assert DEFAULT_HOUSEHOLD_SIZES.shares == (0.2539, 0.2968, 0.2099, 0.1317, 0.0619, 0.0290, 0.0110, 0.0058)
    assert household_size_distribution(HOUSEHOLD_SIZE_SHARES) == DEFAULT_HOUSEHOLD_SIZES
    assert household_size_distribution(pd.Series(HOUSEHOLD_SIZE_SHARES)) == DEFAULT_HOUSEHOLD_SIZES


def test_default_output_is_the_one_recorded_before_the_option_existed():
    # recorded with the code before household_sizes existed (persons=20000, seed=3)
    people = synthesize_population(year=2024, persons=20_000, seed=3)
    heads = people[people["person_number"] == 1]
    assert len(heads) == 7797
    assert float(np.average(heads["household_size"], weights=heads["weight"])) == pytest.approx(2.565142548477333, rel=1e-12)
    assert heads["household_size"].iloc[:4].tolist() == [5, 1, 2, 3]
    # incomes to 1e-6: the area GB2 fits (scipy least_squares, lm) have a flat direction, so their parameters move
    # by ~1e-8 between scipy releases (1.17.1 moves these incomes by 5e-8 from the recorded ones); the draws,
    # sizes and ages are exact
    np.testing.assert_allclose(heads["disp_income_pc_yuan"].iloc[:4],
                               [53771.077203281806, 151219.82370365693, 66740.5166010324, 75566.18273871059], rtol=1e-6)
    np.testing.assert_allclose(people.loc[10_000, ["disp_income_pc_yuan", "wage_income_pc_yuan"]].to_numpy(float),
                               [16038.508484448459, 8307.689109477124], rtol=1e-6)
    assert int(people["age"].sum()) == 761556
    assert np.average(people["disp_income_pc_yuan"], weights=people["weight"]) == pytest.approx(41421.33948431323, rel=1e-9)
    fits = calibrate(2024, "gb2")
    assert fits["urban"].gamma == pytest.approx(0.05671885062980332, rel=1e-5)  # the fit's flat direction (above)
    assert fits["rural"].gamma == pytest.approx(0.03746024650391942, rel=1e-5)
    # giving the bundled shares explicitly is the same population
    same = synthesize_population(year=2024, persons=20_000, seed=3, household_sizes=dict(HOUSEHOLD_SIZE_SHARES))
    pd.testing.assert_frame_equal(same, people, check_exact=True)
    assert people.attrs["household_sizes"] == HOUSEHOLD_SIZE_SHARES
    table = margins(people, 2024).set_index(["margin", "key"])
    assert table.loc[("mean_household_size", "all (census 2020)"), "target"] == pytest.approx(2.6162, abs=1e-4)
    assert table.loc["household_size_share", "target"].to_dict() == {
        "1": 0.2539, "2": 0.2968, "3": 0.2099, "4": 0.1317, "5": 0.0619, "6": 0.029, "7": 0.011, "8+": 0.0058}


# --- (b) a user distribution: the 2010 census, 1 .. 10+ --------------------------------------------

@pytest.fixture(scope="module")
def people_2010() -> pd.DataFrame:
    return synthesize_population(year=2024, persons=200_000, seed=7, household_sizes=SIZES_2010)


def test_user_distribution_is_reproduced(people_2010):
    heads = people_2010[people_2010["person_number"] == 1]
    n = len(heads)
    assert people_2010["household_size"].between(1, 10).all() and (heads["household_size"] == 10).sum() > 100
    table = margins(people_2010, 2024).set_index(["margin", "key"])
    shares = table.loc["household_size_share"]
    assert shares.index.tolist() == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10+"]
    np.testing.assert_array_equal(shares["target"], list(SIZES_2010.values()))  # the user's shares are the target
    assert set(shares["role"]) == {"target"}
    p = shares["target"].to_numpy()
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(shares["synthetic"].to_numpy() - p) < 4 * se), (shares, se)
    # achieved (seed 7): 0.1441 0.2447 0.2683 0.1750 0.1019 0.0418 0.0142 0.0055 0.0023 0.0022
    np.testing.assert_allclose(shares["synthetic"], [0.1441, 0.2447, 0.2683, 0.1750, 0.1019, 0.0418, 0.0142, 0.0055,
                                                     0.0023, 0.0022], atol=6e-5)
    mean_row = table.loc[("mean_household_size", "all (household_sizes given)")]
    assert mean_row["target"] == pytest.approx(3.0823, abs=1e-4)  # 2010: 10+ counted as 10
    assert abs(mean_row["rel_error"]) < 0.005
    for margin in ("cell_mean", "cell_population", "source_share"):  # still exact
        assert table.loc[margin, "rel_error"].abs().max() < 1e-9, margin
    assert table.loc["age_share", "rel_error"].abs().max() < 0.03


def test_calibration_uses_the_distribution_and_caches_do_not_mix():
    default = calibrate(2024, "gb2")
    user = calibrate(2024, "gb2", household_sizes=SIZES_2010)
    assert user["urban"].household_sizes.sizes == tuple(range(1, 11))
    assert default["urban"].household_sizes == DEFAULT_HOUSEHOLD_SIZES
    assert user["urban"].gamma != pytest.approx(default["urban"].gamma, rel=1e-3)
    for fit in user.values():  # the fit to the published quintile groups holds with the 2010 sizes too
        rel = np.array(fit.modelled_relative_means) / np.array(fit.target_relative_means) - 1
        assert np.abs(rel).max() < 0.015, fit.area
    assert calibrate(2024, "gb2") is default  # cached per distribution
    assert calibrate(2024, "gb2", household_sizes=pd.Series(SIZES_2010)) is user
    factors = user["urban"].size_factors()
    persons = np.array(list(SIZES_2010)) * np.array(list(SIZES_2010.values()))
    assert np.sum(persons * factors) / persons.sum() == pytest.approx(1.0, rel=1e-12)  # normalised over the 2010 sizes
    plan = make_plan(2024, 1_000, 1, household_sizes=SIZES_2010)
    assert plan.household_sizes == user["urban"].household_sizes
    with pytest.raises(ValueError, match="calibrated with household sizes"):
        Plan(plan.targets, plan.fits, plan.persons, 1, 1_000)  # default sizes with fits for 2010 sizes


def test_file_and_cli_carry_the_distribution(tmp_path, people_2010):
    csv = tmp_path / "sizes.csv"
    pd.DataFrame({"size": list(SIZES_2010), "share": list(SIZES_2010.values())}).to_csv(csv, index=False)
    assert read_household_sizes(csv).as_dict() == pytest.approx(SIZES_2010, rel=1e-15)
    app = typer.Typer()
    synth_cmd.register(app)
    app.command("noop")(lambda: None)
    out = tmp_path / "p.parquet"
    result = CliRunner().invoke(app, ["synth", "--persons", "3000", "--seed", "2", "--out", str(out),
                                      "--household-sizes", str(csv), "--check"])
    assert result.exit_code == 0, result.output
    assert "household_size_share" in result.output
    back = pd.read_parquet(out)
    api = synthesize_population(year=2024, persons=3000, seed=2, household_sizes=SIZES_2010)
    pd.testing.assert_frame_equal(back, api, check_categorical=False)
    import pyarrow.parquet as pq

    meta = json.loads(pq.read_schema(out).metadata[b"prosperity"])
    assert {int(k): v for k, v in meta["household_sizes"].items()} == pytest.approx(SIZES_2010, rel=1e-15)
    # a frame read back has no attrs: margins takes the distribution explicitly
    table = margins(back, 2024, household_sizes=SIZES_2010)
    assert table.query("margin == 'household_size_share'")["key"].iloc[-1] == "10+"
    summary = write_population(tmp_path / "q.parquet", persons=2000, seed=2, household_sizes=read_household_sizes(csv))
    assert summary["persons"] == 2000


# --- (c) validation --------------------------------------------------------------------------------

BAD = {
    "empty": ({}, "household_sizes is empty. Fix:"),
    "negative share": ({1: 0.5, 2: 0.6, 3: -0.1}, "household_sizes: the share of size 3 is -0.1; a share of households must be a finite number >= 0"),
    "NaN share": ({1: 0.5, 2: np.nan, 3: 0.5}, r"household_sizes: the share of size 2 is missing \(NaN\)"),
    "text share": ({1: 0.5, 2: "half"}, "household_sizes: the share of size 2 is 'half', not a number"),
    "sum not 1": ({1: 0.3, 2: 0.3, 3: 0.3}, r"household_sizes: the shares of sizes 1..3 sum to 0.9, not 1 \(tolerance 1e-06\); they are not rescaled silently"),
    "percentages": ({1: 40.0, 2: 60.0}, "sum to 100, not 1 .* they look like percentages: divide each by 100"),
    "counts": (dict(enumerate(COUNTS_2010, 1)), r"sum to 401934196, not 1 .* divide each by their total \(401,934,196\)"),
    "size not whole": ({1: 0.5, 2.5: 0.5}, "household_sizes: size 2.5 is not a positive whole number of persons"),
    "size zero": ({0: 0.5, 1: 0.5}, "household_sizes: size 0 is not a positive whole number of persons"),
    "size 8+": ({1: 0.5, "8+": 0.5}, "household_sizes: size '8\\+' is not a positive whole number of persons. Fix: write 8"),
    "size too large": ({1: 0.5, 200: 0.5}, "household_sizes: size 200 exceeds 127 persons"),
    "single size": ({3: 1.0}, r"household_sizes: only one size is given \(size 3\); the generator needs at least two"),
    "one positive share": ({3: 1.0, 4: 0.0}, "household_sizes: only size 3 has a positive share"),
    "repeated size": (pd.Series([0.5, 0.5], index=[2, 2]), "household_sizes: size 2 is given twice"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_distributions_are_refused_naming_the_size(case):
    value, message = BAD[case]
    with pytest.raises(ValueError, match=message):
        household_size_distribution(value)


def test_bad_distribution_refused_before_anything_is_computed_or_written(tmp_path):
    with pytest.raises(ValueError, match="size 3"):
        synthesize_population(persons=1000, household_sizes={1: 0.5, 2: 0.6, 3: -0.1})
    with pytest.raises(ValueError, match="sum to 0.9"):
        write_population(tmp_path / "x.parquet", persons=1000, household_sizes={1: 0.3, 2: 0.6})
    assert not (tmp_path / "x.parquet").exists()
    with pytest.raises(ValueError, match="sum to 0.9"):
        calibrate(2024, household_sizes={1: 0.3, 2: 0.6})
    with pytest.raises(TypeError, match="mapping"):
        household_size_distribution([0.5, 0.5])


@pytest.mark.parametrize("text, message", [
    ("size,share\n1,0.5\n2,0.6\n3,-0.1\n", r"data row 3: the share of size 3 is -0.1 \(data rows count from 1 below the header\)"),
    ("size,share\n1,0.5\n2,\n3,0.5\n", r"data row 2: the share of size 2 is missing \(NaN\)"),
    ("size,share\n1,0.5\n8+,0.5\n", "data row 2: size '8\\+' is not a positive whole number of persons"),
    ("size,share\n1,0.5\n2,0.3\n2,0.2\n", r"size 2 is given twice \(data rows 2 and 3;"),
    ("size,share\n1,0.5\n2,0.3\n", "the shares of sizes 1..2 sum to 0.8, not 1"),
    ("size,share\n3,1\n", r"data row 1: only one size is given \(size 3\)"),
    ("size,pct\n1,0.5\n2,0.5\n", r"lacks the column\(s\) 'share' \(its columns: size, pct\)"),
    ("size,share\n", "has a header but no data rows"),
])
def test_bad_file_names_the_data_row(tmp_path, text, message):
    path = tmp_path / "sizes.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match="household sizes file 'sizes.csv'.*" + message):
        read_household_sizes(path)
