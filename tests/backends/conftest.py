"""Fixtures of the backend tests: a 2-worker ``distributed.LocalCluster`` (threads, one process) for the
Dask backend, and laeken's synthetic EU-SILC with positive incomes, in memory and as a directory of two
Parquet files (what each backend reads). The comparisons and sample builders: agreement.py."""

from __future__ import annotations

import pytest

from agreement import in_two_parquet_files, positive_eusilc


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address="127.0.0.1:0",
                                  worker_dashboard_address="127.0.0.1:0") as c, \
            distributed.Client(c) as client:
        yield client


@pytest.fixture(scope="module")
def eusilc(tmp_path_factory):
    """(frame, folder): the positive-income EU-SILC rows, and the same rows as part0.parquet (the first
    7,000) and part1.parquet in a folder. A test module needing other columns or another cut defines its own."""
    d = positive_eusilc()
    return d, in_two_parquet_files(d, tmp_path_factory.mktemp("eusilc_parquet"), 7000)
