"""ponder's tokenizer: number tokens, word tokens, single characters, and byte fallback for anything else.

Every integer of up to three digits is one token (`482`), longer integers are one token per digit (`1 5 2 7 9 4`),
so that a countdown step `13*5=65` is one lookup per emitted token (shared/notes/countdown-feasibility.md) while long
arithmetic is worked digit by digit. The words of the prompts and traces are single tokens; any other text falls
back to characters, and characters outside the vocabulary to UTF-8 bytes, so no input is ever unknown.
`build_tokenizer(space_prefixed=True)` (experimental, `ponder train sft --space-prefixed`) adds each of these pieces
with its leading space (` 40`, ` vs`, ` =`), as GPT-2-style tokenizers do, so the spaces between them cost nothing.
Built with `tokenizers` (a BPE model whose merges rebuild exactly these pieces) and saved as a standard
Hugging Face tokenizer with a chat template, so `AutoTokenizer.from_pretrained` loads it unchanged.
"""

from __future__ import annotations

import json
import string

from tokenizers import Regex, Tokenizer, decoders, pre_tokenizers
from tokenizers.models import BPE
from tokenizers.trainers import BpeTrainer
from transformers import PreTrainedTokenizerFast

PAD, BOS, EOS = "<|pad|>", "<|bos|>", "<|end|>"
USER, ASSISTANT, SYSTEM = "<|user|>", "<|assistant|>", "<|system|>"
THINK, END_THINK = "<think>", "</think>"
SPECIAL_TOKENS = [PAD, BOS, EOS, USER, ASSISTANT, SYSTEM, THINK, END_THINK]

# Words of the canonical prompts and of the solver traces, each one token.
WORDS = [
    "What", "is", "Using", "the", "numbers", "make", "Use", "each", "number", "at", "most", "once", "with", "and",
    "parentheses", "every", "exactly", "try", "vs", "yes", "no", "left", "back", "to", "goal", "some", "all",
    "check", "ok", "bad", "Wait", "result", "so", "shift", "units", "ends",
]

# Assistant turns in the history keep only their answer (the thinking is not shown again), as DeepSeek-R1 and
# Qwen3 do; `enable_thinking=False` pre-fills an empty thinking block (Qwen3's switch), `enable_thinking=True`
# opens the thinking block in the prompt (DeepSeek-R1's forced `<think>`): generators that do not force tokens
# themselves (TRL, vLLM, transformers' generate) then get thinking. Left undefined, ponder's engine forces `<think>`.
CHAT_TEMPLATE = (
    "{{- bos_token -}}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{%- set content = message['content'] -%}"
    "{%- if '</think>' in content -%}{%- set content = content.split('</think>')[-1] -%}{%- endif -%}"
    "{{- '<|assistant|><think></think>' + content + '<|end|>' -}}"
    "{%- elif message['role'] in ['user', 'system'] -%}"
    "{{- '<|' + message['role'] + '|>' + message['content'] + '<|end|>' -}}"
    "{%- else -%}{{- raise_exception('unknown role: ' + message['role']) -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|assistant|>' -}}"
    "{%- if enable_thinking is defined and enable_thinking is false -%}{{- '<think></think>' -}}"
    "{%- elif enable_thinking is defined and enable_thinking -%}{{- '<think>' -}}{%- endif -%}"
    "{%- endif -%}"
)


def _pre_tokenizer(space_prefixed: bool) -> pre_tokenizers.PreTokenizer:
    if space_prefixed:
        # The same pieces, and the operators, each with the one space before it (GPT-2's ` word` pieces): a trace's
        # separating spaces, 25-37% of an example's tokens in the pieces below, cost no token of their own.
        # (The space, or no digit, before a number: ` 24` after `11` is one piece, `1702` four.)
        return pre_tokenizers.Split(Regex(r"(?: |(?<![0-9]))[0-9]{1,3}(?![0-9])| ?[0-9]| ?[A-Za-z]+| ?[-+*/=()]"
                                          r"|[^A-Za-z0-9]"), behavior="isolated")
    return pre_tokenizers.Sequence([
        # An integer of at most three digits is one piece; a longer one is split into single digits.
        pre_tokenizers.Split(Regex(r"(?<![0-9])[0-9]{1,3}(?![0-9])|[0-9]"), behavior="isolated"),
        pre_tokenizers.Split(Regex(r"[A-Za-z]+"), behavior="isolated"),
        pre_tokenizers.Split(Regex(r"[^A-Za-z0-9]"), behavior="isolated"),
    ])


def build_tokenizer(space_prefixed: bool = False) -> PreTrainedTokenizerFast:
    """Build the tokenizer deterministically (no data needed: the pieces are enumerated). `space_prefixed` adds
    each number and word with a leading space as one more token (` 40`, ` vs`), so a space before one costs nothing;
    the shipped models use the plain pieces, where every space is a token."""
    tok = Tokenizer(BPE())
    tok.pre_tokenizer = _pre_tokenizer(space_prefixed)
    pieces = [str(n) for n in range(1000)] + WORDS
    if space_prefixed:
        pieces += [" " + piece for piece in pieces + list("-+*/=()")]
    alphabet = [c for c in string.printable if c not in "\x0b\x0c\r"]
    trainer = BpeTrainer(vocab_size=100_000, min_frequency=1, special_tokens=SPECIAL_TOKENS,
                         initial_alphabet=alphabet, show_progress=False)
    tok.train_from_iterator(pieces, trainer=trainer)
    # Rebuild the model with byte fallback: 256 `<0xNN>` tokens catch every character not in the vocabulary.
    spec = json.loads(tok.to_str())
    vocab = spec["model"]["vocab"]
    for byte in range(256):
        vocab.setdefault(f"<0x{byte:02X}>", len(vocab))
    spec["model"]["byte_fallback"] = True
    # <think> and </think> stay single tokens but are not "special" (as in Qwen3): text decoded with
    # skip_special_tokens=True, which is what TRL's GRPOTrainer hands to reward functions, keeps them.
    for added in spec["added_tokens"]:
        if added["content"] in (THINK, END_THINK):
            added["special"] = False
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.decoder = decoders.Sequence([decoders.ByteFallback(), decoders.Fuse()])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD,
        additional_special_tokens=[USER, ASSISTANT, SYSTEM],
        chat_template=CHAT_TEMPLATE, clean_up_tokenization_spaces=False, model_max_length=4096,
    )


def tokenizer_kind(tokenizer) -> bool | None:
    """Which of ponder's tokenizers this one is, by its vocabulary: the `space_prefixed` flag that builds it, or None
    for a tokenizer ponder does not build (another model's)."""
    vocab = tokenizer.get_vocab()
    return next((kind for kind in (False, True) if build_tokenizer(kind).get_vocab() == vocab), None)
