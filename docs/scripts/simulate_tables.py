"""The tables of docs/simulate.md: the baseline validation and the shipped reforms on the synthetic
China 2024 population (10^6 persons, seed 1), reconciled with the NBS survey as `prosperity simulate`
does by default (``--reconcile none``: the population as generated).

    python docs/scripts/simulate_tables.py [--persons 1000000] [--reconcile survey|none]
"""

from __future__ import annotations

import argparse
import time

from prosperity.simulate import Simulation, example_reforms, load_reforms
from prosperity.simulate.reconcile import reconciled_simulation
from prosperity.synth import synthesize_population


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--persons", type=int, default=10**6)
    ap.add_argument("--reconcile", choices=("survey", "none"), default="survey")
    args = ap.parse_args()
    frame = synthesize_population(2024, persons=args.persons, seed=1)
    if args.reconcile == "survey":
        t0 = time.perf_counter()
        sim, rec = reconciled_simulation(frame, 2024)
        print(f"{rec!r} in {time.perf_counter() - t0:.1f} s\n")
    else:
        sim = Simulation(frame, 2024)
    base = sim.run(None)
    v = base.validation
    print("| row | published | baseline | error | tolerance | holds | status |\n|---|---:|---:|---:|---:|:-:|:-:|")
    for r in v.itertuples():
        err = "" if r.tolerance_kind == "none" else (f"{100 * r.error:+.1f} %" if r.tolerance_kind == "rel" else f"{r.error:+.3f}")
        tol = "" if r.tolerance_kind == "none" else (f"±{100 * r.tolerance:.0f} %" if r.tolerance_kind == "rel" else f"±{r.tolerance:g}")
        pub = "" if r.published != r.published else _num(r.published)
        print(f"| {r.row} | {pub} | {_num(r.baseline)} | {err} | {tol} | {'yes' if r.within_tolerance else '**no**'} | {r.status} |")
    print()
    print("| reform | net cost (bn yuan) | Gini | poverty 60 % of median | middle-income share (NBS) | decile 1 change | decile 10 change | gain > 5 % | time (s) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in sorted(example_reforms()):
        budget = "regional_transfers.east_west.levy_rate" if name == "east_west_transfer" else None
        t0 = time.perf_counter()
        res = sim.run(load_reforms([name]), budget_neutral=budget)
        dt = time.perf_counter() - t0
        s = res.summary.set_index("measure")
        d = res.deciles.set_index("decile")
        wl = res.winners_losers.set_index("group").loc["all"]
        label = name + (f" (budget-neutral levy {100 * res.budget_neutral['value']:.3f} %)" if budget else "")
        print(f"| {label} | {res.net_cost_bn:,.1f} | {s.loc['gini', 'baseline']:.4f} → {s.loc['gini', 'reform']:.4f} | "
              f"{100 * s.loc['poverty_headcount_rel60', 'baseline']:.2f} → {100 * s.loc['poverty_headcount_rel60', 'reform']:.2f} % | "
              f"{100 * s.loc['middle_income_share_nbs_absolute', 'baseline']:.2f} → {100 * s.loc['middle_income_share_nbs_absolute', 'reform']:.2f} % | "
              f"{d.loc[1, 'change_pct']:+.2f} % | {d.loc[10, 'change_pct']:+.3f} % | {100 * wl['gain_more_5pct']:.1f} % | {dt:.2f} |")


if __name__ == "__main__":
    main()
