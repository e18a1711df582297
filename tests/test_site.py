"""``python -m mc site``: the static HTML site of the lectures (mc/site.py).

The lectures are copied first, so that the site is checked against the notebooks it was
built from. HTML is read with the standard library's ``html.parser``; nothing needs the
network (MathJax's script tag is there, but nobody loads it).
"""

import base64
import contextlib
import io
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import nbformat.v4 as v4
import pytest

from mc.site import WIDGET_NOTE, build_site, contents_links, notebook_title, reading_order

ROOT = Path(__file__).resolve().parents[1]
TRACEBACK = "Traceback (most recent call last)"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/svg+xml")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
ONE_PIXEL_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAA"
                 "AABJRU5ErkJggg==")


class Page(HTMLParser):
    """What the tests look at in one HTML page."""

    def __init__(self, text):
        super().__init__()
        self.links, self.table_links, self.nav, self.images, self.scripts = [], [], [], [], []
        self.ids = set()
        self.title, self.h1, self.text = "", None, []
        self._in, self._nav, self._h1 = [], None, None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in.append(tag)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "nav" and "mc-nav" in (attrs.get("class") or ""):
            self._nav = "top" if "mc-top" in attrs["class"] else "bottom"
        elif tag == "a" and attrs.get("href") is not None:
            self.links.append(attrs["href"])
            if "table" in self._in:
                self.table_links.append(attrs["href"])
            if self._nav:
                self.nav.append((self._nav, attrs.get("rel"), attrs["href"]))
        elif tag == "img":
            self.images.append(attrs.get("src", ""))
        elif tag == "script":
            self.scripts.append(attrs.get("src"))
        elif tag == "h1" and self.h1 is None:
            self._h1 = []

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self._in.pop()

    def handle_endtag(self, tag):
        if tag in self._in:
            while self._in.pop() != tag:
                pass
        if tag == "nav":
            self._nav = None
        elif tag == "h1" and self._h1 is not None:
            self.h1, self._h1 = "".join(self._h1).rstrip("¶").strip(), None

    def handle_data(self, data):
        where = self._in[-1] if self._in else ""
        if where == "title":
            self.title += data
        if where not in ("script", "style"):
            self.text.append(data)
        if self._h1 is not None:
            self._h1.append(data)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(course root, site folder, paths written, seconds): a copy of the lectures, built once."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "lectures", root / "lectures",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    started = time.perf_counter()
    written = build_site(root, root / "site")
    return root, root / "site", written, time.perf_counter() - started


@pytest.fixture(scope="module")
def order(built):
    return reading_order(built[0] / "lectures")


@pytest.fixture(scope="module")
def pages(built):
    """{file name: Page} of every HTML file of the site."""
    return {p.name: Page(p.read_text(encoding="utf-8")) for p in sorted(built[1].glob("*.html"))}


def notebook(built, lecture):
    return nbformat.read(built[0] / "lectures" / f"{lecture.name}.ipynb", as_version=4)


def outputs(nb, wanted):
    """The outputs of ``nb`` holding one of the ``wanted`` MIME types."""
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if any(t in o.get("data", {}) for t in wanted)]


def local(href):
    """Is ``href`` a link inside the site (not to another site, not mailto:)?"""
    parts = urlsplit(href)
    return not parts.scheme and not parts.netloc


# --------------------------------------------------------------------------- the real lectures

def test_every_lecture_of_the_contents_and_every_notebook_has_a_page(built):
    root, site, written, seconds = built
    listed = [target for _, target in contents_links((root / "lectures" / "README.md").read_text())]
    assert listed, "lectures/README.md links no notebook"
    notebooks = sorted(p.name for p in (root / "lectures").glob("*.ipynb"))
    assert set(listed) <= set(notebooks)
    for name in notebooks:
        assert (site / name.replace(".ipynb", ".html")).is_file(), name
    assert seconds < 120, f"building the site took {seconds:.0f} s"


def test_the_paths_returned_are_the_files_of_the_site(built):
    _, site, written, _ = built
    assert written[0] == site / "index.html"
    assert len(set(written)) == len(written)
    assert set(written) == {p for p in site.rglob("*") if p.is_file()}


def test_each_page_has_its_notebooks_title(built, order, pages):
    for lecture in order:
        page = pages[lecture.page]
        assert page.h1 == notebook_title(notebook(built, lecture)), lecture.name
        assert page.title.strip() == lecture.label


def test_the_contents_page_is_the_readme_and_links_every_lecture_in_reading_order(built, order, pages):
    index = pages["index.html"]
    readme = (built[0] / "lectures" / "README.md").read_text()
    assert index.h1 == readme.splitlines()[0].lstrip("# ").strip()
    listed = contents_links(readme)
    assert index.table_links == [target.replace(".ipynb", ".html") for _, target in listed]
    assert {lecture.page for lecture in order} <= set(index.links)
    assert not [h for h in index.links if ".ipynb" in h]
    assert [lecture.page for lecture in order[:len(listed)]] == index.table_links


def test_nav_bars_go_previous_contents_next_in_reading_order(order, pages):
    for i, lecture in enumerate(order):
        nav = pages[lecture.page].nav
        top = [(rel, href) for where, rel, href in nav if where == "top"]
        bottom = [(rel, href) for where, rel, href in nav if where == "bottom"]
        assert top == bottom, lecture.name
        expected = ([("prev", order[i - 1].page)] if i > 0 else []) + [("contents", "index.html")] \
            + ([("next", order[i + 1].page)] if i + 1 < len(order) else [])
        assert top == expected, lecture.name


def test_internal_links_and_their_fragments_resolve(built, pages):
    site = built[1]
    for name, page in pages.items():
        for href in page.links:
            if not local(href):
                continue
            parts = urlsplit(href)
            target = name if not parts.path else parts.path
            assert (site / unquote(target)).is_file(), f"{name}: {href} is missing"
            if parts.fragment and target.endswith(".html"):
                ids = pages[Path(unquote(target)).name].ids
                assert {parts.fragment, unquote(parts.fragment)} & ids, f"{name}: no #{parts.fragment}"


def test_plots_are_image_files_of_the_site(built, order, pages):
    site = built[1]
    for lecture in order:
        sources = pages[lecture.page].images
        for src in sources:
            assert src.startswith("data:") or (site / unquote(src)).is_file(), f"{lecture.name}: {src}"
        extracted = [s for s in sources if s.startswith(f"images/{lecture.name}/")]
        assert len(extracted) == len(outputs(notebook(built, lecture), IMAGE_TYPES)), lecture.name
    assert list((site / "images").rglob("*.png")), "no plot was extracted"


def test_no_page_shows_a_traceback(pages):
    for name, page in pages.items():
        assert TRACEBACK not in "".join(page.text), name


def test_every_code_cell_is_there_highlighted(built, order, pages):
    for lecture in order:
        text = (built[1] / lecture.page).read_text()
        shown = "".join(pages[lecture.page].text)
        cells = [c for c in notebook(built, lecture).cells if c.cell_type == "code"]
        assert "<!--mc-code-" not in text, lecture.name
        assert text.count(" highlight hl-") >= len(cells), lecture.name
        for cell in cells:
            assert cell.source.strip() in shown, (lecture.name, cell.source[:80])


def test_mathjax_is_loaded_and_nothing_else_from_outside(order, pages):
    for lecture in order:
        remote = [s for s in pages[lecture.page].scripts if s and not local(s)]
        assert len(remote) == 1 and "mathjax" in remote[0].lower(), (lecture.name, remote)


def test_pages_share_one_stylesheet(built, order):
    site = built[1]
    css = (site / "lab.css").read_text()
    assert ".jp-Notebook" in css and ".mc-nav" in css and "<style" not in css
    for lecture in order + [None]:
        text = (site / (lecture.page if lecture else "index.html")).read_text()
        assert '<link rel="stylesheet" href="lab.css">' in text
        assert "<style" not in text[:text.index("</head>")]


def test_widgets_are_replaced_by_a_note(built, order):
    site = built[1]
    with_widgets = 0
    for lecture in order:
        text = (site / lecture.page).read_text()
        assert WIDGET_VIEW not in text and "widget-state" not in text, lecture.name
        if outputs(notebook(built, lecture), [WIDGET_VIEW]):
            with_widgets += 1
            assert WIDGET_NOTE in text, lecture.name
    assert with_widgets, "no lecture has a widget: this test checks nothing"


def test_the_build_is_deterministic(built, tmp_path):
    root, site, written, _ = built
    again = build_site(root, tmp_path / "again", workers=1)
    assert [p.relative_to(tmp_path / "again") for p in again] == [p.relative_to(site) for p in written]
    for first, second in zip(written, again):
        assert first.read_bytes() == second.read_bytes(), first.name


# --------------------------------------------------------------------------- a made-up course

def made_up_course(root, readme=None):
    """Three notebooks; the README lists B before A and leaves C out."""
    lectures = root / "lectures"
    lectures.mkdir(parents=True)
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"}, "widgets": {"application/vnd.jupyter.widget-state+json": {}}}
    plot = v4.new_output("display_data", {"image/png": ONE_PIXEL_PNG, "text/plain": "<Figure>"})
    widget = v4.new_output("display_data", {WIDGET_VIEW: {"model_id": "m"}, "text/plain": "interactive(…)"})
    cells = {
        "01_a": [v4.new_markdown_cell("# Lecture A\n\nBack to [B's second part](02_b.ipynb#Second-part), "
                                      'or <a href="./02_b.ipynb">B</a>, or [C](03_c.ipynb).'),
                 v4.new_code_cell("plot()", execution_count=1, outputs=[plot, widget])],
        "02_b": [v4.new_markdown_cell("# Lecture B — $\\nabla f$\n\n## Second part\n\n"
                                      "See [A](01_a.ipynb).\n\n![a figure](fig.png)")],
        "03_c": [v4.new_markdown_cell("# Lecture C\n\nNot listed yet.")],
    }
    (lectures / "fig.png").write_bytes(base64.b64decode(ONE_PIXEL_PNG))
    for name, cell_list in cells.items():
        nbformat.write(v4.new_notebook(cells=cell_list, metadata=meta), lectures / f"{name}.ipynb")
    (lectures / "README.md").write_text(readme or (
        "# Our lectures\n\nSee [A](01_a.ipynb) first.\n\n| # | notebook |\n|---|---|\n"
        "| 2 | [Bee](02_b.ipynb) |\n| 1 | [Ay](01_a.ipynb) |\n"), encoding="utf-8")
    return root


def test_a_made_up_course_links_rewritten_order_and_images(tmp_path):
    root = made_up_course(tmp_path / "course")
    out = tmp_path / "site"
    written = build_site(root, out, workers=2)
    assert [lecture.name for lecture in reading_order(root / "lectures")] == ["02_b", "01_a", "03_c"]
    page = {p.name: Page(p.read_text(encoding="utf-8")) for p in out.glob("*.html")}
    assert {"02_b.html#Second-part", "02_b.html", "03_c.html"} <= set(page["01_a.html"].links)
    assert "Second-part" in page["02_b.html"].ids
    assert "01_a.html" in page["02_b.html"].links
    assert page["02_b.html"].h1 == "Lecture B — $\\nabla f$"
    assert [(r, h) for w, r, h in page["02_b.html"].nav if w == "top"] == [
        ("contents", "index.html"), ("next", "01_a.html")]
    assert [(r, h) for w, r, h in page["03_c.html"].nav if w == "top"] == [
        ("prev", "01_a.html"), ("contents", "index.html")]
    assert page["03_c.html"].title == "Lecture C"
    index = page["index.html"]
    assert index.title == "Our lectures" and "More notebooks" in "".join(index.text)
    assert list(dict.fromkeys(h for h in index.links if h.endswith(".html"))) == [
        "01_a.html", "02_b.html", "03_c.html"]          # the intro's link to A comes first
    assert page["01_a.html"].images == ["images/01_a/output_1_0.png"]
    assert (out / "images/01_a/output_1_0.png").read_bytes() == base64.b64decode(ONE_PIXEL_PNG)
    assert out / "images/01_a/output_1_0.png" in written
    assert page["02_b.html"].images == ["data:image/png;base64," + ONE_PIXEL_PNG]   # lectures/fig.png
    text = (out / "01_a.html").read_text()
    assert WIDGET_NOTE in text and "interactive(" not in text


def test_a_contents_entry_without_its_notebook_is_an_error(tmp_path):
    root = made_up_course(tmp_path, readme="| # | notebook |\n|---|---|\n| 9 | [Gone](09_gone.ipynb) |\n")
    with pytest.raises(FileNotFoundError, match="09_gone.ipynb"):
        build_site(root, tmp_path / "site")


def _has_site_command():
    from mc.__main__ import build_parser

    try:
        with contextlib.redirect_stderr(io.StringIO()):
            build_parser().parse_args(["site"])
    except SystemExit:
        return False
    return True


@pytest.mark.skipif(not _has_site_command(), reason="mc/__main__.py has no `site` command yet")
def test_python_dash_m_mc_site(tmp_path, capsys):
    from mc.__main__ import main

    root = made_up_course(tmp_path / "course")
    assert main(["site", "--root", str(root), "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "index.html").is_file()
    assert "index.html" in capsys.readouterr().out
