import json
import random
import re
from dataclasses import replace

import pytest

from ponder.cli import main
from ponder.tasks import get_task
from ponder.train.data import IGNORE
from ponder.train.own_searches import (
    Search,
    append_searches,
    check_settings,
    partial_path,
    read_searches,
    search_example,
    search_spans,
    settings_path,
    training_problems,
)
from ponder.train.sft import SFTConfig, _pool_steps

COUNTDOWN = get_task("countdown")


def _solver_search(problem, correct=True) -> Search:
    thinking = COUNTDOWN.trace(problem)
    return Search(problem, thinking, COUNTDOWN.answer_from_trace(problem, thinking), correct)


def _miscompute_first_move(thinking: str) -> tuple[str, str]:
    """The thinking with its first move's result off by one, and that line as written."""
    m = re.search(r"try (\d+)([-+*/])(\d+)=(\d+)", thinking)
    wrong = thinking[:m.start(4)] + str(int(m[4]) + 1) + thinking[m.end(4):]
    line = next(x for x in wrong.splitlines() if x.startswith(m[0][:-len(m[4])]))
    return wrong, line


def test_lines_with_a_wrong_step_are_masked_and_the_rest_is_learned(tokenizer):
    problem = COUNTDOWN.sample_many(0, 3, 1, split="train")[0]
    clean = _solver_search(problem)
    assert all(s.learn for s in search_spans(COUNTDOWN, problem, clean.thinking))
    wrong, line = _miscompute_first_move(clean.thinking)
    spans = search_spans(COUNTDOWN, problem, wrong)
    assert "".join(s.text for s in spans) == wrong
    assert [s.text.rstrip("\n") for s in spans if not s.learn] == [line]
    ex = search_example(tokenizer, COUNTDOWN, replace(clean, thinking=wrong))
    learned = tokenizer.decode([t for t in ex.labels if t != IGNORE])
    assert line not in learned and learned.endswith(clean.answer + "<|end|>")
    assert tokenizer.decode(ex.input_ids).endswith(f"<think>{wrong}</think>{clean.answer}<|end|>")


def test_a_repeated_move_and_nothing_else_is_masked(tokenizer):
    problem = training_problems(COUNTDOWN, {2: 3}, seed=0)[2]
    lines = COUNTDOWN.trace(problem).splitlines(keepends=True)
    first_back = lines.index("back to " + " ".join(map(str, problem.meta["numbers"])) + "\n")
    again = lines[:first_back + 1] + [lines[1]] + lines[first_back + 1:]  # the first move, tried again after back
    spans = search_spans(COUNTDOWN, problem, "".join(again))
    assert [i for i, s in enumerate(spans) if not s.learn] == [first_back + 1]


def test_own_searches_get_caught_repeats_at_the_catch_rate(tokenizer):
    problem = next(p for p in training_problems(COUNTDOWN, {3: 20}, seed=0) if "back to" in COUNTDOWN.trace(p))
    search = _solver_search(problem)
    plain = search_example(tokenizer, COUNTDOWN, search)
    assert search_example(tokenizer, COUNTDOWN, search, random.Random(0), 0.0).input_ids == plain.input_ids
    caught = tokenizer.decode(search_example(tokenizer, COUNTDOWN, search, random.Random(0), 1.0).input_ids)
    assert " Wait, no\n" in caught
    assert re.sub(r"try \d+[-+*/]\d+ Wait, no\n", "", caught) == tokenizer.decode(plain.input_ids)


def test_own_searches_are_rewritten_with_plans_or_left_out(tokenizer):
    from ponder.tasks.countdown import CountdownTask

    planned = CountdownTask(plans=True)
    problem = next(p for p in training_problems(COUNTDOWN, {2: 20}, seed=0) if "back to" in COUNTDOWN.trace(p))
    search = _solver_search(problem)
    text = tokenizer.decode(search_example(tokenizer, planned, search).input_ids)
    assert "plan " in text and " plan " in text.split("back to ", 1)[1].split("\n", 1)[0]
    off_books = replace(search, thinking=re.sub(r"back to [\d ]+\n", "back to 99 98 97\n", search.thinking))
    assert search_example(tokenizer, planned, off_books) is None
    assert search_example(tokenizer, COUNTDOWN, off_books) is not None


def test_searches_round_trip_through_jsonl_written_atomically(tmp_path):
    searches = [_solver_search(p, correct=i % 2 == 0)
                for i, p in enumerate(training_problems(COUNTDOWN, {2: 2, 4: 2}, seed=3))]
    path = tmp_path / "s.jsonl"
    assert append_searches(path, [], iter(searches)) == 4
    assert read_searches(path) == searches and [p.name for p in tmp_path.iterdir()] == ["s.jsonl"]
    assert [s.problem.level for s in searches] == [2, 2, 4, 4]
    assert training_problems(COUNTDOWN, {2: 2}, seed=3) == [s.problem for s in searches[:2]]  # seeded per level


def _searches_file(tmp_path, n=8, wrong=1):
    problems = training_problems(COUNTDOWN, {2: n + wrong}, seed=0)
    searches = [_solver_search(p) for p in problems[:n]]
    bad = [Search(p, "try 1+1=2\n", "nonsense", False) for p in problems[n:]]
    path = tmp_path / "searches.jsonl"
    append_searches(path, [], iter(searches + bad))
    return path, searches, bad


def test_sft_draws_its_share_of_a_task_s_examples_from_verified_searches_only(tmp_path, tokenizer):
    path, searches, bad = _searches_file(tmp_path)
    cfg = SFTConfig(out=str(tmp_path / "run"), size="test", steps=2, batch_tokens=4096, max_len=512,
                    short_rows=(128,), pool=200, own_searches=(str(path),), own_share=0.5, eval_every=0, bf16=False)
    verified = [s for s in read_searches(path) if s.correct]
    own_prompts = {tuple(search_example(tokenizer, COUNTDOWN, s).input_ids) for s in verified}
    examples = [e for step in _pool_steps(cfg, tokenizer, 0, verified) for batch in step for row in batch for e in row]
    own = sum(tuple(e.input_ids) in own_prompts for e in examples)
    countdown = sum("Using the numbers" in tokenizer.decode(e.input_ids) for e in examples)
    assert 0.35 < own / countdown < 0.65  # own searches take their share of their task's examples ...
    assert 0.4 < countdown / len(examples) < 0.6  # ... and the task mix stays as it was
    assert not any(tokenizer.decode(e.input_ids).endswith("nonsense<|end|>") for e in examples)
    assert "--own-searches" in cfg.command() and "--own-share 0.5" in cfg.command()


@pytest.mark.parametrize("make,needle", [
    (lambda tmp: tmp / "missing.jsonl", "no searches file"),
    (lambda tmp: _only_wrong(tmp), "no verified search"),
    (lambda tmp: _not_searches(tmp), "bad.jsonl:2 is not a search"),
])
def test_sft_refuses_a_searches_file_it_cannot_use(tmp_path, make, needle):
    with pytest.raises(ValueError, match=needle):
        SFTConfig(size="test", own_searches=(str(make(tmp_path)),))
    with pytest.raises(ValueError, match="own_share"):
        SFTConfig(size="test", own_share=0.0)


def _only_wrong(tmp_path):
    path = tmp_path / "wrong.jsonl"
    problem = training_problems(COUNTDOWN, {2: 1}, seed=0)[0]
    append_searches(path, [], iter([Search(problem, "", "1", False)]))
    return path


def _not_searches(tmp_path):
    path = tmp_path / "bad.jsonl"
    problem = training_problems(COUNTDOWN, {2: 1}, seed=0)[0]
    path.write_text(_solver_search(problem).to_json() + "\n" + '{"thinking": "x"}\n')
    return path


def test_train_searches_writes_every_decoded_search(tmp_path, tiny_checkpoint, capsys):
    out = tmp_path / "s.jsonl"
    assert main(["train", "searches", "--model", str(tiny_checkpoint), "--levels", "2,3", "--n", "2,1",
                 "--max-thinking", "8", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["problem"]["level"] for r in rows] == [2, 2, 3]
    assert all(isinstance(r["correct"], bool) and isinstance(r["thinking"], str) for r in rows)
    assert "searches verified" in capsys.readouterr().err


def test_train_searches_resumes_after_the_searches_an_interrupted_run_kept(tmp_path, tiny_checkpoint, capsys):
    out = tmp_path / "s.jsonl"
    argv = ["train", "searches", "--model", str(tiny_checkpoint), "--levels", "2,3", "--n", "2,1",
            "--max-thinking", "8", "--out", str(out)]
    first = training_problems(COUNTDOWN, {2: 2, 3: 1}, seed=0)[0]
    kept = Search(first, "kept from the killed run", "1", False)
    partial = partial_path(out)
    partial.write_text(kept.to_json() + "\n" + kept.to_json()[:30])  # the kill tore the second line
    assert main(argv) == 2 and "--resume" in capsys.readouterr().err and partial.exists()  # never thrown away
    assert main([*argv, "--resume"]) == 0
    rows = [Search.from_json(line) for line in out.read_text().splitlines()]
    assert rows[0] == kept and [r.problem.level for r in rows] == [2, 2, 3] and not partial.exists()
    assert "1 kept from the interrupted run" in capsys.readouterr().err
    partial.write_text(Search(training_problems(COUNTDOWN, {4: 1}, seed=9)[0], "", "", False).to_json() + "\n")
    assert main([*argv, "--resume"]) == 2 and "other problems" in capsys.readouterr().err


def test_train_searches_will_not_resume_with_another_model_or_guard(tmp_path, tiny_checkpoint, capsys):
    out = tmp_path / "s.jsonl"
    argv = ["train", "searches", "--model", str(tiny_checkpoint), "--levels", "2", "--n", "2", "--max-thinking", "8",
            "--out", str(out)]
    first = training_problems(COUNTDOWN, {2: 2}, seed=0)[0]
    partial = partial_path(out)
    partial.write_text(Search(first, "kept", "1", False).to_json() + "\n")
    check_settings(out, {"model": str(tiny_checkpoint.resolve()), "max_thinking": 8, "guard": False, "slack": 0})
    assert main([*argv, "--resume"]) == 2
    err = capsys.readouterr().err
    assert "guard False (now True)" in err and partial.exists()  # the interrupted run's searches are kept
    assert main([*argv, "--resume", "--no-guard"]) == 0
    assert not partial.exists() and not settings_path(out).exists() and len(out.read_text().splitlines()) == 2


def test_train_searches_decodes_at_the_models_high_budget_by_default(tmp_path, tiny_checkpoint, capsys):
    out = tmp_path / "s.jsonl"
    first = training_problems(COUNTDOWN, {2: 1}, seed=0)[0]
    partial_path(out).write_text(Search(first, "kept", "1", False).to_json() + "\n")
    check_settings(out, {"model": str(tiny_checkpoint.resolve()), "max_thinking": 8, "guard": True, "slack": 0})
    argv = ["train", "searches", "--model", str(tiny_checkpoint), "--levels", "2", "--n", "1", "--out", str(out)]
    assert main([*argv, "--resume"]) == 2
    assert "max_thinking 8 (now 32)" in capsys.readouterr().err  # the tiny checkpoint's ponder.json: high 32


@pytest.mark.parametrize("argv,needle", [
    (["--out", "{tmp}/no/s.jsonl"], "no folder"),
    (["--out", "{tmp}/s.jsonl", "--levels", "2,3,4", "--n", "5,5"], "one count or one per level"),
    (["--out", "{tmp}/s.jsonl", "--task", "chess"], "unknown task"),
    (["--out", "{tmp}/s.jsonl", "--slack", "1", "--no-guard"], "needs --guard"),
])
def test_train_searches_refuses_bad_input_in_one_line(tmp_path, capsys, argv, needle):
    code = main(["train", "searches", *(a.format(tmp=tmp_path) for a in argv)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and needle in err and len(err.splitlines()) == 1 and not (tmp_path / "s.jsonl").exists()


def test_sft_fine_tunes_a_checkpoint_on_own_searches(tmp_path, tiny_checkpoint):
    from ponder.train.sft import run_sft

    path, _, _ = _searches_file(tmp_path, n=4)
    cfg = SFTConfig(out=str(tmp_path / "run"), init=str(tiny_checkpoint), steps=2, batch_tokens=2048, max_len=512,
                    short_rows=(128,), pool=32, own_searches=(str(path), str(path)), eval_every=0, warmup=1, bf16=False)
    lines = []
    final = run_sft(cfg, log=lines.append)
    assert (final / "model.safetensors").exists() and any("8 verified searches" in m for m in lines)  # both files
