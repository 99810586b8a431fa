"""Bundled-data loaders: shapes, units, known published values, metadata, backends, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prosperity import datasets as ds


def test_list_datasets_covers_every_loader():
    listed = ds.list_datasets()
    assert {"name", "description", "source", "licence", "rows", "columns"} <= set(listed.columns)
    assert listed["name"].is_unique
    expected = {"nbs_income_quintiles", "nbs_official_gini", "nbs_household_survey", "nbs_income_sources_1978_2022",
                "urban_rural_income_gini_1978_2016", "provincial_gpi_panel_1985_2018", "provincial_gpi_panel_columns",
                "provincial_income_consumption_2016_2024", "provincial_gdp_1993_2023", "provincial_population_census2020",
                "provincial_population_2024", "cpi_national", "province_boundaries", "eusilc", "ilocos", "enigh_2008",
                "enigh_2016", "datt1998", "pysal_mexico", "pysal_us_income", "provincial_income_2019"}
    assert expected <= set(listed["name"])
    rows = listed.set_index("name")["rows"]
    assert rows["eusilc"] == 14827 and rows["ilocos"] == 632 and rows["provincial_gpi_panel_1985_2018"] == 1054
    assert (listed["source"].str.len() > 10).all() and (listed["licence"].str.len() > 3).all()


def test_every_file_exists():
    for name in ds.list_datasets()["name"]:
        assert ds.dataset_path(name).is_file(), name


def test_attrs_carry_metadata():
    frame = ds.nbs_income_quintiles()
    assert frame.attrs["dataset"] == "nbs_income_quintiles"
    assert "NBS" in frame.attrs["source"] or "国家统计局" in frame.attrs["source"]
    assert "disp_income_pc_yuan" in frame.attrs["units"]


def test_quintiles_known_values():
    q = ds.nbs_income_quintiles()
    assert len(q) == 3 * 10 * 5
    national_2022 = q.query("area == 'national' and year == 2022").sort_values("quintile")
    assert national_2022["disp_income_pc_yuan"].tolist() == [8601, 19303, 30598, 47397, 90116]
    # quintile means are increasing in every area-year
    assert (q.groupby(["area", "year"])["disp_income_pc_yuan"].apply(lambda s: s.is_monotonic_increasing)).all()


def test_official_gini():
    g = ds.nbs_official_gini()
    assert g["year"].tolist() == list(range(2015, 2025))
    assert g["gini"].tolist() == [0.462, 0.465, 0.467, 0.468, 0.465, 0.468, 0.466, 0.467, 0.465, 0.465]


def test_household_survey_translation():
    long = ds.nbs_household_survey()
    assert not long["indicator"].isna().any()
    wide = ds.nbs_household_survey(wide=True).set_index(["area", "year"])
    assert wide.loc[("national", 2024), "disp_income_pc_yuan"] == 41314
    # the four sources add up to the total (to rounding) in every area and year
    sources = wide[["wage_income_pc_yuan", "net_business_income_pc_yuan", "net_property_income_pc_yuan",
                    "net_transfer_income_pc_yuan"]].sum(axis=1)
    income = wide["disp_income_pc_yuan"]
    ok = income.notna() & sources.gt(0)
    assert ok.sum() == 30
    np.testing.assert_allclose(sources[ok], income[ok], atol=3)
    # quintile columns match the dedicated loader
    q = ds.nbs_income_quintiles().query("area == 'urban' and year == 2020 and quintile == 5")
    assert wide.loc[("urban", 2020), "disp_income_pc_q5_yuan"] == q["disp_income_pc_yuan"].item()
    assert set(wide.loc[("rural", 2024)].dropna().index) >= {"engel_coefficient_pct", "disp_income_pc_median_yuan"}


def test_income_sources_sum_to_total():
    f = ds.nbs_income_sources_1978_2022().dropna(subset=["wage_income_pc_yuan"])
    parts = f[["wage_income_pc_yuan", "net_business_income_pc_yuan", "net_property_income_pc_yuan",
               "net_transfer_income_pc_yuan"]].sum(axis=1)
    np.testing.assert_allclose(parts, f["disp_income_pc_yuan"], rtol=2e-3)


def test_provincial_frames_join_on_adcode():
    inc = ds.provincial_income_consumption_2016_2024()
    pop = ds.provincial_population_2024()
    assert inc["adcode"].nunique() == 31 and set(inc["year"]) == set(range(2016, 2025))
    merged = inc.query("year == 2024").merge(pop[["adcode", "pop_total_10k"]], on="adcode", validate="1:1")
    national = np.average(merged["disp_income_pc_yuan"], weights=merged["pop_total_10k"])
    assert national == pytest.approx(41421, abs=1)
    assert pop["pop_total_10k"].sum() == 140628
    assert (pop["pop_urban_10k"] + pop["pop_rural_10k"] - pop["pop_total_10k"]).abs().max() <= 1
    assert set(inc["region"]) == set(ds.REGIONS)
    census = ds.provincial_population_census2020()
    assert census.query("region != ''")["pop_census2020_persons"].sum() == 1_409_778_724


def test_gpi_panel_units_and_dictionary():
    panel = ds.provincial_gpi_panel_1985_2018()
    assert panel.shape[0] == 31 * 34
    assert {"pop_total_10k", "gdp_100m_yuan", "wage_avg_yuan", "cpi_1997eq1"} <= set(panel.columns)
    beijing_2018 = panel.query("adcode == 110000 and year == 2018")
    assert beijing_2018["gdp_100m_yuan"].item() == pytest.approx(33105.97)
    columns = ds.provincial_gpi_panel_columns()
    assert set(columns["column"]) == set(panel.columns) - {"adcode", "province_en", "region", "year"}


def test_gdp_and_cpi():
    gdp = ds.provincial_gdp_1993_2023()
    assert gdp["adcode"].nunique() == 31 and gdp["adcode"].dtype == np.int64
    bj = gdp.query("adcode == 110000 and year == 2022")
    assert bj["gdp_100m_yuan_nbs_2005_2023_revised"].item() == pytest.approx(41540.9)
    cpi = ds.cpi_national()
    assert cpi["cpi_all_2016_eq_100"].iloc[0] == 100.0
    assert cpi["cpi_all_2016_eq_100"].iloc[1] == pytest.approx(101.6)


def test_microdata_keep_source_names():
    eu = ds.eusilc()
    assert eu.shape == (14827, 28) and {"eqIncome", "rb050", "db040"} <= set(eu.columns)
    enigh = ds.enigh_2016()
    assert enigh["hh_number"].str.len().min() >= 6  # read as text
    w = enigh["factor"].to_numpy(float)
    y = np.sort(enigh["income"].to_numpy(float))
    order = np.argsort(enigh["income"].to_numpy(float), kind="stable")
    w = w[order]
    cw = np.cumsum(w)
    gini = 1 - np.sum(w * (2 * np.cumsum(w * y) - w * y)) / (cw[-1] * np.sum(w * y))
    assert gini == pytest.approx(0.4561371, abs=1e-6)
    us = ds.pysal_us_income(long=True)
    assert len(us) == 48 * 81 and us["year"].min() == 1929
    assert ds.datt1998()["cum_population_share"].iloc[-1] == pytest.approx(1.0, abs=1e-3)


def test_polars_backend():
    pl = pytest.importorskip("polars")
    frame = ds.provincial_population_2024(backend="polars")
    assert isinstance(frame, pl.DataFrame) and frame.height == 31
    with pytest.raises(ValueError, match="backend"):
        ds.nbs_official_gini(backend="arrow")


def test_load_dataset_by_name_and_unknown_name():
    assert ds.load_dataset("datt1998").shape == (13, 5)
    assert ds.load_dataset("province_boundaries")["type"] == "FeatureCollection"
    with pytest.raises(KeyError, match="nbs_official_gini"):
        ds.load_dataset("nbs_gini")
