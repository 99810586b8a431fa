"""Registers every measure kernel under its CLI name. One ``register`` block per kernel module."""

from __future__ import annotations

from .gini import gini_sorted
from .registry import MeasureSpec, register

register(MeasureSpec("gini", lambda s, *, influence=True: gini_sorted(s, influence), "Gini coefficient (laeken convention)"))

# --- poverty, middle class, polarization, prosperity (measures/poverty.py, middle.py, polarization.py,
# prosperity.py). Kernels with uses_line=True get line=z and return d value / d z. arpt/arpr/rmpg and
# middle_rel estimate their own line (fraction x median) from the sample, its error included in u; the
# table layer may pass line= (arpr, rmpg: e.g. the national threshold for regions, as laeken's breakdown)
# or median= (middle_rel) to fix it, then add line_derivative x u_line itself.
from . import middle as _mid  # noqa: E402
from . import polarization as _pol  # noqa: E402
from . import poverty as _pov  # noqa: E402
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


_line = dict(uses_line=True)
register(MeasureSpec("fgt", lambda s, *, influence=True, alpha, line: _pov.fgt_sorted(s, line, alpha, influence=influence),
                     "Foster-Greer-Thorbecke FGT(alpha): 0 headcount, 1 poverty gap, 2 severity", ("alpha",),
                     income_domain="nonnegative", check=_check_alpha, **_line))
register(MeasureSpec("headcount", lambda s, *, influence=True, line: _pov.fgt_sorted(s, line, 0.0, influence=influence),
                     "Headcount ratio: share with income below the line (FGT 0)", **_line))
register(MeasureSpec("pgap", lambda s, *, influence=True, line: _pov.fgt_sorted(s, line, 1.0, influence=influence),
                     "Poverty gap index (FGT 1)", income_domain="nonnegative", **_line))
register(MeasureSpec("watts", lambda s, *, influence=True, line: _pov.watts_sorted(s, line, influence=influence),
                     "Watts poverty index (1/N) sum_poor ln(z/y)", income_domain="positive", **_line))
register(MeasureSpec("sen", lambda s, *, influence=True, line: _pov.sen_sorted(s, line, influence=influence),
                     "Sen poverty index H [I + (1 - I) Gini of the poor]", income_domain="nonnegative", **_line))
register(MeasureSpec("sst", lambda s, *, influence=True, line: _pov.sst_sorted(s, line, influence=influence),
                     "Sen-Shorrocks-Thon index P1 (1 + Gini of poverty gaps)", income_domain="nonnegative", **_line))
register(MeasureSpec("arpt", lambda s, *, influence=True, fraction=0.6, convention="eurostat":
                     _pov.arpt_sorted(s, influence=influence, fraction=fraction, convention=convention),
                     "At-risk-of-poverty threshold: fraction (0.6) x median (laeken arpt)", ("fraction",),
                     {"fraction": 0.6}, check=_check_fraction))
register(MeasureSpec("arpr", lambda s, *, influence=True, fraction=0.6, line=None, convention="eurostat":
                     _pov.arpr_sorted(s, influence=influence, fraction=fraction, line=line, convention=convention),
                     "At-risk-of-poverty rate: share below fraction (0.6) x median (laeken arpr, as a fraction)",
                     ("fraction",), {"fraction": 0.6}, check=_check_fraction))
register(MeasureSpec("rmpg", lambda s, *, influence=True, fraction=0.6, line=None, convention="eurostat":
                     _pov.rmpg_sorted(s, influence=influence, fraction=fraction, line=line, convention=convention),
                     "Relative median at-risk-of-poverty gap (laeken rmpg, as a fraction)", ("fraction",),
                     {"fraction": 0.6}, check=_check_fraction))
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
                     _band, dict(_rel), check=_check_band))
register(MeasureSpec("middle_rel_income", lambda s, *, influence=True, lower, upper, median=None, convention="eurostat":
                     _mid.middle_relative_sorted(s, influence=influence, lower=lower, upper=upper, median=median,
                                                 convention=convention, income_share=True),
                     "Income share of the relative middle band (default 0.75-2 x median)", _band, dict(_rel),
                     income_domain="nonnegative", check=_check_band))
register(MeasureSpec("wolfson", lambda s, *, influence=True: _pol.wolfson_sorted(s, influence=influence),
                     "Wolfson polarization 2 (2T - G) mean / median", income_domain="nonnegative"))
register(MeasureSpec("foster_wolfson", lambda s, *, influence=True: _pol.foster_wolfson_sorted(s, influence=influence),
                     "Foster-Wolfson polarization (2T - G) mean / median (= PySAL wolfson, convey svyfwp)",
                     income_domain="nonnegative"))
register(MeasureSpec("esteban_ray", lambda s, *, influence=True, alpha: _pol.esteban_ray_sorted(s, alpha, influence=influence),
                     "Esteban-Ray polarization (Duclos-Esteban-Ray form) / mean^(1-alpha)", ("alpha",),
                     {"alpha": 1.0}, income_domain="nonnegative", check=_check_er))
register(MeasureSpec("prosperity_gap", lambda s, *, influence=True, z: _pros.prosperity_gap_sorted(s, influence=influence, line=z),
                     "World Bank prosperity gap: mean of z / income (z = 25 $/day)", ("z",),
                     {"z": _pros.PROSPERITY_STANDARD}, income_domain="positive", check=_check_z))
