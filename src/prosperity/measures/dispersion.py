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

from .income_domain import incomes_and_weights
from .estimate import Estimate

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
    mu = float(np.dot(w, y)) / big_n
    if mu == 0:
        raise ValueError("the coefficient of variation is undefined when the mean income is 0")
    dev = y - mu
    sq = dev * dev
    var = float(np.dot(w, sq)) / big_n
    factor = np.sqrt(n / (n - 1.0)) if convention == "sample" else 1.0
    cv = np.sqrt(var) / mu
    value = float(cv * factor)
    if not influence:
        return Estimate(value)
    if var == 0:
        raise ValueError("the linearized variable of the CV is undefined when all incomes are equal")
    # u = CV [ (dev^2 / var - 1) / 2 - dev / mu ] / N
    sq *= 0.5 / var
    sq -= 0.5
    dev /= mu
    sq -= dev
    sq *= cv * factor / big_n
    return Estimate(value, sq)


def variance_of_logs_estimate(y, w=None, influence: bool = True, convention: str = "log_mean") -> Estimate:
    """Variance of logarithms with its linearized variable (module docstring)."""
    if convention not in VARLOG_CONVENTIONS:
        raise ValueError(f"unknown variance-of-logs convention {convention!r}; choose one of {VARLOG_CONVENTIONS}")
    y, w, big_n, _ = incomes_and_weights(y, w, "positive", "the variance of logarithms")
    ly = np.log(y)
    m = float(np.dot(w, ly)) / big_n
    if convention == "log_mean":
        centre = m
    else:
        mu = float(np.dot(w, y)) / big_n
        centre = float(np.log(mu))
    ly -= centre
    dev = ly
    sq = dev * dev
    value = float(np.dot(w, sq)) / big_n
    if not influence:
        return Estimate(value)
    sq -= value
    if convention == "log_of_mean":
        mld = centre - m
        sq += (2.0 * mld / mu) * y
        sq -= 2.0 * mld
    sq /= big_n
    return Estimate(value, sq)


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
