"""Reading an instructor's source notebook: questions, solutions and checks.

The conventions (see psets/README.md):

* a markdown heading ``### p5b — … [3 points]`` declares an autograded question,
  ``### p2a — … [6 points, manual]`` a question graded by hand;
* ``# BEGIN SOLUTION`` … ``# END SOLUTION`` in a code cell (``<!-- BEGIN SOLUTION -->``
  … ``<!-- END SOLUTION -->`` in markdown) encloses what students must write;
* a code cell whose first line is ``# CHECKS`` holds public checks (students run
  them while they work), ``# HIDDEN CHECKS`` holds checks only the grader runs.
"""

import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

from .checks import REGISTRY, Check

__all__ = ["Question", "PsetSpec", "read_source", "load_checks", "find_source",
           "QUESTION_HEADING", "CHECK_HEADER", "HIDDEN_HEADER"]

QUESTION_HEADING = re.compile(
    r"^#{1,6}\s+(?P<id>p\d+[a-z]*)\b(?P<title>[^\[\n]*)"
    r"\[(?P<points>\d+(?:\.\d+)?)\s*points?(?P<manual>\s*,\s*manual)?\]",
    re.M,
)
CHECK_HEADER = "# CHECKS"
HIDDEN_HEADER = "# HIDDEN CHECKS"
CHECK_DECORATOR = re.compile(r"^@check\(\s*['\"](?P<id>[^'\"]+)['\"]", re.M)


class SpecError(ValueError):
    """The instructor's source notebook breaks a convention."""


@dataclass
class Question:
    id: str
    title: str
    points: float
    manual: bool = False


@dataclass
class PsetSpec:
    name: str
    questions: dict                      # id -> Question, in notebook order
    public_checks: str = ""              # Python source of the # CHECKS cells
    hidden_checks: str = ""              # Python source of the # HIDDEN CHECKS cells
    checks: list = field(default_factory=list, repr=False)   # loaded Check objects

    @property
    def max_score(self):
        return sum(q.points for q in self.questions.values())

    @property
    def autograded(self):
        return [q for q in self.questions.values() if not q.manual]

    @property
    def manual(self):
        return [q for q in self.questions.values() if q.manual]

    def to_json(self):
        return json.dumps({"name": self.name,
                           "questions": [asdict(q) for q in self.questions.values()]}, indent=1)


def first_line(source):
    for line in source.splitlines():
        if line.strip():
            return line.strip()
    return ""


def check_kind(cell):
    """'public', 'hidden' or None for a notebook cell."""
    if cell.cell_type != "code":
        return None
    head = first_line(cell.source).upper()
    if head.startswith(HIDDEN_HEADER):
        return "hidden"
    if head.startswith(CHECK_HEADER):
        return "public"
    return None


def find_source(pset_dir):
    """The instructor source notebook of a pset folder: ``<name>_source.ipynb``."""
    pset_dir = Path(pset_dir)
    found = sorted(pset_dir.glob("*_source.ipynb"))
    if len(found) != 1:
        raise SpecError(f"{pset_dir}: expected exactly one *_source.ipynb, found {len(found)}")
    return found[0]


def read_cells(path):
    """A notebook's cells as objects with ``cell_type`` and ``source`` (plain JSON:
    importing nbformat costs a second, which every grading run would pay)."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    return [SimpleNamespace(cell_type=c["cell_type"],
                            source=c["source"] if isinstance(c["source"], str) else "".join(c["source"]))
            for c in cells]


def read_source(path):
    """Parse an instructor source notebook into a :class:`PsetSpec` (checks loaded)."""
    path = Path(path)
    name = path.name.removesuffix("_source.ipynb")
    questions, public, hidden = {}, [], []
    for cell in read_cells(path):
        if cell.cell_type == "markdown":
            for m in QUESTION_HEADING.finditer(cell.source):
                qid = m["id"]
                if qid in questions:
                    raise SpecError(f"question {qid} is declared twice")
                title = m["title"].strip(" —–-:")
                questions[qid] = Question(qid, title, float(m["points"]), bool(m["manual"]))
        kind = check_kind(cell)
        if kind == "public":
            public.append(without_grader_calls(cell.source))
        elif kind == "hidden":
            hidden.append(without_grader_calls(cell.source))
    if not questions:
        raise SpecError(f"{path}: no question headings like '### p1 … [3 points]'")
    spec = PsetSpec(name, questions, "\n\n".join(public), "\n\n".join(hidden))
    spec.checks = load_checks(spec.public_checks, spec.hidden_checks, origin=str(path))
    validate(spec)
    return spec


CHECKS_PRELUDE = (
    "import numpy as np\nimport scipy.linalg as sla\nimport mc\nfrom mc.grade.checks import check\n"
)


def load_checks(public_source, hidden_source="", origin="checks"):
    r"""Execute check sources and return the registered :class:`Check` objects.

    Hidden checks run after the public ones, in a copy of their namespace: as in the
    instructor's source notebook, where all check cells share one kernel, a hidden
    check may call a helper a public check cell defines (the same check at another
    size, say). Students' public checks never see the hidden ones.

    >>> public = "def square(x):\n    return x * x\n"
    >>> hidden = "@check('p1')\ndef bigger(answers, rng):\n    return square(3) == 9\n"
    >>> [(c.name, c.hidden) for c in load_checks(public, hidden)]
    [('bigger', True)]
    """
    loaded = []
    namespace = {}
    for source, hidden in ((public_source, False), (hidden_source, True)):
        if not source.strip():
            continue
        REGISTRY.clear()
        namespace = {**namespace, "__name__": f"mc_checks_{'hidden' if hidden else 'public'}"}
        try:
            exec(compile(CHECKS_PRELUDE + source, f"<{origin}: {'hidden' if hidden else 'public'} checks>",
                         "exec"), namespace)
            for chk in REGISTRY:
                chk.hidden = hidden
                loaded.append(chk)
        finally:
            REGISTRY.clear()
    return loaded


def validate(spec):
    by_question = {}
    for chk in spec.checks:
        q = spec.questions.get(chk.question)
        if q is None:
            raise SpecError(f"check {chk.name} is for question {chk.question!r}, which no heading declares")
        if q.manual:
            raise SpecError(f"check {chk.name} is for {chk.question}, a manual question")
        by_question.setdefault(chk.question, []).append(chk)
    names = [c.name for c in spec.checks]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise SpecError(f"check names must be unique; repeated: {sorted(duplicates)}")
    for q in spec.autograded:
        checks = by_question.get(q.id)
        if not checks:
            raise SpecError(f"question {q.id} is autograded but has no checks")
        split = [c.points for c in checks if c.points is not None]
        if split and (len(split) != len(checks) or abs(sum(split) - q.points) > 1e-9):
            raise SpecError(f"the checks of {q.id} split its {q.points:g} points as {split}: "
                            "give every check points, adding up to the question's")


GRADER_CALL = re.compile(r"^grader\.\w+\(.*\)[ \t]*\n?", re.M)


def without_grader_calls(source):
    """A check cell's source less its ``grader.check(...)`` lines (they only display)."""
    return GRADER_CALL.sub("", source).rstrip() + "\n"


def questions_in_check_cell(source):
    """The question ids a check cell's @check decorators name, in order."""
    seen = []
    for m in CHECK_DECORATOR.finditer(source):
        if m["id"] not in seen:
            seen.append(m["id"])
    return seen
