"""Multi-process training on the CPU: two processes under torchrun reproduce one process's loss curve at the same global batch,
through a SIGTERM that reaches one process only (all stop, save one checkpoint, and resume from it); and `plmbook pretrain`
under torchrun."""
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


def test_pretrain_command_under_torchrun(tmp_path):
    """`plmbook pretrain` under torchrun: two processes share the global batch, and only process 0 writes the run folder."""
    from plmbook.cli import main
    assert main(["tokenizer", "train", "--kind", "bpe", "--vocab-size", "2048", "--out", str(tmp_path/"tok"), "--quiet"]) == 0
    launcher = tmp_path/"plmbook_cli.py"  # what the `plmbook` console script does, as a file torchrun can start
    launcher.write_text("import sys\nfrom plmbook.cli import main\nsys.exit(main())\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    out = tmp_path/"pretrain"
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(launcher), "pretrain",
                        "--tokenizer", str(tmp_path/"tok"), "--objective", "clm", "--steps", "10", "--batch-size", "8", "--block-size", "64",
                        "--log-every", "5", "--out", str(out), "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    metrics = json.loads((out/"metrics.json").read_text())
    assert metrics["steps"] == 10 and metrics["tokens"] == 10 * 8 * 64  # the batch of 8 is global: 4 examples a process
    assert [json.loads(l)["step"] for l in (out/"log.jsonl").read_text().splitlines()] == [5, 10, 10]  # one log, written once
    assert sorted(p.name for p in out.iterdir()) == ["best", "checkpoint-10", "log.jsonl", "loss.png", "metrics.json", "model", "run.json"]
