"""Design-based SEs of the 4-level nested decomposition out of core (one pass grouped by (cell, PSU), or
by (cell, stratum) with the basis products when every row is its own PSU) equal the in-memory
``decompose(frame, ..., strata=, psu=, fpc=, lonely_psu=)`` to 1e-12 (relative) on memory, DuckDB over
Parquet and Dask on a LocalCluster: the total, every component and share, their SEs and the unit table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from prosperity.backends import BackendError
from prosperity.backends.decompose import nested_decomposition_many
from prosperity.decompose import decompose
from prosperity.io.errors import ColumnNotFoundError, DesignError, InvalidValueError
from prosperity.variance import Design

from agreement import DECOMPOSE_MEASURES as MEASURES, EUSILC, INCOME, LEVELS, china_levels, in_two_halves
from agreement import assert_same_decomposition

DESIGNS = {
    # households (PSUs) in provinces (strata): one pair table row per household
    "strata+psu": dict(strata="province_en", psu="household_id"),
    # no PSU column: every person its own PSU, sums and products per (cell, stratum)
    "strata only": dict(strata="province_en"),
    # counties as PSUs in regions with a finite population correction (population counties = 3x sampled)
    "psu+fpc": dict(strata="region", psu="county", fpc="n_counties_pop"),
    # a stratum with one PSU, centred at the population mean (R survey's "adjust")
    "lonely adjust": dict(strata="stratum_lonely", psu="household_id", lonely_psu="adjust"),
    "lonely remove, rows as PSUs": dict(strata="stratum_one_row", lonely_psu="remove"),
    # every row its own PSU with an fpc (the regions' populations: 4x the sampled persons)
    "rows+fpc": dict(strata="region", fpc="n_persons_pop"),
}


@pytest.fixture(scope="module")
def china(tmp_path_factory):
    """The bundled synthetic China population (20,000 persons), four nested levels (NBS region > province
    > urban/rural within the province > a 'county', five per province and area) and design columns."""
    d = china_levels()
    d["n_counties_pop"] = 3.0 * d.groupby("region")["county"].transform("nunique")
    d["n_persons_pop"] = 4.0 * d.groupby("region")["region"].transform("size")
    one_household = d["household_id"] == d["household_id"].iloc[0]
    d["stratum_lonely"] = np.where(one_household, "alone", d["province_en"])
    d["stratum_one_row"] = d["province_en"]
    d.loc[d.index[0], "stratum_one_row"] = "one row"
    return d, in_two_halves(d, tmp_path_factory.mktemp("china_design_parquet"))


@pytest.fixture(scope="module")
def reference(china):
    d, _ = china
    return {name: {m: decompose(d, INCOME, LEVELS, "weight", m, **design) for m in MEASURES}
            for name, design in DESIGNS.items()}


def _same(got, ref):
    assert got.has_se and ref.has_se  # every comparison here is of design-based SEs
    assert_same_decomposition(got, ref)


def test_the_designs_give_different_real_ses(reference):
    """The reference SEs are positive and differ by design (clustering in households or counties raises
    them; the fpc lowers the counties' one by about sqrt(1 - 1/3)); the lonely household counts or not."""
    se = {name: r["theil"].total_se for name, r in reference.items()}
    assert all(0 < s < 0.05 for s in se.values())
    assert se["strata+psu"] > 1.05 * se["strata only"]  # households cluster incomes
    assert len({round(s, 12) for s in se.values()}) == len(se)
    comps = reference["strata+psu"]["theil"].components
    assert all(c.se > 0 and c.share_se > 0 for c in comps)


def test_the_fpc_scales_the_variance_by_one_minus_the_sampling_fraction(china, reference):
    """Every stratum samples 1/3 of its counties (1/4 of its persons): V = (1 - f) V without the fpc."""
    d, _ = china
    for name, f in (("psu+fpc", 1 / 3), ("rows+fpc", 1 / 4)):
        design = {k: v for k, v in DESIGNS[name].items() if k != "fpc"}
        without = decompose(d, INCOME, LEVELS, "weight", "mld", **design)
        assert math.isclose(reference[name]["mld"].total_se, math.sqrt(1 - f) * without.total_se, rel_tol=1e-12)


@pytest.mark.parametrize("name", list(DESIGNS))
def test_memory_in_pieces_equals_in_memory(china, reference, name):
    d, _ = china
    got = nested_decomposition_many(d, INCOME, LEVELS, "weight", MEASURES, backend="memory", chunk_rows=3001,
                                    **DESIGNS[name])
    for m in MEASURES:
        _same(got[m], reference[name][m])


@pytest.mark.parametrize("name", list(DESIGNS))
def test_duckdb_over_parquet_equals_in_memory(china, reference, name):
    _, folder = china
    got = nested_decomposition_many(folder, INCOME, LEVELS, "weight", MEASURES, **DESIGNS[name])  # one GROUP BY
    for m in MEASURES:
        _same(got[m], reference[name][m])


def test_public_decompose_on_a_path_and_a_relation(china, reference):
    duckdb = pytest.importorskip("duckdb")
    d, folder = china
    _same(decompose(str(folder), INCOME, LEVELS, "weight", "mld", **DESIGNS["psu+fpc"]), reference["psu+fpc"]["mld"])
    rel = duckdb.connect().from_df(d)
    _same(decompose(rel, INCOME, LEVELS, "weight", "ge:2", **DESIGNS["strata only"]), reference["strata only"]["ge:2"])


def test_dask_on_a_local_cluster_equals_in_memory(china, reference, cluster):
    dd = pytest.importorskip("dask.dataframe")
    _, folder = china
    frame = dd.read_parquet(str(folder / "*.parquet"))
    for name in ("strata+psu", "strata only", "psu+fpc"):
        got = nested_decomposition_many(frame, INCOME, LEVELS, "weight", MEASURES, **DESIGNS[name])
        for m in MEASURES:
            _same(got[m], reference[name][m])
    _same(decompose(frame, INCOME, LEVELS, "weight", "theil", **DESIGNS["lonely adjust"]),
          reference["lonely adjust"]["theil"])


def test_eusilc_households_in_regions_unweighted_and_weighted(tmp_path):
    """EU-SILC (laeken's synthetic Austria 2006): region > gender within the region, strata db040, PSU
    db030 (households, whose members lie in both genders: a PSU spans several cells)."""
    d = pd.read_csv(EUSILC)
    d = d[d["eqIncome"] > 0].reset_index(drop=True)
    d["region_sex"] = d["db040"] + "/" + d["rb090"].astype(str)
    d.to_parquet(tmp_path / "eusilc.parquet")
    levels = ["db040", "region_sex"]
    for weight in ("rb050", None):
        ref = decompose(d, "eqIncome", levels, weight, "theil", strata="db040", psu="db030")
        got = decompose(str(tmp_path / "eusilc.parquet"), "eqIncome", levels, weight, "theil", strata="db040",
                        psu="db030")
        _same(got, ref)
        assert all(c.se > 0 for c in ref.components)


def test_a_design_object_in_memory_and_refused_out_of_core(china, reference):
    d, folder = china
    design = Design.build(len(d), strata=d["province_en"].to_numpy(), psu=d["household_id"].to_numpy())
    got = nested_decomposition_many(d, INCOME, LEVELS, "weight", ["theil"], backend="memory", design=design)
    _same(got["theil"], reference["strata+psu"]["theil"])
    with pytest.raises(BackendError, match=r"design= .* cannot be used out of core.*strata=, psu="):
        decompose(str(folder), INCOME, LEVELS, "weight", design=design)


def test_design_errors_name_the_column_stratum_and_rows(tmp_path, china):
    d, folder = china
    with pytest.raises(ColumnNotFoundError, match="household_idd"):
        decompose(str(folder), INCOME, LEVELS, "weight", strata="province_en", psu="household_idd")
    with pytest.raises(DesignError, match=r"1 stratum/strata of 'stratum_lonely' have a single PSU \('alone'\)"):
        decompose(str(folder), INCOME, LEVELS, "weight", strata="stratum_lonely", psu="household_id")
    with pytest.raises(DesignError, match=r"'stratum_one_row' have a single unit \('one row'\)"):
        decompose(str(folder), INCOME, LEVELS, "weight", strata="stratum_one_row")
    bad = d.copy()
    bad["household_id"] = bad["household_id"].astype("float64")
    bad.loc[bad.index[:4], "household_id"] = np.nan
    bad.to_parquet(tmp_path / "missing_psu.parquet")
    with pytest.raises(InvalidValueError, match=r"PSU column 'household_id' has 4 missing values"):
        decompose(str(tmp_path / "missing_psu.parquet"), INCOME, LEVELS, "weight", strata="province_en",
                  psu="household_id")
    varying = d.copy()
    varying.loc[varying.index[0], "n_counties_pop"] += 1.0
    varying.to_parquet(tmp_path / "fpc.parquet")
    with pytest.raises(DesignError, match=r"fpc column 'n_counties_pop' must be constant within each stratum: "
                                          r"stratum '.+' has"):
        decompose(str(tmp_path / "fpc.parquet"), INCOME, LEVELS, "weight", **DESIGNS["psu+fpc"])
    with pytest.raises(DesignError, match="must be constant within each stratum"):  # in memory: the same error
        decompose(varying, INCOME, LEVELS, "weight", backend="memory", **DESIGNS["psu+fpc"])
