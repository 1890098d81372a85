"""The shipped model answers easy questions right, through the CLI and through the server."""

import json

import pytest

from ponder.cli import main
from ponder.model.checkpoint import DEFAULT_MODEL, PonderMeta, resolve_model


def test_the_default_model_is_shipped_with_its_budgets():
    folder = resolve_model(DEFAULT_MODEL)
    meta = PonderMeta.load(folder)
    assert meta.efforts["none"] == 0 < meta.efforts["low"] < meta.efforts["medium"] < meta.efforts["high"]
    assert meta.recipe["stage"] == "sft" and meta.eval
    assert sum(p.stat().st_size for p in folder.iterdir()) < 12e6


@pytest.mark.parametrize("question,answer", [("What is 37 * 46?", "1702"), ("What is 25 + 17?", "42")])
def test_ask_answers_with_thinking(question, answer, capsys):
    assert main(["ask", question, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["answer"] == answer and doc["thinking_tokens"] > 0 and doc["finish_reason"] == "stop"
    assert doc["verified"] == {"task": "arithmetic", "correct": True, "reason": "correct"}


def test_effort_none_and_a_small_budget(capsys):
    assert main(["ask", "What is 482 * 317?", "--effort", "none", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["thinking_tokens"] == 0
    assert main(["ask", "What is 482 * 317?", "--budget", "40", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["thinking_tokens"] <= 40 and doc["answer"] and doc["finish_reason"] == "thinking_budget"


def test_the_shipped_models_own_searches_give_repeat_examples():
    import random

    from ponder.model.checkpoint import load_checkpoint
    from ponder.tasks import get_task
    from ponder.train.data import IGNORE
    from ponder.train.own_repeats import own_repeat_examples

    model, tok, _, _ = load_checkpoint("ponder-tiny-sft")
    # Levels 4-5, where its searches still repeat a move now and then (benchmarks/results/countdown_failures.md),
    # mostly late in a long search: the training problem drawn by Random(120) is one this model repeats a move on
    # within 1,200 tokens (the first of seeds 53-252 that does for the shipped stage; 92 was for the ninth and tenth
    # stages; for the ninth none of seeds 53-399 did within 700; pin another when the shipped model changes).
    max_len = 1200
    examples = own_repeat_examples(model, tok, get_task("countdown"), random.Random(120), 1, (1, 0, 0, 1, 1), max_len)
    assert examples
    for ex in examples:
        (pos, tid), = ex.avoid
        assert pos == len(ex.input_ids) - 1 < max_len and all(label == IGNORE for label in ex.labels)
        assert tok.decode([tid]) in set("+-*/") or tok.decode([tid]).isdigit()
