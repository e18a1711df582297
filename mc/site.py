"""A static HTML site of the lectures: ``python -m mc site`` writes ``site/index.html``.

Each ``lectures/*.ipynb`` is rendered with its stored outputs (nothing is executed) by
nbconvert's ``HTMLExporter`` and its ``lab`` template:

* plots are extracted to ``images/<lecture>/output_<cell>_<n>.png`` (pages stay small);
* equations are typeset by MathJax, loaded from its CDN by the template (offline, the
  TeX source stays readable);
* a widget's view is replaced by a short note, since a static page has no kernel; the
  plots and text the notebook stores are shown as they are;
* the template's stylesheets, the same on every page, go to one shared ``lab.css``;
* each page gets a previous / contents / next bar at its top and bottom, in the order
  of the contents table in ``lectures/README.md`` (notebooks not in the table follow,
  by file name);
* ``index.html`` is that README, with links to ``NN_name.ipynb`` pointing at
  ``NN_name.html``, as are such links inside the lectures.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out:          # doctest: +SKIP
    ...     paths = build_site(".", out)
    ...     print(paths[0].name)
    index.html

The output depends only on the notebooks and README: two builds are byte for byte equal.
Files of an earlier build that are not written again are left alone; delete the output
folder for a clean build.
"""

import html
import logging
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = ["Lecture", "build_site", "contents_links", "reading_order", "rewrite_links"]

STYLESHEET = "lab.css"
IMAGES = "images"
WIDGET_NOTE = ('<p class="mc-widget-note">An interactive widget is here in the notebook: '
               'open it in Jupyter and run all cells to use it.</p>')

# The lab template, minus what a static page of these lectures does not need: require.js
# and the widget manager (both only for live widgets), and bleach's re-cleaning of the
# code that Pygments has already escaped. The highlighted code, most of a page's tags, is
# stashed behind a comment while nbconvert passes the page through BeautifulSoup (to add
# alt texts and tabindex), and put back afterwards: this halves the build time.
PAGE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{% block extra_css %}<style type="text/css">
.mc-nav { display: flex; justify-content: space-between; gap: 1em; margin: 0.5em 0 1em;
  padding: 0.5em 0; border-bottom: 1px solid var(--jp-border-color2, #e0e0e0);
  font-family: var(--jp-ui-font-family, sans-serif); font-size: 0.95em; }
.mc-nav.mc-bottom { border-bottom: none; border-top: 1px solid var(--jp-border-color2, #e0e0e0);
  margin: 1em 0 0.5em; }
.mc-nav a { text-decoration: none; }
.mc-nav > * { flex: 1; }
.mc-nav .mc-contents { text-align: center; }
.mc-nav .mc-next { text-align: right; }
.mc-widget-note { font-style: italic; color: var(--jp-content-font-color2, #555); }
.mc-index { max-width: 60em; margin: 0 auto; padding: 1em; }
</style>{% endblock extra_css %}
{%- block body_header -%}{{ super() }}
{{ resources.mc_nav_top }}{%- endblock body_header -%}
{% block body_footer %}{{ resources.mc_nav_bottom }}
{{ super() }}{% endblock body_footer %}
{% block input %}
<div class="jp-CodeMirrorEditor jp-Editor jp-InputArea-editor" data-type="inline">
     <div class="cm-editor cm-s-jupyter">
{{ cell.source | highlight_code(metadata=cell.metadata) | mc_stash }}
     </div>
</div>
{%- endblock input %}
"""


@dataclass(frozen=True)
class Lecture:
    """A notebook of the site: ``name`` is its file name without ``.ipynb``.

    >>> Lecture("01_intro", "Intro").page
    '01_intro.html'
    """

    name: str
    label: str

    @property
    def page(self):
        return self.name + ".html"


# --------------------------------------------------------------------------- contents and order

def contents_links(markdown):
    """The ``(label, file)`` of each notebook linked from the rows of a markdown table, in order.

    >>> contents_links("| # | notebook |\\n|---|---|\\n| 2 | [Two](02_b.ipynb) |\\n"
    ...                "| 1 | [One](01_a.ipynb) |\\nSee [One](01_a.ipynb).")
    [('Two', '02_b.ipynb'), ('One', '01_a.ipynb')]
    """
    links, seen = [], set()
    for line in markdown.splitlines():
        if not line.lstrip().startswith("|"):
            continue
        for label, target in re.findall(r"\[([^\]]*)\]\(\s*(?:\./)?([^)\s#]+\.ipynb)\s*\)", line):
            if target not in seen:
                seen.add(target)
                links.append((label.strip(), target))
    return links


def notebook_title(nb, default=""):
    """The text of the first level-one heading of a notebook's markdown, or ``default``.

    >>> import nbformat.v4 as v4
    >>> notebook_title(v4.new_notebook(cells=[v4.new_markdown_cell("# Lecture 1 — $d$\\ntext")]))
    'Lecture 1 — $d$'
    """
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return default


def reading_order(lectures_dir):
    """The site's lectures: those of the README's contents table in its order, then the others.

    A notebook the table links to but that does not exist is an error.
    """
    lectures_dir = Path(lectures_dir)
    order = []
    for label, target in contents_links((lectures_dir / "README.md").read_text(encoding="utf-8")):
        if not (lectures_dir / target).is_file():
            raise FileNotFoundError(f"{lectures_dir / 'README.md'} links to {target}, which does not exist")
        order.append(Lecture(target[:-len(".ipynb")], label))
    listed = {lecture.name for lecture in order}
    for path in sorted(lectures_dir.glob("*.ipynb")):
        if path.stem not in listed:
            order.append(Lecture(path.stem, _plain(notebook_title(_read(path), path.stem))))
    return order


def _read(path):
    import nbformat

    return nbformat.read(path, as_version=4)


def _plain(title):
    """A heading as text for ``<title>``, without the dollars of its math."""
    return title.replace("$", "")


# --------------------------------------------------------------------------- HTML rewriting

def rewrite_links(page, names):
    """Point ``href``s at ``NAME.ipynb`` (with any ``#fragment``) to ``NAME.html``, for ``names``.

    >>> rewrite_links('<a href="02_b.ipynb#Eq">x</a> <a href="09_z.ipynb">y</a>', {"02_b"})
    '<a href="02_b.html#Eq">x</a> <a href="09_z.ipynb">y</a>'
    """
    def swap(match):
        quote, name, fragment = match.group(1), match.group(2), match.group(3) or ""
        if name not in names:
            return match.group(0)
        return f"href={quote}{name}.html{fragment}{quote}"

    return re.sub(r"""href=(["'])(?:\./)?([^"'#?/\\]+)\.ipynb(#[^"']*)?\1""", swap, page)


def nav_bar(order, i, where="top"):
    """The previous / contents / next bar of lecture ``order[i]``.

    >>> order = [Lecture("a", "A"), Lecture("b", "B & C")]
    >>> re.findall(r'rel="(\\w+)" href="([^"]+)"', nav_bar(order, 1))
    [('prev', 'a.html'), ('contents', 'index.html')]
    >>> "B &amp; C →" in nav_bar(order, 0)
    True
    """
    def link(j, rel, text):
        return f'<a rel="{rel}" href="{order[j].page}">{text}</a>'

    prev = link(i - 1, "prev", "← " + html.escape(order[i - 1].label)) if i > 0 else ""
    nxt = link(i + 1, "next", html.escape(order[i + 1].label) + " →") if i + 1 < len(order) else ""
    return (f'<nav class="mc-nav mc-{where}" aria-label="lectures">'
            f'<span class="mc-prev">{prev}</span> '
            f'<span class="mc-contents"><a rel="contents" href="index.html">Contents</a></span> '
            f'<span class="mc-next">{nxt}</span></nav>')


def split_styles(page):
    """``(page without the <style> elements of its <head>, their concatenated text)``.

    >>> split_styles('<head><style type="text/css">a{}</style>\\n</head><body><style>b{}</style>')
    ('<head>\\n</head><body><style>b{}</style>', '<style type="text/css">a{}</style>')
    """
    end = page.find("</head>")
    if end < 0:
        return page, ""
    styles = re.findall(r"<style\b.*?</style>", page[:end], re.S)
    return re.sub(r"<style\b.*?</style>", "", page[:end], flags=re.S) + page[end:], "".join(styles)


def css_text(styles):
    """The CSS inside ``<style>`` elements, for a stylesheet file.

    >>> css_text('<style type="text/css">\\na{}</style><style>b{}</style>')
    '\\na{}\\nb{}\\n'
    """
    bodies = re.findall(r"<style\b[^>]*>(.*?)</style>", styles, re.S)
    return "".join(body.rstrip("\n") + "\n" for body in bodies)


# --------------------------------------------------------------------------- rendering

def static_widgets(nb):
    """Replace every widget view in ``nb``'s outputs by a note, and drop the widget state.

    >>> import nbformat.v4 as v4
    >>> view = {"application/vnd.jupyter.widget-view+json": {"model_id": "m"}, "text/plain": "…"}
    >>> cell = v4.new_code_cell(outputs=[v4.new_output("display_data", view)])
    >>> nb = static_widgets(v4.new_notebook(cells=[cell], metadata={"widgets": {}}))
    >>> list(nb.cells[0].outputs[0].data), "widgets" in nb.metadata
    (['text/html'], False)
    """
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "application/vnd.jupyter.widget-view+json" in output.get("data", {}):
                output["data"] = {"text/html": WIDGET_NOTE}
    nb.metadata.pop("widgets", None)
    return nb


STASHED = re.compile(r"<!--mc-code-(\d+)-->")


def _stash(context, highlighted):
    """Jinja filter: keep ``highlighted`` in the page's resources, leave a comment in its place."""
    stash = context["resources"].setdefault("mc_code", [])
    stash.append(highlighted)
    return f"<!--mc-code-{len(stash) - 1}-->"


def unstash(page, stash):
    """Put the stashed code back in place of its comments.

    >>> unstash("<div><!--mc-code-1--></div><!--mc-code-0-->", ["<b>a</b>", "<i>b</i>"])
    '<div><i>b</i></div><b>a</b>'
    """
    return STASHED.sub(lambda m: stash[int(m.group(1))], page)


@lru_cache(maxsize=None)
def _exporter():
    """One nbconvert exporter for every page: compiling the template takes most of a second."""
    from jinja2 import DictLoader, pass_context
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.preprocessors = ["nbconvert.preprocessors.ExtractOutputPreprocessor"]
    config.HTMLExporter.embed_images = True     # markdown's own images: lectures/ is not copied
    # Quiet: nbconvert warns on every page that matplotlib's images have no alt text.
    log = logging.getLogger("mc.site.nbconvert")
    log.setLevel(logging.ERROR)
    exporter = HTMLExporter(config=config, template_name="lab", template_file="mc-lecture.html.j2",
                            extra_loaders=[DictLoader({"mc-lecture.html.j2": PAGE_TEMPLATE})], log=log)
    exporter.register_filter("mc_stash", pass_context(_stash))
    return exporter


def render_lecture(path, title, navs, names):
    """``(html, {relative image path: bytes})`` of one notebook, with ``navs = (top, bottom)``."""
    nb = static_widgets(_read(path))
    nb.metadata["title"] = title
    resources = {"metadata": {"name": path.stem, "path": str(path.parent)},
                 "output_files_dir": f"{IMAGES}/{path.stem}", "unique_key": "output",
                 "mc_nav_top": navs[0], "mc_nav_bottom": navs[1]}
    page, resources = _exporter().from_notebook_node(nb, resources=resources)
    page = unstash(page, resources.get("mc_code", []))
    return rewrite_links(page, names), dict(resources.get("outputs", {}))


def index_page(readme, order, names):
    """The contents page: the README as HTML, then any notebook the README does not list."""
    from nbconvert.filters import markdown2html_mistune

    listed = {target[:-len(".ipynb")] for _, target in contents_links(readme)}
    extra = [lecture for lecture in order if lecture.name not in listed]
    body = rewrite_links(markdown2html_mistune(readme), names)
    if extra:
        items = "\n".join(f'<li><a href="{lec.page}">{html.escape(lec.label)}</a></li>' for lec in extra)
        body += f"\n<h2>More notebooks</h2>\n<p>Not yet in the table above:</p>\n<ul>\n{items}\n</ul>"
    heading = re.search(r"^# (.+)$", readme, re.M)
    title = html.escape(heading.group(1).strip() if heading else "Lectures")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1.0\">\n"
            f"<title>{title}</title>\n<link rel=\"stylesheet\" href=\"{STYLESHEET}\">\n</head>\n"
            "<body class=\"jp-Notebook\" data-jp-theme-light=\"true\" "
            "data-jp-theme-name=\"JupyterLab Light\">\n"
            "<main class=\"mc-index jp-RenderedHTMLCommon jp-RenderedMarkdown\">\n"
            f"{body}\n</main>\n</body>\n</html>\n")


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def link_stylesheet(page, shared_css):
    """``page`` with its head's ``<style>``s replaced by a link to the shared stylesheet, if they
    are the shared ones (they are, unless nbconvert's CSS differs between pages).

    >>> link_stylesheet('<head><style>a{}</style></head>', '<style>a{}</style>')
    '<head><link rel="stylesheet" href="lab.css">\\n</head>'
    """
    stripped, styles = split_styles(page)
    if styles != shared_css:
        return page
    return stripped.replace("</head>", f'<link rel="stylesheet" href="{STYLESHEET}">\n</head>', 1)


def _render_job(job):
    """``render_lecture`` for a worker process: ``job = (path, title, navs, names)``."""
    return render_lecture(*job)


def _cores():
    """The number of cores this process may use."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _render_all(jobs, workers):
    """The rendered pages of ``jobs``, in order, on up to ``workers`` processes."""
    if workers <= 1 or len(jobs) <= 1:
        return [_render_job(job) for job in jobs]
    from concurrent.futures import ProcessPoolExecutor

    import nbformat.v4

    # Compile the templates once, here: forked workers inherit them (spawned ones compile their own).
    _exporter().from_notebook_node(nbformat.v4.new_notebook(), resources={"metadata": {"name": "warm-up"}})
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
        return list(pool.map(_render_job, jobs))


def build_site(root=".", out="site", workers=None):
    """Render the lectures of the course at ``root`` into the folder ``out``; the paths written.

    ``out`` is taken as given (relative to the working directory, not to ``root``). The list
    starts with ``index.html`` and the shared stylesheet, then each page with its images.
    Pages are rendered on ``workers`` processes (default: one per core); the output does
    not depend on how many.
    """
    lectures_dir, out = Path(root) / "lectures", Path(out)
    order = reading_order(lectures_dir)
    if not order:
        raise ValueError(f"no lecture notebooks in {lectures_dir}")
    names = frozenset(lecture.name for lecture in order)
    jobs = [(lectures_dir / f"{lecture.name}.ipynb", lecture.label,
             (nav_bar(order, i, "top"), nav_bar(order, i, "bottom")), names)
            for i, lecture in enumerate(order)]
    rendered = _render_all(jobs, workers if workers is not None else _cores())
    shared_css = split_styles(rendered[0][0])[1]
    readme = (lectures_dir / "README.md").read_text(encoding="utf-8")
    written = [_write(out / "index.html", index_page(readme, order, names)),
               _write(out / STYLESHEET, css_text(shared_css))]
    for lecture, (page, images) in zip(order, rendered):
        written.append(_write(out / lecture.page, link_stylesheet(page, shared_css)))
        written += [_write(out / name, data) for name, data in sorted(images.items())]
    return written
