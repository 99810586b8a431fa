"""Discrete Markov chains of regional income classes: classic and spatial (Quah 1993; Rey 2001).

Classes. Values (by default relative to each period's cross-region mean) are cut into ``k`` classes
by quantiles, either per period (``pooled=False``) or of all region-periods together (``pooled=True``),
or by user cut-offs. Convention (that of PySAL ``mapclassify``): quantile cut-offs are
``numpy.quantile`` with linear interpolation at 1/k, 2/k, ...; a value belongs to class j when
c_{j-1} < y <= c_j (so the cut-off itself is in the lower class).

Estimation (maximum likelihood, pooled over all t -> t+1 transitions): p_ij = n_ij / n_i. A class
never left from (n_i = 0) has an all-zero row (as in giddy) and is reported in ``empty_classes``.

Ergodic (steady-state) distribution: pi = pi P, sum pi = 1, for an irreducible chain.
Mean first passage times (Kemeny & Snell 1976): Z = (I - P + 1 pi)^-1,
M_ij = (z_jj - z_ij) / pi_j for i != j, M_jj = 1 / pi_j (mean recurrence time).
Sojourn time in class i: 1 / (1 - p_ii). Prais (1955) conditional mobility of class i: 1 - p_ii
(giddy ``prais``). A chain that is not irreducible has no unique steady state: :func:`chain_structure`
names its communicating, closed (recurrent) and transient classes and the classes never left from.

Mobility indices (Shorrocks 1978; Sommers & Conlisk 1979; Bartholomew 1973; Formby et al. 2004;
the definitions of giddy ``markov_mobility``):
  shorrocks     M_P = (k - tr P) / (k - 1)
  determinant   M_D = 1 - |det P|
  eigenvalue    M_L2 = 1 - |lambda_2| (second largest eigenvalue modulus)
  bartholomew1  B1 = (k - k sum_i pi0_i p_ii) / (k - 1)
  bartholomew2  B2 = sum_i sum_j pi0_i p_ij |i - j| / (k - 1)
with pi0 the initial distribution (uniform by default, as giddy; ``initial=`` to change).

Spatial Markov: the transition of a region is conditioned on the class of its spatial lag
sum_j w_ij y_j (row-standardised W) at the start of the period, giving m conditional matrices.
Spatial homogeneity is tested with Bickenbach & Bode (2003)'s LR and Q statistics,
LR = 2 sum_l sum_ij n_ij(l) ln(p_ij(l) / p_ij),  Q = sum_l sum_ij n_i(l) (p_ij(l) - p_ij)^2 / p_ij,
degrees of freedom sum_i (b_i - 1)(a_i - 1), b_i = lag classes with transitions out of class i,
a_i = non-zero cells in row i of the pooled matrix. Steady-state homogeneity (giddy ``shtest``): per lag
class l, chi2_l = sum_j (n_l S_lj - n_l s_j)^2 / (n_l s_j), n_l = transitions in lag class l, S_l its
steady state, s the pooled one, k - 1 degrees of freedom.

LISA Markov (Rey 2001; giddy ``LISA_Markov``): each region-period is in a Moran scatterplot quadrant
(1 HH, 2 LH, 3 LL, 4 HL; local Moran of each period, row-standardised W) and the chain of quadrants
is estimated as above. Independence of the own and the lag moves is tested against the expected
counts E = diag(n_i) A (P_own (x) P_lag) A', P_own (P_lag) the 2-class chains of y / mean < 1
((Wy) / mean < 1), A reordering (own, lag) to HH, LH, LL, HL; Pearson chi2 as giddy ``chi2``.
``independence="regional"`` (default) takes the mean of each period over regions and the 2-class
transitions of each region over time, as the test is stated. giddy 2.3.8 computes it on the
transposed panel: each region's mean over time, and the 2-class "transitions" between consecutive
regions within a period (its ``Markov`` gets a periods x regions array); ``independence="giddy"``
reproduces that number exactly (e.g. its documented chi2 1058.208 on usjoin).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.sparse.csgraph import connected_components

from .panel import RegionPanel, as_panel
from .weights import SpatialWeights


# ------------------------------------------------------------------ classification
def quantile_cutoffs(values, k: int) -> np.ndarray:
    """The k - 1 inner cut-offs at probabilities 1/k, ..., (k-1)/k (numpy linear interpolation)."""
    if k < 2:
        raise ValueError(f"need at least 2 classes, got k={k}")
    return np.quantile(np.asarray(values, dtype=float).ravel(), np.arange(1, k) / k)


def classify(values, cutoffs) -> np.ndarray:
    """Class ids 0..len(cutoffs): class j when cutoffs[j-1] < y <= cutoffs[j]."""
    cutoffs = np.asarray(cutoffs, dtype=float)
    if np.any(np.diff(cutoffs) < 0):
        raise ValueError(f"cut-offs must be increasing, got {cutoffs.tolist()}")
    return np.searchsorted(cutoffs, np.asarray(values, dtype=float), side="left")


def class_ids(values: np.ndarray, k: int = 5, *, cutoffs=None, pooled: bool = False):
    """Classify a regions x periods array. Returns (ids, cutoffs) where cutoffs is None when the
    quantiles are taken per period (they differ by period)."""
    values = np.asarray(values, dtype=float)
    if cutoffs is not None:
        cut = np.asarray(cutoffs, dtype=float)
        return classify(values, cut), cut
    if pooled:
        cut = quantile_cutoffs(values, k)
        return classify(values, cut), cut
    ids = np.column_stack([classify(values[:, t], quantile_cutoffs(values[:, t], k)) for t in range(values.shape[1])])
    return ids, None


def transition_counts(ids: np.ndarray, k: int) -> np.ndarray:
    """k x k counts n_ij of transitions from class i at t to class j at t+1, pooled over t."""
    ids = np.asarray(ids)
    a, b = ids[:, :-1].ravel(), ids[:, 1:].ravel()
    return np.bincount(a * k + b, minlength=k * k).reshape(k, k).astype(float)


def transition_probabilities(counts: np.ndarray) -> np.ndarray:
    """Row-normalised counts; rows without transitions stay 0."""
    counts = np.asarray(counts, dtype=float)
    rs = counts.sum(axis=-1, keepdims=True)
    return np.divide(counts, rs, out=np.zeros_like(counts), where=rs > 0)


# ------------------------------------------------------------------ chain properties
def is_irreducible(p: np.ndarray) -> bool:
    n, _ = connected_components(np.asarray(p) > 0, directed=True, connection="strong")
    return n == 1


def ergodic_distribution(p: np.ndarray) -> np.ndarray:
    """Steady state pi = pi P of an irreducible chain; all-NaN when the chain is not irreducible
    (several closed classes or never-visited classes give no unique limit)."""
    p = np.asarray(p, dtype=float)
    k = p.shape[0]
    if not is_irreducible(p):
        return np.full(k, np.nan)
    a = np.vstack([(p - np.eye(k)).T, np.ones(k)])
    b = np.zeros(k + 1)
    b[-1] = 1.0
    pi, *_ = np.linalg.lstsq(a, b, rcond=None)
    return pi


def mean_first_passage_times(p: np.ndarray, pi: np.ndarray | None = None) -> np.ndarray:
    """Kemeny-Snell mean first passage times (diagonal = mean recurrence 1 / pi_j)."""
    p = np.asarray(p, dtype=float)
    k = p.shape[0]
    pi = ergodic_distribution(p) if pi is None else pi
    if np.isnan(pi).any():
        return np.full((k, k), np.nan)
    z = np.linalg.inv(np.eye(k) - p + np.outer(np.ones(k), pi))
    m = (np.diag(z)[None, :] - z) / pi[None, :]
    m[np.diag_indices(k)] = 1.0 / pi
    return m


def sojourn_times(p: np.ndarray) -> np.ndarray:
    """Expected stay in each class, 1 / (1 - p_ii) (inf for absorbing classes)."""
    d = np.diag(np.asarray(p, dtype=float))
    with np.errstate(divide="ignore"):
        return 1.0 / (1.0 - d)


def prais(p: np.ndarray) -> np.ndarray:
    """Prais conditional mobility 1 - p_ii per class (giddy ``prais``; 1 for a class never left from)."""
    return 1.0 - np.diag(np.asarray(p, dtype=float))


@dataclass(frozen=True)
class ChainStructure:
    """Communicating classes of a transition matrix: which states lead to which (Kemeny & Snell 1976)."""

    labels: tuple
    communicating: tuple  # tuples of labels
    closed: tuple  # the recurrent communicating classes (no way out)
    transient: tuple  # labels of transient states
    empty: tuple  # labels of classes never left from (all-zero rows)

    @property
    def irreducible(self) -> bool:
        return len(self.communicating) == 1 and not self.empty

    @property
    def explanation(self) -> str:
        """One sentence saying why there is (or is not) a unique steady state."""
        if self.irreducible:
            return "the chain is irreducible: one steady state"
        def cls(c):
            return "{" + ", ".join(map(str, c)) + "}"
        parts = [f"the chain is not irreducible (not ergodic), so it has no unique steady state: "
                 f"{len(self.communicating)} communicating classes {', '.join(cls(c) for c in self.communicating)}"]
        if self.empty:
            parts.append(f"no transition starts in class(es) {', '.join(map(str, self.empty))} (all-zero row: no region "
                         "is in it at the start of a period)")
        if self.closed:
            parts.append(f"closed (recurrent) classes {', '.join(cls(c) for c in self.closed)}")
        if self.transient:
            parts.append(f"transient {', '.join(map(str, self.transient))}")
        return "; ".join(parts) + ". Fix: fewer classes (-k), pooled quantile classes (--pooled), other cut-offs, or a longer panel"

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for k, c in enumerate(self.communicating):
            kind = "empty" if set(c) <= set(self.empty) else ("closed" if c in self.closed else "transient")
            rows += [{"state": lab, "communicating_class": k + 1, "kind": kind} for lab in c]
        return pd.DataFrame(rows)


def chain_structure(p: np.ndarray, labels=None) -> ChainStructure:
    """Communicating classes (strongly connected components of i -> j when p_ij > 0), closed ones
    (no transition out of the class), transient states and never-left classes."""
    p = np.asarray(p, dtype=float)
    k = p.shape[0]
    labels = tuple(range(k)) if labels is None else tuple(labels)
    n, comp = connected_components(p > 0, directed=True, connection="strong")
    groups = [tuple(np.flatnonzero(comp == c)) for c in range(n)]
    groups.sort(key=lambda g: g[0])
    empty = tuple(labels[i] for i in np.flatnonzero(p.sum(axis=1) == 0))
    closed, transient = [], []
    for g in groups:
        inside = np.zeros(k, bool)
        inside[list(g)] = True
        leaves = bool(np.any(p[np.ix_(list(g), np.flatnonzero(~inside))] > 0))
        if labels[g[0]] in empty:
            continue
        if leaves:
            transient += [labels[i] for i in g]
        else:
            closed.append(tuple(labels[i] for i in g))
    return ChainStructure(labels, tuple(tuple(labels[i] for i in g) for g in groups), tuple(closed), tuple(transient), empty)


MOBILITY_INDICES = ("shorrocks", "determinant", "eigenvalue", "bartholomew1", "bartholomew2")


def mobility_indices(p: np.ndarray, initial=None) -> dict:
    """Shorrocks, determinant, eigenvalue (Sommers-Conlisk) and Bartholomew mobility indices of P."""
    p = np.asarray(p, dtype=float)
    k = p.shape[0]
    pi0 = np.full(k, 1.0 / k) if initial is None else np.asarray(initial, dtype=float)
    if pi0.shape != (k,) or not np.isclose(pi0.sum(), 1.0):
        raise ValueError(f"initial distribution must have {k} shares summing to 1, got {pi0}")
    eig = np.sort(np.abs(np.linalg.eigvals(p)))
    dist = np.abs(np.subtract.outer(np.arange(k), np.arange(k)))
    return {
        "shorrocks": (k - np.trace(p)) / (k - 1),
        "determinant": 1.0 - abs(np.linalg.det(p)),
        "eigenvalue": 1.0 - eig[-2],
        "bartholomew1": (k - k * np.sum(pi0 * np.diag(p))) / (k - 1),
        "bartholomew2": float(np.sum(pi0[:, None] * p * dist)) / (k - 1),
    }


# ------------------------------------------------------------------ results
def _labels(k: int, cutoffs) -> list[str]:
    if cutoffs is None:
        return [f"Q{j + 1}" for j in range(k)]
    c = [f"{x:.4g}" for x in cutoffs]
    return [f"<={c[0]}"] + [f"({c[j - 1]},{c[j]}]" for j in range(1, k - 1)] + [f">{c[-1]}"]


def _matrix_text(mat: np.ndarray, labels, fmt: str) -> str:
    width = max(8, max(len(x) for x in labels) + 1)
    head = " " * width + "".join(f"{x:>{width}}" for x in labels)
    rows = [f"{lab:<{width}}" + "".join(f"{v:>{width}{fmt}}" for v in row) for lab, row in zip(labels, mat)]
    return "\n".join([head] + rows)


@dataclass(frozen=True)
class MarkovResult:
    """Classic Markov chain of income classes."""

    counts: np.ndarray
    p: np.ndarray
    labels: list
    cutoffs: np.ndarray | None
    ids: np.ndarray = field(repr=False)
    regions: tuple = field(repr=False, default=())
    times: np.ndarray = field(repr=False, default=None)

    @property
    def k(self) -> int:
        return self.p.shape[0]

    @property
    def ergodic(self) -> np.ndarray:
        return ergodic_distribution(self.p)

    @property
    def mean_first_passage(self) -> np.ndarray:
        return mean_first_passage_times(self.p)

    @property
    def sojourn(self) -> np.ndarray:
        return sojourn_times(self.p)

    @property
    def empty_classes(self) -> list:
        return [self.labels[i] for i in np.flatnonzero(self.counts.sum(axis=1) == 0)]

    def mobility(self, initial=None) -> dict:
        return mobility_indices(self.p, initial)

    @property
    def prais(self) -> np.ndarray:
        return prais(self.p)

    @property
    def structure(self) -> ChainStructure:
        """Communicating / closed / transient classes; ``.explanation`` when there is no steady state."""
        return chain_structure(self.p, self.labels)

    @property
    def initial_distribution(self) -> np.ndarray:
        """Shares of regions in each class in the first period."""
        return np.bincount(self.ids[:, 0], minlength=self.k) / self.ids.shape[0]

    def to_frame(self) -> pd.DataFrame:
        """Tidy: from_class, to_class, count, probability (+ ergodic share of from_class)."""
        k = self.k
        erg = self.ergodic
        return pd.DataFrame(
            {
                "from_class": np.repeat(self.labels, k),
                "to_class": np.tile(self.labels, k),
                "count": self.counts.ravel().astype(int),
                "probability": self.p.ravel(),
                "ergodic_from": np.repeat(erg, k),
            }
        )

    def summary_frame(self) -> pd.DataFrame:
        """One row per class: transitions out, ergodic share, sojourn time, initial share."""
        return pd.DataFrame(
            {
                "class": self.labels,
                "transitions": self.counts.sum(axis=1).astype(int),
                "initial_share": self.initial_distribution,
                "ergodic_share": self.ergodic,
                "sojourn_time": self.sojourn,
                "prais": self.prais,
            }
        )

    def __repr__(self) -> str:
        mob = ", ".join(f"{k}={v:.4f}" for k, v in self.mobility().items())
        st = self.structure
        erg = " ".join(f"{x:.4f}" for x in self.ergodic) if st.irreducible else f"none ({st.explanation})"
        return (
            f"MarkovResult(k={self.k}, transitions={int(self.counts.sum())})\n"
            f"{_matrix_text(self.p, self.labels, '.4f')}\n"
            f"ergodic: {erg}\nmobility: {mob}\nprais (1 - p_ii): {' '.join(f'{x:.4f}' for x in self.prais)}"
        )


def _prepare(data, relative: bool, weighted_mean: bool, **keys) -> RegionPanel:
    panel = as_panel(data, **keys)
    return panel.relative(weighted=weighted_mean) if relative else panel


def markov(
    data,
    k: int = 5,
    *,
    cutoffs=None,
    pooled: bool = False,
    relative: bool = True,
    weighted_mean: bool = False,
    region=None,
    time=None,
    value=None,
    weight=None,
) -> MarkovResult:
    """Markov transition matrix of income classes over a region panel.

    ``data``: a :class:`RegionPanel`, a long frame (name ``region``/``time``/``value``) or a
    regions x periods array. ``relative``: divide by each period's mean first (population-weighted
    when ``weighted_mean``). Classes: ``k`` quantiles per period (``pooled=False``, Quah's relative
    classes), of all observations (``pooled=True``), or user ``cutoffs`` (k = len(cutoffs) + 1).
    """
    panel = _prepare(data, relative, weighted_mean, region=region, time=time, value=value, weight=weight)
    if panel.n_times < 2:
        raise ValueError("a Markov chain needs at least two periods")
    ids, cut = class_ids(panel.values, k, cutoffs=cutoffs, pooled=pooled)
    k = len(cut) + 1 if cut is not None else k
    counts = transition_counts(ids, k)
    return MarkovResult(counts, transition_probabilities(counts), _labels(k, cut), cut, ids, panel.regions, panel.times)


def markov_from_classes(ids, k: int | None = None) -> MarkovResult:
    """Markov chain from given integer class ids (regions x periods), like giddy ``Markov(class_ids)``."""
    ids = np.asarray(ids, dtype=int)
    k = int(ids.max()) + 1 if k is None else k
    counts = transition_counts(ids, k)
    return MarkovResult(counts, transition_probabilities(counts), _labels(k, None), None, ids)


# ------------------------------------------------------------------ homogeneity
@dataclass(frozen=True)
class HomogeneityTest:
    """Bickenbach-Bode (2003) test that several transition matrices (regimes) share one P."""

    lr: float
    q: float
    dof: int

    @property
    def lr_pvalue(self) -> float:
        return float(stats.chi2.sf(self.lr, self.dof)) if self.dof > 0 else float("nan")

    @property
    def q_pvalue(self) -> float:
        return float(stats.chi2.sf(self.q, self.dof)) if self.dof > 0 else float("nan")

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"statistic": ["LR", "Q"], "value": [self.lr, self.q], "dof": self.dof, "p_value": [self.lr_pvalue, self.q_pvalue]}
        )

    def __repr__(self) -> str:
        return f"HomogeneityTest(LR={self.lr:.4f} (p={self.lr_pvalue:.4g}), Q={self.q:.4f} (p={self.q_pvalue:.4g}), dof={self.dof})"


def homogeneity_test(counts_by_regime) -> HomogeneityTest:
    """LR and Q statistics for regimes' transition counts (m x k x k) against the pooled matrix."""
    n = np.asarray(counts_by_regime, dtype=float)
    pooled = n.sum(axis=0)
    p0 = transition_probabilities(pooled)
    pl = transition_probabilities(n)
    n_il = n.sum(axis=2, keepdims=True)
    safe_p0 = np.where(p0 > 0, p0, 1.0)
    q = float(np.sum(n_il * (pl - p0) ** 2 / safe_p0 * (p0 > 0)))
    mask = (n > 0) & (p0 > 0)
    lr = 2.0 * float(np.sum(np.where(mask, n * np.log(np.where(mask, pl, 1.0) / safe_p0), 0.0)))
    b = (n.sum(axis=2) > 0).sum(axis=0)  # regimes with transitions out of class i
    a = (pooled > 0).sum(axis=1)  # non-zero cells in pooled row i
    dof = int(np.sum((b - 1) * (a - 1)))
    return HomogeneityTest(lr, q, dof)


def chi2_against(counts: np.ndarray, reference_counts: np.ndarray) -> tuple[float, float, int]:
    """Pearson chi2 of one regime's counts against the probabilities of ``reference_counts``
    (expected = n_i p_ij); dof = (rows with data in counts - 1) x (rows with data in reference - 1),
    the convention of giddy ``chi2``."""
    counts = np.asarray(counts, dtype=float)
    ref = np.asarray(reference_counts, dtype=float)
    e = counts.sum(axis=1)[:, None] * transition_probabilities(ref)
    x2 = float(np.sum((counts - e) ** 2 / np.where(e == 0, 1.0, e)))
    dof = int(((counts.sum(axis=1) > 0).sum() - 1) * ((ref.sum(axis=1) > 0).sum() - 1))
    return x2, float(stats.chi2.sf(x2, dof)), dof


def steady_state_test(pooled, conditional, n_transitions) -> tuple[float, float, int]:
    """Multinomial chi2 of ``conditional`` steady state against ``pooled`` with n transitions:
    sum_j (n S_j - n s_j)^2 / (n s_j), k - 1 degrees of freedom (giddy ``Spatial_Markov.shtest``)."""
    s = np.asarray(pooled, dtype=float)
    c = np.asarray(conditional, dtype=float)
    o, e = n_transitions * c, n_transitions * s
    x2 = float(np.sum((o - e) ** 2 / e))
    dof = s.size - 1
    return x2, float(stats.chi2.sf(x2, dof)), dof


# ------------------------------------------------------------------ spatial Markov
@dataclass(frozen=True)
class SpatialMarkovResult:
    """Spatial Markov chain: m transition matrices conditioned on the class of the spatial lag."""

    counts: np.ndarray  # m x k x k
    p: np.ndarray  # m x k x k
    overall: MarkovResult
    labels: list
    lag_labels: list
    cutoffs: np.ndarray | None
    lag_cutoffs: np.ndarray | None
    lag_ids: np.ndarray = field(repr=False)

    @property
    def k(self) -> int:
        return self.p.shape[1]

    @property
    def m(self) -> int:
        return self.p.shape[0]

    @property
    def ergodic(self) -> np.ndarray:
        """m x k steady states, one per lag class (NaN rows for non-irreducible chains)."""
        return np.array([ergodic_distribution(p) for p in self.p])

    @property
    def mean_first_passage(self) -> np.ndarray:
        return np.array([mean_first_passage_times(p) for p in self.p])

    @property
    def homogeneity(self) -> HomogeneityTest:
        return homogeneity_test(self.counts)

    @property
    def shtest(self) -> list:
        """Per lag class: (chi2, p, dof) of its steady state against the pooled one (giddy ``shtest``)."""
        return [steady_state_test(self.overall.ergodic, s, n) for s, n in zip(self.ergodic, self.counts.sum(axis=(1, 2)))]

    @property
    def chi2(self) -> list:
        """Per lag class: chi2 of its counts against the overall transition matrix (giddy ``chi2``)."""
        return [chi2_against(c, self.overall.counts) for c in self.counts]

    def to_frame(self) -> pd.DataFrame:
        m, k = self.m, self.k
        return pd.DataFrame(
            {
                "lag_class": np.repeat(self.lag_labels, k * k),
                "from_class": np.tile(np.repeat(self.labels, k), m),
                "to_class": np.tile(self.labels, m * k),
                "count": self.counts.ravel().astype(int),
                "probability": self.p.ravel(),
            }
        )

    def __repr__(self) -> str:
        parts = [f"SpatialMarkovResult(k={self.k}, m={self.m}, transitions={int(self.counts.sum())})"]
        for lab, p in zip(self.lag_labels, self.p):
            parts.append(f"lag class {lab}:\n{_matrix_text(p, self.labels, '.4f')}")
        parts.append(repr(self.homogeneity))
        return "\n".join(parts)


def _row_standardized(weights, panel) -> np.ndarray:
    """The panel's spatial weights as a row-standardised matrix in its region order (rows of zeros for
    islands): from :class:`SpatialWeights`, or from an n x n array (checked)."""
    if isinstance(weights, SpatialWeights):
        return weights.matrix(panel.regions, row_standardize=True)
    w = np.asarray(weights, dtype=float)
    if w.shape != (panel.n_regions, panel.n_regions):
        raise ValueError(f"weights must be {panel.n_regions} x {panel.n_regions}, got {w.shape}")
    rs = w.sum(axis=1, keepdims=True)
    return np.divide(w, rs, out=np.zeros_like(w), where=rs > 0)


def spatial_markov(
    data,
    weights,
    k: int = 5,
    m: int | None = None,
    *,
    pooled: bool = True,
    cutoffs=None,
    lag_cutoffs=None,
    relative: bool = True,
    weighted_mean: bool = False,
    region=None,
    time=None,
    value=None,
    weight=None,
) -> SpatialMarkovResult:
    """Spatial Markov chain (Rey 2001). ``weights``: a :class:`SpatialWeights` (aligned to the panel by
    region id) or an n x n array already in the panel's region order (row-standardised here).

    Classes of the value and of its spatial lag are pooled quantiles by default (``pooled=True``,
    giddy's ``fixed=True``); ``m`` lag classes (default ``k``).
    """
    panel = _prepare(data, relative, weighted_mean, region=region, time=time, value=value, weight=weight)
    m = k if m is None else m
    w = _row_standardized(weights, panel)
    ids, cut = class_ids(panel.values, k, cutoffs=cutoffs, pooled=pooled)
    k = len(cut) + 1 if cut is not None else k
    lag = w @ panel.values
    lag_ids, lag_cut = class_ids(lag, m, cutoffs=lag_cutoffs, pooled=pooled)
    m = len(lag_cut) + 1 if lag_cut is not None else m
    a, b, l_ = ids[:, :-1].ravel(), ids[:, 1:].ravel(), lag_ids[:, :-1].ravel()
    counts = np.bincount((l_ * k + a) * k + b, minlength=m * k * k).reshape(m, k, k).astype(float)
    overall_counts = transition_counts(ids, k)
    overall = MarkovResult(overall_counts, transition_probabilities(overall_counts), _labels(k, cut), cut, ids, panel.regions, panel.times)
    lag_labels = [f"L{j + 1}" for j in range(m)] if lag_cut is None else _labels(m, lag_cut)
    return SpatialMarkovResult(counts, transition_probabilities(counts), overall, _labels(k, cut), lag_labels, cut, lag_cut, lag_ids)


# ------------------------------------------------------------------ LISA Markov
LISA_LABELS = ["HH", "LH", "LL", "HL"]
_SIG_BLOCK = {(True, True): 0, (True, False): 1, (False, True): 2, (False, False): 3}


@dataclass(frozen=True)
class LisaMarkovResult:
    """Markov chain of Moran-scatterplot quadrants (giddy ``LISA_Markov``)."""

    chain: MarkovResult  # 4 x 4, classes HH, LH, LL, HL
    q: np.ndarray = field(repr=False)  # regions x periods, 1 HH, 2 LH, 3 LL, 4 HL
    move_types: np.ndarray = field(repr=False)  # regions x (periods - 1), 1..16 = 4 (q_t - 1) + q_t+1
    expected: np.ndarray = field(repr=False)  # 4 x 4 expected counts under independent own / lag moves
    chi2: tuple  # (statistic, p, dof)
    p_values: np.ndarray | None = field(repr=False, default=None)  # regions x periods, LISA p_z_sim
    significant_moves: np.ndarray | None = field(repr=False, default=None)  # 1..64 (giddy's coding)
    significance_level: float = 0.05
    permutations: int = 0
    seeds: tuple = ()

    @property
    def counts(self) -> np.ndarray:
        return self.chain.counts

    @property
    def p(self) -> np.ndarray:
        return self.chain.p

    @property
    def steady_state(self) -> np.ndarray:
        return self.chain.ergodic

    def to_frame(self) -> pd.DataFrame:
        """Tidy transitions: from_quadrant, to_quadrant, count, expected (independence), probability."""
        f = self.chain.to_frame().rename(columns={"from_class": "from_quadrant", "to_class": "to_quadrant",
                                                  "ergodic_from": "steady_state_from"})
        f.insert(3, "expected", self.expected.ravel())
        return f

    def quadrants_frame(self) -> pd.DataFrame:
        """One row per region and period: quadrant (and the LISA p-value with permutations)."""
        regions, times = self.chain.regions, self.chain.times
        n, t = self.q.shape
        f = pd.DataFrame({
            "region": np.repeat(list(regions) if regions else np.arange(n), t),
            "time": np.tile(list(times) if times is not None else np.arange(t), n),
            "quadrant": [LISA_LABELS[k - 1] for k in self.q.ravel()],
        })
        if self.p_values is not None:
            f["p_value"] = self.p_values.ravel()
            f["significant"] = self.p_values.ravel() <= self.significance_level
        return f

    def __repr__(self) -> str:
        x2, p, dof = self.chi2
        st = self.chain.structure
        erg = " ".join(f"{x:.4f}" for x in self.steady_state) if st.irreducible else f"none ({st.explanation})"
        return (f"LisaMarkovResult(transitions={int(self.counts.sum())})\n{_matrix_text(self.p, LISA_LABELS, '.4f')}\n"
                f"steady state: {erg}\nindependence of own and lag moves: chi2={x2:.3f}, p={p:.4g}, dof={dof}")


def lisa_markov(
    data,
    weights,
    *,
    permutations: int = 0,
    significance_level: float = 0.05,
    seed: int | None = None,
    independence: str = "regional",
    region=None,
    time=None,
    value=None,
) -> LisaMarkovResult:
    """LISA Markov (giddy ``LISA_Markov(y, w, permutations, significance_level)``) on a region panel.

    ``weights``: :class:`SpatialWeights` (aligned by region id) or an n x n array in the panel's
    order; row-standardised. With ``permutations``, each period's local Moran gets the seed
    ``RandomState(seed).randint(12345, 12345000)`` drawn in period order, which are the seeds giddy's
    calls draw after ``numpy.random.seed(seed)``; LISA p-values are esda's ``p_z_sim`` (as giddy).
    ``independence``: ``"regional"`` or ``"giddy"`` (the module notes say how they differ)."""
    from prosperity.spatial.autocorrelation import moran_local

    if independence not in ("regional", "giddy"):
        raise ValueError(f"independence must be 'regional' or 'giddy', got {independence!r}")
    panel = as_panel(data, region=region, time=time, value=value)
    if panel.n_times < 2:
        raise ValueError("a LISA Markov chain needs at least two periods")
    w = _row_standardized(weights, panel)
    y = panel.values
    n, t = y.shape
    seeds: tuple = ()
    if permutations:
        gen = np.random.RandomState(12345 if seed is None else int(seed))
        seeds = tuple(int(gen.randint(12345, 12345000)) for _ in range(t))
    lisas = [moran_local(y[:, j], w, transformation="o", permutations=permutations, seed=seeds[j] if permutations else 0)
             for j in range(t)]
    q = np.column_stack([lm.q for lm in lisas]).astype(int)
    counts = transition_counts(q - 1, 4)
    chain = MarkovResult(counts, transition_probabilities(counts), list(LISA_LABELS), None, q - 1, panel.regions, panel.times)
    move_types = 4 * (q[:, :-1] - 1) + q[:, 1:]
    p_values = sig_moves = None
    if permutations:
        p_values = np.column_stack([lm.p_z_sim for lm in lisas])
        sig = np.nan_to_num(p_values, nan=1.0) <= significance_level
        block = np.vectorize(lambda a, b: _SIG_BLOCK[(bool(a), bool(b))])(sig[:, :-1], sig[:, 1:])
        sig_moves = 16 * block + move_types
    if independence == "regional":
        ybar = y.mean(axis=0)  # per period
        low, low_lag = y / ybar < 1.0, (w @ y) / ybar < 1.0
    else:
        ybar = y.mean(axis=1)  # per region, over time; chains along the region axis (giddy 2.3.8)
        low, low_lag = (y.T / ybar) < 1.0, ((w @ y).T / ybar) < 1.0
    p_own = transition_probabilities(transition_counts(low.astype(int), 2))
    p_lag = transition_probabilities(transition_counts(low_lag.astype(int), 2))
    a = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 1, 0, 0]])
    kp = a @ np.kron(p_own, p_lag) @ a.T
    expected = np.diag(counts.sum(axis=1)) @ kp
    chi = chi2_against(counts, expected)
    return LisaMarkovResult(chain, q, move_types, expected, chi, p_values, sig_moves, significance_level, permutations, seeds)
