"""Moment-based dispersion: coefficient of variation and variance of logarithms, weighted, with
their linearized variables.

Notation: weights w, N = sum w, mu = sum w y / N, n the number of observations.

Coefficient of variation (``convention=``):

- ``"population"`` (default; R ineq ``var.coeff``, sqrt(2 GE(2))):
  CV = sigma / mu, sigma^2 = (1/N) sum w (y - mu)^2.
- ``"sample"`` (R ``sd(x) / mean(x)`` unweighted): sigma^2 times n / (n - 1).

  u = CV [ ((y - mu)^2 / sigma^2 - 1) / 2 - (y / mu - 1) ] / N   (times sqrt(n/(n-1)) for "sample").

Variance of logarithms (positive incomes; Cowell 2011, sec. 2.3):

- ``"log_mean"`` (default; "variance of logarithms", Stata ``ineqdeco``'s ``vlog``... and most
  texts): V = (1/N) sum w (ln y - m)^2, m = (1/N) sum w ln y (deviations from the log of the
  geometric mean);  u = [ (ln y - m)^2 - V ] / N.
- ``"log_of_mean"`` ("logarithmic variance", Cowell's V_1): V1 = (1/N) sum w (ln y - ln mu)^2
  (deviations from the log of the arithmetic mean);
  u = [ (ln y - ln mu)^2 - V1 + 2 MLD (y / mu - 1) ] / N, MLD = ln mu - m.
"""

from __future__ import annotations

import numpy as np

from . import blockwise
from .estimate import Estimate, vdot
from .income_domain import incomes_and_weights

CV_CONVENTIONS = ("population", "sample")
VARLOG_CONVENTIONS = ("log_mean", "log_of_mean")


def cv_estimate(y, w=None, influence: bool = True, convention: str = "population") -> Estimate:
    """Coefficient of variation sigma / mu with its linearized variable (module docstring)."""
    if convention not in CV_CONVENTIONS:
        raise ValueError(f"unknown CV convention {convention!r}; choose one of {CV_CONVENTIONS}")
    y, w, big_n, _ = incomes_and_weights(y, w, "any", "the coefficient of variation")
    n = y.size
    if convention == "sample" and n < 2:
        raise ValueError("the sample coefficient of variation needs at least 2 observations")
    mu = float(vdot(w, y)) / big_n
    if mu == 0:
        raise ValueError("the coefficient of variation is undefined when the mean income is 0")
    var = blockwise.weighted_sum(w, lambda yb: (yb - mu) ** 2, y) / big_n
    factor = np.sqrt(n / (n - 1.0)) if convention == "sample" else 1.0
    cv = float(np.sqrt(var) / mu * factor)
    if not influence:
        return Estimate(cv)
    if var == 0:
        raise ValueError("the linearized variable of the CV is undefined when all incomes are equal")
    # u = CV [ (dev^2 / var - 1) / 2 - dev / mu ] / N, dev = y - mu
    a2, a1, a0 = cv / (2.0 * var * big_n), -cv / (mu * big_n), -cv / (2.0 * big_n)

    def u_of(yb):
        dev = yb - mu
        return (dev * a2 + a1) * dev + a0

    return Estimate(cv, blockwise.new(u_of, y))


def variance_of_logs_estimate(y, w=None, influence: bool = True, convention: str = "log_mean") -> Estimate:
    """Variance of logarithms with its linearized variable (module docstring)."""
    if convention not in VARLOG_CONVENTIONS:
        raise ValueError(f"unknown variance-of-logs convention {convention!r}; choose one of {VARLOG_CONVENTIONS}")
    y, w, big_n, _ = incomes_and_weights(y, w, "positive", "the variance of logarithms")
    ly = np.log(y) if influence else None
    m = (float(vdot(w, ly)) if influence else blockwise.weighted_sum(w, np.log, y)) / big_n
    mu = float(vdot(w, y)) / big_n
    centre = m if convention == "log_mean" else float(np.log(mu))
    if not influence:
        return Estimate(blockwise.weighted_sum(w, lambda yb: (np.log(yb) - centre) ** 2, y) / big_n)
    value = blockwise.weighted_sum(w, lambda lb: (lb - centre) ** 2, ly) / big_n
    # u = [ (ln y - c)^2 - V + 2 MLD (y / mu - 1) ] / N, the MLD term only around ln(mu)
    k = 2.0 * (centre - m) if convention == "log_of_mean" else 0.0
    blockwise.fill(ly, lambda lb, yb: ((lb - centre) ** 2 - value + k * (yb / mu - 1.0)) / big_n, ly, y)
    return Estimate(value, ly)


def coefficient_of_variation(y, w=None, convention: str = "population") -> float:
    """Coefficient of variation sigma / mu, sigma^2 = (1/N) sum w (y - mu)^2 (``"population"``)
    or that times n/(n-1) (``"sample"``, as R ``sd(x)/mean(x)``). CV^2 / 2 = GE(2).

    >>> round(coefficient_of_variation([1, 2, 3, 4]), 6)   # sigma^2 = 1.25, sqrt(1.25) / 2.5
    0.447214
    """
    return cv_estimate(y, w, influence=False, convention=convention).value


def variance_of_logs(y, w=None, convention: str = "log_mean") -> float:
    """Variance of logarithms (1/N) sum w (ln y - m)^2 with m the weighted mean of ln y
    (``"log_mean"``), or around ln(mu) (``"log_of_mean"``, Cowell's logarithmic variance).

    >>> round(variance_of_logs([1, 4]), 6)   # ln 1 = 0, ln 4 = 1.386294; m = .693147; V = .693147^2
    0.480453
    """
    return variance_of_logs_estimate(y, w, influence=False, convention=convention).value
