"""Incomes and weights near the limits of floating point: exact rescaling in the table layer, and a
located refusal (never inf / NaN / a blank with exit 0) when no finite result exists."""

from __future__ import annotations

import json
import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from prosperity.io.errors import ProsperityInputError
from prosperity.measures import catalog  # noqa: F401 - fills the registry
from prosperity.measures.catalog import INCOME_PARAMS, INCOME_SCALING
from prosperity.measures.registry import REGISTRY
from prosperity.table import measure

# a parameter for the measures that need one (others run with their defaults)
PARAMS = {"quantile": "0.3", "ge": "2", "atkinson": "0.5", "fgt": "1", "sgini": "3", "share": "0.9",
          "lorenz": "0.4", "glorenz": "0.4"}
# more parameters, covering each branch of the kernels (logs, zero / integer / fractional powers)
EXTRA = ["ge:0", "ge:1", "ge:0.5", "ge:-1", "atkinson:1", "atkinson:2", "fgt:0", "fgt:2", "esteban_ray:1.6",
         "cv", "share:0:0.4", "quantile:0.9"]
# kernels that take logarithms of incomes (ln y - ln mu) or fractional powers of densities: an exact
# power-of-two rescaling of the incomes changes them in the last bits only (ln(2^k y) is rounded)
LOG_OR_POWER = {"mld", "varlog", "ge:0", "atkinson:1", "esteban_ray:1.6"}
POWER_OF_TWO = 2.0**990
KW = dict(weight="rb050", strata="db040", psu="db030", by="db040", poverty_line=11000.0)


def catalogue(factor: float = 1.0) -> list[str]:
    """Every registered measure; parameters in income units (absolute bands, standards) times ``factor``."""
    out = []
    for name, spec in REGISTRY.items():
        if name in INCOME_PARAMS:
            out.append(name + ":" + ":".join(repr(spec.defaults[p] * factor) for p in spec.params))
        elif name in PARAMS:
            out.append(f"{name}:{PARAMS[name]}")
        else:
            out.append(name)
    return out + EXTRA


def test_every_measure_declares_its_scaling():
    assert set(REGISTRY) <= set(INCOME_SCALING)
    assert set(INCOME_SCALING.values()) <= {"invariant", "equivariant"}
    for name, params in INCOME_PARAMS.items():
        assert set(params) <= set(REGISTRY[name].params)


@pytest.fixture(scope="module")
def positive(eusilc) -> pd.DataFrame:
    return eusilc[eusilc["eqIncome"] > 0].reset_index(drop=True)


def run_quiet(frame, names, **kw) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning (overflow, invalid value) on the way
        return measure(frame, "eqIncome", names, **kw).to_frame()


@pytest.fixture(scope="module")
def base(positive) -> pd.DataFrame:
    return run_quiet(positive, catalogue(), se=True, **KW)


def income_factor(frame: pd.DataFrame, factor: float) -> np.ndarray:
    """``factor`` for the rows of measures in income units (equivariant), 1 for the others."""
    eq = frame["measure"].map(lambda m: INCOME_SCALING[m.split(":")[0]] == "equivariant").to_numpy()
    return np.where(eq, factor, 1.0)


def exact_rows(frame: pd.DataFrame) -> np.ndarray:
    return ~frame["measure"].isin(LOG_OR_POWER).to_numpy()


def assert_finite(frame: pd.DataFrame) -> None:
    for col in ("value", "se", "ci_low", "ci_high", "weight_sum"):
        assert np.isfinite(frame[col].to_numpy()).all(), col


def test_incomes_times_a_power_of_two_are_bit_identical(positive, base):
    data = positive.assign(eqIncome=positive["eqIncome"] * POWER_OF_TWO)
    kw = dict(KW, poverty_line=KW["poverty_line"] * POWER_OF_TWO)
    got = run_quiet(data, catalogue(POWER_OF_TWO), se=True, **kw)
    assert_finite(got)
    names = lambda f: [m.split(":")[0] for m in f["measure"]]  # noqa: E731 - labels differ in the bands
    assert names(got) == names(base)
    scale = income_factor(got, POWER_OF_TWO)
    exact = exact_rows(got)
    for col in ("value", "se", "ci_low", "ci_high"):
        want = base[col].to_numpy() * scale  # exact: scale is a power of two
        np.testing.assert_array_equal(got[col].to_numpy()[exact], want[exact], err_msg=col)
        np.testing.assert_allclose(got[col].to_numpy()[~exact], want[~exact], rtol=1e-12, atol=0, err_msg=col)
    np.testing.assert_array_equal(got["line"].to_numpy(), base["line"].to_numpy() * POWER_OF_TWO)
    np.testing.assert_array_equal(got["weight_sum"].to_numpy(), base["weight_sum"].to_numpy())
    np.testing.assert_array_equal(got["n"].to_numpy(), base["n"].to_numpy())


def test_incomes_times_1e290_agree_to_rtol_1e12(positive, base):
    factor = 1e290
    data = positive.assign(eqIncome=positive["eqIncome"] * factor)
    got = run_quiet(data, catalogue(factor), se=True, **dict(KW, poverty_line=KW["poverty_line"] * factor))
    assert_finite(got)
    scale = income_factor(got, factor)
    for col in ("value", "se"):
        np.testing.assert_allclose(got[col].to_numpy(), base[col].to_numpy() * scale, rtol=1e-12, atol=0, err_msg=col)
    np.testing.assert_allclose(got["line"].to_numpy(), base["line"].to_numpy() * factor, rtol=1e-12)


def test_relative_lines_scale_with_the_incomes(positive):
    names = ["arpr", "rmpg", "headcount", "pgap", "middle_rel", "arpt"]
    kw = dict(weight="rb050", by="db040", relative_line=0.5, se=True)
    before = run_quiet(positive, names, **kw)
    after = run_quiet(positive.assign(eqIncome=positive["eqIncome"] * POWER_OF_TWO), names, **kw)
    scale = income_factor(after, POWER_OF_TWO)
    np.testing.assert_array_equal(after["value"].to_numpy(), before["value"].to_numpy() * scale)
    np.testing.assert_array_equal(after["se"].to_numpy(), before["se"].to_numpy() * scale)
    np.testing.assert_array_equal(after["line"].to_numpy(), before["line"].to_numpy() * POWER_OF_TWO)


@pytest.mark.parametrize("factor", [1e300, 2.0**1000])
def test_weights_near_the_limit_give_the_same_values(positive, factor):
    names = catalogue()
    kw = dict(KW, se=False)
    before = run_quiet(positive, names, **kw)
    after = run_quiet(positive.assign(rb050=positive["rb050"] * factor), names, **kw)
    assert np.isfinite(after["value"]).all() and np.isfinite(after["weight_sum"]).all()
    # the incomes are unchanged and the weights rescaled exactly: every value, logs included, is identical
    if math.frexp(factor)[0] == 0.5:
        np.testing.assert_array_equal(after["value"].to_numpy(), before["value"].to_numpy())
        np.testing.assert_array_equal(after["weight_sum"].to_numpy(), before["weight_sum"].to_numpy() * factor)
    else:
        np.testing.assert_allclose(after["value"].to_numpy(), before["value"].to_numpy(), rtol=1e-12, atol=0)
        np.testing.assert_allclose(after["weight_sum"].to_numpy(), before["weight_sum"].to_numpy() * factor, rtol=1e-12)


def test_weights_near_the_limit_standard_errors(positive):
    # linearized SEs that need no kernel density are invariant to the scale of the weights
    names = ["gini", "mean", "theil", "mld", "cv", "ge:2", "atkinson:0.5", "varlog", "sgini:3", "lorenz:0.4",
             "watts", "pgap", "fgt:2", "sst", "esteban_ray"]
    kw = dict(weight="rb050", strata="db040", psu="db030", by="db040", poverty_line=11000.0, se=True)
    before = run_quiet(positive, names, **kw)
    after = run_quiet(positive.assign(rb050=positive["rb050"] * 2.0**1000), names, **kw)
    for col in ("value", "se", "ci_low", "ci_high"):
        np.testing.assert_array_equal(after[col].to_numpy(), before[col].to_numpy(), err_msg=col)


def test_both_extreme_at_once(positive, base):
    data = positive.assign(eqIncome=positive["eqIncome"] * POWER_OF_TWO, rb050=positive["rb050"] * 2.0**1000)
    names = ["gini", "mean", "theil", "cv", "ge:2", "qsr", "palma", "share:0.9", "p90p10", "arpr", "median"]
    got = run_quiet(data, names, weight="rb050", by="db040", se=False)
    want = run_quiet(positive, names, weight="rb050", by="db040", se=False)
    np.testing.assert_array_equal(got["value"].to_numpy(), want["value"].to_numpy() * income_factor(got, POWER_OF_TWO))


def test_ordinary_data_is_untouched(positive):
    # incomes and weights in the ordinary range are used as given (no rescaling): the table equals
    # the kernels called on the data, to the last bit, logarithms included
    from prosperity.measures.dispersion import variance_of_logs_estimate
    from prosperity.measures.entropy import mld_estimate
    from prosperity.measures.estimate import SortedIncome

    y, w = positive["eqIncome"].to_numpy() * 2.0**40, positive["rb050"].to_numpy() * 2.0**-30
    got = measure({"y": y, "w": w}, "y", ["mld", "varlog"], weight="w", se=False)
    s = SortedIncome.from_arrays(y, w)
    assert got.value_of("mld") == mld_estimate(s, influence=False).value
    assert got.value_of("varlog") == variance_of_logs_estimate(s, influence=False).value


# ---------------------------------------------------------------- refusals


def test_overflow_that_no_rescaling_can_avoid_is_refused():
    # GE(-2) weighs (y / mean)^-2: an income 1e-200 times the mean gives 1e400, beyond any double
    frame = pd.DataFrame({"y": [1e-200, 1.0, 2.0, 3.0, 4.0], "w": [1.0, 2.0, 1.0, 1.0, 1.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ProsperityInputError) as info:
            measure(frame, "y", ["gini", "ge:-2"], weight="w", se=False)
    err = info.value
    assert err.column == "y" and err.rows == (1,)
    assert "ge:-2 for the whole sample overflows the range of floating-point numbers" in str(err)
    assert "data row 1 (values 1e-200)" in str(err)
    # the other measure alone is fine
    assert measure(frame, "y", ["gini"], weight="w", se=False).value_of("gini") > 0


def test_weights_summing_beyond_the_largest_double_are_refused():
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "w": [1e308, 1.5e308, 1e308, 1e308]})
    with pytest.raises(ProsperityInputError) as info:
        measure(frame, "y", ["gini"], weight="w", se=False)
    err = info.value
    assert err.column == "w"
    assert "the weights of column 'w' sum to more than the largest floating-point number" in str(err)
    assert "data row" in str(err)


def test_a_weight_scale_dependent_convention_is_refused_on_rescaled_weights(positive):
    data = positive.assign(rb050=positive["rb050"] * 1e300)
    with pytest.raises(ProsperityInputError, match="depends on the scale of the weights") as info:
        measure(data, "eqIncome", ["gini"], weight="rb050", conventions={"gini": "convey"}, se=False)
    assert info.value.column == "rb050"
    # on ordinary weights the convention is computed as before
    assert 0 < measure(positive, "eqIncome", ["gini"], weight="rb050", conventions={"gini": "convey"},
                       se=False).value_of("gini") < 1


# ---------------------------------------------------------------- the CLI


def app() -> typer.Typer:
    """The package's own command line, every command registered."""
    from prosperity.cli import _register
    from prosperity.cli import app as cli

    _register()
    return cli


NON_FINITE = re.compile(r"\b(inf|-inf|nan|NaN|Infinity)\b")


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_cli_prints_no_inf_or_nan(positive, tmp_path, fmt):
    path = tmp_path / "extreme.csv"
    positive.assign(eqIncome=positive["eqIncome"] * 1e300, rb050=positive["rb050"] * 1e300).to_csv(path, index=False)
    args = ["measure", str(path), "--income", "eqIncome", "--weight", "rb050", "--by", "db040",
            "--measures", "mean,median,gini,theil,mld,qsr,palma,arpr,cv", "--format", fmt]
    r = CliRunner().invoke(app(), args, env={"COLUMNS": "250"})
    assert r.exit_code == 0, r.output
    assert not NON_FINITE.search(r.stdout), r.stdout
    if fmt == "json":
        records = json.loads(r.stdout)
        whole = {x["measure"]: x for x in records if x["by"] == {}}
        ref = measure(positive, "eqIncome", ["gini", "mean"], weight="rb050", se=False)
        assert whole["gini"]["value"] == pytest.approx(ref.value_of("gini"), rel=1e-12)
        assert whole["mean"]["value"] == pytest.approx(ref.value_of("mean") * 1e300, rel=1e-12)
        assert all(isinstance(x["value"], float) and math.isfinite(x["value"]) for x in records)
    if fmt == "table":
        assert re.search(r"\d\.\d+e\+304", r.stdout)  # the mean (about 2e304) in 4 significant digits


def test_cli_refusal_is_a_message_and_exit_2(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"y": [1e-200, 1.0, 2.0, 3.0, 4.0], "w": [1.0] * 5}).to_csv(path, index=False)
    r = CliRunner().invoke(app(), ["measure", str(path), "--income", "y", "--weight", "w", "--measures", "ge:-2",
                                   "--format", "json"])
    assert r.exit_code == 2
    assert r.stdout == ""
    assert "overflows the range of floating-point numbers" in r.stderr and "data row 1" in r.stderr


def test_bootstrap_on_extreme_incomes_is_the_same_bootstrap(positive):
    names = ["gini", "mean", "median", "arpr", "qsr"]
    kw = dict(weight="rb050", strata="db040", psu="db030", se=True, se_method="bootstrap", replicates=20, seed=7)
    before = run_quiet(positive, names, **kw)
    after = run_quiet(positive.assign(eqIncome=positive["eqIncome"] * POWER_OF_TWO), names, **kw)
    scale = income_factor(after, POWER_OF_TWO)
    for col in ("value", "se", "ci_low", "ci_high"):
        np.testing.assert_array_equal(after[col].to_numpy(), before[col].to_numpy() * scale, err_msg=col)
