"""Linearized variables and design-based standard errors of the nested GE decomposition (and of the
non-nested subgroup decomposition, whose groupings' between terms are B_1 of each grouping alone), and the
design plumbing (:func:`design_rows`, :class:`DesignRows`, :func:`share_influences`) that Dagum's Gini
decomposition (:mod:`prosperity.decompose.dagum`) shares.

Every component is a smooth function of weighted totals. With N = sum w, Y = sum w y and
M = sum w f(y) (f(y) = y log y for Theil T, alpha = 1; log y for the MLD, alpha = 0; y^alpha
otherwise), the total is GE = G(N, Y, M) with

    G(N, Y, M) = M / Y - log(Y / N)                                        alpha = 1
    G(N, Y, M) = log(Y / N) - M / N                                        alpha = 0
    G(N, Y, M) = (M N^(alpha-1) Y^(-alpha) - 1) / (alpha (alpha - 1))     otherwise.

B_j, GE of the distribution in which everyone has the mean mu_u = Y_u / N_u of their level-j unit u,
is the same function with M replaced by M_j = sum_u h(N_u, Y_u):

    h(N_u, Y_u) = Y_u log mu_u  (alpha = 1),   N_u log mu_u  (alpha = 0),   N_u mu_u^alpha  (otherwise).

The linearized (influence) variable of a function of totals is the derivative with respect to the
weight w_i of observation i (Deville 1999; Osier 2009; the approach of R laeken / convey, whose
``svygeidec`` does this for one level). d N / d w_i = 1, d Y / d w_i = y_i, d N_u / d w_i = 1 and
d Y_u / d w_i = y_i when i lies in u, so for observation i in unit u(i) of level j

    u_i(GE)  = G_N + G_Y y_i + G_M f(y_i)                                    (partials at N, Y, M)
    u_i(B_j) = G_N + G_Y y_i + G_M [h_N(u(i)) + h_Y(u(i)) y_i]               (partials at N, Y, M_j)

with the partial derivatives

    alpha = 1:  G_N = 1/N,  G_Y = -M/Y^2 - 1/Y,  G_M = 1/Y;         h_N = -mu_u,        h_Y = log mu_u + 1
    alpha = 0:  G_N = M/N^2 - 1/N,  G_Y = 1/Y,  G_M = -1/N;          h_N = log mu_u - 1, h_Y = 1 / mu_u
    otherwise:  R = M N^(alpha-1) Y^(-alpha),  G_N = (alpha-1) R / (N k),  G_Y = -alpha R / (Y k),
                G_M = R / (M k), k = alpha (alpha-1);                h_N = (1-alpha) mu_u^alpha,
                                                                     h_Y = alpha mu_u^(alpha-1).

(For alpha = 1 this is Biewen & Jenkins' u = [z (log z - T - 1) + 1] / N, z = y / mu, as in
:func:`prosperity.measures.entropy.theil_estimate`.) A unit whose incomes are all 0 (Theil, alpha > 0)
has h_Y = 0: its members' y_i = 0, so the term does not arise. The components are linear in the B_j:

    between_1 = B_1,   between_j = B_j - B_{j-1},   within = GE - B_K,

so their linearized variables are the same differences (they add up to the total's exactly), and a
share c / GE has (u_c - (c / GE) u_GE) / GE (ratio rule). The cost is one gather per level
(``a[unit] + b[unit] * y``) and one ``bincount`` into PSU totals t_c = sum over PSU c of w u; the
design variance of each component and share is then computed from these PSU totals
(:meth:`prosperity.variance.Design.variance_of_totals`, with-replacement / ultimate cluster, as R
survey's ``svyrecvar``).

References: J.-C. Deville (1999), Variance estimation for complex statistics and estimators:
linearization and residual techniques, Survey Methodology 25(2), 193-203. G. Osier (2009), Variance
estimation for complex indicators of poverty and inequality using linearization techniques, Survey
Research Methods 3(3), 167-195. M. Biewen & S. P. Jenkins (2006), Variance estimation for generalized
entropy and Atkinson inequality indices: the complex survey data case, Oxford Bulletin of Economics
and Statistics 68(3), 371-383.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from .moments import ge_term
from ..variance.columns import check_lonely_rule, design_from_columns, given_design
from ..variance.design import Design, psu_totals


# ------------------------------------------------------------------------------------ partial derivatives


def ge_partials(alpha: float, n: float, y: float, m: float) -> tuple[float, float, float]:
    """(dG/dN, dG/dY, dG/dM) of G(N, Y, M) (see the module doc)."""
    if alpha == 1.0:
        return 1.0 / n, -m / (y * y) - 1.0 / y, 1.0 / y
    if alpha == 0.0:
        return m / (n * n) - 1.0 / n, 1.0 / y, -1.0 / n
    k = alpha * (alpha - 1.0)
    c = n ** (alpha - 1.0) * y ** (-alpha)  # R = M c
    r = m * c
    return (alpha - 1.0) * r / (n * k), -alpha * r / (y * k), c / k


def smoothed_terms(alpha: float, n_u: np.ndarray, y_u: np.ndarray):
    """h(N_u, Y_u), dh/dN_u, dh/dY_u for every unit (0 for empty units; dh/dY_u = 0 where Y_u = 0)."""
    n_u, y_u = np.asarray(n_u, float), np.asarray(y_u, float)
    live = n_u > 0
    pos = live & (y_u > 0)
    mu = np.divide(y_u, n_u, out=np.zeros_like(y_u), where=live)
    safe = np.where(pos, mu, 1.0)
    h = np.zeros_like(mu)
    a = np.zeros_like(mu)
    b = np.zeros_like(mu)
    if alpha == 1.0:
        log_mu = np.log(safe)
        h[pos] = y_u[pos] * log_mu[pos]
        a[live] = -mu[live]
        b[pos] = log_mu[pos] + 1.0
    elif alpha == 0.0:  # incomes are positive (checked by the moments pass)
        log_mu = np.log(safe)
        h[live] = n_u[live] * log_mu[live]
        a[live] = log_mu[live] - 1.0
        b[pos] = 1.0 / mu[pos]
    else:
        p = np.where(pos, safe**alpha, 0.0)
        h[live] = n_u[live] * p[live]
        a[live] = (1.0 - alpha) * p[live]
        b[pos] = alpha * safe[pos] ** (alpha - 1.0)
    return h, a, b


def _f_rows(y: np.ndarray, alpha: float) -> np.ndarray:
    """f(y) per observation: y log y (0 at y = 0), log y, or y^alpha (the moments pass's f, times y
    for Theil)."""
    out = ge_term(y, alpha, np.empty_like(y), has_zero=alpha == 1.0)
    if alpha == 1.0:
        out *= y
    return out


# --------------------------------------------------------------------------------- influence variables


def level_influences(alpha: float, y: np.ndarray, unit_codes, n_units, y_units, n_tot: float, y_tot: float,
                     m_tot: float) -> Iterator[np.ndarray]:
    """Yield the linearized variable (one value per observation) of the total GE, then of B_1 .. B_K.

    ``unit_codes[j]``: the level-j unit of every observation; ``n_units[j]``, ``y_units[j]``: N_u and
    Y_u of the level-j units. One array at a time, so a caller that reduces each one to PSU totals
    holds only a few arrays of n floats at once.
    """
    g_n, g_y, g_m = ge_partials(alpha, n_tot, y_tot, m_tot)
    u = _f_rows(y, alpha)
    u *= g_m
    u += g_n + g_y * y
    yield u
    del u
    for codes, nu, yu in zip(unit_codes, n_units, y_units):
        h, a, b = smoothed_terms(alpha, nu, yu)
        g_n, g_y, g_m = ge_partials(alpha, n_tot, y_tot, float(h.sum()))
        a = g_n + g_m * a  # u = a[unit] + b[unit] * y
        b = g_y + g_m * b
        u = b[codes]
        u *= y
        u += a[codes]
        yield u


def combine(t_total, t_levels, total: float, values) -> tuple[list, list]:
    """Linearized quantities of the components (between_1 .. between_K, within) and their shares from
    those of the total and the B_j. Linear, so it applies to observations or to PSU totals alike."""
    comps = [t_levels[0]] + [t_levels[j] - t_levels[j - 1] for j in range(1, len(t_levels))]
    comps.append(t_total - t_levels[-1])
    return comps, share_influences(t_total, comps, total, values)


def share_influences(t_total, t_comps, total: float, values) -> list:
    """Linearized quantities of the shares c / total (ratio rule: (u_c - (c / total) u_total) / total),
    from those of the components and of the total (per observation or per PSU); NaN when total = 0."""
    if not total:
        return [np.full_like(np.asarray(t_total, float), np.nan) for _ in t_comps]
    return [(tc - (v / total) * t_total) / total for tc, v in zip(t_comps, values)]


# -------------------------------------------------------------------------------------- the design


@dataclass(frozen=True, eq=False)
class DesignRows:
    """What the standard errors need besides the unit tables: the observations' incomes and weights,
    each observation's PSU code and the design of the PSUs (one entry per PSU)."""

    y: np.ndarray
    w: np.ndarray | None
    psu: np.ndarray
    design: Design

    def ses(self, alpha: float, unit_codes, n_units, y_units, n_tot: float, y_tot: float, m_tot: float,
            total: float, values) -> tuple[float, list[float], list[float]]:
        """(SE of the total, SE of every component, SE of every share) of the nested GE decomposition."""
        totals = self.level_totals(alpha, unit_codes, n_units, y_units, n_tot, y_tot, m_tot)
        comps, shares = combine(totals[0], totals[1:], total, values)
        se = self.se_of_totals
        return se(totals[0]), [se(t) for t in comps], [se(t) for t in shares]

    def level_totals(self, alpha: float, unit_codes, n_units, y_units, n_tot: float, y_tot: float,
                     m_tot: float) -> list[np.ndarray]:
        """PSU totals of the linearized variables of the total GE and of B_1 .. B_K
        (:func:`level_influences`; the units of one level need not nest in those of another)."""
        totals = []
        for u in level_influences(alpha, self.y, unit_codes, n_units, y_units, n_tot, y_tot, m_tot):
            totals.append(self.totals(u))
            del u
        return totals

    def totals(self, u: np.ndarray) -> np.ndarray:
        """PSU totals t_c = sum over PSU c of w u of a linearized variable ``u`` (one value per row)."""
        n_psu = self.design.psu_stratum.size
        if self.w is None:
            return np.bincount(self.psu, weights=u, minlength=n_psu)
        return psu_totals(self.psu, u, self.w, n_psu)

    def se_of_totals(self, t) -> float:
        """The design-based SE from PSU totals (NaN when a total is not finite)."""
        if not np.isfinite(t).all():
            return float("nan")
        return float(np.sqrt(self.design.variance_of_totals(t)))


def design_rows(y: np.ndarray, w: np.ndarray | None, *, design=None, strata=None, psu=None, fpc=None,
                lonely_psu: str = "fail", names: dict | None = None) -> DesignRows | None:
    """The design for the standard errors, from a :class:`Design` built for these rows or from strata /
    PSU / fpc values (one per row), with :func:`prosperity.measure`'s checks and messages. ``names``:
    column names for the messages (``{"strata": "db040", ...}``). None when no design is given."""
    from ..io.errors import MeasureSpecError

    check_lonely_rule(lonely_psu)
    n = y.shape[0]
    if design is not None:
        given = [k for k, v in dict(strata=strata, psu=psu, fpc=fpc).items() if v is not None]
        if given:
            raise MeasureSpecError(f"{', '.join(given)} cannot be given with design=: they are part of it",
                                   hint="pass either a Design or the strata / psu / fpc columns")
        design = given_design(design, n)
        return DesignRows(y, w, np.asarray(design.psu, dtype=np.int64), design)
    built = design_from_columns(n, strata=strata, psu=psu, fpc=fpc, lonely_psu=lonely_psu, names=names)
    return None if built is None else DesignRows(y, w, built.psu, built)
