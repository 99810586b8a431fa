"""The bootstrap: PSUs resampled with replacement within strata (``se_method="bootstrap"``) or Rao &
Wu's rescaled bootstrap (``"rescaled_bootstrap"``, n_h - 1 PSUs drawn, weights rescaled; Rao & Wu
1988), the whole pipeline -- relative lines included -- re-estimated on every replicate (see
:mod:`prosperity.variance.bootstrap`). SE = the replicates' standard deviation; percentile intervals
from their quantiles.
"""

from __future__ import annotations

import numpy as np

from ..io.errors import ProsperityInputError
from ..measures.estimate import SortedIncome
from .kernels import PointPass, _Reference
from .plan import Plan


def bootstrap_spread(plan: Plan, pp: PointPass):
    """(se, ci_low, ci_high, seed used, notes) from the replicates (rows of the point pass)."""
    used_seed = bootstrap_seed(plan)
    reps = _bootstrap_pass(pp.ctx, pp.s_all, pp.dv, pp.codes_all, pp.group_cache, plan.se_method, int(plan.replicates), used_seed)
    if reps.shape[0] != len(pp.rows.values):  # pragma: no cover - internal consistency
        raise RuntimeError("bootstrap rows do not match the point estimates")
    return replicate_spread(plan, reps, pp.undefined_rows, used_seed)


def bootstrap_seed(plan: Plan) -> int:
    """The seed of the replicates: ``plan.seed``, or a fresh one (reported in the result)."""
    return int(np.random.SeedSequence().entropy % (2**63)) if plan.seed is None else int(plan.seed)


def replicate_spread(plan: Plan, reps: np.ndarray, undefined_rows: dict, used_seed: int):
    """(se, ci_low, ci_high, seed, notes) from replicate values (rows x replicates, NaN: failed): SE =
    their standard deviation (ddof 1), percentile intervals their quantiles. Shared by the in-memory
    and the out-of-core bootstrap (:mod:`prosperity.backends.streaming_replicates`)."""
    from ..variance.bootstrap import replicate_ci

    n_rows = reps.shape[0]
    ci_low = np.full(n_rows, np.nan)
    ci_high = np.full(n_rows, np.nan)
    notes: list[str] = []
    if undefined_rows:  # undefined in the sample: not a replicate failure (the reason is noted)
        reps[np.fromiter(undefined_rows, dtype=np.int64)] = 0.0
    failed = int(np.isnan(reps).any(axis=1).sum())
    se_arr = np.sqrt(np.nanvar(reps, axis=1, ddof=1))
    if failed:
        notes.append(f"{failed} estimate(s) could not be computed on some bootstrap replicates (those were skipped)")
    if plan.ci_method == "percentile":
        ci_low, ci_high = replicate_ci(reps, plan.confidence)
    return se_arr, ci_low, ci_high, used_seed, notes


def _bootstrap_pass(ctx, s_all, dv, codes_all, group_cache, method, replicates, seed) -> np.ndarray:
    """Replicate values (rows in the order of the point pass x replicates): the whole pipeline
    (relative lines included) re-estimated with the replicate weights."""
    from ..variance.bootstrap import replicate_multipliers

    groups = []
    for cols, key, pos in group_cache:
        if pos is None:
            groups.append((cols, key, None, None, None))
        else:
            groups.append((cols, key, s_all.y[pos], s_all.w[pos], codes_all[pos]))
    n_rows = len(groups) * len(ctx.requested)
    out = np.full((n_rows, replicates), np.nan)
    col = 0
    fpc_h = dv.design.fpc_h
    for mult in replicate_multipliers(dv.psu_stratum, fpc_h, replicates=replicates, method=method, seed=seed):
        for m in mult:
            w_all = s_all.w * m[codes_all]
            s_r = ctx.scaling.mark(_compress(s_all.y, w_all, s_all.order))
            national = _Reference(s_r, ctx.convention)
            row = 0
            for cols, key, ys, ws, gcodes in groups:
                if ys is None:
                    s, own = s_r, national
                else:
                    s = ctx.scaling.mark(_compress(ys, ws * m[gcodes], None))
                    own = _Reference(s, ctx.convention) if ctx.line_within_groups else None
                for r in ctx.requested:
                    if s is not None:
                        try:
                            out[row, col] = ctx.evaluate(r, s, own, national, cols, key, influence=False)[0].value
                        except ProsperityInputError:
                            pass
                    row += 1
            col += 1
    return out



def _compress(y: np.ndarray, w: np.ndarray, order) -> SortedIncome | None:
    """A SortedIncome of the units with positive replicate weight (None if there are none)."""
    keep = w > 0
    if not keep.any():
        return None
    ys, ws = y[keep], w[keep]
    return SortedIncome(ys, ws, np.cumsum(ws), order[keep] if order is not None else np.flatnonzero(keep))

