"""Model sizes for ponder's own models: LlamaForCausalLM configs, one per name, so every size is written once."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # transformers is imported where a config is built: MODEL_SIZES alone serves the CLI's checks
    from transformers import LlamaConfig

# name -> (hidden, layers, heads, ffn). "test" is for unit tests; "tiny" is the shipped size (about 3M
# parameters, the size measured in shared/notes/countdown-feasibility.md to learn search traces on 2 cores); "deep"
# spends the same parameters on 6 narrower layers (measured, not shipped: benchmarks/results/experiments/deep_sft.md).
MODEL_SIZES: dict[str, tuple[int, int, int, int]] = {
    "test": (32, 2, 2, 64),
    "tiny": (256, 4, 8, 512),
    "deep": (192, 6, 6, 512),
    "small": (384, 6, 8, 1024),
}


DEFAULT_POSITIONS = 2048  # a new model's context; `ponder train sft --max-len` above it widens it


def model_config(size: str, vocab_size: int, bos_id: int, eos_id: int, pad_id: int,
                 max_positions: int = DEFAULT_POSITIONS) -> LlamaConfig:
    if size not in MODEL_SIZES:
        raise ValueError(f"unknown model size {size!r}; known sizes: {', '.join(MODEL_SIZES)}")
    from transformers import LlamaConfig

    hidden, layers, heads, ffn = MODEL_SIZES[size]
    return LlamaConfig(
        vocab_size=vocab_size, hidden_size=hidden, intermediate_size=ffn, num_hidden_layers=layers,
        num_attention_heads=heads, num_key_value_heads=heads, max_position_embeddings=max_positions,
        tie_word_embeddings=True, bos_token_id=bos_id, eos_token_id=eos_id, pad_token_id=pad_id,
        rope_theta=10000.0,
    )
