"""Split a completion into thinking and answer, from a finished text or from a stream of text deltas.

One state machine serves both ways (a finished text is a stream of one delta), so they cannot disagree. As in
vLLM's reasoning parsers, each model family declares its start and end tags and the base class holds the streaming
state; a tag split across deltas is held back until it is complete or proven not to be a tag.
Text before a start tag that never comes is treated as answer, unless the family starts inside the thinking
(DeepSeek-R1's newer chat template puts `<think>` in the prompt, so its completions open with thinking; ponder's
engine forces `<think>`, so its completions always show the tag).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Delta:
    thinking: str = ""
    answer: str = ""


class ReasoningParser:
    """Base class: subclasses set the tags. Feed deltas with `feed`, then call `finish` once."""

    start = "<think>"
    end = "</think>"
    starts_in_thinking = False  # True where the chat template already opened the thinking in the prompt

    def __init__(self) -> None:
        self.phase = "start"  # start -> thinking -> answer
        self.pending = ""  # text held back because it may be the beginning of a tag

    def feed(self, text: str) -> Delta:
        out = Delta()
        self.pending += text
        while self.pending:
            if self.phase == "start":
                stripped = self.pending.lstrip()
                if stripped.startswith(self.start):
                    self.pending = stripped[len(self.start):]
                    self.phase = "thinking"
                elif self.start.startswith(stripped):
                    return out  # maybe a start tag still arriving
                else:
                    self.phase = "thinking" if self.starts_in_thinking else "answer"
            elif self.phase == "thinking":
                idx = self.pending.find(self.end)
                if idx >= 0:
                    out.thinking += self.pending[:idx]
                    self.pending = self.pending[idx + len(self.end):]
                    self.phase = "answer"
                    continue
                keep = _partial_suffix(self.pending, self.end)
                out.thinking += self.pending[:len(self.pending) - keep]
                self.pending = self.pending[len(self.pending) - keep:]
                return out
            else:
                out.answer += self.pending
                self.pending = ""
        return out

    def finish(self) -> Delta:
        """Flush what was held back: an unfinished tag is plain text of the phase it was in."""
        rest, self.pending = self.pending, ""
        if self.phase == "thinking":
            return Delta(thinking=rest)
        return Delta(answer=rest)

    @classmethod
    def parse(cls, text: str) -> tuple[str, str]:
        """(thinking, answer) of a finished text; the answer is stripped of surrounding whitespace."""
        parser = cls()
        a, b = parser.feed(text), parser.finish()
        return a.thinking + b.thinking, (a.answer + b.answer).strip()


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of `text` that is a proper prefix of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class DeepSeekR1Parser(ReasoningParser):
    """DeepSeek-R1: the prompt may already hold `<think>`, so text before `</think>` is thinking."""

    starts_in_thinking = True


# Qwen3 writes both tags itself, as ponder does.
PARSERS: dict[str, type[ReasoningParser]] = {"ponder": ReasoningParser, "qwen3": ReasoningParser,
                                             "deepseek_r1": DeepSeekR1Parser}
