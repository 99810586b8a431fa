"""A 2-worker ``distributed.LocalCluster`` (threads, one process) for the Dask backend's tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as c, \
            distributed.Client(c) as client:
        yield client
