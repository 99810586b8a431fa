"""From household-based groups to person shares.

Statistics offices such as China's NBS rank *households* by per-capita income and publish the
per-capita mean income of each fifth of households. Poorer households are larger, so the poorest
fifth of households holds more than a fifth of the persons, and the average of the five group
means (39,203 yuan in 2022) overstates the per-person mean (36,883). Distributional statistics
of persons need the person share of each group.

:func:`calibrate_person_shares` estimates them with a smooth household-size gradient over the
groups,

    s_k  proportional to  h_k exp(b1 z_k + b2 z_k^2),   z_k = k / (K - 1) - 1/2   (k = 0 .. K-1),

where h_k are the household shares (0.2 for quintiles) and b2 = 0: b1 is solved so that
sum_k s_k m_k equals the published per-person mean. The implied relative
household sizes s_k / h_k are reported so the user can judge them against survey household sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .table import GroupedDataError, GroupedTable


@dataclass(frozen=True)
class PersonShareCalibration:
    table: GroupedTable  # the person-share table
    person_share: np.ndarray
    relative_household_size: np.ndarray  # s_k / h_k normalised to mean 1
    b1: float
    target_mean: float

    def to_dict(self) -> dict:
        return {
            "person_share": self.person_share.tolist(),
            "relative_household_size": self.relative_household_size.tolist(),
            "b1": self.b1, "target_mean": self.target_mean,
        }


def _shares(h, z, b1, b2):
    s = h * np.exp(b1 * z + b2 * z**2)
    return s / s.sum()


def _solve_b1(h, z, m, target, b2):
    f = lambda b1: float(np.dot(_shares(h, z, b1, b2), m)) - target  # noqa: E731  (increasing in b1)
    lo, hi = -30.0, 30.0
    if f(lo) > 0 or f(hi) < 0:
        raise GroupedDataError(
            f"the per-person mean {target:g} is outside what re-weighting the groups can reach "
            f"({np.dot(_shares(h, z, lo, b2), m):.6g} to {np.dot(_shares(h, z, hi, b2), m):.6g}); check the mean"
        )
    return optimize.brentq(f, lo, hi, xtol=1e-14)


def calibrate_person_shares(table: GroupedTable, mean: float) -> PersonShareCalibration:
    """Person shares of household-based groups that reproduce the per-person ``mean``.

    One parameter b1 of the gradient s_k ~ h_k exp(b1 z_k) is solved exactly. (A second parameter
    to match the published median as well is not offered: on the NBS tables it pushes a third of all
    persons into the middle quintile, a sign that the median carries shape information the group
    shares cannot absorb; pass the median as an extra quantile knot to ``gpinter`` instead.)
    """
    if table.mean is None:
        raise GroupedDataError("calibrating person shares needs the group 'mean' column")
    h, m = table.population_share, table.mean
    K = h.size
    z = np.arange(K) / (K - 1) - 0.5
    b1 = _solve_b1(h, z, m, float(mean), 0.0)
    s = _shares(h, z, b1, 0.0)
    t = GroupedTable.from_arrays(s, mean=m, threshold=table.threshold, unit="person")
    rel = (s / h) / np.mean(s / h)
    return PersonShareCalibration(t, s, rel, float(b1), float(mean))
