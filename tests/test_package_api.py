"""The package's top-level entry points."""

import pytest

import prosperity


def test_top_level_measure_on_bundled_eusilc():
    eusilc = prosperity.load_dataset("eusilc")
    result = prosperity.measure(eusilc, income="eqIncome", weight="rb050", measures=["gini", "arpr"])
    assert result.value_of("gini") == pytest.approx(0.2648962, abs=1e-7)  # laeken 26.48962 %
    assert result.value_of("arpr") == pytest.approx(0.1444422, abs=1e-7)  # laeken 14.44422 %


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="module 'prosperity' has no attribute 'gini_index'"):
        prosperity.gini_index  # noqa: B018
