"""The design variance routine against R survey (svymean, svytotal, svyby) and hand-worked cases."""

import numpy as np
import pytest

from prosperity.variance import Design


def _mean_u(y, w):
    """Linearized variable of the weighted mean: (y - mean) / N."""
    return (y - np.average(y, weights=w)) / w.sum()


def test_hand_worked_two_strata():
    # stratum A: PSUs with totals t = 1, 3 ; stratum B: t = 2, 2, 5
    # V = 2/1 * ((1-2)^2 + (3-2)^2) + 3/2 * ((2-3)^2 + (2-3)^2 + (5-3)^2) = 4 + 9 = 13
    wu = np.array([1.0, 1.0, 2.0, 2.0, 2.0, 5.0])
    strata = ["A", "A", "A", "B", "B", "B"]
    psu = [1, 2, 2, 1, 2, 3]
    d = Design.build(6, strata=strata, psu=psu)
    assert d.variance(wu) == pytest.approx(13.0)
    # PSU labels repeat across strata but are distinct PSUs: 5 PSUs in all
    assert d.psu_stratum.size == 5 and list(d.n_h) == [2, 3]


def test_no_design_is_iid_with_replacement():
    wu = np.array([1.0, -2.0, 4.0, 0.5])
    d = Design.build(4)
    assert d.variance(wu) == pytest.approx(4 / 3 * np.sum((wu - wu.mean()) ** 2))


def test_fpc_as_population_psu_count_and_fraction():
    wu = np.array([1.0, 3.0, 2.0, 2.0, 5.0])
    strata = ["A", "A", "B", "B", "B"]
    full = Design.build(5, strata=strata).variance(wu)
    # A: 2 of 4 PSUs (f = 0.5), B: 3 of 30 (f = 0.1)
    with_fpc = Design.build(5, strata=strata, fpc=[4, 4, 30, 30, 30]).variance(wu)
    a = 2 * ((1 - 2) ** 2 + (3 - 2) ** 2)
    b = 1.5 * ((2 - 3) ** 2 + (2 - 3) ** 2 + (5 - 3) ** 2)
    assert full == pytest.approx(a + b)
    assert with_fpc == pytest.approx(0.5 * a + 0.9 * b)
    assert Design.build(5, strata=strata, fpc=[0.5, 0.5, 0.1, 0.1, 0.1]).variance(wu) == pytest.approx(with_fpc)


def test_single_psu_stratum_rules():
    wu = np.array([1.0, 3.0, 7.0])
    strata = ["A", "A", "B"]
    with pytest.raises(ValueError, match=r"1 stratum/strata have a single PSU \(e.g. \['B'\]\)"):
        Design.build(3, strata=strata).variance(wu)
    assert Design.build(3, strata=strata, lonely_psu="remove").variance(wu) == pytest.approx(4.0)
    # adjust: the lonely PSU deviates from 0, the population mean of linearized totals; R survey
    # (options(survey.lonely.psu = "adjust"); vcov(svytotal(~u, ...))) gives 53 = 4 + 7^2
    adj = Design.build(3, strata=strata, lonely_psu="adjust").variance(wu)
    assert adj == pytest.approx(53.0)


def test_domain_index_counts_every_psu_of_the_stratum():
    wu_full = np.array([1.0, 0.0, 2.0, 0.0, 3.0, 0.0])
    d = Design.build(6)
    idx = np.array([0, 2, 4])
    assert d.variance(wu_full[idx], index=idx) == pytest.approx(d.variance(wu_full))


@pytest.mark.r
def test_mean_and_domain_ses_equal_r_survey(eusilc, r_survey):
    code = (
        "suppressMessages({library(laeken); library(survey)}); data(eusilc);"
        "d <- svydesign(ids = ~db030, strata = ~db040, weights = ~rb050, data = eusilc);"
        "m <- svymean(~eqIncome, d); b <- svyby(~eqIncome, ~db040, d, svymean);"
        "f <- function(v) paste0('[', paste(format(v, digits = 17), collapse = ','), ']');"
        "cat(sprintf('{\"se\": %s, \"by\": %s, \"lev\": [%s]}', format(SE(m)[[1]], digits = 17), f(SE(b)),"
        " paste0('\"', as.character(b$db040), '\"', collapse = ',')))"
    )
    r = r_survey(code)
    y, w = eusilc["eqIncome"].to_numpy(), eusilc["rb050"].to_numpy()
    design = Design.build(len(y), strata=eusilc["db040"].to_numpy(), psu=eusilc["db030"].to_numpy())
    assert design.se(w * _mean_u(y, w)) == pytest.approx(r["se"], rel=1e-10)
    for level, se in zip(r["lev"], r["by"]):
        idx = np.flatnonzero(eusilc["db040"].to_numpy() == level)
        assert design.se(w[idx] * _mean_u(y[idx], w[idx]), index=idx) == pytest.approx(se, rel=1e-10)


# R survey 4.1-1: svymean(~eqIncome, svydesign(ids=~db030, strata=~db040, weights=~rb050, data=eusilc))
SURVEY_EUSILC_MEAN_SE = 141.16407955567217


def test_mean_se_stored_value(eusilc):
    y, w = eusilc["eqIncome"].to_numpy(), eusilc["rb050"].to_numpy()
    design = Design.build(len(y), strata=eusilc["db040"].to_numpy(), psu=eusilc["db030"].to_numpy())
    assert design.se(w * _mean_u(y, w)) == pytest.approx(SURVEY_EUSILC_MEAN_SE, rel=1e-9)
