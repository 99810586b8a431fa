"""Framework YAML: bundled files load; bad files fail with the key path and the line."""

import pandas as pd
import pytest

from prosperity.index import FrameworkError, bundled_frameworks, load_framework, loads
from prosperity.index.china import china_provincial_panel

GOOD = """\
name: test
dimensions:
  - code: a
    weight: 0.5
    indicators:
      - {code: x1, direction: "+"}
      - {code: x2, direction: "-"}
  - code: b
    weight: 0.5
    indicators:
      - code: x3
        direction: moderate
        optimum: 40
"""


def issue(text):
    with pytest.raises(FrameworkError) as exc:
        loads(text)
    return exc.value.issues


def test_bundled_frameworks_load_and_match_the_bundled_panel():
    assert {"affluence_sharing", "five_concepts", "zhejiang_2025"} <= set(bundled_frameworks())
    panel = china_provincial_panel()
    for name in bundled_frameworks():
        fw = load_framework(name)
        fw.check_columns(panel.columns)  # every available indicator exists in the bundled data
        assert fw.skipped, f"{name} should list the indicators the bundled data lack"
    z = load_framework("zhejiang_2025")
    gdp = next(i for i in z.indicators if i.code == "gdp_pc")
    assert gdp.target.for_unit("Zhejiang", 2025) == 130000 and gdp.target.for_unit("Hangzhou", 2025) == 180000
    assert z.defaults.mode == "target"


def test_good_file_tree():
    fw = loads(GOOD)
    assert fw.codes == ["x1", "x2", "x3"]
    assert [g.code for g in fw.groups] == ["a", "b", "index"]
    assert fw.indicators[2].optimum == 40


def test_malformed_yaml_reports_line():
    (i,) = issue("name: x\ndimensions:\n  - code: a\n    indicators: [\n")
    assert "malformed YAML" in i.message and i.line is not None and i.line >= 4


def test_unknown_key_path_line_and_suggestion():
    (i,) = issue(GOOD.replace("optimum: 40", "optimum: 40\n        weigth: 1"))
    assert i.path == "dimensions[b].indicators[x3].weigth"
    assert i.line == 14 and "did you mean 'weight'" in i.message


def test_direction_typo():
    (i,) = issue(GOOD.replace('{code: x2, direction: "-"}', '{code: x2, direction: "negatve"}'))
    assert i.path == "dimensions[a].indicators[x2].direction" and i.line == 7
    assert "'+', '-' or 'moderate'" in i.message


def test_weights_not_summing_to_one():
    (i,) = issue(GOOD.replace("weight: 0.5\n    indicators:\n      - code: x3", "weight: 0.6\n    indicators:\n      - code: x3"))
    assert i.path == "dimensions" and "sum to 1.1" in i.message and i.line == 2


def test_moderate_needs_optimum_and_duplicate_codes():
    (i,) = issue(GOOD.replace("        optimum: 40\n", ""))
    assert "needs exactly one of optimum" in i.message and i.line == 11
    (i,) = issue(GOOD.replace("code: x2", "code: x1"))
    assert "duplicate code 'x1' (first used at line 6)" in i.message and i.line == 7


def test_unknown_indicator_column_is_located():
    fw = loads(GOOD.replace("{code: x2, direction: \"-\"}", "{code: x2, column: x2_typo, direction: \"-\"}"))
    with pytest.raises(FrameworkError) as exc:
        fw.check_columns(pd.Index(["x1", "x2", "x3"]))
    (i,) = exc.value.issues
    assert i.path == "dimensions[a].indicators[x2].column" and i.line == 7 and "x2_typo" in i.message


def test_missing_required_key():
    (i,) = issue("dimensions:\n  - code: a\n    indicators: [{code: x, direction: '+'}]\n")
    assert "required key 'name'" in i.message
