import pytest

from ponder.cli import main
from ponder.tasks import get_task
from ponder.train import rl_fixes
from ponder.train.own_searches import Search, read_searches, training_problems
from ponder.train.rl_fixes import first_fixes, paired_with_solved

COUNTDOWN = get_task("countdown")


def _search(problem, correct: bool) -> Search:
    thinking = COUNTDOWN.trace(problem)
    answer = COUNTDOWN.answer_from_trace(problem, thinking) if correct else "1+1"
    return Search(problem, thinking, answer, correct)


def test_each_model_decodes_only_what_the_ones_before_it_left_unsolved(monkeypatch):
    problems = training_problems(COUNTDOWN, {2: 5}, seed=3)
    solves = {"a": {0, 1}, "b": {1, 2, 3}}  # b also solves problem 1, which a fixed first
    asked = {}

    def fake_decode(model, tokenizer, task, todo, max_thinking, guard, on_chunk=None):
        asked[model] = [problems.index(p) for p in todo]
        assert guard is False
        for p in todo:
            yield _search(p, problems.index(p) in solves[model])

    monkeypatch.setattr(rl_fixes, "decode_searches", fake_decode)
    told = []
    fixes = first_fixes([("a", None), ("b", None)], COUNTDOWN, problems, 64, on_model=lambda *a: told.append(a))
    assert asked == {"a": [0, 1, 2, 3, 4], "b": [2, 3, 4]}
    assert [problems.index(s.problem) for s in fixes] == [0, 1, 2, 3]
    assert told == [(5, 0), (3, 2)]


def test_fixes_are_paired_with_as_many_solved_searches_drawn_by_seed():
    problems = training_problems(COUNTDOWN, {2: 8}, seed=4)
    fixes = [_search(p, True) for p in problems[:2]]
    searches = [_search(p, i % 2 == 0) for i, p in enumerate(problems[2:])]  # 3 solved, 3 failed
    rows = paired_with_solved(fixes, searches, seed=0)
    assert rows[:2] == fixes and len(rows) == 4 and all(s.correct for s in rows)
    assert set(s.problem.prompt for s in rows[2:]) <= {s.problem.prompt for s in searches if s.correct}
    assert rows == paired_with_solved(fixes, searches, seed=0)
    assert len(paired_with_solved(fixes * 4, searches)) == 8 + 3  # no more solved ones than there are


def test_train_fixes_writes_the_fixes_and_the_paired_solved_searches(tmp_path, tiny_checkpoint, capsys):
    problems = training_problems(COUNTDOWN, {2: 3}, seed=5)
    src = tmp_path / "parent.jsonl"
    src.write_text("".join(_search(p, i == 0).to_json() + "\n" for i, p in enumerate(problems)))
    out = tmp_path / "fixes.jsonl"
    assert main(["train", "fixes", "--models", f"{tiny_checkpoint},{tiny_checkpoint}", "--searches", str(src),
                 "--max-thinking", "8", "--out", str(out)]) == 0
    rows = read_searches(out)
    n_fixed = sum(r.problem.prompt != problems[0].prompt for r in rows)
    assert all(r.correct for r in rows) and len(rows) == 2 * n_fixed
    assert "failures fixed" in capsys.readouterr().err


@pytest.mark.parametrize("make,argv,needle", [
    ("failed", ["--out", "{tmp}/no/f.jsonl"], "no folder"),
    ("none", ["--out", "{tmp}/f.jsonl"], "no searches file"),
    ("solved", ["--out", "{tmp}/f.jsonl"], "only the failed ones"),
    ("failed", ["--out", "{tmp}/f.jsonl", "--models", "{tmp}/missing"], "missing"),
])
def test_train_fixes_refuses_bad_input_in_one_line(tmp_path, tiny_checkpoint, capsys, make, argv, needle):
    src = tmp_path / "parent.jsonl"
    if make != "none":
        problem = training_problems(COUNTDOWN, {2: 1}, seed=6)[0]
        src.write_text(_search(problem, make == "solved").to_json() + "\n")
    argv = ["--models", str(tiny_checkpoint), *argv] if "--models" not in argv else argv
    code = main(["train", "fixes", "--searches", str(src), *(a.format(tmp=tmp_path) for a in argv)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and needle in err and len(err.splitlines()) == 1 and not (tmp_path / "f.jsonl").exists()
