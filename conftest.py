"""pytest runs every notebook in nbs/ as one test, with nbdev's own machinery (so `#| slow`/`#| gpu` cells are skipped
unless `--flags` names them), next to the ordinary tests in tests/. Each notebook runs as a copy in _build/tested/ that keeps
its outputs, with a key of what they depend on; the docs build (tests/test_docs.py) reuses them instead of running it again."""
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_EVALUATE_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_addoption(parser):
    parser.addoption("--flags", default="", help="space-separated nbdev test flags to run, e.g. --flags 'gpu slow'")


def pytest_collect_file(file_path: Path, parent):
    if file_path.suffix == ".ipynb" and file_path.parent.name == "nbs" and not file_path.name.startswith(("_", ".")):
        return NotebookFile.from_parent(parent, path=file_path)


class NotebookFile(pytest.File):
    def collect(self):
        yield NotebookItem.from_parent(self, name=self.path.stem)


class NotebookFailed(Exception): pass


_BUILD = []  # docs/build.py, loaded once


def _run_key(nb: Path, skip_flags) -> str:
    "docs/build.py's key for reusing an executed notebook: the same function, loaded from there."
    if not _BUILD:
        import importlib.util
        spec = importlib.util.spec_from_file_location("plmbook_docs_build", nb.parents[1]/"docs"/"build.py")
        _BUILD.append(importlib.util.module_from_spec(spec)); spec.loader.exec_module(_BUILD[0])
    return _BUILD[0].run_key(nb, skip_flags)


_THREADS = []  # torch's thread count as the first notebook found it


def _reset_torch_state():
    "Autograd on, the default dtype fp32 and the original thread count, as a fresh Python process would have them."
    import torch
    if not _THREADS: _THREADS.append(torch.get_num_threads())
    torch.set_grad_enabled(True)
    torch.set_default_dtype(torch.float32)
    torch.set_num_threads(_THREADS[0])


class NotebookItem(pytest.Item):
    def runtest(self):
        from nbdev.config import get_config
        from nbdev.test import test_nb
        cfg = get_config(self.path.parent)
        skip = cfg.tst_flags.split() if isinstance(cfg.tst_flags, str) else list(cfg.tst_flags)
        force = self.config.getoption("flags").split()
        _reset_torch_state()  # every notebook runs in this process: one that failed half-way must not leak its settings
        # run a copy in _build/tested/ and keep its outputs: the docs build (tests/test_docs.py) then need not run it again
        tested = self.path.parents[1]/"_build"/"tested"
        tested.mkdir(parents=True, exist_ok=True)
        copy, key = tested/self.path.name, tested/f"{self.path.stem}.key"
        key.unlink(missing_ok=True)
        shutil.copyfile(self.path, copy)
        ok, secs = test_nb(copy, skip_flags=skip, force_flags=force, basepath=cfg.config_path,
                           cell_timeout=int(cfg.cell_timeout), save=not force)
        if ok and not force: key.write_text(_run_key(self.path, skip))
        self.user_properties.append(("seconds", round(secs, 1)))
        if not ok: raise NotebookFailed(f"{self.path.name} failed (the cell's traceback is in the captured stderr above)")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, NotebookFailed): return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"notebook {self.path.name}"
