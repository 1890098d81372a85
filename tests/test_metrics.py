import itertools
import random

import pytest

from ponder.eval.metrics import ks_up_to, maj_at_k, majority, pass_at_k
from ponder.tasks import Problem, get_task


@pytest.mark.parametrize("n,c", [(1, 0), (1, 1), (4, 1), (5, 2), (8, 3), (6, 6), (7, 0)])
def test_pass_at_k_equals_brute_force(n, c):
    samples = [True] * c + [False] * (n - c)
    for k in range(1, n + 1):
        subsets = list(itertools.combinations(range(n), k))
        brute = sum(any(samples[i] for i in s) for s in subsets) / len(subsets)
        assert pass_at_k(n, c, k) == pytest.approx(brute)


def test_pass_at_k_refuses_bad_counts():
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


@pytest.mark.parametrize("keys,winner", [
    (["a", "b", "a"], 0), (["b", "a", "a"], 1), (["a", "b"], 0), (["b", "a"], 0),
    (["x", "y", "y", "x"], 0), (["z"], 0), (["p", "q", "r", "q", "r"], 1),
])
def test_majority_and_ties(keys, winner):
    assert majority(keys) == winner


def test_maj_at_k_on_groups():
    keys = ["5", "6", "5", "6", "6", "7", "7", "5"]
    right = [k == "5" for k in keys]
    assert maj_at_k(keys, right, 1) == pytest.approx(3 / 8)
    # groups of two: (5,6) tie -> 5 wins; (5,6) -> 5; (6,7) -> 6; (7,5) -> 7
    assert maj_at_k(keys, right, 2) == pytest.approx(2 / 4)
    assert maj_at_k(keys, right, 8) == 1.0  # 5 and 6 three times each: the tie goes to 5, seen first
    assert ks_up_to(8) == [1, 2, 4, 8] and ks_up_to(6) == [1, 2, 4, 6] and ks_up_to(1) == [1]


def test_answer_keys_group_equivalent_answers():
    cd = Problem("countdown", 5, "", "", {"numbers": [3, 5, 8, 13], "target": 24, "rule": "some"})
    task = get_task("countdown")
    assert task.answer_key(cd, "3*8") == task.answer_key(cd, "(13-5)*3") == "correct"
    assert task.answer_key(cd, "3+8") == task.answer_key(cd, " 8+3 ") != task.answer_key(cd, "13-8")
    ar = Problem("arithmetic", 1, "", "5", {"a": 2, "b": 3, "op": "+"})
    assert get_task("arithmetic").answer_key(ar, " 05") == get_task("arithmetic").answer_key(ar, "5")
    rng = random.Random(0)
    assert len({get_task("arithmetic").answer_key(ar, str(rng.random())) for _ in range(5)}) == 5
