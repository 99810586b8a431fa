"""The kernel bandwidth of the quantile-based SEs as a named convention: ``"osier"`` (0.79 IQR N^(-1/5),
the package's default) or ``"convey"`` (weighted SD N^(-1/5), R convey's ``h_fun``), reachable from
``measure(bandwidth=)`` and ``prosperity measure --bandwidth``.

R convey is not installable here (no Debian package), so convey's rule is computed by hand in the test,
and the SEs under ``"convey"`` are checked against convey 0.2.5's published example outputs on eusilc
(pkgdown reference pages svyiqalpha, svyarpt, svyarpr, svyrmpg, svyqsr; design ids = ~rb030,
strata = ~db040, weights = ~rb050) to the printed digits. laeken computes no linearized SE (its
``variance()`` is a bootstrap), so neither rule is laeken's; its point estimates do not depend on the
bandwidth and stay equal to laeken's (tests/measures/test_poverty_laeken.py).
"""

import numpy as np
import pytest

from prosperity import measure
from prosperity.measures import convey_extra as ce
from prosperity.measures.estimate import SortedIncome
from prosperity.measures.quantiles import convey_bandwidth, density_bandwidth, kernel_density_at, osier_bandwidth

DESIGN = dict(weight="rb050", strata="db040", psu="rb030")
# convey 0.2.5, linearized design: measure -> (value, SE) as printed
CONVEY_PUBLISHED = {"median": (18099, 84.394), "arpt": (10859, 50.636), "arpr": (0.14444, 0.0028),
                    "rmpg": (0.18929, 0.0058), "qsr": (3.97, 0.0426)}


def printed(x: float, shown: float) -> bool:
    text = repr(float(shown))
    decimals = len(text.split(".")[1].rstrip("0")) if "." in text else 0
    if float(shown).is_integer():
        decimals = 0
    return round(x, decimals) == shown


def test_the_two_rules_by_hand(eusilc):
    y, w = eusilc["eqIncome"].to_numpy(float), eusilc["rb050"].to_numpy(float)
    s = SortedIncome.from_arrays(y, w)
    n = w.sum()
    mean = np.sum(w * y) / n
    sd = np.sqrt(np.sum(w * y * y) / n - mean * mean)  # convey: (sum w y^2 - (sum w y)^2 / N) / N
    assert convey_bandwidth(s) == pytest.approx(sd * n ** -0.2, rel=1e-12)
    order = np.argsort(y, kind="stable")
    cum = np.cumsum(w[order]) / n
    q = lambda p: y[order][np.searchsorted(cum, p)]  # noqa: E731  (Eurostat: no tie at p here)
    assert osier_bandwidth(s) == pytest.approx(0.79 * (q(0.75) - q(0.25)) * n ** -0.2, rel=1e-12)
    assert density_bandwidth(s) == osier_bandwidth(s)  # the default
    s.cache["bandwidth_rule"] = "convey"
    assert density_bandwidth(s) == convey_bandwidth(s)
    h = convey_bandwidth(s)
    x = 10000.0
    f = np.sum(w * np.exp(-0.5 * ((x - y) / h) ** 2)) / (n * h * np.sqrt(2 * np.pi))
    assert kernel_density_at(s, x) == pytest.approx(f, rel=1e-12)
    assert ce.bandwidth(s, None) == h and ce.bandwidth(s, "osier") == osier_bandwidth(s)
    with pytest.raises(ValueError, match="unknown bandwidth rule 'silverman'"):
        density_bandwidth(s, "silverman")


@pytest.fixture(scope="module")
def both(eusilc):
    names = list(CONVEY_PUBLISHED)
    osier = measure(eusilc, "eqIncome", names, **DESIGN)
    convey = measure(eusilc, "eqIncome", names, **DESIGN, bandwidth="convey")
    return osier, convey


def test_convey_rule_reproduces_conveys_published_ses(both):
    osier, convey = both
    for name, (value, se) in CONVEY_PUBLISHED.items():
        assert printed(convey.value_of(name), value), name
        assert printed(convey.se_of(name), se), (name, convey.se_of(name))
        assert convey.value_of(name) == osier.value_of(name)  # point estimates do not depend on h
    # Osier's rule misses the digits convey prints for the median, ARPT and the QSR
    for name in ("median", "arpt", "qsr"):
        assert not printed(osier.se_of(name), CONVEY_PUBLISHED[name][1]), name
    # the difference the issue measured: about 0.4 % on the median and the ARPT, 0.5 % on the RMPG
    assert osier.se_of("median") / convey.se_of("median") == pytest.approx(1.0042, abs=5e-4)
    assert osier.se_of("rmpg") / convey.se_of("rmpg") == pytest.approx(1.0053, abs=5e-4)


def test_convey_rule_equals_a_hand_built_linearization(eusilc, both):
    """The median's SE under convey's rule: u = -(1{y <= m} - 1/2) / (N f(m)), f with h = sd N^(-1/5),
    through the design variance (R survey's svyrecvar)."""
    from prosperity.variance.design import Design

    _, convey = both
    y, w = eusilc["eqIncome"].to_numpy(float), eusilc["rb050"].to_numpy(float)
    n = w.sum()
    mean = np.sum(w * y) / n
    h = np.sqrt(np.sum(w * (y - mean) ** 2) / n) * n ** -0.2
    order = np.argsort(y, kind="stable")
    m = y[order][np.searchsorted(np.cumsum(w[order]) / n, 0.5)]
    f = np.sum(w * np.exp(-0.5 * ((m - y) / h) ** 2)) / (n * h * np.sqrt(2 * np.pi))
    u = -((y <= m).astype(float) - 0.5) / (n * f)
    design = Design.build(len(y), strata=eusilc["db040"].to_numpy(), psu=eusilc["rb030"].to_numpy())
    assert convey.value_of("median") == m
    assert convey.se_of("median") == pytest.approx(np.sqrt(design.variance(w * u)), rel=1e-10)


def test_groups_and_default(eusilc):
    by = measure(eusilc, "eqIncome", ["arpr"], **DESIGN, by="db040", bandwidth="convey")
    default = measure(eusilc, "eqIncome", ["arpr"], **DESIGN, by="db040")
    osier = measure(eusilc, "eqIncome", ["arpr"], **DESIGN, by="db040", bandwidth="osier")
    assert np.array_equal(default.to_frame()["se"], osier.to_frame()["se"])  # default unchanged: Osier's
    assert not np.allclose(by.to_frame()["se"], default.to_frame()["se"], rtol=1e-6)
    np.testing.assert_allclose(by.to_frame()["se"], default.to_frame()["se"], rtol=0.05)
    # convey's own estimators follow the switch too (their default is convey's rule)
    pm = measure(eusilc, "eqIncome", ["poormed"], **DESIGN)
    pm_osier = measure(eusilc, "eqIncome", ["poormed"], **DESIGN, bandwidth="osier")
    assert printed(pm.se_of("poormed"), 72.88) and pm_osier.se_of("poormed") != pm.se_of("poormed")


def test_bad_rule_is_refused_with_the_choices(eusilc):
    from prosperity.io.errors import ProsperityInputError

    with pytest.raises(ProsperityInputError, match=r"bandwidth.*osier.*convey"):
        measure(eusilc, "eqIncome", ["median"], weight="rb050", bandwidth="silverman")
