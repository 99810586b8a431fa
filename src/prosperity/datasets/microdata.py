"""Loaders for the bundled microdata samples and small reference tables from other countries.

Microdata keep their source column names (``db090``, ``eqIncome``, ``family.size``...), so that code
and reference values from R (laeken, ineq, dineq) carry over unchanged; units are in ``attrs``.
"""

from __future__ import annotations

from ._registry import dataset, finish, read_csv


@dataset(
    name="eusilc",
    file="laeken_eusilc_synthetic_austria2006.csv.gz",
    description="laeken's synthetic EU-SILC sample (Austria 2006): 14,827 persons in 6,000 households",
    source="R package laeken 0.5.3, data/eusilc.RData (github cran/laeken @ b68d7cd)",
    licence="GPL (>= 2)",
    units={"py*n, hy*n, eqIncome": "euro per year (net)", "db090": "household weight",
           "rb050": "personal weight", "eqSS": "modified OECD equivalence scale"},
    notes="SYNTHETIC data. laeken 0.5.2: gini(eqIncome, rb050) = 26.48962 %, arpr = 14.44422 %, qsr = 3.970004.",
)
def eusilc(*, backend: str = "pandas"):
    """laeken's synthetic EU-SILC person file (column names as in laeken)."""
    info = eusilc.info
    return finish(read_csv(info), info, backend)


@dataset(
    name="ilocos",
    file="ineq_Ilocos_philippines_fies1997_1998.csv",
    description="Ilocos region (Philippines) household income, FIES 1997 + APIS 1998: 632 households",
    source="R package ineq 0.2-13, data/Ilocos.rda (github cran/ineq @ e17b77a); Philippine NSO",
    licence="GPL-2 | GPL-3",
    units={"income, AP.income": "pesos per household per year", "AP.weight": "APIS survey weight"},
    notes="REAL microdata. ineq reference: Atkinson(0.5) of income/10000, Pangasinan = 0.1291856; "
    "unweighted Gini(income) = 0.4269508.",
)
def ilocos(*, backend: str = "pandas"):
    """ineq's Ilocos household sample (column names as in ineq)."""
    info = ilocos.info
    return finish(read_csv(info), info, backend)


def _enigh(info, backend):
    return finish(read_csv(info, dtype={"hh_number": str}), info, backend)


_ENIGH = dict(
    source="R package dineq 0.1.0, data/mex_inc_{year}.rda (github cran/dineq @ 239ef34); INEGI ENIGH",
    licence="GPL-3",
    units={"income": "pesos per household (quarterly current income in ENIGH)", "factor": "expansion weight"},
)


@dataset(name="enigh_2008", file="dineq_mex_inc_2008_enigh_sample.csv",
         description="Mexico ENIGH 2008: 5,000-household selection (dineq)",
         notes="REAL microdata selection (not representative). Weighted Gini(income, factor) = 0.4742345.",
         **{**_ENIGH, "source": _ENIGH["source"].format(year=2008)})
def enigh_2008(*, backend: str = "pandas"):
    """dineq's ENIGH 2008 selection (hh_number kept as text)."""
    return _enigh(enigh_2008.info, backend)


@dataset(name="enigh_2016", file="dineq_mex_inc_2016_enigh_sample.csv",
         description="Mexico ENIGH 2016: 5,000-household selection (dineq)",
         notes="REAL microdata selection (not representative). Weighted Gini(income, factor) = 0.4561371.",
         **{**_ENIGH, "source": _ENIGH["source"].format(year=2016)})
def enigh_2016(*, backend: str = "pandas"):
    """dineq's ENIGH 2016 selection (hh_number kept as text)."""
    return _enigh(enigh_2016.info, backend)


@dataset(
    name="datt1998",
    file="datt1998_rural_india_1983_grouped.csv",
    description="Datt (1998) Table 1: rural India 1983 (NSS 38th round), 13 expenditure classes (grouped data)",
    source="Datt, G. (1998) IFPRI FCND Discussion Paper 50, Table 1; shares as in github "
    "PIP-Technical-Team/pipster @ 9ae5cf4",
    licence="published table (facts)",
    units={"class_limits_rs_month, class_mean_rs_month": "rupees per person per month",
           "percent_of_persons": "%", "cum_*_share": "fraction"},
    notes="Mean 109.9 Rs/month; poverty line 89 Rs/month. The cumulative shares are the inputs to reproduce.",
)
def datt1998(*, backend: str = "pandas"):
    """Datt (1998) grouped distribution: class limits, % of persons, class mean, cumulative P and L."""
    info = datt1998.info
    return finish(read_csv(info), info, backend)


@dataset(
    name="pysal_mexico",
    file="pysal_mexico_state_pcgdp_1940_2000.csv",
    description="Mexico: per-capita GDP of 32 states, 1940-2000 (decennial), with regionalisations",
    source="libpysal 4.14.1 examples/mexico (Rey & Sastre Gutierrez 2010)",
    licence="BSD-3-Clause",
    units={"pcgdp*": "per-capita GDP (constant pesos per the source paper)"},
)
def pysal_mexico(*, backend: str = "pandas"):
    """PySAL's Mexico state per-capita GDP panel (wide, one column per decade)."""
    info = pysal_mexico.info
    return finish(read_csv(info), info, backend)


@dataset(
    name="pysal_us_income",
    file="pysal_usjoin_state_pcincome_1929_2009.csv",
    description="USA: per-capita personal income of 48 lower states, 1929-2009 (BEA)",
    source="libpysal 4.14.1 examples/us_income/usjoin.csv; BEA REIS",
    licence="BSD-3-Clause (libpysal); BEA data public domain",
    units={"1929..2009": "dollars per person, current prices",
           "pc_income_usd": "dollars per person, current prices (long=True)"},
)
def pysal_us_income(*, long: bool = False, backend: str = "pandas"):
    """PySAL's US state income panel: wide (one column per year, as in libpysal) or ``long=True``
    (Name, STATE_FIPS, year, pc_income_usd)."""
    info = pysal_us_income.info
    frame = read_csv(info)
    if long:
        frame = frame.melt(id_vars=["Name", "STATE_FIPS"], var_name="year", value_name="pc_income_usd")
        frame["year"] = frame["year"].astype("int64")
    return finish(frame, info, backend)
