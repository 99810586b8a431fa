"""How tightly Datt's (1998) printed statistics pin the GQ Lorenz parameters (table in docs/grouped.md).

The paper's parameter table was not reachable here; its rounded statistics are (headcount 45.06 %,
poverty gap 12.47 %, FGT2 4.752 %, Gini 0.289 at mean 109.9 and line 89, carried with worldbank/pip's
``pip_datt`` data). Every GQ parameter vector (a, b, c) that reproduces all four to their printed last
digit lies in a small region around our OLS solution. This script bounds that region: min and max of
a, b and c subject to |s(theta) - printed| <= half a unit of the last printed digit, for the exact
(non-linear) statistics s. A linear programme on the statistics linearised at the OLS solution gives
the starting points; SLSQP then solves the exact problem, and each extreme point is re-checked.

Run: python docs/scripts/datt_identification.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linprog, minimize

import prosperity
from prosperity.grouped import GeneralQuadraticLorenz, GroupedTable

MEAN, LINE = 109.9, 89.0
NAMES = ("headcount_pct", "poverty_gap_pct", "fgt2_pct", "gini")
PRINTED = np.array([45.06, 12.47, 4.752, 0.289])
HALF_UNIT = np.array([0.005, 0.005, 0.0005, 0.0005])  # half a unit of the last printed digit


def datt_table() -> GroupedTable:
    path = Path(prosperity.__file__).parent / "data" / "datt1998_rural_india_1983_grouped.csv"
    frame = pd.read_csv(path)
    return GroupedTable.from_frame(frame[["cum_population_share", "cum_income_share"]], overall_mean=MEAN)


def statistics(theta: np.ndarray) -> np.ndarray:
    """Datt's printed statistics (in the paper's units) of the GQ curve with parameters theta = (a, b, c)."""
    m = GeneralQuadraticLorenz(*theta, MEAN).measures(LINE)
    return np.array([100 * m["headcount"], 100 * m["poverty_gap"], 100 * m["fgt2"], m["gini"]])


def rounds_to_printed(theta: np.ndarray) -> bool:
    return bool(np.all(np.abs(statistics(theta) - PRINTED) <= HALF_UNIT * (1 + 1e-6)))


def parameter_region(theta0: np.ndarray, step: float = 1e-6) -> list[dict]:
    """Extreme values of each parameter among linearised solutions that round to the printed values.
    One dict per (parameter, side): the bound, the full extreme point and whether the exact statistics
    at that point still round to the printed ones."""
    s0 = statistics(theta0)
    jacobian = np.empty((PRINTED.size, theta0.size))
    for j in range(theta0.size):
        e = np.zeros_like(theta0)
        e[j] = step
        jacobian[:, j] = (statistics(theta0 + e) - statistics(theta0 - e)) / (2 * step)
    upper, lower = PRINTED + HALF_UNIT - s0, PRINTED - HALF_UNIT - s0
    a_ub, b_ub = np.vstack([jacobian, -jacobian]), np.concatenate([upper, -lower])
    rows = []
    for j, name in enumerate("abc"):
        for side, sign in (("min", 1.0), ("max", -1.0)):
            cost = np.zeros(theta0.size)
            cost[j] = sign
            result = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * theta0.size)
            if result.status != 0:
                raise RuntimeError(f"linear programme for {side} {name} failed: {result.message}")
            start = theta0 + 0.9 * result.x  # inside the linearised region
            exact = minimize(lambda t: sign * t[j], start, method="SLSQP", constraints=[{
                "type": "ineq",
                "fun": lambda t: np.concatenate([PRINTED + HALF_UNIT - statistics(t), statistics(t) - PRINTED + HALF_UNIT]),
            }], options={"ftol": 1e-12, "maxiter": 200})
            point = exact.x
            rows.append({"parameter": name, "side": side, "bound": float(point[j]), "point": point,
                         "exact_check": rounds_to_printed(point)})
    return rows


def main() -> None:
    fit = GeneralQuadraticLorenz.fit(datt_table())
    theta0 = np.array([fit.parameters[k] for k in "abc"])
    print("OLS solution:", ", ".join(f"{k} {v:.6f}" for k, v in zip("abc", theta0)))
    print("statistics at the OLS solution:", ", ".join(f"{n} {v:.5f}" for n, v in zip(NAMES, statistics(theta0))))
    rows = parameter_region(theta0)
    print("\n| parameter | OLS (ours) | lowest consistent | highest consistent | half-width |")
    print("|---|---|---|---|---|")
    for j, name in enumerate("abc"):
        low = next(r for r in rows if r["parameter"] == name and r["side"] == "min")
        high = next(r for r in rows if r["parameter"] == name and r["side"] == "max")
        print(f"| {name} | {theta0[j]:.6f} | {low['bound']:.4f} | {high['bound']:.4f} | "
              f"{(high['bound'] - low['bound']) / 2:.4f} |")
    print("\nexact statistics at every extreme point round to the printed values:",
          all(r["exact_check"] for r in rows))


if __name__ == "__main__":
    main()
