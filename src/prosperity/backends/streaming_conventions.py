"""The non-default conventions of the streamed measures (``quantile_convention=``, ``conventions=``), exact,
as closed forms of the sums the passes of :mod:`.streaming` already carry -- or of a few more bases of
pass 1 -- with the linearized variables of the in-memory kernels.

Notation of :mod:`.streaming`: a domain d, N = sum w, Y = sum w y, n its number of rows, C_k and Ycum_k
the running sums in ascending income, G_L the laeken Gini of the engine, u_L its linearized variable
(bases yC - Ycum, 1, y), a = 2 / (N Y), q = sum w^2 y / (N Y), S2 = sum w^2 / N^2.

Quantile rules (``quantile_convention=``, or ``conventions=`` of a quantile-based measure; see
:mod:`prosperity.measures.quantiles`): the sorted pass 2 finds, per domain, j = min{j : C_j >= pN} (the
Eurostat rule, averaged with the next unit of the domain when C_j = pN; ``"inverse_cdf"``: y_j without the
average) and, for ``"laeken"``, j = min{j : C_j > pN (1 + 1e-12)} (:class:`StrictSearch`), exactly as
the kernel. One rule serves every quantile of a call (the measures' own quantiles, the relative
line's median, the shares' boundaries q_p); the kernel densities' Osier bandwidth keeps the Eurostat
quartiles, as in memory.

Gini (``conventions={"gini": ...}``; :mod:`prosperity.measures.gini`), from G_L and two pass-1 bases,
sum w^2 y (basis ``wy``) and sum w^2 (basis ``w``):

- ``"unbiased"``: G = G_L n / (n - 1), u = u_L n / (n - 1);
- ``"unbiased_frequency"``: G = G_L N / (N - 1), u = u_L N / (N - 1) - G_L / (N - 1)^2 (whole weights,
  N >= 2: a pass-1 count of the weights that are not whole numbers);
- ``"convey"``: G = G_L + q - 1 / N, b = G_L + q + 1,
  u = a [yC - Ycum] + a w y + a Y (1 - b / 2) + 1 / N^2 - (b / Y) y;
- ``"ineqpy"``: G = (G_L + q - S2) / (1 - S2), u = (a [yC - Ycum] + a w y + a Y (1 - b / 2) - (b / Y) y
  - (1 - G) (2 w / N^2 - 2 S2 / N)) / (1 - S2).

Entropy: Theil ``"pysal"`` (zeros replaced by the smallest positive float) equals ``"standard"`` to below
1e-300 absolute (tiny x ln(tiny) ~ 1.6e-305), so it is the standard sums; MLD ``"pip"``: the mean of all
incomes, then ln(y') with y' = y for y > 0 and 1 otherwise (basis ``lnyp``), u = (y / mu - 1 - MLD -
ln(y' / mu)) / N.

``"interpolated"``: the sorted pass carries per domain the run of tied incomes it is in (its income,
the C before it, its lightest and heaviest weights, the C at its last unit) across the pieces, emits
the run's knots K = C_before + lightest / 2 and C_last - heaviest / 2 (the kernel's mid-point CDF,
ties ordered lightest first) when the run ends, and interpolates at pN between the last knot <= pN and
the first above (:class:`InterpolatedSearch`).

Two quantile rules in one call (e.g. ``conventions={"median": "laeken"}`` with a QSR under the default
Eurostat rule): the passes run once per rule, each on the measures of that rule (:func:`rule_groups`,
:func:`evaluate`), and the rows are merged back in the call's order -- exact, at the cost of the
passes of each rule.

Refused (:func:`rule_groups`, with what to do): a measure that reads two rules at once (arpr, arpt,
middle_rel, rmpg, poormed with a ``conventions=`` rule other than ``quantile_convention``: the whole
sample's row reads its own, the groups' rows the national line's median); two rules with the bootstrap;
RMPG under the interpolated rule (its median of the poor, pass 4 of :mod:`.streaming_poverty`, follows
the Eurostat, inverse-CDF and laeken rules only).
"""

from __future__ import annotations

import math

import numpy as np

from ..io.errors import MeasureSpecError
from ..measures.gini import _WHOLE_RTOL
from ..measures.quantiles import QUANTILE_CONVENTIONS
from ..measures.shares import SHARE_CONVENTIONS

KINDS = ("wy", "w", "nonwhole", "lnyp")  # this module's pass-1 bases (values need the weights)
GINI = ("laeken", "convey", "ineqpy", "unbiased", "unbiased_frequency")
_SHARES = ("qsr", "palma", "share", "lorenz", "glorenz")
# measures whose kernels read the Eurostat median or quartiles whatever the call's rule (the Wolfson
# indices' median; wbpip's Wolfson the quartiles of its bandwidth): streamed, they read pass 2's quantiles
EUROSTAT_READERS = ("wolfson", "foster_wolfson")
_TIE_RTOL = 1e-12


# ============================================================================ the call's quantile rule


def _measure_rules(plan, r) -> dict:
    """The quantile rules measure ``r`` reads: rule -> what reads it (the measure, its line)."""
    uses: dict[str, list] = {}
    qc = plan.quantile_convention
    name, conv = r.spec.name, plan.conventions.get(r.spec.name)
    if r.spec.convention_kind == "quantile":
        conv = qc if conv is None else conv
        if name in _SHARES and conv not in ("eurostat", "laeken"):
            conv = None  # fractional: no quantile; inverse_cdf / interpolated: the kernel's own error
    elif name in ("lorenz", "glorenz"):
        conv = conv if conv in ("eurostat", "laeken") else None
    elif name in ("poormed", "rich", "rich_fgt"):
        conv = "eurostat" if conv == "eurostat" else None  # inverse_cdf: pass 2's y_j, any rule
    elif name in EUROSTAT_READERS:
        conv = "eurostat"
    else:
        conv = None
    if conv is not None:
        uses.setdefault(conv, []).append(r.label)
    line_median = (r.kind == "line" and plan.line_kind == "relative" and (plan.relative_to or "median") == "median") \
        or r.kind in ("self_line", "median_anchor")
    if line_median:
        uses.setdefault(qc, []).append(f"{r.label}'s line (quantile_convention)")
    return uses


def rule_groups(plan, mem: str) -> list[tuple[str, list[int]]]:
    """The call's measures by quantile rule: (rule, positions in ``plan.requested``), one evaluation of
    the passes each (module docstring); the measures without a quantile join the first group. Refuses a
    measure that reads two rules, rmpg under the interpolated rule, and two rules with the bootstrap."""
    groups: dict[str, list[int]] = {}
    free = []
    for i, r in enumerate(plan.requested):
        uses = _measure_rules(plan, r)
        if len(uses) > 1:
            detail = "; ".join(f"{rule!r}: {', '.join(labels)}" for rule, labels in sorted(uses.items()))
            raise MeasureSpecError(
                f"{r.label} reads two quantile rules ({detail}): not available on the out-of-core backends (one sorted "
                "pass reads one rule, and the measure needs both at once)",
                hint=f"give {r.spec.name} the rule of quantile_convention= (or leave its conventions= out), or {mem}")
        if r.spec.name == "rmpg" and "interpolated" in uses:
            raise MeasureSpecError(
                f"rmpg under the 'interpolated' quantile rule is not available on the out-of-core backends: its median "
                "of the poor would be interpolated between the poor's mid-points in the fourth pass, which searches the "
                "Eurostat, inverse-CDF and laeken rules only",
                hint=f"measure rmpg under another quantile_convention, or {mem}")
        if uses:
            groups.setdefault(next(iter(uses)), []).append(i)
        else:
            free.append(i)
    if len(groups) > 1 and plan.bootstrap:
        detail = "; ".join(f"{rule!r}: {', '.join(plan.requested[i].label for i in idx)}" for rule, idx in sorted(groups.items()))
        raise MeasureSpecError(
            f"two quantile rules in one call ({detail}) with the bootstrap are not available on the out-of-core backends "
            "(the replicates of one call share one sorted pass, which reads one rule)",
            hint=f"give every quantile-based measure the same rule, split the call in two, or {mem}")
    out = sorted(groups.items(), key=lambda kv: kv[0] != plan.quantile_convention) or [(plan.quantile_convention, [])]
    out[0][1].extend(free)
    for rule, _ in out:
        if rule not in QUANTILE_CONVENTIONS:  # pragma: no cover - the plan checks the names
            raise MeasureSpecError(f"unknown quantile rule {rule!r}", hint=f"use one of {', '.join(QUANTILE_CONVENTIONS)}")
    return [(rule, sorted(idx)) for rule, idx in out]


def quantile_rule(plan, mem: str) -> str:
    """The quantile rule of the call's first group (:func:`rule_groups`; the only one when the call reads one)."""
    return rule_groups(plan, mem)[0][0]


def evaluate(evaluate_stream, source, spec, groups, layers, **kw):
    """:func:`~prosperity.backends.streaming.evaluate_stream` once per quantile rule of ``groups``
    (:func:`rule_groups`), the rows merged back in the call's order (layer, group, measure); the whole
    sample's statistics (the lines' text) from the group of ``quantile_convention`` (the first)."""
    import dataclasses

    if len(groups) == 1:
        return evaluate_stream(source, dataclasses.replace(spec, quantile_rule=groups[0][0]), layers, **kw)
    outs = [evaluate_stream(source, dataclasses.replace(spec, measures=tuple(spec.measures[i] for i in idx),
                                                        quantile_rule=rule), layers, **kw) for rule, idx in groups]
    rows = {(row.layer, row.group, row.label): row for out in outs for row in out.rows}
    order = list(dict.fromkeys((row.layer, row.group) for row in outs[0].rows))
    merged = [rows[(li, g, label)] for li, g in order for label, _, _ in spec.measures]
    first = outs[0]
    return dataclasses.replace(first, rows=merged, passes=sum(o.passes for o in outs))


ALLOWED = {"gini": GINI, "theil": ("standard", "pysal"), "mld": ("standard", "pip"),
           "lorenz": SHARE_CONVENTIONS, "glorenz": SHARE_CONVENTIONS,
           "poormed": ("inverse_cdf", "eurostat"), "rich": ("inverse_cdf", "eurostat"),
           "rich_fgt": ("inverse_cdf", "eurostat")}


def _with_inequality_conventions(allowed: dict) -> dict:
    """cv, varlog, wolfson: the conventions streaming_inequality computes."""
    from .streaming_inequality import CONVENTIONS

    return {**allowed, **CONVENTIONS}


ALLOWED = _with_inequality_conventions(ALLOWED)


def check_conventions(plan, mem: str) -> None:
    """Refuse a measure's convention that does not stream (every convention of ALLOWED does, and every
    quantile rule of a quantile-based measure that :func:`quantile_rule` accepts)."""
    for name, conv in plan.conventions.items():
        spec = next(r.spec for r in plan.requested if r.spec.name == name)
        if spec.convention_kind == "quantile" and name not in ("poormed", "rich", "rich_fgt"):
            continue  # a quantile rule (or a share rule): quantile_rule decides
        if conv not in ALLOWED.get(name, ()):
            raise MeasureSpecError(
                f"convention {conv!r} for {name} is not available on the out-of-core backends yet",
                hint=f"streamed conventions of {name}: {', '.join(ALLOWED.get(name, ())) or 'none'}; or {mem}")


def stream_conventions(plan) -> dict:
    """The conventions the streaming engine reads: each measure's own, the quantile rule for the
    quantile-based measures without one (as the in-memory table passes it to their kernels)."""
    out = dict(plan.conventions)
    for r in plan.requested:
        if r.spec.convention_kind == "quantile" and r.spec.name not in out:
            out[r.spec.name] = plan.quantile_convention
    return out


# ============================================================================ the sorted pass: laeken's rule


class StrictSearch:
    """laeken's quantiles per domain in the sorted pass: y_j, j = min{j : C_j > pN (1 + 1e-12)}, the last
    unit of the domain when no C_j is above (as :func:`prosperity.measures.quantiles.quantile_sorted`)."""

    def __init__(self, ps, D: int):
        self.q = {p: np.full(D, np.nan) for p in ps}
        self.found = {p: np.zeros(D, bool) for p in ps}

    def update(self, ds: np.ndarray, ys: np.ndarray, ws: np.ndarray, cw: np.ndarray, N: np.ndarray) -> None:
        """One sorted piece, grouped by domain (``ds``), with its domains' running sums ``cw``."""
        for p, q in self.q.items():
            found = self.found[p]
            hit = np.flatnonzero((cw > p * N[ds] * (1 + _TIE_RTOL)) & ~found[ds])
            if hit.size:
                doms, first = np.unique(ds[hit], return_index=True)
                found[doms] = True
                q[doms] = ys[hit[first]]

    def finish(self, last: np.ndarray) -> dict:
        for p, q in self.q.items():
            miss = ~self.found[p]
            q[miss] = last[miss]
        return self.q


class InterpolatedSearch:
    """The ``"interpolated"`` quantiles per domain in the sorted pass (as ``quantile_sorted``): the knots
    (K / N, y) of each run of tied incomes, K = C_before + lightest / 2 and K = C_last - heaviest / 2 (a run
    of a single unit: C - w / 2 twice), and q_p the linear interpolation at p between the last knot
    <= p and the first above, clamped to the first / last income. A domain's last run in a piece may
    go on in the next piece: it is held (``run``) until a different income of the domain arrives."""

    def __init__(self, ps, D: int):
        self.q = {p: np.full(D, np.nan) for p in ps}
        self.found = {p: np.zeros(D, bool) for p in ps}
        self.prev_k = {p: np.full(D, np.nan) for p in ps}  # the last knot at or below pN
        self.prev_y = {p: np.full(D, np.nan) for p in ps}
        self.next = {p: {} for p in ps}  # domain -> the first knot above pN (K, y)
        self.run = {}  # domain -> [y, C before the run, lightest, heaviest, C at its last unit]
        self.N = None

    def update(self, ds, ys, ws, cw, N) -> None:
        self.N = N
        cut = np.r_[True, (ds[1:] != ds[:-1]) | (ys[1:] != ys[:-1])]
        starts = np.flatnonzero(cut)
        ends = np.r_[starts[1:], ds.size] - 1
        rd, ry = ds[starts], ys[starts]
        before = cw[starts] - ws[starts]
        light, heavy = np.minimum.reduceat(ws, starts), np.maximum.reduceat(ws, starts)
        last_c = cw[ends]
        first_of = np.r_[True, rd[1:] != rd[:-1]]  # a domain's first run in the piece
        last_of = np.r_[rd[1:] != rd[:-1], True]  # and its last (held)
        done = []  # complete runs, in order: (domain, y, before, light, heavy, last)
        for i in np.flatnonzero(first_of).tolist():
            d = int(rd[i])
            held = self.run.pop(d, None)
            if held is None:
                continue
            if held[0] == ry[i]:  # the held run goes on in this piece
                before[i] = held[1]
                light[i] = min(light[i], held[2])
                heavy[i] = max(heavy[i], held[3])
            else:
                done.append((d, *held))
        for i in np.flatnonzero(last_of).tolist():
            self.run[int(rd[i])] = [float(ry[i]), float(before[i]), float(light[i]), float(heavy[i]), float(last_c[i])]
        keep = ~last_of
        held_runs = np.array(done, dtype=np.float64).reshape(-1, 6)
        order_d = np.r_[held_runs[:, 0], rd[keep]]
        self._knots(order_d.astype(np.int64), np.r_[held_runs[:, 1], ry[keep]], np.r_[held_runs[:, 2], before[keep]],
                    np.r_[held_runs[:, 3], light[keep]], np.r_[held_runs[:, 4], heavy[keep]], np.r_[held_runs[:, 5], last_c[keep]])

    def _knots(self, rd, ry, before, light, heavy, last_c) -> None:
        """Feed complete runs (grouped by domain, ascending within each; the held ones of a domain first)."""
        if not rd.size:
            return
        order = np.argsort(rd, kind="stable")
        rd, ry, before, light, heavy, last_c = rd[order], ry[order], before[order], light[order], heavy[order], last_c[order]
        kd = np.repeat(rd, 2)
        ky = np.repeat(ry, 2)
        end = last_c - 0.5 * heavy
        single = light == heavy  # with last_c - before == light: a run of one unit, both knots C - w / 2 (the kernel without ties)
        start = np.where(single & (last_c - before == light), end, before + 0.5 * light)
        kk = np.column_stack((start, end)).ravel()
        for p in self.q:
            found, pk, py = self.found[p], self.prev_k[p], self.prev_y[p]
            hit = np.flatnonzero((kk > p * self.N[kd]) & ~found[kd])
            if hit.size:
                doms, first = np.unique(kd[hit], return_index=True)
                for d, j in zip(doms.tolist(), hit[first].tolist()):
                    if j > 0 and kd[j - 1] == d:
                        pk[d], py[d] = kk[j - 1], ky[j - 1]
                    self.next[p][d] = (kk[j], ky[j])
                    found[d] = True
            last = np.r_[kd[1:] != kd[:-1], True]
            below = last & ~found[kd]
            pk[kd[below]] = kk[below]
            py[kd[below]] = ky[below]

    def finish(self, last: np.ndarray, total: np.ndarray | None = None) -> dict:
        """The quantiles, the knots as shares of ``total`` (the domains' C_n: the kernel's N = cumw[-1])."""
        held = sorted(self.run.items())
        self.run = {}
        if held:
            arr = np.array([[d, *v] for d, v in held], dtype=np.float64)
            self._knots(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5])
        total = self.N if total is None else total
        for p, q in self.q.items():
            miss = ~self.found[p]
            q[miss] = np.where(np.isnan(self.prev_y[p][miss]), last[miss], self.prev_y[p][miss])  # above the last knot
            for d, (k1, y1) in self.next[p].items():
                k0, y0 = self.prev_k[p][d], self.prev_y[p][d]
                if np.isnan(k0):  # below the first knot: the first income
                    q[d] = y1
                else:  # numpy.interp's arithmetic on the kernel's knots
                    x0, x1 = k0 / total[d], k1 / total[d]
                    q[d] = (y1 - y0) / (x1 - x0) * (p - x0) + y0
        return self.q


def search(rule: str, ps, D: int):
    """The sorted pass's search for the quantiles of ``rule`` beyond the Eurostat / inverse-CDF ones."""
    return StrictSearch(ps, D) if rule == "laeken" else InterpolatedSearch(ps, D) if rule == "interpolated" else None


def apply_rule(rule: str, quant: dict, quant_lo: dict, strict, last: np.ndarray, total: np.ndarray) -> dict:
    """The quantiles of the call's rule (in place of the Eurostat ones; ``total``: each domain's C_n);
    returns the Eurostat quartiles kept for the Osier bandwidth."""
    eurostat = {p: quant[p].copy() for p in (0.25, 0.75) if p in quant}
    if rule == "inverse_cdf":
        for p in quant:
            quant[p] = quant_lo[p].copy()
    elif rule in ("laeken", "interpolated"):
        for p, v in (strict.finish(last) if rule == "laeken" else strict.finish(last, total)).items():
            quant[p] = v
    return eurostat


# ============================================================================ bases and needs


def basis_values(b: tuple, y: np.ndarray, x, w: np.ndarray):
    """Values of this module's bases for the rows of a piece (``w``: their weights)."""
    kind = b[0]
    if kind == "wy":
        return w * y
    if kind == "w":
        return w
    if kind == "nonwhole":  # 1 / w for a weight that is not a whole number: the total counts them
        bad = np.abs(w - np.rint(w)) > _WHOLE_RTOL * np.maximum(np.abs(w), 1.0)
        return np.where(bad, 1.0 / w, 0.0)
    if kind == "lnyp":  # PIP's ln(y' / K), y' = y for y > 0, else 1
        return np.log(np.where(y > 0, y, 1.0) / x("K"))
    raise AssertionError(kind)  # pragma: no cover


def needs(n, name: str, p: dict):
    """(own bases, reference bases) of a non-default convention, or None (the default's)."""
    conv = n.spec.conventions.get(name)
    if name == "gini" and conv not in (None, "laeken"):
        n.gini = True
        own = {("gini",), ("one",), ("y",)}
        if conv in ("convey", "ineqpy"):
            own.add(("wy",))
        if conv == "ineqpy":
            own.add(("w",))
        if conv == "unbiased_frequency":
            n.own.add(("nonwhole",))  # a check, not a term of u: not among the block's pairs
        return own, set()
    if name == "mld" and conv == "pip":
        return {("y",), ("one",), ("lnyp",)}, set()
    return None


def converts(spec, name: str) -> bool:
    conv = spec.conventions.get(name)
    return (name == "gini" and conv not in (None, "laeken")) or (name == "mld" and conv == "pip") or (
        name in _SHARES and conv is not None and conv not in SHARE_CONVENTIONS)


# ============================================================================ values and coefficients


def estimate(ctx, name: str, p: dict, d: int):
    """(value, own coefficients, reference coefficients, line) of a non-default convention in domain d."""
    conv = ctx.spec.conventions.get(name)
    N, Y = float(ctx.N[d]), float(ctx.Y[d])
    if name in _SHARES:  # the kernel's own refusal of a quantile rule that is no share rule
        raise ValueError(f"unknown share convention {conv!r}; choose one of {SHARE_CONVENTIONS}")
    if name == "mld":
        mu = Y / N
        if not mu > 0:
            raise ValueError(f"the mean log deviation (MLD) needs a positive mean income, got {mu}")
        lmk = math.log(mu / float(ctx.points["K"][0]))
        m = lmk - ctx.tot(("lnyp",), d) / N
        return m, {("y",): 1.0 / (mu * N), ("lnyp",): -1.0 / N, ("one",): (-1.0 + lmk - m) / N}, {}, None
    g_l, c_l, _, _ = ctx.estimate("gini", p, d, default=True)
    if conv == "unbiased":
        n = int(ctx.cnt[d])
        if n < 2:
            raise ValueError("the unbiased (n/(n-1)) Gini needs at least 2 observations")
        k = n / (n - 1.0)
        return g_l * k, {b: k * c for b, c in c_l.items()}, {}, None
    if conv == "unbiased_frequency":
        bad = int(round(ctx.tot(("nonwhole",), d)))
        if bad:
            raise ValueError(
                f"the unbiased_frequency Gini needs frequency weights (whole numbers of persons); {bad:,} weight(s) "
                "are not. Use convention='unbiased' (n/(n-1) with n the number of rows) for sampling weights")
        if not N >= 2.0:
            raise ValueError(f"the unbiased_frequency Gini needs at least 2 persons (sum of weights {N:g})")
        k = N / (N - 1.0)
        coefs = {b: k * c for b, c in c_l.items()}
        coefs[("one",)] = coefs.get(("one",), 0.0) - g_l / ((N - 1.0) * (N - 1.0))
        return g_l * k, coefs, {}, None
    a = 2.0 / (N * Y)
    q = ctx.tot(("wy",), d) / (N * Y)
    b = g_l + q + 1.0
    base = {("gini",): a, ("wy",): a, ("one",): a * Y * (1.0 - b / 2.0), ("y",): -b / Y}
    if conv == "convey":
        base[("one",)] += 1.0 / (N * N)
        return g_l + q - 1.0 / N, base, {}, None
    s2 = ctx.tot(("w",), d) / (N * N)
    if s2 >= 1.0:
        raise ValueError("the ineqpy Gini is undefined for a single unit with positive weight")
    g = (g_l + q - s2) / (1.0 - s2)
    coefs = {k: v / (1.0 - s2) for k, v in base.items()}
    coefs[("w",)] = -(1.0 - g) * 2.0 / (N * N) / (1.0 - s2)
    coefs[("one",)] += (1.0 - g) * 2.0 * s2 / N / (1.0 - s2)
    return g, coefs, {}, None
