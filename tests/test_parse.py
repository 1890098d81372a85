import random

import pytest

from ponder.engine.parse import DeepSeekR1Parser, ReasoningParser

CASES = [
    ("<think>try 8*3=24 vs 24 yes</think>8*3", "try 8*3=24 vs 24 yes", "8*3"),
    ("<think></think>1702", "", "1702"),
    ("1702", "", "1702"),
    ("<think>no end yet", "no end yet", ""),
    ("<think>a < b </thin and more</think> x </think> y", "a < b </thin and more", "x </think> y"),
    ("  <think>\nlines\n</think>\n42\n", "\nlines\n", "42"),
    ("<thi", "", "<thi"),
    ("<think>cut </thi", "cut </thi", ""),
]


def _stream(parser_cls, text, cuts):
    parser, thinking, answer = parser_cls(), "", ""
    pieces = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    for piece in pieces:
        d = parser.feed(piece)
        thinking, answer = thinking + d.thinking, answer + d.answer
    d = parser.finish()
    return thinking + d.thinking, (answer + d.answer).strip()


@pytest.mark.parametrize("text,thinking,answer", CASES)
def test_finished_text(text, thinking, answer):
    assert ReasoningParser.parse(text) == (thinking, answer)


@pytest.mark.parametrize("text,thinking,answer", CASES)
def test_streaming_equals_finished_for_every_split(text, thinking, answer):
    for i in range(len(text) + 1):  # every single cut, including inside the tags
        assert _stream(ReasoningParser, text, [i]) == (thinking, answer)
    rng = random.Random(0)
    for _ in range(50):
        cuts = sorted(rng.sample(range(len(text) + 1), min(4, len(text) + 1)))
        assert _stream(ReasoningParser, text, cuts) == (thinking, answer)
    one_char = list(range(1, len(text)))
    assert _stream(ReasoningParser, text, one_char) == (thinking, answer)


def test_deepseek_r1_starts_inside_thinking():
    assert DeepSeekR1Parser.parse("reasoning here</think>answer") == ("reasoning here", "answer")
    assert DeepSeekR1Parser.parse("<think>r</think>a") == ("r", "a")
    assert _stream(DeepSeekR1Parser, "reasoning</think>answer", [3, 12]) == ("reasoning", "answer")
