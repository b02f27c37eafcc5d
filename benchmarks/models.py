"""Benchmark plmbook's chapter-04 models against Hugging Face `transformers` at matched sizes, on CPU or a GPU.

Every model has 4 layers, d_model 256, 4 heads, d_ff 1024, vocabulary 8,192, 128 positions and dropout 0.1; the
parameter counts are printed (and checked equal) first.  Measures, in one run:

1. Training throughput (tokens/s of forward + backward + AdamW step at lr 1e-4, train mode, dropout on) on one batch of
   8 x 128 random token ids: plmbook `BertForMaskedLM` with dense labels (15% of positions labelled, the rest -100),
   the same with sparse prediction (`masked_positions`: the head runs only on the labelled positions), transformers
   `BertForMaskedLM` (dense: it has no sparse option); plmbook `GPT` returning the logits, and with `return_logits=False`
   (the training path: head and loss fused chunk by chunk, no logits materialised), vs transformers `GPT2LMHeadModel`.  transformers uses
   attn_implementation="sdpa".  Every BERT gets an all-ones attention mask; the GPTs get none.  `--warmup` untimed steps,
   then `--steps` timed ones.  Goal: plmbook at least 1.2x the tokens/s of transformers.
2. Generation with the KV cache (eval mode): tokens/s generating 64 new tokens greedily for 4 prompts of 16 random
   tokens, plmbook `generate(..., use_cache=True)` vs `GPT2LMHeadModel.generate` (min_new_tokens=64), the plmbook GPT
   holding the SAME weights as the transformers one (copied name by name), and whether both produce the same tokens;
   plus plmbook without the cache, to show the cache's speed-up.  Goal: plmbook at least as fast as transformers.

Ratios are plmbook tokens/s divided by the section's reference (transformers) tokens/s measured in the same run
(> 1: plmbook is faster); throughput is taken from the median step (training) or run (generation).  The contenders
run in turn, step by step (training) or run by run (generation), so that other load on the machine falls on all of
them alike.  Prints a table, then one JSON line with every figure.

`--device cuda` runs the same on a GPU, by default in bf16 autocast (both sides) and at GPT-2-small size (`--size gpt2-small`:
12 layers, d_model 768, 12 heads, d_ff 3072, vocabulary 50,304 (GPT-2's 50,257 rounded up to a multiple of 64, as
nanoGPT does, for the GPU's fast kernels), 1,024 positions; training batches of 16 x 1,024), and adds
the model FLOPs utilisation of each training row (benchmarks/flops.py: the FLOPs a step must do over the GPU's dense bf16 peak;
for the sparse masked-LM row only the head's work at the labelled positions is counted). Every timed call ends with a
synchronisation, so a step's time is its whole GPU work.
Usage (from the repository root, so that this checkout's plmbook is imported): PYTHONPATH=. python benchmarks/models.py
       [--steps N] [--warmup N] [--gen-rounds N] [--profile] [--device cuda] [--size tiny|gpt2-small] [--batch B] [--seq T]
"""
import os
for k, v in dict(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1").items():
    os.environ.setdefault(k, v)
import argparse, json, statistics, sys, time

import torch, transformers
from transformers import BertConfig, BertForMaskedLM as HFBertForMaskedLM, GPT2Config, GPT2LMHeadModel

from plmbook.models import ModelConfig, BertForMaskedLM, GPT, generate

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from flops import peak_bf16, train_flops_per_token

SIZE = dict(n_layers=4, d_model=256, n_heads=4, d_ff=1024, vocab_size=8192, max_positions=128, dropout=0.1)
BATCH, SEQ, LR, MASK_P = 8, 128, 1e-4, 0.15
GEN_BATCH, PROMPT, NEW = 4, 16, 64
TRAIN_GOAL, GEN_GOAL = 1.2, 1.0
SIZES = {"tiny": (SIZE, BATCH, SEQ),
         "gpt2-small": (dict(n_layers=12, d_model=768, n_heads=12, d_ff=3072, vocab_size=50304, max_positions=1024, dropout=0.1), 16, 1024)}
DEVICE, DTYPE = "cpu", None  # set from the command line in main()

def sync():
    if DEVICE == "cuda": torch.cuda.synchronize()

def autocast(): return torch.autocast(DEVICE, dtype=DTYPE, enabled=DTYPE is not None)

def n_params(m): return sum(p.numel() for p in m.parameters())  # tied weights counted once

def hf_bert():
    c = BertConfig(vocab_size=SIZE["vocab_size"], hidden_size=SIZE["d_model"], num_hidden_layers=SIZE["n_layers"],
                   num_attention_heads=SIZE["n_heads"], intermediate_size=SIZE["d_ff"], max_position_embeddings=SIZE["max_positions"],
                   type_vocab_size=2, hidden_dropout_prob=SIZE["dropout"], attention_probs_dropout_prob=SIZE["dropout"],
                   hidden_act="gelu", layer_norm_eps=1e-12, pad_token_id=0, attn_implementation="sdpa")
    return HFBertForMaskedLM(c)

def hf_gpt2():
    c = GPT2Config(n_layer=SIZE["n_layers"], n_embd=SIZE["d_model"], n_head=SIZE["n_heads"], n_inner=SIZE["d_ff"],
                   vocab_size=SIZE["vocab_size"], n_positions=SIZE["max_positions"], resid_pdrop=SIZE["dropout"],
                   embd_pdrop=SIZE["dropout"], attn_pdrop=SIZE["dropout"], layer_norm_epsilon=1e-5,
                   activation_function="gelu_new", attn_implementation="sdpa", pad_token_id=0)
    return GPT2LMHeadModel(c)

def attn_impl(m): return getattr(m.config, "_attn_implementation", "?")

@torch.no_grad()
def copy_gpt2_weights(hf: GPT2LMHeadModel, plm: GPT) -> list[str]:
    "Load `hf`'s weights into `plm` (GPT-2's Conv1D weights are [in, out]: transposed); returns plm keys left unset."
    sd, d, new = hf.transformer.state_dict(), SIZE["d_model"], {}
    new["embeddings.word_embeddings.weight"] = sd["wte.weight"]
    new["embeddings.position_embeddings.weight"] = sd["wpe.weight"]
    for i in range(SIZE["n_layers"]):
        h, b = f"h.{i}.", f"decoder.blocks.{i}."
        for src, dst in [("ln_1", "attn_norm"), ("ln_2", "ffn_norm")]:
            for p in ("weight", "bias"): new[f"{b}{dst}.{p}"] = sd[f"{h}{src}.{p}"]
        w, bias = sd[f"{h}attn.c_attn.weight"].t(), sd[f"{h}attn.c_attn.bias"]  # [3d, d], [3d]
        for j, name in enumerate("qkv"):
            new[f"{b}attn.{name}_proj.weight"] = w[j * d:(j + 1) * d]
            new[f"{b}attn.{name}_proj.bias"] = bias[j * d:(j + 1) * d]
        for src, dst in [("attn.c_proj", "attn.o_proj"), ("mlp.c_fc", "ffn.up_proj"), ("mlp.c_proj", "ffn.down_proj")]:
            new[f"{b}{dst}.weight"] = sd[f"{h}{src}.weight"].t()
            new[f"{b}{dst}.bias"] = sd[f"{h}{src}.bias"]
    for p in ("weight", "bias"): new[f"decoder.norm.{p}"] = sd[f"ln_f.{p}"]
    new["lm_head.weight"] = sd["wte.weight"]  # tied in both
    target = plm.state_dict()
    unknown = set(new) - set(target)
    if unknown: raise KeyError(f"names not in plmbook's GPT: {sorted(unknown)}")
    for k, v in new.items():
        if target[k].shape != v.shape: raise ValueError(f"{k}: plmbook {tuple(target[k].shape)} vs transformers {tuple(v.shape)}")
        target[k].copy_(v)
    return sorted(set(target) - set(new))

def trainer(model, batch):
    "One training step (forward, backward, AdamW step) of `model` on `batch`, as a closure."
    model.to(DEVICE)
    batch = {k: v.to(DEVICE) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}
    opt = torch.optim.AdamW(model.parameters(), lr=LR)
    model.train()
    def step():
        opt.zero_grad(set_to_none=True)
        with autocast(): loss = model(**batch).loss
        loss.backward(); opt.step()
        return loss.item()  # waits for the whole step (the optimizer's kernels were queued before it)
    return step

def race(entries, n: int):
    "Seconds of each of n calls of each (name, fn) entry, taken in turn round by round; and each entry's last result."
    times, outs = {name: [] for name, _ in entries}, {}
    for _ in range(n):
        for name, fn in entries:
            t = time.perf_counter(); outs[name] = fn(); sync(); times[name].append(time.perf_counter() - t)
    return times, outs

def profile_step(name, step, rows=12):
    from torch.profiler import profile, ProfilerActivity
    step()
    gpu = DEVICE == "cuda"
    with profile(activities=[ProfilerActivity.CPU] + [ProfilerActivity.CUDA] * gpu) as prof: step()
    key = "self_cuda_time_total" if gpu else "self_cpu_time_total"
    print(f"\nPROFILE {name} (one step, sorted by {key.replace('_', ' ')})")
    print(prof.key_averages().table(sort_by=key, row_limit=rows))

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=8, help="timed training steps per model")
    ap.add_argument("--warmup", type=int, default=1, help="untimed training steps per model first")
    ap.add_argument("--gen-rounds", type=int, default=5, help="timed generation runs per contender (after one untimed)")
    ap.add_argument("--profile", action="store_true", help="also profile one training step of each model (torch.profiler)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--precision", choices=["fp32", "bf16"], help="default: fp32 on CPU, bf16 on a GPU")
    ap.add_argument("--size", choices=list(SIZES), help="default: tiny on CPU, gpt2-small on a GPU")
    ap.add_argument("--batch", type=int, help="training sequences per step (default: the size's)")
    ap.add_argument("--seq", type=int, help="training sequence length (default: the size's)")
    args = ap.parse_args()
    global SIZE, BATCH, SEQ, DEVICE, DTYPE
    if args.device == "cuda" and not torch.cuda.is_available(): ap.error("--device cuda: no GPU is visible to torch")
    DEVICE = args.device
    precision = args.precision or ("bf16" if DEVICE == "cuda" else "fp32")
    DTYPE = {"fp32": None, "bf16": torch.bfloat16}[precision]
    size_name = args.size or ("gpt2-small" if DEVICE == "cuda" else "tiny")
    SIZE, BATCH, SEQ = SIZES[size_name]
    BATCH, SEQ = args.batch or BATCH, args.seq or SEQ
    transformers.logging.set_verbosity_error()
    load_before, start = os.getloadavg(), time.perf_counter()
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    rows, checks = [], {}  # rows: (section, name, times, tokens per call, is_reference)

    # models, at matched sizes
    bert_cfg = ModelConfig.preset("bert", "tiny", type_vocab_size=2, **SIZE)
    gpt_cfg = ModelConfig.preset("gpt", "tiny", **SIZE)
    torch.manual_seed(0); p_bert, h_bert = BertForMaskedLM(bert_cfg), hf_bert()
    torch.manual_seed(0); p_gpt, h_gpt = GPT(gpt_cfg), hf_gpt2()
    params = {"plmbook BertForMaskedLM": n_params(p_bert), "transformers BertForMaskedLM": n_params(h_bert),
              "plmbook GPT": n_params(p_gpt), "transformers GPT2LMHeadModel": n_params(h_gpt)}
    checks["bert_param_counts_equal"] = params["plmbook BertForMaskedLM"] == params["transformers BertForMaskedLM"]
    checks["gpt_param_counts_equal"] = params["plmbook GPT"] == params["transformers GPT2LMHeadModel"]
    impls = {"bert": attn_impl(h_bert), "gpt2": attn_impl(h_gpt)}

    # data: one batch of random ids; 15% of positions labelled for MLM (the inputs are not corrupted: it is a timing)
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1, SIZE["vocab_size"], (BATCH, SEQ), generator=g)
    mask, types = torch.ones_like(ids), torch.zeros_like(ids)
    picked = torch.rand(BATCH, SEQ, generator=g) < MASK_P
    mlm_labels = torch.where(picked, ids, torch.full_like(ids, -100))
    mlm = dict(input_ids=ids, attention_mask=mask, token_type_ids=types, labels=mlm_labels)
    lm = dict(input_ids=ids, labels=ids)

    # 1. training
    tokens = BATCH * SEQ
    torch.manual_seed(0)
    p_bert_sparse = BertForMaskedLM(bert_cfg); p_bert_sparse.load_state_dict(p_bert.state_dict())
    p_gpt_train = GPT(gpt_cfg); p_gpt_train.load_state_dict(p_gpt.state_dict())
    p_gpt_fused = GPT(gpt_cfg); p_gpt_fused.load_state_dict(p_gpt.state_dict())
    h_gpt_train = hf_gpt2(); h_gpt_train.load_state_dict(h_gpt.state_dict())
    sections = {
        "bert": [("plmbook BertForMaskedLM, dense labels", trainer(p_bert, mlm)),
                 ("plmbook BertForMaskedLM, masked_positions", trainer(p_bert_sparse, {**mlm, "masked_positions": picked})),
                 ("transformers BertForMaskedLM (sdpa)", trainer(h_bert, mlm))],
        "gpt": [("plmbook GPT, logits", trainer(p_gpt_train, lm)),
                ("plmbook GPT, return_logits=False", trainer(p_gpt_fused, {**lm, "return_logits": False})),
                ("transformers GPT2LMHeadModel (sdpa)", trainer(h_gpt_train, lm))]}
    for sec, entries in sections.items():
        race(entries, args.warmup)
        times, losses = race(entries, args.steps)
        rows.extend((sec, name, t, tokens, name.startswith("transformers")) for name, t in times.items())
        checks[f"{sec}_losses_finite"] = all(torch.isfinite(torch.tensor(l)).item() for l in losses.values())
    if args.profile:
        for entries in sections.values():
            for name, step in entries: profile_step(name, step)

    # 2. generation: the same weights in both GPTs (eval mode), greedy, 64 new tokens
    torch.manual_seed(1)
    h_gen = hf_gpt2().eval()
    torch.manual_seed(1)
    p_gen = GPT(gpt_cfg).eval()
    unset = copy_gpt2_weights(h_gen, p_gen)
    h_gen.to(DEVICE); p_gen.to(DEVICE)
    checks["gpt_weights_copied_all_names"] = not unset
    prompts = torch.randint(1, SIZE["vocab_size"], (GEN_BATCH, PROMPT), generator=g).to(DEVICE)
    pmask = torch.ones_like(prompts)
    with torch.no_grad():
        same_logits = torch.allclose(p_gen(prompts, pmask).logits, h_gen(prompts, attention_mask=pmask).logits, atol=1e-4 if DEVICE == "cpu" else 1e-3)
    checks["gpt_same_logits_after_copy"] = same_logits
    gen = [("plmbook generate, use_cache=True",
            lambda: generate(p_gen, prompts, pmask, max_new_tokens=NEW, do_sample=False, use_cache=True)),
           ("transformers generate (sdpa, cache)",
            lambda: h_gen.generate(prompts, attention_mask=pmask, max_new_tokens=NEW, min_new_tokens=NEW, do_sample=False, pad_token_id=0)),
           ("plmbook generate, use_cache=False",
            lambda: generate(p_gen, prompts, pmask, max_new_tokens=NEW, do_sample=False, use_cache=False))]
    with torch.no_grad():
        race(gen, 1)
        times, outs = race(gen, args.gen_rounds)
    rows.extend(("gen", name, t, GEN_BATCH * NEW, name.startswith("transformers")) for name, t in times.items())
    o_cache, o_hf, o_nocache = outs.values()
    checks["gen_tokens_identical_to_transformers"] = o_cache.shape == o_hf.shape and torch.equal(o_cache, o_hf)
    checks["gen_tokens_identical_cache_vs_no_cache"] = torch.equal(o_cache, o_nocache)
    agree = (o_cache[:, PROMPT:] == o_hf[:, PROMPT:]).float().mean().item() if o_cache.shape == o_hf.shape else 0.0

    # report
    med = {(sec, name): statistics.median(t) for sec, name, t, _, _ in rows}
    refs = {sec: tok / med[sec, name] for sec, name, t, tok, is_ref in rows if is_ref}
    results = {"device": DEVICE, "precision": precision, "size": size_name, "threads": threads, "cpus": os.cpu_count(), "sizes": SIZE, "batch": [BATCH, SEQ], "lr": LR,
               "generation": dict(batch=GEN_BATCH, prompt=PROMPT, new_tokens=NEW),
               "steps": args.steps, "warmup": args.warmup, "gen_rounds": args.gen_rounds, "params": params,
               "hf_attn_implementation": impls,
               "versions": {"torch": torch.__version__, "transformers": transformers.__version__}, "rows": [], "checks": checks}
    gpu_name, peak = peak_bf16() if DEVICE == "cuda" else ("", None)
    where = "CPU" if DEVICE == "cpu" else f"GPU {gpu_name} (dense bf16 peak {peak / 1e12 if peak else float('nan'):.0f} TFLOP/s)"
    # FLOPs per trained token, for MFU: every row in full, except that sparse prediction runs the head at MASK_P of the positions
    flops = train_flops_per_token(SIZE["n_layers"], SIZE["d_model"], SIZE["d_ff"], SIZE["vocab_size"], SEQ)
    head = 6 * SIZE["vocab_size"] * SIZE["d_model"]
    if DEVICE == "cuda": results.update(gpu=gpu_name, peak_bf16_flops=peak)
    print(f"{where}, {precision}, torch {torch.__version__} ({threads} threads, {os.cpu_count()} CPUs), transformers {transformers.__version__} "
          f"(attention: bert {impls['bert']}, gpt2 {impls['gpt2']}); load avg before {load_before[0]:.2f}")
    print(f"sizes: {SIZE}; training batch {BATCH} x {SEQ}, AdamW lr {LR:g}, {args.warmup} warm-up + {args.steps} timed steps; "
          f"generation {GEN_BATCH} x {PROMPT} prompt + {NEW} new tokens, 1 warm-up + {args.gen_rounds} timed runs")
    print("parameters: " + ", ".join(f"{k} {v:,}" for k, v in params.items()))
    print("ratio = plmbook tokens/s / transformers (ref) tokens/s in this run, from median times; >1 is faster\n")
    titles = {"bert": f"1a. Training, BertForMaskedLM ({MASK_P:.0%} of positions labelled)", "gpt": "1b. Training, GPT-2 causal LM",
              "gen": "2. Greedy generation, same weights"}
    for sec, title in titles.items():
        mfu_col = DEVICE == "cuda" and peak and sec != "gen"
        print(f"{title}\n  {'':44} {'median s':>9} {'best s':>8} {'tokens/s':>9} {'ratio':>7}" + ("     MFU" if mfu_col else ""))
        for s, name, t, tok, is_ref in rows:
            if s != sec: continue
            m, best = statistics.median(t), min(t)
            r = dict(section=s, name=name, median_s=round(m, 4), best_s=round(best, 4), tokens_per_s=round(tok / m, 1),
                     best_tokens_per_s=round(tok / best, 1), ratio=round(tok / m / refs[s], 3), reference=is_ref)
            if mfu_col:
                per_token = flops - (head * (1 - MASK_P) if "masked_positions" in name else 0)
                r["mfu"] = round(tok / m * per_token / peak, 4)
            results["rows"].append(r)
            print(f"  {name + (' (ref)' if is_ref else ''):44} {m:9.4f} {best:8.4f} {r['tokens_per_s']:9.0f} {r['ratio']:6.2f}x"
                  + (f" {r['mfu']:7.1%}" if "mfu" in r else ""))
        print()
    get = lambda sec, word: next(r for r in results["rows"] if r["section"] == sec and word in r["name"])
    cache_speedup = get("gen", "use_cache=True")["tokens_per_s"] / get("gen", "use_cache=False")["tokens_per_s"]
    results["cache_speedup"] = round(cache_speedup, 3)
    results["gen_token_agreement"] = round(agree, 4)
    print(f"KV cache speed-up (plmbook cached / uncached tokens/s): {cache_speedup:.2f}x")
    goals = {}
    for key, sec, word, goal in [("bert_dense_train_1.2x", "bert", "dense", TRAIN_GOAL),
                                 ("bert_sparse_train_1.2x", "bert", "masked_positions", TRAIN_GOAL),
                                 ("gpt_logits_train_1.2x", "gpt", "GPT, logits", TRAIN_GOAL),
                                 ("gpt_fused_train_1.2x", "gpt", "return_logits=False", TRAIN_GOAL),
                                 ("gen_cached_1x", "gen", "use_cache=True", GEN_GOAL)]:
        r = get(sec, word)
        goals[key] = r["ratio"] >= goal
        print(f"GOAL {r['name']} >= {goal:g}x transformers: {r['ratio']:.2f}x -> {'MET' if goals[key] else 'NOT MET'}")
    for k, v in checks.items(): print(f"CHECK {k}: {'yes' if v else 'NO'}")
    if unset: print(f"  plmbook GPT keys not set from transformers: {unset}")
    print(f"  generated tokens agreeing with transformers: {agree:.1%}")
    load_after = os.getloadavg()
    wall = time.perf_counter() - start
    print(f"load avg after {load_after[0]:.2f} (before {load_before[0]:.2f}); torch threads {threads}; this run took {wall:.0f} s")
    results.update(goals=goals, wall_s=round(wall, 1), loadavg_before=load_before, loadavg_after=load_after)
    print(json.dumps(results))

if __name__ == "__main__":
    main()
