"""Command line: ``python -m mc …`` (also installed as ``matrixcalc``).

    python -m mc --version
    python -m mc doctor        # is this environment ready for the course?

Later stages add their own subcommands (``assign``, ``grade``, ``site``).
"""

import argparse
import importlib
import platform
import sys

# What the course needs, and the lowest version it is tested with (pyproject.toml).
REQUIRED = ["numpy", "scipy", "matplotlib", "ipywidgets", "sympy", "nbformat", "nbclient",
            "ipykernel", "jupyterlab"]


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
        ok = mc.check_derivative(lambda X: X @ X, lambda X, dX: X @ dX + dX @ X,
                                 [[1.0, 2.0], [3.0, 4.0]]).ok
    except Exception as e:  # pragma: no cover - only on a broken install
        ok = False
        print(f"  the derivative checker failed: {e}")
    print(f"  derivative checker self-test: {'ok' if ok else 'FAILED'}")
    if missing:
        print('Install what is missing with:  pip install -e ".[test]"')
    return 0 if ok and not missing else 1


def build_parser():
    import mc

    parser = argparse.ArgumentParser(prog="python -m mc", description="matrixcalc course tools")
    parser.add_argument("--version", action="version", version=f"matrixcalc {mc.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("doctor", help="check that this environment is ready for the course"
                        ).set_defaults(run=doctor)
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
