"""The project installs and is described consistently: pyproject.toml,
environment.yml, README.md, .ci/run and the command line agree."""

import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def requirement(spec):
    """'numpy>=1.24' -> ('numpy', '>=1.24')."""
    name, bound = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec).groups()
    return name.lower().replace("_", "-"), bound.replace(" ", "")


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


# Where conda-forge names a package differently from PyPI.
CONDA_FORGE_NAME = {"playwright": "playwright-python"}


def test_environment_yml_lists_exactly_what_pyproject_requires():
    project = pyproject()["project"]
    wanted = dict(requirement(s) for s in project["dependencies"] + project["optional-dependencies"]["test"])
    wanted = {CONDA_FORGE_NAME.get(name, name): bound for name, bound in wanted.items()}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"] == "matrixcalc"
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    listed = dict(requirement(d) for d in conda if not d.startswith(("python", "pip")))
    assert listed == wanted
    pip_part = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_part == [{"pip": ["-e ."]}]


def test_every_dependency_has_a_lower_bound():
    project = pyproject()["project"]
    for spec in project["dependencies"] + project["optional-dependencies"]["test"]:
        assert ">=" in spec, f"{spec} has no lower bound"


def is_the_lower_bound(installed, bound):
    """Whether an installed release is the one a bound's lower end names:
    ('1.13.0', '>=1.13') -> True; ('1.11.1', '>=1.11') -> True (a bugfix release of it);
    ('1.13.0', '>=1.12') -> False: 1.12 was not installable, so the bound promises too much."""
    lower = re.search(r">=\s*([0-9][0-9.]*)", bound)
    assert lower, f"{bound!r} has no lower bound"
    want = Version(lower.group(1)).release
    return Version(installed).release[:len(want)] == want


def test_is_the_lower_bound():
    assert is_the_lower_bound("1.13.0", ">=1.13")
    assert is_the_lower_bound("1.11.1", ">=1.11")
    assert is_the_lower_bound("6.25.0", ">=6.25,<7")
    assert is_the_lower_bound("2023.1.0", ">=2023.1")
    assert is_the_lower_bound("6.0", ">=6.0")
    assert not is_the_lower_bound("1.13.0", ">=1.12")
    assert not is_the_lower_bound("2.0.0", ">=1.25")
    assert not is_the_lower_bound("7.10.0", ">=7.1")
    with pytest.raises(AssertionError):
        is_the_lower_bound("1.0", "<2")


def ci_commands():
    """.ci/run's lines, continuations joined and comments dropped."""
    text = (ROOT / ".ci/run").read_text().replace("\\\n", " ")
    return [re.sub(r"(^|\s)#.*$", "", line).strip() for line in text.splitlines()]


def test_ci_runs_the_tests_again_at_the_lowest_versions_allowed():
    lines = ci_commands()
    installs = [i for i, line in enumerate(lines)
                if re.search(r'\buv"?\s+pip\s+install\b', line) and "--resolution lowest-direct" in line]
    assert len(installs) == 1, "no (or more than one) uv install at --resolution lowest-direct"
    assert '-e ".[test]"' in lines[installs[0]]
    runs = [i for i, line in enumerate(lines) if re.search(r"\bMC_LOWEST_VERSIONS=1 pytest\b", line)]
    assert len(runs) == 1 and runs[0] > installs[0], "the lowest-version environment is not tested"
    # into a virtual environment of its own, which that pytest runs in
    env = re.search(r'--python "([^"]+)/bin/python"', lines[installs[0]]).group(1)
    assert any(line.startswith(f'source "{env}/bin/activate"') for line in lines[installs[0]:runs[0]])
    assert any(re.search(rf'new_venv "{re.escape(env)}"', line) for line in lines[:installs[0]])


LOWEST = os.environ.get("MC_LOWEST_VERSIONS") == "1"


@pytest.mark.skipif(not LOWEST, reason="checks .ci/run's lowest-version environment (MC_LOWEST_VERSIONS=1)")
def test_the_lowest_version_environment_has_each_lower_bound():
    """There, every direct dependency must be the release its lower bound names: a
    bound that no resolution reaches (yanked, or excluded by another bound) is untested."""
    project = pyproject()["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["test"]
    off = [f"{name} {version(name)} (pyproject.toml: {bound})"
           for name, bound in map(requirement, specs) if not is_the_lower_bound(version(name), bound)]
    assert not off, "installed above the lower bound, so the bound is not what was tested: " + ", ".join(off)


def test_readme_quick_start_and_ci_run_the_same_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)\n```", readme, re.S)
    assert 'pip install -e ".[test]" && jupyter lab' in commands
    assert 'pip install -e ".[test]" && pytest' in commands
    ci = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    assert 'pip install -e ".[test]" && pytest' in ci


def test_console_script_is_matrixcalc_and_never_mc():
    scripts = pyproject()["project"]["scripts"]
    assert scripts == {"matrixcalc": "mc.__main__:main"}


def test_python_dash_m_mc_works():
    run = lambda *a: subprocess.run([sys.executable, "-m", "mc", *a],  # noqa: E731
                                    capture_output=True, text=True, cwd=ROOT)
    assert run("--version").stdout.startswith("matrixcalc ")
    doctor = run("doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "derivative checker self-test: ok" in doctor.stdout


def test_import_mc_loads_no_heavy_modules():
    code = ("import sys, mc; heavy = [m for m in ('matplotlib', 'sympy', 'ipywidgets', "
            "'nbformat', 'nbclient', 'IPython') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_lazy_submodules_load_on_first_use():
    import mc
    assert mc.fd.central_difference is not None
    assert "fd" in dir(mc)


def test_command_line_doctests():
    """pytest's --doctest-modules leaves __main__.py out; its examples run here."""
    import doctest

    import mc.__main__
    result = doctest.testmod(mc.__main__, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 2 and result.failed == 0


def test_doctor_warns_where_widget_callbacks_would_run_beside_cells():
    from mc.__main__ import widget_thread_warning
    assert widget_thread_warning("6.31.0", "4.6.6") is None      # no subshells in ipykernel 6
    assert widget_thread_warning("7.4.0", "4.3.9") is None       # JupyterLab sends comms to the main shell
    warning = widget_thread_warning("7.4.0", "4.4.0")
    assert "ipykernel<7" in warning and "Kernel Comms over subshells" in warning
    # The pin that keeps the course's own environment clear of the problem:
    deps = dict(requirement(s) for s in pyproject()["project"]["dependencies"])
    assert deps["ipykernel"].endswith(",<7")


def test_readme_pictures_are_screenshots_taken_by_the_browser_tests():
    """The README shows a lecture and a grading report, as the real-browser tests
    photographed them (tests/browser_support.save_readme_image records which test took
    each picture and of what), small enough to keep in the repository."""
    from PIL import Image

    readme = (ROOT / "README.md").read_text()
    pictures = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", readme)
    assert {"docs/images/lecture.png", "docs/images/grading-report.png"} <= set(pictures)
    for rel in pictures:
        path = ROOT / rel
        assert path.exists(), f"README shows {rel}, which does not exist"
        assert path.stat().st_size < 300_000, f"{rel} is {path.stat().st_size} bytes"
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width >= 800
            assert image.text.get("Software") == "tests/test_browser.py", f"{rel} was not taken by the tests"
            assert (ROOT / image.text["Source"]).exists(), f"{rel} shows {image.text['Source']}, which is gone"
