"""Equivalence scales: from household income to income per (equivalent) person.

Equivalised income = household income / scale, where the scale is

- ``"per_capita"``: the household size n (income per person);
- ``"oecd_modified"``: 1 + 0.5 (adults - 1) + 0.3 children (Hagenaars, de Vos & Zaidi 1994; Eurostat
  EU-SILC: adults are members aged 14+, children under 14);
- ``"oecd"`` (the original "Oxford" scale): 1 + 0.7 (adults - 1) + 0.5 children;
- ``"square_root"``: sqrt(n) (OECD income distribution database since 2008);
- ``"power:theta"``: n ** theta, the one-parameter family of Buhmann, Rainwater, Schmaus & Smeeding
  (1988); theta = 0 is household income, 1 per capita, 0.5 square root;
- a precomputed scale column (e.g. EU-SILC's ``eqSS``) given as ``scale=``.

When the rows are households and the measures are about persons (the EU-SILC convention), each
household's weight is multiplied by its size: see :func:`prosperity.io.from_frame` ``unit=``.
"""

from __future__ import annotations

import numpy as np

from .errors import InvalidValueError, MeasureSpecError, offending_rows

SCALES = ("per_capita", "oecd_modified", "oecd", "square_root", "power")


def parse_scale(name: str) -> tuple[str, float | None]:
    """``"power:0.7"`` -> ("power", 0.7); other names -> (name, None), with clear errors."""
    text = str(name).strip().lower().replace("-", "_")
    kind, _, arg = text.partition(":")
    aliases = {"percapita": "per_capita", "capita": "per_capita", "modified_oecd": "oecd_modified",
               "oecd_mod": "oecd_modified", "sqrt": "square_root"}
    kind = aliases.get(kind, kind)
    if kind not in SCALES:
        raise MeasureSpecError(
            f"unknown equivalence scale {name!r}",
            hint=f"use one of {', '.join(SCALES[:-1])} or power:THETA (e.g. power:0.5), or give a precomputed scale column",
        )
    if kind == "power":
        try:
            theta = float(arg)
        except ValueError:
            raise MeasureSpecError(
                f"equivalence scale {name!r} needs its elasticity", hint="write power:THETA with THETA in [0, 1], e.g. power:0.5"
            ) from None
        if not 0.0 <= theta <= 1.0:
            raise MeasureSpecError(
                f"equivalence elasticity must lie in [0, 1], got {theta:g}",
                hint="0 = household income unchanged, 0.5 = square root scale, 1 = per capita",
            )
        return kind, theta
    if arg:
        raise MeasureSpecError(f"equivalence scale {kind!r} takes no parameter, got {name!r}", hint=f"write {kind}")
    return kind, None


def equivalence_scale(
    kind: str,
    *,
    household_size=None,
    adults=None,
    children=None,
    row_number=None,
) -> np.ndarray:
    """The scale per row for scale ``kind`` (see module docstring); errors name the offending rows."""
    kind, theta = parse_scale(kind)
    if kind in ("oecd_modified", "oecd"):
        if adults is None or children is None:
            raise MeasureSpecError(
                f"the {kind} equivalence scale needs the number of adults and of children in each household",
                hint="give adults= and children= columns (CLI: --adults, --children), or a precomputed scale column "
                "with scale= (CLI: --scale-column), e.g. EU-SILC's eqSS",
            )
        a = _counts(adults, "adults", row_number, minimum=1)
        c = _counts(children, "children", row_number, minimum=0)
        a_w, c_w = (0.5, 0.3) if kind == "oecd_modified" else (0.7, 0.5)
        return 1.0 + a_w * (a - 1.0) + c_w * c
    if household_size is None:
        raise MeasureSpecError(
            f"the {kind} equivalence scale needs the household size",
            hint="give household_size= (CLI: --household-size) naming the column with the number of members",
        )
    size = _counts(household_size, "household members", row_number, minimum=0, strict=True)
    if kind == "per_capita":
        return size
    if kind == "square_root":
        return np.sqrt(size)
    return size**theta


def check_scale(scale, name: str, row_number=None) -> np.ndarray:
    """Validate a precomputed scale column: finite and > 0."""
    s = np.asarray(scale, dtype=np.float64)
    bad = ~(s > 0) | ~np.isfinite(s)
    if bad.any():
        rows, count, ex = offending_rows(bad, s, row_number)
        raise InvalidValueError(
            f"equivalence scale column {name!r} must be positive and finite", column=name, rows=rows, n_rows=count,
            examples=ex, hint="a scale is 1 for a single adult and grows with household size; fix or remove these rows",
        )
    return s


def _counts(values, what: str, row_number, minimum: int, strict: bool = False) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(v) | ~((v > minimum) if strict else (v >= minimum))
    if bad.any():
        rows, count, ex = offending_rows(bad, v, row_number)
        raise InvalidValueError(
            f"the number of {what} must be {'>' if strict else '>='} {minimum}", rows=rows, n_rows=count, examples=ex,
            hint=f"fix these rows; a household has at least {'one adult' if what == 'adults' else 'zero children' if what == 'children' else 'one member'}",
        )
    return v
