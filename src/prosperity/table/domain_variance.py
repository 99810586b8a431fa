"""Domain variance: the design variance of a group's total sum_{k in group} w_k u_k from PSU totals.

For a group as a **domain** (units outside it contribute 0; strata and PSUs are the full sample's),
with the with-replacement (ultimate cluster) estimator of :class:`prosperity.variance.Design`::

    V = sum_h (1 - f_h) n_h / (n_h - 1) [ sum_i t_hi^2 - (sum_i t_hi)^2 / n_h ],  t_hi = sum_{k in PSU hi} w_k u_k.

Only the PSUs a group touches enter the sums, so a small group costs O(its size), not O(n). A
whole-sample term (a relative line's own error, Osier 2009) is added to the PSU totals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.errors import DesignError, format_value, fpc_not_constant, offending_rows, single_psu_strata
from ..io.sample import Sample
from ..variance.design import Design, dense_codes, psu_totals, stratum_psu_codes

__all__ = ["_DomainVariance"]

class _DomainVariance:
    """Variance of a domain total sum_{k in group} w_k u_k (+ a whole-sample line term) from PSU totals.

    The design is :meth:`Design.build` applied to the PSUs (one row per PSU: its stratum and fpc),
    so the stratum sizes n_h, sampling fractions and the lonely-PSU rule are Design's. The sums run
    over the PSUs a group touches only (sparse), which equals ``Design.variance`` with the group's
    units (tests check the identity).
    """

    def __init__(self, sample: Sample, lonely_psu: str):
        n = sample.n
        # per-unit stratum codes only when needed (no PSUs, or an fpc to check): with PSUs, the
        # strata are coded once per PSU (cheap) and the (stratum, PSU) pair straight from the labels
        need_unit_strata = sample.strata is not None and (sample.psu is None or sample.fpc is not None)
        s_codes, s_levels = None, np.array(["(all)"], dtype=object)
        if need_unit_strata:
            s_codes, s_levels = _dense_codes(sample.strata, sort=True)
        if sample.psu is not None:
            unit_psu = _psu_codes(sample.strata, sample.psu)
            n_psu = int(unit_psu.max()) + 1 if n else 0
            rep = np.empty(n_psu, dtype=np.int64)
            rep[unit_psu[::-1]] = np.arange(n - 1, -1, -1)  # first unit of every PSU
            if sample.strata is not None:
                psu_strata, s_levels = _dense_codes(np.asarray(sample.strata)[rep], sort=True)
            else:
                psu_strata = None
        else:
            unit_psu, n_psu, rep = None, n, None
            psu_strata = s_codes
        s_levels = np.asarray(s_levels, dtype=object)
        self.n = n
        self.n_psu = n_psu
        self.unit_psu = unit_psu  # None: every unit is its own PSU (code = position)
        psu_fpc = None
        if sample.fpc is not None:
            fpc = np.asarray(sample.fpc, dtype=np.float64)
            if s_codes is None:
                first = np.full(1, fpc[0] if n else np.nan)
                s_index = np.zeros(n, dtype=np.int64)
            else:
                first = np.full(len(s_levels), np.nan)
                first[s_codes[::-1]] = fpc[::-1]
                s_index = s_codes
            bad = first[s_index] != fpc
            if bad.any():
                raise fpc_not_constant(sample.fpc_name, *offending_rows(bad, fpc, sample.row_number))
            psu_fpc = fpc if rep is None else fpc[rep]
        del s_codes
        self.stratum_names = s_levels
        try:
            self.design = Design.build(n_psu, strata=psu_strata, psu=None, fpc=psu_fpc, lonely_psu=lonely_psu)
        except ValueError as exc:
            raise DesignError(f"invalid survey design: {exc}", column=sample.fpc_name,
                              hint="check the fpc column: population PSUs per stratum (>= sampled PSUs) or fractions <= 1") from None
        d = self.design
        self.psu_stratum = d.psu_stratum
        self.n_h = d.n_h.astype(np.float64)
        self.n_strata = d.n_h.size
        single = d.n_h == 1
        if single.any() and lonely_psu == "fail":
            labels = [format_value(self.stratum_names[int(x)] if sample.strata is not None else x)
                      for x in np.asarray(d.stratum_labels)[single][:5]]
            raise single_psu_strata(labels, int(single.sum()), sample.strata_name,
                                    "PSU" if sample.psu is not None else "unit")
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = np.where(single, 1.0 if lonely_psu == "adjust" else 0.0, d.n_h / np.maximum(d.n_h - 1, 1))
        self.c_h = (1.0 - d.fpc_h) * factor
        # centring: lonely PSUs under "adjust" are centred at 0 (Design's convention)
        self.centre = np.where(single, 0.0, 1.0 / np.maximum(self.n_h, 1))

    def unit_codes(self, order: np.ndarray) -> np.ndarray:
        """PSU code of each unit at sorted positions ``order`` (positions into the full sample).
        Called once: the per-unit codes are released afterwards (memory)."""
        codes = order if self.unit_psu is None else self.unit_psu[order]
        self.unit_psu = None
        return codes

    def prepare(self, codes: np.ndarray, whole: bool):
        """Per-group PSU coding, shared by every measure of the group."""
        if whole or self.n_psu <= 2 * codes.size:
            return ("dense", codes, None, None)
        local, uniq = pd.factorize(codes)
        return ("sparse", local.astype(np.int64, copy=False), uniq, self.psu_stratum[uniq])

    def line_totals(self, codes_all: np.ndarray, wu_all: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dense PSU totals of a whole-sample term, with its per-stratum sums and sums of squares."""
        t = np.bincount(codes_all, weights=wu_all, minlength=self.n_psu)
        return (t, np.bincount(self.psu_stratum, weights=t, minlength=self.n_strata),
                np.bincount(self.psu_stratum, weights=t * t, minlength=self.n_strata))

    def variance(self, prep, wu: np.ndarray, extra: tuple[float, tuple] | None = None, w: np.ndarray | None = None) -> float:
        """Variance of the domain total of ``wu`` (or of ``w * wu`` when ``w`` is given)."""
        kind, codes, uniq, h_loc = prep
        H = self.n_strata
        if w is not None:
            t = psu_totals(codes, wu, w, self.n_psu if kind == "dense" else uniq.size)
        if kind == "dense":
            if w is None:
                t = np.bincount(codes, weights=wu, minlength=self.n_psu)
            if extra is not None:
                t = t + extra[0] * extra[1][0]
            s1 = np.bincount(self.psu_stratum, weights=t, minlength=H)
            s2 = np.bincount(self.psu_stratum, weights=t * t, minlength=H)
        else:
            if w is None:
                t = np.bincount(codes, weights=wu, minlength=uniq.size)
            s1 = np.bincount(h_loc, weights=t, minlength=H)
            s2 = np.bincount(h_loc, weights=t * t, minlength=H)
            if extra is not None:
                d, (t_line, l1, l2) = extra
                s1 = s1 + d * l1
                s2 = s2 + 2.0 * d * np.bincount(h_loc, weights=t * t_line[uniq], minlength=H) + d * d * l2
        ss = s2 - s1 * s1 * self.centre
        return float(max(np.dot(self.c_h, np.maximum(ss, 0.0)), 0.0))


_dense_codes = dense_codes  # shared with Design.build (prosperity.variance.design)
_psu_codes = stratum_psu_codes
