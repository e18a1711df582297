"""Lecture notebooks follow the course's rules: executed with outputs, no errors,
seeded randomness, no absolute paths, python3 kernel, the parts every lecture has,
and a fresh run (by nbval, earlier in the same pytest session) under a minute."""

import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "lectures").glob("*.ipynb"))

UNSEEDED = re.compile(
    r"np\.random\.(rand|randn|random|randint|normal|uniform|choice|seed|shuffle|permutation)\(|"
    r"default_rng\(\s*\)|random\.random\(|RandomState\(\s*\)"
)
ABSOLUTE_PATH = re.compile(r"""["'](/home/|/work/|/tmp/|/root/|/Users/|[A-Za-z]:\\\\)""")


def code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def markdown_text(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def code_text(nb):
    return "\n".join(c.source for c in code(nb))


def test_there_are_lectures():
    assert LECTURES, "no lecture notebooks found"


@pytest.fixture(params=LECTURES, ids=[p.name for p in LECTURES])
def lecture(request):
    nb = nbformat.read(request.param, as_version=4)
    nbformat.validate(nb)
    return request.param, nb


def test_kernel_is_python3(lecture):
    _, nb = lecture
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["kernelspec"]["language"] == "python"


def test_stored_outputs_and_no_errors(lecture):
    _, nb = lecture
    for i, cell in enumerate(code(nb)):
        if cell.source.strip():
            assert cell.execution_count is not None, f"code cell {i} was never executed"
        for out in cell.get("outputs", []):
            assert out["output_type"] != "error", f"code cell {i} stores an error: {out.get('ename')}"
            if out["output_type"] == "stream":
                assert out["name"] != "stderr" or "Warning" not in out["text"], \
                    f"code cell {i} stores a warning: {out['text'][:200]}"
    counts = [c.execution_count for c in code(nb) if c.execution_count is not None]
    assert counts == list(range(1, len(counts) + 1)), "cells were not run top to bottom in one kernel"


def test_seeded_randomness_and_no_absolute_paths(lecture):
    _, nb = lecture
    source = code_text(nb)
    assert not UNSEEDED.search(source), f"unseeded randomness: {UNSEEDED.search(source).group(0)}"
    assert not ABSOLUTE_PATH.search(source), f"absolute path: {ABSOLUTE_PATH.search(source).group(0)}"


def test_lecture_has_the_parts_every_lecture_has(lecture):
    path, nb = lecture
    text = markdown_text(nb)
    assert 20 <= len(nb.cells) <= 45, f"{len(nb.cells)} cells"
    assert re.search(r"what you will learn", text, re.I)
    assert "Run All" in text, "the note that widgets become live after Run All is missing"
    exercises = len(re.findall(r"<details>", text))
    assert 2 <= exercises <= 6, f"{exercises} hidden answers; want 2-4 exercises"
    source = code_text(nb)
    assert "import mc" in source
    assert "mc.check_" in source, "every formula is checked with mc.check_*"
    assert "interact" in source, "an ipywidgets explorer"
    assert "assert " in source, "numeric claims are asserted"
    images = sum(1 for c in code(nb) for o in c.get("outputs", []) if "image/png" in o.get("data", {}))
    assert images >= 1, "at least one plot"


def test_widget_cells_are_excluded_from_output_comparison(lecture):
    """A widget's output depends on the front end, so nbval must not compare it: the
    cell carries the tag nbval-ignore-output (a tag, not a comment, so students reading
    the code see no testing marker)."""
    _, nb = lecture
    for cell in code(nb):
        assert "NBVAL_" not in cell.source, f"use the cell tag, not a comment: {cell.source[:80]}"
        if re.search(r"\binteract(_manual)?\(", cell.source):
            assert "nbval-ignore-output" in cell.metadata.get("tags", []), cell.source[:80]


def test_fresh_execution_took_under_a_minute(lecture, notebook_seconds):
    path, _ = lecture
    seconds = notebook_seconds.get(path)
    if seconds is None:
        pytest.skip("nbval did not run this notebook in this session")
    assert seconds < 60, f"{path.name} took {seconds:.0f} s"


def test_contents_page_lists_every_lecture_once():
    contents = (ROOT / "lectures" / "README.md").read_text()
    linked = re.findall(r"\]\(([^)]+\.ipynb)\)", contents)
    assert sorted(linked) == sorted(p.name for p in LECTURES)
