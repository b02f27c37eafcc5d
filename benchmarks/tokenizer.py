"""Benchmark plmbook's pure-Python tokenizers against the Rust/C reference libraries, on the BBC News article bodies.

Measures, in one run (best and median of `--repeat` runs each):

1. BPE training to 8,192 tokens (special token "<|endoftext|>"): `BPETokenizer.train` vs Hugging Face `tokenizers`
   (BPE model, ByteLevel pre-tokenizer without prefix space, BpeTrainer over the full byte alphabet), and whether the
   two learn the same merges.  Goal: plmbook within 15x of Hugging Face.
2. Encoding throughput (MB/s of UTF-8 text) with GPT-2's vocabulary: plmbook's `encode` on a fresh tokenizer (cold
   pre-token cache) and again on the same one (warm), `to_hf()` (the PreTrainedTokenizerFast and its backend's
   `encode_batch`) and tiktoken (`encode_ordinary_batch`, and a single-thread `encode_ordinary` loop), and whether
   plmbook's ids equal tiktoken's.  Goal: plmbook at least 1 MB/s (cold).
3. The same for WordPiece with bert-base-uncased's vocabulary: plmbook vs `to_hf()` and `transformers.BertTokenizerFast`.

Ratios are times divided by the section's reference time measured in the same run (> 1: slower than the reference).
The contenders of a section run in turn, round by round, so that other load on the machine falls on all of them alike.
plmbook runs on one thread; HF's batch calls and tiktoken's batch use a thread pool (`cpus` in the JSON).  In
transformers 5, BertTokenizerFast is an alias of BertTokenizer, itself backed by `tokenizers`.
Prints a table, then one JSON line with every figure.  Usage: python benchmarks/tokenizer.py [--repeat N]
"""
import os
for k, v in dict(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="true").items():
    os.environ.setdefault(k, v)
import argparse, json, statistics, time

import tiktoken, tokenizers, transformers
from tokenizers import Tokenizer as HFTokenizer, models, pre_tokenizers, trainers
from transformers import BertTokenizerFast

from plmbook.data import _bbc_articles
from plmbook.tokenizer import BPETokenizer, WordPieceTokenizer, BYTE_DECODER, GPT2_PATTERN, fetch_gpt2_files, minilm_path

EOT, VOCAB_SIZE, TRAIN_GOAL, ENCODE_GOAL = "<|endoftext|>", 8192, 15.0, 1.0

def race(entries, repeat: int):
    """Seconds of each run of (name, fn, setup) entries, fn(setup()) timed and setup not, taken in turn round by round so
    that other load on the machine falls on all of them alike; and each entry's last result."""
    times, outs = {e[0]: [] for e in entries}, {}
    for _ in range(repeat):
        for name, fn, setup in entries:
            arg = setup(); outs.pop(name, None)  # free the last result outside the timing
            t = time.perf_counter(); out = fn(arg); times[name].append(time.perf_counter() - t)
            outs[name] = out
    return times, outs

def plmbook_entries(make, texts):
    "plmbook's encode on a fresh tokenizer (cold pre-token cache), then again on the same instance (warm)."
    box, enc = {}, lambda tok: [tok.encode(x) for x in texts]
    def fresh(): box["tok"] = make(); return box["tok"]
    return [("plmbook encode, cold cache", enc, fresh), ("plmbook encode, warm cache", enc, lambda: box["tok"])]

def hf_bpe_train(texts):
    tok = HFTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=VOCAB_SIZE, special_tokens=[EOT], show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok

def tiktoken_gpt2(vocab: dict[str, int]):
    ranks = {bytes(BYTE_DECODER[c] for c in t): i for t, i in vocab.items() if t != EOT}
    return tiktoken.Encoding(name="gpt2", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={EOT: 50256})

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs of each measurement (best and median are reported)")
    n = ap.parse_args().repeat
    transformers.logging.set_verbosity_error()  # no "longer than the model's maximum length" warnings
    load_before, start = os.getloadavg(), time.perf_counter()
    texts = [a["text"] for a in _bbc_articles()]
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    rows, checks = [], {}  # rows: (section, name, times, is_reference)

    none = lambda: None
    def section(sec, entries, ref):  # time the entries; record their rows with `ref` as the reference
        times, outs = race(entries, n)
        rows.extend((sec, name, t, name == ref) for name, t in times.items())
        return outs

    # 1. training
    out = section("train", [("plmbook BPETokenizer.train", lambda _: BPETokenizer.train(
                                texts, VOCAB_SIZE, special_tokens={"bos": EOT}, show_progress=False), none),
                            ("HF tokenizers BpeTrainer", lambda _: hf_bpe_train(texts), none)], "HF tokenizers BpeTrainer")
    plm, hf = out.values()
    hf_merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in json.loads(hf.to_str())["model"]["merges"]]
    checks["bpe_merges_identical"] = plm.merges == hf_merges and plm.vocab == hf.get_vocab()

    # 2. GPT-2 byte-level BPE encoding, 3. WordPiece with bert-base-uncased's vocabulary
    files, vocab_txt = fetch_gpt2_files(), minilm_path() / "vocab.txt"
    gpt2, bert = BPETokenizer.from_gpt2(*files), WordPieceTokenizer.from_vocab(vocab_txt)
    tt, bert_fast = tiktoken_gpt2(gpt2.vocab), BertTokenizerFast(vocab=str(vocab_txt))
    for sec, tok, make, others in [
        ("bpe", gpt2, lambda: BPETokenizer.from_gpt2(*files),
         [("tiktoken encode_ordinary_batch", lambda _: tt.encode_ordinary_batch(texts), none),
          ("tiktoken encode_ordinary loop (1 thread)", lambda _: [tt.encode_ordinary(x) for x in texts], none)]),
        ("wordpiece", bert, lambda: WordPieceTokenizer.from_vocab(vocab_txt),
         [("BertTokenizerFast(vocab=...)(list)", lambda _: bert_fast(texts, add_special_tokens=False)["input_ids"], none)])]:
        fast = tok.to_hf()
        out = section(sec, plmbook_entries(make, texts) + [
            ("to_hf() PreTrainedTokenizerFast(list)", lambda _, f=fast: f(texts, add_special_tokens=False)["input_ids"], none),
            ("to_hf() backend encode_batch",
             lambda _, f=fast: [e.ids for e in f.backend_tokenizer.encode_batch(texts, add_special_tokens=False)], none),
            *others], "to_hf() backend encode_batch")
        ids = list(out.values())
        names = ["warm", "hf_fast", "hf_backend", *(["tiktoken_batch", "tiktoken_loop"] if sec == "bpe" else ["bert_fast"])]
        for name, other in zip(names, ids[1:]): checks[f"{sec}_ids_equal_{name}"] = ids[0] == other

    # report
    refs = {sec: min(t) for sec, _, t, is_ref in rows if is_ref}
    results = {"corpus": {"texts": len(texts), "mb_utf8": round(mb, 3)}, "repeat": n, "cpus": os.cpu_count(),
               "versions": {"tokenizers": tokenizers.__version__, "transformers": transformers.__version__, "tiktoken": tiktoken.__version__},
               "rows": [], "checks": checks}
    print(f"BBC News article bodies: {len(texts):,} texts, {mb:.2f} MB UTF-8; best/median of {n}; {os.cpu_count()} CPUs; "
          f"load avg before {load_before[0]:.2f}")
    print(f"ratio = best time / best time of the section's reference (ref) in this run; >1 is slower\n")
    titles = {"train": f"1. BPE training to {VOCAB_SIZE:,} tokens", "bpe": "2. Encoding, GPT-2 byte-level BPE (50,257 tokens)",
              "wordpiece": "3. Encoding, WordPiece (bert-base-uncased, 30,522 tokens)"}
    for sec, title in titles.items():
        print(f"{title}\n  {'':42} {'best s':>8} {'median s':>9} {'MB/s':>8} {'ratio':>8}")
        for s, name, t, is_ref in rows:
            if s != sec: continue
            best, med = min(t), statistics.median(t)
            r = dict(section=s, name=name, best_s=round(best, 4), median_s=round(med, 4), mb_per_s=round(mb / best, 3),
                     median_mb_per_s=round(mb / med, 3), ratio=round(best / refs[s], 3), reference=is_ref)
            results["rows"].append(r)
            print(f"  {name + (' (ref)' if is_ref else ''):42} {best:8.3f} {med:9.3f} {r['mb_per_s']:8.2f} {r['ratio']:7.2f}x")
        print()
    get = lambda sec, word: next(r for r in results["rows"] if r["section"] == sec and word in r["name"])
    train_ratio, bpe_cold = get("train", "plmbook")["ratio"], get("bpe", "cold")["mb_per_s"]
    goals = {"train_within_15x_of_hf": train_ratio <= TRAIN_GOAL, "bpe_encode_cold_at_least_1_mb_s": bpe_cold >= ENCODE_GOAL}
    print(f"GOAL plmbook BPE training within {TRAIN_GOAL:g}x of HF: {train_ratio:.2f}x -> {'MET' if goals['train_within_15x_of_hf'] else 'MISSED'}")
    print(f"GOAL plmbook BPE encode >= {ENCODE_GOAL:g} MB/s (cold cache): {bpe_cold:.2f} MB/s -> "
          f"{'MET' if goals['bpe_encode_cold_at_least_1_mb_s'] else 'MISSED'}")
    for k, v in checks.items(): print(f"CHECK {k}: {'yes' if v else 'NO'}")
    load_after = os.getloadavg()
    wall = time.perf_counter() - start
    print(f"load avg after {load_after[0]:.2f} (before {load_before[0]:.2f}); this run took {wall:.0f} s")
    results.update(goals=goals, wall_s=round(wall, 1), loadavg_before=load_before, loadavg_after=load_after)
    print(json.dumps(results))

if __name__ == "__main__":
    main()
