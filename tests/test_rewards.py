import pytest

from ponder.tasks import Problem
from ponder.train.rewards import (
    format_reward,
    outcome_parts,
    outcome_reward,
    overlong_penalty,
    process_reward,
)

CD = Problem("countdown", 3, "p", "(13-5)*3", {"numbers": [3, 5, 13], "target": 24, "rule": "all"})
AR = Problem("arithmetic", 1, "What is 2 + 3?", "5", {"a": 2, "b": 3, "op": "+"})


@pytest.mark.parametrize("problem,completion,outcome,fmt", [
    (CD, "<think>try 13-5=8 left 3 8\ntry 8*3=24 vs 24 yes</think>(13-5)*3", 1.0, 1.0),
    (CD, "<think>x</think>(13-5)*3 ", 1.0, 1.0),
    (CD, "(13-5)*3", 1.0, 0.0),
    (CD, "<think>a</think><think>b</think>(13-5)*3", 0.0, 0.0),
    (CD, "<think>never closed (13-5)*3", 0.0, 0.0),
    (CD, "<think>t</think>", 0.0, 0.0),
    (CD, "<think>t</think>13-5*3", 0.0, 1.0),
    (AR, "<think>2+3+0=5</think>5", 1.0, 1.0),
    (AR, [{"role": "assistant", "content": "<think></think>5"}], 1.0, 1.0),
    (AR, "<think></think>6", 0.0, 1.0),
    # TRL: the prompt opened the thinking block (enable_thinking=True), the completion starts inside it
    (CD, "try 13-5=8 left 3 8\ntry 8*3=24 vs 24 yes</think>(13-5)*3", 1.0, 1.0),
    (AR, [{"role": "assistant", "content": "2+3+0=5</think>5"}], 1.0, 1.0),
    (CD, "try 13-5=8 left 3 8\ntry 8*3=24 vs", 0.0, 0.0),  # cut by the length limit mid-thought
])
def test_outcome_and_format(problem, completion, outcome, fmt):
    assert outcome_reward(["p"], [completion], problem=[problem.to_json()]) == [outcome]
    assert format_reward(["p"], [completion]) == [fmt]


def test_parts_explain_the_reward():
    parts = outcome_parts(["p"], ["<think></think>6"], problem=[AR])
    assert parts[0]["correct"] is False and "expected 5" in parts[0]["reason"]


def test_process_reward_is_the_share_of_correct_steps():
    good = "<think>try 13-5=8 left 3 8\ntry 8*3=24 vs 24 yes</think>x"
    half = "<think>try 13-5=9 left 3 9\ntry 9*3=27 vs 24 no</think>x"
    rewards = process_reward(["p", "p"], [good, half], problem=[CD, CD])
    assert rewards[0] == 1.0 and 0 < rewards[1] < 1
    assert process_reward(["p"], ["<think></think>x"], problem=[CD]) == [0.0]


def test_overlong_penalty():
    assert overlong_penalty([10, 90, 95, 100, 120], 100, 10) == [0.0, 0.0, -0.5, -1.0, -1.0]
    with pytest.raises(ValueError):
        overlong_penalty([1], 10, 0)


def test_missing_problem_column_is_a_clear_error():
    with pytest.raises(ValueError, match="problem"):
        outcome_reward(["p"], ["x"])
