"""Incremental detokenization: token ids in, text deltas out; what was sent is never taken back.

Two things can change text already decoded: a multi-byte character whose bytes are still arriving (shown as
U+FFFD), and a run of byte-fallback tokens (`<0xC3>`…), which the tokenizer decodes as one group, so a later byte
can turn an earlier `é` into replacement characters. Both are held back until they are settled: a run of byte
tokens ends at the next ordinary token.
"""

from __future__ import annotations

import re

_BYTE_TOKEN = re.compile(r"<0x[0-9A-Fa-f]{2}>")


class IncrementalDecoder:
    def __init__(self, tokenizer, skip_special_tokens: bool = False):
        self.tokenizer = tokenizer
        self.skip = skip_special_tokens
        self.ids: list[int] = []
        self.emitted = 0

    def push(self, token_id: int) -> str:
        self.ids.append(token_id)
        if _BYTE_TOKEN.fullmatch(self.tokenizer.convert_ids_to_tokens(token_id) or ""):
            return ""
        text = self.tokenizer.decode(self.ids, skip_special_tokens=self.skip)
        if text.endswith("\ufffd"):
            return ""
        delta, self.emitted = text[self.emitted:], len(text)
        return delta

    def flush(self) -> str:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=self.skip)
        delta, self.emitted = text[self.emitted:], len(text)
        return delta
