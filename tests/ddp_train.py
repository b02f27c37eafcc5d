"""Train a small GPT on Penn Treebank sentences with plmbook's Trainer, as one process or under torchrun; used by test_ddp.py.

Usage: [torchrun --standalone --nproc_per_node N] python tests/ddp_train.py OUT_DIR [--steps S] [--signal-at K] [--resume]
Process 0 writes OUT_DIR/losses.json (the logged train and eval losses). With --signal-at K, process 0 sends itself SIGTERM after step K."""
import argparse, json, os, signal
from collections import Counter

import torch

import treebank

from plmbook.core import set_seed
from plmbook.models import GPT, ModelConfig
from plmbook.training import Callback, Trainer, TrainingArgs


class NextWord:
    "Causal language modelling on sentences of word ids, padded on the right (a miniature of chapter 06's objectives)."
    def collate(self, examples):
        ids = torch.zeros(len(examples), max(map(len, examples)), dtype=torch.long)
        for i, e in enumerate(examples): ids[i, :len(e)] = torch.tensor(e)
        mask = torch.arange(ids.shape[1]) < torch.tensor([len(e) for e in examples])[:, None]
        return {"input_ids": ids, "attention_mask": mask.long(), "labels": ids.masked_fill(~mask, -100)}

    def __call__(self, model, batch):
        out = model(**batch)
        out.n_targets = int((batch["labels"][:, 1:] != -100).sum())
        return out


class SignalAt(Callback):
    "Process 0 sends itself SIGTERM after `step`, as a cluster's scheduler would before killing the job."
    def __init__(self, step): self.step = step
    def on_step_end(self, trainer, stats):
        if trainer.step == self.step and trainer.is_main: os.kill(os.getpid(), signal.SIGTERM)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out_dir"); p.add_argument("--steps", type=int, default=6); p.add_argument("--signal-at", type=int)
    p.add_argument("--resume", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(1)  # two processes share two cores
    texts = [l.strip() for l in treebank.penn["train"].split("\n")[:4000] if l.strip()]  # the raw Penn Treebank (plmbook.data's source): no datasets import
    itos = ["<pad>", "<eos>"] + [w for w, _ in Counter(w for s in texts for w in s.split()).most_common(998)]
    stoi = {w: i for i, w in enumerate(itos)}
    encode = lambda s: [1] + [stoi.get(w, stoi["<unk>"]) for w in s.split()][:40] + [1]
    train, valid = [encode(s) for s in texts], [encode(l.strip()) for l in treebank.penn["valid"].split("\n")[:64] if l.strip()]
    set_seed(0)
    model = GPT(ModelConfig.preset("gpt", "tiny", vocab_size=len(itos), d_model=64, n_heads=4, d_ff=256, max_positions=64, dropout=0.0))
    args = TrainingArgs(lr=3e-3, warmup_steps=2, max_steps=a.steps, batch_size=8, grad_accum=2, log_every=1, eval_every=3,
                        out_dir=a.out_dir, device="cpu", progress=False, tensorboard=False)
    trainer = Trainer(model, NextWord(), train, valid, args, [SignalAt(a.signal_at)] if a.signal_at else [])
    history = trainer.fit(resume_from="latest" if a.resume else None)
    if trainer.is_main:
        with open(os.path.join(a.out_dir, "losses.json"), "w") as f:
            json.dump({"loss": [h["loss"] for h in history if "loss" in h], "eval_loss": [h["eval_loss"] for h in history if "eval_loss" in h],
                       "world_size": trainer.world_size}, f)


if __name__ == "__main__": main()
