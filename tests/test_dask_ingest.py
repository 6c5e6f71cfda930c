"""Scale-out path: the refresh's ingest tasks on a local Dask cluster of two worker processes
(PHAKHI_TASK_RUNNER=dask:2) load exactly the rows the default thread-pool runner loads."""
import os
import shutil
import sys

import cloudpickle
import pandas as pd
import pytest
from prefect import flow, task

from phakhi.task_runners import ingest_task_runner
from phakhi.sample import write_sample

pytestmark = pytest.mark.integration
cloudpickle.register_pickle_by_value(sys.modules[__name__])   # the probe task below travels to Dask workers


@task
def where() -> int:
    return os.getpid()


@flow(name="ingest-only")
def ingest_only(home: str) -> dict:
    from phakhi.settings import use_home
    from flows.pipeline import ingest_landing

    paths = use_home(home)
    results = ingest_landing(paths)
    probes = [where.submit() for _ in range(4)]
    return {"results": {r.family: (r.loaded, r.totals) for r in results}, "pids": {p.result() for p in probes}}


def _canonical(df: pd.DataFrame) -> pd.DataFrame:
    df = df.astype("string").fillna("<NA>")
    return df.sort_values(list(df.columns)).reset_index(drop=True)


def test_dask_ingest_matches_the_default_runner(tmp_path):
    runner = ingest_task_runner("dask:2")
    assert {"n_workers": 2, "processes": True, "threads_per_worker": 1}.items() <= runner.cluster_kwargs.items()
    write_sample(tmp_path / "threads" / "landing")     # once: Excel files carry their write time in their bytes
    shutil.copytree(tmp_path / "threads" / "landing", tmp_path / "dask" / "landing")
    # a time limit: a hung ingest fails the test instead of hanging CI
    default = ingest_only.with_options(task_runner=ingest_task_runner("threads"), timeout_seconds=300)(
        home=str(tmp_path / "threads"))
    dask = ingest_only.with_options(task_runner=runner, timeout_seconds=300)(home=str(tmp_path / "dask"))

    assert default["pids"] == {os.getpid()}                     # threads: this process
    assert os.getpid() not in dask["pids"] and len(dask["pids"]) >= 1   # Dask: worker processes
    assert list(dask["results"]) == list(default["results"])
    for family, (rows, totals) in default["results"].items():
        d_rows, d_totals = dask["results"][family]
        assert d_totals == totals, family
        pd.testing.assert_frame_equal(_canonical(d_rows), _canonical(rows), obj=family)
    assert default["results"]["activity_reports"][1]["rows_loaded"] > 0
