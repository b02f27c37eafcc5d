"""Benchmark plmbook's pretraining (chapter 06's objectives through chapter 07's `Trainer`) against Hugging Face `transformers`.

Both sides train on the same real text, tokenized once and cut into the same blocks:
- masked LM: a WordPiece vocabulary of 8,192 trained on the BBC News training articles; each article wrapped as
  [CLS] ... [SEP], concatenated and cut into blocks of 128 tokens (as transformers' `run_mlm.py` groups texts: no padding).
  plmbook: `MaskedLM` (dynamic masking, 15% of tokens, 80/10/10, sparse prediction: the head runs only at the targets)
  trained by `Trainer`; transformers: `BertForMaskedLM` (sdpa) fed by `DataCollatorForLanguageModeling(mlm_probability=0.15)`.
- causal LM: a byte-level BPE vocabulary of 8,192 trained on the same articles; each article followed by <|endoftext|>,
  packed into blocks of 128. plmbook: `NextToken` (the loss by `fused_lm_loss`, no logits materialised) trained by `Trainer`,
  first with documents seeing each other in a block, as transformers' `run_clm.py` does (the same work: the goal is judged on
  this row), then with its default of keeping them apart (block-diagonal masks and restarting positions: more work);
  transformers: `GPT2LMHeadModel` (sdpa) fed by `DataCollatorForLanguageModeling(mlm=False)`.
Every model has 4 layers, d_model 256, 4 heads, d_ff 1024, 128 positions and dropout 0.1; parameter counts are printed and
checked equal. Both sides use torch's fused AdamW (lr 1e-4, weight decay 0.01 on matrices only, as transformers' Trainer does),
gradient clipping at 1.0 and a linear schedule; transformers runs in a plain loop that does what its Trainer's inner step
does. Batches of 8 x 128 tokens.

Throughput is tokens per second of whole optimizer steps (collation, forward, backward, clipping, optimizer and scheduler),
from the median step. The contenders alternate in rounds of `--round` steps, so that other load on the machine falls on
both alike; the first round of each is a warm-up and not timed. Goals: plmbook at least 1.5x transformers' tokens/s for
masked LM and 1.2x for causal LM on CPU. Prints a table, then one JSON line with every figure.

On a GPU (`--device cuda`; bf16 autocast on both sides unless `--precision` says otherwise) the same two races run, with
`--batch` sequences a step, and a third one at GPT-2-small size (12 layers, d_model 768, 12 heads, d_ff 3072, vocabulary
50,304 (GPT-2's rounded up to a multiple of 64), blocks of 1,024 tokens cut from the same BPE ids; `--mfu-batch` sequences a step): plmbook `GPT` with `NextToken`
and `Trainer` (also under `torch.compile` with `--compile`) against `GPT2LMHeadModel`, with the model FLOPs utilisation of
each (benchmarks/flops.py: the FLOPs a step must do over the GPU's dense bf16 peak). Goal there: 45% or more for plmbook
through its Trainer. That race also times plmbook's GPT with `NextToken` in the same plain loop as transformers' (no Trainer):
the gap between the two plmbook rows is what the Trainer's own work costs (`--plain` adds such rows to the first two races).
Step times on a GPU are wall-clock between synchronisations at the ends of consecutive steps.
Usage (from the repository root, so that this checkout's plmbook is imported):
    PYTHONPATH=. python benchmarks/pretraining.py [--rounds N] [--round STEPS] [--plain]
    PYTHONPATH=. python benchmarks/pretraining.py --device cuda [--batch 64] [--mfu-batch 32] [--compile] [--plain]
"""
import os
for k, v in dict(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1").items():
    os.environ.setdefault(k, v)
import argparse, copy, json, statistics, sys, time

import torch, transformers
from transformers import (BertConfig, BertForMaskedLM as HFBertForMaskedLM, DataCollatorForLanguageModeling, GPT2Config,
                          GPT2LMHeadModel, get_linear_schedule_with_warmup)

from plmbook.data import load_corpus
from plmbook.models import ModelConfig, BertForMaskedLM, GPT
from plmbook.objectives import MaskedLM, NextToken, pack_documents
from plmbook.tokenizer import BPETokenizer, WordPieceTokenizer
from plmbook.training import Callback, Trainer, TrainingArgs, param_groups

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flops import peak_bf16, train_flops_per_token

SIZE = dict(n_layers=4, d_model=256, n_heads=4, d_ff=1024, vocab_size=8192, max_positions=128, dropout=0.1)
BATCH, BLOCK, LR, WD, MASK_P = 8, 128, 1e-4, 0.01, 0.15
# GPT-2 small, with its vocabulary of 50,257 rounded up to a multiple of 64 (as nanoGPT does): with an odd leading dimension the
# head's bf16 products fall back to slow kernels on a GPU (a profile showed them taking a third of the step)
GPT2_SMALL = dict(n_layers=12, d_model=768, n_heads=12, d_ff=3072, vocab_size=50304, max_positions=1024, dropout=0.1)
GOALS = {"mlm": 1.5, "clm": 1.2}
MFU_GOAL = 0.45
DEV = dict(device="cpu", precision="fp32", batch=BATCH)  # set from the command line in main()


def n_params(m): return sum(p.numel() for p in m.parameters())


def hf_bert(pad_id):
    c = BertConfig(vocab_size=SIZE["vocab_size"], hidden_size=SIZE["d_model"], num_hidden_layers=SIZE["n_layers"],
                   num_attention_heads=SIZE["n_heads"], intermediate_size=SIZE["d_ff"], max_position_embeddings=SIZE["max_positions"],
                   type_vocab_size=2, hidden_dropout_prob=SIZE["dropout"], attention_probs_dropout_prob=SIZE["dropout"],
                   hidden_act="gelu", layer_norm_eps=1e-12, pad_token_id=pad_id, attn_implementation="sdpa")
    return HFBertForMaskedLM(c)


def hf_gpt2(eos_id, size=SIZE):
    c = GPT2Config(n_layer=size["n_layers"], n_embd=size["d_model"], n_head=size["n_heads"], n_inner=size["d_ff"],
                   vocab_size=size["vocab_size"], n_positions=size["max_positions"], resid_pdrop=size["dropout"],
                   embd_pdrop=size["dropout"], attn_pdrop=size["dropout"], layer_norm_epsilon=1e-5, activation_function="gelu_new",
                   attn_implementation="sdpa", bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=eos_id)
    return GPT2LMHeadModel(c)


def mlm_blocks(tok, texts):
    "Every text as [CLS] ... [SEP], concatenated and cut into full blocks of BLOCK ids."
    cls, sep = tok.special_id("cls"), tok.special_id("sep")
    stream = [i for t in texts for i in (cls, *tok.encode(t), sep)]
    return [stream[i:i + BLOCK] for i in range(0, len(stream) - BLOCK + 1, BLOCK)]


PLAIN = "in a plain loop (no Trainer)"


def sync():
    if DEV["device"] == "cuda": torch.cuda.synchronize()


class StepTimes(Callback):
    "Collects the seconds and tokens of every optimizer step (on a GPU: wall-clock between synchronised step ends, from the second step)."
    def __init__(self): self.seconds, self.tokens, self.last = [], [], None
    def on_step_end(self, trainer, stats):
        if DEV["device"] == "cpu": self.seconds.append(stats["seconds"]); self.tokens.append(stats["tokens"]); return
        sync(); now = time.perf_counter()
        if self.last is not None: self.seconds.append(now - self.last); self.tokens.append(stats["tokens"])
        self.last = now


def plmbook_runner(model, objective, examples, batch=None, compile=False):
    "A function that trains `model` for n more steps with plmbook's Trainer and returns their (seconds, tokens)."
    state = {"seed": 0}
    def run(n):
        timer = StepTimes()
        args = TrainingArgs(lr=LR, weight_decay=WD, decay_embeddings=False, betas=(0.9, 0.999), schedule="linear", warmup_steps=0,
                            max_steps=n, batch_size=batch or DEV["batch"], clip_norm=1.0, log_every=n, progress=False, seed=state["seed"],
                            device=DEV["device"], precision=DEV["precision"], compile=compile)
        state["seed"] += 1  # another round: other batches
        Trainer(model, objective, examples, args=args, callbacks=[timer]).fit()
        return list(zip(timer.seconds, timer.tokens))
    return run


def plain_loop(model, make_batch, loss_of, examples, total_steps, batch=None):
    "A function that trains `model` for n more steps in a plain loop (collate, forward, backward, clip, AdamW and schedule steps) and returns their (seconds, tokens)."
    model.to(DEV["device"])
    bs, dtype = batch or DEV["batch"], {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[DEV["precision"]]
    autocast = lambda: torch.autocast(DEV["device"], dtype=dtype, enabled=dtype is not None)
    groups = param_groups(model, WD, decay_embeddings=False)
    opt = torch.optim.AdamW(groups, lr=LR, fused=True)  # transformers' Trainer default with torch >= 2.8 (adamw_torch_fused)
    sched = get_linear_schedule_with_warmup(opt, 0, total_steps)
    g = torch.Generator().manual_seed(0)
    model.train()
    def run(n):
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            idx = torch.randint(len(examples), (bs,), generator=g).tolist()
            batch = make_batch([examples[i] for i in idx])
            with autocast(): loss = loss_of(model, {k: v.to(DEV["device"], non_blocking=True) for k, v in batch.items()})
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); sched.step(); opt.zero_grad(set_to_none=True)
            sync()
            out.append((time.perf_counter() - t0, int(batch["attention_mask"].sum()) if "attention_mask" in batch else batch["input_ids"].numel()))
        return out
    return run


def hf_runner(model, collator, examples, total_steps, batch=None):
    "The same for a transformers model fed by `collator`: what its Trainer's inner step does."
    return plain_loop(model, lambda ex: collator([{"input_ids": e} for e in ex]), lambda m, b: m(**b).loss, examples, total_steps, batch)


def plain_runner(model, objective, examples, total_steps, batch=None):
    "plmbook's model and objective in the plain loop, without `Trainer`: the difference from the Trainer's row is what the Trainer adds."
    return plain_loop(model, objective.collate, lambda m, b: objective(m, b).loss, examples, total_steps, batch)


def race(entries, rounds, steps):
    "Per entry, the (seconds, tokens) of every timed step; entries take turns, round by round, after one untimed round."
    out = {name: [] for name, _ in entries}
    for r in range(rounds + 1):
        for name, run in entries:
            res = run(steps)
            if r: out[name] += res
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=4, help="timed rounds per contender (after one untimed round)")
    ap.add_argument("--round", type=int, default=4, help="optimizer steps per round")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--precision", choices=["fp32", "bf16"], help="default: fp32 on CPU, bf16 on a GPU")
    ap.add_argument("--batch", type=int, default=BATCH, help="sequences of 128 tokens per step in the first two races")
    ap.add_argument("--mfu-batch", type=int, default=32, help="GPU only: sequences of 1,024 tokens per step at GPT-2-small size")
    ap.add_argument("--compile", action="store_true", help="GPU only: also time plmbook's GPT-2 small under torch.compile")
    ap.add_argument("--plain", action="store_true", help="also time plmbook's models and objectives in a plain loop, without Trainer, in the "
                    "first two races (the GPU's GPT-2-small race always has that row)")
    args = ap.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available(): ap.error("--device cuda: no GPU is visible to torch")
    DEV.update(device=args.device, precision=args.precision or ("bf16" if args.device == "cuda" else "fp32"), batch=args.batch)
    transformers.logging.set_verbosity_error()
    load_before, start, threads = os.getloadavg(), time.perf_counter(), torch.get_num_threads()
    texts = load_corpus("bbc")["train"]["text"]
    total = (args.rounds + 1) * args.round

    # masked LM
    t0 = time.perf_counter()
    wp = WordPieceTokenizer.train(texts, SIZE["vocab_size"], show_progress=False)
    blocks = mlm_blocks(wp, texts)
    prep_mlm = time.perf_counter() - t0
    bert_cfg = ModelConfig.preset("bert", "tiny", type_vocab_size=2, pad_token_id=wp.special_id("pad"), **SIZE)
    torch.manual_seed(0)
    p_bert, h_bert = BertForMaskedLM(bert_cfg), hf_bert(wp.special_id("pad"))
    collator = DataCollatorForLanguageModeling(wp.to_hf(), mlm=True, mlm_probability=MASK_P, return_tensors="pt")
    mlm_entries = [("plmbook MaskedLM (sparse) + Trainer", plmbook_runner(p_bert, MaskedLM(wp, MASK_P, seed=0), blocks))]
    if args.plain: mlm_entries.append((f"plmbook MaskedLM (sparse) {PLAIN}", plain_runner(copy.deepcopy(p_bert), MaskedLM(wp, MASK_P, seed=0), blocks, total)))
    mlm_entries.append(("transformers BertForMaskedLM + DataCollatorForLanguageModeling", hf_runner(h_bert, collator, blocks, total)))
    mlm = race(mlm_entries, args.rounds, args.round)

    # causal LM
    t0 = time.perf_counter()
    bpe = BPETokenizer.train(texts, SIZE["vocab_size"], show_progress=False)  # <|endoftext|> ends texts and pads
    eos = bpe.special_id("eos")
    bpe_docs = [bpe.encode(t) for t in texts]  # tokenized once: the GPT-2-small race on a GPU cuts the same ids into longer blocks
    clm_blocks = pack_documents(bpe_docs, BLOCK, eos)
    prep_clm = time.perf_counter() - t0
    gpt_cfg = ModelConfig.preset("gpt", "tiny", **SIZE)
    torch.manual_seed(0)
    p_gpt, h_gpt = GPT(gpt_cfg), hf_gpt2(eos)
    clm_collator = DataCollatorForLanguageModeling(bpe.to_hf(), mlm=False, return_tensors="pt")
    p_gpt_docs = copy.deepcopy(p_gpt)  # each contender trains its own copy (deepcopy keeps the tied head)
    clm_entries = [("plmbook NextToken + Trainer", plmbook_runner(p_gpt, NextToken(bpe, respect_boundaries=False), clm_blocks)),
                   ("plmbook NextToken + Trainer, documents kept apart", plmbook_runner(p_gpt_docs, NextToken(bpe), clm_blocks))]
    if args.plain: clm_entries.append((f"plmbook NextToken {PLAIN}", plain_runner(copy.deepcopy(p_gpt), NextToken(bpe, respect_boundaries=False), clm_blocks, total)))
    clm_entries.append(("transformers GPT2LMHeadModel + DataCollatorForLanguageModeling", hf_runner(h_gpt, clm_collator, clm_blocks, total)))
    clm = race(clm_entries, args.rounds, args.round)

    races = [("mlm", "Masked-LM pretraining", mlm), ("clm", "Causal-LM pretraining", clm)]
    if args.device == "cuda":  # GPT-2 small: bf16 throughput and model FLOPs utilisation
        big_blocks = pack_documents(bpe_docs, GPT2_SMALL["max_positions"], eos)
        big_cfg = ModelConfig.preset("gpt", "base", **GPT2_SMALL)
        torch.manual_seed(0)
        p_big, h_big = GPT(big_cfg), hf_gpt2(eos, GPT2_SMALL)
        entries = [("plmbook GPT-2 small, NextToken + Trainer", plmbook_runner(p_big, NextToken(bpe, respect_boundaries=False), big_blocks, args.mfu_batch)),
                   (f"plmbook GPT-2 small, NextToken {PLAIN}", plain_runner(copy.deepcopy(p_big), NextToken(bpe, respect_boundaries=False), big_blocks, total, args.mfu_batch))]
        if args.compile:
            p_big_c = copy.deepcopy(p_big)
            entries.append(("plmbook GPT-2 small, NextToken + Trainer, torch.compile",
                            plmbook_runner(p_big_c, NextToken(bpe, respect_boundaries=False), big_blocks, args.mfu_batch, compile=True)))
        entries.append(("transformers GPT2LMHeadModel (GPT-2 small) + DataCollatorForLanguageModeling",
                        hf_runner(h_big, clm_collator, big_blocks, total, args.mfu_batch)))
        races.append(("gpt2_small", "GPT-2-small causal-LM pretraining (MFU)", race(entries, args.rounds, args.round)))
        gpu_name, peak = peak_bf16()
        flops_per_token = train_flops_per_token(GPT2_SMALL["n_layers"], GPT2_SMALL["d_model"], GPT2_SMALL["d_ff"],
                                                GPT2_SMALL["vocab_size"], GPT2_SMALL["max_positions"])
    params = {"plmbook BertForMaskedLM": n_params(p_bert), "transformers BertForMaskedLM": n_params(h_bert),
              "plmbook GPT": n_params(p_gpt), "transformers GPT2LMHeadModel": n_params(h_gpt)}
    checks = {"bert_param_counts_equal": params["plmbook BertForMaskedLM"] == params["transformers BertForMaskedLM"],
              "gpt_param_counts_equal": params["plmbook GPT"] == params["transformers GPT2LMHeadModel"]}
    results = {"device": DEV["device"], "precision": DEV["precision"], "threads": threads, "cpus": os.cpu_count(), "sizes": SIZE,
               "batch": [DEV["batch"], BLOCK], "lr": LR, "weight_decay": WD,
               "rounds": args.rounds, "round": args.round, "params": params, "checks": checks,
               "data": {"articles": len(texts), "mlm_blocks": len(blocks), "clm_blocks": len(clm_blocks),
                        "prep_s": {"wordpiece_and_blocks": round(prep_mlm, 1), "bpe_and_blocks": round(prep_clm, 1)}},
               "versions": {"torch": torch.__version__, "transformers": transformers.__version__}, "rows": [], "goals": {}}
    where = "CPU" if args.device == "cpu" else f"GPU {gpu_name} (dense bf16 peak {peak / 1e12 if peak else float('nan'):.0f} TFLOP/s)"
    print(f"{where}, {DEV['precision']}, torch {torch.__version__} ({threads} threads, {os.cpu_count()} CPUs), "
          f"transformers {transformers.__version__}; load avg before {load_before[0]:.2f}")
    print(f"data: {len(texts):,} BBC training articles -> {len(blocks):,} masked-LM blocks, {len(clm_blocks):,} causal-LM blocks of {BLOCK}")
    print(f"sizes: {SIZE}; batch {DEV['batch']} x {BLOCK}; {args.rounds} timed rounds of {args.round} steps per contender, after one untimed")
    print("parameters: " + ", ".join(f"{k} {v:,}" for k, v in params.items()))
    print("ratio = plmbook tokens/s / transformers tokens/s (median step); >1 is faster\n")
    if args.device == "cuda":
        print(f"GPT-2 small: {GPT2_SMALL}; batch {args.mfu_batch} x {GPT2_SMALL['max_positions']}; "
              f"{flops_per_token / 1e9:.3f} GFLOPs per trained token")
        results.update(gpu=gpu_name, peak_bf16_flops=peak, gpt2_small=GPT2_SMALL, mfu_batch=args.mfu_batch, flops_per_token=flops_per_token)
    for sec, title, res in races:
        print(f"{title}\n  {'':64} {'median s':>9} {'tokens/s':>9} {'ratio':>7}" + ("     MFU" if sec == "gpt2_small" else ""))
        rates = {}
        for name, steps in res.items():
            med = statistics.median(s for s, _ in steps)
            rates[name] = statistics.mean(t for _, t in steps) / med
        ref = next(v for k, v in rates.items() if k.startswith("transformers"))
        for name, steps in res.items():
            med = statistics.median(s for s, _ in steps)
            row = dict(section=sec, name=name, median_s=round(med, 4), best_s=round(min(s for s, _ in steps), 4),
                       tokens_per_s=round(rates[name], 1), ratio=round(rates[name] / ref, 3), steps=len(steps))
            if sec == "gpt2_small" and peak: row["mfu"] = round(rates[name] * flops_per_token / peak, 4)
            results["rows"].append(row)
            print(f"  {name:64} {med:9.4f} {rates[name]:9.0f} {row['ratio']:6.2f}x" + (f" {row['mfu']:7.1%}" if "mfu" in row else ""))
        if sec == "gpt2_small":
            best = max((r for r in results["rows"] if r["section"] == sec and r["name"].startswith("plmbook") and PLAIN not in r["name"]),
                       key=lambda r: r["tokens_per_s"])  # the goal is for training as users run it: through the Trainer
            if "mfu" in best:
                results["goals"][f"mfu_{MFU_GOAL}"] = best["mfu"] >= MFU_GOAL
                print(f"GOAL plmbook GPT-2 small MFU >= {MFU_GOAL:.0%}: {best['mfu']:.1%} ({best['name']}) -> "
                      f"{'MET' if best['mfu'] >= MFU_GOAL else 'NOT MET'}\n")
            continue
        ratio = next(r["ratio"] for r in results["rows"] if r["section"] == sec and r["name"].startswith("plmbook"))  # the first: the same work
        goal_note = "" if args.device == "cpu" else " (the goals are set for CPU)"
        results["goals"][f"{sec}_{GOALS[sec]}x_{args.device}"] = ratio >= GOALS[sec]
        print(f"GOAL plmbook {title.lower()} >= {GOALS[sec]}x transformers{goal_note}: {ratio:.2f}x -> {'MET' if ratio >= GOALS[sec] else 'NOT MET'}\n")
    for k, v in checks.items(): print(f"CHECK {k}: {'yes' if v else 'NO'}")
    load_after, wall = os.getloadavg(), time.perf_counter() - start
    print(f"load avg after {load_after[0]:.2f} (before {load_before[0]:.2f}); this run took {wall:.0f} s")
    results.update(wall_s=round(wall, 1), loadavg_before=load_before, loadavg_after=load_after)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
