"""Generate household microdata consistent with the published tables, in deterministic blocks.

Generation unit: a *block* of at most ``BLOCK_PERSONS`` persons of one cell (province x area), with
its own random stream ``SeedSequence(seed, spawn_key=(year, cell, block))``. A block's content does
not depend on how many blocks are kept in memory or written at once, so chunked output is
identical to unchunked output, and any size from 10^3 to 10^8 persons streams in bounded memory.

Within a block: household sizes are drawn from the plan's household-size distribution (the bundled
census shares unless ``household_sizes`` is given; the last household is truncated to fill the block
exactly); per-capita income is y = m_c k(s) X with X from
the calibrated unit-mean distribution (see :mod:`prosperity.synth.calibrate`), then rescaled so the
block's person-weighted mean equals the cell mean exactly; income is split into the four NBS sources
with household shares ~ Dirichlet(concentration x area shares), raked so that each block's source
totals match the area's published shares while every household's sources still add to its income;
ages follow the 2020 census structure with an adult (18+) head in every household.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from prosperity import datasets

from .within_cell import AreaFit, calibrate, sample_unit_mean
from .targets import (AGE_BANDS, AREAS, DEFAULT_HOUSEHOLD_SIZES, SOURCES, HouseholdSizes, Targets, build_targets,
                      household_size_distribution)

BLOCK_PERSONS = 2**18
ALLOCATIONS = ("proportional", "sqrt")
LEVELS = ("person", "household")
SOURCE_CONCENTRATION = 4.0
INCOME_COLUMNS = ("disp_income_pc_yuan",) + tuple(f"{s}_income_pc_yuan" for s in SOURCES)

_PROVINCES = datasets.provinces().query("nbs31")
PROVINCE_CATEGORIES = pd.CategoricalDtype(_PROVINCES["province_en"].tolist())
REGION_CATEGORIES = pd.CategoricalDtype(list(datasets.REGIONS))
AREA_CATEGORIES = pd.CategoricalDtype(list(AREAS))


@dataclass(frozen=True)
class Plan:
    """Everything that fixes a synthetic population: targets, fits, persons per cell, seed and the
    household-size distribution (the one the fits were calibrated with)."""

    targets: Targets
    fits: dict[str, AreaFit]
    persons: np.ndarray  # synthetic persons per cell (same order as targets.cells)
    seed: int
    block_persons: int
    household_sizes: HouseholdSizes = DEFAULT_HOUSEHOLD_SIZES

    def __post_init__(self) -> None:
        for area, fit in self.fits.items():
            if fit.household_sizes != self.household_sizes:
                raise ValueError(f"the {area} fit was calibrated with household sizes {fit.household_sizes.as_dict()}, "
                                 f"not the plan's {self.household_sizes.as_dict()}. Fix: calibrate with "
                                 "household_sizes= the plan's distribution (make_plan does)")

    @property
    def cells(self) -> pd.DataFrame:
        return self.targets.cells

    def blocks(self) -> Iterator[tuple[int, int, int]]:
        """(cell index, block index, persons in block), in output order."""
        for cell, n in enumerate(self.persons):
            full, rest = divmod(int(n), self.block_persons)
            for block in range(full):
                yield cell, block, self.block_persons
            if rest:
                yield cell, full, rest


def allocate(population: np.ndarray, total: int, allocation: str = "proportional") -> np.ndarray:
    """Synthetic persons per cell: at least one per cell, the rest by largest remainder, in
    proportion to population (``proportional``) or to its square root (``sqrt``, oversamples small
    cells as many surveys do; the weights undo it)."""
    if allocation not in ALLOCATIONS:
        raise ValueError(f"allocation must be one of {ALLOCATIONS}, got {allocation!r}")
    k = len(population)
    if total < k:
        raise ValueError(f"persons={total} is fewer than the {k} cells; ask for at least {k} persons")
    size = np.sqrt(population) if allocation == "sqrt" else np.asarray(population, float)
    quota = (total - k) * size / size.sum()
    counts = np.floor(quota).astype(np.int64)
    remainder = total - k - counts.sum()
    counts[np.argsort(-(quota - counts), kind="stable")[:remainder]] += 1
    return counts + 1


def make_plan(year: int = 2024, persons: int = 10**6, seed: int = 1, *, distribution: str = "gb2",
              allocation: str = "proportional", block_persons: int = BLOCK_PERSONS,
              calibrate_gini: bool = False, household_sizes=None) -> Plan:
    """``household_sizes``: shares of households by size, {size: share} or a Series (None: the bundled
    census 2020 shares); see :func:`prosperity.synth.targets.household_size_distribution`."""
    if int(persons) != persons or persons <= 0:
        raise ValueError(f"persons must be a positive integer, got {persons!r}")
    if block_persons <= 0:
        raise ValueError("block_persons must be positive")
    household_sizes = household_size_distribution(household_sizes)
    targets = build_targets(year)
    fits = calibrate(year, distribution, calibrate_gini, household_sizes=household_sizes)
    counts = allocate(targets.cells["population"].to_numpy(float), int(persons), allocation)
    return Plan(targets, fits, counts, int(seed), int(block_persons), household_sizes)


@lru_cache(maxsize=32)
def _size_sampler(household_sizes: HouseholdSizes) -> tuple[np.ndarray, np.ndarray, float]:
    """(sizes, probabilities, mean size) for drawing household sizes."""
    sizes = np.array(household_sizes.sizes, dtype=np.int64)
    p = np.array(household_sizes.shares) / sum(household_sizes.shares)
    return sizes, p, float(np.sum(sizes * p))


@lru_cache(maxsize=32)
def _age_distributions(household_sizes: HouseholdSizes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ages, head distribution, other-member distribution) so that one adult head per household plus
    the other members reproduce the census age structure in expectation (given the mean household size)."""
    ages = np.arange(0, 96)
    overall = np.zeros(len(ages))
    for low, high, mass in AGE_BANDS:
        span = np.arange(low, high + 1)
        shape = np.ones(len(span)) if high < 65 else 0.93 ** (span - low)
        overall[span] = mass * shape / shape.sum()
    adult = ages >= 18
    head = np.where(adult, overall, 0.0) / overall[adult].sum()
    heads_per_person = 1.0 / _size_sampler(household_sizes)[2]
    other = (overall - heads_per_person * head) / (1.0 - heads_per_person)
    return ages, head, np.clip(other, 0.0, None) / np.clip(other, 0.0, None).sum()


def _household_sizes(rng: np.random.Generator, persons: int, household_sizes: HouseholdSizes) -> np.ndarray:
    values, p, mean_size = _size_sampler(household_sizes)
    sizes = np.empty(0, dtype=np.int64)
    while sizes.sum() < persons:
        more = rng.choice(values, size=int(persons / mean_size * 1.1) + 8, p=p)
        sizes = np.concatenate([sizes, more])
    cum = np.cumsum(sizes)
    last = int(np.searchsorted(cum, persons))  # first household reaching the block size
    sizes = sizes[: last + 1].copy()
    sizes[-1] -= cum[last] - persons
    return sizes


def _split_sources(rng, income, sizes, shares: np.ndarray) -> np.ndarray:
    """households x 4 source amounts: Dirichlet shares, raked to the area shares (person-weighted
    totals) with each row summing to its income."""
    parts = rng.dirichlet(np.maximum(SOURCE_CONCENTRATION * shares, 1e-3), size=len(income)) * income[:, None]
    target = shares * np.sum(sizes * income)
    for _ in range(50):
        parts *= target / np.sum(sizes[:, None] * parts, axis=0)
        row = parts.sum(axis=1)
        parts *= np.divide(income, row, out=np.zeros_like(income), where=row > 0)[:, None]
    return parts


def generate_block(plan: Plan, cell: int, block: int, persons: int, level: str = "person") -> pd.DataFrame:
    """One block of the synthetic population (deterministic given plan.seed, year, cell, block)."""
    row = plan.cells.iloc[cell]
    fit = plan.fits[row["area"]]
    seq = np.random.SeedSequence(plan.seed, spawn_key=(plan.targets.year, cell, block))
    rng = np.random.Generator(np.random.PCG64(seq))
    sizes = _household_sizes(rng, persons, plan.household_sizes)
    factors = fit.size_factors(np.arange(1, plan.household_sizes.largest + 1))  # k(s) at 1..largest (truncated last household)
    income = row["mean_income_pc_yuan"] * factors[sizes - 1] * sample_unit_mean(fit, rng, len(sizes))
    income *= row["mean_income_pc_yuan"] * persons / np.sum(sizes * income)
    shares = plan.targets.source_shares.loc[row["area"]].to_numpy(float)
    sources = _split_sources(rng, income, sizes, shares)
    ages, head_age_p, other_age_p = _age_distributions(plan.household_sizes)
    head_age = rng.choice(ages, size=len(sizes), p=head_age_p)
    other_age = rng.choice(ages, size=persons - len(sizes), p=other_age_p)

    household_id = (np.int64(cell) << 42) + (np.int64(block) << 21) + np.arange(len(sizes), dtype=np.int64)
    weight = row["population"] / plan.persons[cell]
    n_rows = len(sizes) if level == "household" else persons
    columns: dict[str, object] = {"household_id": household_id}
    if level == "person":
        columns["household_id"] = np.repeat(household_id, sizes)
        starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
        person_number = np.arange(persons) - starts + 1
        columns["person_number"] = person_number.astype(np.int8)
    columns.update({
        "adcode": np.full(n_rows, row["adcode"], dtype=np.int64),
        "province_en": pd.Categorical(np.full(n_rows, row["province_en"]), dtype=PROVINCE_CATEGORIES),
        "region": pd.Categorical(np.full(n_rows, row["region"]), dtype=REGION_CATEGORIES),
        "area": pd.Categorical(np.full(n_rows, row["area"]), dtype=AREA_CATEGORIES),
    })
    if level == "person":
        age = np.empty(persons, dtype=np.int16)
        is_head = person_number == 1
        age[is_head] = head_age
        age[~is_head] = other_age
        columns["household_size"] = np.repeat(sizes, sizes).astype(np.int8)
        columns["age"] = age
        expand = lambda v: np.repeat(v, sizes)  # noqa: E731
    else:
        columns["household_size"] = sizes.astype(np.int8)
        columns["head_age"] = head_age.astype(np.int16)
        expand = lambda v: v  # noqa: E731
    columns["disp_income_pc_yuan"] = expand(income)
    for k, source in enumerate(SOURCES):
        columns[f"{source}_income_pc_yuan"] = expand(sources[:, k])
    columns["weight"] = np.full(n_rows, weight)
    return pd.DataFrame(columns)


def iter_population(plan: Plan, *, level: str = "person", chunk_persons: int | None = None) -> Iterator[pd.DataFrame]:
    """Yield the population as frames of about ``chunk_persons`` persons (whole blocks; ``None`` =
    one block per frame)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    pending: list[pd.DataFrame] = []
    pending_persons = 0
    for cell, block, persons in plan.blocks():
        pending.append(generate_block(plan, cell, block, persons, level))
        pending_persons += persons
        if chunk_persons is None or pending_persons >= chunk_persons:
            yield pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
            pending, pending_persons = [], 0
    if pending:
        yield pd.concat(pending, ignore_index=True)


def synthesize_population(year: int = 2024, persons: int = 10**6, seed: int = 1, *, distribution: str = "gb2",
                          allocation: str = "proportional", level: str = "person",
                          block_persons: int = BLOCK_PERSONS, backend: str = "pandas", calibrate_gini: bool = False,
                          household_sizes=None):
    """A synthetic Chinese population consistent with the published tables of ``year`` (2016-2024).

    Rows are persons (``level="person"``) or households (``level="household"``) of the 62 cells
    (31 provinces x urban/rural). Columns: household_id, person_number, adcode, province_en, region,
    area, household_size, age (head_age for households), disp_income_pc_yuan (household per-capita
    disposable income, yuan/year), wage/net_business/net_property/net_transfer_income_pc_yuan (they
    add up to the total), weight (persons represented by each synthetic person; also households
    represented by each synthetic household). Reproducible from ``seed``; see ``docs/synthetic.md``.

    Margins matched: cell populations (through the weights) and cell means exactly; urban and rural
    quintile-group means to about 1.5% (calibrated distribution); source shares per area exactly.

    ``calibrate_gini=True`` also targets the official national Gini of the year with a Pareto top tail
    (see :func:`prosperity.synth.calibrate`); the quintile-group means then miss by up to about 20 %
    (2024), because the published groups and the official Gini cannot both hold. Default False: the
    population reproduces the published tables it is built from; the Gini is reported by ``margins``.

    ``household_sizes``: the shares of family households by size, a mapping {size: share} or a pandas
    Series indexed by size (sizes positive integers, the largest meaning that many or more; shares >= 0
    summing to 1 within 1e-6, never rescaled). None: the bundled census 2020 shares, of which only the
    one-person share is an official figure (see ``docs/synthetic.md``). The calibration is fitted with
    the distribution given, and ``margins`` compares against it (``frame.attrs["household_sizes"]``).
    """
    plan = make_plan(year, persons, seed, distribution=distribution, allocation=allocation,
                     block_persons=block_persons, calibrate_gini=calibrate_gini, household_sizes=household_sizes)
    frame = pd.concat(list(iter_population(plan, level=level)), ignore_index=True)
    frame.attrs.update(
        dataset="synthetic_population", year=year, seed=seed, distribution=distribution, allocation=allocation,
        calibrate_gini=calibrate_gini, household_sizes=plan.household_sizes.as_dict(),
        notes=list(plan.targets.notes),
        units={"*_income_pc_yuan": "yuan per person per year (household per-capita), current prices",
               "weight": "persons represented"},
    )
    if backend == "polars":
        import polars as pl

        return pl.from_pandas(frame)
    if backend != "pandas":
        raise ValueError(f"backend must be 'pandas' or 'polars', got {backend!r}")
    return frame


def write_population(path: str | Path, year: int = 2024, persons: int = 10**6, seed: int = 1, *,
                     distribution: str = "gb2", allocation: str = "proportional", level: str = "person",
                     chunk_persons: int = 4 * BLOCK_PERSONS, block_persons: int = BLOCK_PERSONS,
                     compression: str = "zstd", calibrate_gini: bool = False, household_sizes=None,
                     progress=None) -> dict:
    """Stream a synthetic population to a Parquet file, ``chunk_persons`` at a time (one row group per
    chunk); memory stays bounded whatever ``persons`` is. Returns a small summary dict.
    ``household_sizes``: as in :func:`synthesize_population`; recorded in the file's metadata.
    ``progress``: called as ``progress(persons_written, persons_total)`` after each chunk (a progress bar)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    plan = make_plan(year, persons, seed, distribution=distribution, allocation=allocation,
                     block_persons=block_persons, calibrate_gini=calibrate_gini, household_sizes=household_sizes)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    rows = 0
    done, total = 0, int(plan.persons.sum())
    try:
        for frame in iter_population(plan, level=level, chunk_persons=chunk_persons):
            table = pa.Table.from_pandas(frame, preserve_index=False)
            if writer is None:
                metadata = {b"prosperity": json.dumps({
                    "year": year, "seed": seed, "persons": int(persons), "distribution": distribution,
                    "allocation": allocation, "level": level, "calibrate_gini": calibrate_gini,
                    "household_sizes": {str(k): v for k, v in plan.household_sizes.as_dict().items()}}).encode()}
                schema = table.schema.with_metadata({**(table.schema.metadata or {}), **metadata})
                writer = pq.ParquetWriter(path, schema, compression=compression)
            writer.write_table(table.cast(writer.schema))
            rows += table.num_rows
            if progress is not None:
                done += int(frame["household_size"].sum()) if level == "household" else len(frame)
                progress(done, total)
    finally:
        if writer is not None:
            writer.close()
    return {"path": str(path), "rows": rows, "persons": int(plan.persons.sum()), "year": year, "seed": seed,
            "level": level}
