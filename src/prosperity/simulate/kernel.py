"""Every rule of :func:`engine.evaluate` fused in one compiled pass over households (the fast path).

The readable formulas are the vectorised functions of :mod:`prosperity.simulate.rules` and the NumPy
branch of ``engine.evaluate``; this module computes exactly the same quantities in one loop over
households. Persons are stored in household order, so household ``h`` owns persons
``starts[h] .. starts[h+1]-1``: for each household the loop runs its persons' rules (employee social
insurance and housing fund, ``rules.social_insurance``; special additional deductions,
``rules.special_additional_deductions``; taxable income and IIT, ``rules.income_tax`` /
``rules.marginal_rate_tax``), adds them up in registers in person order (the order of ``np.bincount``),
adds the residents' pension (``rules.resident_pension``) and the childcare subsidy
(``rules.childcare_subsidy``) from per-household counts of the members entitled (their amounts are
equal within a household), then computes the household's income before transfers, the east -> west
levy, the dibao means test and benefit (``rules.dibao``), disposable income and the central/local
budget balances, and writes each result once. No intermediate array, no second pass over memory.

Speed (issue 9, ``benchmarks/bench_simulate.py``): the households are visited block by block (512
consecutive households), inside a block by the number of persons visited, so that the persons loop
has the same trip count for a run of households (no mispredicted loop exit per household) while all
reads and writes stay in the block's few kilobytes; results stay in the population's household
order. Only earners are visited when the others' IIT, contributions and taxable income are zero (they
are not covered and claim no deduction; a wage bump on them sends the pass over every person): adding
0.0 leaves a sum unchanged, the sums start at +0.0 and are never -0.0. The tax bracket is found by a
binary search over thresholds padded to a power of two with +inf (LLVM compiles its steps as branches,
well predicted here: 89 % of earners are in the first bracket; an unrolled branch-free search was
slower). The person and household flag bits (covered, primary, earner; donor, take-up, east) are read
through small per-call tables of 1.0 / 0.0, so each choice is a select on a floating-point comparison,
which compiles without a branch (a select on an integer bit test compiled to a branch that mispredicted
on the covered, primary, donor and take-up bits). Indices are unsigned, so numba adds no negative-index
wraparound to each array access. The visited persons'
wages and flags and the household inputs are stored in visiting order (kept per population and
visiting mode), so the pass reads them contiguously; only the results are written in household order.
The pass is compiled once per *spec* (:func:`household_pass`: wage bump or not, transfers, per-person
results, the outputs written), so a branch not taken and a result not written are not in the loop.
Amounts that depend only on the parameters, the province, a count and the size (residents' pension,
its recipients and minimum part per province and members drawing; the childcare subsidy per members
under the age limit; the dibao standard per scaling code and area, and times 12 times the size) are
computed once per call into small tables, with the same operations in the same order as the
per-household formulas (hence the same bits).

The arithmetic follows the NumPy formulas operation by operation, so both paths give bit-identical
numbers (tests compare them on every shipped reform, with and without a wage bump, visiting every
person or only earners, on 1 and 3 threads). Inputs that do not depend on parameters are packed once
per population (:func:`prepared`, :func:`visiting`, :func:`age_counts`, :func:`household_codes`:
flag bytes, provinces and sizes as bytes, the dependants counts and the dibao scaling as codes into
tables of their distinct values, the parameter-free part of income before transfers), so a pass
reads about 13 bytes per earner and 22 per household. Results can be written into the arrays of a
previous evaluation (``buffers``): no fresh memory to page-fault in.

Used when numba is available and no reform replaces one of the rules; otherwise ``engine.evaluate``
runs the NumPy rules. Regional transfers that depend on the whole distribution (east -> west
assistance, ecological compensation) need every household's income before transfers first: then the
pass runs twice (``persons_only`` gives the per-capita incomes, the transfers are distributed, the full
pass follows).
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..compiled import njit
from .rules import MONTHS

FUSED_RULES = ("social_insurance", "special_additional_deductions", "income_tax", "resident_pension",
               "childcare_subsidy", "dibao")

EARNER, COVERED, PRIMARY, EMPLOYEE_PENSIONER = 1, 2, 4, 8  # bits of the person flag byte
URBAN, TAKE_UP, EAST, DONOR = 1, 2, 4, 8  # bits of the household flag byte
BLOCK = 512  # households are taken in blocks of this many, ordered by size inside a block

# the scalar parameters, in the order of the ``par`` vector the compiled pass reads
PARAMETERS = ("si_floor", "si_ceiling", "si_employee_rate", "si_housing_rate", "si_employer_rate",
              "sad_education", "sad_infant", "sad_elderly", "basic_deduction", "pension_age", "pension_minimum",
              "child_age_limit", "child_amount", "standard_urban", "standard_rural", "iit_central",
              "central_share_east", "levy_rate")

# household outputs of the full pass, in the compiled pass's argument order
OUTPUTS = ("iit", "si_employee", "housing_fund", "si_employer_pension", "resident_pension", "childcare_subsidy",
           "resident_pension_recipients", "gross_wage", "market_income", "levy", "dibao_standard_monthly",
           "dibao_eligible", "dibao", "disposable", "disposable_pc", "central", "local")


# the flags a compiled pass is specialised on (compile-time constants: a branch not taken is not compiled)
SPEC_FLAGS = ("with_extra", "with_ew", "with_eco", "per_person", "persons_only", "tables", "steps")
TABLE_MAX = 256  # counts and sizes below this go through the per-call tables (uint8 inputs)


def _make_pass(with_extra, with_ew, with_eco, per_person, persons_only, tables, steps, writes):
    """The household pass as plain Python, specialised on the switches of :data:`SPEC_FLAGS` and on
    ``writes`` (one bool per name of :data:`OUTPUTS`): numba compiles the closure's free variables as
    constants, so a branch not taken and a result not written cost nothing in the compiled loop."""
    (w_iit, w_si, w_hf, w_er, w_pension, w_child, w_recipients, w_gross, w_market, w_levy, w_standard,
     w_eligible, w_dibao, w_disposable, w_disposable_pc, w_central, w_local) = writes

    def household_pass(r0, r1, nt, run_start, run_size, run_first, order, members, wage, extra, flags,
                       drawn_count, young_count, province, sad_code, household_flags, size, pre_fixed, market_fixed,
                       business_property, other_transfers, scale_code, scale_values, average_wage_by_province,
                       top_up_by_province, sad_children, sad_infants, sad_elders, thresholds, rates,
                       tax_at_thresholds, par, east_west, ecological,
                       iit_o, si_o, hf_o, er_o, pension_o, child_o, recipients_o, gross_o, market_o, levy_o,
                       standard_o, eligible_o, dibao_o, disposable_o, disposable_pc_o, central_o, local_o,
                       pre_pc_o, iit_person, taxable_person):
        """Runs ``r0 .. r1-1`` of households with equal numbers of members visited: household
        ``order[q]`` for ``q`` in ``run_start[r] .. run_start[r+1]-1``, its visited persons the next
        ``run_size[r]`` entries of ``members`` / ``wage`` / ``flags`` (stored in visiting order, from
        ``run_first[r]``; in person order within a household: every person, or only the earners when the
        others' tax and contributions are zero). The household inputs ``drawn_count`` .. ``market_fixed``
        and ``scale_code`` are given in visiting order (index ``q``), ``business_property``,
        ``other_transfers``, ``east_west``, ``ecological`` and the outputs in household order (index
        ``order[q]``), ``extra`` and the per-person outputs in person order. ``drawn_count`` /
        ``young_count``: the household's members drawing the residents' pension (at or above the pension
        age, no employee pension) and under the childcare subsidy's age limit; their amounts are equal
        within a household, so the person-order sums are the same amount added that many times.
        ``persons_only``: write only ``pre_pc_o``, the per-capita income before transfers.
        ``thresholds`` has a power-of-two length (padded with +inf: the bracket is found by a
        branch-free binary search). ``tables``: counts and sizes are below ``nt`` (at most
        :data:`TABLE_MAX`), so the household amounts that depend only on parameters, the province, the
        counts and the size are computed once into small tables, with the same operations in the same
        order as per household."""
        si_floor, si_ceiling, si_employee_rate, si_housing_rate, si_employer_rate = par[0], par[1], par[2], par[3], par[4]
        sad_education, sad_infant, sad_elderly, basic_deduction = par[5], par[6], par[7], par[8]
        pension_age, pension_minimum, child_age_limit, child_amount = par[9], par[10], par[11], par[12]
        standard_urban, standard_rural, iit_central, central_share_east, levy_rate = par[13], par[14], par[15], par[16], par[17]
        # per-province and per-code values, with the NumPy rules' operations (so bit for bit the same numbers)
        n_prov = average_wage_by_province.shape[0]
        lo_p = np.empty(n_prov)
        hi_p = np.empty(n_prov)
        for j in range(n_prov):
            lo_p[j] = si_floor * average_wage_by_province[j]
            hi_p[j] = si_ceiling * average_wage_by_province[j]
        sad_p = np.empty(sad_children.shape[0])
        for j in range(sad_children.shape[0]):
            monthly = sad_children[j] * sad_education + sad_infants[j] * sad_infant
            if sad_elders[j] > 0:
                monthly = monthly + sad_elderly
            sad_p[j] = monthly * MONTHS
        # per flag byte, 1.0 or 0.0 for covered / primary / earner: a select on a floating-point
        # comparison compiles without a branch (one on an integer bit test compiles to a branch, which
        # mispredicts on the covered and primary bits)
        flag_t = np.zeros(256 * 4)
        for j in range(256):
            flag_t[j * 4] = 1.0 if j & COVERED else 0.0
            flag_t[j * 4 + 1] = 1.0 if j & PRIMARY else 0.0
            flag_t[j * 4 + 2] = 1.0 if j & EARNER else 0.0
        # the same per household flag byte: east -> west donor, dibao take-up, east region
        household_t = np.zeros(256 * 4)
        for j in range(256):
            household_t[j * 4] = 1.0 if j & DONOR else 0.0
            household_t[j * 4 + 1] = 1.0 if j & TAKE_UP else 0.0
            household_t[j * 4 + 2] = 1.0 if j & EAST else 0.0
        minimum_12 = pension_minimum * MONTHS
        # tables (when ``tables``): per (province, members drawing), the residents' pension, its
        # recipients and minimum (central) part; per members under the age limit, the childcare subsidy;
        # per (dibao scaling code, urban, size), the dibao standard and the household's annual standard
        n_sc = scale_values.shape[0]
        if not tables:
            nt = 0
        pension_t = np.empty(n_prov * nt)
        recipients_t = np.empty(n_prov * nt)
        minimum_t = np.empty(n_prov * nt)
        child_t = np.empty(nt)
        standard_t = np.empty(n_sc * 2)
        annual_t = np.empty(n_sc * 2 * nt)
        if tables:
            for j in range(n_prov):
                pension = (pension_minimum + top_up_by_province[j]) * MONTHS
                for c in range(nt):
                    pension_h = 0.0
                    for i in range(c):
                        pension_h += pension
                    n_paid = c if pension > 0 else 0  # a drawn pension > 0 is paid, its minimum part central
                    minimum_h = 0.0
                    for i in range(n_paid):
                        minimum_h += minimum_12
                    pension_t[j * nt + c] = pension_h
                    recipients_t[j * nt + c] = float(n_paid)  # 1.0 added n_paid times
                    minimum_t[j * nt + c] = minimum_h
            for c in range(nt):
                child_h = 0.0
                for i in range(c):
                    child_h += child_amount
                child_t[c] = child_h
            for j in range(n_sc):
                for u in range(2):
                    standard = (standard_urban if u else standard_rural) * scale_values[j]
                    standard_t[j * 2 + u] = standard
                    for c in range(nt):
                        annual_t[(j * 2 + u) * nt + c] = standard * MONTHS * c
        # indices are unsigned (numba adds no negative-index wraparound for them: fewer instructions)
        one, two, four = np.uint64(1), np.uint64(2), np.uint64(4)
        ntu = np.uint64(nt)
        half0 = np.uint64(thresholds.shape[0] >> 1)
        for r in range(r0, r1):
            s = run_size[r]  # the same trip count for every household of the run: no mispredicted loop exit
            m = np.uint64(run_first[r])
            for q_ in range(run_start[r], run_start[r + 1]):
                q = np.uint64(q_)
                h = np.uint64(order[q])
                prov = province[q]
                lo = lo_p[prov]
                hi = hi_p[prov]
                sad_primary = sad_p[sad_code[q]]
                iit_h = 0.0
                si_h = 0.0
                hf_h = 0.0
                er_h = 0.0
                wage_h = 0.0
                for i in range(s):
                    f4 = np.uint64(flags[m]) * four
                    w = wage[m]
                    if with_extra:
                        w = w + extra[np.uint64(members[m])]
                    clipped = min(max(w, lo), hi)
                    base = clipped if flag_t[f4] != 0.0 else 0.0
                    si = base * si_employee_rate
                    hf = base * si_housing_rate
                    sad = sad_primary if flag_t[f4 + one] != 0.0 else 0.0
                    earned = w if flag_t[f4 + two] != 0.0 else 0.0
                    taxable = max(earned - basic_deduction - si - hf - sad, 0.0)
                    # the last k with thresholds[k] <= taxable (thresholds ascending, thresholds[0] first):
                    # ``steps`` is a constant, so the search is unrolled with constant halves (no branch)
                    k = np.uint64(0)
                    half = half0
                    while half > np.uint64(0):
                        k += half if thresholds[k + half] <= taxable else np.uint64(0)
                        half >>= one
                    tax = tax_at_thresholds[k] + rates[k] * (taxable - thresholds[k])
                    iit_h += tax
                    si_h += si
                    hf_h += hf
                    if w_er:
                        er_h += base * si_employer_rate
                    if with_extra:
                        wage_h += w
                    if per_person:
                        iit_person[np.uint64(members[m])] = tax
                        taxable_person[np.uint64(members[m])] = taxable
                    m += one
                n_drawn = drawn_count[q]
                n_young = young_count[q]
                if tables:
                    pj = np.uint64(prov) * ntu + np.uint64(n_drawn)
                    pension_h = pension_t[pj]
                    recipients_h = recipients_t[pj]
                    minimum_h = minimum_t[pj]
                    child_h = child_t[n_young]
                else:
                    # the same amount added once per drawing member, without a loop exit to mispredict for
                    # 0-2 (adding 0.0 leaves a sum unchanged: the sums start at +0.0 and are never -0.0)
                    pension = (pension_minimum + top_up_by_province[prov]) * MONTHS
                    pension_h = 0.0
                    pension_h += pension if n_drawn > 0 else 0.0
                    pension_h += pension if n_drawn > 1 else 0.0
                    for j in range(2, n_drawn):
                        pension_h += pension
                    n_paid = n_drawn if pension > 0 else 0
                    recipients_h = float(n_paid)
                    minimum_h = 0.0
                    minimum_h += minimum_12 if n_paid > 0 else 0.0
                    minimum_h += minimum_12 if n_paid > 1 else 0.0
                    for j in range(2, n_paid):
                        minimum_h += minimum_12
                    child_h = 0.0
                    child_h += child_amount if n_young > 0 else 0.0
                    child_h += child_amount if n_young > 1 else 0.0
                    for j in range(2, n_young):
                        child_h += child_amount
                if with_extra:
                    gross = wage_h
                    market = gross + business_property[h]
                    pre = market + other_transfers[h]
                else:  # (observed wage + business and property income) + other transfers, once per population
                    gross = 0.0
                    market = market_fixed[q] if w_market else 0.0
                    pre = pre_fixed[q]
                pre = pre + pension_h + child_h - iit_h - si_h - hf_h
                n = size[q]
                if persons_only:
                    pre_pc_o[h] = pre / n
                    continue
                hf_bits = household_flags[q]
                hf4 = np.uint64(hf_bits) * four
                levy = levy_rate * max(pre, 0.0) if (levy_rate != 0) & (household_t[hf4] != 0.0) else 0.0
                ew = east_west[h] if with_ew else 0.0
                eco = ecological[h] if with_eco else 0.0
                means = pre + ew + eco - levy - child_h
                urban = hf_bits & URBAN
                if tables:
                    sj = np.uint64(scale_code[q]) * two + np.uint64(urban)
                    standard = standard_t[sj]
                    annual = annual_t[sj * ntu + np.uint64(n)]
                else:
                    standard = (standard_urban if urban else standard_rural) * scale_values[scale_code[q]]
                    annual = standard * MONTHS * n
                gap = annual - means
                benefit = gap if (household_t[hf4 + one] != 0.0) & (gap > 0) else 0.0
                disposable = pre + ew + eco - levy + benefit
                central_pension = minimum_h * (central_share_east if household_t[hf4 + two] != 0.0 else 1.0)
                if w_iit:
                    iit_o[h] = iit_h
                if w_si:
                    si_o[h] = si_h
                if w_hf:
                    hf_o[h] = hf_h
                if w_er:
                    er_o[h] = er_h
                if w_pension:
                    pension_o[h] = pension_h
                if w_child:
                    child_o[h] = child_h
                if w_recipients:
                    recipients_o[h] = recipients_h
                if w_gross:
                    gross_o[h] = gross
                if w_market:
                    market_o[h] = market
                if w_levy:
                    levy_o[h] = levy
                if w_standard:
                    standard_o[h] = standard
                if w_eligible:
                    eligible_o[h] = means < annual
                if w_dibao:
                    dibao_o[h] = benefit
                if w_disposable:
                    disposable_o[h] = disposable
                if w_disposable_pc:
                    disposable_pc_o[h] = disposable / n
                if w_central:
                    central_o[h] = iit_central * iit_h + levy - ew - child_h - central_pension
                if w_local:
                    local_o[h] = (1 - iit_central) * iit_h - benefit - (pension_h - central_pension) - eco

    return household_pass


@functools.lru_cache(maxsize=None)
def household_pass(spec: tuple | None = None):
    """The pass compiled for ``spec`` (the values of :data:`SPEC_FLAGS`, then a tuple of one bool per
    name of :data:`OUTPUTS`: written or not; default: no wage bump, no transfers, household results
    only, every output, tables), once per process and spec; None without numba or with
    ``PROSPERITY_NO_NUMBA`` set. Each spec compiles in about a second on first use."""
    jit = njit()
    if jit is None:
        return None
    if spec is None:
        spec = (False, False, False, False, False, True, 3, (True,) * len(OUTPUTS))
    return jit(_make_pass(*spec))


THREADS = max(1, min(4, os.cpu_count() or 1))
PARALLEL_MIN_PERSONS = 200_000
_EMPTY = np.zeros(0)
_EMPTY_BOOL = np.zeros(0, dtype=bool)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor(workers: int) -> ThreadPoolExecutor:
    """One thread pool kept for the process (started on first use; creating one costs ~0.1 ms a call)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers < workers:
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="prosperity-simulate")
        return _pool


def _small_ints(x: np.ndarray) -> np.ndarray:
    """``x`` as uint8 when every value is an integer in 0..255 (exact: the pass converts it back to the
    same float), else ``x`` unchanged."""
    if x.size and np.all((x >= 0) & (x <= 255) & (x == np.floor(x))):
        return x.astype(np.uint8)
    return np.ascontiguousarray(x)


def _codes(inverse: np.ndarray, n_values: int) -> np.ndarray:
    return inverse.astype(np.uint8 if n_values <= 256 else np.int64)


def _combinations(*columns) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of the columns (as floats, exact) and each row's index among them; small
    non-negative integers (0..255, the usual dependants counts) through one integer key (``np.unique``
    over rows is ~30 times slower)."""
    rows = np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=1)
    if rows.size and np.all((rows >= 0) & (rows <= 255) & (rows == np.floor(rows))):
        key = np.zeros(rows.shape[0], dtype=np.int64)
        for j in range(rows.shape[1]):
            key = (key << 8) | rows[:, j].astype(np.int64)
        keys, inverse = np.unique(key, return_inverse=True)
        shifts = 8 * np.arange(rows.shape[1] - 1, -1, -1)
        return ((keys[:, None] >> shifts) & 255).astype(np.float64), inverse.reshape(-1)
    combos, inverse = np.unique(rows, axis=0, return_inverse=True)
    return combos, inverse.reshape(-1)


def size_runs(counts: np.ndarray, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The order in which the pass visits households: blocks of ``block`` consecutive households, inside
    each block the households ordered (stably) by ``counts``, the number of persons the pass visits in
    each, so that the persons loop has the same trip count for a run of households (no mispredicted loop
    exit per household) while every read and write stays within the block's few kilobytes. Returns
    ``order`` (household indices), ``run_start`` (offsets into ``order``, one more than runs) and
    ``run_size`` (persons visited per household of each run). Results stay in the population's household
    order: only the visiting order changes."""
    H = counts.shape[0]
    c = counts.astype(np.int64)
    blk = np.arange(H, dtype=np.int64) // block
    order = np.lexsort((c, blk))
    key = blk[order] * (int(c.max(initial=0)) + 1) + c[order]
    cut = np.flatnonzero(np.concatenate([[True], key[1:] != key[:-1]])) if H else np.zeros(0, dtype=np.int64)
    return (order.astype(np.int32 if H < 2**31 else np.int64), np.append(cut, H).astype(np.int64),
            c[order][cut].astype(np.int64))


def household_bounds(starts: np.ndarray, parts: int) -> list[int]:
    """Household indices cutting the households into ``parts`` runs of about equal numbers of persons."""
    H, n = starts.size - 1, int(starts[-1])
    cuts = [0]
    for k in range(1, parts):
        h = int(np.searchsorted(starts, n * k // parts, side="left"))
        if cuts[-1] < h < H:
            cuts.append(h)
    cuts.append(H)
    return cuts


def run_bounds(run_start: np.ndarray, run_size: np.ndarray, parts: int) -> list[int]:
    """Run indices cutting the runs into ``parts`` ranges of about equal numbers of persons."""
    persons = np.zeros(run_size.size + 1, dtype=np.int64)
    np.cumsum(np.diff(run_start) * run_size, out=persons[1:])
    return household_bounds(persons, parts)


def _kept(fixed, name, sources: tuple, make, *, single: bool = False):
    """``make()`` kept in ``fixed.derived`` for these ``sources`` (arrays compared by identity, and held
    by the entry, so that an array freed and another allocated at its address cannot match).
    ``single``: keep only the newest entry of this ``name`` (large packings of inputs that are replaced,
    not alternated, e.g. while the baseline is built)."""
    key = (name,) + tuple(id(a) for a in sources)
    entry = fixed.derived.get(key)
    if entry is None or not all(a is b for a, b in zip(entry[0], sources)):
        if single:
            for old in [k for k in fixed.derived if isinstance(k, tuple) and k and k[0] == name]:
                del fixed.derived[old]
        entry = fixed.derived[key] = (sources, make())
    return entry[1]


def prepared(pop, fixed) -> dict:
    """The pass's parameter-free inputs packed once per population and kept in ``fixed.derived``:
    household start offsets, one flag byte per person (earner, covered, primary earner, employee
    pensioner), provinces and sizes as bytes, the household's dependants counts as a code into a table
    of the distinct (children in education, infants, elders) combinations, and the parameter-free part
    of income before transfers, (observed wage + business and property income) + other transfers,
    summed in the NumPy rules' order."""
    sources = (pop.person_household, pop.size, pop.province, fixed.earner, fixed.covered, fixed.primary,
               fixed.employee_pensioner, fixed.children_education, fixed.infants, fixed.elders)

    def make():
        H = pop.n_households
        starts = np.zeros(H + 1, dtype=np.int64)
        np.cumsum(np.bincount(pop.person_household, minlength=H), out=starts[1:])
        flags = (fixed.earner.astype(np.uint8) * EARNER | fixed.covered.astype(np.uint8) * COVERED
                 | fixed.primary.astype(np.uint8) * PRIMARY
                 | fixed.employee_pensioner.astype(np.uint8) * EMPLOYEE_PENSIONER).astype(np.uint8)
        combos, inverse = _combinations(fixed.children_education, fixed.infants, fixed.elders)
        return {"starts": starts, "flags": flags,
                # covered and primary earners are earners: the others' contributions are zero
                "only_earners_contribute": not np.any((flags & (COVERED | PRIMARY)).astype(bool) & ~fixed.earner),
                "province": pop.province.astype(np.uint8) if pop.province.max(initial=0) < 256 else pop.province,
                "size": _small_ints(pop.size), "sad_code": _codes(inverse.reshape(-1), len(combos)),
                "sad_children": np.ascontiguousarray(combos[:, 0], dtype=np.float64),
                "sad_infants": np.ascontiguousarray(combos[:, 1], dtype=np.float64),
                "sad_elders": np.ascontiguousarray(combos[:, 2], dtype=np.float64)}

    def incomes():  # replaced while the baseline is built (other transfers are its residual)
        market = pop.wage_household + pop.business_property
        return {"market_fixed": market, "pre_fixed": market + fixed.other_transfers}

    return {**_kept(fixed, "kernel_inputs", sources, make, single=True),
            **_kept(fixed, "kernel_fixed_incomes", (pop.wage_household, pop.business_property, fixed.other_transfers),
                    incomes, single=True)}


def visiting(pop, fixed, earners_only: bool) -> dict:
    """Whom the pass visits, kept per population: every person or only the earners, with the visiting
    order of :func:`size_runs` (``order``, ``run_start``, ``run_size``) and the thread bounds.
    ``members``: the visited persons' indices in visiting order (household ``order[0]``'s in person
    order, then ``order[1]``'s ...); ``run_first``: the offset into ``members`` where each run starts.
    ``province``, ``sad_code``, ``size``: those household inputs in visiting order (read contiguously)."""
    packed = prepared(pop, fixed)

    def make():
        H = pop.n_households
        idx = np.int32 if pop.n_persons < 2**31 else np.int64
        if earners_only:
            grouped = np.flatnonzero(fixed.earner)  # person order, hence grouped by household
            counts = np.bincount(pop.person_household[grouped], minlength=H)
        else:
            grouped = None
            counts = np.diff(packed["starts"])
        first = np.zeros(H, dtype=np.int64)
        np.cumsum(counts[:-1], out=first[1:])
        order, run_start, run_size = size_runs(counts)
        counts_v = counts[order]
        offsets = np.zeros(H + 1, dtype=np.int64)
        np.cumsum(counts_v, out=offsets[1:])
        # position in the grouped list of the i-th visited person: its household's first + rank in it
        pos = np.repeat(first[order] - offsets[:-1], counts_v) + np.arange(offsets[-1], dtype=np.int64)
        members = (pos if grouped is None else grouped[pos]).astype(idx)
        return {"members": members, "order": order, "run_start": run_start, "run_size": run_size,
                "run_first": offsets[run_start[:-1]],
                "bounds": run_bounds(run_start, run_size, _parts(pop)),
                **{k: packed[k][order] for k in ("province", "sad_code", "size")}}

    return _kept(fixed, ("kernel_visiting", earners_only), (pop.person_household, fixed.earner), make)


def _in_visiting_order(fixed, name: str, visit: dict, a: np.ndarray) -> np.ndarray:
    """``a[visit["order"]]``, kept (the newest per name and visiting order) while ``a`` is the same array."""
    order = visit["order"]
    return _kept(fixed, ("kernel_in_visiting_order", name, id(order)), (order, a), lambda: a[order], single=True)


def _table_size(visit: dict, drawn_count, young_count) -> int:
    """One more than the largest count or size (the per-call tables' length), or 0 when one of them is
    not bytes (then the pass computes those amounts per household)."""
    arrays = (visit["size"], drawn_count, young_count)
    if any(a.dtype != np.uint8 for a in arrays):
        return 0
    return 1 + max(int(a.max(initial=0)) for a in arrays)


def age_counts(pop, fixed, pension_age: float, child_age_limit: float) -> tuple[np.ndarray, np.ndarray]:
    """Per household: members drawing the residents' pension (age >= ``pension_age``, no employee
    pension; ``rules.resident_pension``) and members under ``child_age_limit``
    (``rules.childcare_subsidy``), kept per pair of ages."""
    def make():
        hh, H = pop.person_household, pop.n_households
        drawn = (pop.age >= pension_age) & ~fixed.employee_pensioner
        return (_small_ints(np.bincount(hh, weights=drawn, minlength=H)),
                _small_ints(np.bincount(hh, weights=pop.age < child_age_limit, minlength=H)))

    return _kept(fixed, ("kernel_age_counts", float(pension_age), float(child_age_limit)),
                 (pop.person_household, pop.age, fixed.employee_pensioner), make)


def _zero_for_non_earners(p: dict, thresholds, rates, tax_at_thresholds) -> bool:
    """True when a person who is not an earner (hence not covered, not primary) gets zero IIT,
    contributions and taxable income from the pass's formulas (then the pass visits only earners:
    adding 0.0 leaves a sum unchanged). The formulas of :func:`household_pass` on such a person."""
    v = parameters_vector(p)
    base = 0.0
    si, hf, er = base * v[2], base * v[3], base * v[4]
    taxable = max(0.0 - v[8] - si - hf - 0.0, 0.0)
    k = int(np.sum(thresholds[1:] <= taxable))
    tax = tax_at_thresholds[k] + rates[k] * (taxable - thresholds[k])
    return si == 0.0 and hf == 0.0 and er == 0.0 and taxable == 0.0 and tax == 0.0


def household_codes(pop, fixed, household_arrays: dict) -> dict:
    """The parameter-dependent household switches packed once per their values: one flag byte (urban,
    dibao take-up, east region, east -> west donor) and the dibao scaling as a code into its distinct
    values (exact: the table holds the array's own values)."""
    take_up, east, donor, scale = (household_arrays[k] for k in ("take_up", "east", "donor", "dibao_scale"))

    def bits():
        return (pop.urban.astype(np.uint8) * URBAN | take_up.astype(np.uint8) * TAKE_UP
                | east.astype(np.uint8) * EAST | donor.astype(np.uint8) * DONOR).astype(np.uint8)

    def scale_codes():
        values, inverse = np.unique(np.asarray(scale, dtype=np.float64), return_inverse=True)
        return _codes(inverse.reshape(-1), len(values)), np.ascontiguousarray(values)

    code, values = _kept(fixed, "kernel_scale_codes", (scale,), scale_codes)
    return {"household_flags": _kept(fixed, "kernel_household_flags", (pop.urban, take_up, east, donor), bits),
            "scale_code": code, "scale_values": values}


def padded_brackets(scale) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thresholds, rates and tax at the thresholds padded to a power-of-two length: thresholds with
    +inf (never <= a finite taxable income), rates and tax with the top bracket's."""
    thresholds = np.asarray(scale.thresholds, dtype=np.float64)
    rates = np.asarray(scale.rates, dtype=np.float64)
    tax = np.asarray(scale.tax_at_thresholds(), dtype=np.float64)
    n = 1 << max(0, int(np.ceil(np.log2(max(thresholds.size, 1)))))
    pad = n - thresholds.size
    return (np.concatenate([thresholds, np.full(pad, np.inf)]), np.concatenate([rates, np.full(pad, rates[-1])]),
            np.concatenate([tax, np.full(pad, tax[-1])]))


def parameters_vector(p: dict) -> np.ndarray:
    """The scalar parameters the pass reads, in :data:`PARAMETERS` order."""
    employee = (p["social_insurance.employee.pension"] + p["social_insurance.employee.medical"]
                + p["social_insurance.employee.unemployment"])
    sad = "iit.special_additional_deductions."
    values = {"si_floor": p["social_insurance.base.floor_share_of_average_wage"],
              "si_ceiling": p["social_insurance.base.ceiling_share_of_average_wage"], "si_employee_rate": employee,
              "si_housing_rate": p["social_insurance.employee.housing_fund"],
              "si_employer_rate": p["social_insurance.employer.pension"], "sad_education": p[sad + "child_education"],
              "sad_infant": p[sad + "infant_care"], "sad_elderly": p[sad + "elderly_support_only_child"],
              "basic_deduction": p["iit.basic_deduction"], "pension_age": p["resident_pension.eligibility_age"],
              "pension_minimum": p["resident_pension.minimum"], "child_age_limit": p["child_subsidy.age_limit"],
              "child_amount": p["child_subsidy.under3"], "standard_urban": p["dibao.standard.urban"],
              "standard_rural": p["dibao.standard.rural"], "iit_central": p["iit.revenue_share_central"],
              "central_share_east": p["resident_pension.central_share_east"],
              "levy_rate": p["regional_transfers.east_west.levy_rate"]}
    return np.array([float(values[k]) for k in PARAMETERS])


def _buffer(buffers, name, H, dtype=np.float64):
    b = (buffers or {}).get(name)
    if isinstance(b, np.ndarray) and b.shape == (H,) and b.dtype == dtype and b.flags.writeable \
            and b.flags.c_contiguous and b.base is None:
        return b
    return np.empty(H, dtype=dtype)


def run(pop, fixed, p, top_up_by_province, household_arrays, *, extra_wage=None, east_west=None, ecological=None,
        persons_only=False, per_person=False, outputs=OUTPUTS, buffers=None):
    """The compiled pass for population ``pop`` under parameters ``p`` (None without numba).

    ``household_arrays``: ``dibao_scale``, ``take_up``, ``east``, ``donor`` (per household, from
    ``engine.evaluate``). ``outputs``: the names of :data:`OUTPUTS` to write (the others are not computed
    into memory). ``buffers``: a mapping whose arrays of the right shape and dtype receive the results
    (e.g. a previous evaluation's, which is then overwritten). Returns ``{name: array}``; with
    ``persons_only``, ``{"pre_pc": per-capita income before transfers}``."""
    if njit() is None:
        return None
    if persons_only:
        outputs = ()
    unknown = set(outputs) - set(OUTPUTS)
    if unknown:
        raise ValueError(f"unknown output(s) {sorted(unknown)}; choose from {', '.join(OUTPUTS)}")
    packed = prepared(pop, fixed)
    codes = household_codes(pop, fixed, household_arrays)
    H = pop.n_households
    res = {name: _buffer(buffers, name, H, bool if name == "dibao_eligible" else np.float64) for name in outputs}
    pre_pc = np.empty(H) if persons_only else _EMPTY
    iit_person = _buffer(buffers, "iit_person", pop.n_persons) if per_person else _EMPTY
    taxable_person = _buffer(buffers, "taxable_income_person", pop.n_persons) if per_person else _EMPTY
    extra = _EMPTY if extra_wage is None else np.ascontiguousarray(extra_wage, dtype=np.float64)
    thresholds, rates, tax_at_thresholds = padded_brackets(p["iit.rates"])
    # only earners need visiting when the others add zeros (and, with a wage bump, have no wage to add)
    earners_only = (not per_person and packed["only_earners_contribute"]
                    and _zero_for_non_earners(p, thresholds, rates, tax_at_thresholds)
                    and (extra_wage is None or not (_kept(fixed, "kernel_non_earner_wage", (fixed.wage_person, fixed.earner),
                                                          lambda: bool(np.any(fixed.wage_person[~fixed.earner])), single=True)
                                                    or np.any(extra[~fixed.earner]))))
    visit = visiting(pop, fixed, earners_only)
    drawn_count, young_count = age_counts(pop, fixed, p["resident_pension.eligibility_age"], p["child_subsidy.age_limit"])
    members = visit["members"]
    v = {name: _in_visiting_order(fixed, name, visit, a) for name, a in (
        ("drawn_count", drawn_count), ("young_count", young_count), ("household_flags", codes["household_flags"]),
        ("scale_code", codes["scale_code"]), ("pre_fixed", packed["pre_fixed"]), ("market_fixed", packed["market_fixed"]))}
    # the visited persons' wages and flags in visiting order: read contiguously
    wage_v = _kept(fixed, ("kernel_visited_wages", earners_only), (fixed.wage_person, members),
                   lambda: fixed.wage_person[members], single=True)
    flags_v = _kept(fixed, ("kernel_visited_flags", earners_only), (packed["flags"], members),
                    lambda: packed["flags"][members], single=True)
    nt = _kept(fixed, ("kernel_table_size", id(visit["size"])), (visit["size"], v["drawn_count"], v["young_count"]),
               lambda: _table_size(visit, v["drawn_count"], v["young_count"]), single=True)
    with_ew, with_eco = east_west is not None, ecological is not None
    steps = int(thresholds.shape[0]).bit_length() - 1  # thresholds has 2**steps entries
    spec = (extra_wage is not None, with_ew, with_eco, per_person, persons_only, nt > 0, steps,
            tuple(name in res for name in OUTPUTS))
    loop = household_pass(spec)
    args = (nt, visit["run_start"], visit["run_size"], visit["run_first"], visit["order"], members,
            wage_v, extra, flags_v, v["drawn_count"], v["young_count"], visit["province"], visit["sad_code"],
            v["household_flags"], visit["size"], v["pre_fixed"], v["market_fixed"], pop.business_property,
            fixed.other_transfers, v["scale_code"], codes["scale_values"],
            np.ascontiguousarray(p["social_insurance.average_wage"] * fixed.income_rel, dtype=np.float64),
            np.ascontiguousarray(top_up_by_province, dtype=np.float64), packed["sad_children"],
            packed["sad_infants"], packed["sad_elders"], thresholds, rates, tax_at_thresholds, parameters_vector(p),
            np.ascontiguousarray(east_west, dtype=np.float64) if with_ew else _EMPTY,
            np.ascontiguousarray(ecological, dtype=np.float64) if with_eco else _EMPTY,
            *(res.get(name, _EMPTY_BOOL if name == "dibao_eligible" else _EMPTY) for name in OUTPUTS),
            pre_pc, iit_person, taxable_person)
    R = visit["run_size"].size
    bounds = (visit["bounds"] if len(visit["bounds"]) - 1 == _parts(pop)
              else run_bounds(visit["run_start"], visit["run_size"], _parts(pop)))
    if len(bounds) == 2:
        loop(0, R, *args)
    else:
        # the runs write disjoint households (and persons); the compiled loop releases the GIL. The
        # calling thread runs the first part itself (one hand-off fewer than waiting for the pool)
        futures = [_executor(len(bounds) - 2).submit(loop, bounds[k], bounds[k + 1], *args)
                   for k in range(1, len(bounds) - 1)]
        try:
            loop(bounds[0], bounds[1], *args)
        finally:
            for f in futures:
                f.result()
    if persons_only:
        return {"pre_pc": pre_pc}
    if per_person:
        res["iit_person"], res["taxable_income_person"] = iit_person, taxable_person
    return res


def _parts(pop) -> int:
    return THREADS if pop.n_persons >= PARALLEL_MIN_PERSONS else 1
