"""Students check their answers as they work: ``grader.check("p5b")``.

The template's first cell creates ``grader = mc.grade.Checker("pset1")``; it loads
the public checks shipped beside the notebook (``pset1_checks.py``) and runs them
on the functions defined in the notebook. It prints what passed, the error it
measured and, when a known mistake matches, which one — and nothing about the
hidden checks the grader will also run.
"""

import os
import sys
from pathlib import Path

from .checks import REGISTRY, LocalAnswers, run_check, seed_for
from .spec import load_checks

__all__ = ["Checker", "Report"]


def _user_namespace():
    try:
        from IPython import get_ipython
        shell = get_ipython()
        if shell is not None:
            return shell.user_ns
    except ImportError:
        pass
    return sys.modules["__main__"].__dict__


class Report:
    """Outcomes of some checks; prints as text, renders as HTML in a notebook."""

    def __init__(self, title, outcomes):
        self.title, self.outcomes = title, outcomes

    @property
    def passed(self):
        return bool(self.outcomes) and all(o.passed for o in self.outcomes)

    def __bool__(self):
        return self.passed

    def lines(self):
        out = [self.title]
        for o in self.outcomes:
            mark = "✔" if o.passed else "✘"
            out.append(f"  {mark} {o.question} · {o.check}: {o.message}")
            if not o.passed and o.misconception:
                out.append(f"      hint: {o.misconception}")
        return out

    def __repr__(self):
        return "\n".join(self.lines())

    def _repr_html_(self):
        import html
        rows = []
        for o in self.outcomes:
            colour = "#1a7f37" if o.passed else "#cf222e"
            hint = (f"<br><i>hint: {html.escape(o.misconception)}</i>"
                    if not o.passed and o.misconception else "")
            rows.append(f'<li style="color:{colour}">{"✔" if o.passed else "✘"} '
                        f"<b>{html.escape(o.question)}</b> · {html.escape(o.check)}: "
                        f"{html.escape(o.message)}{hint}</li>")
        return f"<b>{html.escape(self.title)}</b><ul>{''.join(rows)}</ul>"


class Checker:
    """Runs a pset's public checks on the answers defined in this notebook.

    Parameters
    ----------
    pset : str
        The pset name, e.g. ``"pset1"``; its public checks are read from
        ``<pset>_checks.py`` in `directory` (default: the working directory, which
        is the notebook's folder in Jupyter).
    namespace : dict, optional
        Where the answers live (default: the notebook's global variables).
    """

    def __init__(self, pset, directory=None, namespace=None):
        self.pset = pset
        self.inert = os.environ.get("MC_GRADING") == "1"   # inside the grader's sandbox
        self._namespace = namespace
        self.checks = []
        if self.inert:
            return
        path = Path(directory or ".") / f"{pset}_checks.py"
        if path.exists():
            self.checks = load_checks(path.read_text(), origin=path.name)

    def _all_checks(self):
        # Checks defined in this kernel with @check (an instructor's source notebook).
        local = [c for c in REGISTRY if c.name not in {k.name for k in self.checks}]
        return self.checks + local

    def _answers(self):
        return LocalAnswers(self._namespace if self._namespace is not None else _user_namespace())

    def check(self, question):
        """Run the public checks of one question and show the result."""
        if self.inert:
            return None
        chosen = [c for c in self._all_checks() if c.question == question]
        if not chosen:
            known = sorted({c.question for c in self._all_checks()})
            return Report(f"{question}: no public checks (autograded questions: {', '.join(known)})", [])
        outcomes = [run_check(c, self._answers(), _rng(self.pset, c.name)) for c in chosen]
        passed = all(o.passed for o in outcomes)
        title = (f"{question}: all {len(outcomes)} public check(s) passed" if passed else
                 f"{question}: {sum(not o.passed for o in outcomes)} of {len(outcomes)} public check(s) failed")
        return Report(title, outcomes)

    def check_all(self):
        """Run every public check and summarise."""
        if self.inert:
            return None
        outcomes = [run_check(c, self._answers(), _rng(self.pset, c.name)) for c in self._all_checks()]
        questions = sorted({o.question for o in outcomes}, key=_natural)
        ok = [q for q in questions if all(o.passed for o in outcomes if o.question == q)]
        title = (f"{self.pset}: {len(ok)} of {len(questions)} autograded questions pass their public "
                 "checks (the grader also runs hidden checks)")
        return Report(title, outcomes)


def _rng(pset, check_name):
    import numpy as np
    return np.random.default_rng(seed_for(pset, check_name, "public"))


def _natural(qid):
    import re
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", qid)]
