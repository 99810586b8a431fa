"""Hostile input files for ``read_table``: encodings, separators, duplicated names, '2016年' years, ragged rows.

Two parts: a table of hand-written cases, each with the important fragments of the message (or of the
frame's attrs) it must produce, and hypothesis fuzz tests asserting that a read either gives a data
frame with one row per data line written, or a ``ProsperityInputError`` -- never a shortened frame,
never another exception type.
"""

from __future__ import annotations

import csv
import gzip
import io
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prosperity.io import ColumnNotFoundError, FileFormatError, InvalidValueError, ProsperityInputError, load, read_header, read_table

GBK_TEXT = "地区,年份,收入\n北京,2016年,1200.5\n上海,2017年,980\n广州,2018年,1500\n"
SEMI = b"region;income;weight\nNorth;1200,5;1\nSouth;980;2\n"

# (case, file name, file bytes, read_table keyword arguments, expected)
# expected: a dict of frame checks for a successful read, or (error class, fragments of the message)
CASES = [
    ("GBK file read", "gbk.csv", GBK_TEXT.encode("gbk"), {},
     dict(encoding="gb18030", sep=",", columns=["地区", "年份", "收入"], rows=3, notes=["decoded as GB18030 (GBK)",
          "column '年份': years written as '2016年' were read as integers"])),
    ("GBK file, encoding named", "gbk.csv", GBK_TEXT.encode("gbk"), dict(encoding="gbk"),
     dict(encoding="gbk", columns=["地区", "年份", "收入"], rows=3)),
    ("GB18030 file (characters outside GBK)", "gb18030.csv", "名称,值\n𠀀字,1\n€,2\n".encode("gb18030"), {},
     dict(encoding="gb18030", columns=["名称", "值"], rows=2, values={"名称": ["𠀀字", "€"]})),
    ("UTF-8 with BOM", "bom.csv", "\ufeffincome,weight\n1,2\n3,4\n".encode(), {},
     dict(encoding="utf-8-sig", columns=["income", "weight"], rows=2)),
    ("UTF-8 with BOM, encoding='utf-8' named", "bom.csv", "\ufeffincome,weight\n1,2\n".encode(), dict(encoding="utf-8"),
     dict(encoding="utf-8-sig", columns=["income", "weight"], rows=1)),
    ("plain UTF-8 Chinese", "utf8.csv", "省份,收入\n江苏,1\n".encode(), {},
     dict(encoding="utf-8-sig", columns=["省份", "收入"], rows=1, notes=[])),
    ("';' file", "semi.csv", SEMI, {}, dict(sep=";", columns=["region", "income", "weight"], rows=2)),
    ("tab file named .csv", "tab.csv", b"a\tb\tc\n1\t2\t3\n4\t5\t6\n", {}, dict(sep="\t", columns=["a", "b", "c"], rows=2)),
    ("'|' file", "pipe.txt", b"a|b\n1|2\n", {}, dict(sep="|", columns=["a", "b"], rows=1)),
    ("sep named", "semi.csv", SEMI, dict(sep=";"), dict(sep=";", rows=2)),
    ("gzip, GBK, ';'", "gbk.csv.gz", gzip.compress(GBK_TEXT.replace(",", ";").encode("gbk")), {},
     dict(encoding="gb18030", sep=";", rows=3)),
    ("header read as one column", "semi.csv", SEMI, dict(sep=",", columns=["income"]),
     (ColumnNotFoundError, ["requested column 'income' is not in the data",
                            "the header was read as one column, 'region;income;weight'",
                            "separator is probably ';'", "Fix: name the separator: sep=';'"])),
    ("header read as one column (tab)", "tab.csv", b"a\tb\n1\t2\n", dict(sep="|", columns=["a"]),
     (ColumnNotFoundError, ["header was read as one column", "separator is probably '\\t' (tab)", "sep='\\t'"])),
    ("duplicated columns", "dup.csv", b"id,income,weight,income\n1,2,3,4\n", {},
     (FileFormatError, ["'dup.csv' has duplicated column names: 'income' in columns 2 and 4 (columns counted from 1)",
                        "'income' and 'income.1'", "Fix: give every column a unique name"])),
    ("duplicated Chinese columns, three copies", "dup.csv", "收入,收入,x,收入\n1,2,3,4\n".encode("gbk"), {},
     (FileFormatError, ["'收入' in columns 1, 2 and 4"])),
    ("'2016年' years", "years.csv", "year,income\n2016年,1\n 2017 年,2\n2018年 ,3\n".encode(), {},
     dict(rows=3, values={"year": [2016, 2017, 2018]}, dtype={"year": "int64"},
          notes=["column 'year': years written as '2016年' were read as integers"])),
    ("'2016年' years with a missing one", "years.csv", "year,income\n2016年,1\n,2\n".encode(), {},
     dict(rows=2, dtype={"year": "float64"}, notes=["1 missing value kept as NaN"])),
    ("mixed years", "years.csv", "year,income\n2016年,1\n2017,2\n2018年,3\n二〇一九年,4\n".encode(), {},
     (InvalidValueError, ["column 'year' mixes years written as '2016年' (2 values) with 2 other values",
                          "data rows 2, 4 (values '2017', '二〇一九年')", "Fix: write every year the same way"])),
    ("undecodable bytes", "bad.csv", b"a,b\n1,2\n3,\xff\xfe\x80\n", {},
     (FileFormatError, ["cannot decode 'bad.csv'", "encodings tried: utf-8-sig, gb18030",
                        "0xff at byte offset 10 on line 3 as UTF-8", "Fix: name the file's encoding with encoding="])),
    ("UTF-8 cut in the middle of a character", "cut.csv", "收入,地区\n1,北京".encode()[:-2], {},
     (FileFormatError, ["cannot decode 'cut.csv': it is UTF-8 but ends in the middle of a character",
                        "0xe4 at byte offset 19 on line 2", "the file looks truncated",
                        "encodings tried: utf-8-sig; GB18030 was not tried", "encoding='gb18030'"])),
    ("UTF-8 with a damaged byte (not misread as GB18030)", "damaged.csv", "地区,收入\n北京,1\n".encode() + b"\xb1\xb1,2\n", {},
     (FileFormatError, ["it reads as UTF-8 (6 non-ASCII characters) up to a bad byte", "0xb1 at byte offset 23 on line 3",
                        "probably UTF-8 with a damaged byte", "encodings tried: utf-8-sig"])),
    ("UTF-8 with BOM and a bad byte (offset counts the BOM)", "bombad.csv", b"\xef\xbb\xbfa,b\n1,\xff\n", {},
     (FileFormatError, ["it starts with a UTF-8 byte-order mark up to a bad byte, 0xff at byte offset 9 on line 2"])),
    ("UTF-8 with BOM and a bad byte, encoding named", "bombad.csv", b"\xef\xbb\xbfa,b\n1,\xff\n",
     dict(encoding="utf-8-sig"), (FileFormatError, ["0xff at byte offset 9 on line 2", "encodings tried: utf-8-sig"])),
    ("undecodable with encoding named", "bad.csv", "a,b\n1,é\n".encode("latin-1"), dict(encoding="utf-8"),
     (FileFormatError, ["cannot decode 'bad.csv' with encoding='utf-8'", "0xe9 at byte offset 6 on line 2",
                        "encodings tried: utf-8", "encoding='...'"])),
    ("latin-1 named", "latin.csv", "ville,revenu\nZürich,1\n".encode("latin-1"), dict(encoding="latin-1"),
     dict(encoding="latin-1", values={"ville": ["Zürich"]})),
    ("unknown encoding", "a.csv", b"a\n1\n", dict(encoding="klingon"), (FileFormatError, ["unknown encoding 'klingon'"])),
    ("ragged row", "rag.csv", b"a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n", {},
     (FileFormatError, ["line 3 of 'rag.csv' has 4 fields but the header has 3 (separator ',')",
                        "shifted into the wrong columns"])),
    ("ragged first row (pandas would shift it into an index)", "rag.csv", b"a,b\n1,2,3\n", {},
     (FileFormatError, ["line 2 of 'rag.csv' has 3 fields but the header has 2"])),
    ("short row", "short.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n", {},
     (FileFormatError, ["line 3 of 'short.csv' has 2 fields but the header has 3"])),
    ("truncated last line", "trunc.csv", b"a,b,c\n1,2,3\n4,5", {},
     (FileFormatError, ["line 3 of 'trunc.csv' has 2 fields", "the file looks truncated"])),
    ("unclosed quote", "quote.csv", b'a,b\n1,"two\n3,4\n', {},
     (FileFormatError, ["record starting on line 2", "never closed"])),
    ("spaces-only line in a one-column file", "one.csv", b"income\n1\n   \n3\n", {},
     (FileFormatError, ["line 3 of 'one.csv' holds only spaces"])),
    ("empty file", "empty.csv", b"", {}, (FileFormatError, ["file 'empty.csv' is empty"])),
    ("blank lines only", "blank.csv", b"\n\r\n\n", {}, (FileFormatError, ["file 'blank.csv' is empty"])),
    ("header only", "header.csv", b"a,b\n", {}, dict(columns=["a", "b"], rows=0)),
    ("blank lines between rows are not data", "blank.csv", b"a,b\n1,2\n\n3,4\n", {}, dict(rows=2)),
    ("bad sep", "a.csv", b"a\n1\n", dict(sep=";;"), (FileFormatError, ["sep=';;' is not a usable separator"])),
    ("encoding for a Parquet file", "a.parquet", b"PAR1", dict(encoding="gbk"),
     (FileFormatError, ["encoding='gbk' was given but 'a.parquet' is not a CSV/TSV text file"])),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_case(case, tmp_path):
    _, name, data, kwargs, expected = case
    path = tmp_path / name
    path.write_bytes(data)
    if isinstance(expected, tuple):
        cls, fragments = expected
        with pytest.raises(cls) as err:
            read_table(path, **kwargs)
        msg = str(err.value)
        for f in fragments:
            assert f in msg, (f, msg)
        return
    frame = read_table(path, **kwargs)
    for key in ("encoding", "sep"):
        if key in expected:
            assert frame.attrs[key] == expected[key]
    if "columns" in expected:
        assert list(frame.columns) == expected["columns"]
        header_kw = {k: v for k, v in kwargs.items() if k in ("encoding", "sep")}
        assert read_header(path, **header_kw) == expected["columns"]
    if "rows" in expected:
        assert len(frame) == expected["rows"]
    for col, values in expected.get("values", {}).items():
        assert frame[col].tolist() == values
    for col, dtype in expected.get("dtype", {}).items():
        assert str(frame[col].dtype) == dtype
    if "notes" in expected:
        notes = frame.attrs["notes"]
        if not expected["notes"]:
            assert notes == []
        for fragment in expected["notes"]:
            assert any(fragment in n for n in notes), (fragment, notes)


def test_gbk_values_and_load(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes(GBK_TEXT.encode("gbk"))
    frame = read_table(path, columns=["收入", "地区"])
    assert sorted(frame.columns) == sorted(["收入", "地区"])
    assert frame["地区"].tolist() == ["北京", "上海", "广州"]
    np.testing.assert_allclose(frame["收入"], [1200.5, 980, 1500])
    s = load(path, "收入", groups=["地区"])
    assert s.n == 3


def test_load_passes_sep_and_encoding(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_bytes(b"income;weight\n1;2\n3;4\n")
    assert load(path, "income", weight="weight").n == 2
    assert load(path, "income", weight="weight", sep=";", encoding="ascii").n == 2
    with pytest.raises(ColumnNotFoundError, match="header was read as one column"):
        load(path, "income", sep=",")


def test_normal_column_not_found_message_unchanged(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(b"income,weight\n1,2\n")
    with pytest.raises(ColumnNotFoundError) as err:
        read_table(path, columns=["incme"])
    assert str(err.value) == ("requested column 'incme' is not in the data; did you mean 'income'? "
                              "Fix: use one of the data's columns: 'income', 'weight'.")


# ----------------------------------------------------------------------------------------------
# fuzz

SEPS = [",", ";", "\t", "|"]
ENCODINGS = ["utf-8", "utf-8-sig", "gb18030"]
NAME_POOL = ["income", "weight", "收入", "地区", "年份", "x", "x.1", "a b", "a;b", "a,b", 'q"uote', "Unnamed: 0", "1", ""]
SPECIAL = [math.nan, math.inf, -math.inf, 1e300, -1e300, -5.0, 0.0, -0.0, 1e-320]


def cell():
    return st.one_of(
        st.sampled_from(SPECIAL).map(repr),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.integers(min_value=-10**20, max_value=10**20).map(str),
        st.sampled_from(["", "NA", "北京", "2016年", " 2017 年", "1,200", "a|b", 'x"y', "line\nbreak", "  "]),
        st.text(alphabet=st.characters(codec="gb18030", exclude_categories=("Cs",)), max_size=6),
    )


@st.composite
def tables(draw):
    ncols = draw(st.integers(1, 5))
    # a name that starts the file with U+FEFF is a byte-order mark to every reader: not a name one can write
    names = draw(st.lists(st.one_of(st.sampled_from(NAME_POOL),
                                    st.text(st.characters(codec="gb18030", exclude_categories=("Cs",),
                                                          exclude_characters="\ufeff"), max_size=5)),
                          min_size=ncols, max_size=ncols))
    nrows = draw(st.integers(0, 6))
    rows = draw(st.lists(st.lists(cell(), min_size=ncols, max_size=ncols), min_size=nrows, max_size=nrows))
    return names, rows, draw(st.sampled_from(SEPS)), draw(st.sampled_from(ENCODINGS)), draw(st.booleans())


def write_table(path, names, rows, sep, encoding, gz):
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=sep, lineterminator="\r\n")  # so values with \r or \n get quoted
    w.writerow(names)
    w.writerows(rows)
    data = buf.getvalue().encode(encoding)
    path.write_bytes(gzip.compress(data) if gz else data)
    # data lines = records that are not blank (a one-column row with an empty value is written as "")
    return data


def outcome(path, **kwargs):
    """The frame, or the ProsperityInputError; any other exception fails the test."""
    try:
        return read_table(path, **kwargs)
    except ProsperityInputError as exc:
        assert str(exc), "an error without a message"
        return exc


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])


@FUZZ
@given(table=tables(), name_sep=st.booleans())
def test_fuzz_tables(tmp_path, table, name_sep):
    names, rows, sep, encoding, gz = table
    path = tmp_path / ("t.csv.gz" if gz else "t.csv")
    write_table(path, names, rows, sep, encoding, gz)
    got = outcome(path, **({"sep": sep} if name_sep else {}))
    shown = [n if n != "" else f"Unnamed: {i}" for i, n in enumerate(names)]
    has_dups = len(set(shown)) < len(shown)
    if isinstance(got, pd.DataFrame):
        assert len(got) == len(rows), "rows silently dropped or added"
        assert not has_dups or not name_sep, "duplicated names were accepted"
        if name_sep:
            assert list(got.columns) == shown
        assert got.attrs["encoding"] in ("utf-8-sig", "gb18030")
        assert isinstance(got.attrs["notes"], list)
    elif has_dups and name_sep:
        assert isinstance(got, FileFormatError) and "duplicated column names" in str(got)


@FUZZ
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".tsv", ".csv.gz"]),
       encoding=st.sampled_from([None, "utf-8", "gb18030", "latin-1"]))
def test_fuzz_random_bytes(tmp_path, data, suffix, encoding):
    path = tmp_path / f"r{suffix}"
    path.write_bytes(data)
    got = outcome(path, encoding=encoding)
    if isinstance(got, pd.DataFrame):
        assert got.attrs["encoding"] in ("utf-8-sig", "gb18030", "utf-8", "latin-1")


@FUZZ
@given(table=tables(), cut=st.integers(1, 40))
def test_fuzz_truncated_files(tmp_path, table, cut):
    """A file cut short (export interrupted) is read with every line it has, or refused -- never shifted."""
    names, rows, sep, encoding, _ = table
    full = tmp_path / "full.csv"
    data = write_table(full, names, rows, sep, encoding, False)
    path = tmp_path / "cut.csv"
    kept = max(0, len(data) - cut)
    path.write_bytes(data[:kept])
    got = outcome(path, sep=sep)
    header_bytes = len(write_table(tmp_path / "h.csv", names, [], sep, encoding, False))
    if isinstance(got, pd.DataFrame):
        assert len(got) <= len(rows)
        if kept >= header_bytes:  # the cut left the header whole
            assert list(got.columns) == [n if n != "" else f"Unnamed: {i}" for i, n in enumerate(names)]


@FUZZ
@given(values=st.lists(st.sampled_from(SPECIAL), min_size=1, max_size=8), sep=st.sampled_from(SEPS),
       encoding=st.sampled_from(ENCODINGS))
def test_fuzz_special_numbers_round_trip(tmp_path, values, sep, encoding):
    path = tmp_path / "n.csv"
    write_table(path, ["收入", "weight"], [[repr(v), "1"] for v in values], sep, encoding, False)
    got = read_table(path)
    assert len(got) == len(values) and got.attrs["sep"] == sep
    np.testing.assert_array_equal(got["收入"].to_numpy(dtype=float), np.array(values, dtype=float))


def test_excel_year_column(tmp_path):
    path = tmp_path / "years.xlsx"
    pd.DataFrame({"年份": ["2016年", "2017年"], "收入": [1.0, 2.0]}).to_excel(path, index=False)
    frame = read_table(path)
    assert frame["年份"].tolist() == [2016, 2017]
    assert any("'年份'" in n for n in frame.attrs["notes"])


def test_cli_reads_gbk_semicolon_file_and_refuses_duplicates(tmp_path):
    import typer
    from typer.testing import CliRunner

    from prosperity.cli import measure_cmd

    app = typer.Typer()
    app.callback()(lambda: None)
    measure_cmd.register(app)
    path = tmp_path / "gbk.csv"
    path.write_bytes("地区;收入;权重\n北京;100;1\n上海;200;2\n广州;300;1\n".encode("gbk"))
    ok = CliRunner().invoke(app, ["measure", str(path), "--income", "收入", "--weight", "权重", "--measures", "mean",
                                  "--format", "json"])
    assert ok.exit_code == 0, ok.output
    assert "200" in ok.stdout  # weighted mean (100 + 400 + 300) / 4
    dup = tmp_path / "dup.csv"
    dup.write_bytes(b"income,income\n1,2\n")
    bad = CliRunner().invoke(app, ["measure", str(dup), "--income", "income"])
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1
    assert "duplicated column names: 'income' in columns 1 and 2" in bad.stderr


def test_cli_encoding_and_sep_options(tmp_path):
    from typer.testing import CliRunner

    from prosperity.cli import _register, app

    _register()
    path = tmp_path / "gbk.csv"
    path.write_bytes("收入|权重\n100|1\n200|2\n300|1\n".encode("gb18030"))
    out = CliRunner().invoke(app, ["measure", str(path), "--income", "收入", "--weight", "权重", "--measures", "gini",
                                   "--sep", "|", "--encoding", "gb18030", "--format", "csv"])
    assert out.exit_code == 0, out.output
    assert "gini,0.1875," in out.stdout  # weighted Gini of (100, 200x2, 300): sum|yi-yj|wiwj / (2 W^2 mu)
    panel = tmp_path / "panel.csv"
    panel.write_bytes("region;year;x;y\nA;2020;1;2\nB;2020;3;1\nC;2020;2;5\n".encode("gb18030"))
    out = CliRunner().invoke(app, ["index", str(panel), "--positive", "rest", "--sep", ";", "--encoding", "gb18030",
                                   "--weighting", "equal", "--format", "csv"])
    assert out.exit_code == 0, out.output
    assert out.stdout.splitlines()[0] == "region,year,score,rank"


def test_cli_decompose_reads_a_gbk_semicolon_file(tmp_path):
    import math

    from typer.testing import CliRunner

    from prosperity.cli import _register, app

    _register()
    path = tmp_path / "d.csv"
    path.write_bytes("收入;地区\n100;甲\n200;甲\n300;乙\n400;乙\n".encode("gb18030"))
    out = CliRunner().invoke(app, ["decompose", str(path), "--income", "收入", "--levels", "地区", "--sep", ";",
                                   "--encoding", "gb18030", "--format", "csv"])
    assert out.exit_code == 0, out.output
    between = float(out.stdout.splitlines()[1].split(",")[2])
    # Theil between groups by hand: income shares 0.3 and 0.7, group means 150 and 350, overall 250
    assert between == pytest.approx(0.3 * math.log(150 / 250) + 0.7 * math.log(350 / 250), rel=1e-12)
