"""Generalized entropy GE(alpha), Theil T, mean log deviation (MLD) and Atkinson(epsilon) indices,
weighted, with their linearized variables.

Notation: weights w, N = sum w, mu = sum w y / N, z_i = y_i / mu.

    GE(alpha) = (1 / (alpha (alpha - 1))) * [ (1/N) sum w z^alpha - 1 ],     alpha not in {0, 1}
    GE(1)     = Theil T = (1/N) sum w z ln z          (0 ln 0 = 0: zero incomes allowed)
    GE(0)     = MLD     = -(1/N) sum w ln z           (positive incomes only)
    GE(2)     = CV^2 / 2 (population variance)
    A(eps)    = 1 - [ (1/N) sum w z^(1 - eps) ]^(1 / (1 - eps)),   eps >= 0, eps != 1
    A(1)      = 1 - exp((1/N) sum w ln z) = 1 - geometric mean / mu = 1 - exp(-MLD)

(Cowell 2011, *Measuring Inequality*; Atkinson 1970). These measures do not depend on the order of
the incomes, so the kernels read ``SortedIncome.y`` and ``.w`` without using the sort.

Linearized variables (Biewen & Jenkins 2006; R convey ``svygei``/``svyatk``), the exact
derivatives with respect to w_k, R = (1/N) sum w z^alpha, m = (1/N) sum w z^(1 - eps):

    GE(alpha): u = [ z^alpha - alpha R z + (alpha - 1) R ] / (N alpha (alpha - 1))
    Theil T:   u = [ z (ln z - T - 1) + 1 ] / N
    MLD:       u = [ z - 1 - ln z - MLD ] / N
    A(eps):    u = -(1 - A) [ (z^(1-eps) / m - 1) / (1 - eps) - (z - 1) ] / N
    A(1):      u = (1 - A) * u_MLD

Zero and non-positive incomes, with named conventions where peers differ (``convention=``):

- ``"standard"`` (default): Theil T and GE(alpha > 0) and Atkinson(eps < 1) accept zeros; MLD,
  GE(alpha <= 0), Atkinson(eps >= 1) need positive incomes; negative incomes are refused.
- ``"pysal"`` (Theil only): PySAL ``inequality.theil.Theil`` replaces zeros by
  ``numpy.finfo(float).tiny`` before computing; the value differs from 0 ln 0 = 0 only in the last
  digits.
- ``"pip"`` (MLD only): World Bank PIP (wbpip ``md_compute_mld``) takes the mean of all incomes,
  then sets incomes <= 0 to 1 and computes (1/N) sum w ln(mu / y). Accepts any income.

Names: R ineq's ``Theil(x, parameter = 0)`` is Theil T but ``Theil(x, parameter != 0)`` is the
MLD, and ``entropy(x, 0)`` is the MLD. Use :func:`theil` / :func:`mld` / :func:`ge` here.
"""

from __future__ import annotations

import numpy as np

from . import blockwise
from .estimate import Estimate, vdot
from .income_domain import incomes_and_weights

THEIL_CONVENTIONS = ("standard", "pysal")
MLD_CONVENTIONS = ("standard", "pip")


def _mean(y, w, big_n, measure: str) -> float:
    mu = float(vdot(w, y)) / big_n
    if not mu > 0:
        raise ValueError(f"{measure} needs a positive mean income, got {mu}")
    return mu


def _check_param(name: str, value: float, lower: float | None = None) -> float:
    value = float(value)
    if not np.isfinite(value) or (lower is not None and value < lower):
        bound = "" if lower is None else f" >= {lower:g}"
        raise ValueError(f"{name} must be a finite number{bound}, got {value}")
    return value


# --------------------------------------------------------------------------------------------- GE
def _power(y: np.ndarray, a: float) -> np.ndarray:
    """y ** a with NumPy's fast paths for the common exponents."""
    if a == 2.0:
        return np.multiply(y, y)
    if a == 0.5:
        return np.sqrt(y)
    if a == -1.0:
        return np.reciprocal(y)
    return np.power(y, a)


def ge_estimate(y, alpha: float, w=None, influence: bool = True) -> Estimate:
    """GE(alpha) with its linearized variable; alpha = 0 is the MLD, alpha = 1 Theil T."""
    alpha = _check_param("the GE parameter alpha", alpha)
    if alpha == 1.0:
        return theil_estimate(y, w, influence)
    if alpha == 0.0:
        return mld_estimate(y, w, influence)
    y, w, big_n, _ = incomes_and_weights(y, w, "positive" if alpha < 0 else "nonnegative", f"GE({alpha:g})")
    mu = _mean(y, w, big_n, f"GE({alpha:g})")
    k = alpha * (alpha - 1.0)
    if not influence:
        big_r = blockwise.weighted_sum(w, lambda yb: _power(yb / mu, alpha), y) / big_n
        return Estimate((big_r - 1.0) / k)
    r = _power(y, alpha)  # y^a; R = (1/N) sum w (y/mu)^a
    scale = mu**-alpha
    big_r = float(vdot(w, r)) * scale / big_n
    # u = [z^a - a R z + (a - 1) R] / (N a (a - 1)), z = y / mu, in r's buffer
    c1, c2, c3 = scale / (big_n * k), alpha * big_r / (mu * big_n * k), (alpha - 1.0) * big_r / (big_n * k)
    blockwise.fill(r, lambda rb, yb: rb * c1 - yb * c2 + c3, r, y)
    return Estimate((big_r - 1.0) / k, r)


def theil_estimate(y, w=None, influence: bool = True, convention: str = "standard") -> Estimate:
    """Theil T = (1/N) sum w z ln z with its linearized variable [z (ln z - T - 1) + 1] / N."""
    if convention not in THEIL_CONVENTIONS:
        raise ValueError(f"unknown Theil convention {convention!r}; choose one of {THEIL_CONVENTIONS}")
    y, w, big_n, y_min = incomes_and_weights(y, w, "nonnegative", "the Theil index")
    if convention == "pysal" and y_min == 0:
        y = np.where(y == 0, np.finfo(np.float64).tiny, y)  # (y_min stays 0: z is floored below)
    mu = _mean(y, w, big_n, "the Theil index")
    floor = np.finfo(np.float64).tiny  # z = 0 -> z ln(tiny) = 0: 0 ln 0 = 0, no warning

    def log_z(yb):
        zb = yb / mu
        return np.log(zb if y_min > 0 else np.maximum(zb, floor))

    if not influence:
        value = blockwise.weighted_sum(w, lambda yb: (yb / mu) * log_z(yb), y) / big_n
        return Estimate(value)
    u = blockwise.new(log_z, y)
    value = float(np.einsum("i,i,i->", w, y, u)) / (mu * big_n)
    blockwise.fill(u, lambda lb, yb: ((yb / mu) * (lb - (value + 1.0)) + 1.0) / big_n, u, y)
    return Estimate(value, u)


def mld_estimate(y, w=None, influence: bool = True, convention: str = "standard") -> Estimate:
    """Mean log deviation -(1/N) sum w ln(y / mu) with its linearized variable [z - 1 - ln z - MLD] / N."""
    if convention not in MLD_CONVENTIONS:
        raise ValueError(f"unknown MLD convention {convention!r}; choose one of {MLD_CONVENTIONS}")
    domain = "positive" if convention == "standard" else "any"
    y, w, big_n, y_min = incomes_and_weights(y, w, domain, "the mean log deviation (MLD)", hint=" (or use convention='pip')")
    mu = _mean(y, w, big_n, "the mean log deviation (MLD)")
    log_mu = float(np.log(mu))

    def log_z(yb):  # PIP: incomes <= 0 count as 1, after the mean is taken
        return np.log(yb if y_min > 0 else np.where(yb > 0, yb, 1.0)) - log_mu

    if not influence:
        return Estimate(-blockwise.weighted_sum(w, log_z, y) / big_n)
    u = blockwise.new(log_z, y)
    value = -float(vdot(w, u)) / big_n
    blockwise.fill(u, lambda lb, yb: (yb / mu - 1.0 - value - lb) / big_n, u, y)
    return Estimate(value, u)


def atkinson_estimate(y, epsilon: float, w=None, influence: bool = True) -> Estimate:
    """Atkinson A(epsilon) with its linearized variable (see module docstring)."""
    eps = _check_param("the Atkinson parameter epsilon", epsilon, lower=0.0)
    if eps == 1.0:
        incomes_and_weights(y, w, "positive", "the Atkinson index (epsilon = 1)")
        m = mld_estimate(y, w, influence)
        a = -float(np.expm1(-m.value))  # 1 - exp(-MLD)
        if not influence:
            return Estimate(a)
        u = m.influence
        u *= 1.0 - a
        return Estimate(a, u)
    y, w, big_n, _ = incomes_and_weights(y, w, "positive" if eps > 1 else "nonnegative", f"the Atkinson index (epsilon = {eps:g})")
    if eps == 0.0:
        return Estimate(0.0, np.zeros_like(y) if influence else None)
    mu = _mean(y, w, big_n, "the Atkinson index")
    b = 1.0 - eps
    scale = mu**-b
    if not influence:
        m = blockwise.weighted_sum(w, lambda yb: _power(yb, b), y) * scale / big_n
        return Estimate(1.0 - m ** (1.0 / b))
    r = _power(y, b)
    m = float(vdot(w, r)) * scale / big_n  # (1/N) sum w z^b
    a = 1.0 - m ** (1.0 / b)
    # u = -(1 - A) [ (z^b / m - 1) / b - (z - 1) ] / N, in r's buffer
    f = -(1.0 - a) / big_n
    c1, c2, c3 = f * scale / (m * b), f / mu, f * (1.0 - 1.0 / b)
    blockwise.fill(r, lambda rb, yb: rb * c1 - yb * c2 + c3, r, y)
    return Estimate(a, r)


# ------------------------------------------------------------------------------ public functions
def ge(y, alpha: float, w=None) -> float:
    """Generalized entropy index GE(alpha) = [ (1/N) sum w (y/mu)^alpha - 1 ] / (alpha (alpha - 1)).

    alpha = 0 is the MLD, alpha = 1 Theil T, alpha = 2 half the squared coefficient of variation
    (Cowell 2011). Zeros are allowed for alpha > 0.

    >>> round(ge([1, 2, 3, 4], 2), 6)   # z = .4 .8 1.2 1.6; mean z^2 = 1.2; (1.2 - 1) / 2
    0.1
    """
    return ge_estimate(y, alpha, w, influence=False).value


def theil(y, w=None, convention: str = "standard") -> float:
    """Theil T index (1/N) sum w (y/mu) ln(y/mu) = GE(1); zeros contribute 0 (0 ln 0 = 0).

    ``convention="pysal"`` replaces zeros by the smallest positive float first, as PySAL does.

    >>> round(theil([1, 1, 2]), 6)   # mu = 4/3: (2 * .75 ln .75 + 1.5 ln 1.5) / 3
    0.058892
    """
    return theil_estimate(y, w, influence=False, convention=convention).value


def mld(y, w=None, convention: str = "standard") -> float:
    """Mean log deviation (Theil L, GE(0)) = (1/N) sum w ln(mu / y); positive incomes only.

    ``convention="pip"`` reproduces World Bank PIP: mean of all incomes, then incomes <= 0 set to 1.

    >>> round(mld([1, 1, 2]), 6)     # ln(4/3) - ln(2) / 3
    0.056633
    """
    return mld_estimate(y, w, influence=False, convention=convention).value


def atkinson(y, epsilon: float, w=None) -> float:
    """Atkinson index A(eps) = 1 - EDE / mu, EDE = [(1/N) sum w y^(1-eps)]^(1/(1-eps)) (geometric
    mean when eps = 1); eps >= 0 is the inequality aversion (Atkinson 1970).

    >>> round(atkinson([1, 4], 0.5), 6)   # mean z^.5 = (sqrt(.4) + sqrt(1.6)) / 2 = .948683; 1 - .9
    0.1
    >>> round(atkinson([1, 4], 1), 6)     # 1 - sqrt(1 * 4) / 2.5
    0.2
    """
    return atkinson_estimate(y, epsilon, w, influence=False).value
