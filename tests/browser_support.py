"""Helpers for tests/test_browser.py: a throw-away JupyterLab server on loopback and
the browser-side steps a student takes (open a notebook, Run All, move the widgets).

Nothing here imports Playwright at module level, so this file imports (and pytest's
--doctest-modules collects it) on machines without a browser.
"""

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote, urlparse

CHROMIUM = os.environ.get("MC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

# JupyterLab settings for the test server (schemas under <sys.prefix>/share/jupyter/lab/schemas):
# start the notebook's kernel without asking, attach every cell to the DOM (the default
# windowing mode leaves off-screen cells out of the page), no blank window's height
# below the last cell (for the screenshots), and no news or update checks.
LAB_OVERRIDES = {
    "@jupyterlab/notebook-extension:tracker": {
        "autoStartDefaultKernel": True,
        "windowingMode": "none",
        "scrollPastEnd": False,
    },
    "@jupyterlab/docmanager-extension:plugin": {
        "autosave": False,
        "confirmClosingDocument": False,
    },
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

# ---------------------------------------------------------------------------------------
# The server


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _proc_stat(pid):
    """(parent pid, start time) of process `pid` from /proc (Linux), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
        fields = text[text.rindex(")") + 2:].split()
        return int(fields[1]), int(fields[19])
    except (OSError, ValueError, IndexError):
        return None


def _descendants(pid):
    """[(pid, start time)] of the live descendants of `pid` (empty where there is no /proc)."""
    children = {}
    for entry in Path("/proc").glob("[0-9]*"):
        stat = _proc_stat(entry.name)
        if stat:
            children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child[0])
    return found


class LabServer:
    """`python -m jupyter lab` on 127.0.0.1 with its own config, data, settings and
    workspace folders under `workdir`, serving `root`."""

    def __init__(self, root, workdir):
        self.root = Path(root)
        self.workdir = Path(workdir)
        self.port = free_port()
        self.token = secrets.token_hex(24)
        self.base = f"http://127.0.0.1:{self.port}/"
        self.proc = None
        self.log_path = self.workdir / "jupyterlab.log"

    # -- life cycle --------------------------------------------------------------------

    def _prepare(self):
        dirs = {name: self.workdir / name for name in
                ("config", "data", "runtime", "lab-settings", "user-settings", "workspaces", "ipython")}
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        # The default kernel `python3` is this very Python (the one running the tests).
        kernel_dir = dirs["data"] / "kernels" / "python3"
        kernel_dir.mkdir(parents=True, exist_ok=True)
        (kernel_dir / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "metadata": {"debugger": True},
        }, indent=1))
        self._write_lab_settings(dirs["lab-settings"])
        env = dict(os.environ)
        for var in ("MPLBACKEND", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "PYTHONSTARTUP"):
            env.pop(var, None)        # a student's kernel has matplotlib's inline backend
        env.update(
            JUPYTER_CONFIG_DIR=str(dirs["config"]),
            JUPYTER_DATA_DIR=str(dirs["data"]),
            JUPYTER_RUNTIME_DIR=str(dirs["runtime"]),
            JUPYTERLAB_SETTINGS_DIR=str(dirs["user-settings"]),
            JUPYTERLAB_WORKSPACES_DIR=str(dirs["workspaces"]),
            IPYTHONDIR=str(dirs["ipython"]),
            PYDEVD_DISABLE_FILE_VALIDATION="1",
            PYTHONUNBUFFERED="1",
        )
        return dirs, env

    @staticmethod
    def _write_lab_settings(settings_dir):
        """JupyterLab's app settings folder for the server: a copy of the installed one
        (<app dir>/settings: overrides.d/*.json shipped by packages, overrides.json,
        page_config.json), with LAB_OVERRIDES merged into its overrides.json. Settings
        nobody overrides keep JupyterLab's defaults, as a student's JupyterLab has them."""
        try:
            from jupyterlab.commands import get_app_dir
            installed = Path(get_app_dir()) / "settings"
        except Exception:
            installed = Path(sys.prefix) / "share" / "jupyter" / "lab" / "settings"
        if installed.is_dir():
            shutil.copytree(installed, settings_dir, dirs_exist_ok=True)
        overrides_file = settings_dir / "overrides.json"
        overrides = json.loads(overrides_file.read_text()) if overrides_file.exists() else {}
        for plugin, values in LAB_OVERRIDES.items():
            overrides.setdefault(plugin, {}).update(values)
        overrides_file.write_text(json.dumps(overrides, indent=1))

    def start(self, timeout=90):
        dirs, env = self._prepare()
        cmd = [
            sys.executable, "-m", "jupyter", "lab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            f"--LabApp.app_settings_dir={dirs['lab-settings']}",
            # window.jupyterapp: lets the test read the kernel's status and the notebook model
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.proc.returncode}:\n{self.log_tail()}")
            try:
                status = self.api("GET", "api/status", timeout=2)
                if "started" in status:
                    return self
            except (OSError, urllib.error.URLError, ValueError):
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer /api/status within {timeout} s:\n{self.log_tail()}")

    def stop(self):
        if self.proc is None:
            return
        kids = _descendants(self.proc.pid)         # the kernels, in case shutdown misses one
        if self.proc.poll() is None:
            try:
                for session in self.api("GET", "api/sessions", timeout=5):
                    self.api("DELETE", f"api/sessions/{session['id']}", timeout=15)
                self.api("POST", "api/shutdown", timeout=10)   # also shuts down every kernel
            except (OSError, urllib.error.URLError, ValueError):
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        for pid, started in kids:
            stat = _proc_stat(pid)
            if stat and stat[1] == started:         # still that process, not a recycled pid
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self._log.close()
        self.proc = None

    def log_tail(self, chars=4000):
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    # -- REST --------------------------------------------------------------------------

    def api(self, method, path, timeout=10):
        request = urllib.request.Request(self.base + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_sessions(self, path=None):
        """Delete the sessions (and so the kernels) of notebook `path` (all when None)."""
        for session in self.api("GET", "api/sessions"):
            if path is None or session.get("path") == path:
                self.api("DELETE", f"api/sessions/{session['id']}", timeout=30)

    def notebook_url(self, path, workspace):
        return f"{self.base}lab/workspaces/{quote(workspace)}/tree/{quote(path)}?reset&token={self.token}"


def copy_course(repo, root):
    """Copy what a student opens into `root`: the lectures at the top, and each problem
    set's release folder (template and its checks file) as `root/psetN/`.
    Returns [(path relative to root, kind, source notebook)]."""
    notebooks = []
    for nb in sorted((repo / "lectures").glob("*.ipynb")):
        shutil.copy2(nb, root / nb.name)
        notebooks.append((nb.name, "lecture", nb))
    for nb in sorted((repo / "psets").glob("pset*/release/pset*.ipynb")):
        dest = root / nb.parent.parent.name
        if not dest.exists():
            shutil.copytree(nb.parent, dest, ignore=shutil.ignore_patterns(
                "__pycache__", ".ipynb_checkpoints"))
        notebooks.append((f"{dest.name}/{nb.name}", "pset", nb))
    return notebooks


# ---------------------------------------------------------------------------------------
# The browser


def loopback_only(blocked):
    """A Playwright route handler that aborts every request off this machine."""
    def handler(route):
        host = urlparse(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:")) or host in LOOPBACK_HOSTS:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()
    return handler


# The notebook in the main area, seen through the exposed app (read only).
JS_STATE = """() => {
  const app = window.jupyterapp;
  if (!app) return {phase: 'no app'};
  const w = app.shell.currentWidget;
  if (!w || !w.sessionContext || !w.content) return {phase: 'no notebook'};
  const ctx = w.sessionContext;
  const kernel = ctx.session && ctx.session.kernel;
  return {
    phase: w.context.isReady ? 'ready' : 'loading',
    kernel: kernel ? kernel.status : (ctx.isReady ? 'no kernel' : 'starting'),
    connection: kernel ? kernel.connectionStatus : null,
    cells: w.content.widgets.length,
  };
}"""

# Per code cell, in order: prompt text, whether the input is blank, and the output types
# in the notebook model ('error' for an exception, 'execute_result', 'stream', ...).
JS_CODE_CELLS = """() => {
  const w = window.jupyterapp.shell.currentWidget;
  return w.content.widgets.filter(c => c.model.type === 'code').map(c => {
    const prompt = c.node.querySelector('.jp-InputPrompt');
    return {
      prompt: prompt ? prompt.textContent.trim() : null,
      blank: c.model.sharedModel.getSource().trim() === '',
      count: c.model.executionCount,
      outputs: c.model.outputs.toJSON().map(o => ({
        type: o.output_type, name: o.name || null, ename: o.ename || null,
        evalue: o.evalue || null})),
    };
  });
}"""

# Every rendered output that shows an exception: JupyterLab renders both stderr streams
# and error outputs as text with data-mime-type application/vnd.jupyter.stderr; an
# error's rendering carries IPython's "Traceback (most recent call last)" header and the
# exception name. Also widgets that failed to render.
JS_ERROR_RENDERINGS = """() => {
  const found = [];
  const bad = /Traceback|\\b[A-Za-z]*(Error|Exception)\\b/;
  for (const el of document.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')) {
    const text = el.textContent;
    if (bad.test(text))
      found.push(text.length > 4000 ? text.slice(0, 1000) + '\\n[...]\\n' + text.slice(-3000) : text);
  }
  for (const el of document.querySelectorAll('.jp-OutputArea-output')) {
    const text = el.textContent;
    if (/Error displaying widget|Failed to load model class|Model not found/.test(text))
      found.push(text.slice(0, 500));
  }
  return found;
}"""

# A short fingerprint of an element's rendered HTML (its images included).
JS_FINGERPRINT = """(el) => {
  const s = el.innerHTML;
  let h1 = 0x811c9dc5, h2 = 0;
  for (let i = 0; i < s.length; i++) {
    h1 = Math.imul(h1 ^ s.charCodeAt(i), 16777619) >>> 0;
    h2 = (h2 * 31 + s.charCodeAt(i)) >>> 0;
  }
  return s.length + ':' + h1.toString(16) + ':' + h2.toString(16);
}"""

# The controls of an interact box: [{kind, label, value shown}] in order.
JS_CONTROLS = """(box) => Array.from(box.children)
  .filter(el => el.classList.contains('jupyter-widgets') && !el.classList.contains('widget-output'))
  .map(el => {
    const label = el.querySelector('.widget-label');
    let kind = 'unknown';
    if (el.querySelector('.noUi-handle')) kind = 'slider';
    else if (el.querySelector('select:not([multiple])')) kind = 'dropdown';
    else if (el.querySelector('input[type=checkbox]')) kind = 'checkbox';
    else if (el.classList.contains('widget-toggle-buttons') || el.querySelector('.widget-toggle-button')) kind = 'toggle-buttons';
    else if (el.querySelector('input[type=radio]')) kind = 'radio';
    else if (el.classList.contains('widget-button') || el.tagName === 'BUTTON') kind = 'button';
    return {kind, label: label ? label.textContent : '', value: control_value(el)};
    function control_value(el) {
      const readout = el.querySelector('.widget-readout');
      if (readout) return readout.textContent;
      const handle = el.querySelector('.noUi-handle');
      if (handle) return handle.getAttribute('aria-valuenow');
      const select = el.querySelector('select');
      if (select) return select.value;
      const box = el.querySelector('input[type=checkbox]');
      if (box) return String(box.checked);
      const on = el.querySelector('.mod-active, input:checked');
      return on ? (on.value || on.textContent) : el.textContent;
    }
  })"""


# Conditions the page itself polls for (page.wait_for_function).
_JS_KERNEL_IDLE = """(w) => {
    const k = w.sessionContext.session && w.sessionContext.session.kernel;
    return !!k && k.status === 'idle' && k.connectionStatus === 'connected';
  }"""
_JS_NOTEBOOK = """() => {
    const app = window.jupyterapp;
    const w = app && app.shell.currentWidget;
    return (w && w.sessionContext && w.content && w.context.isReady) ? w : null;
  }"""
JS_RENDERED = f"""(n) => {{
  const notebook = {_JS_NOTEBOOK}, idle = {_JS_KERNEL_IDLE};
  const w = notebook();
  return !!w && idle(w) && w.content.widgets.length === n
    && w.content.node.querySelectorAll('.jp-Cell').length === n;
}}"""
JS_SETTLED = f"""() => {{
  const notebook = {_JS_NOTEBOOK}, idle = {_JS_KERNEL_IDLE};
  const w = notebook();
  return !!w && idle(w) && !Array.from(w.content.node.querySelectorAll('.jp-InputPrompt'))
    .some(p => p.textContent.includes('*'));
}}"""
JS_OUTPUT_CHANGED = f"""([el, before]) => {{
  const notebook = {_JS_NOTEBOOK}, idle = {_JS_KERNEL_IDLE}, fingerprint = {JS_FINGERPRINT};
  const w = notebook();
  return !!w && idle(w) && fingerprint(el) !== before;
}}"""


class NotebookPage:
    """One notebook open in JupyterLab, in a new page (tab) of browser context `context`."""

    def __init__(self, context, server, path):
        self.server = server
        self.path = path
        self.console_errors = []
        self.page = context.new_page()
        self.page.set_default_timeout(30_000)
        self.page.on("console", lambda m: self.console_errors.append(m.text[:300])
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.console_errors.append(f"page error: {e}"[:300]))

    def close(self):
        try:
            self.page.close()
        finally:
            self.server.shutdown_sessions(self.path)

    # -- waiting -----------------------------------------------------------------------

    def state(self):
        try:
            return self.page.evaluate(JS_STATE)
        except Exception as exc:          # the page is gone or navigating
            return {"phase": f"unknown ({exc.__class__.__name__})"}

    def _dialog_text(self):
        dialog = self.page.locator(".jp-Dialog")
        return dialog.first.inner_text() if dialog.count() else None

    def wait_js(self, predicate, arg=None, timeout=60, what="the notebook"):
        """Until the JS `predicate(arg)` is truthy in the page; an AssertionError that
        tells the state (and any dialog in the way) after `timeout` seconds."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        try:
            self.page.wait_for_function(predicate, arg=arg, timeout=timeout * 1000, polling=200)
        except PlaywrightTimeout:
            dialog = self._dialog_text()
            raise AssertionError(
                f"timed out after {timeout} s waiting for {what}; state {self.state()}"
                + (f"; a dialog is open:\n{dialog}" if dialog else "")) from None

    def open(self, n_cells, timeout=90):
        """Load JupyterLab at /lab/workspaces/<fresh>/tree/<path> and wait until the
        notebook shows its `n_cells` cells and its kernel is idle."""
        workspace = "mc-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.path)
        self.page.goto(self.server.notebook_url(self.path, workspace))
        self.wait_js(JS_RENDERED, n_cells, timeout,
                     f"{self.path} to render its {n_cells} cells with an idle kernel")
        # Close the file browser: the screenshots show the notebook at full width.
        side = self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
        if side.count():
            side.first.click()

    def run_all_from_menu(self):
        """Run → Run All Cells, clicked in the menu bar as a student does."""
        self.page.locator(".lm-MenuBar-item", has_text=re.compile(r"^\s*Run\s*$")).click()
        # JupyterLab 4 lists "runmenu:run-all", which runs notebook:run-all-cells here.
        item = self.page.locator(".lm-Menu-content > .lm-Menu-item").filter(
            has=self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")))
        item.wait_for(state="visible")
        command = item.get_attribute("data-command")
        assert command in ("runmenu:run-all", "notebook:run-all-cells"), command
        item.click()

    def code_cells(self):
        return self.page.evaluate(JS_CODE_CELLS)

    def wait_until_run(self, timeout=120):
        """Until the kernel is idle with no [*] prompt left, twice in a row 0.5 s apart;
        returns code_cells()."""
        deadline = time.monotonic() + timeout
        while True:
            self.wait_js(JS_SETTLED, None, max(1.0, deadline - time.monotonic()), "Run All to finish")
            time.sleep(0.5)
            if self.page.evaluate(JS_SETTLED):
                return self.code_cells()

    def cell(self, index):
        """The locator of cell `index` (counting every cell, markdown included)."""
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)

    def type_into(self, index, text):
        """Replace the code of cell `index` by `text` as a student does: click into its
        editor, select all, and put the text in (inserted whole, so that the editor's
        auto-indentation does not indent it a second time). Returns the cell's source
        as the notebook model now has it."""
        editor = self.cell(index).locator(".jp-InputArea-editor").first
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)
        return self.page.evaluate(
            "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].model.sharedModel.getSource()",
            index)

    def error_renderings(self):
        return self.page.evaluate(JS_ERROR_RENDERINGS)

    # -- screenshots -------------------------------------------------------------------

    def _scroller(self):
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer").first

    def scroll_to_top(self):
        self._scroller().evaluate("el => { el.scrollTop = 0; }")
        self.page.wait_for_timeout(300)

    def screenshot_at(self, locator, path, above=0.3):
        """One window's picture with the element of `locator` starting `above` × the
        notebook's visible height below the top (so what introduces it shows too)."""
        scroller = self._scroller()
        scroller.evaluate("""(el, [target, above]) => {
            const top = target.getBoundingClientRect().top - el.getBoundingClientRect().top;
            el.scrollTop += top - above * el.clientHeight;
        }""", [locator.element_handle(), above])
        self.page.wait_for_timeout(300)
        self.page.screenshot(path=str(path))

    def screenshot_whole(self, path, window_height=8000):
        """The whole notebook in one picture: the window is made up to `window_height`
        pixels tall, and a notebook taller than that is photographed one window at a
        time (scrolling the notebook) and the pieces joined (with Pillow)."""
        viewport = self.page.viewport_size
        scroller = self._scroller()
        chrome = viewport["height"] - scroller.evaluate("el => el.clientHeight")
        total = scroller.evaluate("el => el.scrollHeight")
        self.page.set_viewport_size({"width": viewport["width"],
                                     "height": min(window_height, total + chrome)})
        try:
            self.page.wait_for_timeout(500)
            self.scroll_to_top()
            try:
                from PIL import Image
            except ImportError:
                Image = None
            if total + chrome <= window_height or Image is None:
                self.page.screenshot(path=str(path))
                return
            import io
            top, left, right = (int(v) for v in scroller.evaluate(
                "el => { const r = el.getBoundingClientRect(); return [r.top, r.left, r.right]; }"))
            client = scroller.evaluate("el => el.clientHeight")
            total = scroller.evaluate("el => el.scrollHeight")
            pieces, shown_to = [], 0        # (image, first row to keep, rows to keep)
            while True:
                at = scroller.evaluate("(el, y) => { el.scrollTop = y; return el.scrollTop; }", shown_to)
                self.page.wait_for_timeout(150)
                shot = Image.open(io.BytesIO(self.page.screenshot()))
                if not pieces:
                    pieces.append((shot, 0, top + client))
                else:
                    skip = shown_to - at                     # rows already in the picture
                    pieces.append((shot, top + skip, client - skip))
                shown_to = at + client
                total = scroller.evaluate("el => el.scrollHeight")
                if shown_to >= total or len(pieces) > 50:
                    pieces.append((shot, top + client, shot.height - top - client))   # status bar
                    break
            whole = Image.new("RGB", (shot.width, sum(rows for _, _, rows in pieces)), "white")
            # Beside the notebook, the later pieces get the side bars' blank lower part.
            first_shot = pieces[0][0]
            blank = first_shot.crop((0, top + client - 2, first_shot.width, top + client - 1))
            y = 0
            for k, (shot, first, rows) in enumerate(pieces):
                if 0 < k < len(pieces) - 1:
                    whole.paste(blank.resize((shot.width, rows)), (0, y))
                    whole.paste(shot.crop((left, first, right, first + rows)), (left, y))
                else:
                    whole.paste(shot.crop((0, first, shot.width, first + rows)), (0, y))
                y += rows
            whole.save(path, compress_level=3)
        finally:
            self.page.set_viewport_size(viewport)
            self.page.wait_for_timeout(300)

    # -- widgets -----------------------------------------------------------------------

    def interacts(self):
        return self.page.locator(".jp-Notebook .widget-interact")

    def controls(self, box):
        return box.evaluate(JS_CONTROLS)

    def fingerprint(self, locator):
        return locator.evaluate(JS_FINGERPRINT)

    def move_control(self, box, index, control):
        """Change control `index` of interact `box` the way a person would; returns the
        value the control shows afterwards."""
        el = box.locator(":scope > .jupyter-widgets:not(.widget-output)").nth(index)
        kind = control["kind"]
        if kind == "slider":
            handle = el.locator(".noUi-handle").first
            handle.scroll_into_view_if_needed()
            handle.focus()
            for key in ("ArrowRight", "ArrowLeft"):       # back the other way at the maximum
                handle.press(key)
                handle.press(key)
                self.page.wait_for_timeout(100)
                if self.controls(box)[index]["value"] != control["value"]:
                    break
        elif kind == "dropdown":
            select = el.locator("select").first
            options = select.evaluate("s => Array.from(s.options).map(o => o.value)")
            current = select.evaluate("s => s.value")
            others = [o for o in options if o != current]
            assert others, f"dropdown {control['label']!r} has a single option"
            select.select_option(others[0])
        elif kind == "checkbox":
            el.locator("input[type=checkbox]").first.click()
        elif kind == "toggle-buttons":
            el.locator("button:not(.mod-active)").first.click()
        elif kind == "radio":
            el.locator("input[type=radio]:not(:checked)").first.check()
        else:
            raise AssertionError(f"the test cannot move a {kind} control ({control['label']!r})")
        # interact_manual: the change shows only after its button is pressed.
        run = box.locator(":scope > .widget-button, :scope > button")
        if run.count():
            run.first.click()
        return self.controls(box)[index]["value"]

    def wait_output_change(self, output, before, timeout=60):
        """Until `output` renders differently from fingerprint `before` with the kernel
        idle, and its rendering stays the same for 0.4 s; returns the fingerprint."""
        deadline = time.monotonic() + timeout
        handle = output.element_handle()
        while True:
            self.wait_js(JS_OUTPUT_CHANGED, [handle, before], max(1.0, deadline - time.monotonic()),
                         "the widget's output to change")
            first = self.fingerprint(output)
            time.sleep(0.4)
            if self.page.evaluate(JS_OUTPUT_CHANGED, [handle, before]) and self.fingerprint(output) == first:
                return first


# ---------------------------------------------------------------------------------------
# Where widget callbacks run

THREAD_PROBE = "browser-probe/widget_thread.ipynb"


def write_thread_probe(root):
    """A notebook whose interact callback prints the thread it runs on. Matplotlib is not
    thread-safe: a lecture's interact callback (which plots) must run on the kernel's main
    thread, one message at a time with the cells, not on a thread of its own while
    Run All goes on executing cells that plot too."""
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                 "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(
        "import threading\n"
        "import ipywidgets\n"
        "\n"
        "def where(x):\n"
        "    thread = threading.current_thread()\n"
        "    on = 'main' if thread is threading.main_thread() else 'other'\n"
        "    print(f'x = {x}: callback on the {on} thread ({thread.name})')\n"
        "\n"
        "ipywidgets.interact(where, x=ipywidgets.IntSlider(value=1, min=0, max=10));")]
    path = Path(root) / THREAD_PROBE
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return THREAD_PROBE


# ---------------------------------------------------------------------------------------
# README images

README_IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
GENERATOR = "tests/test_browser.py"


def save_readme_image(shot, dest, source, colors=256):
    """Copy screenshot `shot` (a PNG file) to `dest` as a palette PNG (a few times
    smaller, and screenshots of text lose nothing visible at 256 colours) whose text
    chunks record what made it and what it shows: ``Software`` (this test module) and
    ``Source`` (the file photographed, relative to the repository).

    >>> import tempfile, PIL.Image
    >>> folder = Path(tempfile.mkdtemp())
    >>> PIL.Image.new("RGB", (40, 20), "white").save(folder / "shot.png")
    >>> save_readme_image(folder / "shot.png", folder / "small.png", "lectures/x.ipynb")
    >>> PIL.Image.open(folder / "small.png").text["Source"]
    'lectures/x.ipynb'
    """
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", GENERATOR)
    info.add_text("Source", source)
    image = Image.open(shot).convert("RGB").quantize(colors=colors, dither=Image.Dither.NONE)
    Path(dest).parent.mkdir(parents=True, exist_ok=True)
    image.save(dest, optimize=True, pnginfo=info)
