"""Registers every measure kernel under its CLI name. One ``register`` block per kernel module."""

from __future__ import annotations

from .gini import gini_sorted
from .registry import MeasureSpec, register

register(MeasureSpec("gini", lambda s, *, influence=True, convention="laeken": gini_sorted(s, influence, convention),
                     "Gini coefficient (laeken convention; convention= convey, ineqpy, unbiased, unbiased_frequency)", convention_kind="measure"))

# --- central tendency, inequality, dispersion, shares (measures/central.py, gini.py, entropy.py,
# dispersion.py, shares.py). Kernels accept convention= (see docs/conventions.md); the defaults are
# the ones registered here. ge and atkinson accept zeros only for alpha > 0 / epsilon < 1: they are
# registered "nonnegative" and their kernels refuse zeros (naming the rows) for the other parameters.
from . import central as _cen  # noqa: E402
from . import dispersion as _dis  # noqa: E402
from . import entropy as _ent  # noqa: E402
from .gini import _check_nu as _gini_check_nu  # noqa: E402
from .gini import sgini_sorted as _sgini_sorted  # noqa: E402
from . import shares as _sh  # noqa: E402


def _check_open_p(p: dict) -> None:
    for name, v in p.items():
        if name.startswith("p") and not 0 < v < 1:
            raise ValueError(f"{name} must lie strictly between 0 and 1 (a population share), got {v:g}")


def _check_share(p: dict) -> None:
    if not 0 <= p["p1"] < p["p2"] <= 1:
        raise ValueError(
            f"share:p1:p2 needs 0 <= p1 < p2 <= 1 (e.g. share:0.9 for the top 10 %, share:0:0.4 for the bottom 40 %), "
            f"got p1={p['p1']:g}, p2={p['p2']:g}"
        )


def _check_lorenz(p: dict) -> None:
    if not 0 <= p["p"] <= 1:
        raise ValueError(f"the Lorenz ordinate needs 0 <= p <= 1, got {p['p']:g}")


def _check_nu(p: dict) -> None:
    _gini_check_nu(p["nu"])


def _check_epsilon(p: dict) -> None:
    _ent._check_param("the Atkinson parameter epsilon", p["epsilon"], lower=0.0)


_eu, _fr = "eurostat", "fractional"
register(MeasureSpec("mean", lambda s, *, influence=True: _cen.mean_estimate(s, influence=influence), "Weighted mean income"))
register(MeasureSpec("median", lambda s, *, influence=True, convention=_eu: _cen.quantile_estimate(s, 0.5, convention, influence),
                     "Weighted median (Eurostat/laeken quantile rule)", convention_kind="quantile"))
register(MeasureSpec("quantile", lambda s, *, influence=True, p, convention=_eu: _cen.quantile_estimate(s, p, convention, influence),
                     "Weighted p-quantile (Eurostat/laeken rule), e.g. quantile:0.9", ("p",), check=_check_open_p, convention_kind="quantile"))
register(MeasureSpec("qratio", lambda s, *, influence=True, p_top, p_bottom, convention=_eu:
                     _cen.quantile_ratio_estimate(s, p_top, p_bottom, convention, influence),
                     "Quantile ratio q(p_top) / q(p_bottom), default P90/P10", ("p_top", "p_bottom"),
                     {"p_top": 0.9, "p_bottom": 0.1}, check=_check_open_p, convention_kind="quantile"))
for _name, (_a, _b) in {"p90p10": (0.9, 0.1), "p90p50": (0.9, 0.5), "p50p10": (0.5, 0.1)}.items():
    register(MeasureSpec(_name, lambda s, *, influence=True, convention=_eu, _a=_a, _b=_b:
                         _cen.quantile_ratio_estimate(s, _a, _b, convention, influence),
                         f"Quantile ratio P{int(_a * 100)}/P{int(_b * 100)}", convention_kind="quantile"))
register(MeasureSpec("sgini", lambda s, *, influence=True, nu: _sgini_sorted(s, nu, influence),
                     "S-Gini / extended Gini G(nu), nu > 1 (nu = 2 is the Gini)", ("nu",), {"nu": 2.0}, check=_check_nu))
register(MeasureSpec("ge", lambda s, *, influence=True, alpha: _ent.ge_estimate(s, alpha, influence=influence),
                     "Generalized entropy GE(alpha): 0 MLD, 1 Theil T, 2 half squared CV", ("alpha",),
                     income_domain="nonnegative",
                     check=lambda p: _ent._check_param("the GE parameter alpha", p["alpha"]),
                     domain_rule=lambda p, c: "positive" if p["alpha"] <= 0 else "nonnegative"))
register(MeasureSpec("theil", lambda s, *, influence=True, convention="standard": _ent.theil_estimate(s, influence=influence, convention=convention),
                     "Theil T index GE(1) (zeros allowed)", income_domain="nonnegative", convention_kind="measure"))
register(MeasureSpec("mld", lambda s, *, influence=True, convention="standard": _ent.mld_estimate(s, influence=influence, convention=convention),
                     "Mean log deviation GE(0) (Theil L)", income_domain="positive",
                     domain_rule=lambda p, c: "any" if c == "pip" else "positive", convention_kind="measure"))
register(MeasureSpec("atkinson", lambda s, *, influence=True, epsilon: _ent.atkinson_estimate(s, epsilon, influence=influence),
                     "Atkinson index A(epsilon), epsilon >= 0 (1: geometric mean)", ("epsilon",),
                     income_domain="nonnegative", check=_check_epsilon,
                     domain_rule=lambda p, c: "positive" if p["epsilon"] >= 1 else "nonnegative"))
register(MeasureSpec("cv", lambda s, *, influence=True, convention="population": _dis.cv_estimate(s, influence=influence, convention=convention),
                     "Coefficient of variation sigma / mean (population variance)", convention_kind="measure"))
register(MeasureSpec("varlog", lambda s, *, influence=True, convention="log_mean":
                     _dis.variance_of_logs_estimate(s, influence=influence, convention=convention),
                     "Variance of logarithms (around the mean log)", income_domain="positive", convention_kind="measure"))
register(MeasureSpec("qsr", lambda s, *, influence=True, convention=_eu: _cx.qsr_for_sample(s, convention, influence),  # convey's u under bandwidth="convey"
                     "Quintile share ratio S80/S20 (laeken/Eurostat)", convention_kind="quantile"))
register(MeasureSpec("palma", lambda s, *, influence=True, convention=_eu: _sh.palma_estimate(s, convention, influence),
                     "Palma ratio: top 10 % income share / bottom 40 % share", convention_kind="quantile"))
register(MeasureSpec("share", lambda s, *, influence=True, p1, p2, convention=_eu: _sh.income_share_estimate(s, p1, p2, convention, influence),
                     "Income share of the group between fractiles p1 and p2 (share:0.9 = top 10 %)", ("p1", "p2"),
                     {"p2": 1.0}, check=_check_share, convention_kind="quantile"))
register(MeasureSpec("lorenz", lambda s, *, influence=True, p, convention=_fr: _sh.lorenz_estimate(s, p, convention, influence),
                     "Lorenz ordinate L(p): income share of the poorest p (exact curve)", ("p",), check=_check_lorenz, convention_kind="measure"))
register(MeasureSpec("glorenz", lambda s, *, influence=True, p, convention=_fr:
                     _sh.generalized_lorenz_estimate(s, p, convention, influence),
                     "Generalized Lorenz ordinate GL(p) = mean x L(p)", ("p",), check=_check_lorenz, convention_kind="measure"))

# --- poverty, middle class, polarization, prosperity (measures/poverty.py, middle.py, polarization.py,
# prosperity.py). Kernels with uses_line=True get line=z and return d value / d z. arpt/arpr/rmpg and
# middle_rel estimate their own line (fraction x median) from the sample, its error included in u; the
# table layer may pass line= (arpr, rmpg: e.g. the national threshold for regions, as laeken's breakdown)
# or median= (middle_rel) to fix it, then add line_derivative x u_line itself.
from . import middle as _mid  # noqa: E402
from . import polarization as _pol  # noqa: E402
from . import poverty as _pov  # noqa: E402
from . import convey_extra as _cx  # noqa: E402
from . import prosperity as _pros  # noqa: E402


def _check_alpha(p: dict) -> None:
    _pov._check_alpha(p["alpha"])


def _check_fraction(p: dict) -> None:
    _pov._check_fraction(p["fraction"])


def _check_band(p: dict) -> None:
    _mid._check_band(p["lower"], p["upper"], "middle-class")


def _check_er(p: dict) -> None:
    _pol._check_er_alpha(p["alpha"])


def _check_z(p: dict) -> None:
    if not p["z"] > 0:
        raise ValueError(f"prosperity_gap:z needs a positive standard z, got {p['z']!r}")


_line = dict(uses_line=True, poor_rule=True)  # poor: y < z unless inclusive=True (y <= z, convey)
register(MeasureSpec("fgt", lambda s, *, influence=True, alpha, line, inclusive=False:
                     _pov.fgt_sorted(s, line, alpha, influence=influence, inclusive=inclusive),
                     "Foster-Greer-Thorbecke FGT(alpha): 0 headcount, 1 poverty gap, 2 severity", ("alpha",),
                     income_domain="nonnegative", check=_check_alpha, **_line))
register(MeasureSpec("headcount", lambda s, *, influence=True, line, inclusive=False:
                     _pov.fgt_sorted(s, line, 0.0, influence=influence, inclusive=inclusive),
                     "Headcount ratio: share with income below the line (FGT 0)", **_line))
register(MeasureSpec("pgap", lambda s, *, influence=True, line, inclusive=False:
                     _pov.fgt_sorted(s, line, 1.0, influence=influence, inclusive=inclusive),
                     "Poverty gap index (FGT 1)", income_domain="nonnegative", **_line))
register(MeasureSpec("watts", lambda s, *, influence=True, line, inclusive=False:
                     _pov.watts_sorted(s, line, influence=influence, inclusive=inclusive),
                     "Watts poverty index (1/N) sum_poor ln(z/y)", income_domain="positive", **_line))
register(MeasureSpec("sen", lambda s, *, influence=True, line, inclusive=False:
                     _pov.sen_sorted(s, line, influence=influence, inclusive=inclusive),
                     "Sen poverty index H [I + (1 - I) Gini of the poor]", income_domain="nonnegative", **_line))
register(MeasureSpec("sst", lambda s, *, influence=True, line, inclusive=False:
                     _pov.sst_sorted(s, line, influence=influence, inclusive=inclusive),
                     "Sen-Shorrocks-Thon index P1 (1 + Gini of poverty gaps)", income_domain="nonnegative", **_line))
register(MeasureSpec("arpt", lambda s, *, influence=True, fraction=0.6, convention="eurostat":
                     _pov.arpt_sorted(s, influence=influence, fraction=fraction, convention=convention),
                     "At-risk-of-poverty threshold: fraction (0.6) x median (laeken arpt)", ("fraction",),
                     {"fraction": 0.6}, check=_check_fraction, convention_kind="quantile"))
register(MeasureSpec("arpr", lambda s, *, influence=True, fraction=0.6, line=None, convention="eurostat", inclusive=False:
                     _cx.arpr_rule_sorted(s, influence=influence, fraction=fraction, line=line, convention=convention,
                                          inclusive=inclusive),
                     "At-risk-of-poverty rate: share below fraction (0.6) x median (laeken arpr, as a fraction)",
                     ("fraction",), {"fraction": 0.6}, check=_check_fraction, threshold="own_fraction", convention_kind="quantile",
                     poor_rule=True))
register(MeasureSpec("rmpg", lambda s, *, influence=True, fraction=0.6, line=None, convention="eurostat":
                     _pov.rmpg_sorted(s, influence=influence, fraction=fraction, line=line, convention=convention),
                     "Relative median at-risk-of-poverty gap (laeken rmpg, as a fraction)", ("fraction",),
                     {"fraction": 0.6}, check=_check_fraction, threshold="own_fraction", convention_kind="quantile"))
_band = ("lower", "upper")
_nbs = {"lower": _mid.NBS_BAND[0], "upper": _mid.NBS_BAND[1]}
_rel = {"lower": 0.75, "upper": 2.0}
register(MeasureSpec("middle_abs", lambda s, *, influence=True, lower, upper:
                     _mid.middle_absolute_sorted(s, influence=influence, lower=lower, upper=upper),
                     "Population share with lower <= income < upper (default NBS 100,000-500,000 yuan, 3 persons)",
                     _band, dict(_nbs), check=_check_band))
register(MeasureSpec("middle_abs_income", lambda s, *, influence=True, lower, upper:
                     _mid.middle_absolute_sorted(s, influence=influence, lower=lower, upper=upper, income_share=True),
                     "Income share of the absolute middle band", _band, dict(_nbs), income_domain="nonnegative",
                     check=_check_band))
register(MeasureSpec("middle_rel", lambda s, *, influence=True, lower, upper, median=None, convention="eurostat":
                     _mid.middle_relative_sorted(s, influence=influence, lower=lower, upper=upper, median=median,
                                                 convention=convention),
                     "Population share with lower x median <= income < upper x median (default 0.75-2)",
                     _band, dict(_rel), check=_check_band, threshold="median_band", convention_kind="quantile"))
register(MeasureSpec("middle_rel_income", lambda s, *, influence=True, lower, upper, median=None, convention="eurostat":
                     _mid.middle_relative_sorted(s, influence=influence, lower=lower, upper=upper, median=median,
                                                 convention=convention, income_share=True),
                     "Income share of the relative middle band (default 0.75-2 x median)", _band, dict(_rel),
                     income_domain="nonnegative", check=_check_band, threshold="median_band", convention_kind="quantile"))
register(MeasureSpec("wolfson", lambda s, *, influence=True, convention="wolfson1994": _pol.wolfson_sorted(s, influence=influence, convention=convention),
                     "Wolfson polarization 2 (2T - G) mean / median (convention= pysal, wbpip)", income_domain="nonnegative",
                     convention_kind="measure"))
register(MeasureSpec("foster_wolfson", lambda s, *, influence=True: _pol.foster_wolfson_sorted(s, influence=influence),
                     "Foster-Wolfson polarization (2T - G) mean / median (= PySAL wolfson, convey svyfwp)",
                     income_domain="nonnegative"))
register(MeasureSpec("esteban_ray", lambda s, *, influence=True, alpha: _pol.esteban_ray_sorted(s, alpha, influence=influence),
                     "Esteban-Ray polarization (Duclos-Esteban-Ray form) / mean^(1-alpha)", ("alpha",),
                     {"alpha": 1.0}, income_domain="nonnegative", check=_check_er))
register(MeasureSpec("prosperity_gap", lambda s, *, influence=True, z: _pros.prosperity_gap_sorted(s, influence=influence, line=z),
                     "World Bank prosperity gap: mean of z / income (z = 25 $/day)", ("z",),
                     {"z": _pros.PROSPERITY_STANDARD}, income_domain="positive", check=_check_z))

# --- R convey's remaining estimators (measures/convey_extra.py): the median of the poor (poor: y <= t,
# convey's rule) and the richness indices estimate their own threshold fraction x median (line= imposes
# the whole sample's for groups); their quantile rule is convey's inverse CDF unless conventions= says
# otherwise, their densities use convey's bandwidth sigma_w N^(-1/5).


def _check_rich_cha(p: dict) -> None:
    _cx._check_rich("cha", p["g"])
    _pov._check_fraction(p["fraction"])


def _check_rich_fgt(p: dict) -> None:
    if not p["g"] >= 0:
        raise ValueError(f"rich_fgt:g needs g >= 0 (0 <= g <= 1 concave, g > 1 convex), got {p['g']:g}")
    _pov._check_fraction(p["fraction"])


_icdf = "inverse_cdf"
register(MeasureSpec("poormed", lambda s, *, influence=True, fraction=0.6, line=None, convention=_icdf, inclusive=True:
                     _cx.poormed_sorted(s, influence=influence, fraction=fraction, line=line, convention=convention,
                                        inclusive=inclusive),
                     "Median income of the poor (y <= fraction x median; convey svypoormed)", ("fraction",),
                     {"fraction": 0.6}, check=_check_fraction, threshold="own_fraction", convention_kind="measure",
                     poor_rule=True))
register(MeasureSpec("zenga", lambda s, *, influence=True: _cx.zenga_sorted(s, influence=influence),
                     "Zenga inequality index (convey svyzenga)", income_domain="nonnegative"))
register(MeasureSpec("jdiv", lambda s, *, influence=True: _cx.jdiv_sorted(s, influence=influence),
                     "J-divergence = Theil T + MLD (convey svyjdiv)", income_domain="positive"))
register(MeasureSpec("rich", lambda s, *, influence=True, g, fraction, line=None, convention=_icdf:
                     _cx.rich_sorted(s, g, influence=influence, kind="cha", fraction=fraction, line=line, convention=convention),
                     "Chakravarty richness (1/N) sum_{y > r} w [1 - (r/y)^g], r = fraction x median (convey svyrich 'Cha')",
                     ("g", "fraction"), {"g": 2.0, "fraction": 2.0}, check=_check_rich_cha, threshold="own_fraction",
                     convention_kind="measure"))
register(MeasureSpec("rich_fgt", lambda s, *, influence=True, g, fraction, line=None, convention=_icdf:
                     _cx.rich_sorted(s, g, influence=influence, kind="fgt1" if g <= 1 else "fgt2", fraction=fraction,
                                     line=line, convention=convention),
                     "FGT-type richness: (1 - r/y)^g for g <= 1, (y/r - 1)^g for g > 1 (convey svyrich FGTT1 / FGTT2)",
                     ("g", "fraction"), {"g": 1.0, "fraction": 2.0}, check=_check_rich_fgt, threshold="own_fraction",
                     convention_kind="measure"))

# --- how each measure behaves under a change of scale (read by the table layer, which computes on
# incomes times 2^-k and weights times 2^-m when they lie near the limits of floating point; see
# docs/conventions.md, "Extreme values"). Income scaling, with every income-valued parameter and
# the poverty line scaled alike: "invariant" (the value is unchanged) or "equivariant" (the value,
# its SE and CI are in income units: multiplied back by 2^k). Every measure is invariant to a common
# rescaling of the weights except the conventions listed in WEIGHT_SCALE_DEPENDENT. A measure missing
# from INCOME_SCALING is never computed on rescaled data: the table layer refuses it when the data
# would need rescaling.
INCOME_SCALING: dict[str, str] = {name: "invariant" for name in (
    "gini", "qratio", "p90p10", "p90p50", "p50p10", "sgini", "ge", "theil", "mld", "atkinson", "cv", "varlog",
    "qsr", "palma", "share", "lorenz", "fgt", "headcount", "pgap", "watts", "sen", "sst", "arpr", "rmpg",
    "middle_abs", "middle_abs_income", "middle_rel", "middle_rel_income", "wolfson", "foster_wolfson",
    "esteban_ray", "prosperity_gap", "zenga", "jdiv", "rich", "rich_fgt")}
INCOME_SCALING.update({name: "equivariant" for name in ("mean", "median", "quantile", "arpt", "glorenz", "poormed")})
# parameters given in income units (absolute bands, standards): scaled with the incomes
INCOME_PARAMS: dict[str, tuple[str, ...]] = {
    "middle_abs": ("lower", "upper"), "middle_abs_income": ("lower", "upper"), "prosperity_gap": ("z",)}
# measure -> conventions whose value depends on the scale of the weights (convey's Gini: its "- 1"
# is in units of weight)
WEIGHT_SCALE_DEPENDENT: dict[str, tuple[str, ...]] = {"gini": ("convey", "unbiased_frequency")}
