"""Every example in the package's docstrings runs and prints what it says (``>>>`` lines with an
expected output are checked; examples that need files or print large frames are marked
``# doctest: +SKIP`` in place). A docstring that shows a wrong number is a defect: this test found
``ge([1, 2, 3, 4])`` documented as 0.1064401372 (it is 0.1064401353)."""

import doctest
import importlib
import pkgutil

import pytest

import prosperity

MODULES = sorted(m.name for m in pkgutil.walk_packages(prosperity.__path__, "prosperity."))


def _with_examples(name):
    module = importlib.import_module(name)
    return [t for t in doctest.DocTestFinder().find(module) if t.examples]


@pytest.mark.parametrize("name", [n for n in MODULES if _with_examples(n)])
def test_docstring_examples(name):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in _with_examples(name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} fail (run pytest --doctest-modules on it)"
    assert result.attempted > 0


def test_the_documented_theil_value():
    from prosperity.decompose import ge
    assert round(ge([1, 2, 3, 4], measure="theil"), 10) == 0.1064401353
