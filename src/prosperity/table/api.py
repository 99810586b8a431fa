"""The door every caller goes through: :func:`measure` checks the request (:mod:`.plan`), reads the
data (:mod:`.inputs`), evaluates the kernels group by group (:mod:`.kernels`, with the domain
variance of :mod:`.domain_variance`), adds the bootstrap's spread when asked (:mod:`.bootstrap`) and
returns a :class:`~prosperity.table.result.MeasureResult` (:mod:`.result`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..measures.allocation import reuse_freed_memory
from .bootstrap import bootstrap_spread
from .domain_lines import domain_note
from .inputs import read_inputs
from .kernels import point_pass
from .plan import _check_argument_types, make_plan
from .result import MeasureResult, build_result
from .streamed import choose_backend, measure_streamed

__all__ = ["measure"]


def measure(
    data,
    income: str | None = None,
    measures: Sequence[str] | str = ("gini",),
    *,
    weight: str | None = None,
    by: str | Sequence[str] | None = None,
    strata: str | None = None,
    psu: str | None = None,
    fpc: str | None = None,
    poverty_line: float | None = None,
    relative_line: float | None = None,
    relative_to: str = "median",
    line_within_groups: bool = False,
    se: bool = True,
    se_method: str = "linearization",
    replicates: int | None = None,
    seed: int | None = None,
    confidence: float = 0.95,
    ci_method: str | None = None,
    quantile_convention: str = "eurostat",
    conventions: dict | None = None,
    poor_if: str | None = None,
    domain=None,
    bandwidth: str | None = None,
    undefined: str = "missing",
    lonely_psu: str = "fail",
    margins: bool = False,
    drop_missing: bool = False,
    sheet: str | int | None = None,
    backend: str | None = None,
    **sample_options,
) -> MeasureResult:
    """Compute ``measures`` of ``income`` for the whole sample and every group of ``by``, with SEs.

    ``data``: pandas / polars frame, dict of arrays, file path (CSV, Parquet, Stata, Excel with
    ``sheet=``) or a :class:`~prosperity.io.Sample` (then weight / design / groups come from it).
    ``measures``: catalogue names with parameters, e.g. ``["gini", "atkinson:0.5", "fgt:1"]``.
    ``by``: one column, or several (their cross-classification); ``margins=True`` adds every
    sub-combination (each column alone, ...). The whole sample is always included (``by = {}``).
    Lines: ``poverty_line`` (absolute) or ``relative_line`` (fraction of the whole sample's median or
    mean, ``relative_to``); groups use the whole sample's line unless ``line_within_groups``.
    ``se_method``: ``"linearization"``, ``"bootstrap"`` or ``"rescaled_bootstrap"`` (``replicates``,
    default 1000, ``seed``). ``quantile_convention``: ``eurostat`` (laeken), ``laeken``,
    ``inverse_cdf`` or ``interpolated`` (passed to every quantile-based kernel). ``conventions``: a
    measure's own convention, e.g. ``{"gini": "convey"}`` (see each kernel). ``lonely_psu``: ``fail``, ``adjust``, ``remove``,
    ``certainty``. ``poor_if``: ``"lt"`` (poor: y < z; laeken, Eurostat, PIP) or ``"le"`` (y <= z; R
    convey) for every measure with a poverty rule; None keeps each measure's own (``lt``; ``poormed``:
    ``le`` as convey). ``domain``: measure a subpopulation as R convey's ``subset()`` does -- a
    boolean column, a boolean array (one value per row used), a comparison such as
    ``"eqIncome > 0"`` / ``"age >= 65"`` or a value of a column, ``"db040=Tyrol"`` (``!=`` too); the rows outside stay in the design (domain variance) and
    relative lines come from the whole sample, their own error included (convey's ``svyarpr`` on a subset), or
    with ``line_within_groups=True`` from the domain's own units for the domain's row (and each group's within
    it): every line of a row from one reference (:mod:`prosperity.table.domain_lines`). ``undefined``:
    ``"missing"`` (default): a group where a measure is undefined (e.g. no poor, a zero mean) gets a
    missing value with its reason (``result.undefined``, the ``note`` column); ``"fail"`` raises.
    ``bandwidth``: the kernel bandwidth of the quantile-based SEs (median, quantiles, ARPR, RMPG, ...):
    ``"osier"`` (0.79 IQR N^(-1/5)) or ``"convey"`` (weighted SD (sum w)^(-1/5), R convey, whose QSR
    linearization comes with it); None keeps each measure's own (Osier's; convey's for its estimators).
    ``backend``: ``"memory"``, ``"duckdb"`` or ``"dask"``; None chooses from ``data`` (a DuckDB relation,
    a Dask dataframe or a directory of Parquet files stream out of core; see
    :mod:`prosperity.table.streamed`): the result is the same :class:`MeasureResult`.
    Other keyword arguments go to :func:`prosperity.io.from_frame` (hierarchy,
    groups, household_size, equivalence, scale, unit, components, ...).
    """
    _check_argument_types(locals())  # the same kind of message as the CLI's, never a TypeError from deep inside
    plan = make_plan(measures, income=income, by=by, poverty_line=poverty_line, relative_line=relative_line,
                     relative_to=relative_to, line_within_groups=line_within_groups, se=se, se_method=se_method,
                     replicates=replicates, seed=seed, confidence=confidence, ci_method=ci_method,
                     quantile_convention=quantile_convention, conventions=conventions, poor_if=poor_if, domain=domain,
                     undefined=undefined, lonely_psu=lonely_psu, margins=margins, bandwidth=bandwidth)
    kind = choose_backend(data, backend)
    if kind != "memory":  # out of core: the same plan, streamed (never collected)
        return measure_streamed(plan, data, kind, income=income, weight=weight, strata=strata, psu=psu, fpc=fpc,
                                drop_missing=drop_missing, sheet=sheet, sample_options=sample_options)
    inp = read_inputs(plan, data, income, weight, strata, psu, fpc, drop_missing, sheet, sample_options)
    sample = inp.sample
    with reuse_freed_memory(sample.n):  # large arrays: reuse freed memory (glibc; PROSPERITY_MALLOC_TUNING=0 disables)
        pp = point_pass(inp)
        spread = bootstrap_spread(inp.plan, pp) if plan.bootstrap else None
        notes = []
        if inp.domain_text is not None:
            notes.append(domain_note(inp.domain_text, int(inp.in_domain.sum()), sample.n, plan.line_within_groups))
        return build_result(inp.plan, pp.rows, income=inp.income, n_units=sample.n, excluded=sample.excluded,
                            line_rule=pp.line_rule, undefined_rows=pp.undefined_rows, scaling=inp.scaling,
                            spread=spread, notes=notes)
