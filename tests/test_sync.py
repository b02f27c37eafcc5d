"""The library is exported from the notebooks and the notebooks are stored clean: running `nbdev-export` and
`nbdev-clean` on a copy of the project must change nothing."""
import re, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tree(root: Path, sub: str) -> dict:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root/sub).rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}


def _changed(before: dict, after: dict) -> list:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


def _nbdev(cmd: str, cwd: Path):
    exe = Path(sys.executable).parent/cmd
    r = subprocess.run([str(exe) if exe.exists() else cmd], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout}\n{r.stderr}"


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path/"proj"
    dst.mkdir()
    shutil.copy(ROOT/"pyproject.toml", dst)
    for sub in ("nbs", "plmbook"):
        shutil.copytree(ROOT/sub, dst/sub, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return dst


def test_library_matches_notebooks(tmp_path):
    proj = _copy(tmp_path)
    before = _tree(proj, "plmbook")
    _nbdev("nbdev-export", proj)
    changed = _changed(before, _tree(proj, "plmbook"))
    assert not changed, f"nbdev-export changes {changed}: run nbdev-export and commit plmbook/ (never edit it by hand)"


def test_notebooks_are_clean(tmp_path):
    proj = _copy(tmp_path)
    before = _tree(proj, "nbs")
    _nbdev("nbdev-clean", proj)
    changed = _changed(before, _tree(proj, "nbs"))
    assert not changed, f"nbdev-clean changes {changed}: run nbdev-clean and commit the notebooks"


def test_chapters_import_only_earlier_chapters():
    import re
    order = [p.stem.split("_", 1)[1] for p in sorted((ROOT/"nbs").glob("[0-9][0-9]_*.ipynb"))]
    for i, mod in enumerate(order):
        src = ROOT/"plmbook"/f"{mod}.py"
        if not src.exists(): continue
        used = set(re.findall(r"^\s*(?:from|import)\s+(?:plmbook\.|\.)(\w+)", src.read_text(), re.M))
        later = used & set(order[i:])
        assert not later, f"plmbook/{mod}.py imports {sorted(later)}: a chapter may import only earlier chapters"


def test_cells_with_imports_hold_only_imports():
    """nbdev's doc processing (`docs/build.py`) re-runs every exported cell and every cell containing an import, in a
    fresh namespace without the notebook's other cells: a cell that mixes an import with code using the notebook's
    variables fails there (`NameError`) although the notebook itself runs. Imports go in cells of their own."""
    import ast, json
    bad = []
    for nb in sorted((ROOT/"nbs").glob("*.ipynb")):
        for i, c in enumerate(json.loads(nb.read_text())["cells"]):
            src = "".join(c["source"])
            if c["cell_type"] != "code" or re.search(r"^#\|\s*(export|exporti|exports|exec_doc)\b", src, re.M): continue
            try: body = ast.parse("\n".join(l for l in src.split("\n") if not l.lstrip().startswith(("%", "!"))))
            except SyntaxError: continue
            imports = any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(body))
            if imports and not all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in body.body):
                bad.append(f"{nb.name} cell {i}: {src.splitlines()[0][:60]!r}")
    assert not bad, "cells mixing imports with other code (split the imports into their own cell):\n" + "\n".join(bad)
