"""Multi-process training on the CPU: two processes under torchrun reproduce one process's loss curve at the same global batch,
through a SIGTERM that reaches one process only (all stop, save one checkpoint, and resume from it)."""
import json, os, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT/"tests"/"ddp_train.py"


def _run(out: Path, *extra: str, procs: int = 1, ok: bool = True) -> str:
    launch = [sys.executable] if procs == 1 else [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={procs}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    r = subprocess.run([*launch, str(SCRIPT), str(out), *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    log = r.stdout + r.stderr
    assert (r.returncode == 0) == ok, f"exit code {r.returncode}:\n{log[-3000:]}"
    return log


def _losses(out: Path) -> dict: return json.loads((out/"losses.json").read_text())


def test_two_processes_match_one_through_sigterm_and_resume(tmp_path):
    _run(tmp_path/"one")  # the reference: one process, 6 steps of 2 micro-batches of 8 sentences
    one = _losses(tmp_path/"one")
    assert one["world_size"] == 1 and len(one["loss"]) == 6

    two = tmp_path/"two"
    log = _run(two, "--signal-at", "3", procs=2, ok=False)  # process 0 alone receives SIGTERM after step 3
    assert log.count("KeyboardInterrupt: SIGTERM at step 3") == 2, log[-3000:]  # both processes stopped there and said why
    assert "checkpoint saved to" in log and [p.name for p in two.glob("checkpoint-*")] == ["checkpoint-3"]
    assert not list(two.glob(".*"))  # no temporary folder left behind

    _run(two, "--resume", procs=2)
    ddp = _losses(two)
    assert ddp["world_size"] == 2 and len(ddp["loss"]) == 6
    assert ddp["loss"] == pytest.approx(one["loss"], abs=1e-5, rel=0), (ddp["loss"], one["loss"])
    assert ddp["eval_loss"] == pytest.approx(one["eval_loss"], abs=1e-5, rel=0)
    assert sorted(p.name for p in two.glob("checkpoint-*")) == ["checkpoint-3", "checkpoint-6"]
