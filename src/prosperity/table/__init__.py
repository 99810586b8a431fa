"""Table-level API: many measures, for the whole sample and every group, with standard errors.

:func:`measure` takes a data frame (pandas, polars), a file path or a :class:`~prosperity.io.Sample`,
validates it, sorts the incomes **once** and hands the same :class:`SortedIncome` to every measure
kernel (each group's sorted arrays are cut from the one global sort), and returns a
:class:`MeasureResult` whose ``to_frame()`` is a tidy frame: group columns, measure, value, se,
ci_low, ci_high, n, weight_sum (and ``line`` when a measure uses a poverty line).

Standard errors
---------------
``se_method="linearization"`` (default): each kernel returns its linearized variable u (Deville 1999;
Osier 2009); the design variance of sum w u is computed from PSU totals with the with-replacement
(ultimate cluster) estimator of :class:`prosperity.variance.Design`, for a group as a **domain**
(units outside the group contribute 0; strata and PSUs are those of the full sample)::

    V = sum_h (1 - f_h) n_h / (n_h - 1) [ sum_i t_hi^2 - (sum_i t_hi)^2 / n_h ],  t_hi = sum_{k in PSU hi} w_k u_k.

Only the PSUs a group touches enter the sums, so a small group costs O(its size), not O(n).
Relative lines are estimated too: for a group measured against the whole sample's line z = c * median,
u_total = u_measure(group, z fixed) + (d value / d z) * c * u_median(whole sample), which is how the
line's own error enters (the kernels' ``line_derivative``).

``se_method="bootstrap"`` (PSUs resampled with replacement within strata) or
``"rescaled_bootstrap"`` (Rao & Wu 1988, n_h - 1 PSUs drawn, weights rescaled): the whole pipeline,
relative lines included, is re-estimated on every replicate (see :mod:`prosperity.variance.bootstrap`).

Confidence intervals: ``ci_method="normal"`` (value +- z se; the default for linearization) or
``"percentile"`` (replicate quantiles; the default for the bootstrap).

Relative poverty lines
----------------------
``relative_line=c`` sets z = c x median (``relative_to="median"``, default) or c x mean of the **whole
sample**; with ``by=``, every group is measured against that national line (Eurostat's practice for
regions) unless ``line_within_groups=True``. Measures that define their own relative threshold
(``arpr``, ``rmpg``: fraction x median; ``middle_rel``: bands around the median) are treated the same
way: groups use the whole sample's median unless ``line_within_groups=True``. With ``domain=`` the
domain's row follows the same rule (the whole sample's line, R convey's ``subset()``; or with
``line_within_groups=True`` the domain's own, for every line of the row: :mod:`.domain_lines`). When no line is given
but a measure needs one, z = 0.6 x median (the EU at-risk-of-poverty threshold) and the result says so.

Layout (each concern its own module)
------------------------------------
- :mod:`.plan`: the measures, parameters, conventions, lines and options, parsed and validated once;
- :mod:`.inputs`: the data (a :class:`~prosperity.io.Sample`), the domain, the income checks, group codes;
- :mod:`.scaling`: extreme values held exactly as y 2^-k, w 2^-m;
- :mod:`.kernels`: one sort, every group's kernels, their linearized variables;
- :mod:`.domain_variance`: the design variance of a group's total from PSU totals;
- :mod:`.domain_lines`: which sample each row's relative lines come from (by=, domain=, line_within_groups);
- :mod:`.bootstrap`: replicate weights, the pipeline re-run on each;
- :mod:`.result`: :class:`MeasureResult` (tidy frame, JSON records);
- :mod:`.api`: :func:`measure`, which orchestrates them.
"""


from __future__ import annotations

from .api import measure
from .bootstrap import _bootstrap_pass, _compress
from .domain_variance import _dense_codes, _DomainVariance, _psu_codes
from .inputs import (
    Inputs,
    _as_bool,
    _as_sample,
    _check_empty_levels,
    _check_income_domains,
    _domain_mask,
    _group_codes,
    _split_sorted,
    read_inputs,
)
from .kernels import PointPass, _Context, _Reference, _Rows, point_pass
from .plan import (
    CI_METHODS,
    DEFAULT_MEASURES,
    DEFAULT_RELATIVE_LINE,
    MAX_RELATIVE_LINE,
    POOR_IF,
    RELATIVE_TO,
    SE_METHODS,
    UNDEFINED,
    Plan,
    _as_float,
    _breakdowns,
    _check_argument_types,
    _check_conventions,
    _check_poor_rule,
    _COMPARISON,
    _domain_column,
    _fmt_param,
    _group_text,
    _line_rule,
    _normalise_by,
    _param_hint,
    _Requested,
    make_plan,
    parse_measures,
)
from .result import ALL, MeasureResult, _json_float, _json_scalar, build_result
from .scaling import SAFE_EXPONENT, _extreme_rows, _is_overflow, _scale_exponent, _Scaling

__all__ = ["measure", "MeasureResult", "SE_METHODS", "CI_METHODS"]
