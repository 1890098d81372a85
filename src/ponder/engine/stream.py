"""Incremental detokenization: token ids in, text deltas out, never splitting a multi-byte character."""

from __future__ import annotations


class IncrementalDecoder:
    """Decodes the growing id list and emits only the new text; a trailing partial UTF-8 character (shown by
    the tokenizer as U+FFFD while its bytes are incomplete) is held back until it completes."""

    def __init__(self, tokenizer, skip_special_tokens: bool = False):
        self.tokenizer = tokenizer
        self.skip = skip_special_tokens
        self.ids: list[int] = []
        self.emitted = 0

    def push(self, token_id: int) -> str:
        self.ids.append(token_id)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=self.skip)
        if text.endswith("\ufffd"):
            return ""
        delta, self.emitted = text[self.emitted:], len(text)
        return delta

    def flush(self) -> str:
        text = self.tokenizer.decode(self.ids, skip_special_tokens=self.skip)
        delta, self.emitted = text[self.emitted:], len(text)
        return delta
