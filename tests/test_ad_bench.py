"""bench/ad.py runs, and mc.ad's gradients there agree with HIPS autograd's."""

import importlib.util
from pathlib import Path

import numpy as np

import mc

BENCH = Path(__file__).resolve().parents[1] / "bench" / "ad.py"
spec = importlib.util.spec_from_file_location("bench_ad", BENCH)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_bench_problems_give_the_same_gradient_as_autograd():
    mlp, params = bench.mlp_problem(batch=8, width=8)
    row = bench.measure("mlp", mlp, params, repeat=2)
    assert row["agree"] and row["ours"] > 0
    adj, p = bench.adjoint_problem(n=70)
    assert bench.measure("adjoint", adj, p, repeat=2)["agree"]
    for f, x in (bench.chain_problem(n=12), bench.logdet_problem(n=15), bench.elementwise_problem(size=50)):
        assert bench.measure("more", f, x, repeat=2)["agree"]


def test_adjoint_problem_gradient_is_the_adjoint_method():
    g, p = bench.adjoint_problem(n=70)
    ops = bench.namespaces()
    r = mc.check_gradient(lambda p: g(p, ops["numpy"]), mc.ad.grad(lambda p: g(p, ops["mc.ad"])), p)
    assert r.ok, r.message


def test_bench_prints_a_table(capsys):
    bench.main(["--quick", "--repeat", "2"])
    out = capsys.readouterr().out
    assert "mc.ad/forward" in out and "mc.ad/autograd" in out
    rows = [line for line in out.splitlines() if line.rstrip().endswith(("yes", "NO"))]
    assert len(rows) == 5 and all(line.rstrip().endswith("yes") for line in rows), out   # all agree
    for program in ("MLP loss", "chain of 50 products", "logdet of", "200 elementwise ops", "adjoint"):
        assert program in out


def test_nearby_points_are_distinct():
    points = bench.nearby_points([np.zeros(2), np.zeros(3)], 3)
    assert len(points) == 3 and not np.array_equal(points[0][0], points[1][0])
