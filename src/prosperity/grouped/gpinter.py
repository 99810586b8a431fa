"""Generalized Pareto interpolation (Blanchet, Fournier & Piketty 2017, "Generalized Pareto curves").

Write x = -log(1 - p) and phi(x) = -log( int_p^1 Q(u) du ), the log of the income held above rank p.
Then phi'(x) = Q(p) (1 - p) / int_p^1 Q = 1 / b(p), the inverse of the inverted Pareto coefficient
b(p) = E[X | X > Q(p)] / Q(p), and

    Q(p) = phi'(x) exp(x - phi(x)),      L(p) = 1 - exp(-phi(x)) / mu,      mu = exp(-phi(0)).

A tabulation gives, at each bracket's lower rank p_k, phi(x_k) from the income above it (group
means or income shares) and, when the threshold t_k is known, phi'(x_k) = t_k / E[X | X > t_k].
phi is interpolated by a piecewise quintic (Hermite in phi, phi', phi'') whose unknown derivatives
(phi'' always; phi' when thresholds are missing) minimise int phi'''(x)^2 dx, the smoothness
criterion of the paper. Above the last bracket the distribution is a generalized Pareto tail
X - t ~ GPD(sigma, xi) whose mean excess and curvature match phi at the last knot:

    sigma = A phi'' - t^2 / A + t,   xi = 1 - sigma / (A - t),    A = E[X | X > t]

(xi > 0: Pareto-like tail with index 1 / xi; xi = 0 exponential; xi < 0 bounded). The top-tail
parameters are reported in ``parameters``.
"""

from __future__ import annotations

import numpy as np

from .distribution import FittedDistribution
from .table import GroupedDataError, GroupedTable


def _quintic_energy(h: float) -> np.ndarray:
    """6x6 matrix E with int_0^h P'''(x)^2 dx = v' E v for v = (y0, d0, s0, y1, d1, s1)."""
    M = np.zeros((6, 6))
    for j in range(6):  # rows: conditions; columns: monomial x^j
        M[0, j] = 1.0 if j == 0 else 0.0
        M[1, j] = 1.0 if j == 1 else 0.0
        M[2, j] = 2.0 if j == 2 else 0.0
        M[3, j] = h**j
        M[4, j] = j * h ** (j - 1) if j >= 1 else 0.0
        M[5, j] = j * (j - 1) * h ** (j - 2) if j >= 2 else 0.0
    G = np.zeros((6, 6))
    for i in range(3, 6):
        for j in range(3, 6):
            ci = i * (i - 1) * (i - 2)
            cj = j * (j - 1) * (j - 2)
            power = (i - 3) + (j - 3) + 1
            G[i, j] = ci * cj * h**power / power
    Minv = np.linalg.inv(M)
    return Minv.T @ G @ Minv, Minv


class GeneralizedParetoInterpolation(FittedDistribution):
    """Distribution reconstructed by generalized Pareto interpolation. Build with :meth:`fit`."""

    method = "gpinter"

    def __init__(self, x_knots, phi, dphi, ddphi, tail: dict, diagnostics: dict):
        self.x = np.asarray(x_knots, float)
        self.phi, self.dphi, self.ddphi = (np.asarray(a, float) for a in (phi, dphi, ddphi))
        self.mean = float(np.exp(-self.phi[0]))
        self._coef = []
        for k in range(self.x.size - 1):
            h = self.x[k + 1] - self.x[k]
            _, Minv = _quintic_energy(h)
            v = np.array([self.phi[k], self.dphi[k], self.ddphi[k], self.phi[k + 1], self.dphi[k + 1], self.ddphi[k + 1]])
            self._coef.append(Minv @ v)
        self._coef = np.array(self._coef)
        self.tail = tail
        self.parameters = {
            "knots_p": (1 - np.exp(-self.x)).tolist(),
            "b_at_knots": (1 / self.dphi).tolist() if np.all(self.dphi > 0) else None,
            "tail_threshold": tail["threshold"], "tail_sigma": tail["sigma"], "tail_xi": tail["xi"],
            "tail_pareto_index": (1 / tail["xi"]) if tail["xi"] > 0 else None,
        }
        self.diagnostics = dict(diagnostics)
        self.diagnostics.update(self.support_check())

    # ------------------------------------------------------------------ fitting
    @classmethod
    def fit(cls, table: GroupedTable, quantiles: dict | None = None) -> "GeneralizedParetoInterpolation":
        """Interpolate ``table``; ``quantiles`` adds known quantiles {p: Q(p)} (e.g. the published
        median {0.5: 31370}) as extra knots: there phi' = Q exp(phi - x), and phi is chosen, with
        the other free derivatives, to minimise the same smoothness criterion."""
        if table.mean is None:
            raise GroupedDataError(
                "method 'gpinter' needs the income above each bracket: give group 'mean' values, or "
                "'income_share' with the overall mean (--mean)"
            )
        if table.n_groups < 3:
            raise GroupedDataError(f"method 'gpinter' needs at least 3 groups, the table has {table.n_groups}")
        s, m = table.population_share, table.mean
        p = np.concatenate([[0.0], np.cumsum(s)[:-1]])
        x = -np.log1p(-p)
        above = np.cumsum((s * m)[::-1])[::-1]  # income above p_k (per head of the whole population)
        top_avg = above / (1 - p)
        phi = -np.log(above)
        K = x.size
        known_d = np.full(K, np.nan)
        notes = []
        if table.threshold is not None:
            known_d = table.threshold / top_avg
        else:
            notes.append("no thresholds: phi' (the inverted Pareto coefficients) chosen by the smoothness criterion")
        extra = {}
        for pq, val in (quantiles or {}).items():
            pq, val = float(pq), float(val)
            if not (0 < pq < p[-1]) or np.any(np.isclose(pq, p)):
                raise GroupedDataError(
                    f"extra quantile at p={pq:g} must lie strictly inside the table's brackets (0, {p[-1]:g}) "
                    "and not on a bracket boundary"
                )
            if val <= 0:
                raise GroupedDataError(f"extra quantile Q({pq:g}) = {val:g} must be positive")
            extra[pq] = val
        if extra:
            ex_p = np.array(sorted(extra))
            order = np.argsort(np.concatenate([p, ex_p]), kind="stable")
            is_extra = np.concatenate([np.zeros(K, bool), np.ones(ex_p.size, bool)])[order]
            p_all = np.concatenate([p, ex_p])[order]
            x = -np.log1p(-p_all)
            phi = np.concatenate([phi, np.full(ex_p.size, np.nan)])[order]
            known_d = np.concatenate([known_d, np.full(ex_p.size, np.nan)])[order]
            q_extra = np.concatenate([np.full(K, np.nan), [extra[e] for e in ex_p]])[order]
            K = x.size
            notes.append(f"extra quantile knots at p = {', '.join(f'{e:g}' for e in ex_p)}")

        def solve(phi_fixed, d_fixed):
            E = np.zeros((3 * K, 3 * K))
            for k in range(K - 1):
                Ek, _ = _quintic_energy(x[k + 1] - x[k])
                idx = np.r_[3 * k: 3 * k + 6]
                E[np.ix_(idx, idx)] += Ek
            v = np.full(3 * K, np.nan)
            v[0::3] = phi_fixed
            v[1::3] = d_fixed
            fixed = ~np.isnan(v)
            free = ~fixed
            rhs = -E[np.ix_(free, fixed)] @ v[fixed]
            sol, *_ = np.linalg.lstsq(E[np.ix_(free, free)], rhs, rcond=None)
            v[free] = sol
            return v, float(v @ E @ v)

        if extra:
            from scipy import optimize

            idx_extra = np.flatnonzero(np.isnan(phi))

            def complete(ph_extra):
                ph = phi.copy()
                ph[idx_extra] = ph_extra
                d = known_d.copy()
                d[idx_extra] = q_extra[idx_extra] * np.exp(ph[idx_extra] - x[idx_extra])
                return ph, d

            lo = np.array([phi[i - 1] for i in idx_extra])
            hi = np.array([phi[i + 1] for i in idx_extra])
            start = (lo + hi) / 2
            res = optimize.minimize(lambda z: solve(*complete(z))[1], start, method="L-BFGS-B",
                                    bounds=list(zip(lo + 1e-9, hi - 1e-9)))
            v, _ = solve(*complete(res.x))
        else:
            v, _ = solve(phi, known_d)
        phi_, d_, s_ = v[0::3], v[1::3], v[2::3]
        # generalized Pareto tail above the last knot
        t_last = d_[-1] * np.exp(x[-1] - phi_[-1])
        A = top_avg[-1]
        excess = A - t_last
        if excess <= 0 or t_last <= 0:
            raise GroupedDataError(
                "gpinter could not place the top tail: the interpolated threshold of the last group "
                f"({t_last:.6g}) is not below its mean ({A:.6g}); check the last rows of the table"
            )
        p = 1 - np.exp(-x)
        sigma = A * s_[-1] - t_last**2 / A + t_last
        if sigma <= 0:
            notes.append("top tail curvature implied a non-positive scale: exponential tail (xi = 0) used")
            sigma, xi = excess, 0.0
        else:
            xi = 1.0 - sigma / excess
        tail = {"p": float(p[-1]), "threshold": float(t_last), "sigma": float(sigma), "xi": float(xi), "mean_above": float(A)}
        diag = {"notes": notes, "thresholds_used": table.threshold is not None}
        return cls(x, phi_, d_, s_, tail, diag)

    # ------------------------------------------------------------------ evaluation
    def _phi_at(self, xq):
        k = np.clip(np.searchsorted(self.x, xq, side="right") - 1, 0, self.x.size - 2)
        dx = xq - self.x[k]
        c = self._coef[k]
        powers = dx[:, None] ** np.arange(6)[None, :]
        phi = np.sum(c * powers, axis=1)
        dpow = np.zeros_like(powers)
        dpow[:, 1:] = powers[:, :-1] * np.arange(1, 6)[None, :]
        dphi = np.sum(c * dpow, axis=1)
        return phi, dphi

    def _tail_income_above(self, t):
        """Income above rank p (per head of the whole population), t = -log((1-p)/(1-p_K))."""
        q, sg, xi, pk = self.tail["threshold"], self.tail["sigma"], self.tail["xi"], self.tail["p"]
        if abs(xi) < 1e-12:
            return (1 - pk) * np.exp(-t) * (q + sg * (1 + t))
        return (1 - pk) * ((q - sg / xi) * np.exp(-t) + sg / (xi * (1 - xi)) * np.exp(-(1 - xi) * t))

    def quantile(self, p) -> np.ndarray:
        p = np.atleast_1d(np.asarray(p, dtype=float))
        out = np.empty_like(p)
        pk = self.tail["p"]
        body = p <= pk
        if body.any():
            xq = -np.log1p(-np.clip(p[body], 0.0, pk))
            phi, dphi = self._phi_at(xq)
            out[body] = dphi * np.exp(xq - phi)
        if (~body).any():
            with np.errstate(divide="ignore"):
                t = np.log((1 - pk) / np.maximum(1 - p[~body], 0.0))
            q, sg, xi = self.tail["threshold"], self.tail["sigma"], self.tail["xi"]
            out[~body] = q + (sg * t if abs(xi) < 1e-12 else sg / xi * np.expm1(xi * t))
        return out

    def lorenz(self, p) -> np.ndarray:
        p = np.atleast_1d(np.asarray(p, dtype=float))
        out = np.empty_like(p)
        pk = self.tail["p"]
        body = p <= pk
        if body.any():
            xq = -np.log1p(-np.clip(p[body], 0.0, pk))
            phi, _ = self._phi_at(xq)
            out[body] = 1 - np.exp(-phi) / self.mean
        if (~body).any():
            with np.errstate(divide="ignore"):
                t = np.log((1 - pk) / np.maximum(1 - p[~body], 0.0))
                out[~body] = 1 - np.nan_to_num(self._tail_income_above(t), nan=0.0) / self.mean
        return np.clip(out, 0.0, 1.0)
