"""The course as a student meets it: every lecture and problem-set template opened in
JupyterLab in a real (headless) Chromium, run with Run → Run All Cells, and every
interact widget moved.

One JupyterLab server (loopback, random token, its own config, data and settings
folders) serves a temporary copy of lectures/*.ipynb and of each psets/psetN/release/
folder; one browser is shared and the notebooks run one after another, each in a new
page with a new kernel, which is shut down afterwards. For each notebook the test checks
that

* Run All finishes (120 s at most): the kernel is idle and every non-blank code cell
  shows an execution count, in increasing order (no "[*]" or "[ ]" left);
* no output shows an exception: no output of type "error" in the notebook model, and no
  rendered stderr output with a Traceback or an ...Error/...Exception name (JupyterLab
  renders error outputs and stderr streams alike, as application/vnd.jupyter.stderr);
  a problem-set template's blank answers make each `grader.check(...)` *report* failed
  checks in its result, which is an ordinary output, not an exception;
* every `interact` rendered (a lecture has at least one), and moving each of its
  controls (slider: arrow keys on the handle; dropdown: another option) changes what
  the interact's output area shows, without an exception.

A probe notebook checks first that widget callbacks run on the kernel's main thread (see
test_widget_callbacks_run_on_the_kernels_main_thread).

Two more tests follow a student further: one types a wrong and then the reference
answer to a pset question into JupyterLab and runs its check cell (Shift+Enter), and one
renders the feedback page the grader writes for an example submission.

Screenshots of each executed notebook go to tests/artifacts/browser/<notebook>.png (git
ignores them; CI can keep the folder), lecture 1's widget to lecture-01.png and the
feedback page to grading-report.png; with MC_UPDATE_README_IMAGES=1 these two also
become the README's pictures in docs/images/.

Needs Chromium at /usr/bin/chromium (or $MC_CHROMIUM) and Playwright for Python; the
module is skipped without them, except where MC_REQUIRE_BROWSER=1 (.ci/run sets it).
No browser is ever downloaded, and every request that is not to 127.0.0.1 / localhost
is aborted.
"""

import os
import re
import time
from pathlib import Path

import nbformat
import pytest

from browser_support import (CHROMIUM, CHROMIUM_ARGS, README_IMAGES, LabServer, NotebookPage,
                             copy_course, loopback_only, save_readme_image, write_thread_probe)

# CI (.ci/run) sets MC_REQUIRE_BROWSER=1: there a missing browser is a failure, not a skip.
REQUIRED = os.environ.get("MC_REQUIRE_BROWSER") == "1"
if not Path(CHROMIUM).exists():
    message = f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    if REQUIRED:
        raise RuntimeError(message + "; MC_REQUIRE_BROWSER=1 asks for the browser tests")
    pytest.skip(message, allow_module_level=True)
try:
    from playwright import sync_api
except ImportError:
    if REQUIRED:
        raise
    pytest.skip("Playwright is not installed (pip install playwright)", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
RUN_ALL_TIMEOUT = 120           # seconds per notebook
WIDGET_TIMEOUT = 60             # seconds for an interact's output to follow its control
# MC_UPDATE_README_IMAGES=1 also writes the README's pictures (docs/images/), from the
# screenshots these tests take; tests/test_packaging.py checks what the README shows.
UPDATE_README_IMAGES = os.environ.get("MC_UPDATE_README_IMAGES") == "1"
INTERACT_CALL = re.compile(r"\binteract(?:_manual)?\s*\(")

LECTURES = sorted((ROOT / "lectures").glob("*.ipynb"))
PSETS = sorted((ROOT / "psets").glob("pset*/release/pset*.ipynb"))
NOTEBOOKS = LECTURES + PSETS


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """{source notebook: (path in the server's root, kind)} for the temporary copy."""
    root = tmp_path_factory.mktemp("jupyterlab-root")
    return root, {src: (rel, kind) for rel, kind, src in copy_course(ROOT, root)}


@pytest.fixture(scope="module")
def lab(course, tmp_path_factory):
    root, _ = course
    server = LabServer(root, tmp_path_factory.mktemp("jupyterlab-home"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


BLOCKED = []      # every request off this machine that the browser tried (all aborted)


@pytest.fixture(scope="module")
def browser_context():
    """One headless Chromium and one context (so JupyterLab's scripts stay cached);
    each notebook opens in a new page of it."""
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True)
        try:
            context = chromium.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", loopback_only(BLOCKED))
            yield context
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def test_there_is_something_to_open():
    assert LECTURES, "no lectures/*.ipynb"
    assert PSETS, "no psets/psetN/release/psetN.ipynb"
    for nb in PSETS:
        checks = nb.with_name(nb.stem + "_checks.py")
        assert checks.exists(), f"{nb.relative_to(ROOT)} has no {checks.name} beside it"


def test_widget_callbacks_run_on_the_kernels_main_thread(course, lab, browser_context):
    """An interact callback runs on the kernel's main thread, never beside a running cell.

    JupyterLab >= 4.4 sends widget messages to kernel subshells by default (setting
    commsOverSubshells of @jupyterlab/apputils-extension:kernels-settings), and
    ipykernel >= 7 runs each subshell on a thread of its own: the lectures' interact
    callbacks then draw with matplotlib while Run All executes the next cells, which
    draw too, and matplotlib is not thread-safe (its mathtext parser is shared): now
    and then an interact shows "ValueError: ParseException ..." instead of its plot.
    """
    probe = write_thread_probe(course[0])
    nbpage = NotebookPage(browser_context, lab, probe)
    try:
        nbpage.open(n_cells=1)
        nbpage.run_all_from_menu()
        nbpage.wait_until_run(timeout=RUN_ALL_TIMEOUT)
        box = nbpage.interacts().first
        output = box.locator(":scope > .widget-output").first
        control = nbpage.controls(box)[0]
        before = nbpage.fingerprint(output)
        nbpage.move_control(box, 0, control)
        nbpage.wait_output_change(output, before, timeout=WIDGET_TIMEOUT)
        text = output.inner_text()
    finally:
        nbpage.close()
    assert "main thread" in text and "other thread" not in text, (
        f"after moving a slider the interact printed {text.strip()!r}: widget callbacks run on "
        "a kernel subshell thread, concurrently with cells (JupyterLab's commsOverSubshells "
        "with ipykernel >= 7), which breaks matplotlib in the lectures' interacts")


def _exercise_widgets(nbpage, problems):
    """Move every control of every interact; returns a log of what happened."""
    log = []
    boxes = nbpage.interacts()
    for i in range(boxes.count()):
        box = boxes.nth(i)
        output = box.locator(":scope > .widget-output").first
        if not output.count():
            problems.append(f"interact #{i + 1} has no output area")
            continue
        controls = nbpage.controls(box)
        if not [c for c in controls if c["kind"] != "button"]:
            problems.append(f"interact #{i + 1} has no control to move")
        if not output.inner_text().strip() and not output.locator("img").count():
            problems.append(f"interact #{i + 1} shows nothing after Run All")
        for j, control in enumerate(controls):
            if control["kind"] == "button":
                continue
            before = nbpage.fingerprint(output)
            started = time.monotonic()
            value = nbpage.move_control(box, j, control)
            name = f"interact #{i + 1}, {control['kind']} {control['label']!r}"
            if value == control["value"]:
                problems.append(f"{name}: the control did not move (still {value!r})")
                continue
            try:
                nbpage.wait_output_change(output, before, timeout=WIDGET_TIMEOUT)
            except AssertionError as exc:
                problems.append(f"{name}: {control['value']!r} → {value!r} did not change the output ({exc})")
                continue
            log.append(f"{name}: {control['value']} → {value}, output updated in "
                       f"{time.monotonic() - started:.1f} s")
    return log


@pytest.mark.parametrize("source", NOTEBOOKS, ids=[nb.name for nb in NOTEBOOKS])
def test_run_all_in_jupyterlab(source, course, lab, browser_context, artifacts, record_property):
    _, copied = course
    path, kind = copied[source]
    nb = nbformat.read(source, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    expected_interacts = sum(1 for c in code if INTERACT_CALL.search(c.source))
    problems = []
    blocked_before = len(BLOCKED)
    started = time.monotonic()

    nbpage = NotebookPage(browser_context, lab, path)
    try:
        nbpage.open(n_cells=len(nb.cells))
        opened = time.monotonic()
        nbpage.run_all_from_menu()
        cells = nbpage.wait_until_run(timeout=RUN_ALL_TIMEOUT)
        ran = time.monotonic()
        nbpage.screenshot_whole(artifacts / f"{source.stem}.png")
        photographed = time.monotonic()
        if source.name.startswith("01_") and kind == "lecture":
            # For the README: the lecture's widget with the text that introduces it.
            shot = artifacts / "lecture-01.png"
            cell = nbpage.page.locator(".jp-CodeCell", has=nbpage.page.locator(".widget-interact")).first
            nbpage.screenshot_at(cell, shot, above=0.02)
            if UPDATE_README_IMAGES:
                save_readme_image(shot, README_IMAGES / "lecture.png", f"lectures/{source.name}")

        # Every non-blank code cell ran, top to bottom, in this kernel.
        assert len(cells) == len(code), f"{len(cells)} code cells on the page, {len(code)} in the file"
        counts = []
        for i, cell in enumerate(cells):
            if cell["blank"]:
                continue
            if not re.fullmatch(r"\[\d+\]:", cell["prompt"] or ""):
                problems.append(f"code cell {i} shows prompt {cell['prompt']!r} after Run All")
            else:
                counts.append(int(cell["prompt"][1:-2]))
        if counts != sorted(set(counts)):
            problems.append(f"execution counts out of order: {counts}")

        # No exception anywhere.
        for i, cell in enumerate(cells):
            for out in cell["outputs"]:
                if out["type"] == "error":
                    problems.append(f"code cell {i} raised {out['ename']}: {out['evalue']}")
        for text in nbpage.error_renderings():
            problems.append(f"an output shows an exception:\n{text}")

        if kind == "pset":
            # Each grader.check(...) cell answers with a result (the template's blanks
            # fail their checks, which the result reports), not with an exception.
            for i, (cell, src) in enumerate(zip(cells, code)):
                if "grader.check" in src.source and not any(
                        o["type"] == "execute_result" for o in cell["outputs"]):
                    problems.append(f"code cell {i} ({src.source.strip()[:40]!r}) shows no check result")

        # Widgets: all interacts rendered, and each follows its controls.
        n_interacts = nbpage.interacts().count()
        if kind == "lecture" and n_interacts == 0:
            problems.append("no interact widget on the page (every lecture has one)")
        if n_interacts < expected_interacts:
            problems.append(f"{n_interacts} interact widgets rendered; the code calls interact "
                            f"in {expected_interacts} cells")
        widget_log = _exercise_widgets(nbpage, problems)
        for text in nbpage.error_renderings():
            problems.append(f"after moving the widgets, an output shows an exception:\n{text}")
        if len(BLOCKED) > blocked_before:
            problems.append(f"requests off this machine (blocked): {sorted(set(BLOCKED[blocked_before:]))[:5]}")
    except Exception:
        nbpage.page.screenshot(path=str(artifacts / f"{source.stem}-failure.png"))
        raise
    finally:
        nbpage.close()

    finished = time.monotonic()
    record_property("open_seconds", round(opened - started, 1))
    record_property("run_all_seconds", round(ran - opened, 1))
    record_property("screenshot_seconds", round(photographed - ran, 1))
    record_property("widget_seconds", round(finished - photographed, 1))
    print(f"\n{path}: opened in {opened - started:.1f} s, Run All {ran - opened:.1f} s, "
          f"screenshot {photographed - ran:.1f} s, {n_interacts} interact(s), "
          f"widgets {finished - photographed:.1f} s")
    for line in widget_log:
        print("   ", line)
    assert not problems, f"{path}:\n" + "\n".join(problems) + (
        "\nbrowser console errors:\n" + "\n".join(nbpage.console_errors[:10])
        if nbpage.console_errors else "")


def test_grading_report_reads_in_a_browser(browser_context, artifacts, tmp_path):
    """The feedback page a student gets (here bob's, from grading the example
    submissions) shows, rendered, the score, one row per question with its points, each
    check's verdict, and the mistake a wrong answer looks like."""
    from mc.grade.batch import grade_class, load_bundle
    from mc.grade.sandbox import Limits

    pset = ROOT / "psets" / "pset1"
    out = tmp_path / "graded"
    grade_class(pset, ROOT / "examples" / "submissions", out,
                limits=Limits(cell_timeout=5, call_timeout=10), progress=False, jobs=2)
    spec = load_bundle(pset)
    page = browser_context.new_page()
    try:
        page.set_content((out / "feedback" / "bob.html").read_text(encoding="utf-8"))
        assert page.locator("h1").inner_text() == f"{spec.name}: 33 / {spec.max_score:g}"
        rows = page.locator("table tr")
        assert rows.count() == 1 + len(spec.questions)
        p5b = rows.filter(has_text=re.compile(r"^\s*p5b\b"))
        assert p5b.count() == 1 and "0 / 3" in p5b.inner_text()
        mistake = p5b.get_by_text(re.compile(r"looks like:? 2Ax: A treated as symmetric")).first
        assert mistake.is_visible()
        wrong = page.locator("span.no").first
        assert wrong.is_visible() and wrong.evaluate("e => getComputedStyle(e).color") == "rgb(207, 34, 46)"
        shot = artifacts / "grading-report.png"
        page.set_viewport_size({"width": 1100, "height": 900})
        page.screenshot(path=str(shot), full_page=True)
        if UPDATE_README_IMAGES:
            save_readme_image(shot, README_IMAGES / "grading-report.png", "examples/submissions/bob.ipynb")
    finally:
        page.close()


def test_a_student_answers_a_question_and_checks_it(course, lab, browser_context, artifacts):
    """The problem-set loop in JupyterLab: after Run All on the blank template, type a
    typical wrong answer into p4's cell, Shift+Enter twice (the answer, then its
    `grader.check("p4")` cell): the check fails and says which mistake it looks like;
    type the reference answer instead and the same two keys make the check pass."""
    import runpy

    release = ROOT / "psets" / "pset1" / "release" / "pset1.ipynb"
    template = nbformat.read(release, as_version=4)
    answer_at = next(i for i, c in enumerate(template.cells) if c.source.startswith("def jac_p4("))
    assert template.cells[answer_at + 1].source.strip() == 'grader.check("p4")'
    source = nbformat.read(ROOT / "psets" / "pset1" / "pset1_source.ipynb", as_version=4)
    reference = next(c.source for c in source.cells if c.source.startswith("def jac_p4("))
    mistake, wrong = runpy.run_path(str(ROOT / "psets" / "pset1" / "wrong_answers.py"))["WRONG"]["p4"][0]

    nbpage = NotebookPage(browser_context, lab, "pset1/pset1.ipynb")
    try:
        nbpage.open(n_cells=len(template.cells))
        nbpage.run_all_from_menu()
        nbpage.wait_until_run(timeout=RUN_ALL_TIMEOUT)
        output = nbpage.cell(answer_at + 1).locator(".jp-OutputArea").first
        assert "p4: 1 of 1 public check(s) failed" in output.inner_text()

        shown = {}
        for name, code in (("wrong", wrong.strip()), ("reference", reference)):
            assert nbpage.type_into(answer_at, code) == code
            before = nbpage.fingerprint(output)
            nbpage.page.keyboard.press("Shift+Enter")      # run the answer; the check cell is next
            nbpage.page.keyboard.press("Shift+Enter")      # run the check
            nbpage.wait_output_change(output, before, timeout=WIDGET_TIMEOUT)
            shown[name] = output.inner_text()
        nbpage.screenshot_at(nbpage.cell(answer_at), artifacts / "pset1-p4-answered.png", above=0.05)
        for text in nbpage.error_renderings():
            raise AssertionError(f"an output shows an exception:\n{text}")
    finally:
        nbpage.close()
    assert "p4: 1 of 1 public check(s) failed" in shown["wrong"], shown["wrong"]
    assert mistake in shown["wrong"], f"the hint {mistake!r} is not shown:\n{shown['wrong']}"
    assert "p4: all 1 public check(s) passed" in shown["reference"], shown["reference"]
