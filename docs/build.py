"""Build the documentation site without Quarto: execute the notebooks, process them with nbdev, convert nbdev's
processed notebooks into a Sphinx source tree and render it with Sphinx, myst-nb and sphinx-book-theme.

Usage: `python docs/build.py [OUT]` writes the site to OUT (default `_site/`). Everything else goes to git-ignored
`_build/` and `_proc/` (nbdev always writes the latter at the project root)."""
import json, os, re, shutil, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS, BUILD = ROOT/"docs", ROOT/"_build"
sys.path[:0] = [str(DOCS), str(ROOT)]  # conf.py's heading slugs; plmbook for nbdev's processing, even when not installed
STAGE, SRC, HTML = BUILD/"stage", BUILD/"site_src", BUILD/"html"

# Offline, headless: a hub name must fail at once instead of retrying, and plots must not need a display.
os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_EVALUATE_OFFLINE="1", MPLBACKEND="Agg")


def stage():
    "Copy nbs/ to the staging folder, so that executing the notebooks writes outputs into copies only."
    shutil.rmtree(STAGE, ignore_errors=True)
    shutil.copytree(ROOT/"nbs", STAGE, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))


TESTED = BUILD/"tested"  # notebooks the test run executed, with their outputs (see conftest.py)


def run_key(nb: Path, skip_flags) -> str:
    "What an executed notebook's outputs depend on: its source, the package's source and the skipped flags."
    import hashlib
    h = hashlib.sha256(nb.read_bytes())
    for f in sorted((ROOT/"plmbook").rglob("*.py")): h.update(f.name.encode()); h.update(f.read_bytes())
    h.update(" ".join(sorted(skip_flags)).encode())
    return h.hexdigest()


def execute(cfg):
    "Run the staged notebooks as the tests do (skipping `#| gpu`/`#| slow` cells) and save their outputs; exit if one fails."
    from fastcore.parallel import parallel
    from nbdev.doclinks import nbglob
    from nbdev.test import test_nb
    skip = cfg.tst_flags.split() if isinstance(cfg.tst_flags, str) else list(cfg.tst_flags)
    nbs, reused = [], 0
    for nb in sorted(nbglob(STAGE, as_path=True)):  # a notebook that the tests just ran from the same sources is not run again
        done, key = TESTED/nb.name, TESTED/f"{nb.stem}.key"
        if done.exists() and key.exists() and key.read_text() == run_key(ROOT/"nbs"/nb.name, skip):
            shutil.copyfile(done, nb); reused += 1
        else: nbs.append(nb)
    res = parallel(test_nb, nbs, skip_flags=skip, save=True, basepath=cfg.config_path, cell_timeout=int(cfg.cell_timeout),
                   n_workers=min(os.cpu_count() or 1, len(nbs)) if len(nbs) > 1 else 0, pause=0.01) if nbs else []
    failed = [nb.name for nb, (ok, _) in zip(nbs, res) if not ok]
    if failed: sys.exit(f"docs/build.py: notebook(s) failed: {', '.join(failed)} (tracebacks above)")
    if reused: print(f"reused the outputs of {reused} notebook(s) executed by the tests from the same sources")
    return len(nbs) + reused


def front_matter(nb) -> dict:
    "The YAML front matter nbdev's processing puts in the first raw cell (title, description, output-file)."
    import yaml
    c = nb["cells"][0] if nb["cells"] else {}
    m = re.match(r"---\n(.*?)\n---", "".join(c.get("source", [])), re.S) if c.get("cell_type") == "raw" else None
    return (yaml.safe_load(m[1]) or {}) if m else {}


def md_cell(text: str) -> dict: return {"cell_type": "markdown", "metadata": {}, "source": text}


def site_link(url: str, base: str, baseurl: str):
    "The page and fragment (`core`, `#set_seed`) of a link to this site (absolute, or relative such as `core.html`), else None."
    path = url[len(base):] if url.startswith(base) else url
    if "://" in path: return None
    if baseurl and path.startswith(baseurl + "/"): path = path[len(baseurl):]
    m = re.fullmatch(r"/?([\w/-]+)\.html(#\S*)?", path)
    return (m[1], m[2] or "") if m else None


def relink(md: str, ids: dict, base: str, baseurl: str, unlinked: list) -> str:
    "Point links to this site's pages at the page sources, so that Sphinx checks them."
    def fix(m):
        to = site_link(m[2], base, baseurl)
        if to is None: return m[0]
        (page, frag), text = to, m[1]
        # nbdev links every backticked name it knows, also one with no show_doc section (a method, a private helper):
        # that link has no target on any site, so keep the name and drop the link. Links written by hand stay checked.
        if re.fullmatch(r"`[^`]+`", text) and frag and page in ids and frag[1:] not in ids[page]:
            unlinked.append(f"{text} ({page}.html{frag})")
            return text
        return f"[{text}]({page}.ipynb{frag})"
    return re.sub(r"\[([^\]]*)\]\(([^)\s]+)\)", fix, md)


def heading_ids(nb) -> set:
    "The ids of a page's headings, as myst makes them with `conf.pandoc_slug`."
    from conf import pandoc_slug
    ids, fence = set(), False
    for c in nb["cells"]:
        for line in "".join(c["source"]).splitlines() if c["cell_type"] == "markdown" else []:
            if line.lstrip().startswith(("```", "~~~")): fence = not fence
            elif not fence and (h := re.match(r"#{1,6}\s+(.*?)[\s#]*$", line)):
                ids.add(pandoc_slug(re.sub(r"[`*]|\[([^\]]*)\]\([^)]*\)", r"\1", h[1])))
    return ids


def api_md(md: str) -> str:
    "A `show_doc` section as page markdown: the heading first (without the rule above it: a section may not start with one)."
    md, link = re.sub(r"^\s*---\s*\n", "", md), ""
    if m := re.search(r"(\[source\]\([^)]*\))(\{[^}]*\})?\s*", md):  # nbdev puts it above the heading, with Quarto attributes
        md, link = md.replace(m[0], "", 1), f"\n{m[1]}{{.api-source}}\n"
    return re.sub(r"^(#{1,6} .*)$", lambda h: f"{{.api}}\n{h[1]}\n{link}", md, count=1, flags=re.M)


def convert_cell(cell, flags) -> list:
    "One processed cell as myst-nb cells: `#|` options become tags, `output: asis` markdown becomes page markdown."
    if cell["cell_type"] != "code": return [cell]
    lines = "".join(cell["source"]).splitlines(keepends=True)
    n = next((i for i, l in enumerate(lines) if not l.startswith("#|")), len(lines))
    opts = dict(re.match(r"#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$", l).groups() for l in lines[:n] if re.match(r"#\|\s*[\w-]", l))
    flagged = [l for l in lines[:n] if l[2:].strip() in flags]  # leave `#| gpu`/`#| slow` visible: they say why there is no output
    tags = {("echo", "false"): "remove-input", ("output", "false"): "remove-output", ("include", "false"): "remove-cell"}
    tags = [t for k, t in tags.items() if opts.get(k[0]) == k[1]]
    if opts.get("eval") == "false" or flagged: tags.append("skip-execution")
    outs = cell.get("outputs", [])
    md = [o["data"]["text/markdown"] for o in outs if "text/markdown" in o.get("data", {})]
    code = {**cell, "source": "".join(flagged + lines[n:]),
            "metadata": {**cell.get("metadata", {}), "tags": cell.get("metadata", {}).get("tags", []) + tags}}
    if opts.get("output") != "asis" or not md: return [code]
    api = [md_cell(api_md("".join(m))) for m in md]
    return api if opts.get("echo") == "false" else [{**code, "outputs": []}] + api


def convert(proc: Path, cfg) -> list:
    "Write `proc`'s notebooks as the Sphinx source tree SRC, named by their output file, with the chapters in a toctree."
    shutil.rmtree(SRC, ignore_errors=True)
    SRC.mkdir(parents=True)
    flags = set(cfg.tst_flags.split() if isinstance(cfg.tst_flags, str) else cfg.tst_flags)
    pages = {}  # page name -> notebook, in file-name (NN_) order
    for f in sorted(p for p in proc.rglob("*.ipynb") if not any(s.startswith(("_", ".")) for s in p.relative_to(proc).parts)):
        nb = json.loads(f.read_text(encoding="utf-8"))
        fm = front_matter(nb)
        if fm: nb["cells"] = nb["cells"][1:]
        head = f"# {fm.get('title', f.stem)}\n" + (f"\n{{.description}}\n{fm['description']}\n" if fm.get("description") else "")
        nb["cells"] = [md_cell(head)] + [c for cell in nb["cells"] for c in convert_cell(cell, flags)]
        pages[(f.relative_to(proc).parent/Path(fm.get("output-file", f.stem + ".html")).stem).as_posix()] = nb
    if "index" not in pages: sys.exit("docs/build.py: nbs/ has no index.ipynb (the site's home page)")
    ids, unlinked = {page: heading_ids(nb) for page, nb in pages.items()}, []
    baseurl = (cfg.get("doc_baseurl") or "").rstrip("/")  # the site's own URL, e.g. https://plmbook.github.io/plmbook/
    base = f"{cfg.get('doc_host') or ''}{baseurl}/"
    for page, nb in pages.items():
        for c in nb["cells"]:
            if c["cell_type"] == "markdown": c["source"] = relink("".join(c["source"]), ids, base, baseurl, unlinked)
            for o in c.get("outputs", []):
                if "text/markdown" in o.get("data", {}):
                    o["data"]["text/markdown"] = relink("".join(o["data"]["text/markdown"]), ids, base, baseurl, unlinked)
    if unlinked: print(f"no show_doc section, so not linked: {', '.join(dict.fromkeys(unlinked))}")
    chapters = [page for page in pages if page != "index"]
    pages["index"]["cells"].append(md_cell("```{toctree}\n:hidden:\n:maxdepth: 1\n\n" + "\n".join(chapters) + "\n```\n"))
    for page, nb in pages.items():
        for i, c in enumerate(nb["cells"]): c["id"] = f"cell-{i}"  # new and split cells need unique ids too
        (SRC/page).parent.mkdir(parents=True, exist_ok=True)
        (SRC/page).with_suffix(".ipynb").write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return chapters


def sphinx(out: Path):
    "Render SRC with docs/conf.py into `out`; any warning fails the build."
    from sphinx.cmd.build import build_main
    shutil.rmtree(HTML, ignore_errors=True)
    # -E: read every page again, so a warning from an unchanged page still fails the build
    if build_main(["-W", "--keep-going", "-E", "-q", "-b", "html", "-c", str(DOCS), "-d", str(BUILD/"doctrees"),
                   str(SRC), str(HTML)]):
        sys.exit("docs/build.py: Sphinx reported warnings or errors (above)")
    shutil.rmtree(out, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(HTML, out)  # built beside _build/, where myst-nb puts its jupyter_execute/ folder


def main(out: Path = ROOT/"_site"):
    "Execute, process, convert and render the notebooks into the site at `out`."
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.serve import proc_nbs
    cfg, t0 = get_config(ROOT), time.time()
    stage()
    n = execute(cfg)
    t1 = time.time()
    with working_directory(STAGE):  # processing runs import and export cells again: from where the notebooks ran
        proc = proc_nbs(path=str(STAGE), n_workers=0, force=True)  # not nbdev-proc-nbs: that one tries to install Quarto
    chapters = convert(Path(proc), cfg)
    t2 = time.time()
    sphinx(out)
    print(f"executed {n} notebooks in {t1-t0:.1f}s, processed in {t2-t1:.1f}s, rendered in {time.time()-t2:.1f}s: "
          f"index + {len(chapters)} chapter(s)")
    print(f"site: {out}/index.html (serve it with: python -m http.server -d {out})")


if __name__ == "__main__": main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT/"_site")
