"""Coupling coordination degree (耦合协调度) between subsystem scores U_1..U_n in [0, 1].

``standard`` (the normative form):   C = n (prod U)^(1/n) / sum U  (geometric / arithmetic mean)
                                      n = 2: C = 2 sqrt(U1 U2)/(U1 + U2)
``corrected`` (王淑佳、孔伟等, 自然资源学报 2021, 36(3):793-810), because the standard C crowds
near 1:                               C = sqrt{ [1 - sum_{i>j} |U_i - U_j| / sum_{m=1}^{n-1} m]
                                                 x [prod_i (U_i / max U)]^(1/(n-1)) }
                                      n = 2: C = sqrt{(1 - |U1 - U2|) min/max}
Development level T = sum alpha_i U_i (alpha equal unless given); D = sqrt(C T).

Forms found in the literature that are *wrong* and offered only on request, with a warning (about
half of 379 surveyed papers computed C wrongly; 刘春林 2017):
``missing_factor``  C = (prod U)^(1/n) / sum U  (lost factor n, so C <= 1/n)
``power``           C = {prod U / (mean U)^n}^k with an "adjustment coefficient" k (k = 2..5 common)

Zero handling: C = 0 when any U_i = 0 (the limit). ``floor`` (e.g. 1e-10, as R mathmodels) replaces
U below the floor first. When every U_i = 0, C is undefined (NaN) and D = 0.

Classification: the 10-level scheme most papers use (D in [0, 0.1) 极度失调 ... [0.9, 1] 优质协调);
the cut points and labels are parameters.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

VARIANTS = ("standard", "corrected", "missing_factor", "power")

LEVELS_10 = (
    (0.0, "极度失调", "extreme imbalance"),
    (0.1, "严重失调", "serious imbalance"),
    (0.2, "中度失调", "moderate imbalance"),
    (0.3, "轻度失调", "mild imbalance"),
    (0.4, "濒临失调", "on the verge of imbalance"),
    (0.5, "勉强协调", "barely coordinated"),
    (0.6, "初级协调", "primary coordination"),
    (0.7, "中级协调", "intermediate coordination"),
    (0.8, "良好协调", "good coordination"),
    (0.9, "优质协调", "high-quality coordination"),
)


def coupling_degree(U: np.ndarray, variant: str = "standard", *, k: float = 2.0, floor: float | None = None) -> np.ndarray:
    """C for each row of U (units x n subsystems)."""
    U = np.atleast_2d(np.asarray(U, dtype=float))
    n = U.shape[1]
    if n < 2:
        raise ValueError("coupling needs at least two subsystems")
    if variant not in VARIANTS:
        raise ValueError(f"unknown coupling variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    ok = ~np.isnan(U)
    if np.any(U[ok] < 0) or np.any(U[ok] > 1 + 1e-12):
        raise ValueError("coupling needs subsystem scores in [0, 1]; rescale the scores first")
    if floor is not None:
        U = np.maximum(U, floor)
    if variant in ("missing_factor", "power"):
        warnings.warn(
            f"coupling variant {variant!r} is a known misuse of the coupling model (values are not on the "
            "normative [0, 1] scale); use 'standard' or 'corrected' unless you are reproducing a paper",
            stacklevel=2,
        )
    s = U.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        gm = np.exp(np.log(U).mean(axis=1))
        if variant == "standard":
            C = n * gm / s
        elif variant == "missing_factor":
            C = gm / s
        elif variant == "power":
            C = (np.prod(U, axis=1) / (s / n) ** n) ** k
        else:
            iu, ju = np.triu_indices(n, 1)
            gaps = np.abs(U[:, iu] - U[:, ju]).sum(axis=1) / (n * (n - 1) / 2)
            ratio = np.exp(np.log(U / U.max(axis=1, keepdims=True)).sum(axis=1) / (n - 1))
            C = np.sqrt(np.maximum(1.0 - gaps, 0.0) * ratio)
    C = np.where(s == 0, np.nan, C)
    return C


@dataclass(frozen=True)
class CouplingResult:
    C: np.ndarray
    T: np.ndarray
    D: np.ndarray
    level: np.ndarray
    level_en: np.ndarray
    variant: str
    systems: tuple[str, ...]
    relative: np.ndarray | None = None  # E = U2/U1 (two systems only)

    def to_frame(self, index=None) -> pd.DataFrame:
        df = pd.DataFrame({"C": self.C, "T": self.T, "D": self.D, "level": self.level, "level_en": self.level_en},
                          index=index)
        if self.relative is not None:
            df["E"] = self.relative
        return df


def classify(D: np.ndarray, levels=LEVELS_10) -> tuple[np.ndarray, np.ndarray]:
    cuts = np.array([lv[0] for lv in levels])
    idx = np.clip(np.searchsorted(cuts, np.asarray(D, dtype=float), side="right") - 1, 0, len(levels) - 1)
    zh = np.array([levels[i][1] for i in idx], dtype=object)
    en = np.array([levels[i][2] for i in idx], dtype=object)
    nan = np.isnan(np.asarray(D, dtype=float))
    zh[nan] = None
    en[nan] = None
    return zh, en


def coupling_coordination(
    U, *, variant: str = "standard", alpha=None, k: float = 2.0, floor: float | None = None, levels=LEVELS_10,
    systems: tuple[str, ...] | None = None,
) -> CouplingResult:
    """C, T = sum alpha U, D = sqrt(C T) and the level of D for each row of U."""
    if isinstance(U, pd.DataFrame):
        systems = tuple(map(str, U.columns)) if systems is None else systems
        U = U.to_numpy(dtype=float)
    U = np.atleast_2d(np.asarray(U, dtype=float))
    n = U.shape[1]
    a = np.full(n, 1.0 / n) if alpha is None else np.asarray(alpha, dtype=float)
    if a.shape != (n,) or not np.isclose(a.sum(), 1.0):
        raise ValueError(f"alpha must hold {n} contribution coefficients summing to 1")
    C = coupling_degree(U, variant, k=k, floor=floor)
    T = U @ a
    D = np.sqrt(np.where(np.isnan(C) & (T == 0), 0.0, C) * T)
    zh, en = classify(D, levels)
    E = None
    if n == 2:
        with np.errstate(invalid="ignore", divide="ignore"):
            E = U[:, 1] / U[:, 0]
    return CouplingResult(C, T, D, zh, en, variant, systems or tuple(f"U{i + 1}" for i in range(n)), E)
