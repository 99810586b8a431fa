"""Benchmark: nested Theil/MLD decomposition of 10^7 weighted rows over a 4-level hierarchy.

    python benchmarks/bench_decompose.py [--n 1e7] [--repeat 3] [--measure theil] [--engine auto]

Data: lognormal incomes, uniform weights, integer-coded hierarchy (int64 columns) with
4 regions > 31 provinces > 300 cities > 3000 counties (every county in one city, ...).

Yardstick: one ``numpy.bincount`` pass over the same rows, ``np.bincount(county, weights=income)``:
the cost of reading the lowest-level codes and one value column once, i.e. a single grouped sum.
The decomposition reads six columns (4 codes, income, weight), computes log(y), sums three moments
by county and checks on every row that the county's region/province/city agree with its first row
(the nesting check), then decomposes on the 3000-row tables. Target: ratio <= 3.

Also printed for context: a naive per-level approach (``pandas.groupby`` by each level) and the
same decomposition through the NumPy-only engine (no numba).

With ``--se`` (default on): the same decomposition with design-based standard errors of every
component and share (strata = the 31 provinces, 120,000 PSUs: 40 per county), and Dagum's Gini
decomposition by province without and with standard errors, each against the point estimate.
"""

from __future__ import annotations

import argparse

import numpy as np


def make_data(n: int, seed: int = 20261124, codes: str = "int64"):
    rng = np.random.default_rng(seed)
    county = rng.integers(0, 3000, n)
    city = county // 10  # 300 cities
    province = (city * 31) // 300  # 31 provinces
    region = (province * 4) // 31  # 4 regions
    y = rng.lognormal(10.0, 0.8, n)
    w = rng.uniform(50.0, 500.0, n)
    levels = [region, province, city, county]
    if codes == "categorical":  # the widths pandas.Categorical uses for its codes
        levels = [lv.astype(np.int8 if lv.max() < 128 else np.int16) for lv in levels]
    return y, w, levels


from run import best_of  # noqa: E402  (benchmarks/run.py, the shared best-of-N timer)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=float, default=1e7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--measure", default="theil")
    ap.add_argument("--engine", default="auto", choices=["auto", "numba", "numpy"])
    ap.add_argument("--codes", default="both", choices=["int64", "categorical", "both"],
                    help="code columns as int64, or int8/int16 as pandas.Categorical stores them")
    ap.add_argument("--threads", type=int, default=None, help="row parts summed in parallel (numba engine; default: the usable cores, as the API)")
    ap.add_argument("--pandas", action="store_true", help="also time a naive pandas groupby per level")
    ap.add_argument("--se", action=argparse.BooleanOptionalAction, default=True,
                    help="also time design-based SEs (nested GE and Dagum's Gini decomposition)")
    args = ap.parse_args()
    n = int(args.n)

    for codes in (["int64", "categorical"] if args.codes == "both" else [args.codes]):
        run_layout(args, n, codes)


def run_layout(args, n: int, codes: str) -> None:
    from prosperity.decompose import nested_decomposition

    y, w, levels = make_data(n, codes=codes)
    names = ["region", "province", "city", "county"]

    def run(engine):
        return nested_decomposition(y, w, levels=levels, names=names, measure=args.measure, engine=engine,
                                    threads=args.threads)

    # warm-up: JIT compilation (cached on disk after the first run) and page faults
    nested_decomposition(y[:1000], w[:1000], levels=[lv[:1000] for lv in levels], names=names,
                         measure=args.measure, engine=args.engine)
    t_base, _ = best_of(lambda: np.bincount(levels[3], weights=y, minlength=3000), args.repeat)
    t_dec, d = best_of(lambda: run(args.engine), args.repeat)
    print(f"\n== n = {n:,} rows, 4 levels (4 > 31 > 300 > 3000 units), {codes} codes, "
          f"measure {args.measure}, engine {args.engine}")
    print(d)
    total_check = sum(c.value for c in d.components) - d.total
    print(f"components - total = {total_check:.2e}")
    print(f"one numpy.bincount pass          {t_base:8.3f} s")
    print(f"nested decomposition (one pass)  {t_dec:8.3f} s   ratio {t_dec / t_base:5.2f}  (target <= 3)")
    if args.engine != "numpy":
        t_np, _ = best_of(lambda: run("numpy"), max(1, args.repeat - 1))
        print(f"same, NumPy-only engine          {t_np:8.3f} s   ratio {t_np / t_base:5.2f}")
    if args.se and codes == "int64":
        run_standard_errors(args, y, w, levels, names, t_dec)
    if args.pandas:
        import pandas as pd

        df = pd.DataFrame({"y": y, "w": w, **dict(zip(names, levels))})

        def naive():
            df["wy"] = df.w * df.y
            df["wyl"] = df.wy * np.log(df.y)
            return [df.groupby(lv)[["w", "wy", "wyl"]].sum() for lv in names]

        t_pd, _ = best_of(naive, 1)
        print(f"naive pandas groupby per level   {t_pd:8.3f} s   ratio {t_pd / t_base:5.2f} (no nesting check)")


def run_standard_errors(args, y, w, levels, names, t_point: float) -> None:
    """Nested GE with design SEs, and Dagum's Gini decomposition by province without / with SEs."""
    from prosperity.decompose import dagum_decomposition, nested_decomposition

    rng = np.random.default_rng(7)
    strata = levels[1]
    psu = levels[3] * 40 + rng.integers(0, 40, y.size)  # 120,000 PSUs, each inside one province
    t_se, d = best_of(lambda: nested_decomposition(y, w, levels=levels, names=names, measure=args.measure,
                                                   strata=strata, psu=psu, threads=args.threads), args.repeat)
    print(d)
    print(f"nested decomposition + design SEs {t_se:8.3f} s   SEs add {t_se - t_point:6.3f} s "
          f"({t_se / t_point:4.1f}x the point estimate)")
    t_dagum, g = best_of(lambda: dagum_decomposition(y, w, groups=levels[1]), max(1, args.repeat - 1))
    t_dagum_se, g = best_of(lambda: dagum_decomposition(y, w, groups=levels[1], strata=strata, psu=psu),
                            max(1, args.repeat - 1))
    print(g)
    print(f"Dagum Gini by 31 provinces        {t_dagum:8.3f} s")
    print(f"same + design SEs                 {t_dagum_se:8.3f} s   SEs add {t_dagum_se - t_dagum:6.3f} s")


if __name__ == "__main__":
    main()
