"""Data model and loaders: Sample, file round trips, polars, equivalence scales, exclusions, nesting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from prosperity.io import (
    FileFormatError,
    InvalidValueError,
    NestingError,
    equivalence_scale,
    from_frame,
    load,
    read_table,
)
from prosperity.table import measure

COLUMNS = ["eqIncome", "rb050", "db040", "db030", "rb090", "hsize", "age", "eqSS"]


@pytest.fixture(scope="module")
def small(eusilc):
    return eusilc[COLUMNS].iloc[:3000].reset_index(drop=True)


def test_sample_is_immutable_and_readable(eusilc):
    s = load(eusilc, "eqIncome", weight="rb050", strata="db040", psu="db030", groups=["rb090"], hierarchy=["db040"])
    assert s.n == 14827
    with pytest.raises(ValueError):
        s.weight[0] = 1.0
    with pytest.raises(TypeError):
        s.incomes["x"] = s.weight
    text = repr(s)
    assert "14,827 persons" in text and "strata db040 (9)" in text and "rb090 (2)" in text
    assert s.labels["db040"].levels[0] == "Burgenland"  # sorted levels
    np.testing.assert_array_equal(s.labels["rb090"].values, eusilc["rb090"].to_numpy())
    back = s.to_frame()
    np.testing.assert_array_equal(back["eqIncome"], eusilc["eqIncome"])


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet", ".dta", ".xlsx", ".feather", ".tsv"])
def test_file_round_trip(tmp_path, small, suffix):
    path = tmp_path / f"silc{suffix}"
    if suffix.startswith(".csv"):
        small.to_csv(path, index=False)
    elif suffix == ".tsv":
        small.to_csv(path, index=False, sep="\t")
    elif suffix == ".parquet":
        small.to_parquet(path)
    elif suffix == ".dta":
        small.to_stata(path, write_index=False)
    elif suffix == ".xlsx":
        small.to_excel(path, index=False)
    else:
        small.to_feather(path)
    from_file = load(path, "eqIncome", weight="rb050", strata="db040", psu="db030", groups=["rb090"])
    from_memory = load(small, "eqIncome", weight="rb050", strata="db040", psu="db030", groups=["rb090"])
    np.testing.assert_allclose(from_file.income(), from_memory.income(), rtol=1e-15)
    np.testing.assert_array_equal(from_file.labels["rb090"].values, from_memory.labels["rb090"].values)
    a = measure(path, "eqIncome", ["gini", "median"], weight="rb050", by="db040")
    b = measure(small, "eqIncome", ["gini", "median"], weight="rb050", by="db040")
    np.testing.assert_allclose(a.value, b.value, rtol=1e-13)
    assert from_file.source == path.name


def test_read_table_reads_only_needed_columns(tmp_path, small):
    path = tmp_path / "x.parquet"
    small.to_parquet(path)
    assert list(read_table(path, columns=["rb050", "eqIncome"]).columns) == ["rb050", "eqIncome"]


def test_excel_sheets(tmp_path, small):
    path = tmp_path / "two.xlsx"
    with pd.ExcelWriter(path) as xl:
        small.iloc[:100].to_excel(xl, sheet_name="notes", index=False)
        small.to_excel(xl, sheet_name="persons", index=False)
    with pytest.raises(FileFormatError, match="has 2 sheets"):
        load(path, "eqIncome")
    s = load(path, "eqIncome", sheet="persons", weight="rb050")
    assert s.n == 3000
    with pytest.raises(FileFormatError, match="did you mean 'persons'"):
        load(path, "eqIncome", sheet="person")


def test_polars_frame_equals_pandas(small):
    pl = pytest.importorskip("polars")
    a = from_frame(small, "eqIncome", weight="rb050", strata="db040", psu="db030", groups=["rb090"])
    b = from_frame(pl.from_pandas(small), "eqIncome", weight="rb050", strata="db040", psu="db030", groups=["rb090"])
    np.testing.assert_array_equal(a.income(), b.income())
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.labels["rb090"].values, b.labels["rb090"].values)


def test_oecd_modified_scale_reproduces_eusilc_eqss(eusilc):
    """eusilc's eqSS is the modified OECD scale: rebuild it from ages (14+ adult) per household."""
    hh = eusilc.groupby("db030")["age"]
    adults = hh.transform(lambda a: (a >= 14).sum()).to_numpy()
    children = hh.transform(lambda a: (a < 14).sum()).to_numpy()
    scale = equivalence_scale("oecd_modified", adults=adults, children=children)
    np.testing.assert_allclose(scale, eusilc["eqSS"].to_numpy(), rtol=1e-12)


def test_equivalence_scales(small):
    frame = small.assign(hh_income=small["eqIncome"] * small["eqSS"])
    per_eq = from_frame(frame, "hh_income", scale="eqSS")
    np.testing.assert_allclose(per_eq.income(), small["eqIncome"], rtol=1e-12)
    pc = from_frame(frame, "hh_income", equivalence="per_capita", household_size="hsize")
    np.testing.assert_allclose(pc.income(), frame["hh_income"] / frame["hsize"])
    sq = from_frame(frame, "hh_income", equivalence="square_root", household_size="hsize")
    p5 = from_frame(frame, "hh_income", equivalence="power:0.5", household_size="hsize")
    np.testing.assert_allclose(sq.income(), p5.income(), rtol=1e-15)
    assert sq.equivalence == "square_root"


def test_household_rows_expand_weights(ilocos):
    s = from_frame(ilocos, "income", equivalence="per_capita", household_size="family.size", unit="household")
    np.testing.assert_allclose(s.weight, ilocos["family.size"])
    np.testing.assert_allclose(s.income(), ilocos["income"] / ilocos["family.size"])
    assert "632 households" in repr(s)


def test_drop_missing_is_counted(small):
    frame = small.copy()
    frame.loc[[3, 10], "eqIncome"] = np.nan
    frame.loc[[10, 20], "rb050"] = np.nan
    with pytest.raises(InvalidValueError) as err:
        from_frame(frame, "eqIncome", weight="rb050")
    assert err.value.rows == (4, 11) and err.value.column == "eqIncome"
    s = from_frame(frame, "eqIncome", weight="rb050", drop_missing=True)
    assert s.n == 2997
    assert dict(s.excluded) == {"missing income 'eqIncome'": 2, "missing weight 'rb050'": 1}
    np.testing.assert_array_equal(s.data_rows([2, 3]), [3, 5])  # rows 4 was dropped
    r = measure(frame, "eqIncome", ["mean"], weight="rb050", drop_missing=True, se=False)
    assert r.excluded == dict(s.excluded)


def test_hierarchy_nesting_names_the_culprit():
    frame = pd.DataFrame({
        "y": [1.0, 2, 3, 4, 5, 6],
        "region": ["East", "East", "East", "West", "West", "West"],
        "province": ["Jiangsu", "Jiangsu", "Zhejiang", "Sichuan", "Sichuan", "Yunnan"],
        "city": ["Nanjing", "Suzhou", "Hangzhou", "Chengdu", "Suzhou", "Kunming"],
    })
    ok = from_frame(frame.iloc[:4], "y", hierarchy=["region", "province", "city"])
    assert ok.hierarchy == ("region", "province", "city")
    with pytest.raises(NestingError) as err:
        from_frame(frame, "y", hierarchy=["region", "province", "city"])
    msg = str(err.value)
    assert "city 'Suzhou' lies in 2 different province values" in msg
    assert "'Jiangsu' (e.g. data row 2)" in msg and "'Sichuan' (e.g. data row 5)" in msg
    assert err.value.column == "city"


def test_categorical_groups_keep_their_order():
    frame = pd.DataFrame({"y": [1.0, 2, 3, 4], "band": pd.Categorical(["old", "young", "mid", "young"], categories=["young", "mid", "old"])})
    s = from_frame(frame, "y", groups=["band"])
    assert list(s.labels["band"].levels) == ["young", "mid", "old"]
    r = measure(frame, "y", ["mean"], by="band", se=False)
    assert [g[0] for g in r.groups[1:]] == ["young", "mid", "old"]
