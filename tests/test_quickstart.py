"""End to end: the README's main command, `plmbook quickstart`, run as a newcomer runs it apart from the budget. It checks the run
folder, that the pretrained model beats the same architecture trained from scratch on the test split (mean accuracy over the
quickstart's fine-tuning seeds), and that a second run with the same seed gives the same metrics (only the timings may differ)."""
import json, re, shlex, subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = ["--steps", "3000"]  # pretraining steps instead of the default time budget: a fixed count makes the run repeatable
LAYOUT = ["confusion_matrix.png", "data", "finetune-pretrained", "finetune-scratch", "loss_curves.png", "metrics.json", "pretrain",
          "report.md", "run.json", "tokenizer"]


def main_command() -> list[str]:
    "The plmbook command of the README's first set-up line (after the install)."
    section = (ROOT / "README.md").read_text().split("## Set up", 1)[1].split("\n## ", 1)[0]
    first = re.findall(r"```sh\n(.*?)\n```", section, re.S)[0]
    cmd = first.split("&&")[-1].strip()
    assert cmd.startswith("plmbook quickstart"), f"the README's main command should be plmbook quickstart, got {cmd!r}"
    return shlex.split(cmd)


def run(out: Path) -> dict:
    done = subprocess.run(main_command() + BUDGET + ["--out", str(out), "--quiet"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "metrics.json").read_text())


def measured(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k != "seconds"}


def convert_to_transformers(model_dir: Path, out: Path):
    "`plmbook convert` writes the pretrained BERT (rotary positions) as a RoFormer that transformers loads and runs as plmbook does."
    import torch, transformers
    from plmbook.cli import load_model
    done = subprocess.run(["plmbook", "convert", "--model", str(model_dir), "--out", str(out), "--quiet"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    ours, tok = load_model(model_dir)
    hf = transformers.AutoModelForMaskedLM.from_pretrained(out / "model").eval()
    assert type(hf).__name__ == "RoFormerForMaskedLM"
    ids = torch.tensor([tok.encode_plus("The minister said the economy grew faster than expected last year.").ids])
    with torch.no_grad(): diff = (ours(ids).logits - hf(input_ids=ids).logits).abs().max().item()
    assert diff < 1e-4, diff


def test_quickstart(tmp_path):
    first = run(tmp_path / "first")
    assert sorted(p.name for p in (tmp_path / "first").iterdir()) == LAYOUT
    seeds = [f"seed-{s}" for s in first["finetune_seeds"]]
    steps = ["tokenizer", "pretrain"] + [f"finetune-{start}/{seed}" for start in ("pretrained", "scratch") for seed in seeds]
    for step in steps:
        assert {"run.json", "metrics.json"} <= {p.name for p in (tmp_path / "first" / step).iterdir()}, step
    assert sorted(p.name for p in (tmp_path / "first" / "pretrain" / "model").iterdir()) == [
        "config.json", "model.safetensors", "pretraining.json", "tokenizer.json"]
    report = (tmp_path / "first" / "report.md").read_text()
    assert f"{first['pretrained']['accuracy']:.3f}" in report and f"{first['from_scratch']['accuracy']:.3f}" in report
    assert first["pretraining"]["steps"] == int(BUDGET[1])
    assert len(first["pretrained"]["per_seed"]) == len(first["finetune_seeds"]) > 1
    assert first["pretrained"]["accuracy"] > first["from_scratch"]["accuracy"], (first["pretrained"], first["from_scratch"])
    convert_to_transformers(tmp_path / "first" / "pretrain" / "model", tmp_path / "hf")
    second = run(tmp_path / "second")
    assert measured(second) == measured(first)
