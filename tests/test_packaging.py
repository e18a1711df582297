"""The project installs and is described consistently: pyproject.toml,
environment.yml, README.md, .ci/run and the command line agree."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def requirement(spec):
    """'numpy>=1.24' -> ('numpy', '>=1.24')."""
    name, bound = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec).groups()
    return name.lower().replace("_", "-"), bound.replace(" ", "")


def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_lists_exactly_what_pyproject_requires():
    project = pyproject()["project"]
    wanted = dict(requirement(s) for s in project["dependencies"] + project["optional-dependencies"]["test"])
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
