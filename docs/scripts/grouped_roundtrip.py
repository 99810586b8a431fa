"""Round trips: sample known distributions, tabulate into quintiles/deciles, reconstruct, compare.

Prints the markdown table used in docs/grouped.md. Run: python docs/scripts/grouped_roundtrip.py
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats

from prosperity.grouped import GroupedTable, fit_grouped

METHODS = ("gq", "beta", "gpinter", "histogram", "lognormal", "singh_maddala", "dagum", "gb2")


def samples(n: int = 200_000, seed: int = 20240601) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    mix = np.where(rng.uniform(size=n) < 0.9, rng.lognormal(0.0, 0.6, n), np.e * (1 + rng.pareto(2.0, n)))
    return {
        "log-normal (sigma 0.8)": rng.lognormal(0.0, 0.8, n),
        "Singh-Maddala (a 2.5, q 1.8)": stats.burr12.rvs(2.5, 1.8, size=n, random_state=rng),
        "Pareto-tailed mixture": mix,
    }


def truth(y: np.ndarray, line: float) -> dict:
    ys = np.sort(y)
    n = ys.size
    gini = np.sum((2 * np.arange(1, n + 1) - n - 1) * ys) / (n * ys.sum())
    return {"gini": gini, "headcount": np.mean(ys < line), "top10_share": ys[int(0.9 * n):].sum() / ys.sum()}


def tabulate(y: np.ndarray, groups: int, thresholds: bool) -> GroupedTable:
    ys = np.sort(y)
    cuts = np.quantile(ys, np.arange(1, groups) / groups)
    g = np.searchsorted(cuts, ys, side="right")
    share = np.bincount(g, minlength=groups) / ys.size
    mean = np.bincount(g, weights=ys, minlength=groups) / np.bincount(g, minlength=groups)
    return GroupedTable.from_arrays(share, mean=mean, threshold=np.r_[0.0, cuts] if thresholds else None)


def roundtrip(n: int = 200_000, seed: int = 20240601):
    rows = []
    for name, y in samples(n, seed).items():
        line = 0.6 * np.median(y)
        true = truth(y, line)
        for groups in (5, 10):
            for thr in (False, True):
                table = tabulate(y, groups, thr)
                for method in METHODS:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        m = fit_grouped(table, method).measures(line)
                    rows.append({"distribution": name, "groups": groups, "thresholds": thr, "method": method,
                                 **{f"err_{k}": m[k] - v for k, v in true.items()}, **{f"true_{k}": v for k, v in true.items()}})
    return rows


if __name__ == "__main__":
    import pandas as pd

    df = pd.DataFrame(roundtrip())
    for thr in (False, True):
        sub = df[df.thresholds == thr]
        print(f"\n### {'with' if thr else 'without'} thresholds (errors x 1000; truth = the sample)\n")
        print("| distribution | groups | " + " | ".join(METHODS) + " |")
        print("|---|---|" + "---|" * len(METHODS))
        for (dist, groups), g in sub.groupby(["distribution", "groups"], sort=False):
            cells = []
            for meth in METHODS:
                r = g[g.method == meth].iloc[0]
                cells.append(f"{1000 * r.err_gini:+.1f} / {1000 * r.err_headcount:+.1f} / {1000 * r.err_top10_share:+.1f}")
            t = g.iloc[0]
            print(f"| {dist} (G {t.true_gini:.3f}, H {t.true_headcount:.3f}, top10 {t.true_top10_share:.3f}) | {groups} | " + " | ".join(cells) + " |")
