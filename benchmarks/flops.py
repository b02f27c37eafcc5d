"""Model FLOPs utilisation (MFU) for the benchmarks: the FLOPs a training step must do, over the GPU's peak.

FLOPs per trained token follow the PaLM paper's appendix B: 6 per parameter taking part in a matrix product (2 forward,
4 backward: the weights of every block and the vocabulary head; not the embedding look-ups, LayerNorms or biases), plus
12 * layers * d_model * sequence length for the attention scores and their weighted sums (counted in full, as PaLM does,
although a causal mask needs half). MFU counts only that arithmetic: recomputation or padding a framework adds is not credited.
"""
import torch

# dense bf16 peaks from the vendors' data sheets (without sparsity), in FLOP/s
PEAK_BF16 = {"H100": 989.4e12, "H200": 989.4e12, "A100": 312e12, "L4": 121e12, "A10": 125e12}


def peak_bf16(device=None) -> tuple[str, float | None]:
    "The GPU's name and its dense bf16 peak (None when the name is not in PEAK_BF16)."
    name = torch.cuda.get_device_name(device)
    return name, next((v for k, v in PEAK_BF16.items() if k in name), None)


def train_flops_per_token(n_layers: int, d_model: int, d_ff: int, vocab_size: int, seq_len: int) -> float:
    "Training FLOPs per token of a GPT-2 or BERT stack (q, k, v, o projections and a two-matrix FFN) with a vocabulary head."
    matmul_params = n_layers * (4 * d_model * d_model + 2 * d_model * d_ff) + vocab_size * d_model
    return 6 * matmul_params + 12 * n_layers * d_model * seq_len
