"""mc.grade.fence: the plan a probe makes, and --require-isolation refusing too little."""

import subprocess
import sys
from pathlib import Path

import pytest

from mc.grade.fence import LEVELS, PROTECTIONS, IsolationError, Plan, probe, reserve_user_ids

ROOT = Path(__file__).resolve().parents[1]


def test_require_names_what_is_missing_and_why():
    plan = Plan(environment="unprivileged user", holds={p: p in ("contained", "limits") for p in PROTECTIONS},
                notes=["unprivileged user namespaces are not allowed here"])
    plan.require("contained")                                   # holds: no error
    with pytest.raises(IsolationError, match="read-only, no-signals cannot be promised.*namespaces"):
        plan.require("protected")
    with pytest.raises(ValueError, match="unknown protection 'no-internet'"):
        plan.require("no-internet")
    assert plan.missing("hidden,no-network") == ["hidden", "no-network"]
    assert set(LEVELS["full"]) == set(PROTECTIONS)


def test_probe_switched_off_claims_only_what_still_holds():
    plan = probe(hide=[str(ROOT)], isolate=False)
    assert not (plan.setuid or plan.mount or plan.network or plan.pid or plan.landlock)
    assert plan.holds == {"contained": False, "limits": True, "read-only": False, "no-signals": False,
                          "hidden": False, "no-network": False}
    assert "isolation switched off" in plan.line()


def test_two_runs_never_share_user_ids():
    first, second = reserve_user_ids(2), reserve_user_ids(2)
    try:
        assert first.base != second.base
    finally:
        first.release()
        second.release()


def test_the_command_line_refuses_before_grading(tmp_path):
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "mc", "grade", str(ROOT / "tests" / "data" / "psetdemo"),
                           str(ROOT / "examples" / "submissions"), "--out", str(out), "--no-isolation",
                           "--require-isolation", "read-only"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 1
    assert "--require-isolation read-only: read-only cannot be promised" in done.stderr
    assert not out.exists()                                    # nothing graded, nothing written
