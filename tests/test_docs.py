"""The documentation site: `docs/build.py` builds it (once for this module), then headless Chromium reads it from a local
server: every chapter page and its title, every internal link and anchor, an anchor for each exported name, rendered
math, the search page, and no request that leaves the machine. Without Chromium the browser tests skip, unless
PLMBOOK_REQUIRE_BROWSER=1 (as in CI) makes that a failure."""
import ast, functools, html, http.server, json, os, re, runpy, shutil, subprocess, sys, threading
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _page_name(nb: Path) -> str: return re.sub(r"^\d+[a-zA-Z0-9]*_", "", nb.stem)  # nbdev's rule: 00_core -> core


def _chapters() -> dict:
    "Page name -> title (the first `# ` heading) of every notebook in nbs/."
    res = {}
    for nb in sorted((ROOT/"nbs").glob("*.ipynb")):
        if nb.name.startswith("_"): continue
        md = "\n".join("".join(c["source"]) for c in json.loads(nb.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "markdown")
        res[_page_name(nb)] = re.search(r"^# (.+)$", md, re.M)[1].strip()
    return res


def _exports() -> list:
    "(module, name, page, anchor) for every name in `__all__` of plmbook's modules; page and anchor from nbdev's index."
    d, res = runpy.run_path(str(ROOT/"plmbook"/"_modidx.py"))["d"], []
    for py in sorted((ROOT/"plmbook").glob("[!_]*.py")):
        tree = ast.parse(py.read_text(encoding="utf-8"))
        names = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                      and any(getattr(t, "id", None) == "__all__" for t in n.targets)), [])
        syms = d["syms"].get(f"plmbook.{py.stem}", {})
        pages = [v[0].partition("#")[0] for v in syms.values() if v[0]]  # the module's page: its notebook's name
        home = max(set(pages), key=pages.count) if pages else f"{py.stem}.html"
        for name in names:
            doc = syms.get(f"plmbook.{py.stem}.{name}", (None,))[0]  # e.g. 'core.html#set_seed'; None for constants
            page, _, anchor = (doc or home).partition("#")
            res.append((py.stem, name, page.removesuffix(".html"), anchor or None))
    return res


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    "The site, built by `docs/build.py` into a temporary folder."
    out = tmp_path_factory.mktemp("docs")/"site"
    r = subprocess.run([sys.executable, str(ROOT/"docs"/"build.py"), str(out)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, f"docs/build.py failed:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
    return out


def test_site_has_every_chapter(site):
    for page, title in _chapters().items():
        text = (site/f"{page}.html").read_text(encoding="utf-8")
        assert f"<title>{html.escape(title)} " in text, f"{page}.html: no title {title!r}"


def test_pages_embed_nothing_external(site):
    "Scripts, styles, fonts and images come from the site itself (links to other sites are fine)."
    for f in site.rglob("*.html"):
        ext = re.findall(r'<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]*)"', f.read_text(encoding="utf-8"))
        assert not ext, f"{f.relative_to(site)} loads {ext}"


@pytest.fixture(scope="module")
def server(site):
    "The site served on 127.0.0.1 at a free port."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def requests() -> list:
    "Every URL the browser asks for, over all the tests in this module."
    return []


@pytest.fixture(scope="module")
def page(requests):
    "A headless Chromium page that records every request and blocks those to other hosts."
    required = os.environ.get("PLMBOOK_REQUIRE_BROWSER") == "1"
    try: from playwright.sync_api import sync_playwright
    except ImportError:
        if required: pytest.fail("PLMBOOK_REQUIRE_BROWSER=1 but Playwright is not installed (pip install playwright)")
        pytest.skip("Playwright is not installed (pip install playwright)")
    if not CHROMIUM:
        if required: pytest.fail("PLMBOOK_REQUIRE_BROWSER=1 but Chromium is missing (apt-get install -y chromium)")
        pytest.skip("Chromium is not installed (apt-get install -y chromium); set PLMBOOK_REQUIRE_BROWSER=1 to fail instead")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page()
        pg.on("request", lambda r: requests.append(r.url))
        pg.route("**/*", lambda route: route.continue_() if _local(route.request.url) else route.abort())
        yield pg
        browser.close()


def _local(url: str) -> bool: return urlparse(url).scheme in ("data", "blob") or urlparse(url).hostname == "127.0.0.1"


@pytest.fixture(scope="module")
def crawl(page, server) -> dict:
    "Every page reachable from the home page: URL -> status, title, text, ids, links, formulas and MathJax's output."
    pages, todo = {}, [f"{server}/index.html"]
    while todo:
        url = todo.pop()
        if url in pages: continue
        resp = page.goto(url)
        info = pages[url] = {"status": resp.status if resp else None}
        if not (resp and resp.ok and url.endswith(".html")): continue
        math = page.locator(".math").count()
        if math:  # MathJax typesets after the page loads; a page where it fails shows in test_math_renders
            try: page.wait_for_function(f"document.querySelectorAll('mjx-container').length >= {math}", timeout=15_000)
            except Exception: pass
        info.update(title=page.title(), text=page.inner_text("body"), math=math, mjx=page.locator("mjx-container").count(),
                    ids=set(page.eval_on_selector_all("[id], a[name]", "els => els.map(e => e.id || e.name)")),
                    links=page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"))
        todo += [urldefrag(link)[0] for link in info["links"] if link.startswith(server + "/")]
    return pages


def test_chapter_pages_load(crawl, server):
    for page, title in _chapters().items():
        info = crawl.get(f"{server}/{page}.html")
        assert info, f"{page}.html is not linked from the site"
        assert info["status"] == 200, f"{page}.html: HTTP {info['status']}"
        assert info["title"].startswith(title), f"{page}.html: title {info['title']!r}, expected {title!r}"


def test_internal_links_resolve(crawl, server):
    bad = []
    for url, info in crawl.items():
        for link in info.get("links", []):
            if not link.startswith(server + "/"): continue
            target, frag = urldefrag(link)
            if crawl[target]["status"] != 200: bad.append(f"{url} -> {link}: HTTP {crawl[target]['status']}")
            elif frag and unquote(frag) not in crawl[target].get("ids", ()): bad.append(f"{url} -> {link}: no such anchor")
    assert not bad, "\n".join(bad)


def test_exported_names_have_anchors(crawl, server):
    missing = []
    for mod, name, page, anchor in _exports():
        info = crawl.get(f"{server}/{page}.html", {})
        if anchor: ok = anchor in info.get("ids", ())
        # a constant gets no API section from nbdev: an anchor (`show_doc(X, name="X")`, a heading) or a mention will do
        else: ok = name.lower() in info.get("ids", ()) or name in info.get("text", "")
        if not ok: missing.append(f"plmbook.{mod}.{name} ({page}.html#{anchor or name.lower()})")
    assert not missing, "exported names with no anchor (for a constant: no mention either) on their page: " + ", ".join(missing)


def test_math_renders(crawl):
    with_math = {url: info for url, info in crawl.items() if info.get("math")}
    assert with_math, "no page has math (core's $2^{-23}$ should be one)"
    for url, info in with_math.items(): assert info["mjx"] >= info["math"], f"{url}: MathJax typeset {info['mjx']} of {info['math']} formulas"


def test_search_finds_exported_names(page, server):
    by_page = {}
    for mod, name, pg, anchor in _exports():
        if anchor: by_page.setdefault(pg, name)
    assert by_page, "no documented exports to search for"
    for pg, name in by_page.items():
        page.goto(f"{server}/search.html?q={name}")
        page.wait_for_selector("#search-results ul.search li a", timeout=15_000)
        hits = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.href)")
        assert any(urlparse(h).path == f"/{pg}.html" for h in hits), f"searching {name!r} does not find {pg}.html: {hits}"


def test_no_request_leaves_the_machine(crawl, requests):
    assert requests, "the browser made no requests"
    outside = sorted({u for u in requests if not _local(u)})
    assert not outside, f"pages asked for {outside}"
