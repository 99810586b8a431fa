"""Prosperity measures of the World Bank: the prosperity gap and shared prosperity (bottom-40 growth).

Prosperity gap (Kraay, Lakner, Ozler, Decerf, Jolliffe, Sterck, Yonzan 2023): the average factor by
which incomes must be multiplied to reach the prosperity standard z (default 25 $ a day):

    PG = (1/N) sum_i w_i z / y_i,     u_k = (z / y_k - PG) / N,     d PG / d z = PG / z.

Every income must be positive (PG is infinite at y = 0).

Shared prosperity: growth of the mean income of the bottom 40 % of the population (each year's own
bottom 40 %; the unit straddling the 40th percentile counts with the part of its weight inside) against
growth of the overall mean, annualised over the years between the two surveys:

    g = (mean_1 / mean_0)^(1 / years) - 1,     premium = g_bottom40 - g_mean.

Mean of the bottom share p: GL(p) / p, GL the generalized Lorenz ordinate, u = u_GL / p
(:func:`prosperity.measures.polarization.generalized_lorenz_at`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .estimate import Estimate, SortedIncome, as_sorted, vdot
from .polarization import generalized_lorenz_at

PROSPERITY_STANDARD = 25.0  # dollars a day per person, Kraay et al. (2023)


def prosperity_gap_sorted(s: SortedIncome, *, influence: bool = True, line: float = PROSPERITY_STANDARD) -> Estimate:
    """Prosperity gap (1/N) sum w z / y with its linearized variable and d PG / d z."""
    z = float(line)
    if not np.isfinite(z) or z <= 0:
        raise ValueError(f"the prosperity standard z must be a positive number, got {line!r}")
    if s.y[0] <= 0:
        bad = int(np.searchsorted(s.y, 0.0, side="right"))
        raise ValueError(
            f"the prosperity gap needs positive incomes: {bad} income(s) are <= 0 (smallest {s.y[0]:g}); "
            "bottom-code them (e.g. to the lowest positive income) before computing it"
        )
    ratio = z / s.y
    value = float(vdot(s.w, ratio)) / s.total
    u = (ratio - value) / s.total if influence else None
    return Estimate(value, u, value / z)


def prosperity_gap(y, w=None, z: float = PROSPERITY_STANDARD) -> float:
    """World Bank prosperity gap: mean of z / y (Kraay et al. 2023).

    >>> prosperity_gap([10, 25, 50], z=25)   # (2.5 + 1 + 0.5) / 3
    1.3333333333333333
    """
    return prosperity_gap_sorted(as_sorted(y, w), influence=False, line=z).value


def bottom_mean_sorted(s: SortedIncome, *, influence: bool = True, share: float = 0.4) -> Estimate:
    """Mean income of the poorest ``share`` of the population, GL(share) / share, with u."""
    p = float(share)
    if not 0 < p <= 1:
        raise ValueError(f"the bottom share must lie in (0, 1], got {share!r}")
    gl = generalized_lorenz_at(s, p, influence)
    return Estimate(gl.value / p, None if gl.influence is None else gl.influence / p)


def bottom_mean(y, w=None, share: float = 0.4) -> float:
    """Mean income of the bottom ``share`` (default 40 %) of the population.

    >>> round(bottom_mean([1, 2, 3, 4, 10]), 12)   # bottom 40 % = the two poorest of five
    1.5
    """
    return bottom_mean_sorted(as_sorted(y, w), influence=False, share=share).value


def annualized_growth(start: float, end: float, years: float) -> float:
    """Compound annual growth rate (end / start)^(1 / years) - 1."""
    if not years > 0:
        raise ValueError(f"years between the two samples must be positive, got {years!r}")
    if not (start > 0 and end > 0):
        raise ValueError(f"growth rates need positive means, got {start!r} and {end!r}")
    return (end / start) ** (1.0 / years) - 1.0


@dataclass(frozen=True)
class SharedProsperity:
    """Bottom-share and overall mean growth between two samples, and the shared prosperity premium."""

    years: float
    bottom_share: float
    mean_start: float
    mean_end: float
    bottom_mean_start: float
    bottom_mean_end: float

    @property
    def growth_mean(self) -> float:
        return annualized_growth(self.mean_start, self.mean_end, self.years)

    @property
    def growth_bottom(self) -> float:
        return annualized_growth(self.bottom_mean_start, self.bottom_mean_end, self.years)

    @property
    def premium(self) -> float:
        """Shared prosperity premium: annualised bottom growth minus annualised mean growth."""
        return self.growth_bottom - self.growth_mean

    def to_frame(self) -> pd.DataFrame:
        b = f"bottom{round(100 * self.bottom_share)}"
        return pd.DataFrame(
            {
                "quantity": ["mean_start", "mean_end", f"{b}_mean_start", f"{b}_mean_end",
                             "growth_mean", f"growth_{b}", "premium"],
                "value": [self.mean_start, self.mean_end, self.bottom_mean_start, self.bottom_mean_end,
                          self.growth_mean, self.growth_bottom, self.premium],
            }
        )

    def __repr__(self) -> str:
        return (
            f"SharedProsperity(years={self.years:g}, growth bottom {100 * self.bottom_share:g}% = "
            f"{100 * self.growth_bottom:.3f}%/yr, growth mean = {100 * self.growth_mean:.3f}%/yr, "
            f"premium = {100 * self.premium:.3f} points)"
        )


def shared_prosperity(y_start, y_end, w_start=None, w_end=None, *, years: float, bottom: float = 0.4) -> SharedProsperity:
    """Growth of the bottom-40 mean and of the mean between two samples ``years`` apart, and the premium.

    >>> sp = shared_prosperity([1, 2, 3, 4, 10], [2, 4, 3, 4, 10], years=1)
    >>> round(sp.growth_bottom, 6), round(sp.growth_mean, 6)   # bottom two: mean 1.5 -> 2.5
    (0.666667, 0.15)
    """
    s0, s1 = as_sorted(y_start, w_start), as_sorted(y_end, w_end)
    return SharedProsperity(
        float(years),
        float(bottom),
        float(vdot(s0.w, s0.y)) / s0.total,
        float(vdot(s1.w, s1.y)) / s1.total,
        bottom_mean_sorted(s0, influence=False, share=bottom).value,
        bottom_mean_sorted(s1, influence=False, share=bottom).value,
    )
