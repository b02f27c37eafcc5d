"""Benchmark plmbook's pretraining (chapter 06's objectives through chapter 07's `Trainer`) against Hugging Face `transformers`, on CPU.

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
masked LM and 1.2x for causal LM. Prints a table, then one JSON line with every figure.
Usage (from the repository root, so that this checkout's plmbook is imported):
    PYTHONPATH=. python benchmarks/pretraining.py [--rounds N] [--round STEPS]
"""
import os
for k, v in dict(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1").items():
    os.environ.setdefault(k, v)
import argparse, json, statistics, time

import torch, transformers
from transformers import (BertConfig, BertForMaskedLM as HFBertForMaskedLM, DataCollatorForLanguageModeling, GPT2Config,
                          GPT2LMHeadModel, get_linear_schedule_with_warmup)

from plmbook.data import load_corpus
from plmbook.models import ModelConfig, BertForMaskedLM, GPT
from plmbook.objectives import MaskedLM, NextToken, pack_documents
from plmbook.tokenizer import BPETokenizer, WordPieceTokenizer
from plmbook.training import Callback, Trainer, TrainingArgs, param_groups

SIZE = dict(n_layers=4, d_model=256, n_heads=4, d_ff=1024, vocab_size=8192, max_positions=128, dropout=0.1)
BATCH, BLOCK, LR, WD, MASK_P = 8, 128, 1e-4, 0.01, 0.15
GOALS = {"mlm": 1.5, "clm": 1.2}


def n_params(m): return sum(p.numel() for p in m.parameters())


def hf_bert(pad_id):
    c = BertConfig(vocab_size=SIZE["vocab_size"], hidden_size=SIZE["d_model"], num_hidden_layers=SIZE["n_layers"],
                   num_attention_heads=SIZE["n_heads"], intermediate_size=SIZE["d_ff"], max_position_embeddings=SIZE["max_positions"],
                   type_vocab_size=2, hidden_dropout_prob=SIZE["dropout"], attention_probs_dropout_prob=SIZE["dropout"],
                   hidden_act="gelu", layer_norm_eps=1e-12, pad_token_id=pad_id, attn_implementation="sdpa")
    return HFBertForMaskedLM(c)


def hf_gpt2(eos_id):
    c = GPT2Config(n_layer=SIZE["n_layers"], n_embd=SIZE["d_model"], n_head=SIZE["n_heads"], n_inner=SIZE["d_ff"],
                   vocab_size=SIZE["vocab_size"], n_positions=SIZE["max_positions"], resid_pdrop=SIZE["dropout"],
                   embd_pdrop=SIZE["dropout"], attn_pdrop=SIZE["dropout"], layer_norm_epsilon=1e-5, activation_function="gelu_new",
                   attn_implementation="sdpa", bos_token_id=eos_id, eos_token_id=eos_id, pad_token_id=eos_id)
    return GPT2LMHeadModel(c)


def mlm_blocks(tok, texts):
    "Every text as [CLS] ... [SEP], concatenated and cut into full blocks of BLOCK ids."
    cls, sep = tok.special_id("cls"), tok.special_id("sep")
    stream = [i for t in texts for i in (cls, *tok.encode(t), sep)]
    return [stream[i:i + BLOCK] for i in range(0, len(stream) - BLOCK + 1, BLOCK)]


class StepTimes(Callback):
    "Collects the seconds and tokens of every optimizer step."
    def __init__(self): self.seconds, self.tokens = [], []
    def on_step_end(self, trainer, stats):
        self.seconds.append(stats["seconds"]); self.tokens.append(stats["tokens"])


def plmbook_runner(model, objective, examples):
    "A function that trains `model` for n more steps with plmbook's Trainer and returns their (seconds, tokens)."
    state = {"seed": 0}
    def run(n):
        timer = StepTimes()
        args = TrainingArgs(lr=LR, weight_decay=WD, decay_embeddings=False, betas=(0.9, 0.999), schedule="linear", warmup_steps=0,
                            max_steps=n, batch_size=BATCH, clip_norm=1.0, log_every=n, progress=False, seed=state["seed"])
        state["seed"] += 1  # another round: other batches
        Trainer(model, objective, examples, args=args, callbacks=[timer]).fit()
        return list(zip(timer.seconds, timer.tokens))
    return run


def hf_runner(model, collator, examples, total_steps):
    "The same for a transformers model: collate, forward, backward, clip, AdamW and schedule steps, in a plain loop."
    groups = param_groups(model, WD, decay_embeddings=False)
    opt = torch.optim.AdamW(groups, lr=LR, fused=True)  # transformers' Trainer default with torch >= 2.8 (adamw_torch_fused)
    sched = get_linear_schedule_with_warmup(opt, 0, total_steps)
    g = torch.Generator().manual_seed(0)
    model.train()
    def run(n):
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            idx = torch.randint(len(examples), (BATCH,), generator=g).tolist()
            batch = collator([{"input_ids": examples[i]} for i in idx])
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step(); sched.step(); opt.zero_grad(set_to_none=True)
            out.append((time.perf_counter() - t0, int(batch["attention_mask"].sum()) if "attention_mask" in batch else batch["input_ids"].numel()))
        return out
    return run


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
    args = ap.parse_args()
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
    mlm = race([("plmbook MaskedLM (sparse) + Trainer", plmbook_runner(p_bert, MaskedLM(wp, MASK_P, seed=0), blocks)),
                ("transformers BertForMaskedLM + DataCollatorForLanguageModeling", hf_runner(h_bert, collator, blocks, total))],
               args.rounds, args.round)

    # causal LM
    t0 = time.perf_counter()
    bpe = BPETokenizer.train(texts, SIZE["vocab_size"], show_progress=False)  # <|endoftext|> ends texts and pads
    eos = bpe.special_id("eos")
    clm_blocks = pack_documents([bpe.encode(t) for t in texts], BLOCK, eos)
    prep_clm = time.perf_counter() - t0
    gpt_cfg = ModelConfig.preset("gpt", "tiny", **SIZE)
    torch.manual_seed(0)
    p_gpt, h_gpt = GPT(gpt_cfg), hf_gpt2(eos)
    clm_collator = DataCollatorForLanguageModeling(bpe.to_hf(), mlm=False, return_tensors="pt")
    p_gpt_docs = GPT(gpt_cfg); p_gpt_docs.load_state_dict(p_gpt.state_dict())
    clm = race([("plmbook NextToken + Trainer", plmbook_runner(p_gpt, NextToken(bpe, respect_boundaries=False), clm_blocks)),
                ("plmbook NextToken + Trainer, documents kept apart", plmbook_runner(p_gpt_docs, NextToken(bpe), clm_blocks)),
                ("transformers GPT2LMHeadModel + DataCollatorForLanguageModeling", hf_runner(h_gpt, clm_collator, clm_blocks, total))],
               args.rounds, args.round)

    params = {"plmbook BertForMaskedLM": n_params(p_bert), "transformers BertForMaskedLM": n_params(h_bert),
              "plmbook GPT": n_params(p_gpt), "transformers GPT2LMHeadModel": n_params(h_gpt)}
    checks = {"bert_param_counts_equal": params["plmbook BertForMaskedLM"] == params["transformers BertForMaskedLM"],
              "gpt_param_counts_equal": params["plmbook GPT"] == params["transformers GPT2LMHeadModel"]}
    results = {"threads": threads, "cpus": os.cpu_count(), "sizes": SIZE, "batch": [BATCH, BLOCK], "lr": LR, "weight_decay": WD,
               "rounds": args.rounds, "round": args.round, "params": params, "checks": checks,
               "data": {"articles": len(texts), "mlm_blocks": len(blocks), "clm_blocks": len(clm_blocks),
                        "prep_s": {"wordpiece_and_blocks": round(prep_mlm, 1), "bpe_and_blocks": round(prep_clm, 1)}},
               "versions": {"torch": torch.__version__, "transformers": transformers.__version__}, "rows": [], "goals": {}}
    print(f"CPU, torch {torch.__version__} ({threads} threads, {os.cpu_count()} CPUs), transformers {transformers.__version__}; "
          f"load avg before {load_before[0]:.2f}")
    print(f"data: {len(texts):,} BBC training articles -> {len(blocks):,} masked-LM blocks, {len(clm_blocks):,} causal-LM blocks of {BLOCK}")
    print(f"sizes: {SIZE}; batch {BATCH} x {BLOCK}; {args.rounds} timed rounds of {args.round} steps per contender, after one untimed")
    print("parameters: " + ", ".join(f"{k} {v:,}" for k, v in params.items()))
    print("ratio = plmbook tokens/s / transformers tokens/s (median step); >1 is faster\n")
    for sec, title, res in (("mlm", "Masked-LM pretraining", mlm), ("clm", "Causal-LM pretraining", clm)):
        print(f"{title}\n  {'':64} {'median s':>9} {'tokens/s':>9} {'ratio':>7}")
        rates = {}
        for name, steps in res.items():
            med = statistics.median(s for s, _ in steps)
            rates[name] = statistics.mean(t for _, t in steps) / med
        ref = next(v for k, v in rates.items() if k.startswith("transformers"))
        for name, steps in res.items():
            med = statistics.median(s for s, _ in steps)
            row = dict(section=sec, name=name, median_s=round(med, 4), best_s=round(min(s for s, _ in steps), 4),
                       tokens_per_s=round(rates[name], 1), ratio=round(rates[name] / ref, 3), steps=len(steps))
            results["rows"].append(row)
            print(f"  {name:64} {med:9.4f} {rates[name]:9.0f} {row['ratio']:6.2f}x")
        ratio = next(r["ratio"] for r in results["rows"] if r["section"] == sec and r["name"].startswith("plmbook"))  # the first: the same work
        results["goals"][f"{sec}_{GOALS[sec]}x"] = ratio >= GOALS[sec]
        print(f"GOAL plmbook {title.lower()} >= {GOALS[sec]}x transformers: {ratio:.2f}x -> {'MET' if ratio >= GOALS[sec] else 'NOT MET'}\n")
    for k, v in checks.items(): print(f"CHECK {k}: {'yes' if v else 'NO'}")
    load_after, wall = os.getloadavg(), time.perf_counter() - start
    print(f"load avg after {load_after[0]:.2f} (before {load_before[0]:.2f}); this run took {wall:.0f} s")
    results.update(wall_s=round(wall, 1), loadavg_before=load_before, loadavg_after=load_after)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
