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

Refused (:func:`quantile_rule`, with what to do): the ``"interpolated"`` quantile rule (it reads the
quantile between the mid-points C_j - w_j / 2 of two units, with runs of tied incomes ordered lightest
weight first: the run's lightest and heaviest weights across the pieces of the sorted pass are not
carried); two different quantile rules in one call. RMPG's median of the poor (pass 4 of
:mod:`.streaming_poverty`) follows the call's rule.
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
STREAMED_RULES = ("eurostat", "laeken", "inverse_cdf")
_SHARES = ("qsr", "palma", "share", "lorenz", "glorenz")
# measures whose kernels read the Eurostat median or quartiles whatever the call's rule (the Wolfson
# indices' median; wbpip's Wolfson the quartiles of its bandwidth): streamed, they read pass 2's quantiles
EUROSTAT_READERS = ("wolfson", "foster_wolfson")
_TIE_RTOL = 1e-12


# ============================================================================ the call's quantile rule


def quantile_rule(plan, mem: str) -> str:
    """The one quantile rule of the call's quantile uses (module docstring), or a refusal that names them."""
    uses: dict[str, list] = {}
    qc = plan.quantile_convention
    for r in plan.requested:
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
    if "interpolated" in uses:
        raise MeasureSpecError(
            f"the 'interpolated' quantile rule ({', '.join(uses['interpolated'])}) is not available on the out-of-core "
            "backends: it reads the quantile between the mid-points C_j - w_j/2 of two units, with each run of tied "
            "incomes ordered lightest weight first, and the sorted pass does not carry the runs' lightest and heaviest "
            "weights across its pieces",
            hint=f"use quantile_convention='eurostat', 'laeken' or 'inverse_cdf' (they stream exactly), or {mem}")
    if len(uses) > 1:
        detail = "; ".join(f"{rule!r}: {', '.join(labels)}" for rule, labels in sorted(uses.items()))
        raise MeasureSpecError(
            f"two quantile rules in one call ({detail}) are not available on the out-of-core backends: the sorted pass "
            "reads one quantile rule for every quantile of the call (the measures', the relative line's median, the "
            "shares' boundaries)",
            hint=f"give every quantile-based measure the rule of quantile_convention= (conventions= the same), split "
                 f"the call in two, or {mem}")
    rule = next(iter(uses), "eurostat")
    if rule not in QUANTILE_CONVENTIONS:  # pragma: no cover - the plan checks the names
        raise MeasureSpecError(f"unknown quantile rule {rule!r}", hint=f"use one of {', '.join(QUANTILE_CONVENTIONS)}")
    return rule


ALLOWED = {"gini": GINI, "theil": ("standard", "pysal"), "mld": ("standard", "pip"),
           "lorenz": SHARE_CONVENTIONS, "glorenz": SHARE_CONVENTIONS,
           "poormed": ("inverse_cdf", "eurostat"), "rich": ("inverse_cdf", "eurostat"),
           "rich_fgt": ("inverse_cdf", "eurostat")}


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

    def update(self, ds: np.ndarray, ys: np.ndarray, cw: np.ndarray, N: np.ndarray) -> None:
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


def apply_rule(rule: str, quant: dict, quant_lo: dict, strict: StrictSearch | None, last: np.ndarray) -> dict:
    """The quantiles of the call's rule (in place of the Eurostat ones); returns the Eurostat quartiles
    kept for the Osier bandwidth."""
    eurostat = {p: quant[p].copy() for p in (0.25, 0.75) if p in quant}
    if rule == "inverse_cdf":
        for p in quant:
            quant[p] = quant_lo[p].copy()
    elif rule == "laeken":
        for p, v in strict.finish(last).items():
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
