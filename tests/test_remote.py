"""Scale-out: the same grading task on a Dask cluster gives the same grades."""

from pathlib import Path

import pytest

from mc.grade.batch import grade_class
from mc.grade.fence import Limits

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]


def test_dask_cluster_grades_identically_to_a_local_run(tmp_path):
    subs = ROOT / "examples" / "submissions"
    limits = Limits(cell_timeout=5, call_timeout=10)
    grade_class(ROOT / "psets" / "pset1", subs, tmp_path / "local", limits=limits, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        grade_class(ROOT / "psets" / "pset1", subs, tmp_path / "cluster", limits=limits,
                    progress=False, scheduler=cluster.scheduler_address)
    local = (tmp_path / "local" / "grades.csv").read_text()
    assert (tmp_path / "cluster" / "grades.csv").read_text() == local
    assert local.count("\n") == 6           # header + five students
