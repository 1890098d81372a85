import json

import pytest

from ponder.cli import main


def test_tasks_show_prints_problems_with_traces(capsys):
    assert main(["tasks", "show", "countdown", "--level", "3", "-n", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("Using the numbers") == 3 and out.count("</think>") == 3 and "check " in out


def test_tasks_show_ends_each_trace_with_the_answer_it_checked(capsys):
    # The reference answer can be another solution than the one the trace found; training ends with the trace's own.
    assert main(["tasks", "show", "countdown", "--level", "5", "-n", "12"]) == 0
    blocks = capsys.readouterr().out.split("# countdown")[1:]
    for block in blocks:
        checked = block.split("check ")[-1].split(":")[0]
        assert block.split("</think>\n")[1].strip() == checked


def test_tasks_list_describes_every_level_with_an_example(capsys):
    assert main(["tasks", "list"]) == 0
    out = capsys.readouterr().out
    assert "3  a three-digit number times a digit\n     e.g. What is " in out
    assert "5  4 numbers from 1..13, targets up to 100; " in out and "the Game of 24" in out
    assert out.count("e.g. ") == 10


def test_tasks_show_json(capsys):
    assert main(["tasks", "show", "arithmetic", "--level", "5", "-n", "2", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 2 and all({"prompt", "answer", "trace", "level"} <= set(r) for r in rows)


@pytest.mark.parametrize("argv,needle", [
    (["tasks", "show", "nope"], "unknown task"),
    (["tasks", "show", "countdown", "--level", "9"], "levels are 1..5"),
    (["ask", "What is 2 + 3?", "--model", "/no/such/folder"], "no model"),
    (["ask", "   "], "empty"),
    (["ask", "What is 2 + 3?", "--effort", "extreme"], "invalid choice"),
    (["ask", "What is 2 + 3?", "--budget", "-4"], "must be >= 0"),
    (["ask", "What is 2 + 3?", "--guard"], "--guard needs a question in the words of a task that has a guard"),
])
def test_bad_input_gives_one_line_and_nonzero_exit(argv, needle, capsys):
    try:
        code = main(argv)
    except SystemExit as e:  # argparse errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "Traceback" not in err


def test_ask_json_on_a_checkpoint_folder(tiny_checkpoint, capsys):
    assert main(["ask", "What is 2 + 3?", "--model", str(tiny_checkpoint), "--budget", "5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"answer", "thinking_tokens", "answer_tokens", "finish_reason", "effort", "summary"} <= set(doc)
    assert doc["thinking_tokens"] <= 5 and "thinking" not in doc


def test_ask_verifies_a_question_in_a_tasks_words_and_guards_a_countdown_search(tiny_checkpoint, capsys):
    countdown = ("Using the numbers 3, 5, 8, make 16. Use each number at most once, with + - * / and "
                 "parentheses.")
    assert main(["ask", countdown, "--model", str(tiny_checkpoint), "--budget", "24", "--guard", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["verified"]["task"] == "countdown" and isinstance(doc["verified"]["correct"], bool)
    assert isinstance(doc["guard_overrides"], int) and doc["guard_overrides"] >= 0
    assert main(["ask", "How are you?", "--model", str(tiny_checkpoint), "--budget", "5", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["verified"] is None and doc["guard_overrides"] is None
    assert main(["ask", "What is 2 + 3?", "--model", str(tiny_checkpoint), "--budget", "5"]) == 0
    assert "[arithmetic verifier: " in capsys.readouterr().err


def test_ask_effort_none(tiny_checkpoint, capsys):
    assert main(["ask", "What is 2 + 3?", "--model", str(tiny_checkpoint), "--effort", "none", "--json",
                 "--show-thinking"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["thinking_tokens"] == 0 and doc["thinking"] == ""


@pytest.mark.parametrize("argv,needle", [
    (["train", "grpo", "--group", "1"], "at least 2"),
    (["train", "grpo", "--lr", "-0.1"], "learning rate"),
    (["train", "sft", "--lr", "-1"], "learning rate"),
    (["train", "sft", "--countdown-guide", "2"], "countdown_guide"),
    (["train", "sft", "--init", "no-such-model"], "no model 'no-such-model'"),
    (["train", "sft", "--short-rows", "64,900"], "short_rows"),
    (["train", "grpo", "--negative-weight", "-1"], "negative weight"),
    (["train", "grpo", "--engine", "trl", "--negative-weight", "0"], "ponder's own loop only"),
    (["train", "grpo", "--anchor-weight", "0.5"], "needs an anchor file"),
    (["train", "grpo", "--anchor", "no-such-searches.jsonl"], "no searches file"),
])
def test_impossible_training_configs_are_refused(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_help_and_refused_settings_answer_without_loading_torch():
    """`ponder --help` and a training flag the config refuses must not wait for torch and transformers (about 4 s
    to import here): the parser's defaults and the configs' checks live in modules without them."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from ponder.cli import build_parser, main\n"
            "build_parser().format_help()\n"
            "codes = [main(['train', 'grpo', '--group', '1']), main(['train', 'sft', '--lr', '-1'])]\n"
            "print(codes, sorted(m for m in ('torch', 'transformers') if m in sys.modules))\n")
    env = {**__import__("os").environ, "PONDER_ALLOCATOR": "system"}  # no re-exec under jemalloc
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[2, 2] []", out.stdout + out.stderr
