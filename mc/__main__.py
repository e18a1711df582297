"""Command line: ``python -m mc …`` (also installed as ``matrixcalc``).

    python -m mc --version
    python -m mc doctor        # is this environment ready for the course?

    python -m mc assign psets/pset1                      # student release + autograder bundle
    python -m mc grade psets/pset1 SUBMISSIONS --out OUT # grade a class
    python -m mc site                                    # lectures as HTML in site/
"""

import argparse
import importlib
import platform
import re
import sys
from pathlib import Path

# What the course needs, and the lowest version it is tested with (pyproject.toml).
REQUIRED = ["numpy", "scipy", "matplotlib", "ipywidgets", "sympy", "nbformat", "nbclient",
            "ipykernel", "jupyterlab"]


def widget_thread_warning(ipykernel_version, jupyterlab_version):
    """A warning when JupyterLab may run widget callbacks beside running cells, else None.

    JupyterLab 4.4 and later send widget messages to kernel subshells when the kernel
    has them, and ipykernel 7 does: an ``interact`` callback then runs on a thread of
    its own while Run All goes on, and matplotlib (not thread-safe) sometimes fails.

    >>> widget_thread_warning("6.31.0", "4.6.6") is None
    True
    >>> print(widget_thread_warning("7.1.0", "4.5.0"))  # doctest: +ELLIPSIS
    ipykernel 7.1.0 with JupyterLab 4.5.0 runs widget callbacks ... "Disabled".
    """
    def major_minor(text):
        return tuple(int(part) for part in re.findall(r"\d+", text)[:2])

    if major_minor(ipykernel_version) < (7, 0) or major_minor(jupyterlab_version) < (4, 4):
        return None
    return (f"ipykernel {ipykernel_version} with JupyterLab {jupyterlab_version} runs widget "
            "callbacks on a thread beside running cells, so plots in the lectures' widgets "
            "can break. Fix: pip install 'ipykernel<7', or in JupyterLab open Settings → "
            "Settings Editor → Kernels and set \"Kernel Comms over subshells\" to \"Disabled\".")


def doctor(_args):
    """Print the versions of what the course needs; exit 1 if something is missing."""
    from importlib.metadata import PackageNotFoundError, version

    import mc

    print(f"matrixcalc {mc.__version__} on Python {platform.python_version()} ({sys.executable})")
    missing = []
    for name in REQUIRED:
        try:
            print(f"  {name:12} {version(name)}")
        except PackageNotFoundError:
            print(f"  {name:12} MISSING")
            missing.append(name)
    try:
        importlib.import_module("mc.check")
        X = [[1.0, 2.0], [3.0, 4.0]]
        ok = mc.check_derivative(lambda X: X @ X, lambda X, dX: X @ dX + dX @ X, X).ok
        import numpy as np
        ad_ok = mc.check_gradient(np.linalg.det, mc.ad.grad(mc.ad.det), X).ok
        print(f"  automatic differentiation self-test: {'ok' if ad_ok else 'FAILED'}")
        ok = ok and ad_ok
    except Exception as e:  # pragma: no cover - only on a broken install
        ok = False
        print(f"  the derivative checker failed: {e}")
    print(f"  derivative checker self-test: {'ok' if ok else 'FAILED'}")
    if "ipykernel" not in missing and "jupyterlab" not in missing:
        warning = widget_thread_warning(version("ipykernel"), version("jupyterlab"))
        print(f"  widget callbacks: {'WARNING: ' + warning if warning else 'on the kernel main thread'}")
    if missing:
        print('Install what is missing with:  pip install -e ".[test]"')
    return 0 if ok and not missing else 1


def assign(args):
    """Generate a pset's student release and autograder bundle."""
    from mc.grade.assign import assign as write_release

    for path in write_release(args.pset):
        print(f"wrote {path}")
    return 0


def grade(args):
    """Grade a folder or zip of submissions.

    Exits 1 with one message (no traceback) when the batch cannot start — invalid
    manual scores, an unknown --student, a failed canary — and 1 after writing every
    row when the grader failed on some students."""
    from mc.grade.batch import BatchError, grade_class, grader_failures
    from mc.grade.fence import IsolationError
    from mc.grade.report import ManualScoreError
    from mc.grade.sandbox import Limits
    from mc.grade.spec import SpecError
    from mc.grade.submissions import IdentityError

    limits = Limits(cell_timeout=args.cell_timeout, call_timeout=args.call_timeout)
    try:
        rows = grade_class(args.pset, args.submissions, args.out, regrade=args.regrade,
                           workers=args.workers, limits=limits, secret=args.secret,
                           canvas_assignment=args.canvas_assignment, progress=not args.quiet,
                           launcher=args.launcher, isolate=not args.no_isolation,
                           scheduler=args.scheduler, students=args.student or (),
                           canary=not args.no_canary, hidden_visibility=args.hidden_visibility,
                           require_isolation=args.require_isolation)
    except (BatchError, ManualScoreError, IdentityError, SpecError, FileNotFoundError,
            IsolationError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if not args.quiet:
        print((Path(args.out) / "summary.txt").read_text(), end="")
        print(f"wrote {Path(args.out) / 'grades.csv'} ({len(rows)} rows), canvas.csv, "
              "feedback/, results/")
    failures = grader_failures(rows)
    if failures:
        print(f"error: {failures}", file=sys.stderr)
        return 1
    return 0


def site(args):
    """Build the static HTML site of the lectures."""
    import time

    from mc.site import build_site

    started = time.perf_counter()
    paths = build_site(args.root, args.out, workers=args.workers)
    print(f"wrote {len(paths)} files to {args.out} in {time.perf_counter() - started:.1f} s; "
          f"open {Path(args.out) / 'index.html'}")
    return 0


def build_parser():
    import mc

    parser = argparse.ArgumentParser(prog="python -m mc", description="matrixcalc course tools")
    parser.add_argument("--version", action="version", version=f"matrixcalc {mc.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("doctor", help="check that this environment is ready for the course"
                        ).set_defaults(run=doctor)
    p = commands.add_parser("assign", help="generate a pset's student release and autograder bundle")
    p.add_argument("pset", help="the pset folder, e.g. psets/pset1")
    p.set_defaults(run=assign)
    p = commands.add_parser("grade", help="grade a folder or Canvas zip of submitted notebooks")
    p.add_argument("pset", help="the pset folder, e.g. psets/pset1")
    p.add_argument("submissions", help="a folder of .ipynb files or a Canvas bulk-download .zip")
    p.add_argument("--out", required=True, help="output folder (grades.csv, feedback/, …)")
    p.add_argument("--regrade", action="store_true",
                   help="regrade every submission (a rerun regrades only changed files)")
    p.add_argument("--student", action="append", metavar="NAME_OR_ID",
                   help="regrade this student even if the file is unchanged (file stem, Canvas "
                        "user id or name as grades.csv shows it; repeatable)")
    p.add_argument("--no-canary", action="store_true",
                   help="do not grade the reference solution first (needed when the pset folder "
                        "has only the autograder bundle)")
    p.add_argument("--hidden-visibility", default="after_published",
                   choices=["hidden", "after_due_date", "after_published", "visible"],
                   help="Gradescope visibility of the hidden checks' tests in results.json "
                        "(default after_published)")
    p.add_argument("--workers", "--jobs", type=int, default=None,
                   help="submissions graded at once (default: the number of cores)")
    p.add_argument("--launcher", choices=["zygote", "subprocess"], default="zygote",
                   help="fork each submission from a pre-warmed process (default) or start "
                        "a new interpreter")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                   help="grade on a Dask cluster instead of this machine")
    p.add_argument("--require-isolation", default=None, metavar="LEVEL",
                   help="refuse to grade unless these protections hold: a level (contained, "
                        "protected, full) or names such as read-only,no-network (see "
                        "docs/instructor.md); the run always prints what holds")
    p.add_argument("--no-isolation", action="store_true",
                   help="do not hide the instructor's folders or change user (debugging only)")
    p.add_argument("--cell-timeout", type=float, default=30.0, help="seconds per cell (default 30)")
    p.add_argument("--call-timeout", type=float, default=10.0,
                   help="seconds per call of an answer (default 10)")
    p.add_argument("--secret", default="", help="mixed into the random inputs' seeds")
    p.add_argument("--canvas-assignment", default=None,
                   help="assignment column header for canvas.csv, e.g. 'Problem Set 1 (12345)'")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary")
    p.set_defaults(run=grade)
    p = commands.add_parser("site", help="build a static HTML site of the lectures (site/index.html)")
    p.add_argument("--root", default=".", help="the course folder, holding lectures/ (default: .)")
    p.add_argument("--out", default="site", help="output folder (default: site)")
    p.add_argument("--workers", type=int, default=None,
                   help="notebooks rendered at once (default: the number of cores)")
    p.set_defaults(run=site)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
